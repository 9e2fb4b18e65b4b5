"""Use cases of the fulfilment service, over the ports in `ports`."""
