from __future__ import annotations


class UnknownReference(LookupError):
    """A request names a SKU or warehouse the shop does not have; `field` is the request field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
