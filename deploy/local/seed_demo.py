"""Demo data for `make run`, through the gateway's public API as the demo shop's admin.

Idempotent: SKUs are upserted, warehouses and receipts carry fixed ids, so a second run changes nothing.
Another shop gets the same data with OMS_SEED_SHOP, OMS_SEED_ADMIN_EMAIL and OMS_SEED_ADMIN_PASSWORD
(the end-to-end fuzzing seeds a shop of its own, so it never changes the demo shop other tests use).
"""

from __future__ import annotations

import os
import sys

import httpx

GATEWAY = os.environ.get("OMS_PUBLIC_URL", "http://127.0.0.1:8000")
SHOP = os.environ.get("OMS_SEED_SHOP", "demo")
ADMIN_EMAIL = os.environ.get("OMS_SEED_ADMIN_EMAIL", "admin@demo.shop")
ADMIN_PASSWORD = os.environ.get("OMS_SEED_ADMIN_PASSWORD", "demo-admin-pass")
WAREHOUSES = [
    {"id": "wh-moscow", "name": "Moscow central", "region": "Moscow"},
    {"id": "wh-spb", "name": "Saint Petersburg north", "region": "Saint Petersburg"},
]
SKUS = [
    ("TEA-GREEN-100", "Green tea, 100 g", "350.00"),
    ("TEA-BLACK-100", "Black tea, 100 g", "290.00"),
    ("MUG-CERAMIC", "Ceramic mug 350 ml", "780.00"),
    ("KETTLE-GLASS", "Glass kettle 1 l", "2490.00"),
]
STOCK = {  # (sku, warehouse) -> quantity received
    ("TEA-GREEN-100", "wh-moscow"): 40,
    ("TEA-BLACK-100", "wh-moscow"): 25,
    ("MUG-CERAMIC", "wh-moscow"): 10,
    ("TEA-GREEN-100", "wh-spb"): 15,
    ("MUG-CERAMIC", "wh-spb"): 30,
    ("KETTLE-GLASS", "wh-spb"): 5,
}


def check(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 400:
        print(
            f"seed: {response.request.method} {response.request.url} -> {response.status_code} {response.text}",
            file=sys.stderr,
        )
        response.raise_for_status()
    return response


def main() -> None:
    with httpx.Client(base_url=GATEWAY, timeout=15) as client:
        token = check(
            client.post(
                "/api/v1/auth/login",
                json={"shop": SHOP, "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
            )
        ).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        for warehouse in WAREHOUSES:
            created = client.post("/api/v1/catalog/warehouses", json=warehouse)
            if created.status_code != 409:  # 409: it exists from an earlier run
                check(created)
        for sku, name, price in SKUS:
            check(
                client.put(
                    f"/api/v1/catalog/skus/{sku}",
                    json={
                        "name": name,
                        "price": {"amount": price, "currency": "RUB"},
                        "active": True,
                    },
                )
            )
        for (sku, warehouse_id), quantity in STOCK.items():
            check(
                client.post(
                    "/api/v1/catalog/stock/receipts",
                    json={
                        "receipt_id": f"demo-{sku}-{warehouse_id}",
                        "sku": sku,
                        "warehouse_id": warehouse_id,
                        "quantity": quantity,
                        "note": "demo opening stock",
                    },
                )
            )
    print(f"seed: {SHOP} shop has {len(SKUS)} SKUs in {len(WAREHOUSES)} warehouses")


if __name__ == "__main__":
    main()
