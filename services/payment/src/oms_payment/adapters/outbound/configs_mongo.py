"""MongoDB persistence of the shops' payment settings per currency, with their index."""

from __future__ import annotations

from decimal import Decimal

from oms_runtime.coalesce import ASKS_PER_READ, Coalescer, keys_by_shop
from oms_runtime.mongo import Document, IndexSpec
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from oms_payment.adapters.outbound.fields_mongo import audit_doc
from oms_payment.application.ports import AuditEntry
from oms_payment.domain.account import PrepaymentRule
from oms_payment.domain.shop_config import BankRequisites, ShopPaymentConfig

PAYMENT_CONFIGS = "payment_configs"
CONFIG_INDEXES: list[IndexSpec] = [IndexSpec(PAYMENT_CONFIGS, [("shop_id", 1), ("currency", 1)], unique=True)]


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
        # Read by every RequestPayment: the concurrent handlers of a consumer batch share one read per shop.
        self._reads = Coalescer(self._get_many, limit=ASKS_PER_READ)

    async def get(self, shop_id: str, currency: str) -> ShopPaymentConfig | None:
        return await self._reads((shop_id, currency))

    async def _get_many(self, asks: list[tuple[str, str]]) -> list[ShopPaymentConfig | None]:
        found: dict[tuple[str, str], ShopPaymentConfig] = {}
        for shop_id, currencies in keys_by_shop((shop, (key,)) for shop, key in asks).items():
            async for doc in self.collection.find({"shop_id": shop_id, "currency": {"$in": currencies}}):
                found[(shop_id, doc["currency"])] = config_from_doc(doc)
        return [found.get(ask) for ask in asks]

    async def put(self, config: ShopPaymentConfig, *, audit: AuditEntry) -> int:
        """Replace the config; every change is kept in its history. Returns the new version."""
        doc = await self.collection.find_one_and_update(
            {"shop_id": config.shop_id, "currency": config.currency},
            {"$set": config_to_doc(config), "$inc": {"version": 1}, "$push": {"history": audit_doc(audit)}},
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
