"""What every integration test module of the notification service runs against: an SMTP sink, the
settings pointing at it and the test infra, and the service app (one of each per module)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from oms_notification.bootstrap import create_app
from oms_notification.settings import NotificationSettings
from oms_testing.infra import Infra
from oms_testing.smtp import SmtpServer

from .helpers import settings_for


@pytest.fixture(scope="module")
def smtp() -> Any:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def settings(infra: Infra, topic_prefix: str, smtp: SmtpServer) -> NotificationSettings:
    return settings_for(infra, topic_prefix, smtp_host=smtp.host, smtp_port=smtp.port)


@pytest.fixture(scope="module")
async def client(settings: NotificationSettings) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(create_app(settings)) as c:
        yield c
