"""Use cases of the gateway: accounts and authentication."""
