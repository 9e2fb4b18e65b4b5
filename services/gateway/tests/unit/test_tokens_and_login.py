"""Tokens and the login rules, with an in-memory AccountStore (a fake of our own port)."""

from datetime import UTC, datetime, timedelta
from itertools import count

import jwt
import pytest
from argon2 import PasswordHasher
from oms_contracts import Actor
from oms_gateway.application.accounts import Accounts, AlreadyExists, InvalidCredentials
from oms_gateway.application.bootstrap_shop import ShopSpec, StaffSpec, bootstrap_shop
from oms_gateway.application.errors import NotFound
from oms_gateway.application.passwords import Passwords
from oms_gateway.application.tokens import InvalidToken, TokenService
from oms_gateway.domain.accounts import InvalidAccount
from oms_runtime.clock import FixedClock
from oms_runtime.events import EventFactory

from .fakes import MemoryStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def accounts(clock: FixedClock) -> Accounts:
    ids = count(1)
    # Cheap Argon2 parameters: these tests are about our rules, not the hash's cost.
    passwords = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    tokens = TokenService("k" * 32, timedelta(hours=8), clock)
    return Accounts(MemoryStore(), passwords, tokens, EventFactory("gateway", clock), lambda: f"id{next(ids):03d}")


SPEC = ShopSpec(
    slug="demo",
    name="Demo",
    currency="RUB",
    locale="ru",
    admin_email="Admin@Demo.shop",
    admin_password="admin-pass",
    staff=[StaffSpec.parse("warehouse:wh@demo.shop:wh:pass:word")],
    api_key="demo.storefront-secret",
)


async def test_bootstrap_is_idempotent_and_emits_events_once(accounts: Accounts) -> None:
    first = await bootstrap_shop(accounts, SPEC)
    second = await bootstrap_shop(accounts, SPEC)
    assert first.shop_created and not second.shop_created
    assert first.shop_id == second.shop_id
    assert [s[2] for s in first.staff] == [s[2] for s in second.staff]
    assert all(s[3] for s in first.staff) and not any(s[3] for s in second.staff)
    assert first.api_key_created and not second.api_key_created
    store: MemoryStore = accounts.store  # type: ignore[assignment]
    assert [e.type for e in store.events] == ["ShopCreated", "StaffMemberAdded", "StaffMemberAdded"]
    assert store.events[1].payload.email == "admin@demo.shop"
    assert store.events[2].payload.locale == "ru"


async def test_bootstrap_refuses_a_key_prefix_with_another_secret(accounts: Accounts) -> None:
    await bootstrap_shop(accounts, SPEC)
    with pytest.raises(AlreadyExists):
        await bootstrap_shop(accounts, ShopSpec(**{**SPEC.__dict__, "api_key": "demo.another-secret-here"}))


def test_staff_spec_parsing() -> None:
    assert StaffSpec.parse("courier:c@x.io:p:w") == StaffSpec("courier", "c@x.io", "p:w")
    with pytest.raises(InvalidAccount):
        StaffSpec.parse("boss:c@x.io:pw")


async def test_login_issues_a_token_that_verifies_to_the_staff_member(accounts: Accounts, clock: FixedClock) -> None:
    report = await bootstrap_shop(accounts, SPEC)
    login = await accounts.login(shop_slug="DEMO", email="admin@demo.shop", password="admin-pass")
    assert (login.role, login.shop_id, login.token.expires_in) == ("admin", report.shop_id, 8 * 3600)
    principal = accounts.tokens.verify(login.token.access_token)
    assert (principal.kind, principal.id, principal.shop_id, principal.role) == (
        "staff",
        report.staff[0][2],
        report.shop_id,
        "admin",
    )
    clock.advance(timedelta(hours=8))
    with pytest.raises(InvalidToken):
        accounts.tokens.verify(login.token.access_token)


@pytest.mark.parametrize(
    ("shop", "email", "password"),
    [
        ("demo", "admin@demo.shop", "wrong-pass"),
        ("demo", "ghost@demo.shop", "admin-pass"),
        ("nope", "admin@demo.shop", "admin-pass"),
    ],
)
async def test_login_failures_look_alike(accounts: Accounts, shop: str, email: str, password: str) -> None:
    await bootstrap_shop(accounts, SPEC)
    with pytest.raises(InvalidCredentials):
        await accounts.login(shop_slug=shop, email=email, password=password)


def test_forged_or_foreign_tokens_are_refused(clock: FixedClock) -> None:
    tokens = TokenService("k" * 32, timedelta(hours=1), clock)
    good = tokens.issue(staff_id="s", shop_id="shop", role="admin", name="A").access_token
    assert tokens.verify(good).role == "admin"
    forged = jwt.encode(
        {
            "iss": "oms-gateway",
            "sub": "s",
            "shop": "other",
            "role": "admin",
            "exp": int((T0 + timedelta(hours=1)).timestamp()),
        },
        "x" * 32,
        algorithm="HS256",
    )
    for token in (forged, "not-a-jwt", good + "x"):
        with pytest.raises(InvalidToken):
            tokens.verify(token)


async def test_api_key_authentication(accounts: Accounts) -> None:
    report = await bootstrap_shop(accounts, SPEC)
    principal = await accounts.authenticate_key("demo.storefront-secret")
    assert principal is not None
    assert (principal.kind, principal.shop_id, principal.channel) == ("storefront", report.shop_id, "storefront")
    assert await accounts.authenticate_key("demo.wrong-secret") is None
    assert await accounts.authenticate_key("other.storefront-secret") is None
    assert await accounts.authenticate_key("garbage") is None


async def test_adding_the_same_email_twice_is_a_conflict(accounts: Accounts) -> None:
    await bootstrap_shop(accounts, SPEC)
    shop = next(iter(accounts.store.shops.values()))  # type: ignore[attr-defined]
    with pytest.raises(AlreadyExists):
        await accounts.add_staff(
            shop=shop, email="WH@demo.shop", name="W", role="warehouse", password="password1", actor=Actor.system("t")
        )


async def test_a_revoked_key_no_longer_authenticates(accounts: Accounts) -> None:
    report = await bootstrap_shop(accounts, SPEC)
    assert report.api_key_id is not None
    with pytest.raises(NotFound):
        await accounts.revoke_api_key(shop_id="another-shop", key_id=report.api_key_id)
    assert await accounts.authenticate_key("demo.storefront-secret") is not None
    revoked = await accounts.revoke_api_key(shop_id=report.shop_id, key_id=report.api_key_id)
    assert revoked is not None and not revoked.active
    assert await accounts.authenticate_key("demo.storefront-secret") is None
