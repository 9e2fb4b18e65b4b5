"""`python -m oms_payment [serve|migrate] [--port N]`"""

from __future__ import annotations

from oms_runtime.cli import run_cli

from oms_payment.adapters.outbound.indexes import INDEXES
from oms_payment.bootstrap import create_app
from oms_payment.settings import PaymentSettings


def main() -> None:
    run_cli(settings_factory=PaymentSettings, app_factory=create_app, indexes=INDEXES)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
