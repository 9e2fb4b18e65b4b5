"""Set up a shop with its first accounts, idempotently: running it twice changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

from oms_contracts import Actor

from oms_gateway.application.accounts import Accounts
from oms_gateway.domain.accounts import STAFF_ROLES, InvalidAccount, Locale, StaffRole

BOOTSTRAP_ACTOR = Actor.system("gateway.bootstrap")


@dataclass(frozen=True)
class StaffSpec:
    role: StaffRole
    email: str
    password: str
    name: str | None = None

    @classmethod
    def parse(cls, spec: str) -> StaffSpec:
        """`role:email:password` (the password may itself contain ':')."""
        role, _, rest = spec.partition(":")
        email, _, password = rest.partition(":")
        if role not in STAFF_ROLES or not email or not password:
            raise InvalidAccount("staff", f"expected role:email:password with role one of {', '.join(STAFF_ROLES)}")
        return cls(role=role, email=email, password=password)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ShopSpec:
    slug: str
    name: str
    currency: str
    locale: Locale
    admin_email: str
    admin_password: str
    staff: list[StaffSpec] = field(default_factory=list)
    api_key: str | None = None
    api_key_name: str = "storefront"


@dataclass
class BootstrapReport:
    shop_id: str = ""
    shop_created: bool = False
    staff: list[tuple[str, str, str, bool]] = field(default_factory=list)  # (role, email, staff_id, created)
    api_key_id: str | None = None
    api_key_created: bool = False

    def lines(self) -> list[str]:
        def state(created: bool) -> str:
            return "created" if created else "exists"

        out = [f"shop_id={self.shop_id} ({state(self.shop_created)})"]
        out += [f"staff {role} {email} staff_id={sid} ({state(c)})" for role, email, sid, c in self.staff]
        if self.api_key_id:
            out.append(f"api_key key_id={self.api_key_id} ({state(self.api_key_created)})")
        return out


async def bootstrap_shop(accounts: Accounts, spec: ShopSpec) -> BootstrapReport:
    report = BootstrapReport()
    shop, report.shop_created = await accounts.create_shop(
        slug=spec.slug, name=spec.name, currency=spec.currency, locale=spec.locale, actor=BOOTSTRAP_ACTOR
    )
    report.shop_id = shop.shop_id
    people = [StaffSpec("admin", spec.admin_email, spec.admin_password, name="Administrator"), *spec.staff]
    for person in people:
        member, created = await accounts.add_staff(
            shop=shop,
            email=person.email,
            name=person.name or person.email.split("@")[0],
            role=person.role,
            password=person.password,
            actor=BOOTSTRAP_ACTOR,
            keep_existing=True,
        )
        report.staff.append((member.role, member.email, member.staff_id, created))
    if spec.api_key:
        issued = await accounts.create_api_key(shop_id=shop.shop_id, name=spec.api_key_name, presented=spec.api_key)
        report.api_key_id = issued.key.key_id
        report.api_key_created = issued.presented is not None
    return report
