from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from litestar.testing import AsyncTestClient
from oms_contracts import new_id
from oms_gateway.bootstrap import create_app
from oms_gateway.settings import GatewaySettings
from oms_testing.infra import Infra

from .echo_upstream import EchoServer, free_port

ADMIN = ("admin@demo.shop", "admin-password")
WAREHOUSE = ("wh@demo.shop", "warehouse-password")
API_KEY = "demo.storefront-secret-123"


@dataclass
class Stack:
    client: AsyncTestClient  # type: ignore[type-arg]
    settings: GatewaySettings
    echo: EchoServer
    slug: str
    bootstrap_output: str


def gateway_env(settings: GatewaySettings) -> dict[str, str]:
    return {
        **os.environ,
        "OMS_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "OMS_MONGO_URL": settings.mongo_url,
        "OMS_MONGO_DB": settings.database_name,
        "OMS_TOPIC_PREFIX": settings.topic_prefix,
        "OMS_LOG_LEVEL": "WARNING",
    }


async def run_bootstrap(settings: GatewaySettings, slug: str) -> str:
    """Run the real CLI role in its own process, as an operator would."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "oms_gateway",
        "bootstrap-shop",
        "--slug",
        slug,
        "--name",
        "Demo shop",
        "--currency",
        "RUB",
        "--admin-email",
        ADMIN[0],
        "--admin-password",
        ADMIN[1],
        "--staff",
        f"warehouse:{WAREHOUSE[0]}:{WAREHOUSE[1]}",
        "--api-key",
        API_KEY,
        env=gateway_env(settings),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode()


@pytest.fixture(scope="module")
async def stack(infra: Infra, topic_prefix: str) -> AsyncIterator[Stack]:
    echo = EchoServer()
    await echo.start()
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there: a service that is down
    settings = infra.settings(
        GatewaySettings,
        topic_prefix,
        "gateway",
        jwt_secret=new_id() + new_id(),
        internal_token="test-internal-token",
        order_url=echo.url,
        catalog_url=echo.url,
        payment_url=echo.url,
        fulfilment_url=echo.url,
        messaging_url=echo.url,
        notification_url=dead,
        login_burst=100,
        metrics_port=0,
    )
    slug = f"demo-{new_id()[-8:]}"
    output = await run_bootstrap(settings, slug)
    app = create_app(settings)
    try:
        async with AsyncTestClient(app) as client:
            yield Stack(client, settings, echo, slug, output)
    finally:
        await echo.stop()
