"""Saved views of the order list on the real store: each staff member lists, saves and deletes their own."""

from __future__ import annotations

from typing import Any

from oms_contracts import Actor
from oms_order.domain.saved_views import MAX_VIEWS_PER_PERSON
from oms_testing.http import internal_headers

from .conftest import OrderApp


def as_person(shop_id: str, person: str, role: str = "manager") -> dict[str, str]:
    headers = internal_headers(shop_id, role=role)
    headers["x-oms-actor"] = Actor(kind="staff", id=person, role=role, name=person).model_dump_json(exclude_none=True)
    return headers


async def names(app: OrderApp, shop_id: str, person: str) -> list[str]:
    answer = await app.client.get("/orders/views", headers=as_person(shop_id, person))
    assert answer.status_code == 200, answer.text
    return [v["name"] for v in answer.json()["items"]]


async def test_each_person_keeps_their_own_views_by_name(app: OrderApp, shop_id: str) -> None:
    mia = as_person(shop_id, "mia")
    saved: list[dict[str, Any]] = []
    for name, query in (
        ("Zebra calls", "stage=call_back"),
        ("big ones", "sort=total&order=desc"),
        ("Ärger", "problem=true"),
    ):
        answer = await app.client.post("/orders/views", json={"name": name, "query": query}, headers=mia)
        assert answer.status_code == 201, answer.text
        saved.append(answer.json())
    assert saved[1]["query"] == "sort=total&order=desc"
    assert await names(app, shop_id, "mia") == ["Ärger", "big ones", "Zebra calls"], "by folded name"
    assert await names(app, shop_id, "tom") == [], "another person sees none of them"
    assert await names(app, f"other-{shop_id}", "mia") == [], "nor does the same id in another shop"

    taken = await app.client.post("/orders/views", json={"name": "  BIG   ones ", "query": "x=1"}, headers=mia)
    assert taken.status_code == 409 and taken.json()["errors"][0]["field"] == "name"
    page = await app.client.get("/orders/views", params={"limit": "2"}, headers=mia)
    rest = await app.client.get("/orders/views", params={"cursor": page.json()["next_cursor"]}, headers=mia)
    assert [v["name"] for v in rest.json()["items"]] == ["Zebra calls"]

    tom = as_person(shop_id, "tom")
    assert (await app.client.delete(f"/orders/views/{saved[0]['view_id']}", headers=tom)).status_code == 404
    assert (await app.client.delete(f"/orders/views/{saved[0]['view_id']}", headers=mia)).status_code == 204
    assert (await app.client.delete(f"/orders/views/{saved[0]['view_id']}", headers=mia)).status_code == 404
    assert await names(app, shop_id, "mia") == ["Ärger", "big ones"]
    again = await app.client.post("/orders/views", json={"name": "Zebra calls", "query": "stage=new"}, headers=mia)
    assert again.status_code == 201 and again.json()["view_id"] == saved[0]["view_id"]
    assert again.json()["query"] == "stage=new"


async def test_views_are_checked_bounded_and_for_office_staff(app: OrderApp, shop_id: str) -> None:
    ann = as_person(shop_id, "ann")
    blank = await app.client.post("/orders/views", json={"name": "   ", "query": ""}, headers=ann)
    assert blank.status_code == 422 and blank.json()["errors"][0]["field"] == "name"
    spaced = await app.client.post("/orders/views", json={"name": "x", "query": "a=1 b=2"}, headers=ann)
    assert spaced.status_code == 422 and spaced.json()["errors"][0]["field"] == "query"
    for i in range(MAX_VIEWS_PER_PERSON):
        made = await app.client.post("/orders/views", json={"name": f"v{i}", "query": f"q={i}"}, headers=ann)
        assert made.status_code == 201, made.text
    over = await app.client.post("/orders/views", json={"name": "one more", "query": ""}, headers=ann)
    assert over.status_code == 409
    courier = await app.client.get("/orders/views", headers=as_person(shop_id, "cy", role="courier"))
    assert courier.status_code == 403
