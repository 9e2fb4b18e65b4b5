"""Every 500 is logged with its traceback and answered as a generic problem, Litestar's own included."""

from __future__ import annotations

from typing import Any

import pytest
import structlog
from litestar import Litestar, get
from litestar.exceptions import InternalServerException
from litestar.testing import TestClient
from oms_runtime import problems
from oms_runtime.problems import EXCEPTION_HANDLERS
from structlog.testing import capture_logs


@get("/litestar-500", sync_to_thread=False)
def litestar_500() -> None:
    raise InternalServerException()


@get("/bug", sync_to_thread=False)
def bug() -> None:
    raise KeyError("oops")


@pytest.mark.parametrize("path", ["/litestar-500", "/bug"])
def test_a_500_is_logged_with_its_traceback_and_answered_as_a_problem(
    path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = Litestar([litestar_500, bug], exception_handlers=EXCEPTION_HANDLERS)
    # Once a service app of the same session configured logging (cache_logger_on_first_use), a
    # logger used before is bound for good, past capture_logs: this test's is a fresh one.
    monkeypatch.setattr(problems, "log", structlog.get_logger(problems.__name__))
    with capture_logs() as logs, TestClient(app) as client:
        response = client.get(path)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert (body["title"], body["detail"]) == ("Internal error", "See the service log")
    [entry] = [e for e in logs if e["event"] == "unhandled error"]
    assert entry["path"] == path and isinstance(entry["exc_info"], Exception)
