"""Kafka and loops for order accounts: captures counted, refund commands, payment reminders."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from oms_contracts.messages.order import OrderLinesChanged, OrderUpdated
from oms_contracts.messages.payment import PaymentCaptured, RequestRefund
from oms_runtime.runtime import ServiceRuntime

from oms_payment.adapters.outbound.accounts_mongo import (
    ACCOUNTS,
    MongoAccountRepository,
    MongoGiftCardRepository,
    MongoPaymentConfigRepository,
)
from oms_payment.adapters.sandbox.provider import SandboxProvider
from oms_payment.adapters.stripe.provider import StripeProvider
from oms_payment.application.accounts import AccountService
from oms_payment.application.ports import PaymentProvider
from oms_payment.settings import PaymentSettings


def card_providers(settings: PaymentSettings, sandbox: SandboxProvider) -> dict[str, PaymentProvider]:
    """The sandbox always; Stripe when its API key is set (a shop picks one in its payment settings)."""
    providers: dict[str, PaymentProvider] = {sandbox.name: sandbox}
    if settings.stripe_api_key:
        stripe = StripeProvider(
            api_key=settings.stripe_api_key,
            api_base=settings.stripe_api_base,
            webhook_secret=settings.stripe_webhook_secret,
            tolerance=timedelta(seconds=settings.webhook_tolerance_seconds),
            success_url=settings.stripe_success_url,
        )
        providers[stripe.name] = stripe
    return providers


def build_accounts(
    runtime: ServiceRuntime, *, reminder_poll_seconds: float, providers: Mapping[str, PaymentProvider]
) -> AccountService:
    accounts = AccountService(
        providers=providers,
        accounts=MongoAccountRepository(runtime.store(ACCOUNTS)),
        configs=MongoPaymentConfigRepository(runtime.db),
        gift_cards=MongoGiftCardRepository(runtime.db),
        clock=runtime.clock,
    )
    # Our own captures (card webhooks, cash on delivery) are counted on the order's account.
    runtime.consumer("ledger").on(PaymentCaptured, accounts.on_captured)
    runtime.consumer("refunds").on(RequestRefund, accounts.on_refund_command)
    # Totals changed by staff after payment was requested: the account owes the new total.
    runtime.consumer("order-totals").on(OrderLinesChanged, accounts.on_order_totals).on(
        OrderUpdated, accounts.on_order_totals
    )
    runtime.loop("payment-reminders", accounts.remind_due, every_seconds=reminder_poll_seconds)
    return accounts
