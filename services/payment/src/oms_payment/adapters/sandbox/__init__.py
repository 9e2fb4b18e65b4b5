"""The built-in sandbox payment provider: a hosted card form, test cards and signed webhooks.

It plays an external provider inside this service so the whole flow runs locally: it alone sees
the card number, turns it into a token, brand and last four digits, forgets the number, and tells
the payment service the outcome only through an HMAC-signed webhook that enters via the gateway,
exactly as a real provider's would.
"""
