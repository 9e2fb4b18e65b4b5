"""Paper for a bank-transfer payment: the invoice (счёт на оплату) and the PD-4 slip, drawn by oms_documents.

The requisites and the VAT rate are the shop's payment settings for the payment's currency
(`payment_configs`, see domain/shop_config.py) as they are when the document is made; the buyer and
lines come from the order as the order service announced it (OrderPlaced / OrderLinesChanged,
projected by adapters/outbound/document_orders.py).
"""

from __future__ import annotations

from oms_contracts import Money
from oms_documents import BankRequisites, Invoice, Party, Pd4, PricedLine, format_money, render_invoice, render_pd4

from oms_payment.application.errors import PaymentNotFound, RequisitesMissing
from oms_payment.application.ports import DocumentOrders, PaymentConfigRepository, PaymentRepository
from oms_payment.domain import Payment
from oms_payment.domain.shop_config import ShopPaymentConfig


class PaymentDocuments:
    def __init__(
        self, *, payments: PaymentRepository, orders: DocumentOrders, configs: PaymentConfigRepository
    ) -> None:
        self.payments = payments
        self.orders = orders
        self.configs = configs

    async def _load(self, shop_id: str, payment_id: str) -> tuple[Payment, ShopPaymentConfig]:
        """The payment and the settings of its currency as they are now (their bank account, VAT rate)."""
        stored = await self.payments.load(shop_id, payment_id)
        if stored is None:
            raise PaymentNotFound(payment_id)
        currency = stored.state.payment.amount.currency
        config = await self.configs.get(shop_id, currency)
        if config is None or config.bank is None:
            raise RequisitesMissing(
                f"the shop has no bank requisites for {currency}: set them in the payment settings first"
            )
        return stored.state.payment, config

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

    async def of_order(self, shop_id: str, order_id: str) -> str:
        """The order's bank-transfer payment (the one the documents are for); PaymentNotFound if none."""
        stored = await self.payments.find_for_order(shop_id, order_id, "bank_transfer")
        if stored is None:
            raise PaymentNotFound(f"order {order_id} has no bank-transfer payment: no invoice")
        return stored.state.payment.payment_id

    async def invoice(self, shop_id: str, payment_id: str) -> bytes:
        payment, config = await self._load(shop_id, payment_id)
        amount = payment.amount
        bank = self._requisites(config)
        order = await self.orders.get(shop_id, payment.order_id)
        number = payment.order_number
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
            issued_on=payment.created_at.date(),
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
        payment, config = await self._load(shop_id, payment_id)
        order = await self.orders.get(shop_id, payment.order_id)
        return render_pd4(
            Pd4(
                bank=self._requisites(config),
                payer_name=order.customer_name if order is not None else "",
                payer_address=order.address if order is not None else None,
                purpose=self._purpose(payment.order_number, payment.amount, config),
                amount=payment.amount,
            )
        )
