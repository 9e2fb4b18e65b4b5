import pytest
from oms_gateway.domain.access import RouteGroup
from oms_gateway.domain.routing import Service, resolve, routes_by_method


@pytest.mark.parametrize(
    ("method", "path", "group", "service", "upstream"),
    [
        ("POST", "/api/v1/orders", RouteGroup.ORDERS_PLACE, Service.ORDER, "/orders"),
        ("GET", "/api/v1/orders", RouteGroup.ORDERS, Service.ORDER, "/orders"),
        ("GET", "/api/v1/orders/o1", RouteGroup.ORDERS_READ_ONE, Service.ORDER, "/orders/o1"),
        ("POST", "/api/v1/orders/o1/cancel", RouteGroup.ORDERS, Service.ORDER, "/orders/o1/cancel"),
        ("GET", "/api/v1/orders/o1/history", RouteGroup.ORDERS, Service.ORDER, "/orders/o1/history"),
        ("GET", "/api/v1/orders/search", RouteGroup.ORDERS, Service.ORDER, "/orders/search"),
        ("GET", "/api/v1/orders/groups", RouteGroup.ORDERS, Service.ORDER, "/orders/groups"),
        ("GET", "/api/v1/orders/export.csv", RouteGroup.ORDERS, Service.ORDER, "/orders/export.csv"),
        ("GET", "/api/v1/orders/o1/audit", RouteGroup.ORDERS, Service.ORDER, "/orders/o1/audit"),
        ("POST", "/api/v1/orders/o1/messages", RouteGroup.ORDER_MESSAGES, Service.MESSAGING, "/orders/o1/messages"),
        (
            "GET",
            "/api/v1/orders/o1/conversation",
            RouteGroup.ORDER_MESSAGES,
            Service.MESSAGING,
            "/orders/o1/conversation",
        ),
        ("GET", "/api/v1/promo-codes/SPRING", RouteGroup.PROMO_CODES, Service.ORDER, "/promo-codes/SPRING"),
        ("GET", "/api/v1/catalog/skus", RouteGroup.CATALOG_STOREFRONT, Service.CATALOG, "/skus"),
        ("GET", "/api/v1/catalog/skus/TEE-1", RouteGroup.CATALOG_STOREFRONT, Service.CATALOG, "/skus/TEE-1"),
        ("GET", "/api/v1/catalog/stock", RouteGroup.CATALOG_STOREFRONT, Service.CATALOG, "/stock"),
        # The ledger is staff work: not the storefront row, so the gateway refuses a storefront at once.
        ("GET", "/api/v1/catalog/stock/ledger", RouteGroup.CATALOG, Service.CATALOG, "/stock/ledger"),
        ("GET", "/api/v1/catalog/stock/low", RouteGroup.CATALOG, Service.CATALOG, "/stock/low"),
        ("PUT", "/api/v1/catalog/skus/TEE-1", RouteGroup.CATALOG, Service.CATALOG, "/skus/TEE-1"),
        # Only the shop window is the storefront's: the ledger, low stock and barcodes are staff's.
        ("GET", "/api/v1/catalog/stock/ledger", RouteGroup.CATALOG, Service.CATALOG, "/stock/ledger"),
        ("GET", "/api/v1/catalog/stock/low", RouteGroup.CATALOG, Service.CATALOG, "/stock/low"),
        ("GET", "/api/v1/catalog/skus/by-barcode/4600", RouteGroup.CATALOG, Service.CATALOG, "/skus/by-barcode/4600"),
        ("GET", "/api/v1/catalog/warehouses", RouteGroup.CATALOG, Service.CATALOG, "/warehouses"),
        ("GET", "/api/v1/payments/p1", RouteGroup.PAYMENTS, Service.PAYMENT, "/payments/p1"),
        ("POST", "/api/v1/orders/o1/card-link", RouteGroup.PAYMENTS, Service.PAYMENT, "/orders/o1/card-link"),
        ("POST", "/api/v1/shipments/s1/pick", RouteGroup.SHIPMENTS, Service.FULFILMENT, "/shipments/s1/pick"),
        ("GET", "/api/v1/notifications", RouteGroup.NOTIFICATIONS, Service.NOTIFICATION, "/notifications"),
        ("POST", "/api/v1/orders/o1/advance", RouteGroup.ORDERS, Service.ORDER, "/orders/o1/advance"),
        ("POST", "/api/v1/orders/o1/move", RouteGroup.ORDERS, Service.ORDER, "/orders/o1/move"),
        ("GET", "/api/v1/pipelines", RouteGroup.PIPELINES, Service.ORDER, "/pipelines"),
        ("PUT", "/api/v1/pipelines/store", RouteGroup.PIPELINES, Service.ORDER, "/pipelines/store"),
        ("POST", "/api/v1/pipelines/store/versions", RouteGroup.PIPELINES, Service.ORDER, "/pipelines/store/versions"),
        ("PUT", "/api/v1/pipeline-settings", RouteGroup.PIPELINES, Service.ORDER, "/pipeline-settings"),
        ("POST", "/api/v1/promo-codes", RouteGroup.PROMO_CODES, Service.ORDER, "/promo-codes"),
        (
            "POST",
            "/api/v1/promo-codes/SPRING/disable",
            RouteGroup.PROMO_CODES,
            Service.ORDER,
            "/promo-codes/SPRING/disable",
        ),
        ("PATCH", "/api/v1/orders/o1/lines/TEA-1", RouteGroup.ORDERS, Service.ORDER, "/orders/o1/lines/TEA-1"),
        ("PUT", "/api/v1/orders/o1/promo-code", RouteGroup.ORDERS, Service.ORDER, "/orders/o1/promo-code"),
        ("GET", "/api/v1/checkout/options", RouteGroup.CHECKOUT, Service.ORDER, "/checkout/options"),
        ("POST", "/api/v1/checkout/quote", RouteGroup.CHECKOUT, Service.ORDER, "/checkout/quote"),
        ("PUT", "/api/v1/checkout-settings", RouteGroup.CHECKOUT_SETTINGS, Service.ORDER, "/checkout-settings"),
        ("POST", "/api/v1/orders/o1/status-link", RouteGroup.ORDER_LINK, Service.ORDER, "/orders/o1/status-link"),
        ("GET", "/api/v1/order-status/t.o.k", RouteGroup.PUBLIC, Service.ORDER, "/order-status/t.o.k"),
        ("POST", "/api/v1/order-status/t.o.k/cancel", RouteGroup.PUBLIC, Service.ORDER, "/order-status/t.o.k/cancel"),
        (
            "POST",
            "/api/v1/order-status/t.o.k/feedback",
            RouteGroup.PUBLIC,
            Service.ORDER,
            "/order-status/t.o.k/feedback",
        ),
        ("GET", "/api/v1/customers", RouteGroup.CUSTOMERS, Service.ORDER, "/customers"),
        ("POST", "/api/v1/customers/c1/merge", RouteGroup.CUSTOMERS, Service.ORDER, "/customers/c1/merge"),
        ("GET", "/pay/sandbox/p1", RouteGroup.PUBLIC, Service.PAYMENT, "/sandbox/checkout/p1"),
        ("POST", "/pay/sandbox/p1", RouteGroup.PUBLIC, Service.PAYMENT, "/sandbox/checkout/p1"),
        ("POST", "/webhooks/payments/sandbox", RouteGroup.PUBLIC, Service.PAYMENT, "/webhooks/sandbox"),
    ],
)
def test_route_table(method: str, path: str, group: RouteGroup, service: Service, upstream: str) -> None:
    resolved = resolve(method, path)
    assert resolved is not None
    assert (resolved.route.group, resolved.route.service, resolved.upstream_path) == (group, service, upstream)


def test_storefront_catalog_rows_do_not_leak_to_lookalike_paths() -> None:
    resolved = resolve("GET", "/api/v1/catalog/skusecret")
    assert resolved is not None and resolved.route.group is RouteGroup.CATALOG


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/ordersx"),
        ("GET", "/api/v1/unknown"),
        ("GET", "/webhooks/payments/sandbox"),
        ("DELETE", "/pay/sandbox/p1"),
        ("GET", "/pay/sandbox/p1/extra"),
        # Methods no service route has are not forwarded (405 with Allow at the gateway).
        ("PATCH", "/api/v1/payments/p1"),
        ("POST", "/api/v1/pipeline-settings"),
    ],
)
def test_unrouted(method: str, path: str) -> None:
    assert resolve(method, path) is None


def test_the_methods_of_a_path_tell_a_wrong_method_from_an_unknown_path() -> None:
    assert list(routes_by_method("/webhooks/payments/sandbox")) == ["POST"]
    assert routes_by_method("/webhooks/payments/sandbox")["POST"].group is RouteGroup.PUBLIC
    assert routes_by_method("/api/v1/nothing") == {}
    assert sorted(routes_by_method("/api/v1/returns")) == ["GET", "POST"]


def test_trailing_slash_is_ignored() -> None:
    resolved = resolve("POST", "/api/v1/orders/")
    assert resolved is not None and resolved.route.group is RouteGroup.ORDERS_PLACE
