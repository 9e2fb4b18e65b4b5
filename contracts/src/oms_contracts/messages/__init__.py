"""Payload models of every event and command, grouped by the service that owns them."""
