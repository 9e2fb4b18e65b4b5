"""Every service's HTTP handlers are declared the way Litestar 3.0 requires.

Litestar 2.x still infers dependencies, path and query parameters and request bodies, and warns
(LitestarDeprecationWarning) when it does; 3.0 refuses them. Building each app turns those warnings
into failures here, so a handler written the old way is caught before the upgrade.
"""

from __future__ import annotations

import warnings

import pytest
from litestar.exceptions import LitestarDeprecationWarning

from tests.framework.apps import SERVICES, build_app


@pytest.mark.parametrize("service", SERVICES)
def test_building_the_app_raises_no_litestar_deprecation(service: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LitestarDeprecationWarning)
        build_app(service)
    messages = sorted({str(w.message) for w in caught if issubclass(w.category, LitestarDeprecationWarning)})
    assert messages == [], "\n".join(messages)
