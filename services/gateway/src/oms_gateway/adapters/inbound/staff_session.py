"""The warehouse pages' browser session: the staff bearer token, kept in a cookie.

Why a cookie and not a token in the URL: a URL ends up in browser history, proxy logs and Referer
headers; an `HttpOnly` cookie is invisible to page scripts and never logged. The cookie holds the
very token `POST /api/v1/auth/login` issues (same signature, same expiry, same checks), so there is
no second session store. It is scoped to `/warehouse` (the API keeps taking bearer tokens only),
`SameSite=Strict` (another site cannot make the browser send it), `Secure` when the gateway is
served over https, and a state-changing request carrying it must come from our own origin (Origin
header check) — belt and braces against cross-site form posts.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Request

from oms_gateway.application.errors import CrossSiteForm

SESSION_COOKIE = "oms_staff"
PAGES_PREFIX = "/warehouse"


def is_pages_path(path: str) -> bool:
    return path == PAGES_PREFIX or path.startswith(PAGES_PREFIX + "/")


def session_token(request: Request[Any, Any, Any]) -> str | None:
    """The staff token of the session cookie, for the warehouse pages only; None elsewhere or without one."""
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
