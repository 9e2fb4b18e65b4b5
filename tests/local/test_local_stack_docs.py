"""The local stack tells the truth about its ports: the README lists every port setting the infra
script reads, and the demo flow the banner suggests talks to the stack that was started."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_the_readme_lists_every_local_server_port_setting() -> None:
    infra = (REPO / "deploy" / "local" / "infra.sh").read_text(encoding="utf-8")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    settings = set(re.findall(r"OMS_LOCAL_[A-Z_]+_PORT", infra))
    assert settings
    assert not {s for s in settings if f"`{s}`" not in readme}


def demo_flow() -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo_flow", REPO / "deploy" / "local" / "demo_flow.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_demo_flow_finds_a_gateway_on_another_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMS_PUBLIC_URL", raising=False)
    monkeypatch.setenv("OMS_GATEWAY_PORT", "9400")
    assert demo_flow().default_gateway() == "http://127.0.0.1:9400"


def test_the_banner_names_the_gateway_for_the_demo_flow() -> None:
    ports = {
        f"OMS_{s}_PORT": str(9400 + i)
        for i, s in enumerate(
            (
                "GATEWAY",
                "ORDER",
                "CATALOG",
                "PAYMENT",
                "FULFILMENT",
                "NOTIFICATION",
                "MESSAGING",
                "GROUPBUY",
                "CONSOLE",
                "WEBHOOKS",
            )
        )
    }
    env = {
        **ports,
        "OMS_GATEWAY_METRICS_PORT": "9499",
        "OMS_PUBLIC_URL": "http://127.0.0.1:9400",
        "OMS_MAILDIR": "/tmp/mail",
        "OMS_KAFKA_BOOTSTRAP": "127.0.0.1:29494",
        "OMS_MONGO_URL": "mongodb://127.0.0.1:29496",
        "OMS_PROMETHEUS_PORT": "9490",
        "OMS_ALERTMANAGER_PORT": "9493",
        "OMS_ALERTMANAGER_WEBHOOK_URL": "http://127.0.0.1:9405/alertmanager/webhook",
    }
    banner = subprocess.run(
        [sys.executable, "-m", "deploy.local.banner", "--since", "0"],
        cwd=REPO,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "demo_flow.py --gateway http://127.0.0.1:9400 <order_id>" in banner
    assert "gateway       http://127.0.0.1:9499/metrics" in banner
    assert "Prometheus         http://127.0.0.1:9490" in banner
    assert "Alertmanager       http://127.0.0.1:9493   (posts alerts to http://127.0.0.1:9405/alertmanager/" in banner
