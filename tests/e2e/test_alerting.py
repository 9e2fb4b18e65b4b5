"""Alerting end to end: the local Prometheus (make run's Procfile line, Debian's package) scrapes the
stack's services with the project's rules loaded; an alert fires, reaches the local Alertmanager,
which POSTs it to the webhook URL with the bearer token.

The pair runs under a supervisord of the test's own, on free ports, started from the same Procfile
lines as `make run`'s. The webhook is a stub receiver here (the notification service's receiver,
/alerts/alertmanager, is another branch's work: when it is merged, point OMS_ALERTMANAGER_WEBHOOK_URL
at it and assert the inbox item and the admin's email instead).

The test-only rule fires at once (`for: 0s`) when the order service's count of placed orders goes
above the value read before: nothing but the order the test places can fire it.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from oms_testing import eventually

from deploy.local import supervise
from tests.e2e.client import Gateway, order_body
from tests.e2e.stack import Stack, free_port

TOKEN = "e2e-alertmanager-token"
ALERT = "OmsE2eOrderPlaced"


class Receiver:
    """A webhook receiver that keeps every POST (path, headers, JSON body)."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        received = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(body)})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/alerts/alertmanager"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def placed_orders(stack: Stack) -> float:
    text = httpx.get(f"{stack.url('order')}/metrics", timeout=10).text
    return sum(float(m.group(1)) for m in re.finditer(r"^oms_orders_placed_total\{[^}]*\} (\S+)$", text, re.M))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
def observability(stack: Stack, receiver: Receiver, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Prometheus and Alertmanager from make run's Procfile lines, on free ports, with one test rule."""
    threshold = placed_orders(stack)
    rules = tmp_path / "e2e-rules.yml"
    rules.write_text(
        yaml.safe_dump(
            {
                "groups": [
                    {
                        "name": "e2e",
                        "rules": [
                            {
                                "alert": ALERT,
                                "expr": f'sum(oms_orders_placed_total{{service="oms-order"}}) > {threshold}',
                                "for": "0s",
                                "labels": {"severity": "info"},
                                "annotations": {"summary": "an order was placed"},
                            }
                        ],
                    }
                ]
            }
        )
    )
    env = {
        **stack.env,
        "OMS_LOCAL_DIR": str(tmp_path),
        "OMS_PROMETHEUS_PORT": str(free_port()),
        "OMS_ALERTMANAGER_PORT": str(free_port()),
        "OMS_PROMETHEUS_INTERVAL": "1s",
        "OMS_PROMETHEUS_EXTRA_RULES": str(rules),
        "OMS_ALERTMANAGER_GROUP_WAIT": "1s",
        "OMS_ALERTMANAGER_GROUP_INTERVAL": "1s",
        "OMS_ALERTMANAGER_WEBHOOK_URL": receiver.url,
        "OMS_ALERTMANAGER_TOKEN": TOKEN,
    }
    others = set(supervise.procfile_lines()) - set(supervise.OBSERVABILITY)
    supervisor = supervise.Supervisor(tmp_path / "supervisor", env, log_dir=tmp_path, exclude=others)
    supervisor.start()
    try:
        yield {
            "prometheus": f"http://127.0.0.1:{env['OMS_PROMETHEUS_PORT']}",
            "alertmanager": f"http://127.0.0.1:{env['OMS_ALERTMANAGER_PORT']}",
            "logs": str(tmp_path),
        }
    finally:
        supervisor.shutdown()


async def api(url: str) -> Any:
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            r = await client.get(url)
    except httpx.TransportError as exc:  # not listening yet: `eventually` retries an AssertionError
        raise AssertionError(f"{url}: {exc!r}") from exc
    assert r.status_code == 200, r.text
    return r.json()["data"]


@pytest.mark.timeout(int(os.environ.get("OMS_E2E_READY_SECONDS", "90")) + 300)
async def test_an_alert_fired_by_the_local_prometheus_reaches_the_webhook(
    stack: Stack, gateway: Gateway, receiver: Receiver, observability: dict[str, str]
) -> None:
    prometheus, alertmanager = observability["prometheus"], observability["alertmanager"]

    async def every_service_scraped() -> bool:
        targets = (await api(f"{prometheus}/api/v1/targets"))["activeTargets"]
        health = {t["labels"]["service"]: t["health"] for t in targets}
        assert health == {f"oms-{s}": "up" for s in supervise.SERVICES}, health
        return True

    await eventually(every_service_scraped, timeout=120, what="Prometheus scraping every service")

    async def rules_loaded() -> dict[str, Any]:
        groups = (await api(f"{prometheus}/api/v1/rules"))["groups"]
        rules = {r["name"]: r for g in groups for r in g["rules"]}
        assert {"OmsOrdersOverdue", "OmsConsumerLag", "OmsServiceDown", ALERT} <= set(rules), sorted(rules)
        assert rules[ALERT].get("lastEvaluation", "").startswith("20"), rules[ALERT]
        return rules

    rules = await eventually(rules_loaded, timeout=60, what="the project's rules and the test rule evaluated")
    assert rules[ALERT]["state"] == "inactive"  # nothing has moved the metric yet
    assert rules["OmsServiceDown"]["state"] == "inactive"  # every service is up
    assert receiver.posts == []

    placed = await gateway.place(order_body())
    assert placed.status_code == 201, placed.text

    def delivered() -> dict[str, Any]:
        posts = [
            p
            for p in receiver.posts
            if any(a["labels"]["alertname"] == ALERT and a["status"] == "firing" for a in p["body"]["alerts"])
        ]
        assert posts, f"webhook posts so far: {receiver.posts}"
        return posts[0]

    post = await eventually(delivered, timeout=60, what=f"{ALERT} delivered to the webhook")
    assert post["path"] == "/alerts/alertmanager"
    assert post["headers"]["Authorization"] == f"Bearer {TOKEN}"
    body = post["body"]
    assert body["version"] == "4" and body["receiver"] == "oms-notification"
    alert = next(a for a in body["alerts"] if a["labels"]["alertname"] == ALERT)
    assert alert["labels"]["severity"] == "info" and alert["annotations"]["summary"] == "an order was placed"
    # Alertmanager holds it too (what its UI shows).
    async with httpx.AsyncClient(timeout=10) as client:
        r = await client.get(f"{alertmanager}/api/v2/alerts", params={"filter": f"alertname={ALERT}"})
    assert r.status_code == 200 and [a["labels"]["alertname"] for a in r.json()] == [ALERT]
