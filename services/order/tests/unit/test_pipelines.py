"""Configurable pipelines: the condition matrix of the built-in ones, validation, manual stages,
versioning and the definition round trip (pure domain and application models, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from oms_contracts import Actor, Money
from oms_contracts.messages.catalog import ReleaseStock
from oms_contracts.messages.common import SkuQuantity, WarehouseAllocation
from oms_contracts.messages.fulfilment import CreateShipments
from oms_contracts.messages.order import OrderStageChanged
from oms_contracts.messages.payment import RequestPayment
from oms_order.adapters.inbound.customer_view import status_since
from oms_order.application.pipelines import PipelineDefinition
from oms_order.domain import edits
from oms_order.domain import order as domain
from oms_order.domain.order import Acting, Decision, NotResponsible, Order
from oms_order.domain.pipeline import (
    DELIVERY_TYPES,
    PAYMENT_METHODS,
    PICKUP_PIPELINE,
    STORE_PIPELINE,
    Action,
    Applicability,
    EntryAction,
    Exit,
    MoveRefused,
    Pipeline,
    PipelineError,
    Stage,
    Trigger,
    validate,
)
from oms_order.domain.pricing import SkuPrice, price_lines

from .builders import paid_in_full, placed_order

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SYSTEM = Actor.system("test")
ADMIN = Actor(kind="staff", id="u-admin", role="admin", name="Ada")
MANAGER = Actor(kind="staff", id="u-m", role="manager", name="Max")
WAREHOUSE = Actor(kind="staff", id="u-w", role="warehouse", name="Wanda")
PRICES = {"TEA-1": SkuPrice("TEA-1", "Green tea", Money.of("2.50", "EUR"), True)}
ONE_WAREHOUSE = [WarehouseAllocation(warehouse_id="w1", lines=[SkuQuantity(sku="TEA-1", quantity=2)])]


def acting(minutes: float, actor: Actor = SYSTEM) -> Acting:
    return Acting(at=T0 + timedelta(minutes=minutes), actor=actor, channel="test")


def place(pipeline: Pipeline, delivery_type: str, payment_method: str) -> Order:
    return placed_order(pipeline, delivery_type, payment_method, acting(0))


def moves(decision: Decision) -> list[str]:
    return [p.to_stage for p in decision.emit if isinstance(p, OrderStageChanged)]


def drive(order: Order) -> list[str]:
    """Do what staff and the other services would, one step at a time, until the order is final:
    advance manual stages, else bring about the fact the stage waits for. Returns the stages visited."""
    visited = [order.stage]
    minute = 1
    for _ in range(20):
        if order.final:
            return visited
        stage = order.current_stage()
        waits_for = {e.on for e in stage.exits}
        if Trigger.STOCK_RESERVED in waits_for:
            decision = domain.stock_reserved(order, ONE_WAREHOUSE, acting(minute))
        elif Trigger.MANUAL in waits_for:
            decision = domain.advance(order, acting(minute, ADMIN))
        elif Trigger.ALL_PACKED in waits_for:
            decision = domain.shipment_progressed(order, "s1", "packed", 1, acting(minute))
        elif Trigger.PAID in waits_for:
            decision = paid_in_full(order, acting(minute))
        elif Trigger.ALL_DELIVERED in waits_for:
            decision = domain.shipment_progressed(order, "s1", "delivered", 1, acting(minute))
        else:
            raise AssertionError(f"no driver for {stage.key} ({waits_for})")
        visited += moves(decision)
        order = decision.order
        minute += 1
    raise AssertionError(f"not final after 20 steps: {visited}")


def expected_store(delivery_type: str, payment_method: str) -> list[str]:
    cash = payment_method == "cash_on_delivery"
    path = ["new", "call_back", "picking"]
    if delivery_type in ("courier", "carrier"):
        path.append("courier_call")
    if not cash:
        path.append("awaiting_payment")
    if delivery_type == "courier":
        path.append("courier_delivery")
    elif delivery_type in ("post", "carrier"):
        path.append("post_delivery")
    if cash:
        path.append("cash_in")
    return [*path, "completed"]


def expected_pickup(payment_method: str) -> list[str]:
    cash = payment_method == "cash_on_delivery"
    return ["new", "call_back", "picking", *([] if cash else ["awaiting_payment"]), "ready_for_pickup"] + (
        ["cash_in", "completed"] if cash else ["completed"]
    )


MATRIX = [(d, p) for d in sorted(DELIVERY_TYPES) for p in sorted(PAYMENT_METHODS)]


@pytest.mark.parametrize(("delivery_type", "payment_method"), MATRIX)
def test_store_pipeline_walks_every_combination_to_completed(delivery_type: str, payment_method: str) -> None:
    assert drive(place(STORE_PIPELINE, delivery_type, payment_method)) == expected_store(delivery_type, payment_method)


@pytest.mark.parametrize(("delivery_type", "payment_method"), MATRIX)
def test_pickup_pipeline_walks_every_combination_to_completed(delivery_type: str, payment_method: str) -> None:
    assert drive(place(PICKUP_PIPELINE, delivery_type, payment_method)) == expected_pickup(payment_method)


def test_pickup_orders_skip_the_delivery_stages_of_the_store_pipeline() -> None:
    visited = drive(place(STORE_PIPELINE, "pickup", "card"))
    assert not {"courier_call", "courier_delivery", "post_delivery"} & set(visited)


def test_entry_actions_follow_the_conditions() -> None:
    order = place(STORE_PIPELINE, "courier", "cash_on_delivery")
    order = domain.stock_reserved(order, ONE_WAREHOUSE, acting(1)).order
    to_picking = domain.advance(order, acting(2, MANAGER))
    assert moves(to_picking) == ["picking"]
    assert [type(p) for p in to_picking.emit[1:]] == [CreateShipments]
    card = domain.stock_reserved(place(STORE_PIPELINE, "courier", "card"), ONE_WAREHOUSE, acting(1)).order
    assert [type(p) for p in domain.advance(card, acting(2, MANAGER)).emit[1:]] == [CreateShipments]


def test_facts_that_arrive_during_a_manual_stage_are_followed_once_it_is_done() -> None:
    order = place(STORE_PIPELINE, "courier", "cash_on_delivery")
    order = domain.stock_reserved(order, ONE_WAREHOUSE, acting(1)).order
    order = domain.advance(order, acting(2, MANAGER)).order
    order = domain.shipment_progressed(order, "s1", "packed", 1, acting(3)).order
    assert order.stage == "courier_call"
    # The courier is already there: delivered and the cash taken before the manager clicks.
    order = domain.shipment_progressed(order, "s1", "delivered", 1, acting(4)).order
    order = paid_in_full(order, acting(5)).order
    assert order.stage == "courier_call", "a manual stage waits for its person"
    done = domain.advance(order, acting(6, MANAGER))
    assert moves(done) == ["courier_delivery", "cash_in", "completed"]
    assert done.order.stage == "completed" and done.order.final
    assert done.order.audit[-1].action == "advanced" and done.order.audit[-1].actor == MANAGER


def test_prepayment_met_leaves_awaiting_payment() -> None:
    order = place(STORE_PIPELINE, "post", "bank_transfer")
    order = domain.stock_reserved(order, ONE_WAREHOUSE, acting(1)).order
    order = domain.advance(order, acting(2, MANAGER)).order
    order = domain.shipment_progressed(order, "s1", "packed", 1, acting(3)).order
    assert order.stage == "awaiting_payment"
    prepaid = order.model_copy(deep=True)
    prepaid.payment.prepayment_met = True  # as PaymentStatusChanged says even for a shop without a rule
    assert Trigger.PREPAID not in prepaid.facts(), "nothing paid is not prepaid"
    prepaid.payment.paid = Money.of("1.00", "EUR")
    assert Trigger.PREPAID in prepaid.facts()
    target = STORE_PIPELINE.exit_target("awaiting_payment", prepaid.facts(), "post", "bank_transfer")
    assert target is not None and target[0].key == "post_delivery"


def test_only_the_responsible_role_or_an_admin_advances() -> None:
    order = domain.stock_reserved(place(STORE_PIPELINE, "courier", "card"), ONE_WAREHOUSE, acting(1)).order
    assert order.stage == "call_back"
    with pytest.raises(NotResponsible):
        domain.advance(order, acting(2, WAREHOUSE))
    assert domain.advance(order, acting(2, ADMIN)).order.stage == "picking"


def test_a_stage_without_a_manual_exit_cannot_be_advanced() -> None:
    order = place(STORE_PIPELINE, "courier", "card")
    with pytest.raises(MoveRefused, match="no manual exit"):
        domain.advance(order, acting(1, MANAGER))


def test_move_goes_only_to_exit_targets_or_cancel() -> None:
    order = place(STORE_PIPELINE, "courier", "card")
    assert STORE_PIPELINE.move_targets("new", "courier", "card") == ["out_of_stock", "call_back", "cancelled"]
    with pytest.raises(MoveRefused, match="allowed"):
        domain.move(order, "completed", acting(1, MANAGER))
    reserved = domain.stock_reserved(order, ONE_WAREHOUSE, acting(1)).order
    cancelled = domain.move(reserved, "cancelled", acting(2, MANAGER), comment="customer changed mind")
    assert moves(cancelled) == ["cancelled"]
    assert any(isinstance(p, ReleaseStock) for p in cancelled.emit)
    assert cancelled.order.cancel_reason == "customer changed mind" and cancelled.order.final


def test_a_completed_order_can_be_moved_to_returned_only() -> None:
    order = place(STORE_PIPELINE, "pickup", "card")
    order_done = order
    for _ in range(10):
        if order_done.final:
            break
        stage = order_done.current_stage()
        if stage.manual:
            order_done = domain.advance(order_done, acting(2, ADMIN)).order
        elif stage.key == "new":
            order_done = domain.stock_reserved(order_done, ONE_WAREHOUSE, acting(1)).order
        elif stage.key == "picking":
            order_done = domain.shipment_progressed(order_done, "s1", "packed", 1, acting(3)).order
        else:
            order_done = paid_in_full(order_done, acting(4)).order
    assert order_done.stage == "completed"
    assert STORE_PIPELINE.move_targets("completed", "pickup", "card") == ["returned"]
    with pytest.raises(MoveRefused):
        domain.advance(order_done, acting(5, ADMIN))
    returned = domain.move(order_done, "returned", acting(5, MANAGER))
    assert returned.order.stage == "returned" and returned.order.status == "Return registered"


# ---- validation ---------------------------------------------------------------------------------

CANCELLED = Stage("cancelled", "Cancelled", final=True, in_flow=False)
DONE = Stage("done", "Done", final=True)


def fields(stages: tuple[Stage, ...], cancelled: str = "cancelled") -> list[str]:
    return [e.field for e in validate(stages, cancelled)]


def test_the_built_in_pipelines_are_valid() -> None:
    assert validate(STORE_PIPELINE.stages, "cancelled") == []
    assert validate(PICKUP_PIPELINE.stages, "cancelled") == []


def test_an_unknown_exit_target_is_named_by_its_field() -> None:
    stages = (
        Stage("new", "New", exits=(Exit(Trigger.MANUAL),)),
        Stage("a", "A", exits=(Exit(Trigger.MANUAL),)),
        Stage("b", "B", exits=(Exit(Trigger.MANUAL),)),
        Stage("c", "C", exits=(Exit(Trigger.PAID, to="nowhere"),)),
        DONE,
        CANCELLED,
    )
    assert fields(stages) == ["stages[3].exits[0].to"]
    with pytest.raises(PipelineError) as caught:
        Pipeline("x", 1, stages)
    assert caught.value.errors[0].field == "stages[3].exits[0].to"


def test_duplicate_keys_and_a_missing_cancel_stage_are_refused() -> None:
    assert fields((Stage("new", "New", exits=(Exit(Trigger.MANUAL),)), DONE, DONE, CANCELLED)) == ["stages[2].key"]
    assert fields((Stage("new", "New", exits=(Exit(Trigger.MANUAL),)), DONE)) == ["cancel_stage"]
    assert "cancel_stage" in fields((Stage("new", "New", exits=(Exit(Trigger.MANUAL),)), DONE, CANCELLED), "done")


def test_a_stage_that_cannot_reach_a_final_one_for_some_combination_is_refused() -> None:
    # Card orders go on to a card-only stage; for cash nothing follows "new".
    card_only = Applicability.only(payment_methods=["card"])
    stages = (
        Stage("new", "New", exits=(Exit(Trigger.STOCK_RESERVED),)),
        Stage("pay", "Pay", applies=card_only, exits=(Exit(Trigger.PAID, to="done"),)),
        Stage("done", "Done", applies=card_only, final=True),
        CANCELLED,
    )
    errors = validate(stages, "cancelled")
    assert {e.field for e in errors} >= {"stages[0].exits[0].to", "stages[0]"}
    assert any("cash_on_delivery" in e.message for e in errors)
    assert not any("payment card" in e.message for e in errors)


def test_a_loop_without_a_way_out_is_refused() -> None:
    stages = (
        Stage("new", "New", exits=(Exit(Trigger.MANUAL, to="b"),)),
        Stage("b", "B", exits=(Exit(Trigger.MANUAL, to="new"),)),
        DONE,
        CANCELLED,
    )
    assert set(fields(stages)) == {"stages[0]", "stages[1]"}


def test_final_stages_leave_only_by_hand_and_outcomes_name_their_target() -> None:
    stages = (
        Stage("new", "New", exits=(Exit(Trigger.MANUAL),)),
        Stage("done", "Done", final=True, exits=(Exit(Trigger.PAID, to="cancelled"),)),
        Stage("held", "Held", in_flow=False, exits=(Exit(Trigger.MANUAL),)),
        CANCELLED,
    )
    assert fields(stages) == ["stages[1].exits[0].on", "stages[2].exits[0].to"]


def test_the_first_flow_stage_applies_to_every_order() -> None:
    stages = (
        Stage("new", "New", applies=Applicability.only(delivery_types=["courier"]), exits=(Exit(Trigger.MANUAL),)),
        DONE,
        CANCELLED,
    )
    assert fields(stages) == ["stages[0].when"]


@given(
    st.lists(st.sampled_from(sorted(DELIVERY_TYPES)), unique=True),
    st.lists(st.sampled_from(sorted(PAYMENT_METHODS)), unique=True),
)
def test_any_condition_on_a_middle_stage_keeps_a_pipeline_valid(deliveries: list[str], payments: list[str]) -> None:
    """Skipping a stage never strands an order when a later stage applies to everybody."""
    middle = Stage(
        "middle",
        "M",
        applies=Applicability.only(delivery_types=deliveries, payment_methods=payments),
        exits=(Exit(Trigger.MANUAL),),
    )
    stages = (Stage("new", "New", exits=(Exit(Trigger.MANUAL),)), middle, DONE, CANCELLED)
    assert validate(stages, "cancelled") == []
    for d in DELIVERY_TYPES:
        for p in PAYMENT_METHODS:
            nxt = Pipeline("x", 1, stages).next_stage("new", d, p).key
            assert nxt == ("middle" if middle.applies.holds(d, p) else "done")


# ---- versions and definitions ----------------------------------------------------------------


def test_an_order_keeps_the_pipeline_version_it_was_placed_on() -> None:
    order = place(STORE_PIPELINE, "courier", "card")
    assert order.pipeline == "store@1"
    v2 = PipelineDefinition.of(STORE_PIPELINE).pipeline("store", 2)
    with pytest.raises(ValueError, match="store@1"):
        order.model_copy(deep=True).bind(v2)
    new = place(v2, "courier", "card")
    assert new.pipeline == "store@2"


def test_a_definition_round_trips_to_the_same_pipeline() -> None:
    for pipeline in (STORE_PIPELINE, PICKUP_PIPELINE):
        definition = PipelineDefinition.model_validate_json(PipelineDefinition.of(pipeline).model_dump_json())
        assert definition.pipeline(pipeline.key, pipeline.version) == pipeline


def test_the_shop_status_mapping_changes_what_the_customer_sees() -> None:
    mapped = STORE_PIPELINE.with_statuses({"call_back": "Confirmed"})
    order = place(mapped, "courier", "card")
    reserved = domain.stock_reserved(order, ONE_WAREHOUSE, acting(1))
    changed = [p for p in reserved.emit if isinstance(p, OrderStageChanged)]
    assert [(c.to_stage, c.status) for c in changed] == [("call_back", "Confirmed")]
    assert reserved.order.status == "Confirmed"


def test_a_notify_entry_action_flags_the_stage_change() -> None:
    stages = (
        Stage("new", "New", exits=(Exit(Trigger.MANUAL),)),
        Stage("told", "Told", entry=(EntryAction(Action.NOTIFY),), exits=(Exit(Trigger.MANUAL),)),
        DONE,
        CANCELLED,
    )
    order = place(Pipeline("n", 1, stages), "courier", "card")
    advanced = domain.advance(order, acting(1, MANAGER))
    assert [(p.to_stage, p.notify) for p in advanced.emit if isinstance(p, OrderStageChanged)] == [("told", True)]


@pytest.mark.parametrize("pipeline", [STORE_PIPELINE, PICKUP_PIPELINE])
def test_a_cash_order_is_asked_to_prepay_at_call_back_and_the_manager_can_still_edit_it(pipeline: Pipeline) -> None:
    reserved = domain.stock_reserved(place(pipeline, "pickup", "cash_on_delivery"), ONE_WAREHOUSE, acting(1))
    assert reserved.order.stage == "call_back"
    assert RequestPayment in [type(p) for p in reserved.emit], "the prepayment is asked for before picking"
    half = Money.of(str(reserved.order.totals.grand_total.amount / 2), reserved.order.currency)
    prepaid = edits.payment_status_changed(
        reserved.order,
        status="partly_paid",
        paid=half,
        refunded=Money.zero(half.currency),
        due=half,
        prepayment_met=True,
        acting=acting(2),
    ).order
    assert prepaid.stage == "call_back", "call-back waits for the manager"
    more = price_lines([SkuQuantity(sku="TEA-1", quantity=5)], PRICES)
    edited = edits.change_lines(prepaid, more, change_id="c1", available=None, acting=acting(3, MANAGER))
    assert edited.order.lines[0].quantity == 5


def test_the_customer_sees_a_status_since_it_was_first_shown_not_since_each_internal_stage() -> None:
    order = place(STORE_PIPELINE, "courier", "cash_on_delivery")
    in_call_back = domain.stock_reserved(order, ONE_WAREHOUSE, acting(1)).order
    assert in_call_back.stage == "call_back" and in_call_back.status == "New"
    assert status_since(in_call_back) == order.stage_entered_at, "call-back keeps the status New"
    picking = domain.advance(in_call_back, acting(2, MANAGER)).order
    assert status_since(picking) == picking.stage_entered_at


# ---- what the service keeps of a shop's settings (ADR 0027) ----------------------------------------


class CountingPipelines:
    """Pipeline versions and settings in memory, counting the reads a store would answer."""

    def __init__(self) -> None:
        from oms_order.application.pipeline_definitions import PipelineSettings, StoredPipeline

        self.versions: dict[tuple[str, str], list[StoredPipeline]] = {}
        self.stored: dict[str, PipelineSettings] = {}
        self.reads: list[str] = []

    async def get(self, shop_id: str, key: str, version: int) -> object:
        self.reads.append("get")
        return next((v for v in self.versions.get((shop_id, key), []) if v.version == version), None)

    async def latest(self, shop_id: str, key: str) -> object:
        self.reads.append("latest")
        found = self.versions.get((shop_id, key), [])
        return found[-1] if found else None

    async def insert(self, shop_id: str, stored: object) -> bool:
        known = self.versions.setdefault((shop_id, stored.key), [])  # type: ignore[attr-defined]
        if any(v.version == stored.version for v in known):  # type: ignore[attr-defined]
            return False
        known.append(stored)  # type: ignore[arg-type]
        return True

    async def page(self, shop_id: str, *, cursor: str | None, limit: int) -> tuple[list[object], str | None]:
        return [], None

    async def settings(self, shop_id: str) -> object:
        self.reads.append("settings")
        return self.stored.get(shop_id)

    async def save_settings(self, shop_id: str, settings: object, *, expected_version: int, **_: object) -> object:
        self.stored[shop_id] = settings  # type: ignore[assignment]
        return settings


async def test_the_shops_settings_and_latest_versions_are_read_once_then_kept_a_few_seconds() -> None:
    from oms_order.application.pipeline_definitions import NewPipelineVersion, PipelineSettingsBody
    from oms_order.application.pipelines import PipelineService
    from oms_runtime.clock import FixedClock

    repo = CountingPipelines()
    pipelines = PipelineService(repo, FixedClock(T0))  # type: ignore[arg-type]
    first = await pipelines.for_new_order("s1", "courier")
    repo.reads.clear()
    for _ in range(5):
        assert (await pipelines.for_new_order("s1", "courier")).key == first.key
        await pipelines.by_ref("s1", f"{first.key}@{first.version}")
    assert repo.reads == []  # all from what was read a moment ago

    # A change made through this process is seen at once: statuses, and a new version for new orders.
    await pipelines.save_settings("s1", PipelineSettingsBody(statuses={"new": "Received"}), actor=ADMIN)
    assert repo.reads == ["settings"]  # an edit reads the stored settings, never the kept ones
    assert (await pipelines.for_new_order("s1", "courier")).stage("new").status == "Received"
    body = PipelineDefinition.of(STORE_PIPELINE, name="store").model_dump()
    second = NewPipelineVersion.model_validate({**body, "comment": "v2"})
    await pipelines.new_version("s1", first.key, second, actor=ADMIN)
    assert (await pipelines.for_new_order("s1", "courier")).version == first.version + 1
    # An admin reading the settings sees the store's.
    repo.reads.clear()
    await pipelines.settings("s1", fresh=True)
    assert repo.reads == ["settings"]


async def test_without_keeping_every_lookup_reads_the_store() -> None:
    from oms_order.application.pipelines import PipelineService
    from oms_runtime.clock import FixedClock

    repo = CountingPipelines()
    pipelines = PipelineService(repo, FixedClock(T0), cache_seconds=0)  # type: ignore[arg-type]
    await pipelines.for_new_order("s1", "courier")
    repo.reads.clear()
    await pipelines.for_new_order("s1", "courier")
    assert repo.reads == ["settings", "latest"]


async def test_a_settings_read_overtaken_by_a_save_does_not_keep_the_older_settings() -> None:
    import asyncio

    from oms_order.application.pipeline_definitions import PipelineSettingsBody
    from oms_order.application.pipelines import PipelineService
    from oms_runtime.clock import FixedClock

    class SlowFirstRead(CountingPipelines):
        def __init__(self) -> None:
            super().__init__()
            self.release = asyncio.Event()
            self.slow = True

        async def settings(self, shop_id: str) -> object:
            old = self.stored.get(shop_id)
            if self.slow:
                self.slow = False
                await self.release.wait()
            self.reads.append("settings")
            return old

    repo = SlowFirstRead()
    pipelines = PipelineService(repo, FixedClock(T0))  # type: ignore[arg-type]
    reader = asyncio.create_task(pipelines.settings("s1"))  # an order's read, out to the store
    await asyncio.sleep(0)
    saved = await pipelines.save_settings("s1", PipelineSettingsBody(statuses={"new": "Received"}), actor=ADMIN)
    repo.release.set()
    await reader  # it read the settings before the save
    assert await pipelines.settings("s1") == saved  # the save stays kept, not the older read
