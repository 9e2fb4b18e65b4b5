"""Use cases on shops, staff and API keys, and authenticating callers. Talks to the AccountStore port."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from oms_contracts import Actor
from oms_contracts.messages.shop import ShopCreated, StaffMemberAdded
from oms_runtime.errors import FieldError
from oms_runtime.events import EventFactory

from oms_gateway.application.errors import NotFound
from oms_gateway.application.passwords import Passwords
from oms_gateway.application.ports import AccountStore
from oms_gateway.application.tokens import IssuedToken, TokenService
from oms_gateway.domain.access import Principal
from oms_gateway.domain.accounts import (
    ApiKey,
    Locale,
    Shop,
    StaffMember,
    StaffRole,
    check_password_policy,
    generate_api_key,
    hash_key_secret,
    normalise_email,
    parse_api_key,
    split_api_key,
)


class AlreadyExists(FieldError):
    """The e-mail (or key prefix) is taken in the shop: answered 409 naming the field."""


class InvalidCredentials(Exception):
    """Login failed. Deliberately says nothing about which part was wrong."""


@dataclass(frozen=True)
class Login:
    token: IssuedToken
    role: str
    shop_id: str


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    presented: str | None  # the full `<prefix>.<secret>`, known only when just created


class Accounts:
    def __init__(
        self,
        store: AccountStore,
        passwords: Passwords,
        tokens: TokenService,
        events: EventFactory,
        id_factory: Callable[[], str],
    ) -> None:
        self.store = store
        self.passwords = passwords
        self.tokens = tokens
        self.events = events
        self._new_id = id_factory

    # --- shops -------------------------------------------------------------------------

    async def create_shop(
        self, *, slug: str, name: str, currency: str, locale: Locale, actor: Actor
    ) -> tuple[Shop, bool]:
        """The shop with this slug: created now (True), or the one that already exists (False)."""
        existing = await self.store.shop_by_slug(slug)
        if existing is not None:
            return existing, False
        shop_id = self._new_id()
        shop = Shop(shop_id=shop_id, slug=slug, name=name, default_currency=currency, locale=locale)
        event = self.events.new(
            ShopCreated(shop_id=shop_id, name=name, default_currency=currency, locale=locale),
            shop_id=shop_id,
            actor=actor,
        )
        await self.store.add_shop(shop, [event])
        return shop, True

    async def shop(self, shop_id: str) -> Shop:
        """The caller's shop; NotFound when it no longer exists (a token outlives its shop)."""
        shop = await self.store.get_shop(shop_id)
        if shop is None:
            raise NotFound("the shop of this token no longer exists")
        return shop

    # --- staff -------------------------------------------------------------------------

    async def add_staff(
        self,
        *,
        shop: Shop,
        email: str,
        name: str,
        role: StaffRole,
        password: str,
        actor: Actor,
        keep_existing: bool = False,
    ) -> tuple[StaffMember, bool]:
        """Add a staff member; an e-mail already in the shop is an error unless `keep_existing`."""
        email = normalise_email(email)
        existing = await self.store.staff_by_email(shop.shop_id, email)
        if existing is not None:
            if keep_existing:
                return existing, False
            raise AlreadyExists("email", "a staff member with this e-mail already exists in the shop")
        check_password_policy(password)
        member = StaffMember(
            staff_id=self._new_id(),
            shop_id=shop.shop_id,
            email=email,
            name=name,
            role=role,
            password_hash=await self.passwords.hash(password),
            locale=shop.locale,
        )
        event = self.events.new(
            StaffMemberAdded(
                shop_id=shop.shop_id, staff_id=member.staff_id, email=email, name=name, role=role, locale=shop.locale
            ),
            shop_id=shop.shop_id,
            actor=actor,
        )
        await self.store.add_staff(member, [event])
        return member, True

    async def list_staff(self, shop_id: str, cursor: str | None, limit: int) -> list[StaffMember]:
        return await self.store.list_staff(shop_id, cursor, limit)

    # --- API keys ----------------------------------------------------------------------

    async def create_api_key(self, *, shop_id: str, name: str, presented: str | None = None) -> IssuedKey:
        """A new storefront key; with `presented` (bootstrap) that exact key, kept if it already exists."""
        if presented is None:
            prefix, secret = generate_api_key()
        else:
            prefix, secret = parse_api_key(presented)
            existing = await self.store.key_by_prefix(prefix)
            if existing is not None:
                if existing.shop_id != shop_id or not existing.matches(secret):
                    raise AlreadyExists("api_key", f"prefix {prefix!r} is taken by another key")
                return IssuedKey(existing, None)
        key = ApiKey(
            key_id=self._new_id(), shop_id=shop_id, name=name, prefix=prefix, secret_hash=hash_key_secret(secret)
        )
        await self.store.add_api_key(key)
        return IssuedKey(key, f"{prefix}.{secret}")

    async def list_api_keys(self, shop_id: str, cursor: str | None, limit: int) -> list[ApiKey]:
        return await self.store.list_api_keys(shop_id, cursor, limit)

    async def revoke_api_key(self, *, shop_id: str, key_id: str) -> ApiKey:
        """Deactivate a key of this shop: refused at once here, within the kept seconds by other replicas (ADR 0041)."""
        revoked = await self.store.deactivate_api_key(shop_id, key_id)
        if revoked is None:
            raise NotFound(f"no API key {key_id} in this shop")
        return revoked

    # --- authentication ----------------------------------------------------------------

    async def login(self, *, shop_slug: str, email: str, password: str) -> Login:
        shop = await self.store.shop_by_slug(shop_slug.strip().lower())
        member = await self.store.staff_by_email(shop.shop_id, normalise_email(email)) if shop else None
        usable = member is not None and member.active
        # Always verify something, so an unknown user costs the same time as a wrong password.
        ok = await self.passwords.verify(member.password_hash if usable and member else None, password)
        if not ok or member is None or shop is None:
            raise InvalidCredentials()
        token = self.tokens.issue(staff_id=member.staff_id, shop_id=shop.shop_id, role=member.role, name=member.name)
        return Login(token=token, role=member.role, shop_id=shop.shop_id)

    async def authenticate_key(self, presented: str) -> Principal | None:
        parts = split_api_key(presented)
        if parts is None:
            return None
        key = await self.store.key_by_prefix(parts[0])
        if key is None or not key.matches(parts[1]):
            return None
        return Principal(kind="storefront", id=key.key_id, shop_id=key.shop_id, name=key.name, channel=key.channel)
