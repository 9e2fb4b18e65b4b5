"""Customer records over fakes: matching by normalised contacts, exactly once per OrderPlaced, edits
and merges (idempotent), and the pure rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from oms_contracts import Actor, Envelope, Money
from oms_contracts.messages.common import Customer, OrderLine, Totals
from oms_contracts.messages.order import OrderPlaced
from oms_order.application.customers import CustomerRecords
from oms_order.application.ports import CustomerOrderRow, CustomerPage
from oms_order.domain.customers import (
    CustomerConflict,
    CustomerEdit,
    CustomerRecord,
    contact_keys,
    normalise_phone,
)
from oms_order.domain.pricing import InvalidOrder
from oms_runtime.clock import FixedClock
from oms_runtime.commands import Loaded, RetryPolicy
from oms_testing.fakes import InMemoryRepository

SHOP = "shop-1"
MANAGER = Actor(kind="staff", id="m1", role="manager")
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


class FakeIndex:
    def __init__(self) -> None:
        self.keys: dict[tuple[str, str], str] = {}
        self.rows: dict[str, CustomerOrderRow] = {}
        self.claims = self.moves = 0

    def given_at_placement(self, order_id: str, email: str, phone: str | None) -> None:
        """What the order's placement register does (ADR 0036): a key new to the shop goes to the
        record this order would start."""
        for key in contact_keys(email, phone):
            self.keys.setdefault((SHOP, key), f"cus-{order_id}")

    async def owners(self, shop_id: str, keys: Sequence[str]) -> dict[str, str]:
        return {k: self.keys[(shop_id, k)] for k in keys if (shop_id, k) in self.keys}

    async def claim(self, shop_id: str, key: str, customer_id: str) -> str:
        self.claims += 1
        return self.keys.setdefault((shop_id, key), customer_id)

    async def repoint(self, shop_id: str, keys: Sequence[str], customer_id: str) -> None:
        for key in keys:
            self.keys[(shop_id, key)] = customer_id

    async def move(self, shop_id: str, keys: Sequence[str], from_customer: str, to_customer: str) -> None:
        for key in keys:
            if self.keys.get((shop_id, key)) == from_customer:
                self.keys[(shop_id, key)] = to_customer
        self.moves += 1

    async def add_order(self, shop_id: str, row: CustomerOrderRow) -> bool:
        if row.order_id in self.rows:
            return False
        self.rows[row.order_id] = row
        return True

    async def move_orders(self, shop_id: str, from_customer: str, to_customer: str) -> int:
        moving = [r for r in self.rows.values() if r.customer_id == from_customer]
        for r in moving:
            self.rows[r.order_id] = CustomerOrderRow(**{**r.__dict__, "customer_id": to_customer})
        return len(moving)

    async def orders(self, shop_id: str, customer_id: str, *, cursor: str | None, limit: int) -> CustomerPage:
        return CustomerPage([r for r in self.rows.values() if r.customer_id == customer_id][:limit], None)

    async def search(self, shop_id: str, query: str | None, *, cursor: str | None, limit: int) -> CustomerPage:
        return CustomerPage([], None)


@pytest.fixture
def records() -> InMemoryRepository[CustomerRecord]:
    return InMemoryRepository(key_of=lambda r: (r.shop_id, r.customer_id), name="customers")


@pytest.fixture
def index() -> FakeIndex:
    return FakeIndex()


@pytest.fixture
def crm(records: InMemoryRepository[CustomerRecord], index: FakeIndex) -> CustomerRecords:
    return CustomerRecords(records, index, FixedClock(NOW), RetryPolicy())


def placed(order_id: str, email: str, phone: str | None, total: str = "10.00") -> Envelope[OrderPlaced]:
    money = Money.of(total, "RUB")
    line = OrderLine(sku="TEA-1", name="Tea", quantity=1, unit_price=money, total=money)
    payload = OrderPlaced(
        order_id=order_id,
        number=1,
        channel="web",
        customer=Customer(name="Anna", email=email, phone=phone),
        address=None,
        lines=[line],
        totals=Totals(subtotal=money, delivery=Money.of("0", "RUB"), grand_total=money),
        delivery_type="pickup",
        payment_method="card",
        stage="new",
        status="new",
    )
    return Envelope.new(payload, shop_id=SHOP, actor=Actor.system("order"))


def test_phone_numbers_written_differently_normalise_alike() -> None:
    assert normalise_phone("8 (999) 000-11-22") == normalise_phone("+7 999 000 1122") == "+79990001122"
    assert normalise_phone("12") is None and normalise_phone("") is None and normalise_phone("call me") is None


async def test_orders_by_one_phone_are_one_record_counted_once(
    crm: CustomerRecords, records: InMemoryRepository[CustomerRecord], index: FakeIndex
) -> None:
    first = placed("o1", "anna@example.com", "+7 999 000-11-22")
    await crm.on_order_placed(first)
    await crm.on_order_placed(first)  # redelivered: no second count
    await crm.on_order_placed(placed("o2", "Anna.Work@Example.com", "8 999 000 11 22", total="5.50"))
    [record] = [loaded.state for loaded in records.stored.values()]
    assert record.customer_id == "cus-o1" and record.orders == 2
    assert record.lifetime_value == {"RUB": Decimal("15.50")}
    assert record.emails == ["anna@example.com", "anna.work@example.com"]
    assert {r.customer_id for r in index.rows.values()} == {"cus-o1"}


async def test_keys_given_at_placement_need_no_claim_and_move_to_the_record_the_person_has(
    crm: CustomerRecords, records: InMemoryRepository[CustomerRecord], index: FakeIndex
) -> None:
    index.given_at_placement("o1", "anna@example.com", "+7 999 000-11-22")
    await crm.on_order_placed(placed("o1", "anna@example.com", "+7 999 000-11-22"))
    assert (index.claims, index.moves) == (0, 0)  # a new person: every key was hers from the placement
    # The same phone with a new email: the email was given to o2's record id, and moves to o1's record.
    index.given_at_placement("o2", "anna.work@example.com", "8 999 000 11 22")
    await crm.on_order_placed(placed("o2", "anna.work@example.com", "8 999 000 11 22"))
    assert (index.claims, index.moves) == (0, 1)
    assert set(index.keys.values()) == {"cus-o1"}
    [record] = [loaded.state for loaded in records.stored.values()]
    assert record.customer_id == "cus-o1" and record.orders == 2


async def test_a_new_persons_record_is_made_without_reading_it_first_and_a_replay_counts_nothing(
    index: FakeIndex,
) -> None:
    class Counted(InMemoryRepository[CustomerRecord]):
        loads = 0

        async def load(self, shop_id: str, aggregate_id: str) -> Loaded[CustomerRecord] | None:
            self.loads += 1
            return await super().load(shop_id, aggregate_id)

    counted = Counted(key_of=lambda r: (r.shop_id, r.customer_id), name="customers")
    crm = CustomerRecords(counted, index, FixedClock(NOW), RetryPolicy())
    index.given_at_placement("o1", "anna@example.com", "+7 999 000-11-22")
    first = placed("o1", "anna@example.com", "+7 999 000-11-22")
    await crm.on_order_placed(first)
    assert counted.loads == 0
    await crm.on_order_placed(first)  # redelivered: the insert clashes, the loop reads it, applied once
    [record] = [loaded.state for loaded in counted.stored.values()]
    assert record.customer_id == "cus-o1" and record.orders == 1 and counted.loads >= 1


async def test_two_first_orders_of_one_person_racing_end_in_the_earlier_ones_record(
    crm: CustomerRecords, records: InMemoryRepository[CustomerRecord], index: FakeIndex
) -> None:
    # Both placed before either was consumed: o1 registered the email first, o2 the phone.
    index.keys[(SHOP, "email:anna@example.com")] = "cus-o1"
    index.keys[(SHOP, "phone:+79990001122")] = "cus-o2"
    await crm.on_order_placed(placed("o2", "anna@example.com", "+79990001122"))
    await crm.on_order_placed(placed("o1", "anna@example.com", "+79990001122"))
    assert set(index.keys.values()) == {"cus-o1"}
    [record] = [loaded.state for loaded in records.stored.values()]
    assert record.customer_id == "cus-o1" and record.orders == 2


async def test_a_merge_moves_orders_and_contacts_once_and_refuses_itself(
    crm: CustomerRecords, records: InMemoryRepository[CustomerRecord], index: FakeIndex
) -> None:
    await crm.on_order_placed(placed("o1", "anna@example.com", None))
    await crm.on_order_placed(placed("o2", "petrova@example.com", "+49 151 00000000"))
    into = await crm.merge(SHOP, "cus-o1", "cus-o2", actor=MANAGER, expected_version=None)
    again = await crm.merge(SHOP, "cus-o1", "cus-o2", actor=MANAGER, expected_version=None)
    assert into.state.orders == again.state.orders == 2
    assert (await records.load(SHOP, "cus-o2")).state.merged_into == "cus-o1"  # type: ignore[union-attr]
    assert {r.customer_id for r in index.rows.values()} == {"cus-o1"}
    await crm.on_order_placed(placed("o3", "petrova@example.com", None))
    assert (await records.load(SHOP, "cus-o1")).state.orders == 3  # type: ignore[union-attr]
    with pytest.raises(CustomerConflict):
        await crm.merge(SHOP, "cus-o1", "cus-o1", actor=MANAGER, expected_version=None)


async def test_an_edit_normalises_phones_and_refuses_impossible_ones(crm: CustomerRecords) -> None:
    await crm.on_order_placed(placed("o1", "anna@example.com", None))
    edited = await crm.edit(
        SHOP, "cus-o1", CustomerEdit(phones=["8 912 000 00 00"], tags=["vip"]), actor=MANAGER, expected_version=None
    )
    assert edited.state.phones == ["+79120000000"] and edited.state.tags == ["vip"]
    with pytest.raises(InvalidOrder) as refused:
        await crm.edit(SHOP, "cus-o1", CustomerEdit(phones=["12"]), actor=MANAGER, expected_version=None)
    assert refused.value.errors[0].field == "phones"
