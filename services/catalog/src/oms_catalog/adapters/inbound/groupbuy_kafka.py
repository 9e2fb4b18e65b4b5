"""A joint purchase ordered from its supplier (groupbuy's `JointPurchaseOrdered`) becomes the
consolidated purchase order of catalog's purchasing, created and sent once (its id: the purchase's)."""

from __future__ import annotations

from oms_contracts import Envelope
from oms_contracts.messages.groupbuy import JointPurchaseOrdered
from oms_runtime.consumer import PermanentError
from oms_runtime.errors import FieldError
from oms_runtime.runtime import ServiceRuntime

from oms_catalog.application.purchasing import PurchasingService
from oms_catalog.domain.purchasing import PoLine

GROUP = "joint-purchases"


def register_joint_purchases(runtime: ServiceRuntime, purchasing: PurchasingService) -> None:
    async def ordered(envelope: Envelope[JointPurchaseOrdered]) -> None:
        event = envelope.payload
        if event.supplier_id is None or event.warehouse_id is None:
            return  # the organiser orders outside the catalog (no supplier/warehouse of ours named)
        missing = next((i for i, line in enumerate(event.lines) if line.unit_cost is None), None)
        if missing is not None:
            raise PermanentError(f"lines[{missing}].unit_cost: needed for a purchase order")
        lines = [PoLine(line.sku, line.quantity, line.unit_cost) for line in event.lines if line.unit_cost]
        try:
            await purchasing.create_for_joint_purchase(
                envelope.shop_id, event.purchase_id, event.supplier_id, event.warehouse_id, lines, envelope.actor
            )
        except FieldError as exc:  # an unknown supplier, warehouse or SKU, an invalid line: never succeeds
            raise PermanentError(str(exc)) from exc

    runtime.consumer(GROUP).on(JointPurchaseOrdered, ordered)
