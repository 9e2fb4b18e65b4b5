"""SKUs and warehouses: what a shop sells and where it keeps it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from oms_contracts import Money
from oms_contracts.messages import common as contract_sku
from oms_runtime.errors import FieldError

from oms_catalog.domain.geo import Coordinates
from oms_catalog.domain.kits import KitComponent

# The contracts' SKU rule, so a SKU the catalog stores is one every message can carry.
SKU_PATTERN = re.compile(contract_sku.SKU_PATTERN)
# Warehouse ids end up inside document ids and field paths: no separators, no dots.
WAREHOUSE_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class InvalidCatalogEntry(FieldError):
    """A field of a SKU or warehouse breaks a rule; `field` names it for the HTTP answer."""


@dataclass(frozen=True)
class Sku:
    code: str
    name: str
    price: Money
    active: bool = True
    barcode: str | None = None
    # Variants and kits (all optional): the product it is a variant of, its attribute values,
    # every barcode (the legacy `barcode` is the first), and the components if it is a kit.
    product_id: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)
    barcodes: tuple[str, ...] = ()
    kit: tuple[KitComponent, ...] | None = None

    @property
    def is_kit(self) -> bool:
        return self.kit is not None

    def __post_init__(self) -> None:
        if len(self.code) > contract_sku.SKU_MAX_LENGTH or not SKU_PATTERN.match(self.code):
            raise InvalidCatalogEntry("sku", "1-64 characters of letters, digits and . _ - /")
        if not self.name.strip():
            raise InvalidCatalogEntry("name", "must not be empty")
        if self.price.amount < 0:
            raise InvalidCatalogEntry("price.amount", "must not be negative")
        if self.barcode is not None and not self.barcode.strip():
            raise InvalidCatalogEntry("barcode", "must not be blank (omit it instead)")


@dataclass(frozen=True)
class Warehouse:
    id: str
    name: str
    region: str
    location: Coordinates | None = None
    """Optional: with the shop's region centroids it ranks warehouses by distance."""

    def __post_init__(self) -> None:
        if not WAREHOUSE_ID_PATTERN.match(self.id):
            raise InvalidCatalogEntry("id", "1-64 characters of letters, digits, _ and -")
        if not self.name.strip():
            raise InvalidCatalogEntry("name", "must not be empty")
        if not self.region.strip():
            raise InvalidCatalogEntry("region", "must not be empty")
