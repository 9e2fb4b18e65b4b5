from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from oms_catalog.domain.allocation import Line
from oms_catalog.domain.catalog import InvalidCatalogEntry
from oms_catalog.domain.kits import InvalidKit, KitComponent, check_kit, expand_kits
from oms_catalog.domain.price_lists import PriceList, check_amount
from oms_catalog.domain.products import Product, check_attributes, normalise_barcodes

KITS = {"KIT": (KitComponent("A", 2), KitComponent("B", 1))}


def test_expand_multiplies_and_sums_duplicates() -> None:
    lines = [Line("KIT", 2), Line("A", 1), Line("C", 3)]
    assert expand_kits(lines, KITS) == [Line("A", 5), Line("B", 2), Line("C", 3)]


def test_expand_without_kits_is_identity_up_to_merging() -> None:
    assert expand_kits([Line("A", 1), Line("A", 2)], {}) == [Line("A", 3)]


@given(st.lists(st.tuples(st.sampled_from(["KIT", "A", "B", "C"]), st.integers(1, 50)), min_size=1, max_size=10))
def test_expansion_conserves_component_units(raw: list[tuple[str, int]]) -> None:
    lines = [Line(s, q) for s, q in raw]
    expanded = expand_kits(lines, KITS)
    kits = sum(q for s, q in raw if s == "KIT")
    want = {
        "A": 2 * kits + sum(q for s, q in raw if s == "A"),
        "B": kits + sum(q for s, q in raw if s == "B"),
        "C": sum(q for s, q in raw if s == "C"),
    }
    assert {ln.sku: ln.quantity for ln in expanded} == {k: v for k, v in want.items() if v}
    assert all(ln.sku != "KIT" for ln in expanded)
    assert len({ln.sku for ln in expanded}) == len(expanded)


@pytest.mark.parametrize(
    ("components", "known", "field"),
    [
        ([], {}, "kit"),
        ([KitComponent("X", 1)], {}, "kit[0].sku"),
        ([KitComponent("A", 1), KitComponent("K2", 1)], {"A": False, "K2": True}, "kit[1].sku"),
        ([KitComponent("KIT", 1)], {"KIT": False}, "kit[0].sku"),
        ([KitComponent("A", 1), KitComponent("A", 2)], {"A": False}, "kit[1].sku"),
        ([KitComponent("A", 0)], {"A": False}, "kit[0].quantity"),
    ],
)
def test_bad_kits_name_the_field(components: list[KitComponent], known: dict[str, bool], field: str) -> None:
    with pytest.raises(InvalidKit) as caught:
        check_kit("KIT", components, known)
    assert caught.value.field == field


def test_good_kit_passes() -> None:
    assert check_kit("KIT", [KitComponent("A", 2)], {"A": False}) == (KitComponent("A", 2),)


def test_attributes_follow_the_schema() -> None:
    check_attributes(("size", "colour"), {"size": "M", "colour": "red"})
    with pytest.raises(InvalidCatalogEntry) as missing:
        check_attributes(("size", "colour"), {"size": "M"})
    assert missing.value.field == "attributes.colour"
    with pytest.raises(InvalidCatalogEntry) as extra:
        check_attributes(("size",), {"size": "M", "weight": "1"})
    assert extra.value.field == "attributes.weight"
    with pytest.raises(InvalidCatalogEntry) as schema:
        Product("p1", "Shirt", ("size", "size"))
    assert schema.value.field == "attributes_schema"


def test_barcodes_normalised() -> None:
    assert normalise_barcodes("111", ["222", "111"]) == ("222", "111")
    assert normalise_barcodes("111", ["222"]) == ("111", "222")
    with pytest.raises(InvalidCatalogEntry) as twice:
        normalise_barcodes(None, ["1", "1"])
    assert twice.value.field == "barcodes[1]"


def test_price_list_rules() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidCatalogEntry) as window:
        PriceList("dealers", "Dealers", "EUR", "dealer", start, start)
    assert window.value.field == "valid_to"
    with pytest.raises(InvalidCatalogEntry) as currency:
        PriceList("dealers", "Dealers", "eur", "dealer")
    assert currency.value.field == "currency"
    with pytest.raises(InvalidCatalogEntry) as amount:
        check_amount(Decimal("-1"))
    assert amount.value.field == "amount"
    assert check_amount(Decimal("9.99")) == Decimal("9.99")
