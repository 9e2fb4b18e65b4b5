"""The real Kafka broker and MongoDB-protocol server for tests, started by deploy/local/infra.sh.

Tests get their own instance (own data dir and ports) so `make test` never touches `make run`'s
data. Set OMS_KAFKA_BOOTSTRAP and OMS_MONGO_URL to run the tests against existing servers.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[4]
INFRA_SCRIPT = REPO / "deploy" / "local" / "infra.sh"


@dataclass(frozen=True)
class Infra:
    kafka_bootstrap: str
    mongo_url: str
    started_here: bool
    env: dict[str, str]


def test_infra_env() -> dict[str, str]:
    return {
        "OMS_LOCAL_DIR": os.environ.get("OMS_TEST_LOCAL_DIR", str(REPO / ".local" / "test")),
        "OMS_LOCAL_KAFKA_PORT": os.environ.get("OMS_TEST_KAFKA_PORT", "29092"),
        "OMS_LOCAL_KAFKA_CONTROLLER_PORT": os.environ.get("OMS_TEST_KAFKA_CONTROLLER_PORT", "29093"),
        "OMS_LOCAL_MONGO_PORT": os.environ.get("OMS_TEST_MONGO_PORT", "27019"),
    }


def start_infra() -> Infra:
    bootstrap = os.environ.get("OMS_KAFKA_BOOTSTRAP")
    mongo_url = os.environ.get("OMS_MONGO_URL")
    if bootstrap and mongo_url:
        return Infra(bootstrap, mongo_url, started_here=False, env={})
    env = test_infra_env()
    if not os.environ.get("OMS_TEST_KEEP_INFRA"):
        # Test data is disposable; starting empty keeps start-up time constant (a broker recovering
        # thousands of partitions of earlier runs' topics can miss its readiness deadline) and stops
        # whatever an interrupted run left behind.
        subprocess.run(["bash", str(INFRA_SCRIPT), "reset"], check=True, env={**os.environ, **env})
    subprocess.run(["bash", str(INFRA_SCRIPT), "start"], check=True, env={**os.environ, **env})
    return Infra(
        bootstrap or f"127.0.0.1:{env['OMS_LOCAL_KAFKA_PORT']}",
        mongo_url or f"mongodb://127.0.0.1:{env['OMS_LOCAL_MONGO_PORT']}",
        started_here=True,
        env=env,
    )


def stop_infra(infra: Infra) -> None:
    if infra.started_here and not os.environ.get("OMS_TEST_KEEP_INFRA"):
        subprocess.run(["bash", str(INFRA_SCRIPT), "stop"], check=False, env={**os.environ, **infra.env})
