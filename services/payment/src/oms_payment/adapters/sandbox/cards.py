"""What the sandbox does with a card number: validate, classify, decide, tokenise. Pure functions."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from oms_runtime.errors import FieldError

# The sandbox's published test cards (the numbers every provider's test mode knows).
APPROVED_TEST_CARD = "4242424242424242"
DECLINED_TEST_CARD = "4000000000000002"
DECLINED_CARDS = {DECLINED_TEST_CARD: "card_declined"}

_EXPIRY = re.compile(r"^\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*$")


class CardRejected(FieldError):
    """The form data is not a usable card; `field` names the form field at fault."""


@dataclass(frozen=True)
class ChargeOutcome:
    """What the sandbox keeps of a charge: never the number."""

    approved: bool
    token: str
    brand: str
    last4: str
    decline_reason: str | None = None


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def brand_of(digits: str) -> str:
    if digits.startswith("4"):
        return "visa"
    if digits[:2] in {"34", "37"}:
        return "amex"
    if 2200 <= int(digits[:4]) <= 2204:
        return "mir"
    if 51 <= int(digits[:2]) <= 55 or 2221 <= int(digits[:4]) <= 2720:
        return "mastercard"
    return "unknown"


def normalise_number(card_number: str) -> str:
    digits = re.sub(r"[\s-]", "", card_number or "")
    if not digits.isdigit() or not 12 <= len(digits) <= 19:
        raise CardRejected("card_number", "enter the 12 to 19 digits of the card")
    if not luhn_valid(digits):
        raise CardRejected("card_number", "this is not a valid card number")
    return digits


def check_expiry(expiry: str, now: datetime) -> None:
    match = _EXPIRY.match(expiry or "")
    if not match:
        raise CardRejected("expiry", "use MM/YY")
    month, year = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise CardRejected("expiry", "the month must be 01 to 12")
    year = year + 2000 if year < 100 else year
    if (year, month) < (now.year, now.month):
        raise CardRejected("expiry", "the card has expired")


def check_cvc(cvc: str) -> None:
    if not re.fullmatch(r"\d{3,4}", (cvc or "").strip()):
        raise CardRejected("cvc", "enter the 3 or 4 digits on the back of the card")


def charge(card_number: str, expiry: str, cvc: str, now: datetime) -> ChargeOutcome:
    """Decide as the sandbox provider: the declined test card fails, any other valid card succeeds."""
    digits = normalise_number(card_number)
    check_expiry(expiry, now)
    check_cvc(cvc)
    decline = DECLINED_CARDS.get(digits)
    return ChargeOutcome(
        approved=decline is None,
        token=f"tok_sandbox_{secrets.token_hex(12)}",
        brand=brand_of(digits),
        last4=digits[-4:],
        decline_reason=decline,
    )
