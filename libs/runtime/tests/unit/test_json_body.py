"""The shared JSON body decoding: media type, UTF-8, depth and number limits, strict validation."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from oms_runtime.json_body import MAX_JSON_DEPTH, decode_json_body, field_path, validate_body
from oms_runtime.problems import Problem
from pydantic import BaseModel

JSON = ("application/json", {})


def _problem(call: Any, *args: Any) -> Problem:
    with pytest.raises(Problem) as raised:
        call(*args)
    return raised.value


def test_json_nested_a_thousand_deep_is_a_400_not_a_recursion_error():
    problem = _problem(decode_json_body, b"[" * 1000 + b"]" * 1000, JSON)
    assert problem.status == 400 and "nested deeper" in (problem.detail or "")


def test_json_one_level_too_deep_is_refused_naming_where():
    depth_ok = b'{"a":' * (MAX_JSON_DEPTH - 1) + b"{}" + b"}" * (MAX_JSON_DEPTH - 1)
    assert decode_json_body(depth_ok, JSON) is not None
    too_deep = b'{"a":' * MAX_JSON_DEPTH + b"{}" + b"}" * MAX_JSON_DEPTH
    problem = _problem(decode_json_body, too_deep, JSON)
    assert problem.errors == [{"field": ".".join(["a"] * MAX_JSON_DEPTH), "message": problem.errors[0]["message"]}]


def test_invalid_utf8_is_a_400():
    problem = _problem(decode_json_body, b'{"name": "\xff"}', JSON)
    assert problem.status == 400 and "UTF-8" in (problem.detail or "")


@pytest.mark.parametrize("body", [b'{"a": 1', b"NaN", b'{"a": 1e999}'])
def test_malformed_json_is_a_400(body):
    assert _problem(decode_json_body, body, JSON).status == 400


def test_an_integer_of_more_than_38_digits_is_a_400_naming_it():
    problem = _problem(decode_json_body, b'{"lines": [{"quantity": 1' + b"0" * 38 + b"}]}", JSON)
    assert problem.status == 400
    assert problem.errors is not None and problem.errors[0]["field"] == "lines[0].quantity"


def test_an_integer_beyond_8_bytes_still_reaches_the_model_for_its_422():
    assert decode_json_body(b'{"quantity": 100000000000000000000}', JSON) == {"quantity": 10**20}


@pytest.mark.parametrize(
    "content_type",
    [
        ("text/plain", {}),
        ("", {}),
        ("application/x-www-form-urlencoded", {}),
        ("application/json", {"charset": "latin-1"}),
    ],
)
def test_a_body_not_sent_as_utf8_json_is_a_415(content_type):
    assert _problem(decode_json_body, b"{}", content_type).status == 415


@pytest.mark.parametrize(
    "content_type", [("application/json", {"charset": "UTF-8"}), ("application/merge-patch+json", {})]
)
def test_json_media_types_are_accepted(content_type):
    assert decode_json_body(b'{"a": 1}', content_type) == {"a": 1}


class Body(BaseModel):
    quantity: int
    lon: float = 0
    placed_to: date | None = None


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"quantity": "3"}, "quantity"),
        ({"quantity": 1, "lon": False}, "lon"),
        ({"quantity": 1, "placed_to": 0.5}, "placed_to"),
    ],
)
def test_bodies_are_validated_strictly_naming_the_field(value, field):
    problem = _problem(validate_body, Body, value)
    assert problem.status == 422
    assert [e["field"] for e in problem.errors or []] == [field]


def test_strict_json_still_reads_dates_from_strings_and_floats_from_integers():
    assert validate_body(Body, {"quantity": 1, "lon": 30, "placed_to": "2026-01-31"}) == Body(
        quantity=1, lon=30.0, placed_to=date(2026, 1, 31)
    )


def test_field_paths_read_like_the_body():
    assert field_path(("lines", 0, "sku")) == "lines[0].sku"
    assert field_path(()) == "body"
