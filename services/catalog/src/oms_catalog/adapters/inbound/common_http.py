"""What every HTTP adapter of the catalog shares: strict bodies, ids, who may call, common views."""

from __future__ import annotations

from typing import Annotated

from oms_runtime.context import requires
from pydantic import BaseModel, ConfigDict, Field

IdText = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]

STAFF = ("admin", "manager", "warehouse", "courier")

ADMIN = requires("admin")
ADMIN_OR_WAREHOUSE = requires("admin", "warehouse")
STAFF_ONLY = requires(*STAFF)
"""Staff data: cost prices, suppliers, purchase orders, warehouses, the ledger, reservations."""
SHOP_WINDOW = requires("storefront", *STAFF)
"""Staff, and storefronts for their shop window (sellable SKUs, prices, availability)."""


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class View(BaseModel):
    """A response body (documented in the OpenAPI by its model)."""
