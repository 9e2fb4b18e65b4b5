"""Products and their variants: a product names the attributes its SKUs vary by (size, colour…)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from oms_catalog.domain.catalog import InvalidCatalogEntry

PRODUCT_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
ATTRIBUTE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_ATTRIBUTES = 10
MAX_BARCODES = 20
BARCODE_PATTERN = re.compile(r"^[A-Za-z0-9\-]{1,64}$")


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    attributes_schema: tuple[str, ...] = ()
    description: str | None = None

    def __post_init__(self) -> None:
        if not PRODUCT_ID_PATTERN.match(self.id):
            raise InvalidCatalogEntry("product_id", "1-64 characters of letters, digits and . _ -")
        if not self.name.strip():
            raise InvalidCatalogEntry("name", "must not be empty")
        if len(self.attributes_schema) > MAX_ATTRIBUTES:
            raise InvalidCatalogEntry("attributes_schema", f"at most {MAX_ATTRIBUTES} attributes")
        for i, name in enumerate(self.attributes_schema):
            if not ATTRIBUTE_PATTERN.match(name):
                raise InvalidCatalogEntry(f"attributes_schema[{i}]", "lower-case letters, digits and _ (1-40)")
        if len(set(self.attributes_schema)) != len(self.attributes_schema):
            raise InvalidCatalogEntry("attributes_schema", "attribute names must be distinct")


def check_attributes(schema: Sequence[str], attributes: Mapping[str, str]) -> None:
    """A variant names a value for exactly the attributes of its product's schema."""
    for name, value in attributes.items():
        if name not in schema:
            raise InvalidCatalogEntry(f"attributes.{name}", f"not an attribute of the product ({', '.join(schema)})")
        if not value.strip():
            raise InvalidCatalogEntry(f"attributes.{name}", "must not be empty")
    for name in schema:
        if name not in attributes:
            raise InvalidCatalogEntry(f"attributes.{name}", "required by the product's attributes_schema")


def normalise_barcodes(barcode: str | None, barcodes: Sequence[str]) -> tuple[str, ...]:
    """The SKU's barcodes: the legacy single `barcode` first, then `barcodes`, each once."""
    result: list[str] = []
    for i, code in enumerate(barcodes):
        if not BARCODE_PATTERN.match(code):
            raise InvalidCatalogEntry(f"barcodes[{i}]", "1-64 letters, digits and -")
        if code in result:
            raise InvalidCatalogEntry(f"barcodes[{i}]", f"{code} appears twice")
        result.append(code)
    if barcode is not None and barcode not in result:
        if not BARCODE_PATTERN.match(barcode):
            raise InvalidCatalogEntry("barcode", "1-64 letters, digits and -")
        result.insert(0, barcode)
    if len(result) > MAX_BARCODES:
        raise InvalidCatalogEntry("barcodes", f"at most {MAX_BARCODES} barcodes")
    return tuple(result)
