"""Drive an order of the demo shop to the end through the gateway, as warehouse staff and courier.

    .venv/bin/python deploy/local/demo_flow.py [--gateway http://127.0.0.1:8000] <order_id>

The gateway's URL: --gateway, else OMS_PUBLIC_URL, else OMS_GATEWAY_PORT on 127.0.0.1 (the
banner of `make run` prints the command with the URL of the stack it started).

As the manager, finishes the call-back stage; waits for the shipments (created when picking
starts), picks, packs with a scan of every line, ships, delivers; as the manager finishes the
courier call; then shows the order's stage history.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import httpx


def default_gateway() -> str:
    return os.environ.get("OMS_PUBLIC_URL") or f"http://127.0.0.1:{os.environ.get('OMS_GATEWAY_PORT', '8000')}"


def login(client: httpx.Client, email: str, password: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"shop": "demo", "email": email, "password": password})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def until(what: str, probe: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.3)
    raise SystemExit(f"timed out waiting for {what}")


def main(order_id: str, gateway: str) -> None:
    with httpx.Client(base_url=gateway, timeout=15) as client:
        warehouse = login(client, "warehouse@demo.shop", "demo-warehouse-pass")
        courier = login(client, "courier@demo.shop", "demo-courier-pass")
        manager = login(client, "manager@demo.shop", "demo-manager-pass")

        def shipments() -> list[dict[str, Any]]:
            r = client.get("/api/v1/shipments", params={"order_id": order_id}, headers=warehouse)
            r.raise_for_status()
            return r.json()["items"]

        def order_now() -> dict[str, Any]:
            r = client.get(f"/api/v1/orders/{order_id}", headers=manager)
            r.raise_for_status()
            return dict(r.json())

        def advance_from(stage: str) -> None:
            """The manager finishes a manual stage of the store pipeline (call-back, courier call)."""
            until(f"the order in {stage}", lambda: order_now().get("stage") == stage)
            r = client.post(f"/api/v1/orders/{order_id}/advance", json={}, headers=manager)
            r.raise_for_status()
            print(f"manager advanced the order from {stage} to {r.json()['stage']}")

        placed = order_now()
        advance_from("call_back")  # both built-in pipelines start with a call-back
        found = until("shipments", shipments)
        for shipment in found:
            sid = shipment["shipment_id"]
            scans = [{"sku": line["sku"], "quantity": line["quantity"]} for line in shipment["lines"]]
            for action, body, who in (
                ("pick", None, warehouse),
                ("pack", {"scans": scans}, warehouse),
                ("ship", {"carrier": "demo-courier"}, warehouse),
                ("deliver", None, courier),
            ):
                r = client.post(f"/api/v1/shipments/{sid}/{action}", json=body, headers=who)
                r.raise_for_status()
                print(f"shipment {sid} from {shipment['warehouse_id']}: {action} -> {r.json()['status']}")

        if placed["pipeline"].startswith("store@") and placed["delivery_type"] in ("courier", "carrier"):
            advance_from("courier_call")

        def final_order() -> dict[str, Any] | None:
            order = client.get(f"/api/v1/orders/{order_id}", headers=manager).json()
            return order if order.get("stage") in ("completed", "cancelled", "out_of_stock") else None

        order = until("the order to complete", final_order)
        print(f"order #{order['number']} is {order['stage']} ({order['status']})")
        for step in order.get("stage_history", []):
            print(f"  {step['stage']:<18} {step.get('seconds') or 0:8.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("order_id")
    parser.add_argument("--gateway", default=default_gateway(), help="the gateway's base URL")
    args = parser.parse_args()
    main(args.order_id, args.gateway.rstrip("/"))
