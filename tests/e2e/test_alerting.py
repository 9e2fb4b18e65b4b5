"""Alerting end to end: the local Prometheus (make run's Procfile line, Debian's package) scrapes the
stack's services with the project's rules loaded; an alert fires, reaches the local Alertmanager,
which POSTs it with the bearer token to the notification service's receiver: the shop's admin finds
it in the staff inbox and in the mailbox.

The pair runs under a supervisord of the test's own, on free ports, started from the same Procfile
lines as `make run`'s.

The test-only rule fires at once (`for: 0s`) when the order service's count of placed orders goes
above the value read before: nothing but the order the test places can fire it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from oms_testing import eventually
from oms_testing.smtp import SmtpServer

from deploy.local import supervise
from tests.e2e.client import Gateway, order_body
from tests.e2e.stack import Stack, free_port

TOKEN = "e2e-alertmanager-token"
ALERT = "OmsE2eOrderPlaced"


def placed_orders(stack: Stack) -> float:
    text = httpx.get(f"{stack.url('order')}/metrics", timeout=10).text
    return sum(float(m.group(1)) for m in re.finditer(r"^oms_orders_placed_total\{[^}]*\} (\S+)$", text, re.M))


@pytest.fixture
def observability(stack: Stack, tmp_path: Path) -> Iterator[dict[str, str]]:
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
        "OMS_ALERTMANAGER_WEBHOOK_URL": f"{stack.url('notification')}/alertmanager/webhook",
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
async def test_an_alert_fired_by_the_local_prometheus_reaches_the_admins_inbox_and_mailbox(
    stack: Stack, gateway: Gateway, e2e_smtp: SmtpServer, observability: dict[str, str]
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

    placed = await gateway.place(order_body())
    assert placed.status_code == 201, placed.text

    # A platform alert (no shop label) reaches every known shop's admins: the demo shop's among them.
    admin = await gateway.as_staff("admin")

    async def in_the_inbox() -> list[dict[str, Any]]:
        r = await gateway.http.get("/api/v1/inbox", headers=admin)
        assert r.status_code == 200, r.text
        items = [i for i in r.json()["items"] if i["kind"] == "alert" and ALERT in i["title"]]
        assert items, "no alert in the admin's inbox yet"
        return items

    items = await eventually(in_the_inbox, timeout=90, what=f"{ALERT} in the admin's inbox")
    assert [i["title"] for i in items] == [f"Alert firing: {ALERT}"]

    def mailed() -> list[Any]:
        mails = [m for m in e2e_smtp.sink.to("admin@demo.shop") if ALERT in str(m["Subject"])]
        assert mails, "no alert email yet"
        return mails

    assert len(await eventually(mailed, timeout=60, what=f"{ALERT} in the admin's mailbox")) == 1
    # Alertmanager holds it too (what its UI shows).
    async with httpx.AsyncClient(timeout=10) as client:
        r = await client.get(f"{alertmanager}/api/v2/alerts", params={"filter": f"alertname={ALERT}"})
    assert r.status_code == 200 and [a["labels"]["alertname"] for a in r.json()] == [ALERT]
