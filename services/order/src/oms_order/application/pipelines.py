"""Pipelines a shop defines (immutable versions), the shop's pipeline settings, and which pipeline
version an order runs on.

A pipeline definition travels as JSON (`PipelineDefinition`, in `pipeline_definitions.py`) and
becomes the domain's `Pipeline`. Every change stores a new version; an order keeps the
`key@version` it was placed on. The built-in "store" and "pickup" pipelines are seeded as version 1
of a shop's own pipelines on first use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from oms_contracts import Actor
from oms_runtime.clock import Clock
from oms_runtime.errors import ConcurrencyError
from oms_runtime.recent import Recent
from oms_runtime.telemetry import get_logger

from oms_order.application.pipeline_definitions import (
    DEFAULT_SETTINGS,
    NewPipelineVersion,
    PipelineDefinition,
    PipelineSettings,
    PipelineSettingsBody,
    StoredPipeline,
)
from oms_order.application.ports import PipelineRepository
from oms_order.domain.order import Order
from oms_order.domain.pipeline import (
    BUILT_IN,
    DELIVERY_TYPES,
    PIPELINES,
    FieldError,
    Pipeline,
    PipelineError,
    remember,
)


class PipelineNotFound(LookupError):
    def __init__(self, ref: str) -> None:
        super().__init__(f"no pipeline {ref}")
        self.ref = ref


class InvalidPipeline(Exception):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


log = get_logger(__name__)

# How long this process trusts what it read of a shop's pipeline settings and latest pipeline versions:
# read for every order it loads, they change a few times a year. A change made through this process
# is seen at once; one made through another replica within this many seconds (ADR 0027).
CACHE_SECONDS = 5.0

BUILT_IN_COMMENT = "built in"
BUILT_IN_UPDATED_COMMENT = "built in, updated with the product"


def _as_json(definition: PipelineDefinition) -> Any:
    return definition.model_dump(mode="json")


class PipelineService:
    def __init__(self, repo: PipelineRepository, clock: Clock, *, cache_seconds: float = CACHE_SECONDS) -> None:
        self.repo = repo
        self.clock = clock
        # Versions never change: their domain form is cached by (shop, ref).
        self._definitions: dict[tuple[str, str], Pipeline] = {}
        self._seeded: set[str] = set()  # shops whose built-ins this process has checked
        # The shop's settings and the latest version of each pipeline key: read for every order loaded
        # or placed, so kept for a few seconds (a change through this process replaces them at once).
        self._settings: Recent[PipelineSettings] = Recent(cache_seconds)
        self._latest: Recent[StoredPipeline] = Recent(cache_seconds)

    # ---- reading ----------------------------------------------------------------------------

    async def seed(self, shop_id: str) -> None:
        """The built-in pipelines become the shop's own: version 1 on first use. While the shop has not
        edited one (its latest version is a built-in one, made by no one), a built-in definition
        shipped since becomes its next version, so new orders get it and running orders keep theirs
        (ADR 0007). Idempotent; replicas racing insert it once (unique version)."""
        for key, pipeline in BUILT_IN.items():
            built_in = PipelineDefinition.of(pipeline, name=key)
            latest = await self.repo.latest(shop_id, key)
            if latest is None:
                stored = StoredPipeline(key, 1, built_in, self.clock.now(), None, BUILT_IN_COMMENT)
                await self.repo.insert(shop_id, stored)
                self._latest.forget((shop_id, key))
            elif latest.created_by is None and _as_json(latest.definition) != _as_json(built_in):
                stored = StoredPipeline(
                    key, latest.version + 1, built_in, self.clock.now(), None, BUILT_IN_UPDATED_COMMENT
                )
                if await self.repo.insert(shop_id, stored):
                    self._latest.forget((shop_id, key))
                    log.info("built-in pipeline updated for a shop", shop_id=shop_id, key=key, version=stored.version)
        self._seeded.add(shop_id)

    async def page(self, shop_id: str, *, cursor: str | None, limit: int) -> tuple[list[StoredPipeline], str | None]:
        if cursor is None:
            await self.seed(shop_id)
        return await self.repo.page(shop_id, cursor=cursor, limit=limit)

    async def latest(self, shop_id: str, key: str) -> StoredPipeline:
        """The latest version of `key`, as read within the last few seconds (new orders get it)."""
        return await self._latest.read((shop_id, key), lambda: self.get(shop_id, key))

    async def get(self, shop_id: str, key: str, version: int | None = None) -> StoredPipeline:
        if version is None:
            found = await self.repo.latest(shop_id, key)
            if found is None and key in BUILT_IN:
                await self.seed(shop_id)
                found = await self.repo.latest(shop_id, key)
        else:
            found = await self.repo.get(shop_id, key, version)
            if found is None and key in BUILT_IN and version == 1:
                await self.seed(shop_id)
                found = await self.repo.get(shop_id, key, version)
        if found is None:
            raise PipelineNotFound(f"{key}@{version}" if version else key)
        return found

    async def settings(self, shop_id: str, *, fresh: bool = False) -> PipelineSettings:
        """The shop's settings; as read within the last few seconds unless `fresh` (what an admin sees
        and edits is read from the store)."""

        async def load() -> PipelineSettings:
            return await self.repo.settings(shop_id) or DEFAULT_SETTINGS

        if fresh:
            return self._settings.put(shop_id, await load())
        # `read`, not get + put: a read overtaken by a save through this process does not keep the older settings.
        return await self._settings.read(shop_id, load)

    async def for_new_order(self, shop_id: str, delivery_type: str) -> Pipeline:
        """The latest version of the pipeline the shop gives orders of this delivery type."""
        if shop_id not in self._seeded:  # once per shop and process: picks up an updated built-in
            await self.seed(shop_id)
        settings = await self.settings(shop_id)
        stored = await self.latest(shop_id, settings.key_for(delivery_type))
        return self._domain(shop_id, stored).with_statuses(settings.statuses)

    async def by_ref(self, shop_id: str, ref: str, statuses: Mapping[str, str] | None = None) -> Pipeline:
        """The version an order runs on, with the shop's current status mapping."""
        if statuses is None:
            statuses = (await self.settings(shop_id)).statuses
        pipeline = self._definitions.get((shop_id, ref))
        if pipeline is None:
            key, _, version = ref.partition("@")
            stored = await self.repo.get(shop_id, key, int(version)) if version.isdigit() else None
            if stored is not None:
                pipeline = self._domain(shop_id, stored)
            elif ref in PIPELINES:  # a built-in version not (yet) seeded for this shop, or the legacy one
                pipeline = PIPELINES[ref]
            else:
                raise PipelineNotFound(ref)
        mapped = pipeline.with_statuses(statuses)
        remember(shop_id, mapped)
        return mapped

    async def bind(self, orders: list[Order]) -> None:
        """Bind each order to its pipeline version (one settings read for the lot)."""
        if not orders:
            return
        statuses = (await self.settings(orders[0].shop_id)).statuses
        for order in orders:
            order.bind(await self.by_ref(order.shop_id, order.pipeline, statuses))

    def _domain(self, shop_id: str, stored: StoredPipeline) -> Pipeline:
        ref = f"{stored.key}@{stored.version}"
        cached = self._definitions.get((shop_id, ref))
        if cached is None:
            cached = stored.definition.pipeline(stored.key, stored.version)
            self._definitions[(shop_id, ref)] = cached
        return cached

    # ---- changing (admin) ---------------------------------------------------------------------

    async def new_version(self, shop_id: str, key: str, body: NewPipelineVersion, *, actor: Actor) -> StoredPipeline:
        """Store the definition as the next version of `key`. Raises InvalidPipeline (field-named)
        or ConcurrencyError (another version was made first, or expected_version is stale)."""
        latest = await self.repo.latest(shop_id, key)
        if latest is None and key in BUILT_IN:
            await self.seed(shop_id)
            latest = await self.repo.latest(shop_id, key)
        current = latest.version if latest else 0
        if body.expected_version is not None and body.expected_version != current:
            raise ConcurrencyError("pipelines", key, body.expected_version, current_version=current)
        definition = PipelineDefinition.model_validate(body.model_dump(include=set(PipelineDefinition.model_fields)))
        try:
            definition.pipeline(key, current + 1)
        except PipelineError as exc:
            raise InvalidPipeline(exc.errors) from exc
        stored = StoredPipeline(key, current + 1, definition, self.clock.now(), actor, body.comment)
        inserted = await self.repo.insert(shop_id, stored)
        self._latest.forget((shop_id, key))  # either way, there is a newer version than we may have kept
        if not inserted:
            raise ConcurrencyError("pipelines", key, current, current_version=current + 1)
        return stored

    async def save_settings(self, shop_id: str, body: PipelineSettingsBody, *, actor: Actor) -> PipelineSettings:
        current = await self.settings(shop_id, fresh=True)
        errors: list[FieldError] = []
        for delivery_type, key in body.pipeline_for.items():
            if delivery_type not in DELIVERY_TYPES:
                continue  # pydantic already refused it
            try:
                await self.get(shop_id, key)
            except PipelineNotFound:
                errors.append(FieldError(f"pipeline_for.{delivery_type}", f"no pipeline {key!r}"))
        for stage, status in body.statuses.items():
            if not status.strip() or len(status) > 60:
                errors.append(FieldError(f"statuses.{stage}", "a status is 1 to 60 characters"))
        if errors:
            raise InvalidPipeline(errors)
        expected = body.expected_version if body.expected_version is not None else current.version
        pipeline_for: dict[str, str] = {str(key): value for key, value in body.pipeline_for.items()}
        new = PipelineSettings(pipeline_for=pipeline_for, statuses=dict(body.statuses), version=expected + 1)
        try:
            saved = await self.repo.save_settings(
                shop_id, new, expected_version=expected, actor=actor, at=self.clock.now()
            )
        finally:
            self._settings.forget(shop_id)
        self._settings.put(shop_id, saved)
        return saved
