"""Sign-in, sign-out and the language choice of the operations console (see `staff_session`).

The console renders its own sign-in page (in the user's language, `GET /console/login` is a public
row); the form is posted here, to the gateway, which alone sees passwords and sets the session
cookie. A failed sign-in goes back to the page with a reason code the console puts into words.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.response import Redirect

from oms_gateway.adapters.inbound.proxy import Gateway
from oms_gateway.adapters.inbound.staff_session import (
    CONSOLE_PREFIX,
    LANG_COOKIE,
    LANGUAGES,
    SESSION_COOKIE,
    same_origin,
)
from oms_gateway.adapters.inbound.warehouse_login import signed_in
from oms_gateway.application.accounts import InvalidCredentials

LOGIN_PATH = CONSOLE_PREFIX + "/login"
ONE_YEAR = 365 * 24 * 3600


def _back_to_login(reason: str) -> Redirect:
    return Redirect(f"{LOGIN_PATH}?error={reason}", status_code=303)


@post(LOGIN_PATH, include_in_schema=False, status_code=303)
async def console_login(request: Request[Any, Any, Any], gateway: NamedDependency[Gateway]) -> Response[Any]:
    if not same_origin(request):
        return _back_to_login("origin")
    gateway.limit_logins(request)
    form = await request.form()
    shop, email, password = (str(form.get(k, ""))[:1024].strip() for k in ("shop", "email", "password"))
    if not (shop and email and password):
        return _back_to_login("missing")
    try:
        result = await gateway.accounts.login(shop_slug=shop, email=email, password=password)
    except InvalidCredentials:
        return _back_to_login("credentials")
    return signed_in(request, CONSOLE_PREFIX, result.token.access_token, result.token.expires_in)


@post(CONSOLE_PREFIX + "/logout", include_in_schema=False, status_code=303)
async def console_logout() -> Response[Any]:
    response: Response[Any] = Redirect(LOGIN_PATH, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=CONSOLE_PREFIX)
    return response


@post(CONSOLE_PREFIX + "/lang", include_in_schema=False, status_code=303)
async def console_language(request: Request[Any, Any, Any]) -> Response[Any]:
    """Remember the language (a cookie of the console's pages; no credential needed to choose one)."""
    form = await request.form()
    chosen = str(form.get("lang", ""))
    back = str(form.get("next", ""))
    # Only back into the console, never elsewhere (an open redirect otherwise).
    parts = urlsplit(back)
    if parts.scheme or parts.netloc or not (back == CONSOLE_PREFIX or back.startswith(CONSOLE_PREFIX + "/")):
        back = CONSOLE_PREFIX + "/"
    response: Response[Any] = Redirect(back, status_code=303)
    if chosen in LANGUAGES and same_origin(request):
        response.set_cookie(
            LANG_COOKIE,
            chosen,
            path=CONSOLE_PREFIX,
            max_age=ONE_YEAR,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
    return response


async def console_pages(request: Request[Any, Any, Any], gateway: NamedDependency[Gateway]) -> Response[Any]:
    """The console, proxied; a browser without a session is sent to sign in (an htmx request by HX-Redirect)."""
    try:
        return await gateway.forward(request)
    except NotAuthorizedException:
        if request.headers.get("hx-request"):
            return Response(b"", status_code=401, headers={"HX-Redirect": LOGIN_PATH})
        if request.method.upper() == "GET":
            return Redirect(LOGIN_PATH, status_code=303)
        raise


@get(LOGIN_PATH, include_in_schema=False)
async def console_login_page(request: Request[Any, Any, Any], gateway: NamedDependency[Gateway]) -> Response[Any]:
    """The sign-in page is the console's (a public row): the path is the form's, so it is declared here too."""
    return await gateway.forward(request)


HANDLERS = [console_login_page, console_login, console_logout, console_language]
