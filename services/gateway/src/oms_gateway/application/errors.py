"""What the gateway refuses, answered by its one problem map (`adapters/inbound/problems.py`)."""

from __future__ import annotations

from oms_gateway.domain.access import RouteGroup, who_may
from oms_gateway.domain.request_hygiene import Fault


class NotFound(LookupError):
    """No route for the path, no API key of that id in the shop, a shop that no longer exists."""


class Forbidden(Exception):
    """The credential is good, but its role may not call this route group."""

    def __init__(self, group: RouteGroup) -> None:
        super().__init__(f"{group.value} needs one of: {who_may(group)}")
        self.group = group


class RateLimited(Exception):
    """Too many requests from one client (logins) or one caller (order placement)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"retry in {retry_after:.1f}s")
        self.retry_after = round(retry_after, 1)


class CrossSiteForm(Exception):
    """A state-changing request with the pages' session cookie that does not come from the pages."""

    def __init__(self) -> None:
        super().__init__("a form of the warehouse pages must be posted from the pages themselves")


class MalformedRequest(Exception):
    """A path segment or header no route may see (ADR 0013): refused before routing, 400."""

    def __init__(self, fault: Fault) -> None:
        super().__init__(f"{fault.field}: {fault.message}")
        self.errors = [{"field": fault.field, "message": fault.message}]
