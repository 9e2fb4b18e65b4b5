"""What a use case refuses with. The HTTP edge maps each to its problem+json answer (one map,
`adapters/inbound/problems.py`); the Kafka edge dead-letters UnknownOrder."""

from __future__ import annotations


class OrderNotFound(LookupError):
    def __init__(self, order_id: str) -> None:
        super().__init__(f"no order {order_id}")
        self.order_id = order_id


class UnknownOrder(Exception):
    """An event names an order this shop does not have."""


class IdempotencyKeyReused(Exception):
    """The Idempotency-Key was used before with a different request body."""

    def __init__(self, key: str) -> None:
        super().__init__("was used before with a different request body")
        self.key = key


class PromoNotFound(LookupError):
    def __init__(self, code: str) -> None:
        super().__init__(f"no promo code {code}")


class LineNotFound(LookupError):
    """An edit names a SKU the order has no line of."""
