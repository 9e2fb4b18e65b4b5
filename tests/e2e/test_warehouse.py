"""Warehouse work through the gateway: a split shipment picked in waves, packed with scans, handed over and delivered
(one parcel by the carrier's signed webhook, one by hand), and the warehouse pages' cookie sign-in."""

from __future__ import annotations

import json
import time
from typing import Any

from oms_contracts import new_id
from oms_runtime.webhooks import signature_header
from oms_testing import eventually
from oms_testing.tools import CHROMIUM_ARGS, chromium_bin
from playwright.async_api import async_playwright, expect

from tests.e2e.client import Gateway, order_body
from tests.e2e.stack import REPO

CARRIER, CARRIER_SECRET = "e2e-carrier", "e2e-carrier-secret"


async def test_a_split_shipment_is_picked_in_waves_packed_with_scans_and_delivered(gateway: Gateway) -> None:
    # KETTLE-GLASS is only in Saint Petersburg, TEA-BLACK-100 only in Moscow: two shipments.
    placed = await gateway.place(
        order_body(lines=[{"sku": "KETTLE-GLASS", "quantity": 1}, {"sku": "TEA-BLACK-100", "quantity": 2}])
    )
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    await gateway.advance(order_id, "call_back")
    shipments = {s["warehouse_id"]: s for s in await gateway.shipments(order_id, expected=2)}
    assert set(shipments) == {"wh-moscow", "wh-spb"}
    staff = await gateway.as_staff("warehouse")

    for warehouse_id, shipment in shipments.items():
        sid = shipment["shipment_id"]
        wave = await gateway.http.post("/api/v1/waves", json={"warehouse_id": warehouse_id}, headers=staff)
        assert wave.status_code == 201, wave.text
        assert sid in wave.json()["shipment_ids"]
        # The pick list sums the wave's parcels (other open orders of the warehouse may share it).
        to_take = {i["sku"]: i["quantity"] for i in wave.json()["items"]}
        assert all(to_take.get(line["sku"], 0) >= line["quantity"] for line in shipment["lines"])
        picked = await gateway.http.post(f"/api/v1/waves/{wave.json()['wave_id']}/pick", headers=staff)
        assert picked.status_code == 200, picked.text

        # The demo SKUs carry no barcodes: the packer types the SKU code, each one checked and counted.
        for line in shipment["lines"]:
            for _ in range(line["quantity"]):
                scan = await gateway.http.post(
                    f"/api/v1/shipments/{sid}/scans", json={"barcode": line["sku"]}, headers=staff
                )
                assert scan.status_code == 200, scan.text
        over = await gateway.http.post(
            f"/api/v1/shipments/{sid}/scans", json={"barcode": shipment["lines"][0]["sku"]}, headers=staff
        )
        assert over.status_code == 409 and over.json()["reason"] == "over_scan"
        wrong = await gateway.http.post(f"/api/v1/shipments/{sid}/scans", json={"barcode": "SPOON"}, headers=staff)
        assert wrong.status_code == 422 and wrong.headers["content-type"].startswith("application/problem+json")

        packed = await gateway.http.post(f"/api/v1/shipments/{sid}/pack", headers=staff)
        assert packed.status_code == 200 and packed.json()["status"] == "packed", packed.text
        shipped = await gateway.http.post(
            f"/api/v1/shipments/{sid}/ship",
            json={"carrier": CARRIER, "tracking_number": f"E2E-{new_id()[-10:]}"},
            headers=staff,
        )
        assert shipped.status_code == 200, shipped.text
        shipments[warehouse_id] = shipped.json()

    # Moscow's parcel: the carrier reports it delivered through the public, signed webhook.
    moscow = shipments["wh-moscow"]
    report = {
        "event_id": new_id(),
        "shop_id": await _shop_id(gateway),
        "tracking_number": moscow["tracking_number"],
        "code": "delivered",
    }
    raw = json.dumps(report).encode()
    forged = await gateway.http.post(
        f"/webhooks/carriers/{CARRIER}",
        content=raw,
        headers={
            "Content-Type": "application/json",
            "X-Carrier-Signature": signature_header("x", int(time.time()), raw),
        },
    )
    assert forged.status_code == 401
    for attempt in range(2):  # the carrier retries: the second report changes nothing
        signed = signature_header(CARRIER_SECRET, int(time.time()), raw)
        hook = await gateway.http.post(
            f"/webhooks/carriers/{CARRIER}",
            content=raw,
            headers={"Content-Type": "application/json", "X-Carrier-Signature": signed},
        )
        assert hook.status_code == 200, hook.text
        assert hook.json() == {"shipment_id": moscow["shipment_id"], "status": "delivered", "duplicate": attempt == 1}

    # Saint Petersburg's parcel: the courier reports it by hand.
    spb = shipments["wh-spb"]
    by_hand = await gateway.http.post(
        f"/api/v1/shipments/{spb['shipment_id']}/tracking",
        json={"code": "delivered", "detail": "signed by the customer"},
        headers=await gateway.as_staff("courier"),
    )
    assert by_hand.status_code == 200 and by_hand.json()["status"] == "delivered", by_hand.text

    final = {s["warehouse_id"]: s for s in await gateway.list_shipments(order_id)}
    assert {w: s["status"] for w, s in final.items()} == {"wh-moscow": "delivered", "wh-spb": "delivered"}
    assert final["wh-moscow"]["tracking"][0]["source"] == CARRIER

    await gateway.advance(order_id, "courier_call")
    await gateway.wait_stage(order_id, "completed")


async def _shop_id(gateway: Gateway) -> str:
    me = await gateway.http.get("/api/v1/me", headers=await gateway.as_staff("warehouse"))
    return str(me.json()["shop_id"])


async def test_the_warehouse_pages_sign_in_with_a_session_cookie(gateway: Gateway) -> None:
    http = gateway.http
    anonymous = await http.get("/warehouse/picking", follow_redirects=False)
    assert (anonymous.status_code, anonymous.headers["location"]) == (303, "/warehouse/login")
    bad = await http.post("/warehouse/login", data={"shop": "demo", "email": "warehouse@demo.shop", "password": "nope"})
    assert bad.status_code == 401 and "unknown shop" in bad.text

    # In Chromium, as the packer would: the sign-in form, then the pages.
    shot = REPO / ".local" / "artefacts" / "warehouse-e2e-signin.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_bin(), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 412, "height": 915})
            page = await context.new_page()
            await page.goto(str(http.base_url).rstrip("/") + "/warehouse/")
            await expect(page.locator("h1")).to_have_text("Warehouse sign-in")
            await page.fill("#shop", "demo")
            await page.fill("#email", "warehouse@demo.shop")
            await page.fill("#password", "demo-warehouse-pass")
            await page.click("#sign-in")
            await expect(page.locator("h1")).to_have_text("Warehouse")
            await page.click("text=Pick")
            await expect(page.locator("h1")).to_contain_text("Pick list")
            await page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot: {shot}")
            cookies = {c["name"]: c for c in await context.cookies()}
        finally:
            await browser.close()
    session = cookies["oms_staff"]
    assert session["httpOnly"] and session["sameSite"] == "Strict" and session["path"] == "/warehouse"

    jar = {"Cookie": f"oms_staff={session['value']}"}
    pages = await http.get("/warehouse/pack", headers=jar)
    assert pages.status_code == 200 and "Parcels to pack" in pages.text
    # The cookie opens the pages only, never the API; a cross-site form post is refused.
    assert (await http.get("/api/v1/shipments", headers=jar)).status_code == 401
    cross_site = await http.post(
        "/warehouse/waves", data={"warehouse_id": "wh-moscow"}, headers={**jar, "Origin": "https://evil.example"}
    )
    assert cross_site.status_code == 403


async def test_delivery_methods_through_the_gateway(gateway: Gateway) -> None:
    admin = await gateway.as_staff("admin")
    code = f"post-{new_id()[-6:]}"
    body: dict[str, Any] = {
        "code": code,
        "delivery_type": "post",
        "name": "Russian Post",
        "currency": "RUB",
        "price": {"amount": "250", "currency": "RUB"},
        "free_from": {"amount": "3000", "currency": "RUB"},
    }
    created = await gateway.http.post("/api/v1/delivery-methods", json=body, headers=admin)
    assert created.status_code == 201, created.text
    warehouse = await gateway.as_staff("warehouse")
    assert (await gateway.http.post("/api/v1/delivery-methods", json=body, headers=warehouse)).status_code == 403

    async def listed() -> bool:
        r = await gateway.http.get("/api/v1/delivery-methods", params={"currency": "RUB"}, headers=warehouse)
        return any(m["code"] == code for m in r.json()["items"])

    assert await eventually(listed, what="the method listed")
