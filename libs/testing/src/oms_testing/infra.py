"""The real Kafka broker and MongoDB-protocol server for tests, started by deploy/local/infra.sh.

Tests get their own instance (own data dir and ports) so `make test` never touches `make run`'s
data. Set OMS_KAFKA_BOOTSTRAP and OMS_MONGO_URL to run the tests against existing servers.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from oms_contracts import new_id
from oms_runtime.mongo import Document, create_mongo_client
from oms_runtime.settings import ServiceSettings
from pymongo.asynchronous.database import AsyncDatabase

S = TypeVar("S", bound=ServiceSettings)

REPO = Path(__file__).resolve().parents[4]
INFRA_SCRIPT = REPO / "deploy" / "local" / "infra.sh"


@dataclass(frozen=True)
class Infra:
    kafka_bootstrap: str
    mongo_url: str
    started_here: bool
    env: dict[str, str]

    def settings(self, settings_class: type[S], topic_prefix: str, db: str, **overrides: Any) -> S:
        """A service's settings for a test: these servers, the module's topic prefix, a database of its
        own (`test_<db>_<random>`, so modules never share data); `overrides` tune the rest.

            settings = infra.settings(OrderSettings, topic_prefix, "order", relay_poll_seconds=0.2)
        """
        return settings_class(
            kafka_bootstrap=self.kafka_bootstrap,
            mongo_url=self.mongo_url,
            mongo_db=f"test_{db}_{new_id()[-8:]}",
            topic_prefix=topic_prefix,
            **overrides,
        )


@asynccontextmanager
async def service_database(settings: ServiceSettings) -> AsyncIterator[AsyncDatabase[Document]]:
    """The database of a service under test, for a test to arrange or inspect what the service keeps.

    @pytest.fixture
    async def db(settings: PaymentSettings) -> AsyncIterator[AsyncDatabase[Document]]:
        async with service_database(settings) as database:
            yield database
    """
    mongo = create_mongo_client(settings)
    try:
        yield mongo[settings.database_name]
    finally:
        await mongo.close()


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
