"""Kits (bundles): a SKU sold as a set of component SKUs; it holds no stock of its own.

Reserving a kit reserves its components. The expansion is pure: order lines in, component
lines out (a kit line becomes quantity times component quantity of each component; duplicates summed;
ordinary SKUs pass through). Kits do not nest: a component is never itself a kit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from oms_runtime.errors import FieldError

from oms_catalog.domain.allocation import Line

MAX_COMPONENTS = 50


@dataclass(frozen=True)
class KitComponent:
    sku: str
    quantity: int


class InvalidKit(FieldError):
    """A kit definition breaks a rule; `field` names it (`kit[1].sku`)."""


def check_kit(kit_sku: str, components: Sequence[KitComponent], known: Mapping[str, bool]) -> tuple[KitComponent, ...]:
    """Validate a kit; `known` maps each existing component SKU to whether it is itself a kit.

    Components must exist, must not be kits (no nesting) nor the kit itself, appear once each,
    quantities > 0. Answers the components in the order given.
    """
    if not components:
        raise InvalidKit("kit", "a kit needs at least one component")
    if len(components) > MAX_COMPONENTS:
        raise InvalidKit("kit", f"at most {MAX_COMPONENTS} components")
    seen: set[str] = set()
    for i, component in enumerate(components):
        field = f"kit[{i}].sku"
        if component.sku == kit_sku:
            raise InvalidKit(field, "a kit cannot contain itself")
        if component.sku in seen:
            raise InvalidKit(field, f"{component.sku} appears twice; give its total quantity once")
        seen.add(component.sku)
        if component.quantity <= 0:
            raise InvalidKit(f"kit[{i}].quantity", "must be greater than zero")
        if component.sku not in known:
            raise InvalidKit(field, f"the shop has no SKU {component.sku!r}")
        if known[component.sku]:
            raise InvalidKit(field, f"{component.sku} is a kit itself; kits do not nest")
    return tuple(components)


def expand_kits(lines: Sequence[Line], kits: Mapping[str, Sequence[KitComponent]]) -> list[Line]:
    """Replace each kit line by its components (quantity multiplied), summing duplicates.

    Lines keep the order in which each SKU first appears. A SKU not in `kits` is an ordinary SKU.
    """
    totals: dict[str, int] = {}
    for line in lines:
        components = kits.get(line.sku)
        if components is None:
            totals[line.sku] = totals.get(line.sku, 0) + line.quantity
            continue
        for component in components:
            totals[component.sku] = totals.get(component.sku, 0) + line.quantity * component.quantity
    return [Line(sku, quantity) for sku, quantity in totals.items()]


@dataclass(frozen=True)
class KitOrdered:
    """A kit line of an order as it was asked, with its components then (kept on the reservation)."""

    sku: str
    quantity: int
    components: tuple[KitComponent, ...]


def kit_lines(lines: Sequence[Line], kits: Mapping[str, Sequence[KitComponent]]) -> list[KitOrdered]:
    """What an order asked of each kit, with its components then (kept on the reservation)."""
    return [KitOrdered(line.sku, line.quantity, tuple(kits[line.sku])) for line in lines if line.sku in kits]
