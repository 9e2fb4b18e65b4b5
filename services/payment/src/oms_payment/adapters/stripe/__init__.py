"""The Stripe card provider, through the official `stripe` library."""
