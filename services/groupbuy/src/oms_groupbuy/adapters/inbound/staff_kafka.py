"""Kafka handlers: the gateway's staff accounts of partners become partners here."""

from __future__ import annotations

from oms_contracts.messages.shop import StaffMemberAdded
from oms_runtime.runtime import ServiceRuntime

from oms_groupbuy.application.purchases import Purchases


def register_consumers(runtime: ServiceRuntime, purchases: Purchases) -> None:
    runtime.consumer("staff").on(StaffMemberAdded, purchases.on_staff_added)
