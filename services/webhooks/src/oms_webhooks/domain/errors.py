"""The domain's refusals (each names the field at fault, answered 422/404/409 by the HTTP edge)."""

from __future__ import annotations

from oms_runtime.errors import FieldError


class InvalidEndpoint(FieldError):
    """A URL, event type or description the endpoint cannot have."""


class EndpointNotFound(FieldError):
    def __init__(self, endpoint_id: str) -> None:
        super().__init__("endpoint_id", f"no webhook endpoint {endpoint_id}")
        self.endpoint_id = endpoint_id


class TooManyEndpoints(FieldError):
    def __init__(self, limit: int) -> None:
        super().__init__("url", f"a shop has at most {limit} webhook endpoints")
