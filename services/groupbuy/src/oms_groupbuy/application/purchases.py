"""Use cases of joint purchases: one method per command, each through the command loop.

Every state change loads the purchase, decides with a pure function of the domain, and saves the
new state with its events in one conditional update; a lost race decides again (`RetryPolicy`),
a client's stale `expected_version` is a 409. Reads apply the caller's view: an organiser (admin,
manager) sees everything, a partner (agent, dealer) only the participants they brought, and a
purchase they take no part in only while it is collecting (to bring people to it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from oms_contracts import Actor, Envelope, Money, new_id
from oms_contracts.messages.catalog import PurchaseOrderReceived
from oms_contracts.messages.groupbuy import PurchaseState
from oms_contracts.messages.payment import PaymentCaptured, RefundCompleted
from oms_contracts.messages.shop import StaffMemberAdded
from oms_runtime.clock import Clock
from oms_runtime.commands import CommandLoop, Decision, Loaded, NoChange, RetryPolicy
from oms_runtime.events import EventFactory
from oms_runtime.paging import CursorPage

from oms_groupbuy.application.ports import CreationKeys, PartnerRepository, PurchaseRepository
from oms_groupbuy.application.settings import ShopSettingsService
from oms_groupbuy.domain import distribution, reminders
from oms_groupbuy.domain import partner as partners
from oms_groupbuy.domain import purchase as gb
from oms_groupbuy.domain import table as tb
from oms_groupbuy.domain.errors import InvalidInput, NotFound, WrongState
from oms_groupbuy.domain.partner import Partner
from oms_groupbuy.domain.purchase import JointPurchase, Offer, Option, RowSpec, ShareRule
from oms_groupbuy.domain.table import TableQuery, Viewer

LOOP_BATCH = 50
REPORT_MAX_PURCHASES = 500


@dataclass(frozen=True)
class Caller:
    """Who asks: the shop, the actor and the viewer its role makes it."""

    shop_id: str
    actor: Actor
    correlation_id: str | None = None

    @property
    def viewer(self) -> Viewer:
        if self.actor.kind == "system":
            return Viewer("organiser", self.actor.id)  # the service's own loops and intake act for the organiser
        return Viewer.of(self.actor.role if self.actor.kind == "staff" else None, self.actor.id)


@dataclass(frozen=True)
class NewPurchase:
    title: str
    supplier: str | None
    closes_at: datetime
    currencies: Sequence[str]
    offers: Sequence[Offer]
    row_specs: Sequence[RowSpec] = ()
    options: Sequence[Option] = ()
    fee_percent: Decimal = Decimal(0)
    minimum_totals: dict[str, Decimal] | None = None
    transport_share: ShareRule = "sum"
    payment_days: int = 3
    partner_percents: dict[str, Decimal] | None = None
    supplier_id: str | None = None  # the catalog's, for the consolidated purchase order
    warehouse_id: str | None = None


@dataclass(frozen=True)
class NewParticipant:
    name: str
    contact: str | None
    currency: str
    lines: Sequence[tuple[str, int]]
    delivery_option: str | None = None
    payment_option: str | None = None
    partner_id: str | None = None  # an organiser may attribute the participant to a partner
    external_ref: str | None = None
    email: str | None = None
    idempotency_key: str | None = None  # the client's: the same key and request add the participant once
    fingerprint: str | None = None  # of the request, to tell a retry from another request under the same key


@dataclass(frozen=True)
class TablePage:
    rows: CursorPage[tb.TableRow]
    totals: list[tb.Totals]
    fill: list[tb.RowFill]
    state: str
    version: int


@dataclass(frozen=True)
class EarningsReport:
    partner_id: str
    purchases: list[tuple[JointPurchase, list[tb.Earning]]]
    totals: list[tb.EarningsTotal]
    truncated: bool


class IdempotencyKeyReused(InvalidInput):
    """The Idempotency-Key was used before with another request (422)."""


class PartnerUnknown(NotFound):
    """The partner has no terms in this service yet (the organiser sets them)."""


class Purchases:
    def __init__(
        self,
        purchases: PurchaseRepository,
        partners: PartnerRepository,
        events: EventFactory,
        clock: Clock,
        policy: RetryPolicy,
        creation_keys: CreationKeys,
        new_id: Callable[[], str] = new_id,
        settings: ShopSettingsService | None = None,
    ) -> None:
        self.purchases = purchases
        self.settings = settings
        self.creation_keys = creation_keys
        self.partner_store = partners
        self.loop = CommandLoop(purchases, policy, name="purchases")
        self.partner_loop = CommandLoop(partners, policy, name="partners")
        self.events = events
        self.clock = clock
        self.new_id = new_id

    # --- plumbing ------------------------------------------------------------------------

    def _decision(
        self, d: gb.Decision | None, caller: Caller | None, cause: Envelope[Any] | None = None
    ) -> Decision[JointPurchase] | NoChange:
        d = gb.with_orders(d, new_id=self.new_id)  # the participants' orders the new state asks for
        d = gb.with_charges(d)  # and the new charges of those placed already (transport set, a release)
        if d is None:
            return NoChange()
        envelopes = [
            self.events.new(
                e,
                shop_id=d.purchase.shop_id,
                actor=caller.actor if caller else None,
                correlation_id=caller.correlation_id if caller else None,
                cause=cause,
            )
            for e in d.events
        ]
        return Decision(d.purchase, envelopes)

    async def _command(
        self,
        caller: Caller,
        purchase_id: str,
        decide: Callable[[JointPurchase], gb.Decision | None],
        expected_version: int | None = None,
    ) -> Loaded[JointPurchase]:
        return await self.loop.run(
            caller.shop_id,
            purchase_id,
            lambda loaded: self._decision(gb.with_cancellations(loaded.state, decide(loaded.state)), caller),
            expected_version=expected_version,
            missing=lambda: NotFound(f"no joint purchase {purchase_id}", "purchase_id"),
        )

    async def _visible(self, caller: Caller, purchase_id: str) -> Loaded[JointPurchase]:
        loaded = await self.purchases.load(caller.shop_id, purchase_id)
        viewer = caller.viewer
        if loaded is None or not (tb.takes_part(loaded.state, viewer) or loaded.state.state == "collecting"):
            raise NotFound(f"no joint purchase {purchase_id}", "purchase_id")
        return loaded

    # --- organiser's commands ------------------------------------------------------------

    async def open(
        self, caller: Caller, spec: NewPurchase, idempotency_key: str | None = None, fingerprint: str = ""
    ) -> Loaded[JointPurchase]:
        """Open a purchase; with an Idempotency-Key the same request opens it once (another: 422)."""
        purchase_id = self.new_id()
        if idempotency_key is not None:
            key = f"{caller.shop_id}:{caller.actor.id}:{idempotency_key}"
            purchase_id, first = await self.creation_keys.claim(key, caller.shop_id, purchase_id, fingerprint)
            if first != fingerprint:
                raise IdempotencyKeyReused("was used before with a different request", "Idempotency-Key")
            existing = await self.purchases.load(caller.shop_id, purchase_id)
            if existing is not None:
                return existing  # the retry of a request that opened it
        now = self.clock.now()
        cadence = (
            (await self.settings.of(caller.shop_id)).reminder_hours
            if self.settings is not None
            else reminders.DEFAULT_REMINDER_HOURS
        )
        decided = gb.open_purchase(
            purchase_id=purchase_id,
            shop_id=caller.shop_id,
            title=spec.title,
            supplier=spec.supplier,
            closes_at=spec.closes_at,
            currencies=spec.currencies,
            offers=spec.offers,
            row_specs=spec.row_specs,
            options=spec.options,
            fee_percent=spec.fee_percent,
            minimum_totals=spec.minimum_totals,
            transport_share=spec.transport_share,
            payment_days=spec.payment_days,
            partner_percents=spec.partner_percents,
            supplier_id=spec.supplier_id,
            warehouse_id=spec.warehouse_id,
            reminder_hours=cadence,
            now=now,
        )
        return await self.loop.run(
            caller.shop_id,
            purchase_id,
            lambda loaded: (
                self._decision(decided, caller) if loaded.is_new else NoChange("opened by the first request")
            ),
            new=lambda: decided.purchase,
        )

    async def stop(
        self, caller: Caller, purchase_id: str, expected_version: int | None = None
    ) -> Loaded[JointPurchase]:
        return await self._command(caller, purchase_id, lambda p: gb.stop(p, now=self.clock.now()), expected_version)

    async def advance(
        self, caller: Caller, purchase_id: str, expected_version: int | None = None, to: PurchaseState | None = None
    ) -> Loaded[JointPurchase]:
        return await self._command(
            caller, purchase_id, lambda p: gb.advance(p, now=self.clock.now(), to=to), expected_version
        )

    async def cancel(
        self, caller: Caller, purchase_id: str, reason: str, expected_version: int | None = None
    ) -> Loaded[JointPurchase]:
        return await self._command(
            caller, purchase_id, lambda p: gb.cancel(p, now=self.clock.now(), reason=reason), expected_version
        )

    async def swap(self, caller: Caller, purchase_id: str, item_id: str, sku: str) -> Loaded[JointPurchase]:
        return await self._command(caller, purchase_id, lambda p: gb.swap(p, item_id, sku, now=self.clock.now()))

    async def drop_row(self, caller: Caller, purchase_id: str, spec_id: str, number: int) -> Loaded[JointPurchase]:
        return await self._command(caller, purchase_id, lambda p: gb.drop_row(p, spec_id, number, now=self.clock.now()))

    async def set_transport(
        self, caller: Caller, purchase_id: str, currency: str, amount: Decimal
    ) -> Loaded[JointPurchase]:
        return await self._command(
            caller, purchase_id, lambda p: gb.set_transport(p, currency, amount, now=self.clock.now())
        )

    async def record_payment(
        self, caller: Caller, purchase_id: str, participant_id: str, amount: Money, reference: str
    ) -> Loaded[JointPurchase]:
        return await self._command(
            caller,
            purchase_id,
            lambda p: gb.record_payment(p, participant_id, amount, reference, now=self.clock.now()),
        )

    async def release_unpaid(self, caller: Caller, purchase_id: str) -> Loaded[JointPurchase]:
        return await self._command(caller, purchase_id, lambda p: gb.release_unpaid(p, now=self.clock.now()))

    async def release_participant(self, caller: Caller, purchase_id: str, participant_id: str) -> Loaded[JointPurchase]:
        return await self._command(
            caller, purchase_id, lambda p: gb.release_participant(p, participant_id, now=self.clock.now())
        )

    async def publish_news(
        self, caller: Caller, purchase_id: str, text: str, pinned: bool, expires_at: datetime | None
    ) -> tuple[Loaded[JointPurchase], str]:
        news_id = self.new_id()
        loaded = await self._command(
            caller,
            purchase_id,
            lambda p: gb.publish_news(
                p, news_id=news_id, text=text, pinned=pinned, expires_at=expires_at, now=self.clock.now()
            ),
        )
        return loaded, news_id

    async def unpin_news(self, caller: Caller, purchase_id: str, news_id: str) -> Loaded[JointPurchase]:
        return await self._command(caller, purchase_id, lambda p: gb.unpin_news(p, news_id))

    # --- distribution at the pickup point (organiser) --------------------------------------

    async def hand_out_list(
        self, caller: Caller, purchase_id: str, handed_out: bool | None = None
    ) -> tuple[Loaded[JointPurchase], list[distribution.HandOutRow]]:
        loaded = await self._visible(caller, purchase_id)
        return loaded, distribution.hand_out_list(loaded.state, handed_out=handed_out)

    async def hand_out(self, caller: Caller, purchase_id: str, participant_id: str) -> distribution.HandOutRow:
        """Mark the participant's goods collected (once); their row of the hand-out list."""
        loaded = await self._command(
            caller, purchase_id, lambda p: distribution.hand_out(p, participant_id, now=self.clock.now())
        )
        return next(r for r in distribution.hand_out_list(loaded.state) if r.participant_id == participant_id)

    async def resale(self, caller: Caller, purchase_id: str) -> Loaded[JointPurchase]:
        return await self._visible(caller, purchase_id)

    async def sell_resale(
        self,
        caller: Caller,
        purchase_id: str,
        item_id: str,
        *,
        buyer_name: str,
        buyer_contact: str | None,
        price: Money | None,
    ) -> Loaded[JointPurchase]:
        return await self._command(
            caller,
            purchase_id,
            lambda p: distribution.sell(
                p, item_id, buyer_name=buyer_name, buyer_contact=buyer_contact, price=price, now=self.clock.now()
            ),
        )

    async def return_resale(self, caller: Caller, purchase_id: str, item_id: str) -> Loaded[JointPurchase]:
        return await self._command(
            caller, purchase_id, lambda p: distribution.return_to_stock(p, item_id, now=self.clock.now())
        )

    # --- participants (organiser or partner) ----------------------------------------------

    async def add_participant(
        self, caller: Caller, purchase_id: str, new: NewParticipant
    ) -> tuple[Loaded[JointPurchase], str]:
        viewer = caller.viewer
        partner_id = viewer.staff_id if viewer.is_partner else new.partner_id
        partner = await self._partner(caller.shop_id, partner_id) if partner_id else None
        participant_id = self.new_id()
        now = self.clock.now()
        external_ref = new.external_ref
        if new.idempotency_key is not None:
            external_ref = f"key:{caller.actor.id}:{new.idempotency_key}"

        def decide(p: JointPurchase) -> gb.Decision | None:
            existing = p.by_external_ref(external_ref) if external_ref is not None else None
            if existing is not None:
                if new.idempotency_key is not None and existing.fingerprint != new.fingerprint:
                    raise IdempotencyKeyReused("was used before with a different request", "Idempotency-Key")
                return None  # sent before: the intake's retry, or the client's
            joined = gb.add_participant(
                p,
                participant_id=participant_id,
                name=new.name,
                contact=new.contact,
                currency=new.currency,
                partner=partner.ref() if partner else None,
                delivery_option=new.delivery_option,
                payment_option=new.payment_option,
                external_ref=external_ref,
                email=new.email,
                fingerprint=new.fingerprint if new.idempotency_key is not None else None,
                now=now,
            )
            if not new.lines:
                return joined
            added = gb.add_items(joined.purchase, participant_id, new.lines, new_id=self.new_id, now=now)
            return gb.Decision(added.purchase, [*joined.events, *added.events])

        loaded = await self._command(caller, purchase_id, decide)
        if external_ref is not None:
            existing = loaded.state.by_external_ref(external_ref)
            if existing is not None:
                participant_id = existing.participant_id
        return loaded, participant_id

    async def add_items(
        self, caller: Caller, purchase_id: str, participant_id: str, lines: Sequence[tuple[str, int]]
    ) -> Loaded[JointPurchase]:
        viewer = caller.viewer

        def decide(p: JointPurchase) -> gb.Decision:
            if not viewer.sees(p.participant(participant_id)):
                raise NotFound(f"no participant {participant_id} in this purchase", "participant_id")
            return gb.add_items(p, participant_id, lines, new_id=self.new_id, now=self.clock.now())

        return await self._command(caller, purchase_id, decide)

    async def _partner(self, shop_id: str, partner_id: str) -> Partner:
        loaded = await self.partner_store.load(shop_id, partner_id)
        if loaded is None:
            raise PartnerUnknown(f"partner {partner_id} has no terms yet: the organiser sets them", "partner_id")
        return loaded.state

    # --- reads -------------------------------------------------------------------------

    async def get(self, caller: Caller, purchase_id: str) -> Loaded[JointPurchase]:
        return await self._visible(caller, purchase_id)

    async def page(
        self, caller: Caller, *, state: str | None, cursor: str | None, limit: int
    ) -> CursorPage[JointPurchase]:
        viewer = caller.viewer
        states = (state,) if state else None
        rows = await self.purchases.page(
            caller.shop_id,
            states=states,  # type: ignore[arg-type]
            partner_id=viewer.staff_id if viewer.is_partner else None,
            after=cursor,
            limit=limit + 1,
        )
        return CursorPage.from_rows(rows, limit, cursor_of=lambda p: p.purchase_id)

    async def table(
        self, caller: Caller, purchase_id: str, query: TableQuery, cursor: str | None, limit: int
    ) -> TablePage:
        loaded = await self._table_source(caller, purchase_id)
        rows = tb.table(loaded.state, caller.viewer)
        chunk, next_cursor = tb.page(rows, query, cursor=cursor, limit=limit)
        return TablePage(
            rows=CursorPage[tb.TableRow](items=chunk, next_cursor=next_cursor),
            totals=tb.totals(tb.select(rows, query), loaded.state.currencies),
            fill=tb.fill_state(loaded.state, caller.viewer),
            state=loaded.state.state,
            version=loaded.version,
        )

    async def table_csv(self, caller: Caller, purchase_id: str, query: TableQuery) -> str:
        loaded = await self._table_source(caller, purchase_id)
        return tb.to_csv(tb.select(tb.table(loaded.state, caller.viewer), query))

    async def earnings(self, caller: Caller, purchase_id: str, partner_id: str | None) -> list[tb.Earning]:
        viewer = caller.viewer
        loaded = await self._table_source(caller, purchase_id)
        who = viewer.staff_id if viewer.is_partner else partner_id
        if who is None:
            raise NotFound("name the partner", "partner_id")
        return tb.earnings(loaded.state, who)

    async def _table_source(self, caller: Caller, purchase_id: str) -> Loaded[JointPurchase]:
        """A partner reads the people of a purchase only when they brought somebody to it."""
        loaded = await self.purchases.load(caller.shop_id, purchase_id)
        if loaded is None or not tb.takes_part(loaded.state, caller.viewer):
            raise NotFound(f"no joint purchase {purchase_id}", "purchase_id")
        return loaded

    async def earnings_report(
        self, caller: Caller, partner_id: str | None, since: datetime, until: datetime
    ) -> EarningsReport:
        """A partner's earnings over the purchases closing in [since, until): per purchase and totals.

        A partner reads their own (whatever they name); an organiser names the partner. At most
        REPORT_MAX_PURCHASES purchases (`truncated` says there were more: narrow the period)."""
        viewer = caller.viewer
        who = viewer.staff_id if viewer.is_partner else partner_id
        if who is None:
            raise NotFound("name the partner", "partner_id")
        if until <= since:
            raise InvalidInput("must be after from", "to")
        found = await self.purchases.with_partner_closing(caller.shop_id, who, since, until, REPORT_MAX_PURCHASES + 1)
        lines = [(p, tb.earnings(p, who)) for p in found[:REPORT_MAX_PURCHASES]]
        return EarningsReport(
            partner_id=who,
            purchases=lines,
            totals=tb.earnings_totals([e for _, rows in lines for e in rows]),
            truncated=len(found) > REPORT_MAX_PURCHASES,
        )

    # --- the cluster-wide loops (closing date, payment deadlines) ---------------------------

    async def stop_due(self) -> int:
        """Stop the purchases whose closing date passed; how many were stopped."""
        now = self.clock.now()
        done = 0
        for key in await self.purchases.due_to_stop(now, LOOP_BATCH):
            system = Caller(key.shop_id, self.events.system_actor)

            def decide(p: JointPurchase) -> gb.Decision | None:
                return gb.stop(p, now=now, reason="closing date reached") if gb.due_to_stop(p, now) else None

            try:
                await self._command(system, key.purchase_id, decide)
                done += 1
            except (WrongState, NotFound):
                continue  # moved on meanwhile
        return done

    async def release_due(self) -> int:
        now = self.clock.now()
        done = 0
        for key in await self.purchases.payment_overdue(now, LOOP_BATCH):
            system = Caller(key.shop_id, self.events.system_actor)
            try:
                await self._command(system, key.purchase_id, lambda p: gb.release_unpaid(p, now=now))
                done += 1
            except NotFound:
                continue
        return done

    async def remind_due(self) -> int:
        """Payment reminders due now, across shops: once per (participant, reminder number)."""
        now = self.clock.now()
        done = 0
        for key in await self.purchases.reminders_due(now, LOOP_BATCH):
            system = Caller(key.shop_id, self.events.system_actor)
            try:
                await self._command(system, key.purchase_id, lambda p: reminders.remind(p, now=now))
                done += 1
            except NotFound:
                continue
        return done

    # --- partners --------------------------------------------------------------------------

    async def set_partner_terms(
        self, caller: Caller, partner_id: str, *, kind: str, name: str | None, percent: Decimal
    ) -> Loaded[Partner]:
        now = self.clock.now()

        def decide(loaded: Loaded[Partner]) -> Decision[Partner]:
            current = None if loaded.is_new else loaded.state
            return Decision(
                partners.set_terms(
                    current,
                    partner_id=partner_id,
                    shop_id=caller.shop_id,
                    kind=kind,
                    name=name,
                    percent=percent,
                    now=now,
                )
            )

        return await self.partner_loop.run(
            caller.shop_id,
            partner_id,
            decide,
            new=lambda: partners.Partner(partner_id, caller.shop_id, "agent", name or "?", Decimal(0), now),
        )

    async def partners_page(self, caller: Caller, cursor: str | None, limit: int) -> CursorPage[Partner]:
        rows = await self.partner_store.page(caller.shop_id, cursor, limit + 1)
        return CursorPage.from_rows(rows, limit, cursor_of=lambda p: p.partner_id)

    # --- payments of the participants' orders (the payment service's events) -----------------

    async def on_payment_captured(self, env: Envelope[PaymentCaptured]) -> None:
        """Money taken for a participant's order counts as their payment (reference: the payment id)."""
        p = env.payload
        await self._on_order_money(
            env,
            p.order_id,
            lambda purchase, participant_id: gb.record_payment(
                purchase, participant_id, p.amount, f"payment:{p.payment_id}", now=self.clock.now()
            ),
        )

    async def on_refund_completed(self, env: Envelope[RefundCompleted]) -> None:
        """Money given back for a participant's order lowers what they paid (reference: the refund id)."""
        p = env.payload
        await self._on_order_money(
            env,
            p.order_id,
            lambda purchase, participant_id: gb.record_refund(
                purchase, participant_id, p.amount, f"refund:{p.refund_id}", order_id=p.order_id
            ),
        )

    async def on_purchase_order_received(self, env: Envelope[PurchaseOrderReceived]) -> None:
        """Catalog received the consolidated purchase order (its id is the purchase's) in full: received."""
        p = env.payload
        if p.status != "received":
            return  # partly received: the purchase waits for the rest
        loaded = await self.purchases.load(env.shop_id, p.purchase_order_id)
        if loaded is None:
            return  # a purchase order of the shop's own, not a joint purchase's
        await self.loop.run(
            env.shop_id,
            p.purchase_order_id,
            lambda current: self._decision(gb.goods_received(current.state, now=self.clock.now()), None, env),
            missing=lambda: NotFound(f"no joint purchase {p.purchase_order_id}", "purchase_id"),
        )

    async def _on_order_money(
        self,
        env: Envelope[PaymentCaptured] | Envelope[RefundCompleted],
        order_id: str,
        decide: Callable[[JointPurchase, str], gb.Decision | None],
    ) -> None:
        purchase_id = await self.purchases.by_order(env.shop_id, order_id)
        if purchase_id is None:
            return  # not a participant's order: most payments are not

        def decided(loaded: Loaded[JointPurchase]) -> Decision[JointPurchase] | NoChange:
            participant = loaded.state.by_order(order_id)
            if participant is None:
                return NoChange("no participant with this order")
            return self._decision(decide(loaded.state, participant.participant_id), None, env)

        await self.loop.run(
            env.shop_id,
            purchase_id,
            decided,
            missing=lambda: NotFound(f"no joint purchase {purchase_id}", "purchase_id"),
        )

    async def on_staff_added(self, env: Envelope[StaffMemberAdded]) -> None:
        """A partner's staff account exists at the gateway: know them here (terms still unset)."""
        p = env.payload
        if p.role not in partners.PARTNER_KINDS:
            return
        now = self.clock.now()

        def decide(loaded: Loaded[Partner]) -> Decision[Partner] | NoChange:
            if not loaded.is_new:
                return NoChange("known already")
            return Decision(
                partners.partner_from_staff(
                    partner_id=p.staff_id, shop_id=env.shop_id, role=p.role, name=p.name, now=now
                )
            )

        await self.partner_loop.run(
            env.shop_id,
            p.staff_id,
            decide,
            applied_event_id=env.event_id,
            new=lambda: partners.partner_from_staff(
                partner_id=p.staff_id, shop_id=env.shop_id, role=p.role, name=p.name, now=now
            ),
        )
