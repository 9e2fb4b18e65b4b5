"""The process's memory of order documents (ADR 0032): bounded, never older, and it answers a read
only with what it has proven at least as new as the read asks for."""

from __future__ import annotations

from typing import Any

from oms_order.adapters.outbound.order_snapshots import OrderSnapshots


def doc(order_id: str, version: int, *event_ids: str, shop_id: str = "shop-1") -> dict[str, Any]:
    return {
        "_id": order_id,
        "shop_id": shop_id,
        "version": version,
        "stage": f"stage-{version}",
        "outbox": [{"event_id": e} for e in event_ids],
        "has_outbox": bool(event_ids),
        "applied_events": ["seen-1"],
    }


def test_it_keeps_the_newest_version_without_outbox_or_applied_events() -> None:
    snapshots = OrderSnapshots(10)
    snapshots.keep(doc("o1", 2, "e2"))
    snapshots.keep(doc("o1", 1, "e1"))  # a slower handler's older answer
    kept = snapshots.latest("shop-1", "o1")
    assert kept is not None and kept["version"] == 2 and kept["stage"] == "stage-2"
    assert "outbox" not in kept and "applied_events" not in kept and "has_outbox" not in kept
    assert snapshots.latest("shop-2", "o1") is None, "another shop's order is not answered"


def test_a_read_is_answered_only_by_a_snapshot_at_least_as_new() -> None:
    snapshots = OrderSnapshots(10)
    snapshots.keep(doc("o1", 3, "e1", "e3"))
    assert snapshots.at_least("shop-1", "o1", 3) is not None
    assert snapshots.at_least("shop-1", "o1", 2) is not None
    assert snapshots.at_least("shop-1", "o1", 4) is None
    assert snapshots.written_with("shop-1", "o1", "e1") is not None
    assert snapshots.written_with("shop-1", "o1", "e9") is None
    # The relay pulled e1 and e3 before the next write: the newer snapshot is still after them.
    snapshots.keep(doc("o1", 4, "e4"))
    after = snapshots.written_with("shop-1", "o1", "e1")
    assert after is not None and after["version"] == 4
    assert snapshots.written_with("shop-2", "o1", "e4") is None


def test_it_holds_at_most_its_capacity_dropping_the_least_recently_used() -> None:
    snapshots = OrderSnapshots(2)
    snapshots.keep(doc("o1", 1))
    snapshots.keep(doc("o2", 1))
    assert snapshots.latest("shop-1", "o1") is not None  # a read does not refresh; a keep does
    snapshots.keep(doc("o1", 2))
    snapshots.keep(doc("o3", 1))
    assert len(snapshots) == 2
    assert snapshots.latest("shop-1", "o2") is None
    assert snapshots.latest("shop-1", "o1") is not None and snapshots.latest("shop-1", "o3") is not None
    off = OrderSnapshots(0)
    off.keep(doc("o1", 1))
    assert len(off) == 0 and off.latest("shop-1", "o1") is None


def test_the_order_parsed_from_a_snapshot_is_kept_only_with_that_version() -> None:
    from types import SimpleNamespace
    from typing import cast

    from oms_order.application.ports import StoredOrder

    def parsed(order_id: str, version: int) -> StoredOrder:
        return cast(StoredOrder, SimpleNamespace(order=SimpleNamespace(id=order_id), version=version))

    snapshots = OrderSnapshots(1)
    two = parsed("o1", 2)
    snapshots.keep(doc("o1", 2), two)
    assert snapshots.parsed("shop-1", "o1") is two
    assert snapshots.parsed("shop-2", "o1") is None, "another shop's order is not answered"
    snapshots.keep(doc("o1", 1), parsed("o1", 1))  # older: neither the document nor its order replace
    assert snapshots.parsed("shop-1", "o1") is two
    snapshots.keep(doc("o1", 3))  # newer, not parsed: the older parsed order is no start for a write
    assert snapshots.parsed("shop-1", "o1") is None
    snapshots.attach(parsed("o1", 2))  # parsed from a version no longer kept: not attached
    assert snapshots.parsed("shop-1", "o1") is None
    three = parsed("o1", 3)
    snapshots.attach(three)
    assert snapshots.parsed("shop-1", "o1") is three
    snapshots.keep(doc("o2", 1), parsed("o2", 1))  # capacity 1: o1 goes, with its parsed order
    assert snapshots.parsed("shop-1", "o1") is None and snapshots.parsed("shop-1", "o2") is not None
