from __future__ import annotations

from oms_runtime.cli import run_cli

from oms_order.bootstrap import INDEXES, MIGRATIONS, create_app
from oms_order.settings import OrderSettings


def main() -> None:
    run_cli(settings_factory=OrderSettings, app_factory=create_app, indexes=INDEXES, migrations=MIGRATIONS)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
