"""The composition root: settings in, a runnable Litestar app out."""

from __future__ import annotations

from datetime import timedelta

from litestar import Litestar
from litestar.di import Provide
from oms_runtime.clock import Clock
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.web import create_service_app

from oms_payment.adapters.inbound import accounts_http, http, kafka
from oms_payment.adapters.inbound.accounts_kafka import build_accounts, card_providers
from oms_payment.adapters.outbound.mongo import (
    INDEXES,
    PAYMENTS,
    MongoDeliveryLog,
    MongoPaymentRepository,
    MongoProviderEventLog,
    MongoSandboxCharges,
)
from oms_payment.adapters.sandbox.checkout import SandboxCheckout
from oms_payment.adapters.sandbox.hosted import SandboxCheckoutController
from oms_payment.adapters.sandbox.provider import SandboxProvider
from oms_payment.application.service import PaymentService
from oms_payment.documents_wiring import DOCUMENT_INDEXES, wire_documents
from oms_payment.settings import PaymentSettings


def create_app(settings: PaymentSettings, *, clock: Clock | None = None) -> Litestar:
    runtime = ServiceRuntime(settings, clock=clock)
    sandbox = SandboxProvider(
        public_checkout_base_url=settings.public_checkout_base_url,
        webhook_secret=settings.sandbox_webhook_secret,
        tolerance=timedelta(seconds=settings.webhook_tolerance_seconds),
    )
    providers = card_providers(settings, sandbox)
    accounts = build_accounts(runtime, reminder_poll_seconds=settings.reminder_poll_seconds, providers=providers)
    payments = PaymentService(
        payments=MongoPaymentRepository(runtime.store(PAYMENTS)),
        deliveries=MongoDeliveryLog(runtime.db),
        provider_events=MongoProviderEventLog(runtime.db),
        providers=providers,
        card_provider=sandbox.name,
        clock=runtime.clock,
        accounts=accounts,
    )
    checkout = SandboxCheckout(
        payments=payments,
        provider=sandbox,
        charges=MongoSandboxCharges(runtime.db),
        webhook_url=settings.sandbox_webhook_url,
        webhook_attempts=settings.sandbox_webhook_attempts,
        webhook_backoff_seconds=settings.sandbox_webhook_backoff_seconds,
        clock=runtime.clock,
    )
    kafka.register_commands(runtime.consumer("commands"), payments)
    kafka.register_fulfilment(runtime.consumer("fulfilment"), payments)
    kafka.register_settlement(runtime.consumer("settlement"), payments)  # the account paid: stop awaiting
    kafka.register_checkout_follows_total(runtime.consumer("checkout-total"), payments)
    document_handlers, document_dependencies = wire_documents(runtime)  # invoice.pdf, pd4.pdf
    return create_service_app(
        runtime,
        route_handlers=[
            http.PaymentController,
            http.CardLinkController,
            http.WebhookController,
            SandboxCheckoutController,
            *accounts_http.ROUTE_HANDLERS,
            *document_handlers,
        ],
        title="OMS payment",
        # Idempotency rests on unique indexes (one payment per order and method, one provider
        # event id): they exist before the first message is consumed.
        indexes=[*INDEXES, *DOCUMENT_INDEXES],
        description="Payments per order: cash on delivery, and cards through a provider (built-in sandbox).",
        dependencies={
            "payments": Provide(lambda: payments, sync_to_thread=False),
            "accounts": Provide(lambda: accounts, sync_to_thread=False),
            "sandbox": Provide(lambda: checkout, sync_to_thread=False),
            **document_dependencies,
        },
    )
