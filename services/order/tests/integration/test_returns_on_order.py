"""The order service shows returns reported by fulfilment and their refunds; a full return ends in Returned."""

from __future__ import annotations

from typing import Any

from oms_contracts import Money
from oms_contracts.messages.fulfilment import (
    InspectedLine,
    ReturnApproved,
    ReturnCompleted,
    ReturnLine,
    ReturnReceived,
    ReturnRequested,
)
from oms_contracts.messages.payment import RefundCompleted
from oms_testing import eventually

from .conftest import OrderApp, order_body


async def test_a_full_return_shows_on_the_order_and_moves_it_to_returned(app: OrderApp, shop_id: str) -> None:
    await app.sku_on_sale(shop_id, "TEA-R", "2.50")
    placed = await app.place(shop_id, order_body(("TEA-R", 2)))
    assert placed.status_code == 201, placed.text
    order = placed.json()
    order_id = order["order_id"]
    ids = {"order_id": order_id, "order_number": order["number"], "return_id": "r-1", "rma_number": "R1-1"}
    for payload in (
        ReturnRequested(**ids, lines=[ReturnLine(sku="TEA-R", quantity=2, reason="wrong tea")]),
        ReturnApproved(**ids),
        ReturnReceived(**ids, warehouse_id="wh-1"),
        ReturnCompleted(
            **ids,
            warehouse_id="wh-1",
            lines=[InspectedLine(sku="TEA-R", restocked=2, written_off=0, refund=Money.of("5.00", "EUR"))],
            refund=Money.of("5.00", "EUR"),
            refund_request_id="return:r-1",
            fully_returned=True,
        ),
    ):
        await app.emit(shop_id, payload, component="fulfilment")
    await app.emit(
        shop_id,
        RefundCompleted(
            order_id=order_id,
            refund_id="rf-1",
            refund_request_id="return:r-1",
            amount=Money.of("5.00", "EUR"),
            destination="original",
            return_id="r-1",
            reason="return R1-1",
        ),
        component="payment",
    )

    async def shown() -> dict[str, Any] | None:
        body = await app.order(shop_id, order_id)
        entry = body["returns"].get("r-1")
        return body if entry and entry["refund_id"] == "rf-1" and body["stage"] == "returned" else None

    body = await eventually(shown, what="return and refund on the order")
    entry = body["returns"]["r-1"]
    assert entry["status"] == "completed" and entry["fully_returned"] is True
    assert entry["lines"] == [{"sku": "TEA-R", "quantity": 2, "reason": "wrong tea", "restocked": 2, "written_off": 0}]
    assert entry["refunded"] == {"amount": "5.00", "currency": "EUR"}
    actions = [a["action"] for a in body["audit"]]
    assert actions.count("return_completed") == 1 and "return_refunded" in actions
