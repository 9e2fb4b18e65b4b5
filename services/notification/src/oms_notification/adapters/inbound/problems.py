"""The one map from the application's exceptions to the problem+json answers (handed to the app factory)."""

from __future__ import annotations

from oms_runtime.problems import ProblemSpec

from oms_notification.adapters.inbound.alertmanager_http import ReceiverOff, ReceiverTokenMissing
from oms_notification.application.inbox import InboxItemNotFound
from oms_notification.domain.sms import InvalidSmsSettings

PROBLEMS: dict[type[Exception], ProblemSpec] = {
    InboxItemNotFound: ProblemSpec(404, "Not Found", field="item_id"),
    InvalidSmsSettings: ProblemSpec(422, "Invalid SMS settings"),
    ReceiverOff: ProblemSpec(503, "Service Unavailable"),
    ReceiverTokenMissing: ProblemSpec(401, "Unauthorized", headers={"WWW-Authenticate": "Bearer"}),
}
