"""Shops, staff members and storefront API keys: the accounts the gateway owns.

Plain values and the rules that make them valid; no I/O. Secrets never live here in clear:
a staff member carries a password hash, an API key the SHA-256 of its secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Literal, get_args

from oms_runtime.errors import FieldError

StaffRole = Literal["admin", "manager", "warehouse", "courier"]
Locale = Literal["en", "ru"]

STAFF_ROLES: tuple[str, ...] = get_args(StaffRole)
LOCALES: tuple[str, ...] = get_args(Locale)

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
KEY_PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9_-]{3,32}$")
MIN_PASSWORD_LENGTH = 8
MIN_KEY_SECRET_LENGTH = 12


class InvalidAccount(FieldError):
    """A field of an account breaks a rule; `field` names it for the problem answer."""


def normalise_email(email: str) -> str:
    # Logins must not depend on how the user capitalised their address.
    return email.strip().lower()


@dataclass(frozen=True)
class Shop:
    shop_id: str
    slug: str
    name: str
    default_currency: str
    locale: Locale = "en"

    def __post_init__(self) -> None:
        if not SLUG_PATTERN.match(self.slug):
            raise InvalidAccount("slug", "lowercase letters, digits and dashes, 1-63 characters")
        if not self.name.strip():
            raise InvalidAccount("name", "must not be empty")
        if not CURRENCY_PATTERN.match(self.default_currency):
            raise InvalidAccount("currency", "an ISO 4217 code such as RUB")
        if self.locale not in LOCALES:
            raise InvalidAccount("locale", f"one of {', '.join(LOCALES)}")


@dataclass(frozen=True)
class StaffMember:
    staff_id: str
    shop_id: str
    email: str
    name: str
    role: StaffRole
    password_hash: str
    active: bool = True
    locale: Locale = "en"

    def __post_init__(self) -> None:
        if self.email != normalise_email(self.email) or "@" not in self.email:
            raise InvalidAccount("email", "a lowercase e-mail address")
        if self.role not in STAFF_ROLES:
            raise InvalidAccount("role", f"one of {', '.join(STAFF_ROLES)}")
        if not self.name.strip():
            raise InvalidAccount("name", "must not be empty")


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidAccount("password", f"at least {MIN_PASSWORD_LENGTH} characters")


@dataclass(frozen=True)
class ApiKey:
    """A storefront's credential. Presented as `<prefix>.<secret>`; the prefix finds it, the secret proves it."""

    key_id: str
    shop_id: str
    name: str
    prefix: str
    secret_hash: str
    active: bool = True

    def __post_init__(self) -> None:
        if not KEY_PREFIX_PATTERN.match(self.prefix):
            raise InvalidAccount("api_key", "prefix of 3-32 letters, digits, '-' or '_'")
        if not self.name.strip():
            raise InvalidAccount("name", "must not be empty")

    @property
    def channel(self) -> str:
        """The sales channel its orders come from: the key's name."""
        return self.name

    def matches(self, secret: str) -> bool:
        # Constant-time: the comparison must not tell an attacker how many characters were right.
        return self.active and hmac.compare_digest(hash_key_secret(secret), self.secret_hash)


def hash_key_secret(secret: str) -> str:
    # API key secrets are long random strings, so a fast hash is enough (unlike passwords).
    return hashlib.sha256(secret.encode()).hexdigest()


def split_api_key(presented: str) -> tuple[str, str] | None:
    """`<prefix>.<secret>` -> (prefix, secret), or None when it is not shaped like a key."""
    prefix, dot, secret = presented.strip().partition(".")
    if not dot or not KEY_PREFIX_PATTERN.match(prefix) or not secret:
        return None
    return prefix, secret


def parse_api_key(presented: str) -> tuple[str, str]:
    """Like split_api_key, for keys an operator chooses (bootstrap): explains what is wrong."""
    parts = split_api_key(presented)
    if parts is None:
        raise InvalidAccount("api_key", "shaped as <prefix>.<secret>")
    if len(parts[1]) < MIN_KEY_SECRET_LENGTH:
        raise InvalidAccount("api_key", f"secret of at least {MIN_KEY_SECRET_LENGTH} characters")
    return parts


def generate_api_key() -> tuple[str, str]:
    """A fresh (prefix, secret): the prefix is shown in lists, the secret only once."""
    return f"k{secrets.token_hex(6)}", secrets.token_urlsafe(32)
