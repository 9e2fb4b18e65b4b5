"""VK Callback API intake, as rules: what a callback body means and what to answer.

VK posts JSON to the community's callback server: `{"type", "group_id", "event_id", "v", "secret",
"object"}`. It expects the body `ok` (HTTP 200) for every event — anything else and it retries —,
and for `type = "confirmation"` the community's confirmation string instead. A body that is not
a callback, names a group this shop has not connected, or carries a wrong secret changes nothing
and is answered `ok` too (a stranger learns nothing; VK stops retrying). Only `market_order_new`
and `market_order_edit` become participants: each VK order once (`external_ref` = `vk:<group>:<order>`).

A VK Market product is matched to the purchase's offer by its article (`item.sku`); an order with a
product that has none, or that no collecting purchase offers, is ignored.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from oms_groupbuy.domain.errors import InvalidInput

OK = "ok"
ORDER_EVENTS = ("market_order_new", "market_order_edit")
MAX_VK_LINES = 50


@dataclass(frozen=True)
class VkGroup:
    """A VK community connected to a shop: its callback secret and confirmation string."""

    group_id: int
    shop_id: str
    secret: str
    confirmation: str

    def __post_init__(self) -> None:
        if self.group_id <= 0:
            raise InvalidInput("a positive VK community id", "group_id")
        if not 8 <= len(self.secret) <= 50:
            raise InvalidInput("8 to 50 characters, as VK allows", "secret")
        if not 1 <= len(self.confirmation) <= 100:
            raise InvalidInput("the confirmation string VK shows, 1 to 100 characters", "confirmation")


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Currency(_Loose):
    name: str | None = None


class _Price(_Loose):
    amount: str | None = None
    currency: _Currency | None = None


class _Item(_Loose):
    sku: str | None = None


class _OrderItem(_Loose):
    item_id: int
    quantity: int = Field(ge=1, le=100_000)
    title: str | None = None
    item: _Item | None = None


class _Recipient(_Loose):
    name: str | None = None
    phone: str | None = None


class _Order(_Loose):
    id: int
    group_id: int | None = None
    user_id: int
    preview_order_items: list[_OrderItem] = Field(default_factory=list, max_length=MAX_VK_LINES)
    total_price: _Price | None = None
    recipient: _Recipient | None = None
    comment: str | None = None


class _Callback(_Loose):
    type: str
    group_id: int
    secret: str | None = None
    event_id: str | None = None
    object: dict[str, Any] | None = None


@dataclass(frozen=True)
class VkOrder:
    group_id: int
    order_id: int
    user_id: int
    name: str
    contact: str
    currency: str | None
    lines: tuple[tuple[str, int], ...]

    @property
    def external_ref(self) -> str:
        return f"vk:{self.group_id}:{self.order_id}"


@dataclass(frozen=True)
class Reply:
    """What to answer VK, and the order to take in (if any) with why nothing was taken otherwise."""

    body: str
    order: VkOrder | None = None
    ignored: str | None = None


def group_of(raw: bytes) -> int | None:
    """The community a body claims to come from, to find its settings (None: not a callback)."""
    try:
        return _Callback.model_validate_json(raw).group_id
    except (ValidationError, ValueError):
        return None


def read(raw: bytes, group: VkGroup | None, path_group_id: int) -> Reply:
    """The answer to one callback body posted to the URL of `path_group_id`."""
    try:
        callback = _Callback.model_validate_json(raw)
    except (ValidationError, ValueError, json.JSONDecodeError):
        return Reply(OK, ignored="not a VK callback")
    if group is None or callback.group_id != group.group_id or callback.group_id != path_group_id:
        return Reply(OK, ignored="a community this shop has not connected")
    if callback.type == "confirmation":
        return Reply(group.confirmation)
    if callback.secret is None or not hmac.compare_digest(callback.secret.encode(), group.secret.encode()):
        return Reply(OK, ignored="wrong secret")
    if callback.type not in ORDER_EVENTS:
        return Reply(OK, ignored=f"event {callback.type} is not taken in")
    try:
        order = _Order.model_validate(callback.object or {})
    except ValidationError:
        return Reply(OK, ignored="malformed order")
    lines: dict[str, int] = {}
    for item in order.preview_order_items:
        sku = item.item.sku.strip() if item.item and item.item.sku else ""
        if not sku:
            return Reply(OK, ignored=f"VK product {item.item_id} has no article (sku)")
        lines[sku] = lines.get(sku, 0) + item.quantity
    if not lines:
        return Reply(OK, ignored="an order without items")
    recipient = order.recipient or _Recipient()
    name = (recipient.name or "").strip()[:200] or f"VK user {order.user_id}"
    contact = f"vk:{order.user_id}" + (f", {recipient.phone.strip()[:40]}" if recipient.phone else "")
    currency = order.total_price.currency.name if order.total_price and order.total_price.currency else None
    return Reply(
        OK,
        order=VkOrder(
            group_id=group.group_id,
            order_id=order.id,
            user_id=order.user_id,
            name=name,
            contact=contact,
            currency=currency if currency and len(currency) == 3 and currency.isupper() else None,
            lines=tuple(lines.items()),
        ),
    )
