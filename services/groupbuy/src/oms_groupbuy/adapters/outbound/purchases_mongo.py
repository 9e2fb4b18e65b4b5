"""Joint purchases in MongoDB: one document per purchase (participants, items, rows, news inside).

Amounts are strings (never floats). Besides the purchase itself the document carries what the
queries need and the domain never reads: `partner_ids` (a partner's purchases), `next_deadline`
(the earliest payment deadline of a participant who paid nothing, for the release loop).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from oms_contracts import Money
from oms_contracts.messages.groupbuy import PurchaseState
from oms_runtime.mongo import Document, IndexSpec, find_after
from oms_runtime.store import AggregateStore, DocumentRepository, outbox_indexes
from pymongo import ASCENDING

from oms_groupbuy.application.ports import PurchaseKey
from oms_groupbuy.domain.purchase import (
    Item,
    JointPurchase,
    News,
    Offer,
    Option,
    Participant,
    PartnerRef,
    ResaleOffer,
    Row,
    RowSpec,
)
from oms_groupbuy.domain.reminders import next_reminder_at

PURCHASES = "purchases"

PURCHASE_INDEXES: list[IndexSpec] = [
    IndexSpec(PURCHASES, [("shop_id", 1), ("state", 1), ("_id", 1)]),
    IndexSpec(PURCHASES, [("shop_id", 1), ("partner_ids", 1), ("_id", 1)]),
    # A partner's earnings report over a period (by closing date).
    IndexSpec(PURCHASES, [("shop_id", 1), ("partner_ids", 1), ("closes_at", 1)]),
    # The intake finds the collecting purchase that offers a product.
    IndexSpec(PURCHASES, [("shop_id", 1), ("state", 1), ("skus", 1)]),
    # Cluster-wide loops (documented exception to shop_id first): closing dates and payment deadlines.
    # A payment event of a participant's order finds its purchase.
    IndexSpec(PURCHASES, [("shop_id", 1), ("order_ids", 1)]),
    IndexSpec(PURCHASES, [("state", 1), ("closes_at", 1)], name="purchases_due_to_stop"),
    IndexSpec(PURCHASES, [("state", 1), ("next_deadline", 1)], name="purchases_payment_overdue"),
    IndexSpec(PURCHASES, [("state", 1), ("next_reminder_at", 1)], name="purchases_reminders_due"),
    *outbox_indexes(PURCHASES),
]


def _dec(value: Decimal) -> str:
    return str(value)


def purchase_to_doc(p: JointPurchase) -> Document:
    deadlines = [
        x.payment_deadline
        for x in p.participants
        if x.payment_deadline is not None
        and not x.released
        and x.paid == 0
        and any(i.status == "active" for i in p.items_of(x.participant_id))
    ]
    return {
        "_id": p.purchase_id,
        "shop_id": p.shop_id,
        "title": p.title,
        "supplier": p.supplier,
        "closes_at": p.closes_at,
        "currencies": list(p.currencies),
        "offers": [
            {
                "sku": o.sku,
                "name": o.name,
                "prices": {c: _dec(v) for c, v in o.prices.items()},
                "weight_grams": o.weight_grams,
                "min_quantity": o.min_quantity,
                "unit_cost": None
                if o.unit_cost is None
                else {"amount": _dec(o.unit_cost.amount), "currency": o.unit_cost.currency},
            }
            for o in p.offers
        ],
        "created_at": p.created_at,
        "state": p.state,
        "state_changed_at": p.state_changed_at,
        "row_specs": [{"spec_id": s.spec_id, "name": s.name, "positions": list(s.positions)} for s in p.row_specs],
        "options": [
            {"option_id": o.option_id, "kind": o.kind, "currency": o.currency, "name": o.name, "price": _dec(o.price)}
            for o in p.options
        ],
        "fee_percent": _dec(p.fee_percent),
        "minimum_totals": {c: _dec(v) for c, v in p.minimum_totals.items()},
        "transport": {c: _dec(v) for c, v in p.transport.items()},
        "transport_share": p.transport_share,
        "payment_days": p.payment_days,
        "partner_percents": {k: _dec(v) for k, v in p.partner_percents.items()},
        "participants": [_participant_doc(x) for x in p.participants],
        "items": [
            {
                "item_id": i.item_id,
                "participant_id": i.participant_id,
                "sku": i.sku,
                "quantity": i.quantity,
                "unit_price": _dec(i.unit_price),
                "seq": i.seq,
                "status": i.status,
                "added_at": i.added_at,
                "row": list(i.row) if i.row else None,
            }
            for i in p.items
        ],
        "rows": [{"spec_id": r.spec_id, "number": r.number, "slots": list(r.slots)} for r in p.rows],
        "news": [
            {
                "news_id": n.news_id,
                "text": n.text,
                "pinned": n.pinned,
                "published_at": n.published_at,
                "expires_at": n.expires_at,
            }
            for n in p.news
        ],
        "next_seq": p.next_seq,
        "supplier_id": p.supplier_id,
        "warehouse_id": p.warehouse_id,
        "reminder_hours": list(p.reminder_hours),
        "resale": [
            {
                "item_id": o.item_id,
                "sku": o.sku,
                "quantity": o.quantity,
                "from_participant_id": o.from_participant_id,
                "currency": o.currency,
                "price": _dec(o.price),
                "status": o.status,
                "buyer_name": o.buyer_name,
                "buyer_contact": o.buyer_contact,
                "sold_price": None if o.sold_price is None else _dec(o.sold_price),
                "decided_at": o.decided_at,
            }
            for o in p.resale
        ],
        # Query helpers, derived (the domain never reads them).
        "partner_ids": sorted({x.partner_id for x in p.participants if x.partner_id}),
        "skus": [o.sku for o in p.offers],
        "next_deadline": min(deadlines) if deadlines else None,
        "next_reminder_at": next_reminder_at(p),
        "order_ids": [x.order_id for x in p.participants if x.order_id],
    }


def _participant_doc(x: Participant) -> Document:
    return {
        "participant_id": x.participant_id,
        "name": x.name,
        "contact": x.contact,
        "currency": x.currency,
        "added_at": x.added_at,
        "partner": None
        if x.partner is None
        else {
            "partner_id": x.partner.partner_id,
            "kind": x.partner.kind,
            "percent": _dec(x.partner.percent),
            "name": x.partner.name,
        },
        "delivery_option": x.delivery_option,
        "payment_option": x.payment_option,
        "payment_deadline": x.payment_deadline,
        "paid": _dec(x.paid),
        "payment_refs": list(x.payment_refs),
        "released": x.released,
        "external_ref": x.external_ref,
        "email": x.email,
        "fingerprint": x.fingerprint,
        "order_id": x.order_id,
        "reminders_sent": x.reminders_sent,
        "handed_out_at": x.handed_out_at,
        "charges_sent": None if x.charges_sent is None else _dec(x.charges_sent),
        "charges_revision": x.charges_revision,
    }


def purchase_of(doc: Document) -> JointPurchase:
    return JointPurchase(
        purchase_id=doc["_id"],
        shop_id=doc["shop_id"],
        title=doc["title"],
        supplier=doc.get("supplier"),
        closes_at=doc["closes_at"],
        currencies=tuple(doc["currencies"]),
        offers=tuple(
            Offer(
                sku=o["sku"],
                name=o["name"],
                prices={c: Decimal(v) for c, v in o["prices"].items()},
                weight_grams=o.get("weight_grams", 0),
                min_quantity=o.get("min_quantity", 0),
                unit_cost=None
                if o.get("unit_cost") is None
                else Money(amount=Decimal(o["unit_cost"]["amount"]), currency=o["unit_cost"]["currency"]),
            )
            for o in doc["offers"]
        ),
        created_at=doc["created_at"],
        state=doc["state"],
        state_changed_at=doc.get("state_changed_at"),
        row_specs=tuple(RowSpec(s["spec_id"], s["name"], tuple(s["positions"])) for s in doc.get("row_specs", [])),
        options=tuple(
            Option(o["option_id"], o["kind"], o["currency"], o["name"], Decimal(o["price"]))
            for o in doc.get("options", [])
        ),
        fee_percent=Decimal(doc.get("fee_percent", "0")),
        minimum_totals={c: Decimal(v) for c, v in doc.get("minimum_totals", {}).items()},
        transport={c: Decimal(v) for c, v in doc.get("transport", {}).items()},
        transport_share=doc.get("transport_share", "sum"),
        payment_days=doc.get("payment_days", 3),
        partner_percents={k: Decimal(v) for k, v in doc.get("partner_percents", {}).items()},
        participants=tuple(_participant_of(x) for x in doc.get("participants", [])),
        items=tuple(
            Item(
                item_id=i["item_id"],
                participant_id=i["participant_id"],
                sku=i["sku"],
                quantity=i["quantity"],
                unit_price=Decimal(i["unit_price"]),
                seq=i["seq"],
                status=i["status"],
                added_at=i["added_at"],
                row=(i["row"][0], i["row"][1]) if i.get("row") else None,
            )
            for i in doc.get("items", [])
        ),
        rows=tuple(Row(r["spec_id"], r["number"], tuple(r["slots"])) for r in doc.get("rows", [])),
        news=tuple(
            News(n["news_id"], n["text"], n["pinned"], n["published_at"], n.get("expires_at"))
            for n in doc.get("news", [])
        ),
        next_seq=doc.get("next_seq", 1),
        supplier_id=doc.get("supplier_id"),
        warehouse_id=doc.get("warehouse_id"),
        reminder_hours=tuple(doc.get("reminder_hours", ())),
        resale=tuple(
            ResaleOffer(
                item_id=o["item_id"],
                sku=o["sku"],
                quantity=o["quantity"],
                from_participant_id=o["from_participant_id"],
                currency=o["currency"],
                price=Decimal(o["price"]),
                status=o["status"],
                buyer_name=o.get("buyer_name"),
                buyer_contact=o.get("buyer_contact"),
                sold_price=None if o.get("sold_price") is None else Decimal(o["sold_price"]),
                decided_at=o.get("decided_at"),
            )
            for o in doc.get("resale", [])
        ),
    )


def _participant_of(x: Document) -> Participant:
    partner = x.get("partner")
    return Participant(
        participant_id=x["participant_id"],
        name=x["name"],
        contact=x.get("contact"),
        currency=x["currency"],
        added_at=x["added_at"],
        partner=None
        if partner is None
        else PartnerRef(partner["partner_id"], partner["kind"], Decimal(partner["percent"]), partner.get("name", "")),
        delivery_option=x.get("delivery_option"),
        payment_option=x.get("payment_option"),
        payment_deadline=x.get("payment_deadline"),
        paid=Decimal(x.get("paid", "0")),
        payment_refs=tuple(x.get("payment_refs", [])),
        released=x.get("released", False),
        external_ref=x.get("external_ref"),
        email=x.get("email"),
        fingerprint=x.get("fingerprint"),
        order_id=x.get("order_id"),
        reminders_sent=x.get("reminders_sent", 0),
        handed_out_at=x.get("handed_out_at"),
        charges_sent=None if x.get("charges_sent") is None else Decimal(x["charges_sent"]),
        charges_revision=x.get("charges_revision", 0),
    )


class PurchasesMongo(DocumentRepository[JointPurchase]):
    def __init__(self, store: AggregateStore) -> None:
        super().__init__(store, to_document=purchase_to_doc, from_document=purchase_of)

    async def page(
        self,
        shop_id: str,
        *,
        states: tuple[PurchaseState, ...] | None,
        partner_id: str | None,
        after: str | None,
        limit: int,
    ) -> list[JointPurchase]:
        query: Document = {"shop_id": shop_id}
        if states is not None:
            query["state"] = {"$in": list(states)}
        if partner_id is not None:
            # A partner sees the purchases they brought somebody to, and the ones still collecting.
            query["$or"] = [{"partner_ids": partner_id}, {"state": "collecting"}]
        docs = await find_after(
            self.store.collection, query, after=after, limit=limit, projection={"outbox": 0, "applied_events": 0}
        )
        return [purchase_of(doc) for doc in docs]

    async def due_to_stop(self, now: datetime, limit: int) -> list[PurchaseKey]:
        return await self._keys({"state": "collecting", "closes_at": {"$lte": now}}, limit)

    async def payment_overdue(self, now: datetime, limit: int) -> list[PurchaseKey]:
        return await self._keys({"state": "awaiting_payment", "next_deadline": {"$lte": now}}, limit)

    async def reminders_due(self, now: datetime, limit: int) -> list[PurchaseKey]:
        return await self._keys({"state": "awaiting_payment", "next_reminder_at": {"$lte": now}}, limit)

    async def with_partner_closing(
        self, shop_id: str, partner_id: str, since: datetime, until: datetime, limit: int
    ) -> list[JointPurchase]:
        query: Document = {"shop_id": shop_id, "partner_ids": partner_id, "closes_at": {"$gte": since, "$lt": until}}
        cursor = (
            self.store.collection.find(query, {"outbox": 0, "applied_events": 0})
            .sort([("closes_at", ASCENDING), ("_id", ASCENDING)])
            .limit(limit)
        )
        return [purchase_of(doc) for doc in await cursor.to_list(length=limit)]

    async def collecting_with(self, shop_id: str, sku: str, limit: int) -> list[JointPurchase]:
        query: Document = {"shop_id": shop_id, "state": "collecting", "skus": sku}
        cursor = (
            self.store.collection.find(query, {"outbox": 0, "applied_events": 0}).sort("_id", ASCENDING).limit(limit)
        )
        return [purchase_of(doc) for doc in await cursor.to_list(length=limit)]

    async def by_order(self, shop_id: str, order_id: str) -> str | None:
        doc = await self.store.collection.find_one({"shop_id": shop_id, "order_ids": order_id}, {"_id": 1})
        return None if doc is None else str(doc["_id"])

    async def _keys(self, query: Document, limit: int) -> list[PurchaseKey]:
        cursor = self.store.collection.find(query, {"shop_id": 1}).limit(limit)
        docs: list[Any] = await cursor.to_list(length=limit)
        return [PurchaseKey(d["shop_id"], d["_id"]) for d in docs]
