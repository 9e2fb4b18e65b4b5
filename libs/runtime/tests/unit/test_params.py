"""The shared request parameters: one declaration of the Idempotency-Key header."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import pytest
from litestar import post
from litestar.testing import create_test_client
from oms_runtime.errors import FieldError
from oms_runtime.params import StorableTime, aware_time, idempotency_key_header
from pydantic import BaseModel, ValidationError

Key = Annotated[str | None, idempotency_key_header("Same key: the same answer", max_length=8)]


@post("/things", sync_to_thread=False)
def create(idempotency_key: Key = None) -> dict[str, str | None]:
    return {"key": idempotency_key}


def test_the_header_is_optional_and_reaches_the_handler():
    with create_test_client([create]) as client:
        assert client.post("/things").json() == {"key": None}
        assert client.post("/things", headers={"Idempotency-Key": "k-1"}).json() == {"key": "k-1"}


def test_an_empty_or_too_long_key_is_refused():
    with create_test_client([create]) as client:
        for key in ("", "123456789"):
            answer = client.post("/things", headers={"Idempotency-Key": key})
            assert answer.status_code == 400 and answer.json()["extra"][0]["source"] == "header"


def test_the_openapi_documents_the_header_with_its_bounds_and_description():
    with create_test_client([create]) as client:
        (param,) = client.app.openapi_schema.paths["/things"].post.parameters
        assert (param.name, param.param_in, param.required) == ("Idempotency-Key", "header", False)
        assert (param.schema.min_length, param.schema.max_length) == (1, 8) or param.schema.one_of
        assert param.description == "Same key: the same answer"


@pytest.mark.parametrize("text", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"])
def test_a_time_that_leaves_the_calendar_in_utc_is_a_field_error(text: str) -> None:
    """MongoDB stores UTC: 9999-12-31T23:59-12:00 is in year 10000 there, and the driver's OverflowError
    answered 500 on the query that held it."""
    with pytest.raises(FieldError) as refused:
        aware_time("to", text)
    assert refused.value.field == "to"


def test_an_aware_time_in_range_is_kept() -> None:
    assert aware_time("from", "2026-01-31T03:00:00+03:00") == datetime(2026, 1, 31, tzinfo=UTC)


def test_a_storable_time_in_a_body_refuses_one_past_year_9999_in_utc() -> None:
    class Body(BaseModel):
        at: StorableTime

    assert Body(at="2026-01-31T03:00:00+03:00").at == datetime(2026, 1, 31, tzinfo=UTC)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Body(at="9999-12-31T23:59:59-12:00")  # type: ignore[arg-type]
