"""Schemathesis through the gateway, as a storefront and as an admin: no answer may be a server
error, and every status, content type and body must be one the public OpenAPI document declares.

Bounded here (OMS_FUZZ_EXAMPLES, 3 per operation); `make fuzz` runs the deep version.

The fuzzing writes whatever the API accepts (pipelines, prepayment rules, payment and delivery
methods, stock), so it runs in a shop of its own, seeded like the demo shop: the other end-to-end
tests find the demo shop as they expect whether they run before or after it."""

from __future__ import annotations

import asyncio
import os

import httpx
import pytest

from tests.e2e import fuzz
from tests.e2e.stack import REPO, Stack

FUZZ_SHOP = "fuzz"
FUZZ_STOREFRONT_KEY = "fuzz.storefront-secret-key"
FUZZ_ADMIN = ("admin@fuzz.shop", "fuzz-admin-pass")


@pytest.fixture(scope="module")
def fuzz_shop(stack: Stack) -> str:
    """A shop for the fuzzing alone, with the demo data (SKUs, warehouses, stock); its slug."""
    email, password = FUZZ_ADMIN
    stack.run_cli(
        "-m", "oms_gateway", "bootstrap-shop", "--slug", FUZZ_SHOP, "--name", "Fuzz shop", "--currency", "RUB",
        "--admin-email", email, "--admin-password", password, "--api-key", FUZZ_STOREFRONT_KEY,
    )  # fmt: skip
    stack.run_cli(
        str(REPO / "deploy" / "local" / "seed_demo.py"),
        extra_env={"OMS_SEED_SHOP": FUZZ_SHOP, "OMS_SEED_ADMIN_EMAIL": email, "OMS_SEED_ADMIN_PASSWORD": password},
    )
    return FUZZ_SHOP


async def admin_headers(stack: Stack, shop: str) -> dict[str, str]:
    email, password = FUZZ_ADMIN
    async with httpx.AsyncClient(base_url=stack.gateway, timeout=15) as http:
        r = await http.post("/api/v1/auth/login", json={"shop": shop, "email": email, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def assert_clean(run: fuzz.FuzzRun) -> None:
    print(run.summary())
    assert run.operations > 100, run.output[-3000:]
    assert not run.failures and not run.errors, (
        f"{run.summary()}\n" + "\n".join(run.failures + run.errors) + ("\n" + run.output[-6000:])
    )


# The deep run (make fuzz) sets its own, longer limit.
@pytest.mark.timeout(int(os.environ.get("OMS_FUZZ_TIMEOUT_SECONDS", "1200")) + 60)
async def test_fuzzing_as_a_storefront_finds_nothing(stack: Stack, fuzz_shop: str) -> None:
    assert_clean(await asyncio.to_thread(fuzz.run, stack.gateway, "storefront", {"X-API-Key": FUZZ_STOREFRONT_KEY}))


@pytest.mark.timeout(int(os.environ.get("OMS_FUZZ_TIMEOUT_SECONDS", "1200")) + 60)
async def test_fuzzing_as_an_admin_finds_nothing(stack: Stack, fuzz_shop: str) -> None:
    assert_clean(await asyncio.to_thread(fuzz.run, stack.gateway, "admin", await admin_headers(stack, fuzz_shop)))
