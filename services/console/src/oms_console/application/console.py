"""The console's use cases: what each screen needs from the public API, and each action's outcome.

Every call goes to the gateway with the signed-in user's token (`Caller`): the roles and the shop
are checked there and in the owning service, never here. What the console decides itself is only
presentation: which buttons to offer (the API still refuses what a role may not do), colours,
and how a refusal or a lost race is put into words.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from oms_console.application.ports import ApiAnswer, ApiUnavailable, Caller, GatewayApi, Params, Streamed
from oms_console.domain.board import Board, StageClock, board_of, parse_time, pipelines_for_delivery, stage_clock
from oms_console.domain.views import ListView

API = "/api/v1"
MAX_BOARD_PIPELINES = 100
PIPELINE_CACHE_SECONDS = 15.0
PIPELINE_CACHE_SIZE = 1000
STAFF_CACHE_SECONDS = 60.0  # a new colleague's name shows at most a minute late
STAFF_PAGES = 5  # the directory read per shop: at most 500 people (beyond, the rest show their id's end)
# Which manager actions the order service allows to whom (services/order/README.md); the console
# shows a button only to those roles, and the API checks again.
EDITORS = frozenset({"admin", "manager"})
# The analytics charts: each a grouping of `GET /orders/groups` (with extra filters).
ANALYTICS: dict[str, list[tuple[str, str]]] = {
    "day": [("by", "date")],
    "delivery": [("by", "delivery_method")],
    "region": [("by", "region")],
    "customer_kind": [("by", "customer_kind")],
    "stage": [("by", "stage")],
    "cancelled_day": [("by", "date"), ("stage", "cancelled")],
    "channel": [("by", "channel")],
    "currency": [("by", "currency")],
    "cancel_reason": [("by", "cancel_reason"), ("stage", "cancelled")],
}
MAX_STOCK_LINES = 20  # stock is looked up for the first lines of an order only (one call each)


class ConsoleError(Exception):
    """The API refused or failed: status and its own words (problem+json `detail`)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def seg(value: str) -> str:
    """One path segment of an id taken from a page (the gateway refuses anything odd anyway)."""
    return quote(value, safe="")


def problem_detail(answer: ApiAnswer) -> str:
    body = answer.body
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            return f"{first.get('field', '')}: {first.get('message', '')}".strip(": ")[:300]
        return str(body.get("detail") or body.get("title") or answer.status)[:300]
    return f"HTTP {answer.status}"


def must(answer: ApiAnswer) -> Any:
    if not answer.ok:
        raise ConsoleError(answer.status, problem_detail(answer))
    return answer.body


# ---- the stage board ---------------------------------------------------------------------


@dataclass(frozen=True)
class BoardFilters:
    manager_id: str = ""
    channel: str = ""
    delivery_type: str = ""
    problem: bool = False

    def api_params(self) -> list[tuple[str, str]]:
        params = []
        if self.manager_id:
            params.append(("manager_id", self.manager_id))
        if self.channel:
            params.append(("channel", self.channel))
        if self.delivery_type:
            params.append(("delivery_type", self.delivery_type))
        if self.problem:
            params.append(("problem", "true"))
        return params


@dataclass(frozen=True)
class Card:
    order_id: str
    number: Any
    stage: str
    customer: str
    total: dict[str, Any]
    payment_status: str
    clock: StageClock
    problem: bool
    manager_id: str | None
    version: int


@dataclass(frozen=True)
class ColumnPage:
    cards: list[Card]
    next_cursor: str | None
    plain: bool = False  # from the plain order list (a role without the office list): filters do not apply


@dataclass(frozen=True)
class Outcome:
    """What an action came to: done, refused (with the API's reason), or lost to a concurrent change."""

    ok: bool
    conflict: bool = False
    detail: str | None = None
    order: dict[str, Any] | None = None


def card_of(item: dict[str, Any], now: datetime, column_limit: int | None = None) -> Card:
    """A card from an order-list row or a whole order (both carry what a card shows)."""
    customer = item.get("customer") or {}
    total = item.get("grand_total") or (item.get("totals") or {}).get("grand_total") or {}
    payment_status = item.get("payment_status") or (item.get("payment") or {}).get("status") or "unpaid"
    return Card(
        order_id=str(item.get("order_id") or item.get("id") or ""),
        number=item.get("number"),
        stage=str(item.get("stage") or ""),
        customer=str(customer.get("name") or ""),
        total=total,
        payment_status=str(payment_status),
        clock=stage_clock(
            parse_time(item.get("stage_entered_at")), parse_time(item.get("stage_deadline")), now, column_limit
        ),
        problem=bool(item.get("problem")),
        manager_id=item.get("manager_id"),
        version=int(item.get("version") or 0),
    )


@dataclass
class _Cached:
    at: float
    value: Any


@dataclass
class OrderCard:
    order: dict[str, Any]
    audit: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] | None = None
    shipments: list[dict[str, Any]] | None = None
    returns: list[dict[str, Any]] | None = None
    payment: dict[str, Any] | None = None
    # Stock per line's SKU: warehouse -> available (None: the role may not read the catalog's stock).
    stock: dict[str, dict[str, int]] | None = None


class Console:
    def __init__(
        self,
        api: GatewayApi,
        *,
        now: Callable[[], datetime],
        board_page_size: int = 20,
        list_page_size: int = 50,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.now = now
        self.board_page_size = board_page_size
        self.list_page_size = list_page_size
        self._monotonic = monotonic
        self._pipelines: dict[tuple[str, str], _Cached] = {}
        self._staff: dict[str, _Cached] = {}

    # -- pipelines (readable by every staff role: cached per shop for a few seconds)

    async def pipeline_keys(self, caller: Caller) -> list[tuple[str, str]]:
        body = must(await self.api.get(caller, f"{API}/pipelines", [("limit", str(MAX_BOARD_PIPELINES))]))
        return [(str(p["key"]), str(p.get("name") or p["key"])) for p in body.get("items", []) if p.get("key")]

    # -- colleagues' names (the gateway's staff directory, readable by every staff role; cached per shop)

    async def staff_names(self, caller: Caller) -> dict[str, str]:
        """staff_id -> name of the shop's staff, for naming managers; empty when the directory cannot be read."""
        return {k: v[0] for k, v in (await self.staff(caller)).items()}

    async def staff(self, caller: Caller) -> dict[str, tuple[str, str]]:
        """staff_id -> (name, role) of the shop's active staff (the same cache as staff_names)."""
        cached = self._staff.get(caller.shop_id)
        if cached is not None and self._monotonic() - cached.at < STAFF_CACHE_SECONDS:
            return cached.value  # type: ignore[no-any-return]
        found: dict[str, tuple[str, str]] = {}
        cursor: str | None = None
        for _ in range(STAFF_PAGES):
            params = [("limit", "100"), *([("cursor", cursor)] if cursor else [])]
            try:
                answer = await self.api.get(caller, f"{API}/staff/directory", params)
            except ApiUnavailable:
                return found  # names are a nicety: the page shows ids' ends, and asks again next time
            for entry in _items(answer) or []:
                if entry.get("staff_id") and entry.get("active", True):
                    found[str(entry["staff_id"])] = (str(entry.get("name") or ""), str(entry.get("role") or ""))
            cursor = answer.body.get("next_cursor") if answer.ok and isinstance(answer.body, dict) else None
            if not cursor:
                break
        if len(self._staff) >= PIPELINE_CACHE_SIZE:
            self._staff.clear()
        self._staff[caller.shop_id] = _Cached(self._monotonic(), found)
        return found

    async def board(self, caller: Caller, key: str) -> tuple[Board, list[str]]:
        """The pipeline's columns and the delivery types whose orders run on it."""
        cache_key = (caller.shop_id, key)
        cached = self._pipelines.get(cache_key)
        if cached is not None and self._monotonic() - cached.at < PIPELINE_CACHE_SECONDS:
            return cached.value  # type: ignore[no-any-return]
        pipeline, settings = await asyncio.gather(
            self.api.get(caller, f"{API}/pipelines/{seg(key)}"), self.api.get(caller, f"{API}/pipeline-settings")
        )
        board = board_of(must(pipeline))
        pipeline_for = (must(settings) or {}).get("pipeline_for") or {}
        value = (board, pipelines_for_delivery(pipeline_for, key))
        if len(self._pipelines) >= PIPELINE_CACHE_SIZE:
            self._pipelines.clear()
        self._pipelines[cache_key] = _Cached(self._monotonic(), value)
        return value

    async def column(
        self, caller: Caller, key: str, stage: str, filters: BoardFilters, cursor: str | None
    ) -> tuple[Board, ColumnPage]:
        board, delivery_types = await self.board(caller, key)
        column = board.column(stage)
        if column is None:
            raise ConsoleError(404, f"no stage {stage} on the board of {key}")
        params: list[tuple[str, str]] = [("stage", stage), *filters.api_params()]
        if not filters.delivery_type and delivery_types:
            params.append(("delivery_type", ",".join(delivery_types)))
        params += [("sort", "placed_at"), ("order", "asc"), ("limit", str(self.board_page_size))]
        if cursor:
            params.append(("cursor", cursor))
        found = await self.api.get(caller, f"{API}/orders/search", params)
        plain = False
        if found.status == 403:
            # The office list is for admins and managers; warehouse staff and couriers still see the
            # stage's orders from the plain list (newest first, no filters, no problem flag).
            plain = True
            plain_params = [("stage", stage), ("limit", str(self.board_page_size))]
            found = await self.api.get(caller, f"{API}/orders", plain_params + ([("cursor", cursor)] if cursor else []))
        body = must(found)
        now = self.now()
        cards = [card_of(item, now, column.time_limit_seconds) for item in body.get("items", [])]
        return board, ColumnPage(cards, body.get("next_cursor"), plain=plain)

    async def card(self, caller: Caller, order_id: str) -> dict[str, Any]:
        return must(await self.api.get(caller, f"{API}/orders/{seg(order_id)}"))  # type: ignore[no-any-return]

    # -- stage actions (the board and the order card)

    async def advance(self, caller: Caller, order_id: str, version: int | None) -> Outcome:
        body: dict[str, Any] = {} if version is None else {"expected_version": version}
        return await self._act(caller, order_id, "POST", "advance", body)

    async def move(self, caller: Caller, order_id: str, to: str, version: int | None) -> Outcome:
        body: dict[str, Any] = {"to": to[:64]}
        if version is not None:
            body["expected_version"] = version
        return await self._act(caller, order_id, "POST", "move", body)

    async def _act(
        self,
        caller: Caller,
        order_id: str,
        method: str,
        action: str,
        body: dict[str, Any] | None,
        params: Params = (),
        headers: dict[str, str] | None = None,
        path: str | None = None,
    ) -> Outcome:
        path = path or f"{API}/orders/{seg(order_id)}" + (f"/{action}" if action else "")
        answer = await self.api.send(caller, method, path, body, params, headers)
        if answer.ok:
            order = answer.body if isinstance(answer.body, dict) and "stage" in answer.body else None
            return Outcome(ok=True, order=order)
        if answer.status == 409 and _stale(answer):
            # Someone else changed the order: show it as it is now, and say so.
            fresh = await self.api.get(caller, f"{API}/orders/{seg(order_id)}")
            return Outcome(
                ok=False, conflict=True, detail=problem_detail(answer), order=fresh.body if fresh.ok else None
            )
        return Outcome(ok=False, detail=problem_detail(answer))

    # -- the SLA overview

    async def sla(
        self, caller: Caller, pipeline_key: str, period: Params = ()
    ) -> tuple[dict[str, Any], dict[str, Any] | None, Board | None]:
        """The order service's SLA figures now, those of the pipeline over the period (`since`, `until`;
        none without a period), and the pipeline whose stage names and order to show them in."""
        if period:
            now, board, over = await asyncio.gather(
                self.api.get(caller, f"{API}/orders/sla"),
                self._board_or_none(caller, pipeline_key),
                self.api.get(caller, f"{API}/orders/sla/period", [*period, ("pipeline", pipeline_key)]),
            )
            # The period's figures are a part of the page: without them (an error) the page shows the rest.
            return must(now), over.body if over.ok and isinstance(over.body, dict) else None, board
        now, board = await asyncio.gather(
            self.api.get(caller, f"{API}/orders/sla"), self._board_or_none(caller, pipeline_key)
        )
        return must(now), None, board

    async def _board_or_none(self, caller: Caller, key: str) -> Board | None:
        try:
            return (await self.board(caller, key))[0]
        except ConsoleError:
            return None

    # -- the staff inbox (the notification service's in-app channel)

    async def inbox(
        self, caller: Caller, *, unread_only: bool, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None, int]:
        """A page of the user's inbox (newest first) and their unread count."""
        params: list[tuple[str, str]] = [("limit", str(self.list_page_size))]
        if unread_only:
            params.append(("unread", "true"))
        if cursor:
            params.append(("cursor", cursor))
        page, count = await asyncio.gather(
            self.api.get(caller, f"{API}/inbox", params), self.api.get(caller, f"{API}/inbox/unread-count")
        )
        body = must(page)
        return list(body.get("items", [])), body.get("next_cursor"), int(must(count).get("unread", 0))

    async def unread_count(self, caller: Caller) -> int:
        return int(must(await self.api.get(caller, f"{API}/inbox/unread-count")).get("unread", 0))

    async def mark_read(self, caller: Caller, item_id: str) -> None:
        must(await self.api.send(caller, "POST", f"{API}/inbox/{seg(item_id)}/read"))

    async def mark_all_read(self, caller: Caller) -> None:
        must(await self.api.send(caller, "POST", f"{API}/inbox/read-all"))

    # -- analytics (the order service's groupings of a period)

    async def analytics(self, caller: Caller, period: list[tuple[str, str]]) -> dict[str, list[dict[str, Any]]]:
        """Each chart's groups: orders per day, per delivery type, region, first/repeat, stage, channel and
        currency, cancellations per day and per reason (placed in the period, `period` also holding the
        page's filters). One grouping call each, concurrently."""
        asks = {name: [*period, *extra] for name, extra in ANALYTICS.items()}
        answers = await asyncio.gather(*(self.api.get(caller, f"{API}/orders/groups", p) for p in asks.values()))
        return {name: list(must(a).get("groups", [])) for name, a in zip(asks, answers, strict=True)}

    async def return_reasons(self, caller: Caller, since: str, until: str) -> list[dict[str, Any]] | None:
        """Per reason, the returns asked for in [since, until) (fulfilment); None if the role may not read it."""
        answer = await self.api.get(caller, f"{API}/returns/reasons", [("since", since), ("until", until)])
        if not answer.ok or not isinstance(answer.body, dict):
            return None
        return [r for r in answer.body.get("reasons", []) if isinstance(r, dict)]

    async def low_stock(self, caller: Caller) -> list[dict[str, Any]] | None:
        """SKUs at or below their low-stock threshold (the catalog's first page); None if the role may not read it."""
        return _items(await self.api.get(caller, f"{API}/catalog/stock/low", [("limit", "100")]))

    # -- saved views of the order list (the order service keeps each person's own)

    async def saved_views(self, caller: Caller) -> list[dict[str, Any]] | None:
        """The user's saved views, by name (a person holds at most 50); None if the role has none."""
        return _items(await self.api.get(caller, f"{API}/orders/views", [("limit", "100")]))

    async def save_view(self, caller: Caller, name: str, query: str) -> Outcome:
        answer = await self.api.send(caller, "POST", f"{API}/orders/views", {"name": name, "query": query})
        return Outcome(ok=True) if answer.ok else Outcome(ok=False, detail=problem_detail(answer))

    async def delete_view(self, caller: Caller, view_id: str) -> Outcome:
        answer = await self.api.send(caller, "DELETE", f"{API}/orders/views/{seg(view_id)}")
        return Outcome(ok=True) if answer.ok else Outcome(ok=False, detail=problem_detail(answer))

    # -- the order list

    async def order_list(
        self, caller: Caller, view: ListView
    ) -> tuple[list[dict[str, Any]], str | None, list[dict[str, Any]] | None]:
        """A page of the view, and its grouping when the view asks for one."""
        search = self.api.get(caller, f"{API}/orders/search", view.api_params(self.list_page_size))
        if view.group_by is None:
            body = must(await search)
            return list(body.get("items", [])), body.get("next_cursor"), None
        found, grouped = await asyncio.gather(search, self.api.get(caller, f"{API}/orders/groups", view.group_params()))
        body = must(found)
        groups = [g for g in (must(grouped) or {}).get("groups", []) if isinstance(g, dict)]
        return list(body.get("items", [])), body.get("next_cursor"), groups

    async def export(self, caller: Caller, view: ListView) -> Streamed:
        return await self.api.open_stream(caller, f"{API}/orders/export.csv", view.export_params())

    # -- the order card

    async def order_card(self, caller: Caller, order_id: str) -> OrderCard:
        oid = seg(order_id)
        order = must(await self.api.get(caller, f"{API}/orders/{oid}"))
        audit, messages, shipments, returns, payment = await asyncio.gather(
            self.api.get(caller, f"{API}/orders/{oid}/audit", [("limit", "100")]),
            self.api.get(caller, f"{API}/orders/{oid}/messages", [("limit", "100")]),
            self.api.get(caller, f"{API}/shipments", [("order_id", order_id), ("limit", "100")]),
            self.api.get(caller, f"{API}/returns", [("order_id", order_id), ("limit", "100")]),
            self.api.get(caller, f"{API}/orders/{oid}/payment-status"),
        )
        skus = [str(line.get("sku")) for line in (order.get("lines") or [])[:MAX_STOCK_LINES] if line.get("sku")]
        stock_answers = await asyncio.gather(
            *(self.api.get(caller, f"{API}/catalog/stock", [("sku", sku), ("limit", "50")]) for sku in skus)
        )
        stock: dict[str, dict[str, int]] | None = None
        if stock_answers and all(a.ok for a in stock_answers):
            stock = {}
            for sku, answer in zip(skus, stock_answers, strict=True):
                for row in _items(answer) or []:
                    stock.setdefault(sku, {})[str(row.get("warehouse_id") or "")] = int(row.get("available") or 0)
        # A part the caller's role may not read (a courier and the payments) is left out, not an error.
        return OrderCard(
            stock=stock,
            order=order,
            audit=_items(audit) or [],
            messages=_items(messages),
            shipments=_items(shipments),
            returns=_items(returns),
            payment=payment.body if payment.ok and isinstance(payment.body, dict) else None,
        )

    async def order_action(self, caller: Caller, order_id: str, action: str, form: dict[str, str]) -> Outcome:
        """One manager action of the order card, from its form. Unknown actions are refused here."""
        version = _version(form.get("version"))
        with_version: dict[str, Any] = {} if version is None else {"expected_version": version}
        text = form.get("text", "").strip()
        match action:
            case "advance":
                return await self.advance(caller, order_id, version)
            case "move":
                return await self.move(caller, order_id, form.get("to", ""), version)
            case "cancel":
                return await self._act(caller, order_id, "POST", "cancel", {"reason": text, **with_version})
            case "note":
                return await self._act(caller, order_id, "POST", "notes", {"text": text, **with_version})
            case "resolve-problem":
                return await self._act(caller, order_id, "POST", "resolve-problem", {"comment": text, **with_version})
            case "assign-me":
                return await self._act(
                    caller, order_id, "PUT", "manager", {"manager_id": caller.user_id, **with_version}
                )
            case "line":
                sku = form.get("sku", "")
                quantity = _int(form.get("quantity"))
                if not sku or quantity is None:
                    return Outcome(ok=False, detail="quantity: a whole number")
                return await self._act(
                    caller, order_id, "PATCH", f"lines/{seg(sku)}", {"quantity": quantity, **with_version}
                )
            case "message":
                answer = await self.api.send(caller, "POST", f"{API}/orders/{seg(order_id)}/messages", {"text": text})
                return Outcome(ok=True) if answer.ok else Outcome(ok=False, detail=problem_detail(answer))
        return await self._more_actions(caller, order_id, action, form, with_version)

    async def _more_actions(
        self, caller: Caller, order_id: str, action: str, form: dict[str, str], with_version: dict[str, Any]
    ) -> Outcome:
        """The card's edits beyond the first release's: lines, delivery, discounts, promo code, the
        manager, wishes, the customer's link; payments, refunds, the card link; returns."""
        oid = seg(order_id)
        version_param = [("expected_version", str(v)) for v in with_version.values()]
        text = form.get("text", "").strip()
        once = {"Idempotency-Key": key} if (key := form.get("key", "")[:200]) else None
        match action:
            case "add-line":
                quantity = _int(form.get("quantity"))
                if not form.get("sku") or quantity is None:
                    return Outcome(ok=False, detail="quantity: a whole number")
                body = {"sku": form["sku"], "quantity": quantity, **with_version}
                return await self._act(caller, order_id, "POST", "lines", body)
            case "remove-line":
                return await self._act(
                    caller, order_id, "DELETE", f"lines/{seg(form.get('sku', ''))}", None, version_param
                )
            case "delivery":
                return await self._act(caller, order_id, "PUT", "delivery", {**delivery_body(form), **with_version})
            case "discount":
                body = {
                    "kind": form.get("kind", ""),
                    "value": form.get("value", ""),
                    "reason": text,
                    **({"sku": form["sku"]} if form.get("sku") else {}),
                    **with_version,
                }
                return await self._act(caller, order_id, "POST", "discounts", body)
            case "remove-discount":
                discount = seg(form.get("discount_id", ""))
                return await self._act(caller, order_id, "DELETE", f"discounts/{discount}", None, version_param)
            case "promo":
                return await self._act(
                    caller, order_id, "PUT", "promo-code", {"code": form.get("code", ""), **with_version}
                )
            case "assign":
                body = {"manager_id": form.get("manager_id") or None, **with_version}
                return await self._act(caller, order_id, "PUT", "manager", body)
            case "wishes":
                return await self._act(caller, order_id, "PUT", "wishes", {**wishes_body(form, text), **with_version})
            case "status-link":
                answer = await self.api.send(caller, "POST", f"{API}/orders/{oid}/status-link")
                if not answer.ok or not isinstance(answer.body, dict):
                    return Outcome(ok=False, detail=problem_detail(answer))
                return Outcome(ok=True, detail=str(answer.body.get("url") or ""))
            case "payment":
                body = {
                    "method": form.get("method", ""),
                    "amount": {"amount": form.get("amount", ""), "currency": form.get("currency", "")},
                    "reference": form.get("reference", "").strip(),
                }
                return await self._act(caller, order_id, "POST", "payments", body)
            case "refund":
                amount = form.get("amount", "").strip()
                body = {
                    "reason": text,
                    "destination": form.get("destination") or "original",
                    **({"amount": {"amount": amount, "currency": form.get("currency", "")}} if amount else {}),
                }
                return await self._act(caller, order_id, "POST", "refunds", body, headers=once)
            case "card-link":
                return await self._act(caller, order_id, "POST", "card-link", None, headers=once)
            case "return-approve" | "return-reject":
                verb = action.removeprefix("return-")
                path = f"{API}/returns/{seg(form.get('return_id', ''))}/{verb}"
                reason = {"reason": text} if verb == "reject" else None
                return await self._act(caller, order_id, "POST", verb, reason, path=path)
        return Outcome(ok=False, detail=f"unknown action {action[:40]}")

    async def document(self, caller: Caller, kind: str, ident: str) -> Streamed | None:
        path = {
            "invoice": f"{API}/payments/{seg(ident)}/invoice.pdf",
            "pd4": f"{API}/payments/{seg(ident)}/pd4.pdf",
            "waybill": f"{API}/shipments/{seg(ident)}/waybill.pdf",
            "label": f"{API}/shipments/{seg(ident)}/label.pdf",
        }.get(kind)
        return None if path is None else await self.api.open_stream(caller, path)


def delivery_body(form: dict[str, str]) -> dict[str, Any]:
    """`PUT /orders/{id}/delivery` from the card's form: the type, the address when one is given (else
    the order keeps its own; none for pickup), the method code when chosen."""
    body: dict[str, Any] = {"delivery_type": form.get("delivery_type", "")}
    if form.get("city") and form.get("line1") and body["delivery_type"] != "pickup":
        body["address"] = {
            "country": form.get("country", "").upper(),
            "city": form["city"],
            "line1": form["line1"],
            **{k: form[k] for k in ("region", "postcode") if form.get(k)},
        }
    if form.get("method_code"):
        body["method_code"] = form["method_code"]
    return body


def wishes_body(form: dict[str, str], comment: str) -> dict[str, Any]:
    """`PUT /orders/{id}/wishes` from the card's form; a `datetime-local` value is taken as UTC."""

    def when(value: str) -> str | None:
        value = value.strip()
        if not value:
            return None
        return (
            value if value.endswith("Z") or "+" in value[10:] else f"{value}{':00' if len(value) == 16 else ''}+00:00"
        )

    return {
        "preferred_from": when(form.get("preferred_from", "")),
        "preferred_to": when(form.get("preferred_to", "")),
        "comment": comment or None,
    }


def may_pay(role: str | None) -> bool:
    """Payments, refunds and the card link (the payment service's office routes)."""
    return role in EDITORS


def may_edit(role: str | None) -> bool:
    return role in EDITORS


def _stale(answer: ApiAnswer) -> bool:
    """A 409 of a version that moved on (not one of a state that forbids the action)."""
    body = answer.body if isinstance(answer.body, dict) else {}
    return "current_version" in body or "version" in str(body.get("detail", "")).lower()


def _items(answer: ApiAnswer) -> list[dict[str, Any]] | None:
    if not answer.ok or not isinstance(answer.body, dict):
        return None
    return [i for i in answer.body.get("items", []) if isinstance(i, dict)]


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None and value.strip() else None
    except ValueError:
        return None


def _version(value: str | None) -> int | None:
    found = _int(value)
    return found if found is not None and found > 0 else None
