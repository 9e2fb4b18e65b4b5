"""The operations console in Chromium, through the gateway: a manager signs in, finds a new order on
the stage board, opens its card, edits a line, loses a race (409, the card reloads) and advances it,
assigns it to a colleague by name and sets the customer's wishes; saves a view of the order list;
sees the SLA over a period and the analytics; a courier sees the card without a single action
button. Screenshots of each screen are kept under .local/artefacts/console/."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from oms_testing import eventually
from oms_testing.tools import CHROMIUM_ARGS, chromium_bin
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.e2e.client import Gateway, order_body
from tests.e2e.stack import REPO

SHOTS = REPO / ".local" / "artefacts" / "console"
PASSWORDS = {"manager": "demo-manager-pass", "courier": "demo-courier-pass"}


async def _sign_in(browser: Browser, base: str, role: str) -> Page:
    context = await browser.new_context(viewport={"width": 1600, "height": 1000}, locale="en-US")
    page = await context.new_page()
    await page.goto(f"{base}/console/")
    await expect(page.locator("#sign-in")).to_be_visible()  # no session: sent to the sign-in page
    await page.fill("#shop", "demo")
    await page.fill("#email", f"{role}@demo.shop")
    await page.fill("#password", PASSWORDS[role])
    await page.click("#sign-in")
    await expect(page.locator("#who")).to_contain_text(role)
    return page


async def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


async def _until_done(page: Page, act: Callable[[], Awaitable[None]]) -> None:
    """Submit a form of the card; when the order moved on meanwhile (a 409: the card is reloaded with
    the order as it is now), submit again, as the user would; at most five times."""
    for _ in range(5):
        await act()
        await expect(page.locator("#ok, #error[data-conflict]")).to_be_visible()
        if await page.locator("#ok").count():
            return
    await expect(page.locator("#ok")).to_be_visible()


async def test_a_manager_runs_an_order_from_the_board_and_a_courier_only_reads(gateway: Gateway) -> None:
    placed = await gateway.place(order_body())
    assert placed.status_code == 201, placed.text
    order = placed.json()
    order_id, number = order["order_id"], order["number"]
    await gateway.wait_stage(order_id, "call_back")
    manager = await gateway.as_staff("manager")

    async def listed() -> bool:  # the order list (what the board shows) is a projection: eventually
        found = await gateway.http.get(
            "/api/v1/orders/search", params={"stage": "call_back", "q": str(number)}, headers=manager
        )
        return any(i["order_id"] == order_id and i["stage"] == "call_back" for i in found.json()["items"])

    await eventually(listed, timeout=30)
    base = str(gateway.http.base_url).rstrip("/")

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_bin(), args=CHROMIUM_ARGS)
        try:
            page = await _sign_in(browser, base, "manager")
            cookies = {c["name"]: c for c in await page.context.cookies()}
            session = cookies["oms_staff"]
            assert session["httpOnly"] and session["sameSite"] == "Strict" and session["path"] == "/console"

            # The board: the new order's card in the call-back column (columns page with "More").
            await expect(page.locator("#column-call_back")).to_be_visible()
            card = page.locator(f"#card-{order_id}")
            column = page.locator("#column-call_back")
            for _ in range(50):
                await expect(column.locator(".cards .card, .cards .empty").first).to_be_visible()
                if await card.count():
                    break
                more = column.locator("button.more")
                if not await more.count():
                    break
                await more.click()
                await expect(more).to_have_count(0)  # replaced by the next page
            await expect(card).to_be_visible()
            await expect(card).to_contain_text("Anna Petrova")
            await expect(card.locator("button.advance")).to_be_visible()
            await card.scroll_into_view_if_needed()
            await _shot(page, "01-board")

            # The card of the order: everything of it, with the manager's actions.
            await card.locator("a.number").click()
            await expect(page.locator("h1")).to_contain_text(f"#{number}")
            await expect(page.locator("#stage")).to_contain_text("Call-back")
            await expect(page.locator("#lines")).to_contain_text("TEA-GREEN-100")
            await _shot(page, "02-order-card")

            # Edit a line: the quantity of the tea goes from 2 to 3. (The payment service's answers may
            # still be changing the new order: a 409 then reloads the card, and the user tries again.)
            async def three_teas() -> None:
                quantity = page.locator('input.qty[data-sku="TEA-GREEN-100"]')
                await quantity.fill("3")
                await quantity.locator("xpath=..").locator("button").click()

            await _until_done(page, three_teas)
            await expect(page.locator('input.qty[data-sku="TEA-GREEN-100"]')).to_have_value("3")

            # Someone else changes the order meanwhile (a note through the API): the page's version is stale.
            shown_version = int(await page.locator("#order").get_attribute("data-version") or 0)
            note = await gateway.http.post(
                f"/api/v1/orders/{order_id}/notes", json={"text": "called the customer"}, headers=manager
            )
            assert note.status_code == 200, note.text
            assert note.json()["version"] > shown_version
            await page.click("#advance")
            await expect(page.locator("#error[data-conflict]")).to_be_visible()
            await expect(page.locator("#notes")).to_contain_text("called the customer")  # reloaded
            await expect(page.locator("#stage")).to_contain_text("Call-back")  # nothing moved
            await _shot(page, "03-conflict-reloaded")

            # Now with the current version: advanced.
            await page.click("#advance")
            await expect(page.locator("#ok")).to_be_visible()
            await expect(page.locator("#stage")).not_to_contain_text("Call-back")
            after: dict[str, Any] = await gateway.order(order_id)
            assert after["stage"] != "call_back"
            await _shot(page, "04-advanced")

            # Assign it to a colleague, named from the gateway's staff directory; the delivery wishes.
            directory = await gateway.http.get("/api/v1/staff/directory", params={"limit": 100}, headers=manager)
            admin = next(e for e in directory.json()["items"] if e["role"] == "admin")

            # (Entering picking makes fulfilment create the shipment, which changes the order once more:
            # wait for it, so that the page's version is the order's.)
            async def shipment_on_order() -> bool:
                return bool((await gateway.order(order_id)).get("shipments"))

            await eventually(shipment_on_order, timeout=30, what="the order knows its shipment")
            await page.reload()

            async def assign() -> None:
                await page.select_option("#assign-to", admin["staff_id"])
                await page.click("#assign")

            await _until_done(page, assign)
            await expect(page.locator("#order")).to_contain_text(admin["name"])

            async def wishes() -> None:
                await page.click("#edit-wishes summary")
                await page.fill('#edit-wishes input[name="text"]', "ring twice")
                await page.click("#set-wishes")

            await _until_done(page, wishes)
            assert (await gateway.order(order_id))["wishes"]["comment"] == "ring twice"

            # The order list holds its view in the URL.
            await page.goto(f"{base}/console/orders?q={number}&sort=total&order=asc")
            await expect(page.locator("#orders")).to_contain_text(f"#{number}")
            await expect(page.locator('select[name="sort"]')).to_have_value("total")
            await _shot(page, "05-order-list")

            # Saved views: this view under a name, kept by the order service for this manager.
            await page.fill("#view-name", f"By total {number}")
            await page.click("#save-view-button")
            await expect(page.locator("#view-message")).to_be_visible()
            saved = page.locator("#saved-views a", has_text=f"By total {number}")
            await expect(saved).to_be_visible()
            await page.goto(f"{base}/console/orders")
            await page.locator("#saved-views a", has_text=f"By total {number}").click()
            await expect(page.locator('select[name="sort"]')).to_have_value("total")
            await expect(page.locator("#orders")).to_contain_text(f"#{number}")

            # The SLA overview: every stage of the pipeline, with the orders in flight now.
            await page.click("#nav-sla")
            await expect(page.locator("#sla-stages")).to_contain_text("Call-back")

            # ... and over the period (the last 7 days): the stages our order left are counted.
            async def period_counted() -> bool:
                await page.reload()
                return "Call-back" in (await page.locator("#sla-period-stages").inner_text())

            await eventually(period_counted, timeout=30, what="the order's transitions in the SLA period")
            await _shot(page, "05-sla")

            # Analytics: the charts of the last 30 days, our order among them.
            await page.click("#nav-analytics")
            await expect(page.locator("#chart-day svg rect").first).to_be_attached()
            await expect(page.locator("#chart-delivery")).to_contain_text("courier")
            await expect(page.locator("#chart-currency svg rect").first).to_be_attached()
            await expect(page.locator("#chart-channel svg rect").first).to_be_attached()
            await expect(page.locator("#chart-return_reasons")).to_be_visible()
            await _shot(page, "05-analytics")

            # Russian, remembered.
            await page.click("#lang-switch")
            await expect(page.locator("#nav-orders")).to_have_text("Заказы")
            await page.goto(f"{base}/console/board")
            await expect(page.locator("#nav-board")).to_have_text("Доска этапов")
            await _shot(page, "06-board-ru")

            # A courier: the same card, read only.
            courier = await _sign_in(browser, base, "courier")
            await courier.goto(f"{base}/console/orders/{order_id}")
            await expect(courier.locator("h1")).to_contain_text(f"#{number}")
            await expect(courier.locator("#read-only")).to_be_visible()
            assert await courier.locator("main form button").count() == 0
            assert await courier.locator("main button").count() == 0
            await _shot(courier, "07-courier-card")
        finally:
            await browser.close()


async def test_the_console_refuses_strangers_and_cross_site_posts(gateway: Gateway) -> None:
    http = gateway.http
    anonymous = await http.get("/console/board", follow_redirects=False)
    assert (anonymous.status_code, anonymous.headers["location"]) == (303, "/console/login")
    htmx = await http.get("/console/board/column?pipeline=store&stage=new", headers={"HX-Request": "true"})
    assert (htmx.status_code, htmx.headers.get("hx-redirect")) == (401, "/console/login")
    login_page = await http.get("/console/login")
    assert login_page.status_code == 200 and 'action="/console/login"' in login_page.text
    wrong = {"shop": "demo", "email": "manager@demo.shop", "password": "nope"}
    bad = await http.post("/console/login", data=wrong, follow_redirects=False)
    assert (bad.status_code, bad.headers["location"]) == (303, "/console/login?error=credentials")
    good = await http.post(
        "/console/login",
        data={"shop": "demo", "email": "manager@demo.shop", "password": "demo-manager-pass"},
        follow_redirects=False,
    )
    assert good.status_code == 303
    token = good.cookies["oms_staff"]
    forged = await http.post(
        "/console/orders/x/advance",
        headers={"Cookie": f"oms_staff={token}", "Origin": "https://evil.example"},
        data={"version": "1"},
    )
    assert forged.status_code == 403
    static = await http.get("/console/static/htmx.min.js")
    assert static.status_code == 200 and static.headers["content-type"].startswith("text/javascript")
    http.cookies.clear()
