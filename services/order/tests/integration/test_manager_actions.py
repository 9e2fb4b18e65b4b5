"""Manager actions, promo codes and pricing on the real store and broker (other services played by messages)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from oms_contracts import Money, decode, new_id
from oms_contracts.messages.catalog import (
    ChangeReservation,
    ReservationChangeRejected,
    ShortLine,
    StockLevelChanged,
)
from oms_contracts.messages.fulfilment import DeliveryMethodChanged
from oms_contracts.messages.payment import PaymentFailed, PaymentStatusChanged, RequestRefund
from oms_order.adapters.outbound.promo_mongo import STOCK_LEVELS
from oms_order.domain.edits import totals_consistent
from oms_order.domain.order import Order
from oms_testing import eventually
from oms_testing.http import internal_headers
from oms_testing.kafka import TopicReader

from .conftest import OrderApp, order_body


def staff(shop_id: str, role: str = "manager", **extra: str) -> dict[str, str]:
    return {**internal_headers(shop_id, role=role), **extra}


async def placed(app: OrderApp, shop_id: str, body: dict[str, Any]) -> dict[str, Any]:
    # As staff on the phone: the staff representation (a storefront gets the customer view).
    response = await app.place(shop_id, body, kind="staff", role="manager")
    assert response.status_code == 201, response.text
    return response.json()


async def command_for(reader: TopicReader, order_id: str, type_: str) -> Any:
    record = await reader.wait_for(lambda r: r.key == order_id.encode() and decode(r.value).type == type_)
    return decode(record.value)


async def assert_every_stored_order_consistent(app: OrderApp) -> int:
    async with app.mongo() as db:
        docs = await db["orders"].find({}).to_list()
    for doc in docs:
        order = Order.model_validate({**doc, "id": doc["_id"]})
        assert totals_consistent(order), (order.id, order.totals)
    return len(docs)


async def test_promo_codes_limits_hold_per_code_and_customer_and_a_cancel_gives_the_use_back(
    app: OrderApp, shop_id: str
) -> None:
    await app.sku_on_sale(shop_id, "TEA-1", "10.00")
    created = await app.client.post(
        "/promo-codes",
        json={"code": "spring", "kind": "percent", "value": "10", "max_uses": 2, "max_uses_per_customer": 1},
        headers=staff(shop_id, "admin"),
    )
    assert created.status_code == 201, created.text
    assert created.json()["code"] == "SPRING"
    forbidden = await app.client.post(
        "/promo-codes", json={"code": "X1", "kind": "percent", "value": "5"}, headers=staff(shop_id, "warehouse")
    )
    assert forbidden.status_code == 403

    def body(email: str) -> dict[str, Any]:
        b = order_body(("TEA-1", 3))
        b["customer"]["email"] = email
        return {**b, "promo_code": "spring"}

    first = await placed(app, shop_id, body("ann@example.com"))
    assert first["totals"]["discount"] == {"amount": "3.00", "currency": "EUR"}
    assert first["totals"]["grand_total"]["amount"] == "327.00"  # 30 - 3 + 300 default courier fee
    again = await app.place(shop_id, body("ANN@example.com"))
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "promo_code"
    assert "already used by this customer" in again.json()["errors"][0]["message"]
    await placed(app, shop_id, body("bob@example.com"))
    used_up = await app.place(shop_id, body("cy@example.com"))
    assert used_up.status_code == 422 and "used up" in used_up.json()["errors"][0]["message"]

    cancelled = await app.client.post(
        f"/orders/{first['order_id']}/cancel", json={"reason": "changed mind"}, headers=staff(shop_id)
    )
    assert cancelled.status_code == 200, cancelled.text

    async def released() -> bool:
        r = await app.client.get("/promo-codes/SPRING", headers=staff(shop_id))
        return r.json()["uses"] == 1

    await eventually(released, what="promo use released by the cancel")
    await placed(app, shop_id, body("cy@example.com"))
    listed = await app.client.get("/promo-codes?limit=1", headers=staff(shop_id))
    assert [p["code"] for p in listed.json()["items"]] == ["SPRING"]
    disabled = await app.client.post("/promo-codes/SPRING/disable", headers=staff(shop_id))
    assert disabled.json()["active"] is False
    late = await app.place(shop_id, body("dan@example.com"))
    assert late.status_code == 422 and "disabled" in late.json()["errors"][0]["message"]
    assert await assert_every_stored_order_consistent(app) >= 3


async def test_line_edit_asks_the_catalog_and_is_reverted_when_it_refuses(app: OrderApp, shop_id: str) -> None:
    await app.sku_on_sale(shop_id, "TEA-1", "2.50")
    await app.sku_on_sale(shop_id, "POT-1", "19.99")
    order = await placed(app, shop_id, order_body(("TEA-1", 2)))
    order_id = order["order_id"]
    async with TopicReader(app.bootstrap, app.topic(ChangeReservation)) as catalog_commands:
        added = await app.client.post(
            f"/orders/{order_id}/lines",
            json={"sku": "POT-1", "quantity": 2},
            headers=staff(shop_id, **{"If-Match": f'"{order["version"]}"'}),
        )
        assert added.status_code == 200, added.text
        edited = added.json()
        assert edited["totals"]["subtotal"]["amount"] == "44.98"
        assert edited["audit"][-1]["action"] == "lines_changed"
        assert edited["audit"][-1]["changes"]["lines.POT-1"] == {"from": None, "to": 2}
        command = await command_for(catalog_commands, order_id, "ChangeReservation")
        assert [(ln.sku, ln.quantity) for ln in command.payload.lines] == [("TEA-1", 2), ("POT-1", 2)]

        await app.emit(
            shop_id,
            ReservationChangeRejected(
                order_id=order_id,
                change_id=command.payload.change_id,
                reason="not enough stock",
                short=[ShortLine(sku="POT-1", quantity=2, available=0)],
            ),
            component="catalog",
            caused_by=command,
        )

        async def reverted() -> dict[str, Any] | None:
            current = await app.order(shop_id, order_id)
            return current if current["audit"][-1]["action"] == "lines_change_reverted" else None

        back = await eventually(reverted, what="line edit reverted")
    assert [(ln["sku"], ln["quantity"]) for ln in back["lines"]] == [("TEA-1", 2)]
    assert back["totals"] == order["totals"] and back["pending_line_change"] is None

    # The order service's view of stock refuses an increase it knows cannot be had.
    await app.emit(shop_id, StockLevelChanged(sku="TEA-1", warehouse_id="w1", on_hand=3, reserved=2, available=1))

    async def stock_projected() -> bool:
        async with app.mongo() as db:
            return await db[STOCK_LEVELS].find_one({"_id": f"{shop_id}/TEA-1/w1"}) is not None

    # Projected first: an edit sent before would be accepted (nothing known of the stock) and leave
    # a pending change, and the next one would be refused for that instead.
    await eventually(stock_projected, what="stock level projected")
    refusal = await app.client.patch(f"/orders/{order_id}/lines/TEA-1", json={"quantity": 5}, headers=staff(shop_id))
    assert refusal.status_code == 409, refusal.text
    assert refusal.json()["errors"][0]["field"] == "lines.TEA-1"
    assert "only 1 more available" in refusal.json()["errors"][0]["message"]
    await assert_every_stored_order_consistent(app)


async def test_two_staff_editing_at_once_one_wins_the_other_gets_409_with_the_current_version(
    app: OrderApp, shop_id: str
) -> None:
    await app.sku_on_sale(shop_id, "TEA-1", "2.50")
    order = await placed(app, shop_id, order_body(("TEA-1", 2)))
    order_id, version = order["order_id"], order["version"]
    headers = staff(shop_id, **{"If-Match": f'"{version}"'})
    results = await asyncio.gather(
        app.client.post(f"/orders/{order_id}/notes", json={"text": "called, wants it Friday"}, headers=headers),
        app.client.post(
            f"/orders/{order_id}/discounts",
            json={"kind": "percent", "value": "50", "reason": "loyal customer"},
            headers=headers,
        ),
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409], [r.text for r in results]
    [loser] = [r for r in results if r.status_code == 409]
    assert loser.json()["current_version"] == version + 1
    current = await app.order(shop_id, order_id)
    assert current["version"] == version + 1
    stale = await app.client.put(
        f"/orders/{order_id}/manager", json={"manager_id": "m-7", "expected_version": version}, headers=staff(shop_id)
    )
    assert stale.status_code == 409 and stale.json()["current_version"] == version + 1
    await assert_every_stored_order_consistent(app)


async def test_discounts_delivery_methods_manager_wishes_and_notes_are_audited(app: OrderApp, shop_id: str) -> None:
    await app.sku_on_sale(shop_id, "POT-1", "19.99")
    await app.emit(
        shop_id,
        DeliveryMethodChanged(
            delivery_method_id=new_id(),
            code="post-std",
            delivery_type="post",
            name="Post",
            currency="EUR",
            price=Money.of("4.90", "EUR"),
            free_from=Money.of("50", "EUR"),
        ),
        component="fulfilment",
    )
    order = await placed(app, shop_id, order_body(("POT-1", 1)))
    order_id = order["order_id"]

    async def post_priced() -> dict[str, Any] | None:
        r = await app.client.put(f"/orders/{order_id}/delivery", json={"delivery_type": "post"}, headers=staff(shop_id))
        assert r.status_code == 200, r.text
        return r.json() if r.json()["totals"]["delivery"]["amount"] == "4.90" else None

    moved = await eventually(post_priced, what="delivery method projected and applied")
    assert moved["totals"]["grand_total"]["amount"] == "24.89"
    assert moved["delivery_rate"]["method_code"] == "post-std"
    line = await app.client.post(
        f"/orders/{order_id}/discounts",
        json={"kind": "amount", "value": "5", "reason": "scratch", "sku": "POT-1"},
        headers=staff(shop_id),
    )
    assert line.json()["totals"]["grand_total"]["amount"] == "19.89"
    bad = await app.client.post(
        f"/orders/{order_id}/discounts",
        json={"kind": "percent", "value": "150", "reason": "oops"},
        headers=staff(shop_id),
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "value"
    negative = await app.client.post(
        f"/orders/{order_id}/discounts", json={"kind": "amount", "value": "-1", "reason": "x"}, headers=staff(shop_id)
    )
    assert negative.status_code in (400, 422)
    await app.client.put(f"/orders/{order_id}/manager", json={"manager_id": "m-7"}, headers=staff(shop_id))
    await app.client.post(f"/orders/{order_id}/notes", json={"text": "VIP"}, headers=staff(shop_id))
    wishes = await app.client.put(
        f"/orders/{order_id}/wishes",
        json={"preferred_from": "2026-06-01T10:00:00+02:00", "comment": "ring twice"},
        headers=staff(shop_id),
    )
    body = wishes.json()
    assert body["manager_id"] == "m-7" and body["staff_notes"][0]["text"] == "VIP"
    assert body["wishes"]["comment"] == "ring twice"
    actions = [a["action"] for a in body["audit"]]
    assert actions[-5:] == ["delivery_changed", "discount_added", "manager_assigned", "note_added", "wishes_changed"]
    assert all(a["actor"]["kind"] == "staff" and a["channel"] == "console" for a in body["audit"][-5:])
    warehouse = await app.client.post(
        f"/orders/{order_id}/notes", json={"text": "x"}, headers=staff(shop_id, "warehouse")
    )
    assert warehouse.status_code == 403
    await assert_every_stored_order_consistent(app)


async def test_payment_status_is_projected_and_a_paid_cancel_requests_one_refund(app: OrderApp, shop_id: str) -> None:
    await app.sku_on_sale(shop_id, "TEA-1", "2.50")
    order = await placed(app, shop_id, order_body(("TEA-1", 2)))
    order_id = order["order_id"]
    total = Money.of(Decimal(order["totals"]["grand_total"]["amount"]), "EUR")
    await app.emit(
        shop_id,
        PaymentStatusChanged(
            order_id=order_id,
            status="partly_paid",
            total=total,
            paid=Money.of(100, "EUR"),
            refunded=Money.zero("EUR"),
            due=total - Money.of(100, "EUR"),
            prepayment_met=True,
        ),
        component="payment",
    )

    async def projected() -> dict[str, Any] | None:
        current = await app.order(shop_id, order_id)
        return current if current["payment"]["status"] == "partly_paid" else None

    current = await eventually(projected, what="payment status projected")
    assert current["payment"]["paid"]["amount"] == "100" and current["payment"]["prepayment_met"] is True
    async with TopicReader(app.bootstrap, app.topic(RequestRefund)) as payment_commands:
        cancelled = await app.client.post(
            f"/orders/{order_id}/cancel", json={"reason": "out of town"}, headers=staff(shop_id)
        )
        assert cancelled.status_code == 200, cancelled.text
        refund = await command_for(payment_commands, order_id, "RequestRefund")
    assert refund.payload.refund_request_id == f"cancel:{order_id}" and refund.payload.amount is None


async def test_concurrent_placements_never_use_a_code_more_than_its_limit(app: OrderApp, shop_id: str) -> None:
    await app.sku_on_sale(shop_id, "TEA-1", "10.00")
    created = await app.client.post(
        "/promo-codes",
        json={"code": "RUSH", "kind": "amount", "value": "5", "currency": "EUR", "max_uses": 3},
        headers=staff(shop_id, "admin"),
    )
    assert created.status_code == 201, created.text

    def body(n: int) -> dict[str, Any]:
        b = order_body(("TEA-1", 1))
        b["customer"]["email"] = f"c{n}@example.com"
        return {**b, "promo_code": "RUSH"}

    results = await asyncio.gather(*(app.place(shop_id, body(n)) for n in range(8)))
    assert sorted(r.status_code for r in results) == [201] * 3 + [422] * 5
    code = await app.client.get("/promo-codes/RUSH", headers=staff(shop_id))
    assert code.json()["uses"] == 3
    async with app.mongo() as db:
        assert await db["promo_usages"].count_documents({"shop_id": shop_id, "code": "RUSH"}) == 3


async def test_a_declined_card_makes_a_problem_that_a_manager_resolves_with_a_comment(
    app: OrderApp, shop_id: str
) -> None:
    await app.sku_on_sale(shop_id, "TEA-1", "2.50")
    order = await placed(app, shop_id, order_body(("TEA-1", 2)))
    order_id = order["order_id"]
    await app.emit(shop_id, PaymentFailed(order_id=order_id, payment_id="p-1", reason="card_declined"), "payment")

    async def flagged() -> dict[str, Any] | None:
        current = await app.order(shop_id, order_id)
        return current if current["problem"] else None

    problem = await eventually(flagged, what="the decline flags the order")
    url = f"/orders/{order_id}/resolve-problem"
    warehouse = await app.client.post(url, json={"comment": "x"}, headers=staff(shop_id, "warehouse"))
    assert warehouse.status_code == 403
    empty = await app.client.post(url, json={"comment": ""}, headers=staff(shop_id))
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "comment", empty.text
    stale = await app.client.post(
        url, json={"comment": "called", "expected_version": problem["version"] - 1}, headers=staff(shop_id)
    )
    assert stale.status_code == 409
    resolved = await app.client.post(url, json={"comment": "called: pays by transfer"}, headers=staff(shop_id))
    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    assert body["problem"] is False and body["version"] == problem["version"] + 1
    assert body["audit"][-1]["action"] == "problem_resolved"
    assert body["audit"][-1]["changes"]["comment"] == "called: pays by transfer"
    again = await app.client.post(url, json={"comment": "again"}, headers=staff(shop_id))
    assert again.status_code == 200 and again.json()["version"] == body["version"]
