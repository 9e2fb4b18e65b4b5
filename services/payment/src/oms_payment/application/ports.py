"""What the application needs from the outside: a payment provider and a payment store."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from oms_contracts import Envelope, Money

from oms_payment.domain import CardSummary, Payment


class InvalidWebhook(Exception):
    """A webhook that is not provably from the provider (bad or stale signature, malformed body)."""


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


class PaymentRepository(Protocol):
    async def add(
        self,
        payment: Payment,
        *,
        checkout_token_hash: str | None,
        correlation_id: str,
        events: Sequence[Envelope[Any]],
    ) -> None:
        """Store a new payment; raises DuplicatePayment if the order already has one in that method."""
        ...

    async def save(
        self,
        payment: Payment,
        expected_version: int,
        *,
        events: Sequence[Envelope[Any]],
        applied_event_id: str | None = None,
        checkout_token_hash: str | None = None,
    ) -> int:
        """Store a transition atomically with its events (and a reissued link's token hash);
        raises ConcurrencyError or AlreadyApplied."""
        ...

    async def get(self, shop_id: str, payment_id: str) -> StoredPayment | None: ...

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


class DuplicatePayment(Exception):
    pass


@dataclass(frozen=True)
class StoredPayment:
    payment: Payment
    version: int
    correlation_id: str | None
    checkout_token_hash: str | None
    applied_events: tuple[str, ...] = ()
