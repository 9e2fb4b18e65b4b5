"""A small client of the gateway's public API, as a storefront and as the demo shop's staff."""

from __future__ import annotations

from typing import Any

import httpx
from oms_contracts import new_id
from oms_testing import eventually

STAFF = {
    "admin": ("admin@demo.shop", "demo-admin-pass"),
    "manager": ("manager@demo.shop", "demo-manager-pass"),
    "warehouse": ("warehouse@demo.shop", "demo-warehouse-pass"),
    "courier": ("courier@demo.shop", "demo-courier-pass"),
}
FINAL_STAGES = ("completed", "out_of_stock", "cancelled")


def order_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer": {
            "name": "Anna Petrova",
            "email": f"anna+{new_id()[-6:]}@example.com",
            "phone": "+79990001122",
        },
        "address": {"country": "RU", "region": "Moscow", "city": "Moscow", "line1": "Tverskaya 1"},
        "lines": [{"sku": "TEA-GREEN-100", "quantity": 2}, {"sku": "MUG-CERAMIC", "quantity": 1}],
        "delivery_type": "courier",
        "payment_method": "cash_on_delivery",
    }
    body.update(overrides)
    return body


class Gateway:
    def __init__(self, base_url: str, storefront_key: str) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=20)
        self.storefront = {"X-API-Key": storefront_key}
        self._tokens: dict[str, dict[str, str]] = {}

    async def close(self) -> None:
        await self.http.aclose()

    async def as_staff(self, role: str) -> dict[str, str]:
        if role not in self._tokens:
            email, password = STAFF[role]
            r = await self.http.post("/api/v1/auth/login", json={"shop": "demo", "email": email, "password": password})
            assert r.status_code == 200, r.text
            self._tokens[role] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        return self._tokens[role]

    async def place(self, body: dict[str, Any], key: str | None = None) -> httpx.Response:
        headers = {**self.storefront, "Idempotency-Key": key or new_id()}
        return await self.http.post("/api/v1/orders", json=body, headers=headers)

    async def order(self, order_id: str) -> dict[str, Any]:
        r = await self.http.get(f"/api/v1/orders/{order_id}", headers=await self.as_staff("manager"))
        assert r.status_code == 200, r.text
        return r.json()

    async def wait_stage(self, order_id: str, *stages: str, timeout: float = 30) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            order = await self.order(order_id)
            return order if order["stage"] in stages else None

        return await eventually(probe, timeout=timeout, what=f"order {order_id} in {stages}")

    async def advance(self, order_id: str, stage: str, role: str = "manager") -> dict[str, Any]:
        """Wait for the order to reach the manual `stage`, then finish it as staff do."""
        await self.wait_stage(order_id, stage)
        r = await self.http.post(f"/api/v1/orders/{order_id}/advance", json={}, headers=await self.as_staff(role))
        assert r.status_code == 200, f"advance from {stage}: {r.status_code} {r.text}"
        return dict(r.json())

    async def list_shipments(self, order_id: str) -> list[dict[str, Any]]:
        r = await self.http.get(
            "/api/v1/shipments", params={"order_id": order_id}, headers=await self.as_staff("warehouse")
        )
        assert r.status_code == 200, r.text
        return list(r.json()["items"])

    async def shipments(self, order_id: str, expected: int | None = None) -> list[dict[str, Any]]:
        """The order's shipments, once there are some (or `expected` many)."""

        async def probe() -> list[dict[str, Any]] | None:
            items = await self.list_shipments(order_id)
            return items if items and (expected is None or len(items) == expected) else None

        return await eventually(probe, what=f"shipments of {order_id}")

    async def fulfil(self, order_id: str, expected_shipments: int | None = None) -> list[dict[str, Any]]:
        """Pick, pack (scanning every line), ship and deliver every shipment of the order."""
        done = []
        for shipment in await self.shipments(order_id, expected_shipments):
            sid = shipment["shipment_id"]
            scans = [{"sku": line["sku"], "quantity": line["quantity"]} for line in shipment["lines"]]
            warehouse, courier = await self.as_staff("warehouse"), await self.as_staff("courier")
            for action, body, headers in (
                ("pick", None, warehouse),
                ("pack", {"scans": scans}, warehouse),
                ("ship", {"carrier": "demo-courier"}, warehouse),
                ("deliver", None, courier),
            ):
                r = await self.http.post(f"/api/v1/shipments/{sid}/{action}", json=body, headers=headers)
                assert r.status_code == 200, f"{action}: {r.status_code} {r.text}"
            done.append(shipment)
        return done

    async def stock(self, sku: str) -> dict[str, dict[str, int]]:
        r = await self.http.get(
            "/api/v1/catalog/stock", params={"sku": sku, "limit": 100}, headers=await self.as_staff("admin")
        )
        assert r.status_code == 200, r.text
        return {
            item["warehouse_id"]: {k: item[k] for k in ("on_hand", "reserved", "available")}
            for item in r.json()["items"]
        }

    async def payments(self, order_id: str) -> list[dict[str, Any]]:
        r = await self.http.get(
            "/api/v1/payments", params={"order_id": order_id}, headers=await self.as_staff("manager")
        )
        assert r.status_code == 200, r.text
        return r.json()["items"]
