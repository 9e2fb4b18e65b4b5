import pytest
from oms_gateway.domain.access import PERMISSIONS, Principal, RouteGroup, may_call


@pytest.mark.parametrize(
    ("label", "group", "allowed"),
    [
        ("storefront", RouteGroup.ORDERS_PLACE, True),
        ("storefront", RouteGroup.ORDERS_READ_ONE, True),
        ("storefront", RouteGroup.ORDERS, False),
        ("storefront", RouteGroup.ORDER_MESSAGES, False),
        ("storefront", RouteGroup.CATALOG_STOREFRONT, True),
        ("storefront", RouteGroup.CATALOG, False),
        ("storefront", RouteGroup.PAYMENTS, False),
        ("storefront", RouteGroup.STAFF_ADMIN, False),
        ("storefront", RouteGroup.CHECKOUT, True),
        ("storefront", RouteGroup.CHECKOUT_SETTINGS, False),
        ("warehouse", RouteGroup.CHECKOUT, False),
        ("storefront", RouteGroup.CUSTOMERS, False),
        ("courier", RouteGroup.CUSTOMERS, False),
        ("manager", RouteGroup.CUSTOMERS, True),
        ("warehouse", RouteGroup.ORDERS_PLACE, False),
        ("warehouse", RouteGroup.ORDERS, True),
        ("warehouse", RouteGroup.SHIPMENTS, True),
        ("warehouse", RouteGroup.PAYMENTS, False),
        ("courier", RouteGroup.SHIPMENTS, True),
        ("courier", RouteGroup.NOTIFICATIONS, False),
        ("manager", RouteGroup.PAYMENTS, True),
        ("manager", RouteGroup.STAFF_ADMIN, False),
        ("manager", RouteGroup.API_KEYS_ADMIN, False),
        ("admin", RouteGroup.STAFF_ADMIN, True),
        ("admin", RouteGroup.API_KEYS_ADMIN, True),
        ("admin", RouteGroup.WEBHOOKS, True),
        ("manager", RouteGroup.WEBHOOKS, False),
        ("storefront", RouteGroup.WEBHOOKS, False),
        ("nobody", RouteGroup.PUBLIC, True),
        ("", RouteGroup.ME, False),
    ],
)
def test_permission_table(label: str, group: RouteGroup, allowed: bool) -> None:
    assert may_call(label, group) is allowed


def test_every_group_has_a_row() -> None:
    assert set(PERMISSIONS) == set(RouteGroup)


def test_staff_principal_is_known_by_its_role_and_storefront_by_its_kind() -> None:
    staff = Principal(kind="staff", id="s1", shop_id="shop", name="Ann", role="courier")
    key = Principal(kind="storefront", id="k1", shop_id="shop", name="web", channel="web")
    assert staff.label == "courier"
    assert key.label == "storefront"
    assert staff.may(RouteGroup.SHIPMENTS) and not staff.may(RouteGroup.PAYMENTS)
    assert key.may(RouteGroup.ORDERS_PLACE) and not key.may(RouteGroup.SHIPMENTS)


def test_a_staff_member_without_role_may_do_nothing_protected() -> None:
    nobody = Principal(kind="staff", id="s1", shop_id="shop", name="?", role=None)
    assert not any(nobody.may(g) for g in RouteGroup if g is not RouteGroup.PUBLIC)


def test_actor_of_each_principal() -> None:
    staff = Principal(kind="staff", id="s1", shop_id="shop", name="Ann", role="admin").actor()
    key = Principal(kind="storefront", id="k1", shop_id="shop", name="web", channel="web").actor()
    assert (staff.kind, staff.id, staff.role, staff.name) == ("staff", "s1", "admin", "Ann")
    assert (key.kind, key.id, key.role, key.name) == ("storefront", "k1", None, "web")
