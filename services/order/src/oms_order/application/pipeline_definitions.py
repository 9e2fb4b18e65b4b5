"""Pipeline definitions as a shop writes them (JSON, also the HTTP bodies), a stored version, and the
shop's pipeline settings: the values the pipeline use cases and their ports exchange.

A definition becomes the domain's `Pipeline` (validated there: field-named errors such as
`stages[3].exits[0].to`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from oms_contracts import Actor
from oms_contracts.limits import BaseVersion
from oms_contracts.messages.common import DeliveryType, PaymentMethod
from pydantic import BaseModel, Field

from oms_order.domain.pipeline import (
    ALWAYS,
    DEFAULT_PIPELINE_FOR,
    Action,
    Applicability,
    EntryAction,
    Exit,
    Pipeline,
    Stage,
    Trigger,
)

KEY_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
Role = Literal["admin", "manager", "warehouse", "courier"]


class Condition(BaseModel):
    """Which orders a stage or an entry action applies to; null (or omitted) means every one."""

    delivery_types: list[DeliveryType] | None = Field(default=None, min_length=1)
    payment_methods: list[PaymentMethod] | None = Field(default=None, min_length=1)

    def applicability(self) -> Applicability:
        return Applicability.only(delivery_types=self.delivery_types or (), payment_methods=self.payment_methods or ())

    @classmethod
    def of(cls, applies: Applicability) -> Condition | None:
        if applies == ALWAYS:
            return None
        return cls(
            delivery_types=None if applies.delivery_types == ALWAYS.delivery_types else sorted(applies.delivery_types),
            payment_methods=None
            if applies.payment_methods == ALWAYS.payment_methods
            else sorted(applies.payment_methods),
        )


class EntryActionDef(BaseModel):
    action: Action
    when: Condition | None = None


class ExitDef(BaseModel):
    on: Trigger = Field(description="manual (the responsible role advances) or a fact: stock_reserved, paid, …")
    to: str | None = Field(default=None, max_length=40, description="Target stage; null: the next applicable one")


class StageDef(BaseModel):
    key: str = Field(pattern=KEY_PATTERN)
    names: dict[str, str] = Field(default_factory=dict, description='Display names by locale: {"en": …, "ru": …}')
    status: str = Field(min_length=1, max_length=60, description="Default customer-visible status")
    responsible_role: Role | None = None
    responsible_user_id: str | None = Field(default=None, max_length=64)
    time_limit_seconds: int | None = Field(default=None, ge=60, le=90 * 24 * 3600)
    when: Condition | None = None
    entry: list[EntryActionDef] = Field(default_factory=list, max_length=10)
    exits: list[ExitDef] = Field(default_factory=list, max_length=10)
    final: bool = False
    in_flow: bool = Field(default=True, description="false: an outcome (cancelled, returned), reached only by an exit")

    def stage(self) -> Stage:
        return Stage(
            key=self.key,
            status=self.status,
            applies=self.when.applicability() if self.when else ALWAYS,
            entry=tuple(EntryAction(e.action, e.when.applicability() if e.when else ALWAYS) for e in self.entry),
            exits=tuple(Exit(e.on, e.to) for e in self.exits),
            final=self.final,
            in_flow=self.in_flow,
            names=tuple(sorted(self.names.items())),
            responsible_role=self.responsible_role,
            responsible_user_id=self.responsible_user_id,
            time_limit_seconds=self.time_limit_seconds,
        )

    @classmethod
    def of(cls, stage: Stage) -> StageDef:
        return cls(
            key=stage.key,
            names=dict(stage.names),
            status=stage.status,
            responsible_role=stage.responsible_role,
            responsible_user_id=stage.responsible_user_id,
            time_limit_seconds=stage.time_limit_seconds,
            when=Condition.of(stage.applies),
            entry=[EntryActionDef(action=e.action, when=Condition.of(e.applies)) for e in stage.entry],
            exits=[ExitDef(on=e.on, to=e.to) for e in stage.exits],
            final=stage.final,
            in_flow=stage.in_flow,
        )


class PipelineDefinition(BaseModel):
    """A pipeline as a shop writes it: ordered stages (flow order) plus outcome stages."""

    name: str | None = Field(default=None, max_length=100)
    stages: list[StageDef] = Field(min_length=2, max_length=40)
    cancel_stage: str = Field(default="cancelled", pattern=KEY_PATTERN)

    def pipeline(self, key: str, version: int) -> Pipeline:
        """Raises PipelineError naming the fields."""
        return Pipeline(
            key=key, version=version, stages=tuple(s.stage() for s in self.stages), cancelled=self.cancel_stage
        )

    @classmethod
    def of(cls, pipeline: Pipeline, name: str | None = None) -> PipelineDefinition:
        return cls(name=name, stages=[StageDef.of(s) for s in pipeline.stages], cancel_stage=pipeline.cancelled)


class NewPipelineVersion(PipelineDefinition):
    expected_version: BaseVersion | None = Field(
        default=None, description="The latest version you based this on (0: a new pipeline); 409 if it moved"
    )
    comment: str | None = Field(default=None, max_length=500)


class PipelineSettingsBody(BaseModel):
    pipeline_for: dict[DeliveryType, str] = Field(
        default_factory=dict, description="Pipeline key per delivery type; missing types keep the default"
    )
    statuses: dict[str, str] = Field(
        default_factory=dict, description="Customer-visible status per stage key, overriding the stage's own"
    )
    expected_version: BaseVersion | None = None


@dataclass(frozen=True)
class StoredPipeline:
    key: str
    version: int
    definition: PipelineDefinition
    created_at: datetime | None
    created_by: Actor | None
    comment: str | None = None


@dataclass(frozen=True)
class PipelineSettings:
    pipeline_for: dict[str, str]
    statuses: dict[str, str]
    version: int  # 0: never saved (the defaults)

    def key_for(self, delivery_type: str) -> str:
        return self.pipeline_for.get(delivery_type) or DEFAULT_PIPELINE_FOR[delivery_type]


DEFAULT_SETTINGS = PipelineSettings(pipeline_for={}, statuses={}, version=0)
