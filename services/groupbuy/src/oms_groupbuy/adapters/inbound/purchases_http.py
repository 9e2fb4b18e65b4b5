"""HTTP API of joint purchases (reached through the gateway at /api/v1/groupbuy/...).

Organisers (admin, manager) open and run purchases and see every participant; partners (agent,
dealer) see the purchases still collecting and the ones they brought somebody to, and in them only
their own people. Routes parse, call one application method and map the result; the application's
exceptions are answered by the service's problems map.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from litestar import Controller, Response, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from oms_contracts import Money
from oms_contracts.limits import RequestedLine, StatedMoney
from oms_contracts.messages.common import Sku
from oms_contracts.messages.groupbuy import PurchaseState
from oms_contracts.money import CurrencyCode
from oms_runtime.commands import Loaded
from oms_runtime.context import Ctx, RequestContext, requires
from oms_runtime.paging import DEFAULT_PAGE_SIZE, CursorPage
from oms_runtime.params import Cursor, Limit, StorableTime, idempotency_key_header
from oms_runtime.preconditions import IfMatch, expected_version
from pydantic import BaseModel, EmailStr, Field

from oms_groupbuy.application.purchases import Caller, NewParticipant, NewPurchase, Purchases, TablePage
from oms_groupbuy.domain import distribution
from oms_groupbuy.domain import purchase as gb
from oms_groupbuy.domain import table as tb
from oms_groupbuy.domain.errors import InvalidInput
from oms_groupbuy.domain.partner import Partner
from oms_groupbuy.domain.purchase import JointPurchase, Offer, Option, RowSpec
from oms_groupbuy.domain.table import MAX_TABLE_PAGE, ORGANISER_ROLES, PARTNER_ROLES, SORTS, TableQuery

PurchasesDep = NamedDependency[Purchases]
ORGANISER = requires(*ORGANISER_ROLES)
ANYONE_OF_GROUPBUY = requires(*ORGANISER_ROLES, *PARTNER_ROLES)

Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]
Ident = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
Text200 = Annotated[str, Field(min_length=1, max_length=200)]


def caller(ctx: RequestContext) -> Caller:
    return Caller(ctx.shop_id, ctx.actor, ctx.correlation_id)


def view(ctx: RequestContext, purchases: Purchases, loaded: Loaded[JointPurchase]) -> PurchaseView:
    return PurchaseView.of(loaded.state, loaded.version, caller(ctx).viewer, purchases.clock.now())


# --- requests ------------------------------------------------------------------------------


class OfferIn(BaseModel):
    sku: Sku
    name: Text200
    prices: list[StatedMoney] = Field(min_length=1, max_length=gb.MAX_CURRENCIES, description="One per currency")
    weight_grams: int = Field(default=0, ge=0, le=1_000_000)
    min_quantity: int = Field(default=0, ge=0, le=100_000, description="The supplier's minimum for this SKU")
    unit_cost: StatedMoney | None = Field(
        default=None, description="The supplier's price: the consolidated purchase order's unit cost"
    )


class RowIn(BaseModel):
    id: Ident
    name: Text200
    positions: list[Sku] = Field(min_length=2, max_length=gb.MAX_ROW_POSITIONS, description="One SKU per position")


class OptionIn(BaseModel):
    id: Ident
    kind: Literal["delivery", "payment"]
    name: Text200
    price: StatedMoney


class PartnerPercentIn(BaseModel):
    partner_id: Annotated[str, Field(min_length=1, max_length=64)]
    percent: Percent


class CreatePurchase(BaseModel):
    title: Text200
    supplier: Annotated[str, Field(max_length=200)] | None = None
    closes_at: StorableTime
    currencies: list[CurrencyCode] = Field(min_length=1, max_length=gb.MAX_CURRENCIES)
    offers: list[OfferIn] = Field(min_length=1, max_length=gb.MAX_OFFERS)
    rows: list[RowIn] = Field(default_factory=list, max_length=gb.MAX_ROW_SPECS)
    options: list[OptionIn] = Field(default_factory=list, max_length=gb.MAX_OPTIONS)
    fee_percent: Percent | None = Field(default=None, description="The organiser's fee on goods; none when absent")
    minimum_totals: list[StatedMoney] = Field(default_factory=list, max_length=gb.MAX_CURRENCIES)
    transport_share: Literal["sum", "weight"] = "sum"
    payment_days: int = Field(default=3, ge=1, le=60)
    partner_percents: list[PartnerPercentIn] = Field(default_factory=list, max_length=200)
    supplier_id: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="The catalog's supplier: with warehouse_id, catalog makes the consolidated PO"
    )
    warehouse_id: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="The catalog's warehouse the supplier's goods are received into"
    )

    def spec(self) -> NewPurchase:
        for i, offer in enumerate(self.offers):
            if len({m.currency for m in offer.prices}) != len(offer.prices):
                raise InvalidInput("one price per currency", f"offers[{i}].prices")
        if len({m.currency for m in self.minimum_totals}) != len(self.minimum_totals):
            raise InvalidInput("one minimum per currency", "minimum_totals")
        return NewPurchase(
            title=self.title,
            supplier=self.supplier,
            closes_at=self.closes_at,
            currencies=self.currencies,
            offers=[
                Offer(
                    o.sku,
                    o.name,
                    {m.currency: m.amount for m in o.prices},
                    o.weight_grams,
                    o.min_quantity,
                    None if o.unit_cost is None else Money(amount=o.unit_cost.amount, currency=o.unit_cost.currency),
                )
                for o in self.offers
            ],
            row_specs=[RowSpec(r.id, r.name, tuple(r.positions)) for r in self.rows],
            options=[Option(o.id, o.kind, o.price.currency, o.name, o.price.amount) for o in self.options],
            fee_percent=self.fee_percent if self.fee_percent is not None else Decimal(0),
            minimum_totals={m.currency: m.amount for m in self.minimum_totals},
            transport_share=self.transport_share,
            payment_days=self.payment_days,
            partner_percents={p.partner_id: p.percent for p in self.partner_percents},
            supplier_id=self.supplier_id,
            warehouse_id=self.warehouse_id,
        )


class AddParticipant(BaseModel):
    name: Text200
    contact: Annotated[str, Field(max_length=200)] | None = None
    email: EmailStr | None = Field(default=None, description="Where the purchase's news and notices are mailed")
    currency: CurrencyCode
    lines: list[RequestedLine] = Field(default_factory=list, max_length=50)
    delivery_option: Ident | None = None
    payment_option: Ident | None = None
    partner_id: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="Organisers only: the agent or dealer who brought the participant"
    )


class AddItems(BaseModel):
    lines: list[RequestedLine] = Field(min_length=1, max_length=50)


class PaymentIn(BaseModel):
    amount: StatedMoney
    reference: Annotated[str, Field(min_length=1, max_length=100)] = Field(
        description="The payment's reference (receipt, transfer id): recording it again changes nothing"
    )


class SwapIn(BaseModel):
    sku: Sku


class TransportIn(BaseModel):
    amount: StatedMoney = Field(description="The transport cost to share among the participants paying in its currency")


class CancelIn(BaseModel):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class NewsIn(BaseModel):
    text: Annotated[str, Field(min_length=1, max_length=2000)]
    pinned: bool = True
    expires_at: StorableTime | None = None


class PartnerTermsIn(BaseModel):
    kind: Literal["agent", "dealer"]
    name: Text200 | None = None
    percent: Percent = Field(description="Agent: commission on paid items; dealer: discount on prices")


# --- responses -----------------------------------------------------------------------------


class OfferView(BaseModel):
    sku: str
    name: str
    prices: list[Money]
    weight_grams: int
    min_quantity: int
    unit_cost: Money | None = Field(default=None, description="Organisers only: the supplier's price")


class RowFillView(BaseModel):
    row_id: str
    name: str
    number: int
    positions: int
    taken: int
    filled: bool
    free: list[str]

    @classmethod
    def of(cls, r: tb.RowFill) -> RowFillView:
        return cls(
            row_id=r.spec_id,
            name=r.name,
            number=r.number,
            positions=r.positions,
            taken=r.taken,
            filled=r.filled,
            free=r.free,
        )


class OptionView(BaseModel):
    id: str
    kind: str
    name: str
    price: Money


class NewsView(BaseModel):
    id: str
    text: str
    pinned: bool
    published_at: datetime
    expires_at: datetime | None


class PurchaseView(BaseModel):
    id: str
    version: int
    title: str
    supplier: str | None
    state: str
    closes_at: datetime
    currencies: list[str]
    offers: list[OfferView]
    rows: list[RowFillView]
    options: list[OptionView]
    fee_percent: Decimal
    transport_share: str
    transport: list[Money]
    minimum_totals: list[Money]
    payment_days: int
    participants: int = Field(description="How many participants the caller sees")
    news: list[NewsView] = Field(description="Pinned and unexpired first, newest first")
    created_at: datetime
    supplier_id: str | None = Field(default=None, description="Organisers only: the catalog's supplier")
    warehouse_id: str | None = Field(default=None, description="Organisers only: the catalog's warehouse")

    @classmethod
    def of(cls, p: JointPurchase, version: int, viewer: tb.Viewer, now: datetime) -> PurchaseView:
        return cls(
            id=p.purchase_id,
            version=version,
            title=p.title,
            supplier=p.supplier,
            state=p.state,
            closes_at=p.closes_at,
            currencies=list(p.currencies),
            offers=[
                OfferView(
                    sku=o.sku,
                    name=o.name,
                    prices=[Money(amount=v, currency=c) for c, v in o.prices.items()],
                    weight_grams=o.weight_grams,
                    min_quantity=o.min_quantity,
                    unit_cost=None if viewer.is_partner else o.unit_cost,
                )
                for o in p.offers
            ],
            rows=[RowFillView.of(r) for r in tb.fill_state(p, viewer)],
            options=[
                OptionView(id=o.option_id, kind=o.kind, name=o.name, price=Money(amount=o.price, currency=o.currency))
                for o in p.options
            ],
            fee_percent=p.fee_percent,
            transport_share=p.transport_share,
            transport=[Money(amount=v, currency=c) for c, v in p.transport.items()],
            minimum_totals=[Money(amount=v, currency=c) for c, v in p.minimum_totals.items()],
            payment_days=p.payment_days,
            participants=len(tb.visible(p, viewer)),
            news=[
                NewsView(
                    id=n.news_id, text=n.text, pinned=n.shown(now), published_at=n.published_at, expires_at=n.expires_at
                )
                for n in gb.visible_news(p, now)
            ],
            created_at=p.created_at,
            supplier_id=None if viewer.is_partner else p.supplier_id,
            warehouse_id=None if viewer.is_partner else p.warehouse_id,
        )


class PurchaseSummary(BaseModel):
    id: str
    title: str
    state: str
    closes_at: datetime
    currencies: list[str]


class ItemView(BaseModel):
    id: str
    sku: str
    quantity: int
    unit_price: Money
    status: str
    row_id: str | None
    row_number: int | None


class ParticipantView(BaseModel):
    purchase_id: str
    participant_id: str
    version: int
    name: str
    currency: str
    partner_id: str | None
    items: list[ItemView]


def participant_view(p: JointPurchase, version: int, participant_id: str) -> ParticipantView:
    x = p.participant(participant_id)
    return ParticipantView(
        purchase_id=p.purchase_id,
        participant_id=participant_id,
        version=version,
        name=x.name,
        currency=x.currency,
        partner_id=x.partner_id,
        items=[
            ItemView(
                id=i.item_id,
                sku=i.sku,
                quantity=i.quantity,
                unit_price=Money(amount=i.unit_price, currency=x.currency),
                status=i.status,
                row_id=i.row[0] if i.row else None,
                row_number=i.row[1] if i.row else None,
            )
            for i in p.items_of(participant_id)
        ],
    )


# The money columns a table row and the totals share, in one currency.
SUMS = ("goods", "fee", "transport", "options", "due", "paid", "owed")


def _sums(source: tb.TableRow | tb.Totals, currency: str) -> dict[str, Money]:
    return {name: Money(amount=getattr(source, name), currency=currency) for name in SUMS}


class TableRowView(BaseModel):
    participant_id: str
    name: str
    contact: str | None
    items: str
    quantity: int
    currency: str
    goods: Money
    fee: Money
    transport: Money
    options: Money
    due: Money
    paid: Money
    owed: Money
    payment_status: str
    status: str
    added_at: datetime
    payment_deadline: datetime | None
    partner_id: str | None
    partner_kind: str | None
    partner_name: str | None
    order_id: str | None = Field(default=None, description="The participant's order in the order service")

    @classmethod
    def of(cls, r: tb.TableRow) -> TableRowView:
        return cls(
            participant_id=r.participant_id,
            name=r.name,
            contact=r.contact,
            items=r.items,
            quantity=r.quantity,
            currency=r.currency,
            **_sums(r, r.currency),
            payment_status=r.payment_status,
            status=r.status,
            added_at=r.added_at,
            payment_deadline=r.payment_deadline,
            partner_id=r.partner_id,
            partner_kind=r.partner_kind,
            partner_name=r.partner_name,
            order_id=r.order_id,
        )


class TotalsView(BaseModel):
    currency: str
    participants: int
    quantity: int
    goods: Money
    fee: Money
    transport: Money
    options: Money
    due: Money
    paid: Money
    owed: Money

    @classmethod
    def of(cls, t: tb.Totals) -> TotalsView:
        return cls(currency=t.currency, participants=t.participants, quantity=t.quantity, **_sums(t, t.currency))


class TableView(BaseModel):
    """One page of the organiser's table (a partner's: their own people only), with the totals of
    every row the filter selects (not only this page) and the fill state of the size rows."""

    items: list[TableRowView]
    next_cursor: str | None
    totals: list[TotalsView]
    rows: list[RowFillView]
    state: str
    version: int

    @classmethod
    def of(cls, t: TablePage) -> TableView:
        return cls(
            items=[TableRowView.of(r) for r in t.rows.items],
            next_cursor=t.rows.next_cursor,
            totals=[TotalsView.of(x) for x in t.totals],
            rows=[RowFillView.of(r) for r in t.fill],
            state=t.state,
            version=t.version,
        )


class EarningView(BaseModel):
    partner_id: str
    participants: int
    paid_participants: int
    paid_goods: Money
    commission: Money
    status: str = Field(description="accrued (not payable before distribution), payable, or void (cancelled)")


def earning_view(e: tb.Earning) -> EarningView:
    return EarningView(
        partner_id=e.partner_id,
        participants=e.participants,
        paid_participants=e.paid_participants,
        paid_goods=Money(amount=e.paid_goods, currency=e.currency),
        commission=Money(amount=e.commission, currency=e.currency),
        status=e.status,
    )


class PurchaseEarningsView(BaseModel):
    purchase_id: str
    title: str
    state: str
    closes_at: datetime
    earnings: list[EarningView]


class EarningsTotalView(BaseModel):
    currency: str
    paid_goods: Money
    accrued: Money = Field(description="Commission on paid participants of purchases not distributed yet")
    payable: Money = Field(description="Commission of distributed or closed purchases")
    void: Money = Field(description="Commission of cancelled purchases (never paid)")


class EarningsReportView(BaseModel):
    partner_id: str
    purchases: list[PurchaseEarningsView]
    totals: list[EarningsTotalView]
    truncated: bool = Field(description="More purchases closed in the period than one report holds: narrow it")


class PartnerView(BaseModel):
    id: str
    kind: str
    name: str
    percent: Decimal
    terms_set: bool

    @classmethod
    def of(cls, p: Partner) -> PartnerView:
        return cls(id=p.partner_id, kind=p.kind, name=p.name, percent=p.percent, terms_set=p.terms_set)


IdempotencyKey = Annotated[
    str | None,
    idempotency_key_header(
        "The same key and body add the participant once (a retry answers the first one); "
        "another body under the same key is refused 422",
        max_length=100,
    ),
]

SortParam = Annotated[str, QueryParameter(pattern=f"^({'|'.join(SORTS)})$", description=f"One of {', '.join(SORTS)}")]


def table_query(
    sort: str,
    desc: bool,
    currency: str | None,
    payment_status: str | None,
    status: str | None,
    partner_id: str | None,
    search: str | None,
) -> TableQuery:
    return TableQuery(
        sort=sort,
        descending=desc,
        currency=currency,
        payment_status=payment_status,
        status=status,
        partner_id=partner_id,
        search=search,
    )


PaymentStatusParam = Annotated[
    Literal["unpaid", "partly_paid", "paid", "overpaid", "nothing_due"] | None, QueryParameter()
]
StatusParam = Annotated[Literal["active", "waiting", "queued", "released", "empty"] | None, QueryParameter()]
PartnerParam = Annotated[str | None, QueryParameter(max_length=64)]
SearchParam = Annotated[str | None, QueryParameter(max_length=100)]
CurrencyParam = Annotated[str | None, QueryParameter(pattern=r"^[A-Z]{3}$")]
DescParam = Annotated[bool, QueryParameter(description="Largest first")]
TableLimit = Annotated[int, QueryParameter(ge=1, le=MAX_TABLE_PAGE)]
TableCursor = Annotated[str | None, QueryParameter(max_length=512)]


class PurchasesController(Controller):
    path = "/purchases"
    tags = ["joint purchases"]
    guards = [ANYONE_OF_GROUPBUY]

    @post("/", summary="Open a joint purchase (organiser)", status_code=201, guards=[ORGANISER])
    async def open_purchase(
        self, ctx: Ctx, purchases: PurchasesDep, data: JSONBody[CreatePurchase], idempotency_key: IdempotencyKey = None
    ) -> PurchaseView:
        fingerprint = hashlib.sha256(data.model_dump_json().encode()).hexdigest()
        loaded = await purchases.open(caller(ctx), data.spec(), idempotency_key, fingerprint)
        return PurchaseView.of(loaded.state, loaded.version, caller(ctx).viewer, purchases.clock.now())

    @get("/", summary="Joint purchases, oldest first (a partner: collecting ones and their own)")
    async def list_purchases(
        self,
        ctx: Ctx,
        purchases: PurchasesDep,
        in_state: Annotated[PurchaseState | None, QueryParameter(name="state")] = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
    ) -> CursorPage[PurchaseSummary]:
        page = await purchases.page(caller(ctx), state=in_state, cursor=cursor, limit=limit)
        return page.map(
            lambda p: PurchaseSummary(
                id=p.purchase_id, title=p.title, state=p.state, closes_at=p.closes_at, currencies=list(p.currencies)
            )
        )

    @get("/{purchase_id:str}", summary="A joint purchase: offers, options, size rows, pinned news")
    async def get_purchase(self, ctx: Ctx, purchases: PurchasesDep, purchase_id: FromPath[str]) -> PurchaseView:
        loaded = await purchases.get(caller(ctx), purchase_id)
        return PurchaseView.of(loaded.state, loaded.version, caller(ctx).viewer, purchases.clock.now())

    @post("/{purchase_id:str}/stop", summary="Stop collecting (organiser)", status_code=200, guards=[ORGANISER])
    async def stop(
        self, ctx: Ctx, purchases: PurchasesDep, purchase_id: FromPath[str], if_match: IfMatch = None
    ) -> PurchaseView:
        loaded = await purchases.stop(caller(ctx), purchase_id, expected_version(if_match))
        return view(ctx, purchases, loaded)

    @post(
        "/{purchase_id:str}/advance",
        summary="One step along the lifecycle (organiser): stop, open payment, order, receive, distribute, close",
        status_code=200,
        guards=[ORGANISER],
    )
    async def advance(
        self,
        ctx: Ctx,
        purchases: PurchasesDep,
        purchase_id: FromPath[str],
        if_match: IfMatch = None,
        to: Annotated[
            PurchaseState | None,
            QueryParameter(description="The state meant: already there changes nothing, another step is 409"),
        ] = None,
    ) -> PurchaseView:
        loaded = await purchases.advance(caller(ctx), purchase_id, expected_version(if_match), to)
        return view(ctx, purchases, loaded)

    @post(
        "/{purchase_id:str}/cancel", summary="Cancel before ordering (organiser)", status_code=200, guards=[ORGANISER]
    )
    async def cancel(
        self,
        ctx: Ctx,
        purchases: PurchasesDep,
        purchase_id: FromPath[str],
        data: JSONBody[CancelIn],
        if_match: IfMatch = None,
    ) -> PurchaseView:
        loaded = await purchases.cancel(caller(ctx), purchase_id, data.reason, expected_version(if_match))
        return view(ctx, purchases, loaded)

    @post(
        "/{purchase_id:str}/release-unpaid",
        summary="Release now the items of participants past their payment deadline who paid nothing (organiser)",
        status_code=200,
        guards=[ORGANISER],
    )
    async def release_unpaid(self, ctx: Ctx, purchases: PurchasesDep, purchase_id: FromPath[str]) -> PurchaseView:
        loaded = await purchases.release_unpaid(caller(ctx), purchase_id)
        return view(ctx, purchases, loaded)

    @put("/{purchase_id:str}/transport", summary="The transport cost of one currency (organiser)", guards=[ORGANISER])
    async def set_transport(
        self, ctx: Ctx, purchases: PurchasesDep, purchase_id: FromPath[str], data: JSONBody[TransportIn]
    ) -> PurchaseView:
        loaded = await purchases.set_transport(caller(ctx), purchase_id, data.amount.currency, data.amount.amount)
        return view(ctx, purchases, loaded)

    @post(
        "/{purchase_id:str}/items/{item_id:str}/swap",
        summary="Swap a queued item to another SKU (organiser)",
        status_code=200,
        guards=[ORGANISER],
    )
    async def swap(
        self,
        ctx: Ctx,
        purchases: PurchasesDep,
        purchase_id: FromPath[str],
        item_id: FromPath[str],
        data: JSONBody[SwapIn],
    ) -> PurchaseView:
        loaded = await purchases.swap(caller(ctx), purchase_id, item_id, data.sku)
        return view(ctx, purchases, loaded)

    @post(
        "/{purchase_id:str}/rows/{row_id:str}/{number:int}/drop",
        summary="Drop a size row that cannot be made whole (organiser)",
        status_code=200,
        guards=[ORGANISER],
    )
    async def drop_row(
        self,
        ctx: Ctx,
        purchases: PurchasesDep,
        purchase_id: FromPath[str],
        row_id: FromPath[str],
        number: FromPath[int],
    ) -> PurchaseView:
        loaded = await purchases.drop_row(caller(ctx), purchase_id, row_id, number)
        return view(ctx, purchases, loaded)

    @post("/{purchase_id:str}/participants", summary="Add a participant with their items", status_code=201)
    async def add_participant(
        self,
        ctx: Ctx,
        purchases: PurchasesDep,
        purchase_id: FromPath[str],
        data: JSONBody[AddParticipant],
        idempotency_key: IdempotencyKey = None,
    ) -> ParticipantView:
        loaded, participant_id = await purchases.add_participant(
            caller(ctx),
            purchase_id,
            NewParticipant(
                name=data.name,
                contact=data.contact,
                currency=data.currency,
                lines=[(line.sku, line.quantity) for line in data.lines],
                delivery_option=data.delivery_option,
                payment_option=data.payment_option,
                partner_id=data.partner_id,
                email=str(data.email) if data.email else None,
                idempotency_key=idempotency_key,
                fingerprint=hashlib.sha256(data.model_dump_json().encode()).hexdigest(),
            ),
        )
        return participant_view(loaded.state, loaded.version, participant_id)

    @post(
        "/{purchase_id:str}/participants/{participant_id:str}/items",
        summary="Add items to a participant (the organiser, or the partner who brought them)",
        status_code=201,
    )
    async def add_items(
        self,
        ctx: Ctx,
        purchases: PurchasesDep,
        purchase_id: FromPath[str],
        participant_id: FromPath[str],
        data: JSONBody[AddItems],
    ) -> ParticipantView:
        loaded = await purchases.add_items(
            caller(ctx), purchase_id, participant_id, [(line.sku, line.quantity) for line in data.lines]
        )
        return participant_view(loaded.state, loaded.version, participant_id)

    @post(
        "/{purchase_id:str}/participants/{participant_id:str}/payments",
        summary="Record a participant's payment (organiser); once per reference",
        status_code=201,
        guards=[ORGANISER],
    )
    async def record_payment(
        self,
        ctx: Ctx,
        purchases: PurchasesDep,
        purchase_id: FromPath[str],
        participant_id: FromPath[str],
        data: JSONBody[PaymentIn],
    ) -> ParticipantView:
        loaded = await purchases.record_payment(caller(ctx), purchase_id, participant_id, data.amount, data.reference)
        return participant_view(loaded.state, loaded.version, participant_id)

    @post(
        "/{purchase_id:str}/participants/{participant_id:str}/release",
        summary="Release a participant who paid nothing before their deadline (organiser): the queue takes their items",
        status_code=200,
        guards=[ORGANISER],
    )
    async def release_participant(
        self, ctx: Ctx, purchases: PurchasesDep, purchase_id: FromPath[str], participant_id: FromPath[str]
    ) -> PurchaseView:
        return view(ctx, purchases, await purchases.release_participant(caller(ctx), purchase_id, participant_id))

    @get(
        "/{purchase_id:str}/table",
        summary="The organiser's table (a partner: their own people), sorted, filtered, paged",
    )
    async def table(
        self,
        ctx: Ctx,
        purchases: PurchasesDep,
        purchase_id: FromPath[str],
        sort: SortParam = "added_at",
        desc: DescParam = False,
        currency: CurrencyParam = None,
        payment_status: PaymentStatusParam = None,
        status: StatusParam = None,
        partner_id: PartnerParam = None,
        search: SearchParam = None,
        cursor: TableCursor = None,
        limit: TableLimit = DEFAULT_PAGE_SIZE,
    ) -> TableView:
        query = table_query(sort, desc, currency, payment_status, status, partner_id, search)
        return TableView.of(await purchases.table(caller(ctx), purchase_id, query, cursor, limit))

    @get(
        "/{purchase_id:str}/table.csv",
        summary="The table as CSV (same filters and order, every selected row)",
        media_type="text/csv",
    )
    async def table_csv(
        self,
        ctx: Ctx,
        purchases: PurchasesDep,
        purchase_id: FromPath[str],
        sort: SortParam = "added_at",
        desc: DescParam = False,
        currency: CurrencyParam = None,
        payment_status: PaymentStatusParam = None,
        status: StatusParam = None,
        partner_id: PartnerParam = None,
        search: SearchParam = None,
    ) -> Response[str]:
        query = table_query(sort, desc, currency, payment_status, status, partner_id, search)
        text = await purchases.table_csv(caller(ctx), purchase_id, query)
        return Response(
            text,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="purchase-{purchase_id}.csv"'},
        )

    @get(
        "/{purchase_id:str}/earnings",
        summary="A partner's commission in this purchase per currency (a partner: their own; organiser: ?partner_id=)",
    )
    async def earnings(
        self, ctx: Ctx, purchases: PurchasesDep, purchase_id: FromPath[str], partner_id: PartnerParam = None
    ) -> list[EarningView]:
        return [earning_view(e) for e in await purchases.earnings(caller(ctx), purchase_id, partner_id)]

    @post(
        "/{purchase_id:str}/news",
        summary="Publish news to the purchase's people (organiser)",
        status_code=201,
        guards=[ORGANISER],
    )
    async def publish_news(
        self, ctx: Ctx, purchases: PurchasesDep, purchase_id: FromPath[str], data: JSONBody[NewsIn]
    ) -> PurchaseView:
        loaded, _ = await purchases.publish_news(caller(ctx), purchase_id, data.text, data.pinned, data.expires_at)
        return view(ctx, purchases, loaded)

    @post(
        "/{purchase_id:str}/news/{news_id:str}/unpin",
        summary="Unpin news (organiser)",
        status_code=200,
        guards=[ORGANISER],
    )
    async def unpin_news(
        self, ctx: Ctx, purchases: PurchasesDep, purchase_id: FromPath[str], news_id: FromPath[str]
    ) -> PurchaseView:
        loaded = await purchases.unpin_news(caller(ctx), purchase_id, news_id)
        return view(ctx, purchases, loaded)


class HandOutLineView(BaseModel):
    sku: str
    name: str
    quantity: int


class HandOutRowView(BaseModel):
    participant_id: str
    name: str
    contact: str | None
    lines: list[HandOutLineView]
    paid: Money
    owed: Money
    handed_out: bool
    handed_out_at: datetime | None
    order_id: str | None
    partner_id: str | None

    @classmethod
    def of(cls, r: distribution.HandOutRow) -> HandOutRowView:
        return cls(
            participant_id=r.participant_id,
            name=r.name,
            contact=r.contact,
            lines=[HandOutLineView(sku=x.sku, name=x.name, quantity=x.quantity) for x in r.lines],
            paid=Money(amount=r.paid, currency=r.currency),
            owed=Money(amount=r.owed, currency=r.currency),
            handed_out=r.handed_out,
            handed_out_at=r.handed_out_at,
            order_id=r.order_id,
            partner_id=r.partner_id,
        )


class HandOutListView(BaseModel):
    state: str
    version: int
    collected: int = Field(description="Participants on the list who collected their goods")
    to_collect: int = Field(description="Participants on the list still to come")
    items: list[HandOutRowView] = Field(description="By name (at most 1,000: the purchase's bound)")


class DistributionController(Controller):
    """The pickup point: the hand-out list of a received purchase and marking goods collected."""

    path = "/purchases/{purchase_id:str}"
    tags = ["joint purchases"]
    guards = [ORGANISER]

    @get("/hand-out", summary="The hand-out list: per participant their goods, paid, collected or not (organiser)")
    async def hand_out_list(
        self,
        ctx: Ctx,
        purchases: PurchasesDep,
        purchase_id: FromPath[str],
        handed_out: Annotated[bool | None, QueryParameter(description="true: collected; false: still to come")] = None,
    ) -> HandOutListView:
        loaded, rows = await purchases.hand_out_list(caller(ctx), purchase_id, handed_out)
        every = distribution.hand_out_list(loaded.state)
        done = sum(1 for r in every if r.handed_out)
        return HandOutListView(
            state=loaded.state.state,
            version=loaded.version,
            collected=done,
            to_collect=len(every) - done,
            items=[HandOutRowView.of(r) for r in rows],
        )

    @post(
        "/participants/{participant_id:str}/hand-out",
        summary="Mark the participant's goods collected at the pickup point (once; the last one distributes)",
        status_code=200,
    )
    async def hand_out(
        self, ctx: Ctx, purchases: PurchasesDep, purchase_id: FromPath[str], participant_id: FromPath[str]
    ) -> HandOutRowView:
        return HandOutRowView.of(await purchases.hand_out(caller(ctx), purchase_id, participant_id))


class ResaleOfferView(BaseModel):
    item_id: str
    sku: str
    name: str
    quantity: int
    from_participant_id: str
    price: Money = Field(description="What the participant paid per unit: the default asking price")
    status: Literal["offered", "sold", "returned"]
    buyer_name: str | None
    buyer_contact: str | None
    sold_price: Money | None
    decided_at: datetime | None

    @classmethod
    def of(cls, p: JointPurchase, o: gb.ResaleOffer) -> ResaleOfferView:
        offer = p.offer(o.sku)
        return cls(
            item_id=o.item_id,
            sku=o.sku,
            name=offer.name if offer else o.sku,
            quantity=o.quantity,
            from_participant_id=o.from_participant_id,
            price=Money(amount=o.price, currency=o.currency),
            status=o.status,
            buyer_name=o.buyer_name,
            buyer_contact=o.buyer_contact,
            sold_price=None if o.sold_price is None else Money(amount=o.sold_price, currency=o.currency),
            decided_at=o.decided_at,
        )


class ResaleView(BaseModel):
    state: str
    version: int
    items: list[ResaleOfferView] = Field(description="Offered first, then sold or returned")


def resale_view(loaded: Loaded[JointPurchase]) -> ResaleView:
    order = {"offered": 0, "sold": 1, "returned": 2}
    offers = sorted(loaded.state.resale, key=lambda o: (order[o.status], o.item_id))
    return ResaleView(
        state=loaded.state.state, version=loaded.version, items=[ResaleOfferView.of(loaded.state, o) for o in offers]
    )


class SellIn(BaseModel):
    name: Text200 = Field(description="The new buyer")
    contact: Text200 | None = None
    price: StatedMoney | None = Field(default=None, description="Per unit; default: what the participant paid")


class ResaleController(Controller):
    """What nobody collected by the close: offered for resale, sold to a new buyer or returned to stock."""

    path = "/purchases/{purchase_id:str}/resale"
    tags = ["joint purchases"]
    guards = [ORGANISER]

    @get("/", summary="Items nobody collected, offered for resale at the close (organiser)")
    async def list_resale(self, ctx: Ctx, purchases: PurchasesDep, purchase_id: FromPath[str]) -> ResaleView:
        return resale_view(await purchases.resale(caller(ctx), purchase_id))

    @post("/{item_id:str}/sell", summary="Sell an unclaimed item to a new buyer", status_code=200)
    async def sell(
        self,
        ctx: Ctx,
        purchases: PurchasesDep,
        purchase_id: FromPath[str],
        item_id: FromPath[str],
        data: JSONBody[SellIn],
    ) -> ResaleView:
        loaded = await purchases.sell_resale(
            caller(ctx), purchase_id, item_id, buyer_name=data.name, buyer_contact=data.contact, price=data.price
        )
        return resale_view(loaded)

    @post("/{item_id:str}/return", summary="Return an unclaimed item to the shop's stock", status_code=200)
    async def return_to_stock(
        self, ctx: Ctx, purchases: PurchasesDep, purchase_id: FromPath[str], item_id: FromPath[str]
    ) -> ResaleView:
        return resale_view(await purchases.return_resale(caller(ctx), purchase_id, item_id))


class PartnersController(Controller):
    path = "/partners"
    tags = ["partners"]
    guards = [ORGANISER]

    @put(
        "/{partner_id:str}",
        summary="Set a partner's terms (admin): commission (agent) or discount (dealer) percent",
        guards=[requires("admin")],
    )
    async def set_terms(
        self, ctx: Ctx, purchases: PurchasesDep, partner_id: FromPath[str], data: JSONBody[PartnerTermsIn]
    ) -> PartnerView:
        loaded = await purchases.set_partner_terms(
            caller(ctx), partner_id, kind=data.kind, name=data.name, percent=data.percent
        )
        return PartnerView.of(loaded.state)

    @get("/", summary="Partners of the shop and their terms")
    async def list_partners(
        self, ctx: Ctx, purchases: PurchasesDep, cursor: Cursor = None, limit: Limit = DEFAULT_PAGE_SIZE
    ) -> CursorPage[PartnerView]:
        page = await purchases.partners_page(caller(ctx), cursor, limit)
        return page.map(PartnerView.of)


@get(
    "/earnings",
    summary="A partner's earnings over purchases closing in a period (partner: own; organiser: ?partner_id=)",
    tags=["partners"],
    guards=[ANYONE_OF_GROUPBUY],
)
async def earnings_report(
    ctx: Ctx,
    purchases: PurchasesDep,
    since: Annotated[datetime, QueryParameter(name="from", description="Closing date from (inclusive, ISO 8601)")],
    until: Annotated[datetime, QueryParameter(name="to", description="Closing date to (exclusive, ISO 8601)")],
    partner_id: PartnerParam = None,
) -> EarningsReportView:
    if since.tzinfo is None or until.tzinfo is None:
        raise InvalidInput(
            "a time with its offset, e.g. 2026-12-01T00:00:00Z", "from" if since.tzinfo is None else "to"
        )
    report = await purchases.earnings_report(caller(ctx), partner_id, since, until)
    return EarningsReportView(
        partner_id=report.partner_id,
        purchases=[
            PurchaseEarningsView(
                purchase_id=p.purchase_id,
                title=p.title,
                state=p.state,
                closes_at=p.closes_at,
                earnings=[earning_view(e) for e in rows],
            )
            for p, rows in report.purchases
        ],
        totals=[
            EarningsTotalView(
                currency=t.currency,
                paid_goods=Money(amount=t.paid_goods, currency=t.currency),
                accrued=Money(amount=t.accrued, currency=t.currency),
                payable=Money(amount=t.payable, currency=t.currency),
                void=Money(amount=t.void, currency=t.currency),
            )
            for t in report.totals
        ],
        truncated=report.truncated,
    )
