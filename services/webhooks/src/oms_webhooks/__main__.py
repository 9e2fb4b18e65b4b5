"""The webhooks service."""

from __future__ import annotations

from oms_runtime.cli import run_cli

from oms_webhooks.bootstrap import INDEXES, create_app
from oms_webhooks.settings import WebhooksSettings


def main() -> None:
    run_cli(settings_factory=WebhooksSettings, app_factory=create_app, indexes=INDEXES)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
