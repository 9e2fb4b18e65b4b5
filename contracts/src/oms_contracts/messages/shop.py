"""Shops and their staff (owned by the gateway)."""

from __future__ import annotations

from typing import Literal

from oms_contracts.envelope import Payload
from oms_contracts.messages.common import Email, Locale

StaffRole = Literal["admin", "manager", "warehouse", "courier", "agent", "dealer"]


class ShopCreated(Payload):
    TYPE = "ShopCreated"
    KEY = "shop_id"

    shop_id: str
    name: str
    default_currency: str
    locale: Locale = "en"


class StaffMemberAdded(Payload):
    """A staff account exists: services that alert people (notification) project it."""

    TYPE = "StaffMemberAdded"
    KEY = "shop_id"

    shop_id: str
    staff_id: str
    email: Email
    name: str
    role: StaffRole
    locale: Locale = "en"
