"""What the application raises for the HTTP edge (mapped to problem+json in bootstrap.PROBLEMS)."""

from __future__ import annotations

from oms_runtime.errors import FieldError


class UnknownReference(FieldError):
    """A request names a SKU or warehouse the shop does not have; `field` is the request field."""


class NotFound(LookupError):
    """The resource a request is about does not exist (in this shop)."""


class UnknownPriceList(UnknownReference):
    """A request about a price list the shop does not have (404, where naming one in a body is 422)."""
