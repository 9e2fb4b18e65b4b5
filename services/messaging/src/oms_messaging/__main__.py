from __future__ import annotations

from oms_runtime.cli import run_cli

from oms_messaging.bootstrap import INDEXES, create_app
from oms_messaging.settings import MessagingSettings


def main() -> None:
    run_cli(settings_factory=MessagingSettings, app_factory=create_app, indexes=INDEXES)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
