"""Paper for a bank-transfer payment: the invoice (счёт на оплату) and the PD-4 slip, drawn by oms_documents.

The requisites and the VAT rate are the shop's payment settings for the payment's currency
(`payment_configs`, see domain/shop_config.py) as they are when the document is made; the buyer and
lines come from the order as the order service announced it (OrderPlaced / OrderLinesChanged,
projected by adapters/outbound/document_orders.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from oms_contracts import Money
from oms_documents import BankRequisites, Invoice, Party, Pd4, PricedLine, format_money, render_invoice, render_pd4
from oms_runtime.clock import Clock

from oms_payment.domain.shop_config import ShopPaymentConfig


class PaymentMissing(LookupError):
    def __init__(self, payment_id: str) -> None:
        super().__init__(f"no payment {payment_id}")
        self.payment_id = payment_id


class RequisitesMissing(Exception):
    """The shop has not set up its bank account for this currency."""


@dataclass(frozen=True)
class OrderForDocuments:
    number: int
    customer_name: str
    customer_email: str | None
    address: str | None
    lines: tuple[PricedLine, ...]
    delivery: Money | None
    grand_total: Money


PaymentLoader = Callable[[str, str], Awaitable[Mapping[str, Any] | None]]
OrderLoader = Callable[[str, str], Awaitable[OrderForDocuments | None]]
ConfigLoader = Callable[[str, str], Awaitable[ShopPaymentConfig | None]]


class PaymentDocuments:
    def __init__(self, payments: PaymentLoader, orders: OrderLoader, configs: ConfigLoader, clock: Clock) -> None:
        self.payments = payments
        self.orders = orders
        self.configs = configs
        self.clock = clock

    async def _load(self, shop_id: str, payment_id: str) -> tuple[Mapping[str, Any], Money, ShopPaymentConfig]:
        """The payment and the settings of its currency as they are now (their bank account, VAT rate)."""
        payment = await self.payments(shop_id, payment_id)
        if payment is None:
            raise PaymentMissing(payment_id)
        amount = Money.model_validate(payment["amount"])
        config = await self.configs(shop_id, amount.currency)
        if config is None or config.bank is None:
            raise RequisitesMissing(
                f"the shop has no bank requisites for {amount.currency}: set them in the payment settings first"
            )
        return payment, amount, config

    @staticmethod
    def _requisites(config: ShopPaymentConfig) -> BankRequisites:
        bank = config.bank
        assert bank is not None  # checked by _load
        requisites = BankRequisites(
            recipient=bank.recipient,
            inn=bank.inn,
            kpp=bank.kpp,
            account=bank.account,
            bank_name=bank.bank,
            bic=bank.bic,
            correspondent_account=bank.correspondent_account,
        )
        return requisites

    @staticmethod
    def _purpose(number: int, amount: Money, config: ShopPaymentConfig) -> str:
        """The payment reference, stating the VAT in the amount as a Russian payment order must."""
        vat = config.vat_in(amount)
        if vat is None:
            return f"Оплата заказа № {number}, без налога (НДС)"
        return f"Оплата заказа № {number}, в т.ч. НДС {config.vat_rate}% {format_money(vat)}"

    async def invoice(self, shop_id: str, payment_id: str) -> bytes:
        payment, amount, config = await self._load(shop_id, payment_id)
        bank = self._requisites(config)
        order = await self.orders(shop_id, payment["order_id"])
        number = payment["order_number"]
        if order is not None and order.grand_total == amount:
            lines, delivery = order.lines, order.delivery
        else:
            # A part of the order (a prepayment), or the order not projected here: one line for the amount.
            lines, delivery = (PricedLine(f"Оплата по заказу № {number}", 1, amount),), None
        buyer = (
            Party(order.customer_name, address=order.address, email=order.customer_email)
            if order is not None
            else Party("—")
        )
        document = Invoice(
            number=str(number),
            issued_on=payment["created_at"].date(),
            seller=Party(bank.recipient, inn=bank.inn, kpp=bank.kpp),
            bank=bank,
            buyer=buyer,
            lines=lines,
            currency=amount.currency,
            delivery=delivery,
            vat_rate=config.vat_rate,
            purpose=self._purpose(number, amount, config),
        )
        return render_invoice(document)

    async def pd4(self, shop_id: str, payment_id: str) -> bytes:
        payment, amount, config = await self._load(shop_id, payment_id)
        order = await self.orders(shop_id, payment["order_id"])
        return render_pd4(
            Pd4(
                bank=self._requisites(config),
                payer_name=order.customer_name if order is not None else "",
                payer_address=order.address if order is not None else None,
                purpose=self._purpose(payment["order_number"], amount, config),
                amount=amount,
            )
        )
