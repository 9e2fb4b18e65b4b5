"""The running stack for end-to-end tests: started once per session, driven through the gateway only."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from oms_contracts import new_id
from oms_runtime.topics import create_topics
from oms_testing.infra import Infra
from oms_testing.smtp import SmtpServer

from tests.e2e.client import Gateway
from tests.e2e.stack import REPO, Stack, stack_env

DEMO_STOREFRONT_KEY = "demo.storefront-secret-key"


@pytest.fixture(scope="session")
async def gateway(stack: Stack) -> AsyncIterator[Gateway]:
    """One client for the session: staff log in once (the gateway rate-limits logins per IP)."""
    client = Gateway(stack.gateway, DEMO_STOREFRONT_KEY)
    yield client
    await client.close()


@pytest.fixture(scope="session")
def e2e_smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stack(infra: Infra, e2e_smtp: SmtpServer) -> Iterator[Stack]:
    run_id = new_id()[-10:].replace("-", "")
    prefix = f"e2e{run_id}."
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, create_topics(infra.kafka_bootstrap, prefix=prefix)).result()
    log_dir = Path(os.environ.get("OMS_E2E_LOG_DIR", REPO / ".local" / "test" / f"e2e-{run_id}"))
    log_dir.mkdir(parents=True, exist_ok=True)
    env = stack_env(
        kafka_bootstrap=infra.kafka_bootstrap,
        mongo_url=infra.mongo_url,
        topic_prefix=prefix,
        run_id=run_id,
        smtp_port=e2e_smtp.port,
    )
    running = Stack(env=env, log_dir=log_dir)
    # The same demo shop and data as `make run`, through the same commands.
    running.run_cli(
        "-m",
        "oms_gateway",
        "bootstrap-shop",
        "--slug",
        "demo",
        "--name",
        "Demo shop",
        "--currency",
        "RUB",
        "--admin-email",
        "admin@demo.shop",
        "--admin-password",
        "demo-admin-pass",
        "--staff",
        "manager:manager@demo.shop:demo-manager-pass",
        "--staff",
        "warehouse:warehouse@demo.shop:demo-warehouse-pass",
        "--staff",
        "courier:courier@demo.shop:demo-courier-pass",
        "--api-key",
        DEMO_STOREFRONT_KEY,
    )
    running.start()
    try:
        # Nine services import and connect at once on two cores; a loaded machine (several test runs
        # at once) needs more: OMS_E2E_READY_SECONDS. A deadline, not a sleep: ready is ready.
        running.wait_ready(timeout=float(os.environ.get("OMS_E2E_READY_SECONDS", "240")))
        # Twice, as a second `make run` does: seeding must change nothing the second time.
        running.run_cli(str(REPO / "deploy" / "local" / "seed_demo.py"))
        running.run_cli(str(REPO / "deploy" / "local" / "seed_demo.py"))
        yield running
    finally:
        running.stop()
