"""What the payment application needs from the outside, as Protocols.

Adapters implement them and hand back domain objects (`Payment`, `OrderAccount`,
`ShopPaymentConfig`, `GiftCard`), never stored documents: the application never reads a field of
a Mongo document.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, TypeAlias

from oms_contracts import Actor, Envelope, Money
from oms_documents import PricedLine
from oms_runtime.commands import CommandRepository, Loaded

from oms_payment.domain import CardSummary, Payment
from oms_payment.domain.account import OrderAccount
from oms_payment.domain.gift_card import GiftCard, GiftCardMovement
from oms_payment.domain.shop_config import ShopPaymentConfig

# --- card providers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkout:
    """A hosted payment step the customer is sent to."""

    url: str


@dataclass(frozen=True)
class ProviderEvent:
    """A verified provider notification about one payment."""

    event_id: str
    outcome: Literal["succeeded", "failed"]
    payment_id: str
    amount: Money
    card: CardSummary | None
    provider_reference: str
    failure_reason: str | None = None


class PaymentProvider(Protocol):
    """A card payment provider (the sandbox; a real one gets an adapter of the same shape)."""

    name: str

    def create_checkout(
        self, payment_id: str, checkout_token: str, *, amount: Money | None = None, issue: int = 0
    ) -> Checkout | Awaitable[Checkout]:
        """The hosted checkout of a payment; `checkout_token` authorises the customer's browser.
        `issue` numbers the payment's links (0 first, +1 per reissue): a new one is a new session."""
        ...

    def parse_webhook(self, body: bytes, headers: Mapping[str, str], now: datetime) -> ProviderEvent:
        """Verify and parse a webhook; raises InvalidWebhook unless the provider provably sent it just now."""
        ...

    async def refund(self, provider_reference: str, amount: Money, *, idempotency_key: str) -> str:
        """Give `amount` of a captured charge back; the same key never refunds twice. Returns the refund id."""
        ...


# --- payments ------------------------------------------------------------------------------------


class DuplicatePayment(Exception):
    pass


@dataclass(frozen=True)
class PaymentRecord:
    """A payment as the store keeps it: the aggregate, the order flow's correlation id (events
    caused by a webhook continue it), the hash of the current checkout token, and the ids of the
    messages and webhooks applied to it (read-only here: the store appends them)."""

    payment: Payment
    correlation_id: str | None = None
    checkout_token_hash: str | None = None
    applied_events: tuple[str, ...] = ()


StoredPayment: TypeAlias = Loaded[PaymentRecord]


class PaymentRepository(CommandRepository[PaymentRecord], Protocol):
    async def add(self, record: PaymentRecord, events: Sequence[Envelope[Any]]) -> StoredPayment:
        """Store a new payment; raises DuplicatePayment if the order already has one in that method."""
        ...

    async def find_by_id_any_shop(self, payment_id: str) -> StoredPayment | None:
        """For callers that know only the payment id (the provider's webhook and hosted page)."""
        ...

    async def find_for_order(self, shop_id: str, order_id: str, method: str) -> StoredPayment | None: ...

    async def list(
        self, shop_id: str, *, order_id: str | None, cursor: str | None, limit: int
    ) -> list[StoredPayment]: ...


class DeliveryLog(Protocol):
    """The deliveries seen per order, kept even before the cash-on-delivery payment exists."""

    async def record(self, shop_id: str, order_id: str, shipment_id: str, shipments_in_order: int) -> None: ...

    async def of_order(self, shop_id: str, order_id: str) -> tuple[frozenset[str], int] | None: ...


class ProviderEventLog(Protocol):
    async def record(self, shop_id: str, provider: str, event: ProviderEvent, received_at: datetime) -> bool:
        """Remember a provider event id; False when it was seen before (unique index)."""
        ...


# --- order accounts, settings, gift cards ------------------------------------------------------


@dataclass(frozen=True)
class AuditEntry:
    """One line of an aggregate's `history`: who did what, when."""

    at: datetime
    action: str
    actor: Actor | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


StoredAccount: TypeAlias = Loaded[OrderAccount]
AUDIT = "audit"
"""The key of `Decision.meta` under which an account's change carries its `AuditEntry` (its history line)."""


class AccountRepository(CommandRepository[OrderAccount], Protocol):
    async def due_for_reminder(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        """(shop_id, order_id) of accounts whose next reminder is due, across shops, oldest first."""
        ...


class PendingTotals(Protocol):
    """An order's newest total from its edits, kept while the order has no account yet: the account
    opens with the total of the payment request, which an edit made meanwhile has overtaken."""

    async def remember(self, shop_id: str, order_id: str, total: Money, as_of: datetime) -> None: ...

    async def newer_than(self, shop_id: str, order_id: str, as_of: datetime) -> Money | None:
        """The remembered total if it is newer than `as_of`, else None."""
        ...


class PaymentConfigRepository(Protocol):
    async def get(self, shop_id: str, currency: str) -> ShopPaymentConfig | None: ...

    async def put(self, config: ShopPaymentConfig, *, audit: AuditEntry) -> int:
        """Replace the config (every change kept in its history); returns the new version."""
        ...

    async def delete(self, shop_id: str, currency: str) -> bool: ...

    async def list(self, shop_id: str) -> list[ShopPaymentConfig]: ...


class GiftCardRepository(Protocol):
    async def create(self, card: GiftCard) -> bool:
        """Store a new card with its first movement; False when the code exists (a replayed issue)."""
        ...

    async def get(self, shop_id: str, code: str) -> GiftCard | None: ...

    async def move(self, shop_id: str, code: str, movement: GiftCardMovement) -> GiftCard | None:
        """Add `movement.amount` (negative: take) once per movement key, never below zero, in one
        conditional update. None when the balance does not cover a debit, the card is unknown or
        in another currency, or the key was applied before (the caller tells these apart)."""
        ...


# --- bank-transfer documents ---------------------------------------------------------------------


@dataclass(frozen=True)
class OrderForDocuments:
    """The order as the order service announced it: what an invoice prints."""

    number: int
    customer_name: str
    customer_email: str | None
    address: str | None
    lines: tuple[PricedLine, ...]
    delivery: Money | None
    grand_total: Money


class DocumentOrders(Protocol):
    async def get(self, shop_id: str, order_id: str) -> OrderForDocuments | None: ...
