"""From the order service: CustomerErased (own logical consumer `fulfilment.customers`): the erased
customer's name, contacts and address go from their orders' shipments (labels and waybills printed
after that show the anonymised values)."""

from __future__ import annotations

from typing import Any

from oms_contracts import Envelope
from oms_contracts.messages.order import CustomerErased
from oms_runtime.consumer import MessageConsumer

from oms_fulfilment.application.ports import ShipmentRepository


def register(customers: MessageConsumer, shipments: ShipmentRepository) -> None:
    async def on_customer_erased(envelope: Envelope[Any]) -> None:
        erased: CustomerErased = envelope.payload
        await shipments.erase_customer(envelope.shop_id, erased.order_ids)

    customers.on(CustomerErased, on_customer_erased)
