"""The Prometheus rules in deploy/prometheus: valid, unit-tested with promtool, shipped by the chart."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from oms_testing.tools import promtool_bin

ROOT = Path(__file__).resolve().parents[2]
RULES = sorted((ROOT / "deploy" / "prometheus" / "rules").glob("*.y*ml"))
RULE_TESTS = sorted((ROOT / "deploy" / "prometheus" / "tests").glob("*.y*ml"))
CHART_COPIES = ROOT / "charts" / "oms" / "files" / "prometheus"
ALERTS_REQUIRED = {"OmsOrdersOverdue", "OmsOrderStageP95AboveLimit", "OmsConsumerLag", "OmsDeadLetterTraffic"}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool_bin(), *args], capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_the_rule_files_are_valid() -> None:
    assert RULES, "no rule files under deploy/prometheus/rules"
    result = promtool("check", "rules", *map(str, RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_passes_its_promtool_unit_tests() -> None:
    assert RULE_TESTS, "no promtool tests under deploy/prometheus/tests"
    result = promtool("test", "rules", *map(str, RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_issue_s_alerts_exist_and_each_is_unit_tested() -> None:
    alerts = {
        rule["alert"]
        for path in RULES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    assert alerts >= ALERTS_REQUIRED
    tested = {
        case["alertname"]
        for path in RULE_TESTS
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
    }
    assert alerts <= tested, f"alerts without a promtool test: {sorted(alerts - tested)}"


@pytest.mark.parametrize("rules", RULES, ids=lambda p: p.name)
def test_the_chart_ships_the_same_rules(rules: Path) -> None:
    copy = CHART_COPIES / rules.name
    assert copy.exists(), f"{copy} missing: run `make chart-sync`"
    assert copy.read_text() == rules.read_text(), f"{copy} differs from {rules}: run `make chart-sync`"


def test_the_chart_has_no_stale_rule_files() -> None:
    assert {p.name for p in CHART_COPIES.glob("*.y*ml")} == {p.name for p in RULES}
