"""The contracts' `Email`: pydantic's EmailStr check, remembered per address."""

from __future__ import annotations

import pytest
from oms_contracts.messages.common import Customer, _checked_email
from pydantic import BaseModel, EmailStr, ValidationError


class _Reference(BaseModel):
    email: EmailStr


@pytest.mark.parametrize(
    "address",
    ["ann@example.com", "Ann.Lee@Example.COM", "ann+tea@xn--80ak6aa92e.com", "анна@пример.рф", "a@b.co"],
)
def test_accepts_and_normalises_as_email_str(address: str) -> None:
    expected = _Reference(email=address).email
    assert Customer(name="Ann", email=address).email == expected
    assert Customer(name="Ann", email=address).email == expected  # the remembered answer is the same


@pytest.mark.parametrize(
    "address", ["", "ann", "ann@", "@example.com", "ann@@example.com", "ann@exa mple.com", "a" * 300]
)
def test_refuses_what_email_str_refuses_every_time(address: str) -> None:
    with pytest.raises(ValidationError):
        _Reference(email=address)
    for _ in range(2):  # a refusal is not remembered as an answer
        with pytest.raises(ValidationError) as refused:
            Customer(name="Ann", email=address)
        assert refused.value.errors()[0]["loc"] == ("email",)


def test_an_address_is_checked_once() -> None:
    _checked_email.cache_clear()
    for _ in range(3):
        Customer(name="Ann", email="once@example.com")
    info = _checked_email.cache_info()
    assert (info.misses, info.hits) == (1, 2)
