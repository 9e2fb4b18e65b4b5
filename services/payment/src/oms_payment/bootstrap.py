"""The composition root: settings in, a runnable Litestar app out. Every collaborator is built here
and handed to its users at construction."""

from __future__ import annotations

from datetime import timedelta

from litestar import Litestar
from oms_runtime.clock import Clock
from oms_runtime.commands import RetryPolicy
from oms_runtime.events import EventFactory
from oms_runtime.order_link import OrderLinkCodec
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.web import create_service_app, provide_all

from oms_payment.adapters.inbound import consumers_kafka
from oms_payment.adapters.inbound.documents_http import OrderLinkDocumentController, PaymentDocumentController
from oms_payment.adapters.inbound.gift_cards_http import GiftCardController
from oms_payment.adapters.inbound.order_payments_http import OrderPaymentsController
from oms_payment.adapters.inbound.payments_http import CardLinkController, PaymentController, WebhookController
from oms_payment.adapters.inbound.problems import PROBLEMS
from oms_payment.adapters.inbound.settings_http import PaymentSettingsController
from oms_payment.adapters.outbound.accounts_mongo import (
    ACCOUNTS,
    PENDING_TOTALS,
    MongoAccountRepository,
    MongoPendingTotals,
)
from oms_payment.adapters.outbound.configs_mongo import MongoPaymentConfigRepository
from oms_payment.adapters.outbound.document_orders_mongo import DOCUMENT_ORDERS, MongoDocumentOrders
from oms_payment.adapters.outbound.gift_cards_mongo import MongoGiftCardRepository
from oms_payment.adapters.outbound.indexes import INDEXES
from oms_payment.adapters.outbound.payments_mongo import (
    PAYMENTS,
    MongoDeliveryLog,
    MongoPaymentRepository,
    MongoProviderEventLog,
)
from oms_payment.adapters.sandbox.charges_mongo import MongoSandboxCharges
from oms_payment.adapters.sandbox.checkout import SandboxCheckout
from oms_payment.adapters.sandbox.checkout_http import SandboxCheckoutController
from oms_payment.adapters.sandbox.provider import SandboxProvider
from oms_payment.adapters.stripe.provider import StripeProvider
from oms_payment.application.card_links import CardLinks
from oms_payment.application.checkouts import CardProviders, HostedCheckouts
from oms_payment.application.configs import PaymentConfigs
from oms_payment.application.gift_cards import GiftCards
from oms_payment.application.ledger import OrderAccounts
from oms_payment.application.link_documents import LinkDocuments
from oms_payment.application.payment_documents import PaymentDocuments
from oms_payment.application.payments import Payments
from oms_payment.application.ports import PaymentProvider
from oms_payment.application.refunds import Refunds
from oms_payment.application.reminders import Reminders
from oms_payment.application.webhooks import ProviderWebhooks
from oms_payment.settings import PaymentSettings


def card_providers(settings: PaymentSettings, sandbox: SandboxProvider) -> CardProviders:
    """The sandbox always (the default); Stripe when its API key is set (a shop picks one in its settings)."""
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
    return CardProviders(providers, default=sandbox.name)


def create_app(settings: PaymentSettings, *, clock: Clock | None = None) -> Litestar:
    runtime = ServiceRuntime(settings, clock=clock)
    clock = runtime.clock
    events = EventFactory(settings.service_name, clock)
    policy = RetryPolicy.from_settings(settings)
    sandbox = SandboxProvider(
        public_checkout_base_url=settings.public_checkout_base_url,
        webhook_secret=settings.sandbox_webhook_secret,
        tolerance=timedelta(seconds=settings.webhook_tolerance_seconds),
    )
    providers = card_providers(settings, sandbox)

    payment_store = MongoPaymentRepository(runtime.store(PAYMENTS))
    account_store = MongoAccountRepository(runtime.store(ACCOUNTS))
    config_store = MongoPaymentConfigRepository(runtime.db)
    document_orders = MongoDocumentOrders(runtime.db[DOCUMENT_ORDERS])

    configs = PaymentConfigs(configs=config_store, clock=clock)
    gift_cards = GiftCards(gift_cards=MongoGiftCardRepository(runtime.db), clock=clock)
    accounts = OrderAccounts(
        accounts=account_store,
        pending_totals=MongoPendingTotals(runtime.db[PENDING_TOTALS]),
        gift_cards=gift_cards,
        events=events,
        clock=clock,
        policy=policy,
    )
    refunds = Refunds(
        accounts=account_store, gift_cards=gift_cards, providers=providers, events=events, clock=clock, policy=policy
    )
    reminders = Reminders(accounts=account_store, events=events, clock=clock, policy=policy)
    payments = Payments(
        payments=payment_store,
        deliveries=MongoDeliveryLog(runtime.db),
        providers=providers,
        configs=configs,
        gift_cards=gift_cards,
        accounts=accounts,
        events=events,
        clock=clock,
        policy=policy,
    )
    card_links = CardLinks(
        payments=payment_store, accounts=accounts, providers=providers, events=events, clock=clock, policy=policy
    )
    webhooks = ProviderWebhooks(
        payments=payment_store,
        provider_events=MongoProviderEventLog(runtime.db),
        providers=providers,
        events=events,
        clock=clock,
        policy=policy,
    )
    documents = PaymentDocuments(payments=payment_store, orders=document_orders, configs=config_store)
    checkout = SandboxCheckout(
        checkouts=HostedCheckouts(payments=payment_store),
        provider=sandbox,
        charges=MongoSandboxCharges(runtime.db),
        webhook_url=settings.sandbox_webhook_url,
        webhook_attempts=settings.sandbox_webhook_attempts,
        webhook_backoff_seconds=settings.sandbox_webhook_backoff_seconds,
        clock=clock,
    )

    consumers_kafka.register(
        runtime.consumer,
        payments=payments,
        accounts=accounts,
        refunds=refunds,
        card_links=card_links,
        document_orders=document_orders,
    )
    runtime.loop("payment-reminders", reminders.remind_due, every_seconds=settings.reminder_poll_seconds)
    return create_service_app(
        runtime,
        route_handlers=[
            PaymentController,
            CardLinkController,
            WebhookController,
            SandboxCheckoutController,
            PaymentSettingsController,
            OrderPaymentsController,
            GiftCardController,
            PaymentDocumentController,
            OrderLinkDocumentController,
        ],
        title="OMS payment",
        description="Payments per order: cash on delivery, and cards through a provider (built-in sandbox).",
        # Idempotency rests on unique indexes (one payment per order and method, one provider
        # event id): they exist before the first message is consumed.
        indexes=INDEXES,
        problems=PROBLEMS,
        dependencies=provide_all(
            payments=payments,
            card_links=card_links,
            webhooks=webhooks,
            configs=configs,
            accounts=accounts,
            refunds=refunds,
            gift_cards=gift_cards,
            sandbox=checkout,
            payment_documents=documents,
            link_documents=LinkDocuments(documents, OrderLinkCodec(settings.order_link_secret), runtime.clock),
        ),
    )
