"""Schemathesis through the gateway, as a storefront and as an admin: no answer may be a server
error, and every status, content type and body must be one the public OpenAPI document declares.

Bounded here (OMS_FUZZ_EXAMPLES, 3 per operation); `make fuzz` runs the deep version."""

from __future__ import annotations

import asyncio
import os

import pytest

from tests.e2e import fuzz
from tests.e2e.client import Gateway
from tests.e2e.conftest import DEMO_STOREFRONT_KEY
from tests.e2e.stack import Stack


def assert_clean(run: fuzz.FuzzRun) -> None:
    print(run.summary())
    assert run.operations > 100, run.output[-3000:]
    assert not run.failures and not run.errors, (
        f"{run.summary()}\n" + "\n".join(run.failures + run.errors) + ("\n" + run.output[-6000:])
    )


# The deep run (make fuzz) sets its own, longer limit.
@pytest.mark.timeout(int(os.environ.get("OMS_FUZZ_TIMEOUT_SECONDS", "1200")) + 60)
async def test_fuzzing_as_a_storefront_finds_nothing(stack: Stack) -> None:
    assert_clean(await asyncio.to_thread(fuzz.run, stack.gateway, "storefront", {"X-API-Key": DEMO_STOREFRONT_KEY}))


@pytest.mark.timeout(int(os.environ.get("OMS_FUZZ_TIMEOUT_SECONDS", "1200")) + 60)
async def test_fuzzing_as_an_admin_finds_nothing(stack: Stack, gateway: Gateway) -> None:
    assert_clean(await asyncio.to_thread(fuzz.run, stack.gateway, "admin", await gateway.as_staff("admin")))
