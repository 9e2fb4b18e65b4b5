"""The console's pages over an in-memory gateway: what each role is shown, and how a 409 is answered."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from litestar.testing import AsyncTestClient
from oms_console.application.ports import ApiUnavailable
from oms_console.bootstrap import create_app
from oms_console.settings import ConsoleSettings
from oms_contracts import Actor

from .fakes import FakeGateway, order

NOW = datetime(2026, 1, 1, 11, 45, tzinfo=UTC)  # 1 h 45 min into a 2 h stage: amber


def headers(role: str = "manager", lang: str = "en") -> dict[str, str]:
    actor = Actor(kind="staff", id="staff-1", role=role, name=f"Mia {role}")
    return {
        "x-oms-internal-token": "dev-internal-token",
        "x-oms-shop-id": "shop-1",
        "x-oms-actor": actor.model_dump_json(exclude_none=True),
        "authorization": "Bearer user-token",
        "accept-language": lang,
    }


@pytest.fixture
def api() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
async def client(api: FakeGateway) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    app = create_app(ConsoleSettings(log_json=False), gateway=api, now=lambda: NOW)
    async with AsyncTestClient(app) as c:
        yield c


async def test_the_board_shows_the_pipeline_columns_and_loads_each_lazily(
    client: AsyncTestClient, api: FakeGateway
) -> None:  # type: ignore[type-arg]
    page = await client.get("/console/board", headers=headers())
    assert page.status_code == 200
    assert page.headers["server-timing"].startswith("app;dur=")  # the page's own time, and its API calls'
    assert (
        'id="column-new"' in page.text and 'id="column-call_back"' in page.text and 'id="column-picking"' in page.text
    )
    assert "column-completed" not in page.text and "column-cancelled" not in page.text
    assert "/console/board/column?pipeline=store&amp;stage=call_back" in page.text


async def test_a_column_is_a_page_of_cards_from_the_search_api_with_the_users_token(
    client: AsyncTestClient, api: FakeGateway
) -> None:  # type: ignore[type-arg]
    row = order() | {"payment_status": "awaiting", "grand_total": {"amount": "10.00", "currency": "RUB"}}
    api.on("GET", "/api/v1/orders/search", {"items": [row], "next_cursor": "abc"})
    page = await client.get("/console/board/column?pipeline=store&stage=call_back&problem=1", headers=headers())
    assert page.status_code == 200
    assert 'id="card-o1"' in page.text and "urgency-amber" in page.text and "Anna Petrova" in page.text
    assert "10.00 RUB" in page.text and "1 h 45 min" in page.text and 'class="advance"' in page.text
    assert "cursor=abc" in page.text  # the next page of the column
    method, path, params, token = api.calls[-1]
    assert (method, path, token) == ("GET", "/api/v1/orders/search", "user-token")
    assert ("stage", "call_back") in params and ("problem", "true") in params
    assert ("delivery_type", "courier,post") in params  # the delivery types running on this pipeline


async def test_a_warehouse_user_gets_no_buttons_on_a_managers_stage(client: AsyncTestClient, api: FakeGateway) -> None:  # type: ignore[type-arg]
    api.on("GET", "/api/v1/orders/search", {"items": [order()], "next_cursor": None})
    page = await client.get("/console/board/column?pipeline=store&stage=call_back", headers=headers("warehouse"))
    assert 'id="card-o1"' in page.text and "<button" not in page.text


async def test_advance_on_the_board_lost_to_a_concurrent_change_shows_it_and_reloads_the_card(
    client: AsyncTestClient, api: FakeGateway
) -> None:  # type: ignore[type-arg]
    api.on(
        "POST", "/api/v1/orders/o1/advance", {"title": "Conflict", "detail": "version moved", "current_version": 4}, 409
    )
    api.on("GET", "/api/v1/orders/o1", order(version=4, problem=True))
    page = await client.post(
        "/console/board/card/o1/advance", data={"version": "3", "pipeline": "store"}, headers=headers()
    )
    assert page.status_code == 200
    assert "changed by someone else" in page.text and 'data-version="4"' in page.text and "Problem" in page.text
    assert ("POST", "/api/v1/orders/o1/advance", {"expected_version": 3}, "user-token") in api.calls


async def test_advance_done_shows_the_new_stage(client: AsyncTestClient, api: FakeGateway) -> None:  # type: ignore[type-arg]
    api.on("POST", "/api/v1/orders/o1/advance", order(version=4, stage="picking"))
    page = await client.post(
        "/console/board/card/o1/advance", data={"version": "3", "pipeline": "store"}, headers=headers()
    )
    assert "Advanced to Picking" in page.text and "moved" in page.text


async def test_the_order_card_shows_everything_and_a_courier_no_action(
    client: AsyncTestClient, api: FakeGateway
) -> None:  # type: ignore[type-arg]
    api.on("GET", "/api/v1/orders/o1", order())
    api.on(
        "GET",
        "/api/v1/orders/o1/audit",
        {"items": [{"at": "2026-01-01T10:00:00+00:00", "actor": {"name": "Shop"}, "action": "placed"}]},
    )
    api.on("GET", "/api/v1/shipments", {"items": [{"shipment_id": "s1", "warehouse_id": "wh-1", "status": "packed"}]})
    api.on(
        "GET",
        "/api/v1/catalog/stock",
        {"items": [{"warehouse_id": "a", "available": 4}, {"warehouse_id": "b", "available": 3}]},
    )
    manager = await client.get("/console/orders/o1", headers=headers())
    assert manager.status_code == 200
    assert 'title="a: 4 b: 3 ">7</td>' in manager.text  # stock of the line, summed over warehouses
    for part in (
        'id="advance"',
        'id="move-to"',
        'id="cancel"',
        'id="add-note"',
        "TEA",
        "placed",
        "wh-1",
        "/console/documents/waybill/s1",
    ):
        assert part in manager.text, part
    api.on(
        "GET",
        "/api/v1/orders/o1",
        order(stage_actions={"roles": ["admin", "courier"], "can_advance": False, "move_to": []}),
    )
    courier = await client.get("/console/orders/o1", headers=headers("courier"))
    assert 'id="read-only"' in courier.text
    main = courier.text.split("<main>", 1)[1]
    assert "<button" not in main and "<form" not in main


async def test_an_order_action_posts_with_the_shown_version_and_comes_back(
    client: AsyncTestClient, api: FakeGateway
) -> None:  # type: ignore[type-arg]
    api.on("PATCH", "/api/v1/orders/o1/lines/TEA", order(version=4))
    done = await client.post(
        "/console/orders/o1/line",
        data={"version": "3", "sku": "TEA", "quantity": "5"},
        headers=headers(),
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].startswith("/console/orders/o1?ok=")
    assert ("PATCH", "/api/v1/orders/o1/lines/TEA", {"quantity": 5, "expected_version": 3}, "user-token") in api.calls
    api.on("POST", "/api/v1/orders/o1/advance", {"detail": "stale", "current_version": 5}, 409)
    lost = await client.post(
        "/console/orders/o1/advance", data={"version": "3"}, headers=headers(), follow_redirects=False
    )
    assert "conflict=1" in lost.headers["location"]


async def test_russian_when_asked(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    page = await client.get("/console/login", headers={"accept-language": "ru"})
    assert "Войти" in page.text and page.headers["content-language"] == "ru"
    english = await client.get("/console/login?error=credentials", headers={"accept-language": "de, en;q=0.5"})
    assert "Unknown shop" in english.text


async def test_pages_need_the_gateway(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    direct = await client.get("/console/board", headers={"authorization": "Bearer x"})
    assert direct.status_code == 401
    no_token = {k: v for k, v in headers().items() if k != "authorization"}
    assert (await client.get("/console/board", headers=no_token)).status_code == 401


async def test_static_files_are_a_fixed_set(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    assert (await client.get("/console/static/htmx.min.js")).status_code == 200
    assert (await client.get("/console/static/..%2Fbootstrap.py")).status_code == 404
    assert (await client.get("/console/static/settings.py")).status_code == 404


async def test_the_list_keeps_its_view_and_groups_when_asked(client: AsyncTestClient, api: FakeGateway) -> None:  # type: ignore[type-arg]
    row = order() | {
        "payment_status": "awaiting",
        "grand_total": {"amount": "10.00", "currency": "RUB"},
        "item_count": 2,
    }
    api.on("GET", "/api/v1/orders/search", {"items": [row], "next_cursor": "n2"})
    api.on(
        "GET",
        "/api/v1/orders/groups",
        {"by": "stage", "groups": [{"key": "call_back", "count": 7, "totals": {"RUB": "70.00"}}]},
    )
    page = await client.get("/console/orders?stage=call_back&sort=total&by=stage", headers=headers())
    assert page.status_code == 200 and 'id="groups"' in page.text and ">7<" in page.text and "70.00 RUB" in page.text
    assert "cursor=n2" in page.text and "sort=total" in page.text  # the next page keeps the view
    searched = next(c for c in api.calls if c[1] == "/api/v1/orders/search")
    assert ("stage", "call_back") in searched[2] and ("sort", "total") in searched[2]
    grouped = next(c for c in api.calls if c[1] == "/api/v1/orders/groups")
    assert ("by", "stage") in grouped[2] and ("stage", "call_back") in grouped[2]


async def test_the_csv_export_is_the_views_and_a_download(client: AsyncTestClient, api: FakeGateway) -> None:  # type: ignore[type-arg]
    api.on("GET", "/api/v1/orders/export.csv", "number,order_id")
    export = await client.get("/console/orders/export.csv?stage=new&sort=total", headers=headers())
    assert export.status_code == 200 and export.text == "number,order_id"
    assert export.headers["content-disposition"].startswith("attachment") and export.headers["content-type"].startswith(
        "text/csv"
    )
    assert ("stage", "new") in api.calls[-1][2]


async def test_a_courier_sees_a_column_from_the_plain_list(client: AsyncTestClient, api: FakeGateway) -> None:  # type: ignore[type-arg]
    api.on("GET", "/api/v1/orders/search", {"title": "Forbidden", "detail": "needs one of: admin, manager"}, 403)
    summary = {"order_id": "o9", "number": 9, "stage": "courier_delivery", "customer": {"name": "Ivan"}, "version": 2}
    api.on("GET", "/api/v1/orders", {"items": [summary], "next_cursor": None})
    page = await client.get("/console/board/column?pipeline=store&stage=call_back", headers=headers("courier"))
    assert 'id="card-o9"' in page.text and "filters are for managers" in page.text and "<button" not in page.text
    assert api.calls[-1][:3] == ("GET", "/api/v1/orders", [("stage", "call_back"), ("limit", "20")])


async def test_the_sla_page_shows_every_stage_of_the_pipeline_and_the_weakest(
    client: AsyncTestClient, api: FakeGateway
) -> None:  # type: ignore[type-arg]
    api.on(
        "GET",
        "/api/v1/orders/sla",
        {
            "at": "2026-01-01T11:45:00+00:00",
            "stages": [
                {
                    "stage": "call_back",
                    "orders": 4,
                    "overdue": 1,
                    "problems": 1,
                    "overdue_share": 0.25,
                    "limit_seconds": 7200,
                    "p50_seconds": 600,
                    "p95_seconds": 9000,
                }
            ],
            "managers": [{"manager_id": "staff-1", "orders": 4, "overdue": 1, "overdue_share": 0.25}],
            "weakest": ["call_back"],
            "truncated": False,
        },
    )
    page = await client.get("/console/sla", headers=headers(lang="ru"))
    assert page.status_code == 200
    assert "Слабые этапы" in page.text and "Перезвонить" in page.text and "25.0 %" in page.text
    table = page.text.split('id="sla-stages"', 1)[1]
    assert table.index("Новый") < table.index("Перезвонить")  # the pipeline's order, empty stages too
    assert "2 ч 30 мин" in page.text and ">я<" in page.text


async def test_the_sla_page_shows_the_chosen_period_of_the_pipeline(client: AsyncTestClient, api: FakeGateway) -> None:  # type: ignore[type-arg]
    now = {"at": "2026-01-01T11:45:00+00:00", "stages": [], "managers": [], "weakest": []}
    api.on("GET", "/api/v1/orders/sla", now)
    period_stage = {
        "visits": 10,
        "overdue": 3,
        "overdue_share": 0.3,
        "limit_seconds": 7200,
        "p50_seconds": 3600,
        "p95_seconds": 10800,
    }
    api.on(
        "GET",
        "/api/v1/orders/sla/period",
        {
            "since": "2025-12-01T00:00:00+00:00",
            "until": "2026-01-01T00:00:00+00:00",
            "stages": [
                {"pipeline": "store", "stage": "call_back", **period_stage},
                {"pipeline": "store", "stage": "new", **period_stage, "overdue": 0, "overdue_share": 0.0},
            ],
            "managers": [
                {"manager_id": "staff-1", "visits": 8, "orders": 5, "overdue": 2, "overdue_share": 0.25},
                {"manager_id": None, "visits": 12, "orders": 9, "overdue": 1, "overdue_share": 0.0833},
            ],
            "weakest": [{"pipeline": "store", "stage": "call_back"}],
            "truncated": False,
        },
    )
    page = await client.get("/console/sla?pipeline=store&since=2025-12-01&until=2025-12-31", headers=headers())
    assert page.status_code == 200
    asked = next(c for c in api.calls if c[1] == "/api/v1/orders/sla/period")
    assert asked[2] == [
        ("since", "2025-12-01T00:00:00+00:00"),
        ("until", "2026-01-01T00:00:00+00:00"),
        ("pipeline", "store"),
    ]
    assert asked[3] == "user-token"
    period = page.text.split('id="sla-period"', 1)[1]
    table = period.split('id="sla-period-stages"', 1)[1].split("</table>", 1)[0]
    assert table.index("New") < table.index("Call-back"), "the pipeline's order"
    assert "30.0 %" in table and "3 h" in table and 'class="problem"' in table  # p95 over the limit
    assert "Weakest stages" in period and 'value="2025-12-01"' in page.text and 'value="2025-12-31"' in page.text
    managers = period.split('id="sla-period-managers"', 1)[1]
    assert ">me<" in managers and "25.0 %" in managers and ">nobody<" in managers
    # Without dates: the last seven days.
    await client.get("/console/sla", headers=headers())
    last = [c for c in api.calls if c[1] == "/api/v1/orders/sla/period"][-1]
    assert last[2][:2] == [("since", "2025-12-26T00:00:00+00:00"), ("until", "2026-01-02T00:00:00+00:00")]


async def test_analytics_draws_each_grouping_of_the_period(client: AsyncTestClient, api: FakeGateway) -> None:  # type: ignore[type-arg]
    api.on(
        "GET",
        "/api/v1/orders/groups",
        {"by": "date", "groups": [{"key": "2025-12-31", "count": 3, "totals": {"RUB": "30.00"}}]},
    )
    api.on("GET", "/api/v1/catalog/stock/low", {"items": [{"sku": "TEA", "threshold": 5, "low": True, "available": 2}]})
    page = await client.get("/console/analytics?since=2025-12-01&until=2025-12-31", headers=headers())
    assert page.status_code == 200 and page.text.count("<svg") == 10 and "10.00" in page.text  # the average order
    assert "2026-W01" in page.text and 'id="low-stock"' in page.text and ">TEA<" in page.text  # 31 Dec 2025: ISO week 1
    for chart in ("channel", "currency", "cancel_reason"):
        assert f'id="chart-{chart}"' in page.text, chart
    # Returns per reason: fulfilment's answer is not there (404 in the fake): the section says so, no error.
    reasons = page.text.split('id="chart-return_reasons"', 1)[1].split("</section>", 1)[0]
    assert "<table" not in reasons
    asked = [c[2] for c in api.calls if c[1] == "/api/v1/orders/groups"]
    assert len(asked) == 9
    assert any(("by", "cancel_reason") in p and ("stage", "cancelled") in p for p in asked)
    assert all(
        ("placed_from", "2025-12-01T00:00:00+00:00") in p and ("placed_to", "2026-01-01T00:00:00+00:00") in p
        for p in asked
    )
    assert any(("stage", "cancelled") in p for p in asked)
    csv = await client.get("/console/analytics/csv/day?since=2025-12-01&until=2025-12-31", headers=headers())
    assert csv.status_code == 200 and len(csv.text.splitlines()) == 1 + 31  # every day of December
    assert "2025-12-02,0,," in csv.text
    assert (await client.get("/console/analytics/csv/bogus", headers=headers())).status_code == 404
    week = await client.get("/console/analytics/csv/week?since=2025-12-01&until=2025-12-31", headers=headers())
    assert "2026-W01,3,30.00,10.00" in week.text.splitlines()


async def test_analytics_narrowed_to_a_channel_and_delivery_type_with_returns_per_reason(
    client: AsyncTestClient, api: FakeGateway
) -> None:  # type: ignore[type-arg]
    api.on("GET", "/api/v1/orders/groups", {"by": "channel", "groups": [{"key": "web", "count": 2, "totals": {}}]})
    api.on(
        "GET",
        "/api/v1/returns/reasons",
        {
            "since": "2025-12-01T00:00:00+00:00",
            "until": "2026-01-01T00:00:00+00:00",
            "reasons": [
                {"reason": "broken", "returns": 2, "lines": 2, "units": 3, "rejected": 1},
                {"reason": "too small", "returns": 1, "lines": 1, "units": 1, "rejected": 0},
            ],
            "truncated": False,
        },
    )
    url = "/console/analytics?since=2025-12-01&until=2025-12-31&channel=phone&delivery_type=post"
    page = await client.get(url, headers=headers())
    assert page.status_code == 200
    asked = [c[2] for c in api.calls if c[1] == "/api/v1/orders/groups"]
    assert asked and all(("channel", "phone") in p and ("delivery_type", "post") in p for p in asked)
    returns = next(c for c in api.calls if c[1] == "/api/v1/returns/reasons")
    assert returns[2] == [("since", "2025-12-01T00:00:00+00:00"), ("until", "2026-01-01T00:00:00+00:00")]
    section = page.text.split('id="chart-return_reasons"', 1)[1].split("</section>", 1)[0]
    assert section.count("<rect") == 2 and ">broken<" in section and ">3<" in section
    assert "channel=phone&amp;delivery_type=post" in page.text, "the CSV links keep the filters"
    csv = await client.get("/console/analytics/csv/return_reasons?since=2025-12-01&until=2025-12-31", headers=headers())
    assert csv.text.splitlines() == ["reason,returns,lines,units,rejected", "broken,2,2,3,1", "too small,1,1,1,0"]
    channel_csv = await client.get("/console/analytics/csv/channel?channel=phone", headers=headers())
    assert channel_csv.status_code == 200 and "web,2" in channel_csv.text
    assert ("channel", "phone") in [c for c in api.calls if c[1] == "/api/v1/orders/groups"][-1][2]
    forged = await client.get('/console/analytics?channel=x"><script>&delivery_type=boat', headers=headers())
    assert "<script>" not in forged.text
    last = [c for c in api.calls if c[1] == "/api/v1/orders/groups"][-1][2]
    assert not any(k in ("channel", "delivery_type") for k, _ in last)


async def test_a_forged_pipeline_or_stage_in_a_form_is_not_echoed(client: AsyncTestClient, api: FakeGateway) -> None:  # type: ignore[type-arg]
    api.on("GET", "/api/v1/orders/o1", order())
    api.on(
        "POST",
        "/api/v1/orders/o1/move",
        {"detail": "to: not a target", "errors": [{"field": "to", "message": "no"}]},
        422,
    )
    forged = 'x", "to": "cancelled'
    page = await client.post(
        "/console/board/card/o1/move", data={"to": forged, "pipeline": forged, "version": "3"}, headers=headers()
    )
    assert page.status_code == 200 and "cancelled" not in page.text and "Refused" in page.text
    assert ("POST", "/api/v1/orders/o1/move", {"to": "", "expected_version": 3}, "user-token") in api.calls


DIRECTORY = {
    "items": [
        {"staff_id": "staff-1", "name": "Mia Manager", "role": "manager", "active": True},
        {"staff_id": "staff-2", "name": "Oleg Orlov", "role": "manager", "active": True},
        {"staff_id": "staff-3", "name": "Wendy Warehouse", "role": "warehouse", "active": True},
        {"staff_id": "staff-4", "name": "Gone Person", "role": "manager", "active": False},
    ],
    "next_cursor": None,
}


async def test_managers_are_named_from_the_staff_directory_on_board_list_card_and_sla(
    client: AsyncTestClient, api: FakeGateway
) -> None:  # type: ignore[type-arg]
    api.on("GET", "/api/v1/staff/directory", DIRECTORY)
    row = order(manager_id="staff-2") | {
        "payment_status": "awaiting",
        "grand_total": {"amount": "1", "currency": "RUB"},
    }
    api.on("GET", "/api/v1/orders/search", {"items": [row], "next_cursor": None})
    column = await client.get("/console/board/column?pipeline=store&stage=call_back", headers=headers())
    assert "Oleg Orlov" in column.text
    board = await client.get("/console/board", headers=headers())
    manager_filter = board.text.split('id="filter-manager"', 1)[1].split("</select>", 1)[0]
    assert "Oleg Orlov" in manager_filter and "Wendy" not in manager_filter and "Gone Person" not in manager_filter
    listing = await client.get("/console/orders", headers=headers())
    assert '<td class="manager">Oleg Orlov</td>' in listing.text
    api.on("GET", "/api/v1/orders/o1", order(manager_id="staff-2"))
    card = await client.get("/console/orders/o1", headers=headers())
    assert "Oleg Orlov" in card.text
    api.on(
        "GET",
        "/api/v1/orders/sla",
        {
            "at": "2026-01-01T11:45:00+00:00",
            "stages": [],
            "weakest": [],
            "managers": [
                {"manager_id": "staff-2", "orders": 3, "overdue": 0, "overdue_share": 0.0},
                {"manager_id": "someone-unknown-77", "orders": 1, "overdue": 0, "overdue_share": 0.0},
            ],
        },
    )
    sla = await client.get("/console/sla", headers=headers())
    managers = sla.text.split('id="sla-managers"', 1)[1].split("</table>", 1)[0]
    assert "Oleg Orlov" in managers and "own-77" in managers, "an unknown id shows its end"
    directory_calls = [c for c in api.calls if c[1] == "/api/v1/staff/directory"]
    assert len(directory_calls) == 1, "the directory is cached per shop"


async def test_without_the_directory_a_manager_shows_as_the_end_of_the_id(
    client: AsyncTestClient, api: FakeGateway
) -> None:  # type: ignore[type-arg]
    api.on("GET", "/api/v1/orders/o1", order(manager_id="staff-abcdef123456"))
    card = await client.get("/console/orders/o1", headers=headers())
    assert card.status_code == 200 and "123456" in card.text


async def test_saved_views_are_listed_saved_and_deleted_through_the_api(
    client: AsyncTestClient, api: FakeGateway
) -> None:  # type: ignore[type-arg]
    api.on("GET", "/api/v1/orders/search", {"items": [], "next_cursor": None})
    api.on(
        "GET",
        "/api/v1/orders/views",
        {"items": [{"view_id": "view-1", "name": "Big ones", "query": "sort=total&bogus=1", "created_at": "x"}]},
    )
    page = await client.get("/console/orders?stage=call_back&sort=total&cursor=abc", headers=headers())
    bar = page.text.split('id="saved-views"', 1)[1].split("</div>", 1)[0]
    assert 'href="/console/orders?sort=total">Big ones</a>' in bar, "a saved view's link carries only the view"
    assert 'name="query" value="stage=call_back&amp;sort=total"' in bar, "the view to save: no cursor"
    api.on("POST", "/api/v1/orders/views", {"view_id": "view-2"}, 201)
    saved = await client.post(
        "/console/views",
        data={"name": "Calls by total", "query": "stage=call_back&sort=total&cursor=zzz&evil=1"},
        headers=headers(),
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert saved.headers["location"].startswith("/console/orders?stage=call_back&sort=total&view_message=")
    assert (
        "POST",
        "/api/v1/orders/views",
        {"name": "Calls by total", "query": "stage=call_back&sort=total"},
        "user-token",
    ) in api.calls
    api.on(
        "POST",
        "/api/v1/orders/views",
        {"detail": "name: taken", "errors": [{"field": "name", "message": "taken"}]},
        409,
    )
    again = {"name": "Big ones", "query": "sort=total"}
    taken = await client.post("/console/views", data=again, headers=headers(), follow_redirects=False)
    shown = await client.get(taken.headers["location"], headers=headers())
    assert "Refused: name: taken" in shown.text
    api.on("DELETE", "/api/v1/orders/views/view-1", None, 204)
    deleted = await client.post(
        "/console/views/view-1/delete", data={"back": "stage=new"}, headers=headers(), follow_redirects=False
    )
    assert deleted.status_code == 303 and deleted.headers["location"].startswith("/console/orders?stage=new&")
    assert ("DELETE", "/api/v1/orders/views/view-1", None, "user-token") in api.calls


CARD_ACTIONS = (
    'id="assign-to"',
    'id="change-delivery"',
    'id="set-wishes"',
    'id="add-discount"',
    'id="apply-promo"',
    'id="add-line"',
    'id="status-link"',
    'id="register-payment"',
    'id="refund"',
)


@pytest.mark.parametrize(
    ("role", "shown"), [("manager", True), ("admin", True), ("warehouse", False), ("courier", False)]
)
async def test_the_cards_other_edits_are_shown_per_role(
    client: AsyncTestClient, api: FakeGateway, role: str, shown: bool
) -> None:  # type: ignore[type-arg]
    two_lines = order(
        payment_method="card", discounts=[{"id": "d1", "kind": "percent", "value": "10", "reason": "vip"}]
    )
    two_lines["lines"] = [*two_lines["lines"], {**two_lines["lines"][0], "sku": "CUP"}]
    api.on("GET", "/api/v1/orders/o1", two_lines)
    api.on("GET", "/api/v1/returns", {"items": [{"return_id": "r1", "rma_number": "R42-1", "status": "requested"}]})
    api.on("GET", "/api/v1/staff/directory", DIRECTORY)
    page = await client.get("/console/orders/o1", headers=headers(role))
    assert page.status_code == 200
    main = page.text.split("<main>", 1)[1]
    for action in CARD_ACTIONS:
        assert (action in main) is shown, (role, action)
    assert ("return-approve" in main) is shown and ("remove-line" in main) is shown and ("card-link" in main) is shown
    if shown:
        assign = main.split('id="assign-to"', 1)[1].split("</select>", 1)[0]
        assert "Oleg Orlov" in assign and "Wendy" not in assign, "only admins and managers hold orders"
    else:
        assert "<form" not in main


@pytest.mark.parametrize(
    ("action", "form", "call"),
    [
        (
            "add-line",
            {"sku": "CUP", "quantity": "2"},
            ("POST", "/api/v1/orders/o1/lines", {"sku": "CUP", "quantity": 2}),
        ),
        ("remove-line", {"sku": "TEA"}, ("DELETE", "/api/v1/orders/o1/lines/TEA", [("expected_version", "3")])),
        (
            "delivery",
            {"delivery_type": "post", "country": "ru", "city": "Kazan", "line1": "Baumana 1", "postcode": "420111"},
            (
                "PUT",
                "/api/v1/orders/o1/delivery",
                {
                    "delivery_type": "post",
                    "address": {"country": "RU", "city": "Kazan", "line1": "Baumana 1", "postcode": "420111"},
                },
            ),
        ),
        (
            "delivery",
            {"delivery_type": "pickup", "city": "x", "line1": "y"},
            ("PUT", "/api/v1/orders/o1/delivery", {"delivery_type": "pickup"}),
        ),
        (
            "discount",
            {"kind": "percent", "value": "10", "text": "loyal", "sku": ""},
            ("POST", "/api/v1/orders/o1/discounts", {"kind": "percent", "value": "10", "reason": "loyal"}),
        ),
        (
            "remove-discount",
            {"discount_id": "d1"},
            ("DELETE", "/api/v1/orders/o1/discounts/d1", [("expected_version", "3")]),
        ),
        ("promo", {"code": "SPRING"}, ("PUT", "/api/v1/orders/o1/promo-code", {"code": "SPRING"})),
        ("assign", {"manager_id": "staff-2"}, ("PUT", "/api/v1/orders/o1/manager", {"manager_id": "staff-2"})),
        ("assign", {"manager_id": ""}, ("PUT", "/api/v1/orders/o1/manager", {"manager_id": None})),
        (
            "wishes",
            {"preferred_from": "2026-01-02T10:00", "preferred_to": "", "text": "after 10"},
            (
                "PUT",
                "/api/v1/orders/o1/wishes",
                {"preferred_from": "2026-01-02T10:00:00+00:00", "preferred_to": None, "comment": "after 10"},
            ),
        ),
        (
            "payment",
            {"method": "cash", "amount": "10.00", "currency": "RUB", "reference": "till 4"},
            (
                "POST",
                "/api/v1/orders/o1/payments",
                {"method": "cash", "amount": {"amount": "10.00", "currency": "RUB"}, "reference": "till 4"},
            ),
        ),
        (
            "refund",
            {"amount": "", "text": "damaged", "destination": "original", "key": "k1"},
            ("POST", "/api/v1/orders/o1/refunds", {"reason": "damaged", "destination": "original"}),
        ),
        ("return-approve", {"return_id": "r1"}, ("POST", "/api/v1/returns/r1/approve", None)),
        (
            "return-reject",
            {"return_id": "r1", "text": "used"},
            ("POST", "/api/v1/returns/r1/reject", {"reason": "used"}),
        ),
    ],
)
async def test_each_edit_of_the_card_is_one_api_call_with_the_shown_version(
    client: AsyncTestClient, api: FakeGateway, action: str, form: dict[str, str], call: tuple[str, str, object]
) -> None:  # type: ignore[type-arg]
    method, path, body = call
    api.on(method, path, order(version=4))
    done = await client.post(
        f"/console/orders/o1/{action}", data={"version": "3", **form}, headers=headers(), follow_redirects=False
    )
    assert done.status_code == 303 and "ok=" in done.headers["location"], done.headers["location"]
    versioned = (
        path.startswith("/api/v1/orders/o1/") and method in ("POST", "PUT") and action not in ("payment", "refund")
    )
    expected = {**body, "expected_version": 3} if versioned and isinstance(body, dict) else body
    assert (method, path, expected, "user-token") in api.calls, api.calls[-1]


async def test_a_refund_and_a_card_link_carry_the_pages_idempotency_key_and_the_link_is_shown(
    client: AsyncTestClient, api: FakeGateway
) -> None:  # type: ignore[type-arg]
    api.on("POST", "/api/v1/orders/o1/card-link", {"payment_id": "p1"}, 201)
    await client.post("/console/orders/o1/card-link", data={"key": "console:o1:3:abc:card-link"}, headers=headers())
    assert api.sent_headers[-1] == {"Idempotency-Key": "console:o1:3:abc:card-link"}
    api.on("POST", "/api/v1/orders/o1/status-link", {"url": "https://shop.example/o/xyz", "token": "xyz"}, 201)
    link = await client.post("/console/orders/o1/status-link", data={}, headers=headers(), follow_redirects=False)
    assert "shop.example" in link.headers["location"]
    api.on("PUT", "/api/v1/orders/o1/manager", {"detail": "stale", "current_version": 5}, 409)
    api.on("GET", "/api/v1/orders/o1", order(version=5))
    lost = await client.post(
        "/console/orders/o1/assign",
        data={"version": "3", "manager_id": "staff-2"},
        headers=headers(),
        follow_redirects=False,
    )
    assert "conflict=1" in lost.headers["location"]


async def test_a_failed_gateway_call_is_the_error_page_with_the_apis_status_or_a_502(
    client: AsyncTestClient, api: FakeGateway
) -> None:  # type: ignore[type-arg]
    missing = await client.get("/console/orders/o404", headers=headers())  # the fake answers 404 "no <path>"
    assert missing.status_code == 404 and "no /api/v1/orders/o404" in missing.text

    api.on("GET", "/api/v1/orders/search", {"title": "Forbidden", "detail": "needs one of: admin, manager"}, 403)
    refused = await client.get("/console/orders", headers=headers())  # the list says it in the user's words
    assert refused.status_code == 403 and "Your role cannot see this list." in refused.text
    assert "needs one of" not in refused.text

    async def unreachable(*_: object, **__: object) -> None:
        raise ApiUnavailable("the gateway did not answer in time")

    api.get = unreachable  # type: ignore[method-assign, assignment]
    down = await client.get("/console/inbox", headers=headers())
    assert down.status_code == 502 and "the gateway did not answer in time" in down.text
