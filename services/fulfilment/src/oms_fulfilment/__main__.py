"""`python -m oms_fulfilment [serve|migrate] [--port N]`."""

from __future__ import annotations

from oms_runtime.cli import run_cli

from oms_fulfilment.bootstrap import INDEXES, create_app
from oms_fulfilment.settings import FulfilmentSettings


def main() -> None:
    run_cli(settings_factory=FulfilmentSettings, app_factory=create_app, indexes=INDEXES)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
