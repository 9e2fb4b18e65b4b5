"""The OpenAPI document says what errors each route answers, as the problem+json they are.

Litestar documents 200/201 and a generic 400 in its own error shape; every service actually
answers 400/401/403/404/409/413/415/422 as RFC 9457 problem+json (`oms_runtime.problems`). The
app factory has `document_problems` run whenever the document is built: each operation gets the
statuses it can answer, from what the handler declares (a body, parameters, a path parameter,
a role guard or the request context, If-Match or `expected_version`), all with the `Problem`
schema. A handler names any other status itself (`responses={409: ResponseSpec(None, ...)}`);
its content is replaced by the problem too.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, MediaType
from litestar._openapi.plugin import OpenAPIPlugin  # the app builds it; 2.x has no public name for it
from litestar.enums import ParamType
from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
)
from litestar.routes import HTTPRoute

from oms_runtime.context import RoleGuard
from oms_runtime.problems import PROBLEM_JSON

PROBLEM_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    description="RFC 9457 problem details; `errors` names each field at fault.",
    required=["type", "title", "status"],
    properties={
        "type": Schema(type=OpenAPIType.STRING, description="A URI; about:blank for the status's own meaning"),
        "title": Schema(type=OpenAPIType.STRING),
        "status": Schema(type=OpenAPIType.INTEGER),
        "detail": Schema(type=OpenAPIType.STRING),
        "instance": Schema(type=OpenAPIType.STRING, description="The request path"),
        "errors": Schema(
            type=OpenAPIType.ARRAY,
            items=Schema(
                type=OpenAPIType.OBJECT,
                required=["field", "message"],
                properties={
                    "field": Schema(type=OpenAPIType.STRING, description="e.g. lines[0].quantity, If-Match, body"),
                    "message": Schema(type=OpenAPIType.STRING),
                },
            ),
        ),
    },
)

DESCRIPTIONS = {
    400: "The body is no UTF-8 JSON, is nested too deep or holds a number too large to be one",
    401: "Not sent through the gateway (the internal token, shop or actor is missing or wrong)",
    403: "The caller's role may not do this",
    404: "Not found",
    409: "The resource changed since the version sent (If-Match / expected_version), or conflicts",
    413: "The body is larger than the service accepts",
    415: "The body is not sent as application/json",
    422: "A parameter or field is invalid; `errors` names each",
}


def _statuses(handler: Any, operation: Operation) -> set[int]:
    parameters = handler.parsed_fn_signature.parameters
    guarded = any(isinstance(g, RoleGuard) for layer in handler.ownership_layers for g in (layer.guards or ()))
    declared = operation.parameters or []
    statuses: set[int] = set()
    if "ctx" in parameters or guarded:
        statuses |= {401, 403}
    if declared:
        statuses.add(422)
    if any(getattr(p, "param_in", None) == ParamType.PATH for p in declared):
        statuses.add(404)
    if isinstance(operation.request_body, RequestBody):
        statuses |= {413, 422}
        if any(getattr(media, "value", media) == "application/json" for media in operation.request_body.content):
            statuses |= {400, 415}
    body = parameters.get("data")
    body_fields = getattr(body.annotation, "model_fields", None) or {} if body is not None else {}
    if "if_match" in parameters or "expected_version" in body_fields:
        statuses.add(409)
    return statuses


def _problem_response(description: str) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=description,
        content={PROBLEM_JSON: OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))},
    )


class _ProblemDocumentingOpenAPIPlugin(OpenAPIPlugin):
    __slots__ = ()

    def _build_openapi(self) -> OpenAPI:
        document = super()._build_openapi()
        document_problems(self.app, document)
        return document


def document_problems_when_built(app: Litestar) -> None:
    """Have `app`'s OpenAPI document list each operation's problem+json answers, whenever it is built.

    Litestar builds the document lazily (again after a route is registered), from a copy of the
    config a service may still change after the factory (the gateway adds security schemes): so
    not here and now, but in the app's own OpenAPI plugin, which Litestar creates itself and
    offers no hook for (pinned Litestar; tests/framework/test_openapi_problems.py notices a change).
    """
    plugin = app.plugins.get(OpenAPIPlugin)
    plugin.__class__ = _ProblemDocumentingOpenAPIPlugin


def document_problems(app: Litestar, document: OpenAPI) -> None:
    """Add the problem+json answers of every operation of `app` to its OpenAPI `document`, in place."""
    if document.components is None:
        document.components = Components()
    if document.components.schemas is None:
        document.components.schemas = {}
    document.components.schemas["Problem"] = PROBLEM_SCHEMA
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path_item = (document.paths or {}).get(route.path_format)
        if path_item is None:
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods:
                operation = getattr(path_item, method.lower(), None)
                if operation is None:
                    continue
                responses = operation.responses = operation.responses or {}
                statuses = _statuses(handler, operation)
                if 400 not in statuses:
                    # Litestar's default 400 stands for its validation errors, answered 422 here.
                    responses.pop("400", None)
                for status in statuses:
                    responses.setdefault(str(status), _problem_response(DESCRIPTIONS[status]))
                for status, response in list(responses.items()):
                    if status.isdigit() and 400 <= int(status) < 600 and isinstance(response, OpenAPIResponse):
                        description = DESCRIPTIONS.get(int(status), response.description)
                        problem = _problem_response(description)
                        # A page a browser opens may answer its errors as HTML too: kept beside the problem.
                        pages = {k: v for k, v in (response.content or {}).items() if k == MediaType.HTML}
                        problem.content = {**(problem.content or {}), **pages}
                        responses[status] = problem
                operation.responses = dict(sorted(responses.items()))
