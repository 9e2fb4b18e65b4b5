"""Returns (RMA): goods a customer sends back after delivery, inspected line by line.

```
requested ──approve──> approved ──receive──> received ──inspect──> completed
    └──────reject──────> rejected
```

Pure: every move returns a new `Return` or raises a `ReturnError`; nothing here does I/O. The
quantities rule: a return may never ask for more of a SKU than the order's delivered shipments
carried minus what other (not rejected) returns of the order already claim.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from oms_contracts import Actor, Money
from oms_runtime.errors import FieldError


class ReturnStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    RECEIVED = "received"
    COMPLETED = "completed"


# The move each status allows, by the action's name.
MOVES: Mapping[str, tuple[ReturnStatus, ReturnStatus]] = {
    "approve": (ReturnStatus.REQUESTED, ReturnStatus.APPROVED),
    "reject": (ReturnStatus.REQUESTED, ReturnStatus.REJECTED),
    "receive": (ReturnStatus.APPROVED, ReturnStatus.RECEIVED),
    "inspect": (ReturnStatus.RECEIVED, ReturnStatus.COMPLETED),
}


class ReturnError(Exception):
    """A rule of returns refuses the request."""


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str


class InvalidReturn(ReturnError):
    """The request names lines or quantities that cannot be returned; `problems` name the fields."""

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))

    @property
    def errors(self) -> list[dict[str, str]]:
        """Every field at fault, as the HTTP edge lists them."""
        return [{"field": p.field, "message": p.message} for p in self.problems]


class IllegalReturnMove(ReturnError):
    def __init__(self, return_id: str, action: str, current: ReturnStatus) -> None:
        self.action = action
        self.current = current
        expected = MOVES[action][0]
        super().__init__(f"cannot {action} return {return_id}: it is {current.value}; it must be {expected.value}")

    @property
    def status_now(self) -> str:
        return self.current.value


@dataclass(frozen=True)
class RequestedLine:
    sku: str
    quantity: int
    reason: str


@dataclass(frozen=True)
class Verdict:
    """The inspection of one returned line: how many go back on the shelf, how many are written off."""

    sku: str
    restock: int
    write_off: int
    refund: Money | None = None

    @property
    def quantity(self) -> int:
        return self.restock + self.write_off


@dataclass(frozen=True)
class Change:
    at: datetime
    actor: Actor
    from_status: ReturnStatus | None
    to_status: ReturnStatus
    note: str | None = None


def returnable(delivered: Mapping[str, int], claimed: Mapping[str, int]) -> dict[str, int]:
    """What may still be returned per SKU: delivered minus claimed by other returns, never below zero."""
    return {sku: max(0, quantity - claimed.get(sku, 0)) for sku, quantity in delivered.items()}


def check_lines(lines: Sequence[RequestedLine], delivered: Mapping[str, int], claimed: Mapping[str, int]) -> None:
    """Refuse lines naming an undelivered SKU, a SKU twice, or more than is still returnable."""
    problems: list[FieldProblem] = []
    if not lines:
        problems.append(FieldProblem("lines", "name at least one line to return"))
    left = returnable(delivered, claimed)
    seen: set[str] = set()
    for i, line in enumerate(lines):
        if line.quantity <= 0:
            problems.append(FieldProblem(f"lines[{i}].quantity", "must be positive"))
            continue
        if line.sku in seen:
            problems.append(FieldProblem(f"lines[{i}].sku", f"SKU {line.sku} is named twice"))
            continue
        seen.add(line.sku)
        if line.sku not in delivered:
            problems.append(FieldProblem(f"lines[{i}].sku", f"SKU {line.sku} was not delivered with this order"))
        elif line.quantity > left[line.sku]:
            problems.append(
                FieldProblem(
                    f"lines[{i}].quantity",
                    f"at most {left[line.sku]} of SKU {line.sku} can be returned "
                    f"(delivered {delivered[line.sku]}, already returned or requested {claimed.get(line.sku, 0)})",
                )
            )
    if problems:
        raise InvalidReturn(problems)


def claimed_by(returns: Iterable[Return]) -> Counter[str]:
    """Quantities per SKU that these returns take up (rejected ones give theirs back)."""
    total: Counter[str] = Counter()
    for item in returns:
        if item.status is not ReturnStatus.REJECTED:
            for line in item.lines:
                total[line.sku] += line.quantity
    return total


def line_refund(unit_total: Money, ordered: int, returned: int) -> Money:
    """The share of a line's total (after line discounts) for `returned` of its `ordered` units."""
    amount = unit_total.amount * Decimal(returned) / Decimal(ordered)
    return Money(amount=amount.quantize(Decimal("0.0001")), currency=unit_total.currency).rounded()


@dataclass(frozen=True)
class Return:
    return_id: str
    shop_id: str
    order_id: str
    order_number: int | None
    seq: int
    status: ReturnStatus
    lines: tuple[RequestedLine, ...]
    requested_by: Actor
    created_at: datetime
    updated_at: datetime
    history: tuple[Change, ...]
    warehouse_id: str | None = None
    verdicts: tuple[Verdict, ...] = ()
    refund: Money | None = None
    refund_request_id: str | None = None
    refund_id: str | None = None
    refunded: Money | None = None
    fully_returned: bool = False
    rejection_reason: str | None = None
    idempotency_key: str | None = None
    request_fingerprint: str | None = None
    version: int = 0
    extra: Mapping[str, object] = field(default_factory=dict)

    @property
    def rma_number(self) -> str:
        return f"R{self.order_number if self.order_number is not None else self.order_id[-6:]}-{self.seq}"

    @property
    def last_change(self) -> Change:
        return self.history[-1]

    @classmethod
    def request(
        cls,
        *,
        return_id: str,
        shop_id: str,
        order_id: str,
        order_number: int | None,
        seq: int,
        lines: Sequence[RequestedLine],
        delivered: Mapping[str, int],
        claimed: Mapping[str, int],
        actor: Actor,
        at: datetime,
        idempotency_key: str | None = None,
        request_fingerprint: str | None = None,
    ) -> Return:
        check_lines(lines, delivered, claimed)
        return cls(
            return_id=return_id,
            shop_id=shop_id,
            order_id=order_id,
            order_number=order_number,
            seq=seq,
            status=ReturnStatus.REQUESTED,
            lines=tuple(lines),
            requested_by=actor,
            created_at=at,
            updated_at=at,
            history=(Change(at, actor, None, ReturnStatus.REQUESTED),),
            idempotency_key=idempotency_key,
            request_fingerprint=request_fingerprint,
        )

    def _move(self, action: str, actor: Actor, at: datetime, note: str | None = None, **changes: object) -> Return:
        source, target = MOVES[action]
        if self.status is not source:
            raise IllegalReturnMove(self.return_id, action, self.status)
        return replace(
            self,
            status=target,
            updated_at=at,
            history=(*self.history, Change(at, actor, self.status, target, note)),
            **changes,  # type: ignore[arg-type]
        )

    def approve(self, actor: Actor, at: datetime) -> Return:
        return self._move("approve", actor, at)

    def reject(self, reason: str, actor: Actor, at: datetime) -> Return:
        return self._move("reject", actor, at, reason, rejection_reason=reason)

    def receive(self, warehouse_id: str, actor: Actor, at: datetime) -> Return:
        return self._move("receive", actor, at, f"at {warehouse_id}", warehouse_id=warehouse_id)

    def inspect(
        self,
        verdicts: Sequence[Verdict],
        *,
        order_lines: Mapping[str, tuple[int, Money]],
        ordered_units: Mapping[str, int],
        returned_before: Mapping[str, int],
        actor: Actor,
        at: datetime,
    ) -> Return:
        """Every returned line gets a verdict whose restock + write-off is exactly the returned quantity.

        `order_lines` gives, per SKU, the ordered quantity and the line total (after line discounts):
        the refund is the returned share of it. `ordered_units` and `returned_before` (by completed
        returns) decide whether the whole order has now come back.
        """
        if self.status is not ReturnStatus.RECEIVED:
            raise IllegalReturnMove(self.return_id, "inspect", self.status)
        wanted = {line.sku: line.quantity for line in self.lines}
        problems: list[FieldProblem] = []
        seen: dict[str, Verdict] = {}
        for i, verdict in enumerate(verdicts):
            if verdict.restock < 0 or verdict.write_off < 0:
                problems.append(FieldProblem(f"lines[{i}]", "restock and write_off are zero or more"))
            elif verdict.sku not in wanted:
                problems.append(FieldProblem(f"lines[{i}].sku", f"SKU {verdict.sku} is not in this return"))
            elif verdict.sku in seen:
                problems.append(FieldProblem(f"lines[{i}].sku", f"SKU {verdict.sku} is named twice"))
            elif verdict.quantity != wanted[verdict.sku]:
                problems.append(
                    FieldProblem(
                        f"lines[{i}]",
                        f"SKU {verdict.sku}: restock + write_off must be {wanted[verdict.sku]}, got {verdict.quantity}",
                    )
                )
            else:
                seen[verdict.sku] = verdict
        named = {verdict.sku for verdict in verdicts}
        problems += [FieldProblem("lines", f"SKU {sku} has no verdict") for sku in wanted if sku not in named]
        if problems:
            raise InvalidReturn(problems)
        priced: list[Verdict] = []
        for line in self.lines:
            verdict = seen[line.sku]
            known = order_lines.get(line.sku)
            refund = line_refund(known[1], known[0], line.quantity) if known is not None else None
            priced.append(replace(verdict, refund=refund))
        refunds = [v.refund for v in priced if v.refund is not None]
        total: Money | None = None
        for money in refunds:
            total = money if total is None else total + money
        back = Counter(returned_before)
        for line in self.lines:
            back[line.sku] += line.quantity
        fully = bool(ordered_units) and all(back[sku] >= units for sku, units in ordered_units.items())
        moved = self._move("inspect", actor, at)
        return replace(
            moved,
            verdicts=tuple(priced),
            refund=total if total is not None and total.amount > 0 else None,
            refund_request_id=f"return:{self.return_id}" if total is not None and total.amount > 0 else None,
            fully_returned=fully,
        )

    def refunded_with(self, refund_id: str, amount: Money) -> Return:
        return replace(self, refund_id=refund_id, refunded=amount)


# ---- returns with their reasons over a period (the console's analytics) -----------------------------

MAX_REASON_DAYS = 366


class BadReasonPeriod(FieldError):
    """`since` is not before `until`, or the period is longer than MAX_REASON_DAYS."""


@dataclass(frozen=True)
class ReturnReasons:
    """Per reason a customer gave: the returns naming it, their lines and units; and how many of those
    returns were rejected (placed in the period, by the return's `created_at`)."""

    reason: str
    returns: int
    lines: int
    units: int
    rejected: int


def reasons_of(returns: Iterable[Return]) -> list[ReturnReasons]:
    """The returns' lines summed per reason, the most units first (pure)."""
    figures: dict[str, tuple[set[str], int, int, set[str]]] = {}
    for item in returns:
        for line in item.lines:
            ids, lines, units, rejected = figures.get(line.reason, (set(), 0, 0, set()))
            ids.add(item.return_id)
            if item.status is ReturnStatus.REJECTED:
                rejected.add(item.return_id)
            figures[line.reason] = (ids, lines + 1, units + line.quantity, rejected)
    found = [
        ReturnReasons(reason=reason, returns=len(ids), lines=lines, units=units, rejected=len(rejected))
        for reason, (ids, lines, units, rejected) in figures.items()
    ]
    return sorted(found, key=lambda r: (-r.units, -r.returns, r.reason))


def reason_period(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    if since >= until:
        raise BadReasonPeriod("since", "must be before until")
    if (until - since).days > MAX_REASON_DAYS:
        raise BadReasonPeriod("until", f"a period is at most {MAX_REASON_DAYS} days")
    return since, until
