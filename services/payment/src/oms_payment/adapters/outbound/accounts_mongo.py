"""MongoDB persistence of order accounts (the entries, the derived position, the outbox), with their indexes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from oms_contracts import Money
from oms_runtime.coalesce import ASKS_PER_READ, Coalescer
from oms_runtime.commands import Decision, Loaded
from oms_runtime.mongo import Document, IndexSpec, upsert_newer
from oms_runtime.store import AggregateStore, DocumentRepository, outbox_indexes
from pymongo.asynchronous.collection import AsyncCollection

from oms_payment.adapters.outbound.fields_mongo import (
    audit_doc,
    money_doc,
    money_of,
    optional_money_doc,
    optional_money_of,
)
from oms_payment.application.ports import AUDIT, AuditEntry
from oms_payment.domain.account import AccountPayment, AccountRefund, Allocation, OrderAccount

ACCOUNTS = "order_accounts"

ACCOUNT_INDEXES: list[IndexSpec] = [
    IndexSpec(ACCOUNTS, [("shop_id", 1), ("_id", -1)]),
    IndexSpec(ACCOUNTS, [("shop_id", 1), ("status", 1), ("_id", -1)]),
    # The reminder loop's due-time query runs across shops (one range scan for the whole cluster),
    # so this one index cannot start with shop_id; settling an order unsets next_reminder_at.
    IndexSpec(ACCOUNTS, [("next_reminder_at", 1)], name="account_reminders_due"),
    *outbox_indexes(ACCOUNTS),
]


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
        "prepayment_required": optional_money_doc(account.prepayment_required),
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
        total=money_of(doc["total"]),
        method=doc["method"],
        created_at=doc["created_at"],
        prepayment_required=optional_money_of(doc.get("prepayment_required")),
        payments=tuple(
            AccountPayment(
                payment_id=p["payment_id"],
                method=p["method"],
                amount=money_of(p["amount"]),
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
                amount=money_of(r["amount"]),
                destination=r["destination"],
                reason=r["reason"],
                at=r["at"],
                gift_card_code=r.get("gift_card_code"),
                return_id=r.get("return_id"),
                actor=r.get("actor"),
                allocations=tuple(
                    Allocation(a["payment_id"], money_of(a["amount"]), a.get("provider_refund_id"))
                    for a in r.get("allocations") or ()
                ),
            )
            for r in doc.get("refunds") or ()
        ),
        reminder_cadence_hours=tuple(doc.get("reminder_cadence_hours") or ()),
        reminders_sent=doc.get("reminders_sent", 0),
        checkout_url=doc.get("checkout_url"),
    )


class MongoAccountRepository(DocumentRepository[OrderAccount]):
    """Accounts for the command loop: the entries and the derived position in one conditional update,
    with the decision's audit line pushed onto `history`."""

    def __init__(self, store: AggregateStore) -> None:
        super().__init__(store, to_document=account_to_doc, from_document=account_from_doc)

    def update_of(self, loaded: Loaded[OrderAccount], decision: Decision[OrderAccount]) -> dict[str, Any]:
        audit = decision.meta.get(AUDIT)
        return {
            "set_fields": account_fields(decision.state),
            "push": {"history": [audit_doc(audit)]} if isinstance(audit, AuditEntry) else None,
        }

    async def due_for_reminder(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        found = (
            self.store.collection.find({"next_reminder_at": {"$lte": now}}, {"shop_id": 1})
            .sort("next_reminder_at", 1)
            .limit(limit)
        )
        return [(doc["shop_id"], doc["_id"]) async for doc in found]


PENDING_TOTALS = "pending_totals"


class MongoPendingTotals:
    """An order's newest total from its edits, while it has no account (by `_id` only: no index)."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection
        # Read by every account that opens: the concurrent handlers of a consumer batch share one read.
        self._reads = Coalescer(self._find_many, limit=ASKS_PER_READ)

    async def remember(self, shop_id: str, order_id: str, total: Money, as_of: datetime) -> None:
        key = {"_id": f"{shop_id}:{order_id}", "shop_id": shop_id}
        await upsert_newer(self.collection, key, {"total": total.model_dump(mode="json")}, as_of)

    async def newer_than(self, shop_id: str, order_id: str, as_of: datetime) -> Money | None:
        doc = await self._reads((shop_id, order_id))
        if doc is None or doc["as_of"] <= as_of:  # the client reads times zone-aware
            return None
        return Money.model_validate(doc["total"])

    async def _find_many(self, asks: list[tuple[str, str]]) -> list[Document | None]:
        ids = list(dict.fromkeys(f"{shop_id}:{order_id}" for shop_id, order_id in asks))
        found = {doc["_id"]: doc async for doc in self.collection.find({"_id": {"$in": ids}})}
        answers: list[Document | None] = []
        for shop_id, order_id in asks:
            doc = found.get(f"{shop_id}:{order_id}")
            answers.append(doc if doc is not None and doc.get("shop_id") == shop_id else None)
        return answers
