"""What `make run` prints once the stack is ready: where to look and an order to paste."""

from __future__ import annotations

import argparse
import os
import time

from deploy.local.supervise import SERVICES  # the one list of the stack's services


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--since", type=float, required=True)
    args = parser.parse_args()
    gw = os.environ["OMS_PUBLIC_URL"]
    ports = {s: os.environ[f"OMS_{s.upper()}_PORT"] for s in SERVICES}
    ports["gateway"] = os.environ["OMS_GATEWAY_METRICS_PORT"]  # never on the public port
    prometheus = f"http://127.0.0.1:{os.environ['OMS_PROMETHEUS_PORT']}"
    alertmanager = f"http://127.0.0.1:{os.environ['OMS_ALERTMANAGER_PORT']}"
    webhook = os.environ["OMS_ALERTMANAGER_WEBHOOK_URL"]
    metrics = "\n".join(f"  {s:<13} http://127.0.0.1:{port}/metrics" for s, port in ports.items())
    print(
        f"""
================================================================================
 OMS is running (ready in {time.time() - args.since:.1f} s).  Ctrl-C (or `make stop` elsewhere) stops everything.

 Gateway API        {gw}/api/v1
 Warehouse pages    {gw}/warehouse/   (pick list, pack station, hand-over; sign in as warehouse@demo.shop)
 Operations console {gw}/console/     (stage board, order list, order card; sign in as manager@demo.shop)
 OpenAPI docs       {gw}/schema   (Swagger UI: {gw}/schema/swagger)
 Each service's OpenAPI: http://127.0.0.1:<port>/schema ; metrics:
{metrics}
 Prometheus         {prometheus}   (alerts: /alerts; rules from deploy/prometheus/rules)
 Alertmanager       {alertmanager}   (posts alerts to {webhook})
 Emails (SMTP sink) {os.environ["OMS_MAILDIR"]}  (maildir: new/ holds each message)
 Kafka              {os.environ["OMS_KAFKA_BOOTSTRAP"]}    MongoDB {os.environ["OMS_MONGO_URL"]}

 Demo shop "demo": admin@demo.shop / demo-admin-pass, manager@demo.shop / demo-manager-pass,
 warehouse@demo.shop / demo-warehouse-pass, courier@demo.shop / demo-courier-pass
 Storefront API key: demo.storefront-secret-key

 Place an order as the storefront:

 curl -s {gw}/api/v1/orders -H 'X-API-Key: demo.storefront-secret-key' \\
   -H 'Content-Type: application/json' -H "Idempotency-Key: demo-$(date +%s%N)" -d '{{
     "customer": {{"name": "Anna Petrova", "email": "anna@example.com", "phone": "+79990001122"}},
     "address": {{"country": "RU", "region": "Moscow", "city": "Moscow", "line1": "Tverskaya 1"}},
     "lines": [{{"sku": "TEA-GREEN-100", "quantity": 2}}, {{"sku": "MUG-CERAMIC", "quantity": 1}}],
     "delivery_type": "courier", "payment_method": "cash_on_delivery"}}'

 Then drive it to Completed as manager, warehouse staff and courier (call-back, pick, pack with
 scans, courier call, ship, deliver):

 .venv/bin/python deploy/local/demo_flow.py --gateway {gw} <order_id>
================================================================================
""",
        flush=True,
    )


if __name__ == "__main__":
    main()
