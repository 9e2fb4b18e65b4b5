"""Fixtures every OMS test suite can use (registered as the `oms` pytest plugin)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from oms_contracts import new_id

from oms_testing.infra import Infra, start_infra, stop_infra
from oms_testing.smtp import SmtpServer


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    """The real Kafka broker and MongoDB-protocol server (started once per test session)."""
    started = start_infra()
    yield started
    stop_infra(started)


@pytest.fixture(scope="module")
def topic_prefix(infra: Infra) -> str:
    """A topic namespace of this test module, so modules never read each other's messages."""
    from oms_runtime.topics import create_topics

    prefix = f"t{new_id()[-12:]}."
    # A thread of its own: pytest-asyncio owns this thread's event loop.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, create_topics(infra.kafka_bootstrap, prefix=prefix)).result()
    return prefix


@pytest.fixture
def shop_id() -> str:
    return f"shop-{new_id()}"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def anyio_backend() -> AsyncIterator[str]:
    yield "asyncio"
