"""Every index of the service's database, created by `migrate` and at start (before the first message)."""

from __future__ import annotations

from oms_runtime.consumer import INBOX_INDEXES
from oms_runtime.mongo import IndexSpec

from oms_payment.adapters.outbound.accounts_mongo import ACCOUNT_INDEXES
from oms_payment.adapters.outbound.configs_mongo import CONFIG_INDEXES
from oms_payment.adapters.outbound.document_orders_mongo import DOCUMENT_INDEXES
from oms_payment.adapters.outbound.gift_cards_mongo import GIFT_CARD_INDEXES
from oms_payment.adapters.outbound.payments_mongo import PAYMENT_INDEXES
from oms_payment.adapters.sandbox.charges_mongo import SANDBOX_INDEXES

INDEXES: list[IndexSpec] = [
    *PAYMENT_INDEXES,
    *SANDBOX_INDEXES,
    *INBOX_INDEXES,
    *ACCOUNT_INDEXES,
    *CONFIG_INDEXES,
    *GIFT_CARD_INDEXES,
    *DOCUMENT_INDEXES,
]
