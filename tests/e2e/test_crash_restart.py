"""A service that dies is restarted by the local supervisor (as Kubernetes would) and catches up."""

from __future__ import annotations

import httpx
from oms_testing import eventually

from tests.e2e.client import Gateway, order_body
from tests.e2e.stack import Stack


async def test_a_killed_catalog_comes_back_and_reserves_the_order_placed_while_it_was_down(
    stack: Stack, gateway: Gateway
):
    killed = stack.kill("catalog")  # SIGKILL: no shutdown, no offsets committed, leases left behind

    # Placed while the catalog is down: the order service keeps the ReserveStock command in its
    # outbox / on Kafka until a catalog reads it.
    async with httpx.AsyncClient(timeout=2) as probe:
        try:
            down = (await probe.get(f"{stack.url('catalog')}/health/ready")).status_code != 200
        except httpx.HTTPError:
            down = True
    placed = await gateway.place(order_body())
    assert placed.status_code == 201, placed.text
    assert down, "the catalog answered ready right after its kill: the order was not placed while it was down"

    restarted = await eventually(lambda: stack.pid("catalog") not in (0, killed), what="a new catalog process")
    assert restarted
    stack.wait_ready(timeout=90, names=("catalog",))
    order = await gateway.wait_stage(placed.json()["order_id"], "call_back", timeout=90)
    assert order["stage"] == "call_back"  # stock reserved by the restarted catalog


async def test_a_killed_gateway_comes_back_and_takes_orders_again(stack: Stack, gateway: Gateway):
    killed = stack.kill("gateway")
    await eventually(lambda: stack.pid("gateway") not in (0, killed), what="a new gateway process")
    stack.wait_ready(timeout=90, names=("gateway",))
    placed = await gateway.place(order_body())
    assert placed.status_code == 201, placed.text
    await gateway.wait_stage(placed.json()["order_id"], "call_back", timeout=60)
