"""Standard Webhooks signing (standardwebhooks.com): headers `webhook-id`, `webhook-timestamp`
(unix seconds) and `webhook-signature` = space-separated `v1,<base64 HMAC-SHA256>` of
"<id>.<timestamp>.<body>", keyed by the base64 part of the `whsec_…` secret. One signature per
secret in use (the current one, and the previous one while a rotation's grace period lasts)."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def headers(webhook_id: str, at: datetime, body: str, signing_secrets: tuple[str, ...]) -> dict[str, str]:
    signatures = " ".join(Webhook(s).sign(webhook_id, at, body) for s in signing_secrets)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
    }
