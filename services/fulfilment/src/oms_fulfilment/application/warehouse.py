"""Warehouse use cases: pick waves, scanning at the pack station, carrier tracking.

They sit beside `FulfilmentService`, which owns every change of a shipment (`move`): a wave's
claim, a scan and a tracking report are moves like pick or pack, through the same command loop.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from oms_contracts import Actor, new_id
from oms_runtime import webhooks
from oms_runtime.clock import Clock
from oms_runtime.commands import CommandLoop, Decision, Loaded, NoChange, RetryPolicy

from oms_fulfilment.application.errors import NotFound, ShipmentNotFound, WebhookRejected
from oms_fulfilment.application.ports import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    Barcodes,
    Page,
    ShipmentFilter,
    WaveRepository,
    page_size,
)
from oms_fulfilment.application.shipments import FulfilmentService
from oms_fulfilment.domain import (
    TRACKING_CODES,
    ScanRejected,
    Shipment,
    ShipmentStatus,
    TrackingEntry,
)
from oms_fulfilment.domain.wave import MAX_WAVE_SIZE, PickItem, Wave, WaveStatus, choose_shipments, pick_list

# How many shipments a wave or a page of the pages may gather (10 pages of the largest size).
MAX_LISTED = 10 * MAX_PAGE_SIZE


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
        policy: RetryPolicy,
        *,
        carrier_secrets: Mapping[str, str] | None = None,
        webhook_tolerance_seconds: int = 300,
    ) -> None:
        self.fulfilment = fulfilment
        self.waves = waves
        self.wave_loop = CommandLoop(waves, policy, name="waves")
        self.barcodes = barcodes
        self.clock = clock
        self.carrier_secrets = dict(carrier_secrets or {})
        self.webhook_tolerance_seconds = webhook_tolerance_seconds

    # -- waves

    async def create_wave(self, shop_id: str, warehouse_id: str, actor: Actor, limit: int = MAX_WAVE_SIZE) -> WaveView:
        """A wave of the open shipments of the warehouse that are in no wave yet.

        The wave is stored first, so a shipment never points at a wave that is not there (a crash
        between the two would leave it out of every later wave); then each shipment is claimed by a
        command that takes it only while it is still open and in no wave, so two waves never share
        a shipment; the wave's list of ids then follows what was claimed.
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

        def claim(shipment: Shipment) -> Shipment:
            if shipment.status is not ShipmentStatus.CREATED or shipment.wave_id is not None:
                return shipment  # moved or claimed meanwhile: not this wave's
            return replace(shipment, wave_id=wave.wave_id, updated_at=self.clock.now())

        claimed: list[Shipment] = []
        for shipment in chosen:
            stored = await self.fulfilment.move(shop_id, shipment.shipment_id, actor, claim)
            if stored.wave_id == wave.wave_id:
                claimed.append(stored)
        if len(claimed) != len(chosen):
            ids = tuple(s.shipment_id for s in claimed)
            wave = await self._change_wave(shop_id, wave.wave_id, lambda w: replace(w, shipment_ids=ids))
        return WaveView(wave, claimed, pick_list(claimed))

    async def wave(self, shop_id: str, wave_id: str) -> WaveView:
        loaded = await self.waves.load(shop_id, wave_id)
        if loaded is None:
            raise NotFound("wave", wave_id)
        shipments = await self._all(shop_id, ShipmentFilter(wave_id=wave_id))
        return WaveView(replace(loaded.state, version=loaded.version), shipments, pick_list(shipments))

    async def find_waves(
        self, shop_id: str, warehouse_id: str | None, cursor: str | None, limit: int = DEFAULT_PAGE_SIZE
    ) -> Page[Wave]:
        return await self.waves.find(shop_id, warehouse_id, after=cursor, limit=page_size(limit))

    async def pick_wave(self, shop_id: str, wave_id: str, actor: Actor, correlation_id: str | None = None) -> WaveView:
        """Every shipment of the wave still to pick is picked; the wave is done. Repeating it changes nothing."""
        view = await self.wave(shop_id, wave_id)
        for shipment in view.shipments:
            if shipment.status is ShipmentStatus.CREATED:
                await self.fulfilment.pick(shop_id, shipment.shipment_id, actor, correlation_id=correlation_id)
        now = self.clock.now()
        await self._change_wave(
            shop_id,
            wave_id,
            lambda w: replace(w, status=WaveStatus.PICKED, picked_at=now) if w.status is WaveStatus.OPEN else w,
        )
        return await self.wave(shop_id, wave_id)

    async def _change_wave(self, shop_id: str, wave_id: str, change: Any) -> Wave:
        def decide(loaded: Loaded[Wave]) -> Decision[Wave] | NoChange:
            before = replace(loaded.state, version=loaded.version)
            changed = change(before)
            return NoChange() if changed == before else Decision(changed)

        stored = await self.wave_loop.run(shop_id, wave_id, decide, missing=lambda: NotFound("wave", wave_id))
        return replace(stored.state, version=stored.version)

    async def _all(self, shop_id: str, where: ShipmentFilter) -> list[Shipment]:
        found: list[Shipment] = []
        cursor: str | None = None
        while True:
            page = await self.fulfilment.find(shop_id, where, cursor=cursor, limit=MAX_PAGE_SIZE)
            found.extend(page.items)
            if page.next_cursor is None or len(found) >= MAX_LISTED:
                return found
            cursor = page.next_cursor

    # -- the pack station

    async def scan(self, shop_id: str, shipment_id: str, code: str) -> ScanResult:
        """One barcode scanned into the parcel: checked against the shipment's lines, counted, stored."""
        code = code.strip()
        before = await self.fulfilment.get(shop_id, shipment_id)
        sku = await self._resolve(shop_id, before, code)
        # The barcode names the same SKU on every attempt; the count is decided on the fresh state.
        stored = await self.fulfilment.move(shop_id, shipment_id, None, lambda s: s.scan(sku))
        return ScanResult(stored, sku)

    async def reset_scans(self, shop_id: str, shipment_id: str) -> Shipment:
        return await self.fulfilment.move(shop_id, shipment_id, None, lambda s: s.reset_scans())

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

        def report(shipment: Shipment) -> Shipment:
            entry = TrackingEntry(
                at=at or self.clock.now(),
                actor=actor,
                code=code,
                detail=detail,
                source=source,
                moves_to=TRACKING_CODES[code],
            )
            return shipment.track(entry)

        return await self.fulfilment.move(
            shop_id,
            shipment_id,
            actor,
            report,
            expected_version=expected_version,
            correlation_id=correlation_id,
            applied_event_id=applied_event_id,
            reason=detail,
        )

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
        shipments = self.fulfilment.shipments
        shipment = await shipments.find_by_tracking_number(shop_id, tracking_number)
        if shipment is None or shipment.carrier != carrier:
            raise ShipmentNotFound(tracking_number)
        applied_event_id = f"{carrier}:{event_id}"
        if await shipments.has_applied(shop_id, shipment.shipment_id, applied_event_id):
            return shipment, False  # a replay of a report already applied (perhaps the one that ended the trip)
        # The report is applied once (`applied_event_id`): a replay racing this one changes nothing.
        updated = await self.track(
            shop_id,
            shipment.shipment_id,
            Actor.system(f"carrier:{carrier}"),
            code,
            str(detail) if detail is not None else None,
            source=carrier,
            at=at,
            applied_event_id=applied_event_id,
        )
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
