"""In-memory fakes of the payment application's ports, and the application wired over them.

They behave like the Mongo adapters where it matters: a save at a stale version raises
ConcurrencyError, a replayed message id AlreadyApplied (both from oms_testing's InMemoryRepository),
one payment per (order, method), a gift card's balance never below zero and each movement once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from oms_contracts import Envelope, Money
from oms_payment.adapters.sandbox.provider import SandboxProvider
from oms_payment.application.card_links import CardLinks
from oms_payment.application.checkouts import CardProviders, HostedCheckouts
from oms_payment.application.configs import PaymentConfigs
from oms_payment.application.gift_cards import GiftCards
from oms_payment.application.ledger import OrderAccounts
from oms_payment.application.payments import Payments
from oms_payment.application.ports import (
    AUDIT,
    AuditEntry,
    Checkout,
    DuplicatePayment,
    PaymentProvider,
    PaymentRecord,
    ProviderEvent,
    StoredPayment,
)
from oms_payment.application.refunds import Refunds
from oms_payment.application.reminders import Reminders
from oms_payment.application.webhooks import ProviderWebhooks
from oms_payment.domain.account import OrderAccount
from oms_payment.domain.gift_card import GiftCard, GiftCardMovement
from oms_payment.domain.shop_config import ShopPaymentConfig
from oms_runtime.clock import FixedClock
from oms_runtime.commands import Decision, Loaded, RetryPolicy
from oms_runtime.events import EventFactory
from oms_testing.fakes import InMemoryRepository


class FakePayments(InMemoryRepository[PaymentRecord]):
    def __init__(self) -> None:
        super().__init__(key_of=lambda r: (r.payment.shop_id, r.payment.payment_id), name="payments")

    async def save(
        self, loaded: Loaded[PaymentRecord], decision: Decision[PaymentRecord], applied_event_id: str | None
    ) -> Loaded[PaymentRecord]:
        saved = await super().save(loaded, decision, applied_event_id)
        key = self.key_of(saved.state)
        # The store keeps the applied ids on the document: the record read back carries them.
        stored = Loaded(replace(saved.state, applied_events=tuple(self.applied.get(key, ()))), saved.version)
        self.stored[key] = stored
        return stored

    async def add(self, record: PaymentRecord, events: Sequence[Envelope[Any]]) -> StoredPayment:
        p = record.payment
        if await self.find_for_order(p.shop_id, p.order_id, p.method) is not None:
            raise DuplicatePayment(p.order_id)
        self.events.extend(events)
        return self.put(record)

    async def find_by_id_any_shop(self, payment_id: str) -> StoredPayment | None:
        return next((s for (_, pid), s in self.stored.items() if pid == payment_id), None)

    async def find_for_order(self, shop_id: str, order_id: str, method: str) -> StoredPayment | None:
        for stored in self.stored.values():
            p = stored.state.payment
            if (p.shop_id, p.order_id, p.method) == (shop_id, order_id, method):
                return stored
        return None

    async def list(self, shop_id: str, *, order_id: str | None, cursor: str | None, limit: int) -> list[StoredPayment]:
        rows = [
            s
            for (shop, pid), s in self.stored.items()
            if shop == shop_id
            and (order_id is None or s.state.payment.order_id == order_id)
            and (cursor is None or pid < cursor)
        ]
        return sorted(rows, key=lambda s: s.state.payment.payment_id, reverse=True)[:limit]

    def payment(self, payment_id: str) -> PaymentRecord:
        found = next(s for (_, pid), s in self.stored.items() if pid == payment_id)
        return found.state


class FakeAccounts(InMemoryRepository[OrderAccount]):
    def __init__(self) -> None:
        super().__init__(key_of=lambda a: (a.shop_id, a.order_id), name="order_accounts")
        self.history: list[AuditEntry] = []

    async def save(
        self, loaded: Loaded[OrderAccount], decision: Decision[OrderAccount], applied_event_id: str | None
    ) -> Loaded[OrderAccount]:
        saved = await super().save(loaded, decision, applied_event_id)
        audit = decision.meta.get(AUDIT)
        if isinstance(audit, AuditEntry):
            self.history.append(audit)
        return saved

    async def due_for_reminder(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        due = [
            (at, key)
            for key, loaded in self.stored.items()
            if (at := loaded.state.next_reminder_at()) is not None and at <= now
        ]
        return [key for _, key in sorted(due)[:limit]]


class FakeDeliveries:
    def __init__(self) -> None:
        self.orders: dict[tuple[str, str], tuple[frozenset[str], int]] = {}

    async def record(self, shop_id: str, order_id: str, shipment_id: str, shipments_in_order: int) -> None:
        seen, n = self.orders.get((shop_id, order_id), (frozenset(), 0))
        self.orders[(shop_id, order_id)] = (seen | {shipment_id}, max(n, shipments_in_order))

    async def of_order(self, shop_id: str, order_id: str) -> tuple[frozenset[str], int] | None:
        return self.orders.get((shop_id, order_id))


class FakeProviderEvents:
    def __init__(self) -> None:
        self.seen: set[tuple[str, str, str]] = set()

    async def record(self, shop_id: str, provider: str, event: ProviderEvent, received_at: datetime) -> bool:
        key = (shop_id, provider, event.event_id)
        fresh = key not in self.seen
        self.seen.add(key)
        return fresh


class FakeConfigs:
    def __init__(self) -> None:
        self.configs: dict[tuple[str, str], ShopPaymentConfig] = {}
        self.versions: dict[tuple[str, str], int] = {}
        self.history: list[AuditEntry] = []

    async def get(self, shop_id: str, currency: str) -> ShopPaymentConfig | None:
        return self.configs.get((shop_id, currency))

    async def put(self, config: ShopPaymentConfig, *, audit: AuditEntry) -> int:
        key = (config.shop_id, config.currency)
        self.configs[key] = config
        self.versions[key] = self.versions.get(key, 0) + 1
        self.history.append(audit)
        return self.versions[key]

    async def delete(self, shop_id: str, currency: str) -> bool:
        return self.configs.pop((shop_id, currency), None) is not None

    async def list(self, shop_id: str) -> list[ShopPaymentConfig]:
        return sorted((c for (s, _), c in self.configs.items() if s == shop_id), key=lambda c: c.currency)


class FakeGiftCards:
    """Like the conditional `$inc`: a movement applied once, never taking the balance below zero."""

    def __init__(self) -> None:
        self.cards: dict[str, GiftCard] = {}

    async def create(self, card: GiftCard) -> bool:
        if card.code in self.cards:
            return False
        self.cards[card.code] = card
        return True

    async def get(self, shop_id: str, code: str) -> GiftCard | None:
        card = self.cards.get(code)
        return card if card is not None and card.shop_id == shop_id else None

    async def move(self, shop_id: str, code: str, movement: GiftCardMovement) -> GiftCard | None:
        card = await self.get(shop_id, code)
        if card is None or card.currency != movement.amount.currency or card.movement(movement.key) is not None:
            return None
        balance = card.balance + movement.amount
        if balance.amount < 0:
            return None
        moved = replace(card, balance=balance, movements=(*card.movements, movement))
        self.cards[code] = moved
        return moved


@dataclass
class RecordingProvider:
    """A card provider that records checkouts and refunds (the sandbox's webhooks are used as they are)."""

    name: str = "fake"
    checkouts: list[tuple[str, Money | None, int]] = field(default_factory=list)
    refunds: list[tuple[str, Money, str]] = field(default_factory=list)

    def create_checkout(
        self, payment_id: str, checkout_token: str, *, amount: Money | None = None, issue: int = 0
    ) -> Checkout:
        self.checkouts.append((payment_id, amount, issue))
        return Checkout(url=f"https://pay.example/{payment_id}/{issue}?token={checkout_token}")

    def parse_webhook(self, body: bytes, headers: Mapping[str, str], now: datetime) -> ProviderEvent:
        raise NotImplementedError

    async def refund(self, provider_reference: str, amount: Money, *, idempotency_key: str) -> str:
        self.refunds.append((provider_reference, amount, idempotency_key))
        return f"re_{len(self.refunds)}"


@dataclass
class App:
    """The payment application over fakes, wired as bootstrap.py wires it over Mongo."""

    clock: FixedClock
    sandbox: SandboxProvider
    payment_store: FakePayments
    account_store: FakeAccounts
    config_store: FakeConfigs
    gift_card_store: FakeGiftCards
    payments: Payments
    accounts: OrderAccounts
    refunds: Refunds
    reminders: Reminders
    configs: PaymentConfigs
    gift_cards: GiftCards
    card_links: CardLinks
    webhooks: ProviderWebhooks
    checkouts: HostedCheckouts

    def events(self) -> list[Envelope[Any]]:
        """Everything the service emitted, in order of saving (payments first, then accounts)."""
        return [*self.payment_store.events, *self.account_store.events]


class FakePendingTotals:
    def __init__(self) -> None:
        self.totals: dict[tuple[str, str], tuple[Money, datetime]] = {}

    async def remember(self, shop_id: str, order_id: str, total: Money, as_of: datetime) -> None:
        known = self.totals.get((shop_id, order_id))
        if known is None or known[1] < as_of:
            self.totals[(shop_id, order_id)] = (total, as_of)

    async def newer_than(self, shop_id: str, order_id: str, as_of: datetime) -> Money | None:
        known = self.totals.get((shop_id, order_id))
        return known[0] if known is not None and known[1] > as_of else None


def build(now: datetime, *, extra: Mapping[str, PaymentProvider] | None = None) -> App:
    clock = FixedClock(now)
    sandbox = SandboxProvider(public_checkout_base_url="http://gw", webhook_secret="s", tolerance=timedelta(minutes=5))
    providers = CardProviders({"sandbox": sandbox, **(extra or {})}, default="sandbox")
    events = EventFactory("payment", clock)
    policy = RetryPolicy(attempts=5)
    payment_store, account_store = FakePayments(), FakeAccounts()
    config_store, gift_card_store = FakeConfigs(), FakeGiftCards()
    configs = PaymentConfigs(configs=config_store, clock=clock)
    gift_cards = GiftCards(gift_cards=gift_card_store, clock=clock)
    pending_totals = FakePendingTotals()
    accounts = OrderAccounts(
        accounts=account_store,
        pending_totals=pending_totals,
        gift_cards=gift_cards,
        events=events,
        clock=clock,
        policy=policy,
    )
    return App(
        clock=clock,
        sandbox=sandbox,
        payment_store=payment_store,
        account_store=account_store,
        config_store=config_store,
        gift_card_store=gift_card_store,
        payments=Payments(
            payments=payment_store,
            deliveries=FakeDeliveries(),
            providers=providers,
            configs=configs,
            gift_cards=gift_cards,
            accounts=accounts,
            events=events,
            clock=clock,
            policy=policy,
        ),
        accounts=accounts,
        refunds=Refunds(
            accounts=account_store,
            gift_cards=gift_cards,
            providers=providers,
            events=events,
            clock=clock,
            policy=policy,
        ),
        reminders=Reminders(accounts=account_store, events=events, clock=clock, policy=policy),
        configs=configs,
        gift_cards=gift_cards,
        card_links=CardLinks(
            payments=payment_store, accounts=accounts, providers=providers, events=events, clock=clock, policy=policy
        ),
        webhooks=ProviderWebhooks(
            payments=payment_store,
            provider_events=FakeProviderEvents(),
            providers=providers,
            events=events,
            clock=clock,
            policy=policy,
        ),
        checkouts=HostedCheckouts(payments=payment_store),
    )


def account(order_id: str, total: str, *, shop_id: str, at: datetime, **kw: Any) -> OrderAccount:
    money = Money.of(total, kw.pop("currency", "RUB"))
    return OrderAccount(
        order_id=order_id,
        shop_id=shop_id,
        order_number=kw.pop("order_number", 1),
        customer_email="a@example.com",
        total=money,
        method=kw.pop("method", "bank_transfer"),
        created_at=at,
        **kw,
    )
