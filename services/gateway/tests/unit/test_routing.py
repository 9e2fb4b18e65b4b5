import pytest
from oms_gateway.domain.access import RouteGroup
from oms_gateway.domain.routing import Service, path_exists, resolve


@pytest.mark.parametrize(
    ("method", "path", "group", "service", "upstream"),
    [
        ("POST", "/api/v1/orders", RouteGroup.ORDERS_PLACE, Service.ORDER, "/orders"),
        ("GET", "/api/v1/orders", RouteGroup.ORDERS, Service.ORDER, "/orders"),
        ("GET", "/api/v1/orders/o1", RouteGroup.ORDERS_READ_ONE, Service.ORDER, "/orders/o1"),
        ("POST", "/api/v1/orders/o1/cancel", RouteGroup.ORDERS, Service.ORDER, "/orders/o1/cancel"),
        ("GET", "/api/v1/orders/o1/history", RouteGroup.ORDERS, Service.ORDER, "/orders/o1/history"),
        ("POST", "/api/v1/orders/o1/messages", RouteGroup.ORDER_MESSAGES, Service.MESSAGING, "/orders/o1/messages"),
        (
            "GET",
            "/api/v1/orders/o1/messages/m2",
            RouteGroup.ORDER_MESSAGES,
            Service.MESSAGING,
            "/orders/o1/messages/m2",
        ),
        ("GET", "/api/v1/catalog/skus", RouteGroup.CATALOG_STOREFRONT, Service.CATALOG, "/skus"),
        ("GET", "/api/v1/catalog/skus/TEE-1", RouteGroup.CATALOG_STOREFRONT, Service.CATALOG, "/skus/TEE-1"),
        ("GET", "/api/v1/catalog/stock", RouteGroup.CATALOG_STOREFRONT, Service.CATALOG, "/stock"),
        ("PUT", "/api/v1/catalog/skus/TEE-1", RouteGroup.CATALOG, Service.CATALOG, "/skus/TEE-1"),
        ("GET", "/api/v1/catalog/warehouses", RouteGroup.CATALOG, Service.CATALOG, "/warehouses"),
        ("GET", "/api/v1/payments/p1", RouteGroup.PAYMENTS, Service.PAYMENT, "/payments/p1"),
        ("POST", "/api/v1/shipments/s1/pick", RouteGroup.SHIPMENTS, Service.FULFILMENT, "/shipments/s1/pick"),
        ("GET", "/api/v1/notifications", RouteGroup.NOTIFICATIONS, Service.NOTIFICATION, "/notifications"),
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
    ],
)
def test_unrouted(method: str, path: str) -> None:
    assert resolve(method, path) is None


def test_path_exists_tells_wrong_method_from_unknown_path() -> None:
    assert path_exists("/webhooks/payments/sandbox")
    assert not path_exists("/api/v1/nothing")


def test_trailing_slash_is_ignored() -> None:
    resolved = resolve("POST", "/api/v1/orders/")
    assert resolved is not None and resolved.route.group is RouteGroup.ORDERS_PLACE
