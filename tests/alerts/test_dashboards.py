"""The Grafana dashboards in the chart (charts/oms/files/grafana): every panel's PromQL parses (promtool
checks it as a recording rule) and names only metrics that some OMS service really exports.

The exported names are read from the registries the services fill, not from a list kept here: every
service's `metrics.py` module (imported, so its metrics register on prometheus_client's REGISTRY),
libs/runtime's (consumer, relay), the order service's SLA gauges (a collector of its runtime's own
registry) and the HTTP middleware's metrics (driven by one request through the same Prometheus
middleware configuration the services use).
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from litestar import Litestar, get
from litestar.plugins.prometheus import PrometheusConfig
from litestar.testing import TestClient
from oms_runtime.clock import FixedClock
from oms_runtime.metrics import HTTP_METRICS_PREFIX
from oms_testing.tools import promtool_bin
from prometheus_client import REGISTRY, CollectorRegistry

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((ROOT / "charts" / "oms" / "files" / "grafana").glob("*.json"))
RULES = sorted((ROOT / "deploy" / "prometheus" / "rules").glob("*.y*ml"))
# Series Prometheus makes itself: scrape health and the alerts' state.
PROMETHEUS_SERIES = {"up", "ALERTS", "ALERTS_FOR_STATE"}
# Grafana's variables, replaced by a value of the same kind before promtool parses the expression.
GRAFANA_VARIABLES = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h", "shop": ".*", "service": ".*"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "and", "or", "unless"}
KEYWORDS |= {"inf", "nan"}
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "info": ("_info",),
}


@get("/probe", sync_to_thread=False)
def probe() -> str:
    return "ok"


def exported_metric_names() -> set[str]:
    for module in sorted((ROOT / "services").glob("*/src/oms_*/metrics.py")):
        importlib.import_module(f"{module.parent.name}.metrics")
    importlib.import_module("oms_runtime.metrics")
    # The HTTP metrics are created by the middleware on the first request.
    app = Litestar(
        route_handlers=[probe],
        middleware=[PrometheusConfig(app_name="probe", prefix=HTTP_METRICS_PREFIX, group_path=True).middleware],
    )
    with TestClient(app) as client:
        assert client.get("/probe").status_code == 200
    # The SLA gauges exist only while their replica holds the loop's lease: publish one count.
    from oms_order.application.ports import StageCount
    from oms_order.sla_gauges import StageGauges

    now = datetime(2026, 1, 1, tzinfo=UTC)
    gauges = StageGauges(FixedClock(now))
    gauges.publish([StageCount("shop", "new", 1, 0, 3600.0)], valid_until=now + timedelta(minutes=1))
    runtime_registry = CollectorRegistry(auto_describe=False)
    runtime_registry.register(gauges)
    names: set[str] = set()
    for registry in (REGISTRY, runtime_registry):
        for family in registry.collect():
            names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
            names |= {sample.name for sample in family.samples}
    return names


def dashboard_queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, PromQL) of every panel target, and the metric of every `label_values(metric, label)` variable."""
    queries: list[tuple[str, str]] = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            queries.append((f"panel {panel['id']} {panel['title']!r} {target['refId']}", target["expr"]))
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            match = re.fullmatch(r"label_values\((.+),\s*\w+\)", variable["definition"])
            assert match, f"variable {variable['name']}: only label_values(<selector>, <label>) is used"
            queries.append((f"variable {variable['name']}", match.group(1)))
    return queries


def substitute_variables(expr: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        assert name in GRAFANA_VARIABLES, f"unknown Grafana variable ${name} in {expr}"
        return GRAFANA_VARIABLES[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, expr)


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (not functions, keywords, labels or durations)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges and subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)  # label lists
    text = re.sub(r"\boffset\s+\w+", "", text)
    names = set()
    for match in re.finditer(r"(?<![\w.])([A-Za-z_:][\w:]*)(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if not call and name.lower() not in KEYWORDS:
            names.add(name)
    return names


def recorded_names() -> set[str]:
    return {
        rule["record"]
        for path in RULES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "record" in rule
    }


@pytest.fixture(scope="module")
def exported() -> set[str]:
    return exported_metric_names()


def test_the_metric_name_extraction() -> None:
    expr = (
        "histogram_quantile(0.95, sum by (app_name, le) "
        '(rate(oms_http_request_duration_seconds_bucket{status_code=~"5.."}[5m])))'
        " / clamp_min(sum without (x) (up offset 1h), 1e-9) > on (a) group_left (b) ALERTS and oms:x:y"
    )
    assert metric_names(expr) == {"oms_http_request_duration_seconds_bucket", "up", "ALERTS", "oms:x:y"}


def test_the_registries_hold_what_the_services_export(exported: set[str]) -> None:
    assert {
        "oms_http_requests_total",
        "oms_http_request_duration_seconds_bucket",
        "oms_messages_consumed_total",
        "oms_outbox_relay_delay_seconds_bucket",
        "oms_orders_in_stage",
        "oms_orders_placed_total",
    } <= exported


def test_there_are_the_two_dashboards() -> None:
    assert {p.name for p in DASHBOARDS} == {"oms-ops-overview.json", "oms-platform.json"}
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(ids) == len(set(ids)), f"{path.name}: duplicate panel ids"
        assert dashboard["uid"] == path.stem


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_panel_query_parses(path: Path, tmp_path: Path) -> None:
    queries = dashboard_queries(json.loads(path.read_text()))
    assert queries
    rules = {
        "groups": [
            {
                "name": path.stem,
                "rules": [
                    {"record": f"dashboard:query_{i}", "expr": substitute_variables(expr)}
                    for i, (_, expr) in enumerate(queries)
                ],
            }
        ]
    }
    rules_file = tmp_path / "dashboard-rules.yml"
    rules_file.write_text(yaml.safe_dump(rules))
    result = subprocess.run(
        [promtool_bin(), "check", "rules", str(rules_file)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(queries)} rules found" in result.stdout


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_panel_names_only_exported_metrics(path: Path, exported: set[str]) -> None:
    unknown = {
        where: sorted(names)
        for where, expr in dashboard_queries(json.loads(path.read_text()))
        if (names := metric_names(substitute_variables(expr)) - exported - PROMETHEUS_SERIES)
    }
    assert not unknown, f"{path.name}: metrics no service exports: {unknown}"


def test_the_alert_rules_name_only_exported_or_recorded_metrics(exported: set[str]) -> None:
    known = exported | PROMETHEUS_SERIES | recorded_names()
    unknown = {
        rule.get("alert") or rule["record"]: sorted(metric_names(rule["expr"]) - known)
        for path in RULES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if metric_names(rule["expr"]) - known
    }
    assert not unknown, f"rules naming metrics no service exports: {unknown}"
