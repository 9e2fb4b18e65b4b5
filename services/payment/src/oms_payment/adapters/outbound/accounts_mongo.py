"""MongoDB persistence of order accounts, shop payment configs and gift cards. ACCOUNT_INDEXES live here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from oms_contracts import Envelope, Money
from oms_contracts.money import minor_units
from oms_runtime.mongo import Document, IndexSpec
from oms_runtime.store import AggregateStore, outbox_indexes
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from oms_payment.domain.account import AccountPayment, AccountRefund, Allocation, OrderAccount, PrepaymentRule
from oms_payment.domain.shop_config import BankRequisites, ShopPaymentConfig

ACCOUNTS = "order_accounts"
PAYMENT_CONFIGS = "payment_configs"
GIFT_CARDS = "gift_cards"

ACCOUNT_INDEXES: list[IndexSpec] = [
    IndexSpec(ACCOUNTS, [("shop_id", 1), ("_id", -1)]),
    IndexSpec(ACCOUNTS, [("shop_id", 1), ("status", 1), ("_id", -1)]),
    # The reminder loop's due-time query runs across shops (one range scan for the whole cluster),
    # so this one index cannot start with shop_id; settling an order unsets next_reminder_at.
    IndexSpec(ACCOUNTS, [("next_reminder_at", 1)], name="account_reminders_due"),
    *outbox_indexes(ACCOUNTS),
    IndexSpec(PAYMENT_CONFIGS, [("shop_id", 1), ("currency", 1)], unique=True),
    IndexSpec(GIFT_CARDS, [("shop_id", 1), ("_id", -1)]),
]


def money_doc(money: Money | None) -> Document | None:
    return money.model_dump(mode="json") if money is not None else None


def money_of(doc: Document | None) -> Money | None:
    return Money(amount=Decimal(doc["amount"]), currency=doc["currency"]) if doc else None


def to_minor(money: Money) -> int:
    return int(money.amount.scaleb(minor_units(money.currency)))


def from_minor(value: int, currency: str) -> Money:
    return Money(amount=Decimal(value).scaleb(-minor_units(currency)), currency=currency)


# --- order accounts ------------------------------------------------------------------------------


def _payment_doc(p: AccountPayment) -> Document:
    return {
        "payment_id": p.payment_id,
        "method": p.method,
        "amount": money_doc(p.amount),
        "at": p.at,
        "reference": p.reference,
        "actor": p.actor,
        "provider": p.provider,
        "provider_reference": p.provider_reference,
    }


def _refund_doc(r: AccountRefund) -> Document:
    return {
        "refund_id": r.refund_id,
        "refund_request_id": r.refund_request_id,
        "amount": money_doc(r.amount),
        "destination": r.destination,
        "reason": r.reason,
        "at": r.at,
        "gift_card_code": r.gift_card_code,
        "return_id": r.return_id,
        "actor": r.actor,
        "allocations": [
            {"payment_id": a.payment_id, "amount": money_doc(a.amount), "provider_refund_id": a.provider_refund_id}
            for a in r.allocations
        ],
    }


def account_fields(account: OrderAccount) -> Document:
    """Entries and the position derived from them: written together, so they never disagree."""
    position = account.position()
    return {
        "total": money_doc(account.total),  # staff may change the order after payment was requested
        "payments": [_payment_doc(p) for p in account.payments],
        "refunds": [_refund_doc(r) for r in account.refunds],
        "status": position.status,
        "paid": money_doc(position.paid),
        "refunded": money_doc(position.refunded),
        "due": money_doc(position.due),
        "prepayment_met": position.prepayment_met,
        "reminders_sent": account.reminders_sent,
        "next_reminder_at": account.next_reminder_at(),
    }


def account_to_doc(account: OrderAccount) -> Document:
    return {
        "_id": account.order_id,
        "shop_id": account.shop_id,
        "order_number": account.order_number,
        "customer_email": account.customer_email,
        "total": money_doc(account.total),
        "method": account.method,
        "created_at": account.created_at,
        "prepayment_required": money_doc(account.prepayment_required),
        "reminder_cadence_hours": list(account.reminder_cadence_hours),
        "checkout_url": account.checkout_url,
        **account_fields(account),
    }


def account_from_doc(doc: Document) -> OrderAccount:
    return OrderAccount(
        order_id=doc["_id"],
        shop_id=doc["shop_id"],
        order_number=doc["order_number"],
        customer_email=doc["customer_email"],
        total=money_of(doc["total"]),  # type: ignore[arg-type]
        method=doc["method"],
        created_at=doc["created_at"],
        prepayment_required=money_of(doc.get("prepayment_required")),
        payments=tuple(
            AccountPayment(
                payment_id=p["payment_id"],
                method=p["method"],
                amount=money_of(p["amount"]),  # type: ignore[arg-type]
                at=p["at"],
                reference=p.get("reference"),
                actor=p.get("actor"),
                provider=p.get("provider"),
                provider_reference=p.get("provider_reference"),
            )
            for p in doc.get("payments") or ()
        ),
        refunds=tuple(
            AccountRefund(
                refund_id=r["refund_id"],
                refund_request_id=r["refund_request_id"],
                amount=money_of(r["amount"]),  # type: ignore[arg-type]
                destination=r["destination"],
                reason=r["reason"],
                at=r["at"],
                gift_card_code=r.get("gift_card_code"),
                return_id=r.get("return_id"),
                actor=r.get("actor"),
                allocations=tuple(
                    Allocation(a["payment_id"], money_of(a["amount"]), a.get("provider_refund_id"))  # type: ignore[arg-type]
                    for a in r.get("allocations") or ()
                ),
            )
            for r in doc.get("refunds") or ()
        ),
        reminder_cadence_hours=tuple(doc.get("reminder_cadence_hours") or ()),
        reminders_sent=doc.get("reminders_sent", 0),
        checkout_url=doc.get("checkout_url"),
    )


class MongoAccountRepository:
    def __init__(self, store: AggregateStore) -> None:
        self.store = store

    async def create(self, account: OrderAccount, events: Sequence[Envelope[Any]]) -> bool:
        """False when the order already has its account (a replayed RequestPayment)."""
        try:
            await self.store.create(account_to_doc(account), events=events)
        except DuplicateKeyError:
            return False
        return True

    async def get(self, shop_id: str, order_id: str) -> tuple[OrderAccount, int] | None:
        doc = await self.store.get(shop_id, order_id)
        return (account_from_doc(doc), int(doc["version"])) if doc else None

    async def save(
        self,
        account: OrderAccount,
        version: int,
        *,
        events: Sequence[Envelope[Any]],
        audit: Document | None = None,
        applied_event_id: str | None = None,
    ) -> None:
        await self.store.update(
            account.shop_id,
            account.order_id,
            version,
            set_fields=account_fields(account),
            push={"history": [audit]} if audit else None,
            events=events,
            applied_event_id=applied_event_id,
        )

    async def due_for_reminder(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        found = (
            self.store.collection.find({"next_reminder_at": {"$lte": now}}, {"shop_id": 1})
            .sort("next_reminder_at", 1)
            .limit(limit)
        )
        return [(doc["shop_id"], doc["_id"]) async for doc in found]


# --- shop payment configs ------------------------------------------------------------------------


def config_to_doc(config: ShopPaymentConfig) -> Document:
    bank = config.bank
    return {
        "shop_id": config.shop_id,
        "currency": config.currency,
        "methods": list(config.methods),
        "card_provider": config.card_provider,
        "prepayment": (
            {"kind": config.prepayment.kind, "value": str(config.prepayment.value)} if config.prepayment else None
        ),
        "prepayment_method": config.prepayment_method,
        "bank": dict(bank.__dict__) if bank else None,
        "reminder_cadence_hours": list(config.reminder_cadence_hours),
        "vat_rate": str(config.vat_rate) if config.vat_rate is not None else None,
    }


def config_from_doc(doc: Document) -> ShopPaymentConfig:
    pre = doc.get("prepayment")
    return ShopPaymentConfig(
        shop_id=doc["shop_id"],
        currency=doc["currency"],
        methods=tuple(doc["methods"]),
        card_provider=doc.get("card_provider", "sandbox"),
        prepayment=PrepaymentRule(kind=pre["kind"], value=Decimal(pre["value"])) if pre else None,
        prepayment_method=doc.get("prepayment_method", "card"),
        bank=BankRequisites(**doc["bank"]) if doc.get("bank") else None,
        reminder_cadence_hours=tuple(doc.get("reminder_cadence_hours") or ()),
        vat_rate=Decimal(doc["vat_rate"]) if doc.get("vat_rate") is not None else None,
    )


class MongoPaymentConfigRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db[PAYMENT_CONFIGS]

    async def get(self, shop_id: str, currency: str) -> ShopPaymentConfig | None:
        doc = await self.collection.find_one({"shop_id": shop_id, "currency": currency})
        return config_from_doc(doc) if doc else None

    async def put(self, config: ShopPaymentConfig, *, audit: Document) -> int:
        """Replace the config; every change is kept in its history. Returns the new version."""
        doc = await self.collection.find_one_and_update(
            {"shop_id": config.shop_id, "currency": config.currency},
            {"$set": config_to_doc(config), "$inc": {"version": 1}, "$push": {"history": audit}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        assert doc is not None  # upserted
        return int(doc["version"])

    async def delete(self, shop_id: str, currency: str) -> bool:
        result = await self.collection.delete_one({"shop_id": shop_id, "currency": currency})
        return result.deleted_count == 1

    async def list(self, shop_id: str) -> list[ShopPaymentConfig]:
        found = self.collection.find({"shop_id": shop_id}).sort("currency", 1).limit(200)
        return [config_from_doc(doc) async for doc in found]


# --- gift cards ----------------------------------------------------------------------------------


class MongoGiftCardRepository:
    """Balance in minor units so a conditional `$inc` keeps it from ever going negative."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db[GIFT_CARDS]

    async def issue(self, shop_id: str, code: str, amount: Money, movement: Document) -> bool:
        """False when the code exists (an issue replayed under the same code)."""
        try:
            await self.collection.insert_one(
                {
                    "_id": code,
                    "shop_id": shop_id,
                    "currency": amount.currency,
                    "balance_minor": to_minor(amount),
                    "created_at": movement["at"],
                    "movements": [movement],
                }
            )
        except DuplicateKeyError:
            return False
        return True

    async def get(self, shop_id: str, code: str) -> Document | None:
        doc = await self.collection.find_one({"_id": code})
        return doc if doc is not None and doc.get("shop_id") == shop_id else None

    async def move(self, shop_id: str, code: str, delta: Money, movement: Document) -> Document | None:
        """Add (credit) or take (debit, delta < 0) money, once per movement key, never below zero.

        Returns the card after the move, or None when the balance does not cover a debit, the
        card is unknown, or the movement key was already applied (the caller tells these apart).
        """
        minor = to_minor(delta)
        query: Document = {
            "_id": code,
            "shop_id": shop_id,
            "currency": delta.currency,
            "movements.key": {"$ne": movement["key"]},
        }
        if minor < 0:
            query["balance_minor"] = {"$gte": -minor}
        return await self.collection.find_one_and_update(
            query,
            {"$inc": {"balance_minor": minor}, "$push": {"movements": movement}},
            return_document=ReturnDocument.AFTER,
        )
