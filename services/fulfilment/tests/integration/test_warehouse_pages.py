"""The warehouse pages in a real headless Chromium (Debian's, driven by Playwright): pick → pack → hand over."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from oms_contracts import Actor, Envelope, Money, new_id
from oms_contracts.messages.catalog import SkuUpserted
from oms_contracts.messages.common import Address, Customer, SkuQuantity, WarehouseAllocation
from oms_contracts.messages.fulfilment import CreateShipments
from oms_contracts.registry import CATALOG_PRODUCTS, FULFILMENT_COMMANDS
from oms_fulfilment.bootstrap import create_app
from oms_fulfilment.settings import FulfilmentSettings
from oms_testing import eventually
from oms_testing.http import internal_headers
from oms_testing.infra import Infra
from oms_testing.kafka import produce_raw
from oms_testing.tools import CHROMIUM_ARGS, chromium_bin
from playwright.async_api import async_playwright, expect

ARTEFACTS = Path(__file__).resolve().parents[4] / ".local" / "artefacts"


@pytest.fixture(scope="module")
async def base_url(infra: Infra, topic_prefix: str) -> AsyncIterator[str]:
    settings = infra.settings(FulfilmentSettings, topic_prefix, "fulfilment_pages")
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started, what="the fulfilment app serving")
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await asyncio.wait_for(task, 30)


async def seed(infra: Infra, topic_prefix: str, shop_id: str, base_url: str) -> dict[str, Any]:
    for sku, code in (("MUG-RED", "4600000000011"), ("TEA", "4600000000028")):
        sku_event = Envelope.new(
            SkuUpserted(sku=sku, name=sku, price=Money.of("10", "RUB"), barcodes=[code]),
            shop_id=shop_id,
            actor=Actor.system("catalog"),
        )
        await produce_raw(
            infra.kafka_bootstrap, topic_prefix + CATALOG_PRODUCTS.name, sku_event.to_json(), key=sku.encode()
        )
    order_id = new_id()
    command = Envelope.new(
        CreateShipments(
            order_id=order_id,
            number=1001,
            customer=Customer(name="Ann Petrova", email="ann@example.com"),
            address=Address(country="RU", city="Kazan", line1="Baumana 1"),
            delivery_type="courier",
            allocations=[
                WarehouseAllocation(
                    warehouse_id="wh-pages",
                    lines=[SkuQuantity(sku="MUG-RED", quantity=2), SkuQuantity(sku="TEA", quantity=1)],
                )
            ],
        ),
        shop_id=shop_id,
        actor=Actor.system("order"),
    )
    await produce_raw(
        infra.kafka_bootstrap, topic_prefix + FULFILMENT_COMMANDS.name, command.to_json(), key=order_id.encode()
    )

    async with httpx.AsyncClient(base_url=base_url, headers=internal_headers(shop_id)) as http:

        async def created() -> dict[str, Any]:
            items = (await http.get("/shipments", params={"order_id": order_id})).json()["items"]
            assert len(items) == 1
            return items[0]

        shipment = await eventually(created, what="the shipment created")
    return shipment


async def test_a_packer_picks_packs_with_the_scanner_and_hands_over_in_chromium(
    infra: Infra, topic_prefix: str, shop_id: str, base_url: str
) -> None:
    shipment = await seed(infra, topic_prefix, shop_id, base_url)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    headers = internal_headers(shop_id, role="warehouse")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_bin(), args=CHROMIUM_ARGS)
        try:
            page = await (
                await browser.new_context(extra_http_headers=headers, viewport={"width": 412, "height": 915})
            ).new_page()

            # Pick: start today's wave for the warehouse, read the pick list, confirm.
            await page.goto(f"{base_url}/warehouse/picking?warehouse_id=wh-pages")
            await page.click("#start-wave")
            await expect(page.locator("#ok")).to_contain_text("wave started: 1 parcels")
            rows = page.locator("tr.pick-item")
            await expect(rows).to_have_count(2)
            await expect(rows.first).to_contain_text("MUG-RED")
            await page.screenshot(path=str(ARTEFACTS / "warehouse-pick-list.png"), full_page=True)
            await page.click("button.pick-wave")
            await expect(page.locator("#ok")).to_contain_text("picked: 1 parcels to pack")

            # Pack: the scanner types a code and Enter; each scan is checked and counted.
            await page.click("a.parcel")
            scan = page.locator("#barcode")
            await expect(scan).to_be_focused()

            async def scanned(code: str) -> None:
                await page.locator("#barcode").fill(code)
                await page.locator("#barcode").press("Enter")
                await page.wait_for_load_state()

            await scanned("0000000000000")
            await expect(page.locator("#error")).to_contain_text("barcode 0000000000000 is not known")
            # The barcode projection comes through Kafka: retry the first real scan until it is known.
            for _ in range(50):
                await scanned("4600000000011")
                if await page.locator("#ok").count():
                    break
            await expect(page.locator("#progress-text")).to_have_text("1 of 3 items scanned")
            await scanned("4600000000028")
            await scanned("4600000000028")
            await expect(page.locator("#error")).to_contain_text("TEA: all 1 already scanned")
            await page.screenshot(path=str(ARTEFACTS / "warehouse-pack-station-error.png"), full_page=True)
            await scanned("4600000000011")
            await expect(page.locator("#progress-text")).to_have_text("3 of 3 items scanned")
            await page.click("#close-parcel")

            # Hand over: the tracking number from the carrier's sticker, confirm.
            await expect(page.locator("h1")).to_contain_text("Hand over order #1001")
            await page.fill("#carrier", "cdek")
            await page.fill("#tracking_number", "CDEK-777")
            await page.click("#confirm-handover")
            await expect(page.locator("#ok")).to_contain_text("order #1001 handed to cdek, tracking CDEK-777")
            shot = ARTEFACTS / "warehouse-pages.png"
            await page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot: {shot}")
        finally:
            await browser.close()

    async with httpx.AsyncClient(base_url=base_url, headers=internal_headers(shop_id)) as http:
        final = (await http.get(f"/shipments/{shipment['shipment_id']}")).json()
    assert (final["status"], final["carrier"], final["tracking_number"]) == ("shipped", "cdek", "CDEK-777")
    assert final["scanned"] == {"MUG-RED": 2, "TEA": 1}
    assert [h["to"] for h in final["history"]] == ["created", "picked", "packed", "shipped"]
    assert json.loads(json.dumps(final["history"][-1]["actor"]))["role"] == "warehouse"
    assert shot.stat().st_size > 10_000
