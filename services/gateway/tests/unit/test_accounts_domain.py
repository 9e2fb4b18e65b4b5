import pytest
from oms_gateway.domain.accounts import (
    ApiKey,
    InvalidAccount,
    Shop,
    StaffMember,
    check_password_policy,
    generate_api_key,
    hash_key_secret,
    normalise_email,
    parse_api_key,
    split_api_key,
)


def test_shop_rules_name_the_field() -> None:
    Shop(shop_id="s", slug="demo-shop", name="Demo", default_currency="RUB", locale="ru")
    for kwargs, field in [
        ({"slug": "Demo"}, "slug"),
        ({"slug": "-demo"}, "slug"),
        ({"name": " "}, "name"),
        ({"default_currency": "rub"}, "currency"),
        ({"locale": "de"}, "locale"),
    ]:
        base = {"shop_id": "s", "slug": "demo", "name": "Demo", "default_currency": "RUB", "locale": "en"}
        with pytest.raises(InvalidAccount) as err:
            Shop(**{**base, **kwargs})  # type: ignore[arg-type]
        assert err.value.field == field


def test_staff_email_is_normalised_and_role_checked() -> None:
    assert normalise_email("  Admin@Demo.SHOP ") == "admin@demo.shop"
    with pytest.raises(InvalidAccount) as err:
        StaffMember("id", "shop", "Admin@demo.shop", "A", "admin", "h")
    assert err.value.field == "email"
    with pytest.raises(InvalidAccount) as err:
        StaffMember("id", "shop", "a@demo.shop", "A", "owner", "h")  # type: ignore[arg-type]
    assert err.value.field == "role"


def test_password_policy() -> None:
    check_password_policy("long-enough")
    with pytest.raises(InvalidAccount):
        check_password_policy("short")


def test_api_key_matches_only_its_secret_and_only_while_active() -> None:
    prefix, secret = generate_api_key()
    key = ApiKey("k1", "shop", "web", prefix, hash_key_secret(secret))
    assert key.matches(secret)
    assert not key.matches(secret + "x")
    assert not ApiKey("k1", "shop", "web", prefix, hash_key_secret(secret), active=False).matches(secret)
    assert key.channel == "web"


def test_presented_keys_are_split_at_the_first_dot() -> None:
    assert split_api_key("demo.storefront-secret") == ("demo", "storefront-secret")
    assert split_api_key("demo.a.b") == ("demo", "a.b")
    assert split_api_key("nodot") is None
    assert split_api_key(".secret") is None
    assert split_api_key("demo.") is None


def test_operator_chosen_keys_need_a_long_secret() -> None:
    assert parse_api_key("demo.storefront-secret") == ("demo", "storefront-secret")
    with pytest.raises(InvalidAccount):
        parse_api_key("demo.short")
