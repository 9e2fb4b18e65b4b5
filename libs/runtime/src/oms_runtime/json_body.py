"""Request bodies, decoded once and strictly, for every service.

Every JSON body a service reads goes through `StrictRequest.json` (the app factory's request
class) and every pydantic body model through `validate_body` (its type decoder):

- the body must be sent as JSON (`application/json` or `application/*+json`, UTF-8): else 415;
- it must be UTF-8 JSON nested at most `MAX_JSON_DEPTH` deep, with integers of at most
  `MAX_INTEGER_DIGITS` digits: else 400 naming the place (a parser's recursion, a huge number
  or invalid bytes never reach a handler);
- the model validates it in pydantic's strict JSON mode: `false` is no number, `0.5` no date,
  `"3"` no integer: else 422 naming each field.

Validating the body here, rather than in Litestar's signature model, also keeps a body field
that happens to share a dependency's name (`stages`, `barcodes`) from being mistaken for a
failed dependency (Litestar answers those with an unlogged 500).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from litestar import Request
from litestar.plugins.pydantic import PydanticInitPlugin
from litestar.types import Empty
from pydantic import BaseModel, ValidationError

from oms_runtime.problems import Problem

MAX_JSON_DEPTH = 32
"""Deeper than any body of the API (a pipeline with its stages and actions is 6 levels)."""

MAX_INTEGER_DIGITS = 38
"""Larger integers are no quantity, amount or version of this domain (8-byte ints have 19 digits)."""

_JSON_TYPES = ("application/json",)


def _is_json(media_type: str) -> bool:
    return media_type in _JSON_TYPES or (media_type.startswith("application/") and media_type.endswith("+json"))


def field_path(loc: tuple[int | str, ...] | list[int | str]) -> str:
    """`("lines", 0, "sku")` → `lines[0].sku`, the way problems name a field."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


def _bad_body(detail: str, field: str = "body") -> Problem:
    return Problem(400, "Malformed request body", f"{field}: {detail}", errors=[{"field": field, "message": detail}])


def _within_shape(document: Any) -> bool:
    """Depth and number limits, walked without recursion (the depth is what is being checked)."""
    limit = 10**MAX_INTEGER_DIGITS
    stack: list[tuple[Any, int]] = [(document, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth >= MAX_JSON_DEPTH:
                return False
            stack.extend((item, depth + 1) for item in (value.values() if isinstance(value, dict) else value))
        elif type(value) is int and not -limit < value < limit:
            return False
    return True


def _raise_where_out_of_shape(document: Any) -> None:
    """The same walk keeping each value's place, to name it: only once a body is known to be refused."""
    limit = 10**MAX_INTEGER_DIGITS
    stack: list[tuple[Any, int, tuple[int | str, ...]]] = [(document, 0, ())]
    while stack:
        value, depth, loc = stack.pop()
        if isinstance(value, (dict, list)):
            if depth >= MAX_JSON_DEPTH:
                raise _bad_body(f"nested deeper than {MAX_JSON_DEPTH} levels", field_path(loc))
            items = value.items() if isinstance(value, dict) else enumerate(value)
            stack.extend((item, depth + 1, (*loc, key)) for key, item in items)
        elif type(value) is int and not -limit < value < limit:
            raise _bad_body(f"number has more than {MAX_INTEGER_DIGITS} digits", field_path(loc))


def decode_json_body(body: bytes, content_type: tuple[str, dict[str, str]]) -> Any:
    """The body as Python values, or a 415/400 problem saying what is wrong with it."""
    media_type, options = content_type
    if not _is_json(media_type):
        raise Problem(
            415,
            "Unsupported media type",
            f"send the body as application/json, not {media_type or 'without a Content-Type'}",
        )
    charset = options.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise Problem(415, "Unsupported media type", f"JSON bodies are UTF-8, not {charset}")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad_body(f"not valid UTF-8 (byte {exc.start})") from exc
    try:
        document = msgspec.json.decode(body or b"null")
    except RecursionError as exc:
        raise _bad_body(f"nested deeper than {MAX_JSON_DEPTH} levels") from exc
    except msgspec.DecodeError as exc:
        raise _bad_body(f"not valid JSON ({exc})") from exc
    if not _within_shape(document):
        _raise_where_out_of_shape(document)
    return document


class StrictRequest(Request[Any, Any, Any]):
    """A request whose JSON body is decoded by `decode_json_body`: once, with the limits above."""

    async def json(self) -> Any:
        if self._json is Empty:
            if (cached := self._connection_state.json) is not Empty:
                self._json = cached
            else:
                self._json = self._connection_state.json = decode_json_body(await self.body(), self.content_type)
        return self._json


def is_body_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def validate_body(model: type[BaseModel], value: Any) -> BaseModel:
    """Validate decoded JSON in pydantic's strict JSON mode; a 422 problem naming every field at fault."""
    try:
        return model.model_validate_json(msgspec.json.encode(value), strict=True)
    except ValidationError as exc:
        errors = [{"field": field_path(e["loc"]), "message": e["msg"]} for e in exc.errors(include_url=False)]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise Problem(422, "Invalid request", detail, errors=errors) from exc


class StrictPydanticPlugin(PydanticInitPlugin):
    """Litestar's pydantic plugin with `validate_body` as the decoder of every pydantic model."""

    @classmethod
    def decoders(cls, validate_strict: bool = False) -> list[tuple[Callable[[Any], bool], Callable[[Any, Any], Any]]]:
        return [(is_body_model, validate_body)]
