"""Sign-in and sign-out for the warehouse pages (see `staff_session`): a form, then a session cookie."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.exceptions import NotAuthorizedException
from litestar.response import Redirect

from oms_gateway.adapters.inbound.proxy import Gateway
from oms_gateway.adapters.inbound.staff_session import PAGES_PREFIX, SESSION_COOKIE
from oms_gateway.application.accounts import InvalidCredentials

LOGIN_PATH = PAGES_PREFIX + "/login"

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Warehouse</title>
<style>body{{font:20px system-ui,sans-serif;margin:0;padding:16px;background:#f4f4f4}}
input,button{{width:100%;box-sizing:border-box;font-size:22px;padding:14px;margin:6px 0;border-radius:10px}}
button{{background:#2a9d8f;color:#fff;border:0;min-height:56px}}.error{{color:#7b0019;font-weight:600}}</style>
</head><body><h1>Warehouse sign-in</h1>{error}
<form method="post" action="{action}">
<input name="shop" id="shop" placeholder="shop" aria-label="shop" required autofocus>
<input name="email" id="email" type="email" placeholder="e-mail" aria-label="e-mail" required>
<input name="password" id="password" type="password" placeholder="password" aria-label="password" required>
<button type="submit" id="sign-in">Sign in</button></form></body></html>"""


def _page(error: str = "", status: int = 200) -> Response[str]:
    body = _PAGE.format(action=LOGIN_PATH, error=f'<p class="error" role="alert">{error}</p>' if error else "")
    return Response(body, status_code=status, media_type=MediaType.HTML, headers={"Cache-Control": "no-store"})


@get(LOGIN_PATH, include_in_schema=False)
async def login_page() -> Response[str]:
    return _page()


@post(LOGIN_PATH, include_in_schema=False, status_code=303)
async def login_form(request: Request[Any, Any, Any], gateway: NamedDependency[Gateway]) -> Response[Any]:
    gateway.limit_logins(request)
    form = await request.form()
    shop, email, password = (str(form.get(k, "")).strip() for k in ("shop", "email", "password"))
    if not (shop and email and password):
        return _page("shop, e-mail and password are required", 422)
    try:
        result = await gateway.accounts.login(shop_slug=shop, email=email, password=password)
    except InvalidCredentials:
        return _page("unknown shop, e-mail or password", 401)
    response: Response[Any] = Redirect(PAGES_PREFIX + "/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        result.token.access_token,
        path=PAGES_PREFIX,
        max_age=result.token.expires_in,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@post(PAGES_PREFIX + "/logout", include_in_schema=False, status_code=303)
async def logout() -> Response[Any]:
    response: Response[Any] = Redirect(LOGIN_PATH, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=PAGES_PREFIX)
    return response


async def warehouse_pages(request: Request[Any, Any, Any], gateway: NamedDependency[Gateway]) -> Response[Any]:
    """The pages themselves, proxied; a browser without a session is sent to sign in."""
    try:
        return await gateway.forward(request)
    except NotAuthorizedException:
        if request.method.upper() == "GET":
            return Redirect(LOGIN_PATH, status_code=303)
        raise


HANDLERS = [login_page, login_form, logout]
