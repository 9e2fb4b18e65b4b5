"""The stage board: which columns a pipeline shows, how urgent a card is, who may act on it. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

AMBER_AT = 0.75  # share of the stage's limit used up from which a card turns amber


class Urgency(StrEnum):
    NONE = "none"  # the stage has no limit
    GREEN = "green"
    AMBER = "amber"
    RED = "red"


@dataclass(frozen=True)
class Column:
    key: str
    names: dict[str, str]
    responsible_role: str
    time_limit_seconds: int | None
    move_to: tuple[str, ...]  # where a card may be moved from here (the API decides in the end)

    def name(self, lang: str) -> str:
        return self.names.get(lang) or self.names.get("en") or self.key

    def may_act(self, role: str | None) -> bool:
        """The order service lets the stage's responsible role (manager when unset) and admins act."""
        return role in ("admin", self.responsible_role)


@dataclass(frozen=True)
class Board:
    pipeline_key: str
    version: int
    columns: tuple[Column, ...]
    cancel_stage: str
    names: dict[str, dict[str, str]] = field(default_factory=dict)  # every stage's names, outcomes included

    def column(self, key: str) -> Column | None:
        return next((c for c in self.columns if c.key == key), None)

    def stage_name(self, key: str, lang: str) -> str:
        names = self.names.get(key) or {}
        return names.get(lang) or names.get("en") or key


def board_of(pipeline: dict[str, Any]) -> Board:
    """The columns of a pipeline as `GET /pipelines/{key}` gives it: its flow stages that are not
    final, in order (orders in final stages and outcomes are the order list's business)."""
    stages = [s for s in pipeline.get("stages", []) if isinstance(s, dict) and s.get("key")]
    flow = [s for s in stages if s.get("in_flow", True)]
    cancel = str(pipeline.get("cancel_stage") or "cancelled")
    columns = []
    for index, stage in enumerate(flow):
        if stage.get("final"):
            continue
        following = next((s["key"] for s in flow[index + 1 :]), None)
        targets = [e.get("to") or following for e in stage.get("exits", []) if isinstance(e, dict)]
        targets.append(cancel)
        move_to = tuple(dict.fromkeys(t for t in targets if t and t != stage["key"]))
        limit = stage.get("time_limit_seconds")
        columns.append(
            Column(
                key=str(stage["key"]),
                names=dict(stage.get("names") or {}),
                responsible_role=str(stage.get("responsible_role") or "manager"),
                time_limit_seconds=int(limit) if isinstance(limit, int) and limit > 0 else None,
                move_to=move_to,
            )
        )
    return Board(
        pipeline_key=str(pipeline.get("key") or ""),
        version=int(pipeline.get("version") or 0),
        columns=tuple(columns),
        cancel_stage=cancel,
        names={str(s["key"]): dict(s.get("names") or {}) for s in stages},
    )


@dataclass(frozen=True)
class StageClock:
    in_stage_seconds: float | None
    limit_seconds: float | None
    urgency: Urgency

    @property
    def share(self) -> float | None:
        if self.in_stage_seconds is None or not self.limit_seconds:
            return None
        return self.in_stage_seconds / self.limit_seconds


def stage_clock(
    entered_at: datetime | None, deadline: datetime | None, now: datetime, column_limit: int | None = None
) -> StageClock:
    """Time in stage against the stage's limit. The order's own deadline wins (it keeps the limit of
    the pipeline version it runs on); else the column's limit; neither: no urgency."""
    if entered_at is None:
        return StageClock(None, None, Urgency.NONE)
    spent = max(0.0, (now - entered_at).total_seconds())
    limit: float | None = None
    if deadline is not None:
        limit = max(1.0, (deadline - entered_at).total_seconds())
    elif column_limit:
        limit = float(column_limit)
    if limit is None:
        return StageClock(spent, None, Urgency.NONE)
    share = spent / limit
    urgency = Urgency.RED if share >= 1 else Urgency.AMBER if share >= AMBER_AT else Urgency.GREEN
    return StageClock(spent, limit, urgency)


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def pipelines_for_delivery(pipeline_for: dict[str, str], pipeline_key: str) -> list[str]:
    """The delivery types whose orders run on this pipeline (the shop's pipeline settings): the
    board filters its columns on them, since a stage key (`new`) can be in several pipelines."""
    return sorted(d for d, key in pipeline_for.items() if key == pipeline_key)
