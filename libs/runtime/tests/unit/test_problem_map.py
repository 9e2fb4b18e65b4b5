"""A service's exception → problem map: routes let application exceptions propagate, the map answers them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar, get
from litestar.di import NamedDependency
from litestar.testing import TestClient
from oms_runtime.commands import AggregateNotFound
from oms_runtime.errors import ConcurrencyError, FieldError, FieldErrors, FieldIssue
from oms_runtime.problems import ProblemSpec, exception_handlers
from oms_runtime.runtime import ServiceRuntime
from oms_runtime.settings import ServiceSettings
from oms_runtime.web import create_service_app, provide, provide_all


class ConversationNotFound(Exception):
    pass


class TextTooLong(ValueError):
    pass


class TextFarTooLong(TextTooLong):
    pass


PROBLEMS = {
    ConversationNotFound: ProblemSpec(404, "Not found"),
    TextTooLong: ProblemSpec(422, "Invalid request", field="text"),
}


@get("/missing", sync_to_thread=False)
def missing() -> None:
    raise ConversationNotFound("conversation c1 not found")


@get("/long", sync_to_thread=False)
def long() -> None:
    raise TextFarTooLong("at most 4000 characters")


@get("/conflict", sync_to_thread=False)
def conflict() -> None:
    raise ConcurrencyError("conversations", "c1", 3, current_version=4)


@get("/aggregate", sync_to_thread=False)
def aggregate() -> None:
    raise AggregateNotFound("conversations", "c1")


@get("/unmapped", sync_to_thread=False)
def unmapped() -> None:
    raise RuntimeError("a bug")


def client() -> TestClient[Litestar]:
    app = Litestar([missing, long, conflict, aggregate, unmapped], exception_handlers=exception_handlers(PROBLEMS))
    return TestClient(app)


def test_a_mapped_exception_is_answered_as_its_problem_with_the_exception_text():
    with client() as c:
        response = c.get("/missing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body == {
        "type": "about:blank",
        "title": "Not found",
        "status": 404,
        "instance": "/missing",
        "detail": "conversation c1 not found",
    }


def test_a_subclass_is_answered_by_its_mapped_base_naming_the_field():
    with client() as c:
        response = c.get("/long")
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "text", "message": "at most 4000 characters"}]


def test_the_shared_handlers_stay():
    with client() as c:
        conflict_answer = c.get("/conflict")
        not_found = c.get("/aggregate")
        bug = c.get("/unmapped")
    assert conflict_answer.status_code == 409
    assert (conflict_answer.json()["expected_version"], conflict_answer.json()["current_version"]) == (3, 4)
    assert not_found.status_code == 404 and not_found.json()["detail"] == "conversations/c1 not found"
    assert bug.status_code == 500 and "a bug" not in bug.text


def test_the_map_holds_exception_classes_and_problem_statuses_only():
    with pytest.raises(TypeError):
        exception_handlers({"nope": ProblemSpec(404, "x")})  # type: ignore[dict-item]
    with pytest.raises(ValueError):
        ProblemSpec(200, "fine")


def test_the_app_factory_takes_the_map_and_plain_dependencies():
    @get("/value", sync_to_thread=False)
    def value(greeting: NamedDependency[str], count: NamedDependency[int]) -> dict[str, Any]:
        return {"greeting": greeting, "count": count}

    runtime = ServiceRuntime(ServiceSettings(service_name="probe"))
    app = create_service_app(
        runtime,
        route_handlers=[value, missing],
        title="probe",
        dependencies={"greeting": provide("hello"), **provide_all(count=3)},
        problems=PROBLEMS,
    )
    assert app.exception_handlers[ConversationNotFound] is not None
    assert app.exception_handlers[ConcurrencyError] is not None
    assert app.dependencies["greeting"].dependency() == "hello"
    assert app.dependencies["count"].dependency() == 3


class InvalidPost(FieldError):
    pass


class UnknownOrder(Exception):
    def __init__(self, order_id: str) -> None:
        super().__init__(f"order {order_id} has no conversation in this shop")
        self.order_id = order_id


@get("/invalid", sync_to_thread=False)
def invalid() -> None:
    raise InvalidPost("message_id", "must be a UUID")


@get("/unknown-order", sync_to_thread=False)
def unknown_order() -> None:
    raise UnknownOrder("o1")


def test_a_field_error_names_its_own_field_and_extensions_copy_attributes():
    problems = {UnknownOrder: ProblemSpec(404, "Order not found", field="order_id", extensions=("order_id",))}
    app = Litestar([invalid, unknown_order], exception_handlers=exception_handlers(problems))
    with TestClient(app) as c:
        bad = c.get("/invalid")
        unknown = c.get("/unknown-order")
    assert bad.status_code == 422  # FieldError is answered even without an entry of its own
    assert bad.json()["errors"] == [{"field": "message_id", "message": "must be a UUID"}]
    assert bad.json()["detail"] == "message_id: must be a UUID"
    assert unknown.status_code == 404
    assert unknown.json()["order_id"] == "o1"
    assert unknown.json()["errors"] == [{"field": "order_id", "message": "order o1 has no conversation in this shop"}]


@dataclass(frozen=True)
class Issue:
    field: str
    message: str


class InvalidLines(Exception):
    def __init__(self, errors: list[Issue]) -> None:
        super().__init__("the order's lines are invalid")
        self.errors = errors


class NotAllowed(Exception):
    def __init__(self, allowed: str) -> None:
        super().__init__("method not allowed")
        self.headers = {"Allow": allowed}


@get("/lines", sync_to_thread=False)
def lines() -> None:
    raise InvalidLines([Issue("lines[0].sku", "unknown SKU"), Issue("lines[1].quantity", "too many")])


@get("/several", sync_to_thread=False)
def several() -> None:
    raise FieldErrors([FieldIssue("a", "missing"), FieldIssue("b", "too long")])


@get("/not-allowed", sync_to_thread=False)
def not_allowed() -> None:
    raise NotAllowed("GET, PUT")


def test_several_fields_at_fault_and_headers():
    problems = {
        InvalidLines: ProblemSpec(422, "Invalid order", field="lines"),
        NotAllowed: ProblemSpec(405, "Method not allowed", headers={"Cache-Control": "no-store"}),
    }
    app = Litestar([lines, several, not_allowed], exception_handlers=exception_handlers(problems))
    with TestClient(app) as c:
        invalid = c.get("/lines")
        unmapped = c.get("/several")
        refused = c.get("/not-allowed")
    assert invalid.status_code == 422 and invalid.json()["detail"] == "the order's lines are invalid"
    assert invalid.json()["errors"] == [
        {"field": "lines[0].sku", "message": "unknown SKU"},
        {"field": "lines[1].quantity", "message": "too many"},
    ]
    assert unmapped.status_code == 422  # FieldErrors has its shared handler
    assert [e["field"] for e in unmapped.json()["errors"]] == ["a", "b"]
    assert unmapped.json()["detail"] == "a: missing; b: too long"
    assert refused.status_code == 405
    assert (refused.headers["allow"], refused.headers["cache-control"]) == ("GET, PUT", "no-store")
