"""The list's handler of the relay's OrderChanged entries (ADR 0046), without I/O: which entries it
projects, which it refuses (dead-lettered) and when it raises (the pass fails, the entries stay)."""

from __future__ import annotations

from typing import Any

import pytest
from oms_contracts import Actor, Envelope, new_id
from oms_contracts.messages.order import OrderChanged
from oms_order.adapters.inbound.order_list_outbox import register_list_projection
from oms_order.application.listing import OrderChange
from oms_runtime.relay import LocalEntry
from oms_runtime.store import outbox_entry
from pymongo.errors import AutoReconnect


class _Runtime:
    def __init__(self) -> None:
        self.handler: Any = None

    def deliver_locally(self, topic: Any, handler: Any, *, consumer: str) -> None:
        self.handler = handler


class _Lists:
    def __init__(self, fails: dict[str, Exception] | None = None) -> None:
        self.asked: list[list[OrderChange]] = []
        self.fails = fails or {}

    async def project_changes(self, changes: list[OrderChange]) -> list[tuple[OrderChange, Exception]]:
        self.asked.append(list(changes))
        return [(c, self.fails[c.order_id]) for c in changes if c.order_id in self.fails]


def _entry(shop_id: str, order_id: str, version: int) -> LocalEntry:
    envelope = Envelope.new(OrderChanged(order_id=order_id, version=version), shop_id=shop_id, actor=Actor.system("o"))
    return LocalEntry("orders", order_id, outbox_entry(envelope))


def _handler(lists: _Lists) -> Any:
    runtime = _Runtime()
    register_list_projection(runtime, lists)  # type: ignore[arg-type]
    return runtime.handler


async def test_every_signal_is_projected_and_a_broken_entry_is_refused() -> None:
    lists = _Lists()
    one, two = new_id(), new_id()
    broken = LocalEntry("orders", one, {**_entry("s", one, 3).entry, "value": "{not json"})
    refused = await _handler(lists)([_entry("s", one, 1), broken, _entry("s", two, 2), _entry("s", one, 2)])
    assert [(e.doc_id, reason.split(":")[0]) for e, reason in refused] == [(one, "UndecodableSignal")]
    assert lists.asked == [[OrderChange("s", one, 1), OrderChange("s", two, 2), OrderChange("s", one, 2)]]


async def test_a_row_that_cannot_be_built_refuses_its_order_s_entries_only() -> None:
    one, two = new_id(), new_id()
    lists = _Lists({one: ValueError("no such stage")})
    entries = [_entry("s", one, 1), _entry("s", two, 1), _entry("s", one, 2)]
    refused = await _handler(lists)(entries)
    assert [e.entry["event_id"] for e, _ in refused] == [entries[0].entry["event_id"], entries[2].entry["event_id"]]
    assert {reason for _, reason in refused} == {"ValueError: no such stage"}


async def test_a_store_that_is_away_fails_the_pass() -> None:
    one = new_id()
    lists = _Lists({one: AutoReconnect("away")})
    with pytest.raises(AutoReconnect):
        await _handler(lists)([_entry("s", one, 1)])
