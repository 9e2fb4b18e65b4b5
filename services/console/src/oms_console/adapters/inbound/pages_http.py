"""The console's pages: server-rendered HTML, htmx for the parts that change (board columns, cards).

Reached only through the gateway at /console/… (ADR 0019): the gateway checked the staff session
cookie and passes the user as the usual X-OMS-* headers (read by `ctx`) plus their token, which
every API call of the console carries. A page never decides what a user may do: it offers the
buttons the user's role is allowed, and shows the API's answer (a refusal, a 409) when it says no.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import date, datetime, timedelta
from importlib import resources
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Stream
from litestar.types import ControllerRouterHandler
from oms_runtime.context import Ctx, RequestContext
from oms_runtime.problems import Problem

from oms_console.application.console import (
    BoardFilters,
    Console,
    ConsoleError,
    Outcome,
    card_of,
    may_edit,
    may_pay,
)
from oms_console.application.ports import ApiUnavailable, Caller
from oms_console.domain import analytics, i18n
from oms_console.domain.board import Board, parse_time
from oms_console.domain.views import DELIVERY_TYPES, GROUPINGS, PAYMENT_STATUSES, SORTS, ListView

BASE = "/console"
STATIC = {
    "htmx.min.js": "text/javascript",
    "htmx.LICENSE.txt": "text/plain",
    "console.js": "text/javascript",
    "console.css": "text/css",
}
ConsoleDep = NamedDependency[Console]
Text = Annotated[str | None, QueryParameter(max_length=300)]
Key = Annotated[str, QueryParameter(max_length=64, pattern=r"^[a-z][a-z0-9_\-]{0,63}$")]
OptionalKey = Annotated[str | None, QueryParameter(max_length=64, pattern=r"^[a-z][a-z0-9_\-]{0,63}$")]
Cursor = Annotated[str | None, QueryParameter(max_length=512)]
KEY = re.compile(r"[a-z][a-z0-9_\-]{0,63}")

_templates = Environment(
    loader=PackageLoader("oms_console.adapters.inbound", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _money(value: Any) -> str:
    if not isinstance(value, dict) or value.get("amount") is None:
        return "—"
    return f"{value.get('amount')} {value.get('currency') or ''}".strip()


def _when(value: Any) -> str:
    at = parse_time(value) if isinstance(value, str) else value if isinstance(value, datetime) else None
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "—"


_templates.filters["money"] = _money
_templates.filters["when"] = _when


def language(request: Request[Any, Any, Any]) -> str:
    return i18n.choose(request.headers.get("accept-language"))


def caller_of(request: Request[Any, Any, Any], ctx: RequestContext) -> Caller:
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(401, "Unauthorized", "the console needs the signed-in user's token (from the gateway)")
    return Caller(
        token=token.strip(),
        shop_id=ctx.shop_id,
        user_id=ctx.actor.id or "",
        name=ctx.actor.name or "",
        role=ctx.actor.role,
        correlation_id=ctx.correlation_id,
    )


def render(
    request: Request[Any, Any, Any], name: str, status: int = 200, caller: Caller | None = None, **context: Any
) -> Response[str]:
    lang = language(request)
    t = i18n.translator(lang)
    staff: dict[str, str] = context.pop("staff", None) or {}

    def who(staff_id: str | None) -> str:
        """A staff member as the page names them: me, their name, or the end of their id."""
        if not staff_id:
            return t("nobody")
        if caller is not None and staff_id == caller.user_id:
            return t("me")
        return staff.get(staff_id) or str(staff_id)[-6:]

    html = _templates.get_template(name).render(
        base=BASE,
        lang=lang,
        t=t,
        who=who,
        duration=lambda seconds: i18n.duration(seconds, lang),
        user=caller,
        here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        **context,
    )
    return Response(
        html,
        status_code=status,
        media_type=MediaType.HTML,
        headers={"Cache-Control": "no-store", "Content-Language": lang},
    )


def error_page(request: Request[Any, Any, Any], caller: Caller | None, status: int, detail: str) -> Response[str]:
    return render(request, "error.html", status=status, caller=caller, detail=detail)


def _refusal_detail(
    request: Request[Any, Any, Any], exc: ConsoleError | ApiUnavailable, *, friendly_403: bool = False
) -> str:
    """What a page says of a gateway call that failed: the API's own words, or (`friendly_403`) the
    user's language's "not allowed here" for a 403; an outage's own message."""
    if isinstance(exc, ApiUnavailable):
        return str(exc)
    if friendly_403 and exc.status == 403:
        return i18n.translator(language(request))("not_allowed_here")
    return exc.detail


def _refusal(
    request: Request[Any, Any, Any],
    caller: Caller,
    exc: ConsoleError | ApiUnavailable,
    *,
    friendly_403: bool = False,
) -> Response[str]:
    """The error page of a gateway call that failed: the API's status (a refusal) or 502 (an outage)."""
    status = exc.status if isinstance(exc, ConsoleError) else 502
    return error_page(request, caller, status, _refusal_detail(request, exc, friendly_403=friendly_403))


async def form_of(request: Request[Any, Any, Any]) -> dict[str, str]:
    data = await request.form()
    return {str(k)[:64]: str(v).strip()[:2000] for k, v in list(data.items())[:50]}


def query_of(request: Request[Any, Any, Any]) -> dict[str, list[str]]:
    return parse_qs(request.url.query or "", keep_blank_values=False, max_num_fields=100)


# ---- the pages -----------------------------------------------------------------------------


@get(f"{BASE}/login", include_in_schema=False)
async def login_page(request: Request[Any, Any, Any], error: Text = None) -> Response[str]:
    """Public (the gateway posts the form itself: it alone sees passwords)."""
    reason = error if error in ("credentials", "missing", "origin") else None
    return render(request, "login.html", error=f"error.{reason}" if reason else None)


@get(f"{BASE}/static/{{name:str}}", include_in_schema=False)
async def static_file(name: FromPath[str]) -> Response[bytes]:
    if name not in STATIC:
        raise Problem(404, "Not found", f"no static file {name[:64]}")
    content = resources.files("oms_console.adapters.inbound").joinpath("static", name).read_bytes()
    return Response(content, media_type=STATIC[name], headers={"Cache-Control": "public, max-age=3600"})


class ConsolePages(Controller):
    path = BASE
    include_in_schema = False

    @get("/", summary="Start: the stage board")
    async def home(self) -> Redirect:
        return Redirect(f"{BASE}/board", status_code=303)

    # -- the stage board

    @get("/board", summary="Stage board of one pipeline")
    async def board(
        self,
        request: Request[Any, Any, Any],
        ctx: Ctx,
        console: ConsoleDep,
        pipeline: OptionalKey = None,
        manager_id: Text = None,
        channel: Text = None,
        delivery_type: Text = None,
        problem: Text = None,
    ) -> Response[str]:
        caller = caller_of(request, ctx)
        filters = _filters(manager_id, channel, delivery_type, problem)
        try:
            keys, staff = await asyncio.gather(console.pipeline_keys(caller), console.staff(caller))
            key = pipeline or _default_pipeline([k for k, _ in keys])
            board, delivery_types = await console.board(caller, key)
        except (ConsoleError, ApiUnavailable) as exc:
            return _refusal(request, caller, exc)
        return render(
            request,
            "board.html",
            caller=caller,
            board=board,
            pipelines=keys,
            filters=filters,
            filter_query=_filter_query(key, filters),
            managers=_managers(staff),
            delivery_types=DELIVERY_TYPES,
            pipeline_delivery_types=delivery_types,
        )

    @get("/board/column", summary="One column of the board, a page of cards (htmx)")
    async def column(
        self,
        request: Request[Any, Any, Any],
        ctx: Ctx,
        console: ConsoleDep,
        pipeline: Key,
        stage: Key,
        cursor: Cursor = None,
        manager_id: Text = None,
        channel: Text = None,
        delivery_type: Text = None,
        problem: Text = None,
    ) -> Response[str]:
        caller = caller_of(request, ctx)
        filters = _filters(manager_id, channel, delivery_type, problem)
        try:
            (board, page), staff = await asyncio.gather(
                console.column(caller, pipeline, stage, filters, cursor), console.staff_names(caller)
            )
        except (ConsoleError, ApiUnavailable) as exc:
            detail = _refusal_detail(request, exc, friendly_403=True)
            return render(request, "column_error.html", caller=caller, detail=detail)
        column = board.column(stage)
        return render(
            request,
            "column.html",
            caller=caller,
            board=board,
            column=column,
            page=page,
            filter_query=_filter_query(pipeline, filters),
            first=cursor is None,
            staff=staff,
        )

    @get("/board/card/{order_id:str}", summary="One card, reloaded (htmx)")
    async def card(
        self, request: Request[Any, Any, Any], ctx: Ctx, console: ConsoleDep, order_id: FromPath[str], pipeline: Key
    ) -> Response[str]:
        caller = caller_of(request, ctx)
        return await _card(request, console, caller, pipeline, order_id, Outcome(ok=True))

    @post("/board/card/{order_id:str}/advance", summary="Advance the card's order (htmx)")
    async def card_advance(
        self, request: Request[Any, Any, Any], ctx: Ctx, console: ConsoleDep, order_id: FromPath[str]
    ) -> Response[str]:
        caller = caller_of(request, ctx)
        form = await form_of(request)
        outcome = await _safely(console.advance(caller, order_id, _version(form)))
        return await _card(request, console, caller, _key(form.get("pipeline")), order_id, outcome, action="advance")

    @post("/board/card/{order_id:str}/move", summary="Move the card's order to another stage (htmx)")
    async def card_move(
        self, request: Request[Any, Any, Any], ctx: Ctx, console: ConsoleDep, order_id: FromPath[str]
    ) -> Response[str]:
        caller = caller_of(request, ctx)
        form = await form_of(request)
        outcome = await _safely(console.move(caller, order_id, _key(form.get("to")), _version(form)))
        return await _card(request, console, caller, _key(form.get("pipeline")), order_id, outcome, action="move")

    # -- the SLA overview

    @get("/sla", summary="SLA right now and over a period: per stage and per manager")
    async def sla(
        self,
        request: Request[Any, Any, Any],
        ctx: Ctx,
        console: ConsoleDep,
        pipeline: OptionalKey = None,
        since: Text = None,
        until: Text = None,
    ) -> Response[str]:
        caller = caller_of(request, ctx)
        first, last = _days(since, until, console.now(), default_days=7)
        try:
            keys = await console.pipeline_keys(caller)
            key = pipeline or _default_pipeline([k for k, _ in keys])
            (figures, over, board), staff = await asyncio.gather(
                console.sla(caller, key, _time_range("since", "until", first, last)), console.staff_names(caller)
            )
        except (ConsoleError, ApiUnavailable) as exc:
            return _refusal(request, caller, exc, friendly_403=True)
        stages = {s["stage"]: s for s in figures.get("stages", [])}
        # The pipeline's order first (every flow stage, empty ones too), then stages it does not have.
        ordered = [c.key for c in board.columns] if board else []
        ordered += sorted(k for k in stages if k not in ordered)
        period_stages = {s["stage"]: s for s in (over or {}).get("stages", []) if s.get("pipeline") == key}
        period_ordered = [k for k in ordered if k in period_stages]
        period_ordered += sorted(k for k in period_stages if k not in period_ordered)
        return render(
            request,
            "sla.html",
            caller=caller,
            figures=figures,
            stages=stages,
            ordered=ordered,
            board=board,
            pipelines=keys,
            pipeline=key,
            over=over,
            period_stages=period_stages,
            period_ordered=period_ordered,
            since=first.isoformat(),
            until=last.isoformat(),
            staff=staff,
        )

    # -- analytics

    @get(
        "/analytics",
        summary="Orders and revenue per day, week, delivery, region, customer kind, stage, channel, currency; "
        "cancellations and returns with their reasons; low stock",
    )
    async def analytics(
        self,
        request: Request[Any, Any, Any],
        ctx: Ctx,
        console: ConsoleDep,
        since: Text = None,
        until: Text = None,
        channel: Text = None,
        delivery_type: Text = None,
    ) -> Response[str]:
        caller = caller_of(request, ctx)
        period, first, last = _period(since, until, console.now())
        narrowed = _narrowed(channel, delivery_type)
        try:
            charts, low_stock, reasons = await asyncio.gather(
                console.analytics(caller, [*period, *narrowed]),
                console.low_stock(caller),
                console.return_reasons(caller, period[0][1], period[1][1]),
            )
        except (ConsoleError, ApiUnavailable) as exc:
            return _refusal(request, caller, exc, friendly_403=True)
        series = _series(charts, first, last)
        reason_rows = analytics.reason_rows(reasons) if reasons is not None else None
        return render(
            request,
            "analytics.html",
            caller=caller,
            charts=CHARTS,
            narrowed=dict(narrowed),
            narrowed_query=urlencode([("since", first), ("until", last), *narrowed]),
            delivery_types=DELIVERY_TYPES,
            return_reasons=reason_rows,
            reason_bars=analytics.reason_bars(reason_rows or []),
            series=series,
            bars={name: analytics.bars(rows) for name, rows in series.items()},
            currencies={name: analytics.currencies(rows) for name, rows in series.items()},
            since=first,
            until=last,
            chart=(analytics.CHART_WIDTH, analytics.CHART_HEIGHT),
            low_stock=low_stock,
        )

    @get("/analytics/csv/{name:str}", summary="One chart's numbers as CSV")
    async def analytics_csv(
        self,
        request: Request[Any, Any, Any],
        ctx: Ctx,
        console: ConsoleDep,
        name: FromPath[str],
        since: Text = None,
        until: Text = None,
        channel: Text = None,
        delivery_type: Text = None,
    ) -> Response[Any]:
        caller = caller_of(request, ctx)
        if name not in CHARTS and name != "return_reasons":
            return error_page(request, caller, 404, f"no chart {name[:40]}")
        period, first, last = _period(since, until, console.now())
        try:
            if name == "return_reasons":
                reasons = await console.return_reasons(caller, period[0][1], period[1][1])
                if reasons is None:
                    return error_page(request, caller, 403, i18n.translator(language(request))("not_allowed_here"))
                text = analytics.reasons_csv(analytics.reason_rows(reasons))
            else:
                charts = await console.analytics(caller, [*period, *_narrowed(channel, delivery_type)])
                text = analytics.to_csv(_series(charts, first, last)[name])
        except (ConsoleError, ApiUnavailable) as exc:
            return _refusal(request, caller, exc)
        return Response(
            text,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"', "Cache-Control": "no-store"},
        )

    # -- the staff inbox (live: the badge and the list follow /console/inbox/stream, see console.js)

    @get("/inbox", summary="My inbox: notifications, newest first")
    async def inbox(
        self,
        request: Request[Any, Any, Any],
        ctx: Ctx,
        console: ConsoleDep,
        unread: Annotated[str | None, QueryParameter(max_length=5)] = None,
        cursor: Cursor = None,
    ) -> Response[str]:
        caller = caller_of(request, ctx)
        try:
            items, next_cursor, count = await console.inbox(caller, unread_only=unread == "1", cursor=cursor)
        except (ConsoleError, ApiUnavailable) as exc:
            return _refusal(request, caller, exc)
        return render(
            request,
            "inbox.html",
            caller=caller,
            items=items,
            next_cursor=next_cursor,
            unread=count,
            unread_only=unread == "1",
        )

    @get("/inbox/badge", summary="My unread count, for the header's badge (htmx)")
    async def inbox_badge(self, request: Request[Any, Any, Any], ctx: Ctx, console: ConsoleDep) -> Response[str]:
        caller = caller_of(request, ctx)
        try:
            count = await console.unread_count(caller)
        except (ConsoleError, ApiUnavailable):
            count = 0  # the badge is a hint: a refusal or an outage leaves it empty
        return Response(str(count) if count else "", media_type=MediaType.TEXT, headers={"Cache-Control": "no-store"})

    @post("/inbox/read-all", summary="Mark all my items read, then back to the inbox")
    async def inbox_read_all(self, request: Request[Any, Any, Any], ctx: Ctx, console: ConsoleDep) -> Response[Any]:
        caller = caller_of(request, ctx)
        try:
            await console.mark_all_read(caller)
        except (ConsoleError, ApiUnavailable) as exc:
            return _refusal(request, caller, exc)
        return Redirect(f"{BASE}/inbox", status_code=303)

    @post("/inbox/{item_id:str}/read", summary="Mark one item read: back to the inbox, or on to its order")
    async def inbox_read(
        self, request: Request[Any, Any, Any], ctx: Ctx, console: ConsoleDep, item_id: FromPath[str]
    ) -> Response[Any]:
        caller = caller_of(request, ctx)
        form = await form_of(request)
        try:
            await console.mark_read(caller, item_id[:64])
        except (ConsoleError, ApiUnavailable) as exc:
            return _refusal(request, caller, exc)
        order_id = form.get("open_order", "")
        if order_id and re.fullmatch(r"[A-Za-z0-9\-]{1,64}", order_id):
            return Redirect(f"{BASE}/orders/{order_id}", status_code=303)
        return Redirect(f"{BASE}/inbox", status_code=303)

    # -- the order list

    @get("/orders", summary="The order list: the view is in the URL")
    async def orders(
        self, request: Request[Any, Any, Any], ctx: Ctx, console: ConsoleDep, view_message: Text = None
    ) -> Response[str]:
        caller = caller_of(request, ctx)
        view = ListView.of(query_of(request))
        try:
            (rows, next_cursor, groups), staff, saved = await asyncio.gather(
                console.order_list(caller, view), console.staff(caller), console.saved_views(caller)
            )
        except (ConsoleError, ApiUnavailable) as exc:
            return _refusal(request, caller, exc, friendly_403=True)
        return render(
            request,
            "orders.html",
            caller=caller,
            view=view,
            rows=rows,
            next_cursor=next_cursor,
            groups=groups,
            groupings=GROUPINGS,
            staff={k: name for k, (name, _) in staff.items()},
            managers=_managers(staff),
            saved_views=[{**v, "query": _view_query(str(v.get("query") or ""))} for v in saved or []],
            view_message=(view_message or "")[:200],
            sorts=SORTS,
            delivery_types=DELIVERY_TYPES,
            payment_statuses=PAYMENT_STATUSES,
        )

    @post("/views", summary="Save the list's view under a name (then back to the list)")
    async def save_view(self, request: Request[Any, Any, Any], ctx: Ctx, console: ConsoleDep) -> Response[Any]:
        caller = caller_of(request, ctx)
        form = await form_of(request)
        query = _view_query(form.get("query", ""))
        try:
            outcome = await console.save_view(caller, form.get("name", ""), query)
        except ApiUnavailable as exc:
            return error_page(request, caller, 502, str(exc))
        t = i18n.translator(language(request))
        message = t("view_saved") if outcome.ok else f"{t('refused')}: {outcome.detail}"
        return Redirect(f"{BASE}/orders?{_with(query, view_message=message)}", status_code=303)

    @post("/views/{view_id:str}/delete", summary="Delete one of my saved views (then back to the list)")
    async def delete_view(
        self, request: Request[Any, Any, Any], ctx: Ctx, console: ConsoleDep, view_id: FromPath[str]
    ) -> Response[Any]:
        caller = caller_of(request, ctx)
        form = await form_of(request)
        try:
            outcome = await console.delete_view(caller, view_id[:64])
        except ApiUnavailable as exc:
            return error_page(request, caller, 502, str(exc))
        t = i18n.translator(language(request))
        message = t("view_deleted") if outcome.ok else f"{t('refused')}: {outcome.detail}"
        return Redirect(
            f"{BASE}/orders?{_with(_view_query(form.get('back', '')), view_message=message)}", status_code=303
        )

    @get("/orders/export.csv", summary="The list's view as CSV (streamed from the order service)")
    async def export(self, request: Request[Any, Any, Any], ctx: Ctx, console: ConsoleDep) -> Response[Any]:
        caller = caller_of(request, ctx)
        view = ListView.of(query_of(request))
        try:
            streamed = await console.export(caller, view)
        except ApiUnavailable as exc:
            return error_page(request, caller, 502, str(exc))
        if streamed.status != 200:
            return error_page(request, caller, streamed.status, f"HTTP {streamed.status}")
        return Stream(
            streamed.chunks,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="orders.csv"', "Cache-Control": "no-store"},
        )

    # -- the order card

    @get("/orders/{order_id:str}", summary="Everything of one order, and the actions the user's role has")
    async def order(
        self,
        request: Request[Any, Any, Any],
        ctx: Ctx,
        console: ConsoleDep,
        order_id: FromPath[str],
        ok: Text = None,
        error: Text = None,
        conflict: Text = None,
    ) -> Response[str]:
        caller = caller_of(request, ctx)
        try:
            card, staff = await asyncio.gather(console.order_card(caller, order_id), console.staff(caller))
        except (ConsoleError, ApiUnavailable) as exc:
            return _refusal(request, caller, exc)
        order = card.order
        actions = order.get("stage_actions") or {}
        pipeline_key = str(order.get("pipeline") or "").split("@")[0]
        board: Board | None = None
        try:  # the stage names of the order's pipeline (cached); the card works without them
            board = (await console.board(caller, pipeline_key))[0] if pipeline_key else None
        except (ConsoleError, ApiUnavailable):
            board = None
        can_stage = caller.role in (actions.get("roles") or [])
        return render(
            request,
            "order.html",
            caller=caller,
            card=card,
            order=order,
            board=board,
            clock=card_of(order, console.now()).clock,
            can_advance=can_stage and bool(actions.get("can_advance")),
            move_to=(actions.get("move_to") or []) if can_stage else [],
            can_edit=may_edit(caller.role) and not order.get("final"),
            can_note=may_edit(caller.role),
            can_message=may_edit(caller.role),
            can_pay=may_pay(caller.role),
            can_decide_returns=may_edit(caller.role),
            once=f"console:{order.get('order_id')}:{order.get('version')}:{secrets.token_urlsafe(9)}",
            delivery_types=DELIVERY_TYPES,
            staff={k: name for k, (name, _) in staff.items()},
            assignable=_managers(staff),
            ok=ok,
            error=error,
            conflict=bool(conflict),
        )

    @post("/orders/{order_id:str}/{action:str}", summary="One manager action of the order card (form, then back)")
    async def order_action(
        self,
        request: Request[Any, Any, Any],
        ctx: Ctx,
        console: ConsoleDep,
        order_id: FromPath[str],
        action: FromPath[str],
    ) -> Redirect:
        caller = caller_of(request, ctx)
        form = await form_of(request)
        outcome = await _safely(console.order_action(caller, order_id, action, form))
        t = i18n.translator(language(request))
        query: dict[str, str] = {}
        if outcome.ok:
            query["ok"] = f"{t('done')}: {outcome.detail}" if outcome.detail else t("done")
        elif outcome.conflict:
            query["conflict"] = "1"
            query["error"] = t("conflict")
        else:
            query["error"] = f"{t('refused')}: {outcome.detail}"[:300]
        return Redirect(f"{BASE}/orders/{quote(order_id, safe='')}?{urlencode(query)}", status_code=303)

    @get("/documents/{kind:str}/{ident:str}", summary="A document of the order (PDF), fetched as the user")
    async def document(
        self, request: Request[Any, Any, Any], ctx: Ctx, console: ConsoleDep, kind: FromPath[str], ident: FromPath[str]
    ) -> Response[Any]:
        caller = caller_of(request, ctx)
        try:
            streamed = await console.document(caller, kind, ident)
        except ApiUnavailable as exc:
            return error_page(request, caller, 502, str(exc))
        if streamed is None or streamed.status != 200:
            status = 404 if streamed is None else streamed.status
            return error_page(request, caller, status, f"HTTP {status}")
        headers = {"Cache-Control": "no-store"}
        if disposition := streamed.headers.get("content-disposition"):
            headers["Content-Disposition"] = disposition
        return Stream(streamed.chunks, media_type="application/pdf", headers=headers)


# ---- helpers ---------------------------------------------------------------------------------


def _filters(
    manager_id: str | None, channel: str | None, delivery_type: str | None, problem: str | None
) -> BoardFilters:
    return BoardFilters(
        manager_id=(manager_id or "").strip(),
        channel=(channel or "").strip(),
        delivery_type=(delivery_type or "").strip() if (delivery_type or "") in DELIVERY_TYPES else "",
        problem=problem in ("1", "true", "on"),
    )


def _filter_query(pipeline: str, filters: BoardFilters) -> str:
    params = [("pipeline", pipeline)]
    if filters.manager_id:
        params.append(("manager_id", filters.manager_id))
    if filters.channel:
        params.append(("channel", filters.channel))
    if filters.delivery_type:
        params.append(("delivery_type", filters.delivery_type))
    if filters.problem:
        params.append(("problem", "1"))
    return urlencode(params)


CHARTS = (
    "day",
    "week",
    "channel",
    "currency",
    "delivery",
    "region",
    "customer_kind",
    "stage",
    "cancelled_day",
    "cancel_reason",
)


def _narrowed(channel: str | None, delivery_type: str | None) -> list[tuple[str, str]]:
    """The analytics' own filters (one channel, one delivery type) as the groupings' parameters: a
    channel is a key (never echoed raw), a delivery type one of the known ones."""
    found: list[tuple[str, str]] = []
    if channel and KEY.fullmatch(channel):
        found.append(("channel", channel))
    if delivery_type in DELIVERY_TYPES:
        found.append(("delivery_type", str(delivery_type)))
    return found


def _series(charts: dict[str, list[dict[str, Any]]], first: str, last: str) -> dict[str, list[analytics.Row]]:
    """The rows of every chart: the groupings as the API gave them, the day charts with every day of
    the period, and the days summed into weeks."""
    series = {name: analytics.rows_of(groups) for name, groups in charts.items()}
    since, until = date.fromisoformat(first), date.fromisoformat(last)
    for name in ("day", "cancelled_day"):
        series[name] = analytics.every_day(series.get(name, []), since, until)
    series["week"] = analytics.by_week(series["day"])
    return series


def _days(since: str | None, until: str | None, now: datetime, *, default_days: int) -> tuple[date, date]:
    """A period picked as two days ([since, until], whole UTC days; default the last `default_days`),
    a year at most, the days swapped when given backwards."""
    today = now.date()
    first = _date(since) or today - timedelta(days=default_days - 1)
    last = _date(until) or today
    if last < first:
        first, last = last, first
    return max(first, last - timedelta(days=365)), last


def _time_range(start: str, end: str, first: date, last: date) -> list[tuple[str, str]]:
    """The days as the API's half-open time range [first 00:00, the day after last 00:00) in UTC."""
    return [
        (start, f"{first.isoformat()}T00:00:00+00:00"),
        (end, f"{(last + timedelta(days=1)).isoformat()}T00:00:00+00:00"),
    ]


def _period(since: str | None, until: str | None, now: datetime) -> tuple[list[tuple[str, str]], str, str]:
    """The placed-date range of the analytics (default the last 30 days) as the groupings' filter, and
    the two days back for the form."""
    first, last = _days(since, until, now, default_days=30)
    return _time_range("placed_from", "placed_to", first, last), first.isoformat(), last.isoformat()


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _view_query(query: str) -> str:
    """A list view's query string as the console builds it (known filters, sort, grouping; no cursor):
    what a saved view stores, and all of it a saved view's link carries."""
    parsed = parse_qs(query.strip().removeprefix("?")[:2000], keep_blank_values=False, max_num_fields=100)
    return ListView.of(parsed).query(cursor=None)


def _with(query: str, **extra: str) -> str:
    return "&".join(p for p in (query, urlencode(extra)) if p)


def _managers(staff: dict[str, tuple[str, str]]) -> list[tuple[str, str]]:
    """Who may hold orders (admins and managers), by name: the manager filters and "assign to"."""
    return sorted(
        ((k, name) for k, (name, role) in staff.items() if role in ("admin", "manager")), key=lambda p: p[1].casefold()
    )


def _default_pipeline(keys: list[str]) -> str:
    """The built-in `store` pipeline (most orders run on it) when the shop has it, else the first."""
    return "store" if "store" in keys or not keys else keys[0]


def _key(value: str | None) -> str:
    """A pipeline or stage key from a form, or "" when it is not one (never echoed raw into a page)."""
    return value if value and KEY.fullmatch(value) else ""


def _version(form: dict[str, str]) -> int | None:
    try:
        value = int(form.get("version", ""))
    except ValueError:
        return None
    return value if value > 0 else None


async def _safely(action: Any) -> Outcome:
    try:
        return await action  # type: ignore[no-any-return]
    except ApiUnavailable as exc:
        return Outcome(ok=False, detail=str(exc))


async def _card(
    request: Request[Any, Any, Any],
    console: Console,
    caller: Caller,
    pipeline: str,
    order_id: str,
    outcome: Outcome,
    action: str | None = None,
) -> Response[str]:
    """The card after an action (or a reload): where the order is now, and what happened."""
    board: Board | None = None
    try:
        board, _ = await console.board(caller, pipeline) if pipeline else (None, [])
        order = outcome.order or await console.card(caller, order_id)
        staff = await console.staff_names(caller)
    except (ConsoleError, ApiUnavailable) as exc:
        return render(request, "column_error.html", caller=caller, detail=str(exc))
    column = board.column(str(order.get("stage"))) if board else None
    card = card_of(order, console.now(), column.time_limit_seconds if column else None)
    lang = language(request)
    t = i18n.translator(lang)
    stage_name = board.stage_name(card.stage, lang) if board else card.stage
    message = None
    if outcome.ok and action:
        message = t(f"done.{action}", stage=stage_name)
    elif outcome.conflict:
        message = t("conflict")
    elif not outcome.ok:
        message = f"{t('refused')}: {outcome.detail}"
    return render(
        request,
        "card.html",
        caller=caller,
        board=board,
        column=column,
        card=card,
        pipeline=pipeline,
        staff=staff,
        message=message,
        message_kind="ok" if outcome.ok else "error",
        moved=outcome.ok and action is not None,
    )


ROUTE_HANDLERS: list[ControllerRouterHandler] = [login_page, static_file, ConsolePages]
