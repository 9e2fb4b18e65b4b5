"""What the application needs from the outside world, as protocols (the adapters implement them),
and the plain values that cross them. Nothing here knows Mongo, Kafka or HTTP."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from oms_contracts import Actor, Envelope, Money
from oms_contracts.messages.common import Customer
from oms_contracts.messages.fulfilment import DeliveryMethodChanged
from oms_runtime.commands import CommandRepository

from oms_order.application.pipeline_definitions import PipelineSettings, StoredPipeline
from oms_order.domain.checkout import CheckoutSettings, DeliveryMethod, Quote
from oms_order.domain.order import AuditEntry, Order
from oms_order.domain.order_list import Cursor, CustomerKind, GroupBy, ListRow, SortField
from oms_order.domain.pipeline import Pipeline
from oms_order.domain.price_lists import ListPrice
from oms_order.domain.pricing import DeliveryRate, PromoCode, SkuPrice
from oms_order.domain.saved_views import SavedView
from oms_order.domain.sla_overview import InFlight
from oms_order.domain.sla_period import Period, Transition

# ---- orders ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredOrder:
    order: Order
    version: int
    idempotency_key: str
    request_fingerprint: str


@dataclass(frozen=True)
class OrderPage:
    items: list[StoredOrder]
    next_cursor: str | None


class DuplicateIdempotencyKey(Exception):
    """Another order of the shop already holds this idempotency key (a concurrent request won)."""


class OrderRepository(Protocol):
    async def get(self, shop_id: str, order_id: str) -> StoredOrder | None: ...

    async def recent(self, shop_id: str, order_id: str) -> StoredOrder | None:
        """The order as this process last wrote or read it, without a read; None when it has none.
        Maybe overtaken by another writer: only the start of a version-checked save (ADR 0032)."""
        ...

    async def by_idempotency_key(self, shop_id: str, key: str) -> StoredOrder | None: ...

    async def create(
        self, order: Order, *, idempotency_key: str, request_fingerprint: str, events: Sequence[Envelope[Any]]
    ) -> StoredOrder:
        """Raises DuplicateIdempotencyKey when the key is taken."""
        ...

    async def save(
        self,
        order: Order,
        *,
        expected_version: int,
        events: Sequence[Envelope[Any]],
        applied_event_id: str | None,
        applied_event_ids: Sequence[str] = (),
        read_back: bool = True,
    ) -> StoredOrder:
        """Raises ConcurrencyError on a lost race and AlreadyApplied for a replayed event (any of
        `applied_event_ids`: the consumed events this one save applies together). `read_back=False`:
        the caller ignores the answer's order, which may then be `order` itself, not the stored
        document parsed (that is parsed when a later write starts from it)."""
        ...

    async def page(self, shop_id: str, *, stage: str | None, cursor: str | None, limit: int) -> OrderPage: ...


class OrderNumbers(Protocol):
    async def next(self, shop_id: str) -> int: ...


class Customers(Protocol):
    """Who ordered before: first or repeat customer of the shop. A contact key new to the shop is given
    to the record this order would start, `customer_id_for(order_id)` (ADR 0036)."""

    async def register(self, shop_id: str, customer: Customer, order_id: str) -> CustomerKind: ...


# ---- prices, delivery rates, stock, promo codes ------------------------------------------------


class SkuPrices(Protocol):
    async def many(self, shop_id: str, skus: Sequence[str]) -> dict[str, SkuPrice]: ...

    async def upsert(self, shop_id: str, *, sku: str, name: str, price: Money, active: bool, as_of: datetime) -> bool:
        """Keep the newest (by `as_of`) version of a SKU; False when the stored one is newer."""
        ...


class PriceListPrices(Protocol):
    """The projection of the catalog's price lists (SkuPriceChanged)."""

    async def for_skus(self, shop_id: str, skus: Sequence[str]) -> list[ListPrice]: ...

    async def apply(self, shop_id: str, entry: ListPrice, *, removed: bool, as_of: datetime) -> bool:
        """Keep the newest (by `as_of`) state of one (sku, currency, group, list); False when stale."""
        ...


class DeliveryRates(Protocol):
    """The projection of fulfilment's delivery methods."""

    async def apply(self, shop_id: str, method: DeliveryMethodChanged, *, as_of: datetime) -> bool: ...

    async def rate(
        self, shop_id: str, delivery_type: str, currency: str, code: str | None = None
    ) -> DeliveryRate | None: ...

    async def methods(self, shop_id: str, currency: str) -> list[DeliveryMethod]:
        """The shop's active methods in `currency`, by code (at most checkout.MAX_METHODS)."""
        ...


class CheckoutSettingsStore(Protocol):
    """The shop's checkout settings: delivery zones and days per method, payment options per currency."""

    async def get(self, shop_id: str) -> CheckoutSettings | None: ...

    async def save(self, shop_id: str, settings: CheckoutSettings, *, at: datetime, by: str) -> None: ...


class Quotes(Protocol):
    """Priced carts, kept until they expire so that an order can be placed from one."""

    async def save(self, shop_id: str, quote: Quote) -> None: ...

    async def get(self, shop_id: str, quote_id: str) -> Quote | None: ...


class StockLevels(Protocol):
    """The projection of the catalog's available stock."""

    async def apply(self, shop_id: str, sku: str, warehouse_id: str, available: int, *, as_of: datetime) -> bool: ...

    async def available(self, shop_id: str, skus: Sequence[str]) -> dict[str, int] | None: ...


class PromoUnavailable(Exception):
    """The code's usage limit (overall or for this customer) is reached."""


class DuplicatePromoCode(Exception):
    """The shop has a promo code of this name already."""

    def __init__(self, code: str) -> None:
        super().__init__(f"promo code {code} exists already")


@dataclass(frozen=True)
class PromoCodePage:
    items: list[tuple[PromoCode, int]]  # each code with its use count
    next_cursor: str | None


class PromoCodes(Protocol):
    async def create(self, shop_id: str, promo: PromoCode, *, at: datetime, by: str) -> None:
        """Raises DuplicatePromoCode."""
        ...

    async def get(self, shop_id: str, code: str) -> tuple[PromoCode, int] | None: ...

    async def disable(self, shop_id: str, code: str) -> tuple[PromoCode, int] | None: ...

    async def page(self, shop_id: str, *, cursor: str | None, limit: int) -> PromoCodePage: ...

    async def take_use(self, shop_id: str, promo: PromoCode, *, customer: str, order_id: str) -> None:
        """Count one use; idempotent per order. Raises PromoUnavailable."""
        ...

    async def release_use(self, shop_id: str, code: str, order_id: str) -> bool: ...


# ---- the customer's order-status link ------------------------------------------------------


@dataclass(frozen=True)
class LinkClaims:
    shop_id: str
    order_id: str
    issued_at: datetime
    expires_at: datetime


class LinkInvalid(Exception):
    """A link token that is forged, for another purpose, malformed or expired."""


class StatusLinks(Protocol):
    """Issues the customer's order-status link (application/link_issuer.py)."""

    def url_for(self, shop_id: str, order_id: str) -> str: ...


class OrderLinkSigner(Protocol):
    def sign(self, claims: LinkClaims) -> str: ...

    def verify(self, token: str, *, now: datetime) -> LinkClaims:
        """Raises LinkInvalid."""
        ...


# ---- customer records (CRM) ---------------------------------------------------------------


@dataclass(frozen=True)
class CustomerOrderRow:
    """One order in a customer's history."""

    order_id: str
    customer_id: str
    number: int
    placed_at: datetime
    grand_total: Money
    status: str


@dataclass(frozen=True)
class CustomerPage:
    items: list[Any]
    next_cursor: str | None


class CustomerIndex(Protocol):
    """Which customer holds a contact key, the search terms, and the order history rows."""

    async def owners(self, shop_id: str, keys: Sequence[str]) -> dict[str, str]:
        """key -> customer_id for the keys some customer holds."""
        ...

    async def claim(self, shop_id: str, key: str, customer_id: str) -> str:
        """Give `key` to `customer_id` unless someone holds it: answers the holder."""
        ...

    async def repoint(self, shop_id: str, keys: Sequence[str], customer_id: str) -> None: ...

    async def move(self, shop_id: str, keys: Sequence[str], from_customer: str, to_customer: str) -> None:
        """Give `to_customer` those of `keys` that `from_customer` holds (the others stay)."""
        ...

    async def add_order(self, shop_id: str, row: CustomerOrderRow) -> bool:
        """False when the order is in a history already (idempotent by order id)."""
        ...

    async def move_orders(self, shop_id: str, from_customer: str, to_customer: str) -> int: ...

    async def orders(self, shop_id: str, customer_id: str, *, cursor: str | None, limit: int) -> CustomerPage: ...

    async def search(self, shop_id: str, query: str | None, *, cursor: str | None, limit: int) -> CustomerPage:
        """Customer records (not merged ones) whose name word, email or phone starts with `query`."""
        ...


class CustomerErasureIndex(Protocol):
    """What erasing a customer's personal data needs of the customer index, besides CustomerIndex."""

    async def merged_into(self, shop_id: str, customer_id: str, limit: int) -> list[str]:
        """The records merged into `customer_id` (their ids), at most `limit`."""
        ...

    async def forget(self, shop_id: str, keys: Sequence[str], owners: Sequence[str]) -> int:
        """Drop the contact keys held by one of `owners`: nobody is found by them any more."""
        ...


class FirstOrderRegister(Protocol):
    """The first/repeat register (`Customers.register`) forgetting a person's contacts."""

    async def forget(self, shop_id: str, emails: Sequence[str], phones: Sequence[str]) -> int: ...


class ArchivedAudit(Protocol):
    """The archived part of an order's audit trail (entries moved out of the order document)."""

    async def rewrite(
        self, shop_id: str, order_id: str, end_seq: int, rewrite: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> int:
        """Replace every archived entry below `end_seq` by `rewrite(entry)` where that differs; how many."""
        ...


class RatedOrders(Protocol):
    """Orders rated by their customers (the feedback report)."""

    async def rated(
        self, shop_id: str, since: datetime, until: datetime, *, after: tuple[datetime, str] | None, limit: int
    ) -> list[Order]:
        """Orders rated in [since, until), by (rating time, id), those after `after`, at most `limit`."""
        ...


# ---- pipelines --------------------------------------------------------------------------------


class PipelineRepository(Protocol):
    async def get(self, shop_id: str, key: str, version: int) -> StoredPipeline | None: ...

    async def latest(self, shop_id: str, key: str) -> StoredPipeline | None: ...

    async def insert(self, shop_id: str, stored: StoredPipeline) -> bool:
        """False when (shop, key, version) exists already (somebody else made that version)."""
        ...

    async def page(self, shop_id: str, *, cursor: str | None, limit: int) -> tuple[list[StoredPipeline], str | None]:
        """The latest version of each pipeline key, by key."""
        ...

    async def settings(self, shop_id: str) -> PipelineSettings | None: ...

    async def save_settings(
        self, shop_id: str, settings: PipelineSettings, *, expected_version: int, actor: Actor, at: datetime
    ) -> PipelineSettings:
        """Raises ConcurrencyError when the stored settings are not at `expected_version`."""
        ...


class NewOrderPipelines(Protocol):
    async def for_new_order(self, shop_id: str, delivery_type: str) -> Pipeline:
        """The pipeline version a new order of this delivery type runs on (PipelineService)."""
        ...


class PipelineLookup(Protocol):
    async def by_ref(self, shop_id: str, ref: str) -> Pipeline:
        """The version an order runs on, the shop's status mapping applied (PipelineService.by_ref)."""
        ...


# ---- the SLA loop -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StageCount:
    shop_id: str
    stage: str
    in_stage: int
    overdue: int
    limit_seconds: float | None = None  # the stage's time limit, as seen on the orders in it


class SlaQueries(Protocol):
    async def due(self, now: datetime, limit: int) -> list[StoredOrder]: ...

    async def shops(self, after: str | None, limit: int) -> list[str]: ...

    async def stage_counts(self, shop_id: str, final_stages: Sequence[str], now: datetime) -> list[StageCount]:
        """Counts per stage of one shop, final stages left out (they only grow)."""
        ...


class GaugeSink(Protocol):
    def publish(self, counts: Sequence[StageCount], valid_until: datetime) -> None: ...


# ---- the order lists ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ListFilter:
    """Every filter of the list; empty means 'any'. Date ranges are [from, to)."""

    stages: Sequence[str] = ()
    statuses: Sequence[str] = ()
    payment_statuses: Sequence[str] = ()
    placed_from: datetime | None = None
    placed_to: datetime | None = None
    closed_from: datetime | None = None
    closed_to: datetime | None = None
    delivery_types: Sequence[str] = ()
    regions: Sequence[str] = ()
    channels: Sequence[str] = ()
    customer_kind: CustomerKind | None = None
    manager_id: str | None = None
    problem: bool | None = None
    text: str | None = None


@dataclass(frozen=True)
class ListSort:
    field: SortField = SortField.PLACED_AT
    descending: bool = True


@dataclass(frozen=True)
class Group:
    key: str | None
    count: int
    totals: dict[str, str] = field(default_factory=dict)  # currency -> amount


@dataclass(frozen=True)
class AuditRecord:
    seq: int  # the entry's position in the order's whole trail, 0 = oldest
    entry: AuditEntry


@dataclass(frozen=True)
class AuditTail:
    archived: int  # entries 0 … archived-1 are in the archive
    entries: list[AuditEntry]  # entries archived, archived+1, …

    @property
    def total(self) -> int:
        return self.archived + len(self.entries)


class OrderListRows(Protocol):
    async def page(
        self, shop_id: str, where: ListFilter, sort: ListSort, after: Cursor | None, limit: int
    ) -> list[ListRow]: ...

    async def groups(self, shop_id: str, where: ListFilter, by: GroupBy, limit: int) -> list[Group]: ...

    async def upsert(self, shop_id: str, order_id: str, row: dict[str, Any]) -> bool:
        """Store the row unless a row of the same or a newer version is there; False when stale."""
        ...


class OrderDocuments(Protocol):
    async def raw(
        self, shop_id: str, order_id: str, *, version: int | None = None, after_event: str | None = None
    ) -> dict[str, Any] | None:
        """The order as stored, read defensively by the list row (domain/order_list.py). With `version`
        (or `after_event`), a document this process holds at that version or newer (or written at or
        after the write that emitted that event) answers without a read (ADR 0032)."""
        ...

    async def audit(self, shop_id: str, order_id: str) -> AuditTail | None:
        """The audit entries still in the order document, and how many were archived before them."""
        ...

    async def archived_audit(self, shop_id: str, order_id: str, first_seq: int, end_seq: int) -> list[AuditRecord]:
        """Archived entries first_seq ≤ seq < end_seq, oldest first."""
        ...


class InFlightOrders(Protocol):
    async def in_flight(self, shop_id: str, limit: int) -> list[InFlight]:
        """Orders of the shop not in a final stage, oldest first, at most `limit`."""
        ...


@dataclass(frozen=True)
class TransitionFilter:
    pipeline: str | None = None
    stage: str | None = None
    manager_id: str | None = None
    overdue: bool | None = None


class StageTransitions(Protocol):
    """The per-transition records of the SLA over a period (one per stage an order left)."""

    async def record(self, shop_id: str, transitions: Sequence[Transition]) -> None:
        """Store them (insert-only by transition id: a replay changes nothing)."""
        ...

    async def in_period(self, shop_id: str, period: Period, pipeline: str | None, limit: int) -> list[Transition]:
        """Those that ended in the period (left_at in [since, until)), oldest first, at most `limit`."""
        ...

    async def page(
        self, shop_id: str, period: Period, where: TransitionFilter, after: tuple[datetime, str] | None, limit: int
    ) -> list[Transition]:
        """Like in_period, filtered, after the keyset (left_at, transition id)."""
        ...


class PipelinesByRef(Protocol):
    """A pipeline version by its ref (built-in or the shop's), with the shop's status mapping."""

    async def by_ref(self, shop_id: str, ref: str, statuses: Mapping[str, str] | None = None) -> Pipeline: ...


class SavedViewRepository(CommandRepository[SavedView], Protocol):
    """Staff members' saved views of the order list (through the command loop), and a person's list."""

    async def of_owner(self, shop_id: str, owner_id: str, after: tuple[str, str] | None, limit: int) -> list[SavedView]:
        """The person's views (not deleted), by folded name then id, after the keyset (name_key, id)."""
        ...

    async def count_of(self, shop_id: str, owner_id: str, limit: int) -> int:
        """How many views the person holds (counting stops at `limit`)."""
        ...
