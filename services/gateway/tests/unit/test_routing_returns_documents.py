"""Route rows of returns (RMA) and payment documents: storefronts ask and read, staff do the rest."""

from __future__ import annotations

from oms_gateway.domain.access import RouteGroup, may_call
from oms_gateway.domain.routing import Service, resolve


def test_a_storefront_may_ask_for_a_return_and_read_it_but_not_decide_it() -> None:
    asked = resolve("POST", "/api/v1/returns")
    assert asked is not None and asked.route.service is Service.FULFILMENT and asked.upstream_path == "/returns"
    assert may_call("storefront", asked.route.group)
    read = resolve("GET", "/api/v1/returns/r-1")
    assert read is not None and read.upstream_path == "/returns/r-1" and may_call("storefront", read.route.group)
    approve = resolve("POST", "/api/v1/returns/r-1/approve")
    assert approve is not None and approve.route.group is RouteGroup.RETURNS
    assert approve.upstream_path == "/returns/r-1/approve"
    assert not may_call("storefront", approve.route.group) and may_call("warehouse", approve.route.group)
    listed = resolve("GET", "/api/v1/returns")
    assert listed is not None and not may_call("storefront", listed.route.group)


def test_payment_documents_reach_storefronts_the_rest_of_payments_does_not() -> None:
    for name in ("invoice.pdf", "pd4.pdf"):
        row = resolve("GET", f"/api/v1/payments/p-1/{name}")
        assert row is not None and row.upstream_path == f"/payments/p-1/{name}"
        assert may_call("storefront", row.route.group) and not may_call("courier", row.route.group)
    other = resolve("GET", "/api/v1/payments/p-1")
    assert other is not None and not may_call("storefront", other.route.group)


def test_shipment_documents_go_through_the_shipments_row() -> None:
    row = resolve("GET", "/api/v1/shipments/s-1/label.pdf")
    assert row is not None and row.route.group is RouteGroup.SHIPMENTS
    assert row.upstream_path == "/shipments/s-1/label.pdf"
