"""Alertmanager's webhook receiver (its JSON format version 4), authenticated by a shared bearer token.

Alertmanager reaches the service inside the cluster (as Prometheus scrapes it); the route is not in
the gateway's table, so nobody outside can call it."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Controller, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from litestar.params import JSONBody
from oms_contracts import new_id
from pydantic import BaseModel, ConfigDict, Field

from oms_notification.application.notifier import Notifier
from oms_notification.domain.alerts import FiringAlert

Label = Annotated[str, Field(max_length=1024)]


class AlertmanagerAlert(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    status: Literal["firing", "resolved"]
    labels: dict[str, Label] = Field(default_factory=dict, max_length=100)
    annotations: dict[str, Label] = Field(default_factory=dict, max_length=100)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime | None = Field(default=None, alias="endsAt")
    generator_url: str | None = Field(default=None, alias="generatorURL", max_length=2048)
    fingerprint: str = Field(min_length=1, max_length=64)

    def firing(self) -> FiringAlert:
        a = self.annotations
        return FiringAlert(
            fingerprint=self.fingerprint,
            starts_at=self.starts_at,
            name=self.labels.get("alertname", "alert"),
            severity=self.labels.get("severity", "none"),
            summary=a.get("summary") or a.get("description") or a.get("message") or "",
            shop_id=self.labels.get("shop_id") or None,
            generator_url=self.generator_url or None,
        )


class AlertmanagerWebhook(BaseModel):
    """Alertmanager's webhook body (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config)."""

    model_config = ConfigDict(populate_by_name=True)

    version: Literal["4"]
    status: Literal["firing", "resolved"]
    receiver: str = Field(default="", max_length=256)
    group_key: str = Field(default="", alias="groupKey", max_length=4096)
    alerts: list[AlertmanagerAlert] = Field(max_length=1000)


class AlertsReceived(BaseModel):
    firing: int
    inbox_items: int


class ReceiverOff(Exception):
    """No shared secret is configured: the receiver refuses everyone (503)."""


class ReceiverTokenMissing(Exception):
    """The caller did not present the receiver's shared secret (401)."""


def alertmanager_token(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """A guard (before the body is read): the caller presents the receiver's shared secret."""
    token = connection.app.state.settings.alertmanager_token
    if not token:
        raise ReceiverOff("the receiver is off: OMS_ALERTMANAGER_TOKEN is not set")
    scheme, _, presented = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), token.encode()):
        raise ReceiverTokenMissing("a Bearer token (the receiver's shared secret) is required")


class AlertmanagerController(Controller):
    path = "/alertmanager"
    tags = ["alertmanager"]
    guards = [alertmanager_token]

    @post(
        "/webhook",
        summary="Alertmanager's webhook (version 4): firing alerts to the admins' inbox and mail",
        status_code=200,
    )
    async def receive(self, data: JSONBody[AlertmanagerWebhook], notifier: NamedDependency[Notifier]) -> AlertsReceived:
        firing = [a.firing() for a in data.alerts if a.status == "firing"]
        made = await notifier.on_alerts(firing, correlation_id=new_id())
        return AlertsReceived(firing=len(firing), inbox_items=made)
