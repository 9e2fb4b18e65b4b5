"""The browser session of the staff pages (warehouse pages, ops console): the staff token, kept in a cookie.

Why a cookie and not a token in the URL: a URL ends up in browser history, proxy logs and Referer
headers; an `HttpOnly` cookie is invisible to page scripts and never logged. The cookie holds the
very token `POST /api/v1/auth/login` issues (same signature, same expiry, same checks), so there is
no second session store. It is scoped to its pages' prefix (`/warehouse`, `/console`; the API keeps
taking bearer tokens only), `SameSite=Strict` (another site cannot make the browser send it),
`Secure` when the gateway is served over https, and a state-changing request carrying it must come
from our own origin (Origin header check) — belt and braces against cross-site form posts.

The console is a client of the public API (ADR 0019): its requests carry the signed-in user's token
as `Authorization: Bearer`, so the console calls the gateway as that user and every role and tenant
check stays where it is. Its language choice is a second cookie (`oms_lang`, `ru`|`en`) that the
gateway turns into the `Accept-Language` the console reads.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Request

from oms_gateway.application.errors import CrossSiteForm

SESSION_COOKIE = "oms_staff"
LANG_COOKIE = "oms_lang"
LANGUAGES = ("en", "ru")
WAREHOUSE_PREFIX = "/warehouse"
CONSOLE_PREFIX = "/console"
PAGES_PREFIXES = (WAREHOUSE_PREFIX, CONSOLE_PREFIX)
PAGES_PREFIX = WAREHOUSE_PREFIX  # the warehouse pages' own name for theirs (warehouse_login)


def pages_prefix(path: str) -> str | None:
    """The staff pages' prefix this path is under, None for the API."""
    for prefix in PAGES_PREFIXES:
        if path == prefix or path.startswith(prefix + "/"):
            return prefix
    return None


def is_pages_path(path: str) -> bool:
    return pages_prefix(path) is not None


def session_token(request: Request[Any, Any, Any]) -> str | None:
    """The staff token of the session cookie, for the staff pages only; None elsewhere or without one."""
    if not is_pages_path(request.url.path):
        return None
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    if request.method.upper() not in ("GET", "HEAD") and not same_origin(request):
        raise CrossSiteForm()
    return token


def same_origin(request: Request[Any, Any, Any]) -> bool:
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return True  # browsers send Origin on cross-site POSTs; its absence means same-site or not a browser
    return urlsplit(origin).netloc == request.headers.get("host", "")


def language(request: Request[Any, Any, Any]) -> str | None:
    """The console language the user chose (cookie), None when none or not one we speak."""
    chosen = request.cookies.get(LANG_COOKIE)
    return chosen if chosen in LANGUAGES else None


def console_headers(request: Request[Any, Any, Any], *, signed_in: bool) -> dict[str, str]:
    """What the console gets besides the usual identity headers: the signed-in user's token (the one
    the gateway just verified: a bearer header's, else the session cookie's) and the language."""
    if pages_prefix(request.url.path) != CONSOLE_PREFIX:
        return {}
    headers: dict[str, str] = {}
    if signed_in:
        scheme, _, bearer = (request.headers.get("authorization") or "").partition(" ")
        token = bearer.strip() if scheme.lower() == "bearer" else request.cookies.get(SESSION_COOKIE)
        if token:
            headers["authorization"] = f"Bearer {token}"
    if chosen := language(request):
        headers["accept-language"] = chosen
    return headers
