"""Warehouse use cases: delivery methods, pick waves, scanning at the pack station, carrier tracking.

They sit beside `FulfilmentService` (which owns the shipment moves) and reuse its event building.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from oms_contracts import Actor, Envelope, new_id
from oms_contracts.messages.fulfilment import (
    DeliveryMethodChanged,
    ShipmentDeliveryFailed,
    ShipmentReturnedToSender,
)
from oms_runtime import webhooks
from oms_runtime.clock import Clock
from oms_runtime.store import AlreadyApplied, ConcurrencyError

from oms_fulfilment.application.ports import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, ShipmentFilter
from oms_fulfilment.application.service import EVENT_OF_STATUS, FulfilmentService, ShipmentNotFound
from oms_fulfilment.domain import (
    TRACKING_CODES,
    ScanRejected,
    Shipment,
    ShipmentStatus,
    TrackingEntry,
)
from oms_fulfilment.domain.delivery_method import DeliveryMethod
from oms_fulfilment.domain.wave import MAX_WAVE_SIZE, PickItem, Wave, WaveStatus, choose_shipments, pick_list

ATTEMPTS = 3


# ---- ports ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemsPage:
    items: list[Any]
    next_cursor: str | None


class DeliveryMethodRepository(Protocol):
    async def get(self, shop_id: str, method_id: str) -> DeliveryMethod | None: ...
    async def add(self, method: DeliveryMethod, events: Sequence[Envelope[Any]]) -> bool: ...
    async def save(self, method: DeliveryMethod, events: Sequence[Envelope[Any]]) -> DeliveryMethod: ...
    async def find(self, shop_id: str, currency: str | None, *, after: str | None, limit: int) -> ItemsPage: ...


class WaveRepository(Protocol):
    async def get(self, shop_id: str, wave_id: str) -> Wave | None: ...
    async def add(self, wave: Wave) -> None: ...
    async def save(self, wave: Wave) -> Wave: ...
    async def find(self, shop_id: str, warehouse_id: str | None, *, after: str | None, limit: int) -> ItemsPage: ...


class Barcodes(Protocol):
    async def skus_of(self, shop_id: str, code: str) -> list[str]:
        """The SKUs whose barcode list holds `code`."""
        ...

    async def has_barcodes(self, shop_id: str, sku: str) -> bool: ...

    async def upsert(self, shop_id: str, sku: str, barcodes: list[str], at: datetime) -> None: ...


# ---- errors --------------------------------------------------------------------------------------


class NotFound(Exception):
    def __init__(self, what: str, ident: str) -> None:
        super().__init__(f"no {what} {ident}")


class DuplicateDeliveryMethod(Exception):
    pass


class WebhookRejected(Exception):
    """A carrier webhook that is not signed by the carrier, too old, or malformed."""


# ---- delivery methods ----------------------------------------------------------------------------


class DeliveryMethods:
    def __init__(self, repo: DeliveryMethodRepository, clock: Clock) -> None:
        self.repo = repo
        self.clock = clock

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
        if not await self.repo.add(method, [changed_event(method, actor)]):
            raise DuplicateDeliveryMethod(f"delivery method {method.code} in {method.currency} exists already")
        return method

    async def get(self, shop_id: str, method_id: str) -> DeliveryMethod:
        method = await self.repo.get(shop_id, method_id)
        if method is None:
            raise NotFound("delivery method", method_id)
        return method

    async def change(
        self, shop_id: str, method_id: str, actor: Actor, expected_version: int | None = None, **changes: Any
    ) -> DeliveryMethod:
        for attempt in range(1, ATTEMPTS + 1):
            current = await self.get(shop_id, method_id)
            if expected_version is not None and current.version != expected_version:
                raise ConcurrencyError("delivery_methods", method_id, expected_version)
            changed = current.change(at=self.clock.now(), actor=actor, **changes)
            try:
                return await self.repo.save(changed, [changed_event(changed, actor)])
            except ConcurrencyError:
                if expected_version is not None or attempt == ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    async def find(
        self, shop_id: str, currency: str | None, cursor: str | None, limit: int = DEFAULT_PAGE_SIZE
    ) -> ItemsPage:
        return await self.repo.find(shop_id, currency, after=cursor, limit=max(1, min(limit, MAX_PAGE_SIZE)))


def changed_event(method: DeliveryMethod, actor: Actor) -> Envelope[Any]:
    return Envelope.new(
        DeliveryMethodChanged(
            delivery_method_id=method.delivery_method_id,
            code=method.code,
            delivery_type=method.delivery_type,  # type: ignore[arg-type]  # checked by the domain
            name=method.name,
            currency=method.currency,
            price=method.price,
            free_from=method.free_from,
            carrier=method.carrier,
            active=method.active,
        ),
        shop_id=method.shop_id,
        actor=actor,
        occurred_at=method.updated_at,
    )


# ---- waves, scanning, tracking -------------------------------------------------------------------


@dataclass(frozen=True)
class WaveView:
    wave: Wave
    shipments: list[Shipment]
    items: list[PickItem]


@dataclass(frozen=True)
class ScanResult:
    shipment: Shipment
    sku: str


class Warehouse:
    def __init__(
        self,
        fulfilment: FulfilmentService,
        waves: WaveRepository,
        barcodes: Barcodes,
        clock: Clock,
        *,
        carrier_secrets: Mapping[str, str] | None = None,
        webhook_tolerance_seconds: int = 300,
    ) -> None:
        self.fulfilment = fulfilment
        self.shipments = fulfilment.shipments
        self.waves = waves
        self.barcodes = barcodes
        self.clock = clock
        self.carrier_secrets = dict(carrier_secrets or {})
        self.webhook_tolerance_seconds = webhook_tolerance_seconds

    # -- waves

    async def create_wave(self, shop_id: str, warehouse_id: str, actor: Actor, limit: int = MAX_WAVE_SIZE) -> WaveView:
        """A wave of the open shipments of the warehouse that are in no wave yet.

        The wave is stored first, so a shipment never points at a wave that is not there (a crash
        between the two would leave it out of every later wave); then each shipment is claimed with a
        version-checked update, and one claimed by a concurrent wave is left out of this one (the
        wave's list of ids follows).
        """
        candidates = await self._all(shop_id, ShipmentFilter(warehouse_id=warehouse_id, status=ShipmentStatus.CREATED))
        chosen = choose_shipments(candidates, limit=max(1, min(limit, MAX_WAVE_SIZE)))
        wave = Wave(
            wave_id=new_id(),
            shop_id=shop_id,
            warehouse_id=warehouse_id,
            shipment_ids=tuple(s.shipment_id for s in chosen),
            status=WaveStatus.OPEN,
            created_at=self.clock.now(),
            created_by=actor,
            version=1,
        )
        await self.waves.add(wave)
        claimed: list[Shipment] = []
        for shipment in chosen:
            try:
                claimed.append(
                    await self.shipments.save(_with_wave(shipment, wave.wave_id, self.clock.now()), [], moved=False)
                )
            except ConcurrencyError:
                continue  # moved or claimed meanwhile: not this wave's
        if len(claimed) != len(chosen):
            wave = await self.waves.save(replace(wave, shipment_ids=tuple(s.shipment_id for s in claimed)))
        return WaveView(wave, claimed, pick_list(claimed))

    async def wave(self, shop_id: str, wave_id: str) -> WaveView:
        wave = await self.waves.get(shop_id, wave_id)
        if wave is None:
            raise NotFound("wave", wave_id)
        shipments = await self._all(shop_id, ShipmentFilter(wave_id=wave_id))
        return WaveView(wave, shipments, pick_list(shipments))

    async def find_waves(
        self, shop_id: str, warehouse_id: str | None, cursor: str | None, limit: int = DEFAULT_PAGE_SIZE
    ) -> ItemsPage:
        return await self.waves.find(shop_id, warehouse_id, after=cursor, limit=max(1, min(limit, MAX_PAGE_SIZE)))

    async def pick_wave(self, shop_id: str, wave_id: str, actor: Actor, correlation_id: str | None = None) -> WaveView:
        """Every shipment of the wave still to pick is picked; the wave is done. Repeating it changes nothing."""
        view = await self.wave(shop_id, wave_id)
        for shipment in view.shipments:
            if shipment.status is ShipmentStatus.CREATED:
                await self.fulfilment.pick(shop_id, shipment.shipment_id, actor, correlation_id=correlation_id)
        if view.wave.status is WaveStatus.OPEN:
            done = Wave(**{**view.wave.__dict__, "status": WaveStatus.PICKED, "picked_at": self.clock.now()})
            with contextlib.suppress(ConcurrencyError):  # somebody finished it at the same moment
                await self.waves.save(done)
        return await self.wave(shop_id, wave_id)

    async def _all(self, shop_id: str, where: ShipmentFilter) -> list[Shipment]:
        found: list[Shipment] = []
        cursor: str | None = None
        while True:
            page = await self.fulfilment.find(shop_id, where, cursor=cursor, limit=MAX_PAGE_SIZE)
            found.extend(page.items)
            if page.next_cursor is None or len(found) >= 10 * MAX_PAGE_SIZE:
                return found
            cursor = page.next_cursor

    # -- the pack station

    async def scan(self, shop_id: str, shipment_id: str, code: str) -> ScanResult:
        """One barcode scanned into the parcel: checked against the shipment's lines, counted, stored."""
        code = code.strip()
        for attempt in range(1, ATTEMPTS + 1):
            shipment = await self.fulfilment.get(shop_id, shipment_id)
            sku = await self._resolve(shop_id, shipment, code)
            scanned = shipment.scan(sku)
            try:
                return ScanResult(await self.shipments.save(scanned, [], moved=False), sku)
            except ConcurrencyError:
                if attempt == ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    async def reset_scans(self, shop_id: str, shipment_id: str) -> Shipment:
        shipment = await self.fulfilment.get(shop_id, shipment_id)
        if shipment.status is not ShipmentStatus.PICKED:
            raise ScanRejected(f"shipment {shipment_id} is {shipment.status.value}", reason="not_picked")
        return await self.shipments.save(shipment.reset_scans(), [], moved=False)

    async def _resolve(self, shop_id: str, shipment: Shipment, code: str) -> str:
        if not code:
            raise ScanRejected("empty scan", reason="unknown_barcode")
        in_parcel = {line.sku for line in shipment.lines}
        skus = await self.barcodes.skus_of(shop_id, code)
        matching = [sku for sku in skus if sku in in_parcel]
        if matching:
            return matching[0]
        if skus:
            raise ScanRejected(
                f"barcode {code} is {', '.join(skus)}, which is not in this shipment", reason="not_in_shipment"
            )
        # A SKU without any known barcode may be typed in by its code (labels printed in-house).
        if code in in_parcel and not await self.barcodes.has_barcodes(shop_id, code):
            return code
        raise ScanRejected(f"barcode {code} is not known: no item of this shipment has it", reason="unknown_barcode")

    # -- tracking

    async def track(
        self,
        shop_id: str,
        shipment_id: str,
        actor: Actor,
        code: str,
        detail: str | None = None,
        *,
        source: str = "manual",
        at: datetime | None = None,
        applied_event_id: str | None = None,
        expected_version: int | None = None,
        correlation_id: str | None = None,
    ) -> Shipment:
        """A tracking update: a checkpoint, or a move (delivered, failed, returning, returned) with its event."""
        attempts = 1 if expected_version is not None else ATTEMPTS
        for attempt in range(1, attempts + 1):
            current = await self.fulfilment.get(shop_id, shipment_id)
            if expected_version is not None and current.version != expected_version:
                raise ConcurrencyError("shipments", shipment_id, expected_version)
            entry = TrackingEntry(
                at=at or self.clock.now(),
                actor=actor,
                code=code,
                detail=detail,
                source=source,
                moves_to=TRACKING_CODES[code],
            )
            updated = current.track(entry)
            moved = updated.status is not current.status
            events = [self._event(updated, actor, detail, correlation_id)] if moved else []
            try:
                return await self.shipments.save(
                    updated, [e for e in events if e is not None], moved=moved, applied_event_id=applied_event_id
                )
            except ConcurrencyError:
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")

    def _event(
        self, shipment: Shipment, actor: Actor, reason: str | None, correlation_id: str | None
    ) -> Envelope[Any] | None:
        kind: Any = {
            ShipmentStatus.FAILED_DELIVERY: ShipmentDeliveryFailed,
            ShipmentStatus.RETURNED_TO_SENDER: ShipmentReturnedToSender,
        }.get(shipment.status) or EVENT_OF_STATUS.get(shipment.status)
        if kind is None:
            return None  # returning to sender: on its way back, nothing for others to do yet
        extra: dict[str, Any] = {}
        if kind in (ShipmentDeliveryFailed, ShipmentReturnedToSender):
            extra = {"carrier": shipment.carrier, "tracking_number": shipment.tracking_number, "reason": reason}
        return self.fulfilment._event(shipment, kind, actor, correlation_id=correlation_id, extra=extra)

    async def carrier_webhook(self, carrier: str, raw: bytes, signature: str | None) -> tuple[Shipment, bool]:
        """A carrier's signed tracking report. Returns the shipment and whether this report was new."""
        report = self.verify_webhook(carrier, raw, signature)
        try:
            shop_id = str(report["shop_id"])
            tracking_number = str(report["tracking_number"])
            event_id = str(report["event_id"])
            code = str(report["code"])
            detail = report.get("detail")
            at = datetime.fromisoformat(report["occurred_at"]) if report.get("occurred_at") else None
        except (KeyError, TypeError, ValueError) as exc:
            raise WebhookRejected(f"malformed report: {exc}") from exc
        if code not in TRACKING_CODES:
            raise WebhookRejected(f"unknown tracking code {code}")
        if at is not None and at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        shipment = await self.shipments.find_by_tracking_number(shop_id, tracking_number)
        if shipment is None or shipment.carrier != carrier:
            raise ShipmentNotFound(tracking_number)
        actor = Actor.system(f"carrier:{carrier}")
        applied_event_id = f"{carrier}:{event_id}"
        if await self.shipments.has_applied(shop_id, shipment.shipment_id, applied_event_id):
            return shipment, False  # a replay of a report already applied (perhaps the one that ended the trip)
        try:
            updated = await self.track(
                shop_id,
                shipment.shipment_id,
                actor,
                code,
                str(detail) if detail is not None else None,
                source=carrier,
                at=at,
                applied_event_id=applied_event_id,
            )
        except AlreadyApplied:
            return await self.fulfilment.get(shop_id, shipment.shipment_id), False
        return updated, True

    def verify_webhook(self, carrier: str, raw: bytes, signature: str | None) -> dict[str, Any]:
        """`X-Carrier-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>`."""
        secret = self.carrier_secrets.get(carrier)
        if not secret:
            raise WebhookRejected(f"no webhook secret configured for carrier {carrier}")
        try:
            webhooks.verify(
                signature,
                secret,
                raw,
                now=self.clock.now().timestamp(),
                tolerance_seconds=self.webhook_tolerance_seconds,
            )
        except webhooks.InvalidSignature as exc:
            raise WebhookRejected(str(exc)) from exc
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise WebhookRejected("body is not JSON") from exc
        if not isinstance(body, dict):
            raise WebhookRejected("body must be a JSON object")
        return body


def _with_wave(shipment: Shipment, wave_id: str, at: datetime) -> Shipment:
    from dataclasses import replace

    return replace(shipment, wave_id=wave_id, updated_at=at)
