"""`python -m oms_catalog [serve|migrate]`."""

from __future__ import annotations

from oms_runtime.cli import run_cli

from oms_catalog.adapters.outbound.mongo import INDEXES
from oms_catalog.bootstrap import create_app
from oms_catalog.settings import CatalogSettings


def main() -> None:
    run_cli(
        settings_factory=CatalogSettings,
        app_factory=create_app,  # type: ignore[arg-type]
        indexes=INDEXES,
    )


if __name__ == "__main__":
    main()
