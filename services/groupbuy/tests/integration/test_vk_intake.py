"""The VK Callback API endpoint against the real stores, with recorded bodies of the documented format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from oms_testing.http import internal_headers

from .conftest import purchase_body

RECORDED = Path(__file__).parent.parent / "fixtures" / "vk"
GROUP_ID = 218877123


def recorded(name: str) -> bytes:
    return (RECORDED / f"{name}.json").read_bytes()


async def test_vk_confirms_and_its_orders_become_participants_once(client: Any, shop_id: str) -> None:
    admin = internal_headers(shop_id, role="admin")
    gateway_only = {"x-oms-internal-token": "dev-internal-token", "content-type": "application/json"}
    url = f"/vk/callback/{GROUP_ID}"

    # Before the community is connected: VK gets "ok", nothing is confirmed or taken.
    r = await client.post(url, content=recorded("confirmation"), headers=gateway_only)
    assert (r.status_code, r.text) == (200, "ok")
    r = await client.put(
        f"/vk/groups/{GROUP_ID}", json={"secret": "vk-callback-secret-1", "confirmation": "a1b2c3d4"}, headers=admin
    )
    assert r.status_code == 200 and r.json()["callback_path"] == f"/webhooks/vk/{GROUP_ID}"
    other_shop = internal_headers(f"shop-other-{shop_id}", role="admin")
    r = await client.put(
        f"/vk/groups/{GROUP_ID}", json={"secret": "another-secret", "confirmation": "x"}, headers=other_shop
    )
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "group_id"

    r = await client.post(url, content=recorded("confirmation"), headers=gateway_only)
    assert (r.status_code, r.text, r.headers["content-type"].split(";")[0]) == (200, "a1b2c3d4", "text/plain")

    pid = (await client.post("/purchases", json=purchase_body(), headers=admin)).json()["id"]
    for name in ("market_order_new", "market_order_new", "market_order_edit"):
        r = await client.post(url, content=recorded(name), headers=gateway_only)
        assert (r.status_code, r.text) == (200, "ok")
    forged = recorded("market_order_new").replace(b"vk-callback-secret-1", b"vk-callback-secret-2")
    assert (await client.post(url, content=forged, headers=gateway_only)).text == "ok"
    assert (await client.post(url, content=b"\x00garbage", headers=gateway_only)).text == "ok"

    rows = (await client.get(f"/purchases/{pid}/table", headers=admin)).json()["items"]
    assert [(row["name"], row["items"], row["currency"]) for row in rows] == [
        ("Ирина Смирнова", "DRESS-Mx1, SCARFx1", "RUB")
    ]
    assert rows[0]["contact"] == "vk:730451102, +79990001122"
    assert rows[0]["goods"]["amount"] == "1333.33"

    # Only the gateway may post here.
    r = await client.post(url, content=recorded("market_order_new"), headers={"content-type": "application/json"})
    assert r.status_code == 401
