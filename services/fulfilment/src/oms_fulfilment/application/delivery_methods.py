"""Use cases of delivery methods: one per code and currency in a shop, each change announced."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from oms_contracts import Actor, Envelope, new_id
from oms_contracts.messages.fulfilment import DeliveryMethodChanged
from oms_runtime.clock import Clock
from oms_runtime.commands import CommandLoop, Decision, Loaded, RetryPolicy
from oms_runtime.events import EventFactory

from oms_fulfilment.application.errors import DuplicateDeliveryMethod, NotFound
from oms_fulfilment.application.ports import DEFAULT_PAGE_SIZE, DeliveryMethodRepository, Page, page_size
from oms_fulfilment.domain.delivery_method import DeliveryMethod


class DeliveryMethods:
    def __init__(self, repo: DeliveryMethodRepository, events: EventFactory, clock: Clock, policy: RetryPolicy) -> None:
        self.repo = repo
        self.events = events
        self.clock = clock
        self.loop = CommandLoop(repo, policy, name="delivery_methods")

    async def create(self, shop_id: str, actor: Actor, **fields: Any) -> DeliveryMethod:
        now = self.clock.now()
        method = DeliveryMethod.create(
            delivery_method_id=new_id(),
            shop_id=shop_id,
            active=fields.pop("active", True),
            created_at=now,
            updated_at=now,
            updated_by=actor,
            **fields,
        )
        if not await self.repo.add(method, [self._changed(method, actor)]):
            raise DuplicateDeliveryMethod(f"delivery method {method.code} in {method.currency} exists already")
        return replace(method, version=1)

    async def get(self, shop_id: str, method_id: str) -> DeliveryMethod:
        loaded = await self.repo.load(shop_id, method_id)
        if loaded is None:
            raise NotFound("delivery method", method_id)
        return replace(loaded.state, version=loaded.version)

    async def change(
        self, shop_id: str, method_id: str, actor: Actor, expected_version: int | None = None, **changes: Any
    ) -> DeliveryMethod:
        def decide(loaded: Loaded[DeliveryMethod]) -> Decision[DeliveryMethod]:
            changed = loaded.state.change(at=self.clock.now(), actor=actor, **changes)
            return Decision(changed, [self._changed(changed, actor)])

        stored = await self.loop.run(
            shop_id,
            method_id,
            decide,
            expected_version=expected_version,
            missing=lambda: NotFound("delivery method", method_id),
        )
        return replace(stored.state, version=stored.version)

    async def find(
        self, shop_id: str, currency: str | None, cursor: str | None, limit: int = DEFAULT_PAGE_SIZE
    ) -> Page[DeliveryMethod]:
        return await self.repo.find(shop_id, currency, after=cursor, limit=page_size(limit))

    def _changed(self, method: DeliveryMethod, actor: Actor) -> Envelope[DeliveryMethodChanged]:
        payload = DeliveryMethodChanged(
            delivery_method_id=method.delivery_method_id,
            code=method.code,
            delivery_type=method.delivery_type,  # checked by the domain
            name=method.name,
            currency=method.currency,
            price=method.price,
            free_from=method.free_from,
            carrier=method.carrier,
            active=method.active,
        )
        return self.events.new(payload, shop_id=method.shop_id, actor=actor)
