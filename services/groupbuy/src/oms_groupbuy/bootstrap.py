"""Composition root: settings in, a running groupbuy service out."""

from __future__ import annotations

from litestar import Litestar
from oms_runtime.clock import Clock
from oms_runtime.commands import RetryPolicy
from oms_runtime.consumer import INBOX_INDEXES
from oms_runtime.events import EventFactory
from oms_runtime.mongo import IndexSpec
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.web import create_service_app, provide_all

from oms_groupbuy.adapters.inbound.problems import PROBLEMS
from oms_groupbuy.adapters.inbound.purchases_http import (
    DistributionController,
    PartnersController,
    PurchasesController,
    ResaleController,
    earnings_report,
)
from oms_groupbuy.adapters.inbound.settings_http import SettingsController
from oms_groupbuy.adapters.inbound.shop_news_http import ShopNewsController
from oms_groupbuy.adapters.inbound.staff_kafka import register_consumers
from oms_groupbuy.adapters.inbound.vk_http import VkGroupsController, vk_callback
from oms_groupbuy.adapters.outbound.creation_keys_mongo import CREATION_KEY_INDEXES, CREATION_KEYS, CreationKeysMongo
from oms_groupbuy.adapters.outbound.partners_mongo import PARTNER_INDEXES, PARTNERS, PartnersMongo
from oms_groupbuy.adapters.outbound.purchases_mongo import PURCHASE_INDEXES, PURCHASES, PurchasesMongo
from oms_groupbuy.adapters.outbound.settings_mongo import SETTINGS, SETTINGS_INDEXES, ShopSettingsMongo
from oms_groupbuy.adapters.outbound.shop_news_mongo import SHOP_NEWS, SHOP_NEWS_INDEXES, ShopNewsMongo
from oms_groupbuy.adapters.outbound.vk_mongo import INTAKE_LOG, VK_GROUPS, VK_INDEXES, IntakeLogMongo, VkGroupsMongo
from oms_groupbuy.application.intake import VkIntake
from oms_groupbuy.application.purchases import Purchases
from oms_groupbuy.application.settings import ShopSettingsService
from oms_groupbuy.application.shop_news import ShopNewsBoard
from oms_groupbuy.settings import GroupBuySettings

INDEXES: list[IndexSpec] = [
    *PURCHASE_INDEXES,
    *PARTNER_INDEXES,
    *VK_INDEXES,
    *CREATION_KEY_INDEXES,
    *SHOP_NEWS_INDEXES,
    *SETTINGS_INDEXES,
    *INBOX_INDEXES,
]


def create_app(settings: GroupBuySettings, *, clock: Clock | None = None) -> Litestar:
    runtime = ServiceRuntime(settings, clock=clock)
    repository = PurchasesMongo(runtime.store(PURCHASES))
    partners = PartnersMongo(runtime.store(PARTNERS))
    events = EventFactory(settings.service_name, runtime.clock)
    policy = RetryPolicy.from_settings(settings)
    shop_settings = ShopSettingsService(ShopSettingsMongo(runtime.store(SETTINGS)), runtime.clock, policy)
    purchases = Purchases(
        purchases=repository,
        partners=partners,
        events=events,
        clock=runtime.clock,
        policy=policy,
        creation_keys=CreationKeysMongo(runtime.db[CREATION_KEYS]),
        settings=shop_settings,
    )
    shop_news = ShopNewsBoard(ShopNewsMongo(runtime.store(SHOP_NEWS)), partners, events, runtime.clock, policy)
    intake = VkIntake(
        groups=VkGroupsMongo(runtime.db[VK_GROUPS]),
        log=IntakeLogMongo(runtime.db[INTAKE_LOG]),
        purchases=repository,
        service=purchases,
    )
    register_consumers(runtime, purchases)
    runtime.loop("groupbuy-closing-dates", purchases.stop_due, every_seconds=settings.deadline_scan_seconds)
    runtime.loop("groupbuy-payment-deadlines", purchases.release_due, every_seconds=settings.deadline_scan_seconds)
    runtime.loop("groupbuy-payment-reminders", purchases.remind_due, every_seconds=settings.deadline_scan_seconds)
    return create_service_app(
        runtime,
        route_handlers=[
            PurchasesController,
            DistributionController,
            ResaleController,
            PartnersController,
            ShopNewsController,
            SettingsController,
            VkGroupsController,
            vk_callback,
            earnings_report,
        ],
        title="OMS groupbuy",
        description="Joint purchases: size rows, participants and their payments, partners' terms and earnings.",
        dependencies=provide_all(purchases=purchases, intake=intake, news=shop_news, settings=shop_settings),
        problems=PROBLEMS,
        indexes=INDEXES,
    )
