"""The sandbox's hosted pages. Public (the customer's browser, through the gateway): no staff
context; the unguessable checkout token in the link is what authorises them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from jinja2 import Environment, PackageLoader, select_autoescape
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import FromPath, QueryParameter
from pydantic import BaseModel

from oms_payment.adapters.sandbox.cards import CardRejected
from oms_payment.adapters.sandbox.checkout import CheckoutBusy, CheckoutClosed, SandboxCheckout
from oms_payment.application.errors import PaymentNotFound
from oms_payment.domain import Payment

_templates = Environment(
    loader=PackageLoader("oms_payment.adapters.sandbox", "templates"), autoescape=select_autoescape(["html"])
)

Sandbox = NamedDependency[SandboxCheckout]
PaymentId = FromPath[str]
Token = Annotated[str, QueryParameter(max_length=200, description="The checkout token from the payment link")]


class CardShown(BaseModel):
    brand: str
    last4: str


class ChargeAnswer(BaseModel):
    """The JSON answer to a card posted to the hosted checkout."""

    payment_id: str
    outcome: Literal["succeeded", "failed"]
    card: CardShown
    decline_reason: str | None
    # After a decline: the cards the customer may still try here (0: the checkout is closed).
    attempts_left: int


def _page(status: int = 200, **context: Any) -> Response[str]:
    html = _templates.get_template("checkout.html").render(**context)
    return Response(html, status_code=status, media_type=MediaType.HTML)


def _closed(payment: Payment) -> str:
    """How the customer reads a checkout that takes no more cards."""
    return {"captured": "paid", "settled": "paid", "failed": "declined"}.get(payment.status, "being processed")


def _wants_html(request: Request[Any, Any, Any]) -> bool:
    return not request.headers.get("content-type", "").startswith("application/json")


@dataclass
class PageOrJson(Operation):
    """A form a browser posts answers with an HTML page, a JSON client with JSON (or problem+json,
    which the app factory adds to the document afterwards): every answer documents both."""

    PAGE_ERRORS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("404", "No such checkout"),
        ("409", "Checkout closed"),
        ("422", "Card refused"),
    )

    def __post_init__(self) -> None:
        self.responses = self.responses or {}
        for status, why in self.PAGE_ERRORS:
            self.responses.setdefault(status, OpenAPIResponse(description=why))
        for response in self.responses.values():
            if isinstance(response, OpenAPIResponse):
                response.content = {
                    **(response.content or {}),
                    MediaType.HTML: OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING)),
                }


@dataclass
class CheckoutPage(PageOrJson):
    """The hosted form: an HTML page, also when the link is not valid (404)."""

    PAGE_ERRORS: ClassVar[tuple[tuple[str, str], ...]] = (("404", "No such checkout"),)


class SandboxCheckoutController(Controller):
    path = "/sandbox/checkout"
    tags = ["sandbox provider"]

    @get(
        "/{payment_id:str}",
        summary="The hosted card form of a payment",
        media_type=MediaType.HTML,
        operation_class=CheckoutPage,
    )
    async def form(self, payment_id: PaymentId, sandbox: Sandbox, token: Token = "") -> Response[str]:
        try:
            payment = await sandbox.open(payment_id, token)
        except PaymentNotFound:
            return _not_found_page()
        return _page(payment=payment, closed=None if payment.status == "awaiting_customer" else _closed(payment))

    @post(
        "/{payment_id:str}",
        summary="Charge a card (form or JSON {card_number, expiry, cvc})",
        status_code=200,
        operation_class=PageOrJson,
        responses={
            200: ResponseSpec(data_container=ChargeAnswer, description="The charge's outcome", generate_examples=False)
        },
    )
    async def pay(
        self, request: Request[Any, Any, Any], payment_id: PaymentId, sandbox: Sandbox, token: Token = ""
    ) -> Response[Any]:
        html = _wants_html(request)
        data: Any = (await request.form()) if html else await request.json()
        if not isinstance(data, dict) and not hasattr(data, "get"):
            raise CardRejected("body", "send card_number, expiry and cvc")
        fields = {name: str(data.get(name) or "") for name in ("card_number", "expiry", "cvc")}
        if not html:
            # A JSON client: what the checkout refuses propagates to the service's problem map.
            result = await sandbox.pay(payment_id, token, **fields)
            charge = result.charge
            answer = ChargeAnswer(
                payment_id=result.payment.payment_id,
                outcome="succeeded" if charge.approved else "failed",
                card=CardShown(brand=charge.brand, last4=charge.last4),
                decline_reason=charge.decline_reason,
                attempts_left=result.expected.attempts_left,
            )
            # Sent after the answer, as a real provider does: the customer never waits for the shop.
            return Response(
                answer, media_type=MediaType.JSON, background=BackgroundTask(sandbox.send_webhook, result.webhook)
            )
        try:
            result = await sandbox.pay(payment_id, token, **fields)
        except PaymentNotFound:
            return _not_found_page()
        except (CheckoutClosed, CheckoutBusy) as exc:
            payment = await sandbox.open(payment_id, token)
            closed = "being processed" if isinstance(exc, CheckoutBusy) else _closed(payment)
            return _page(409, payment=payment, closed=closed)
        except CardRejected as exc:
            payment = await sandbox.open(payment_id, token)
            return _page(422, payment=payment, error={"field": exc.field, "message": exc.message})
        return Response(
            _templates.get_template("checkout.html").render(
                payment=result.payment, result=result.charge, expected=result.expected
            ),
            media_type=MediaType.HTML,
            background=BackgroundTask(sandbox.send_webhook, result.webhook),
        )


def _not_found_page() -> Response[str]:
    return Response(
        "<!doctype html><title>Not found</title><p>This payment link is not valid.</p>",
        status_code=404,
        media_type=MediaType.HTML,
    )
