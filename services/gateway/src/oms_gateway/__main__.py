"""Roles of the gateway process: `serve` (default), `migrate`, and `bootstrap-shop`.

    python -m oms_gateway bootstrap-shop --slug demo --name "Demo shop" --currency RUB \
        --admin-email admin@demo.shop --admin-password secret123 \
        [--staff warehouse:wh@demo.shop:password ...] [--api-key demo.storefront-secret]

bootstrap-shop writes the documents with their events in the outbox; the relay of a serving
gateway (same database) publishes ShopCreated / StaffMemberAdded within its poll interval.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from oms_runtime.cli import run_cli
from oms_runtime.mongo import ensure_indexes
from oms_runtime.runtime import ServiceRuntime

from oms_gateway.adapters.outbound.mongo import INDEXES
from oms_gateway.application.accounts import AlreadyExists
from oms_gateway.application.bootstrap_shop import ShopSpec, StaffSpec, bootstrap_shop
from oms_gateway.bootstrap import build_accounts, create_app
from oms_gateway.domain.accounts import LOCALES, InvalidAccount
from oms_gateway.settings import GatewaySettings

BOOTSTRAP = "bootstrap-shop"


def _bootstrap_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"python -m oms_gateway {BOOTSTRAP}", description="Create a shop (idempotent)")
    p.add_argument("--slug", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--currency", required=True)
    p.add_argument("--locale", default="en", choices=LOCALES)
    p.add_argument("--admin-email", required=True)
    p.add_argument("--admin-password", required=True)
    p.add_argument("--staff", action="append", default=[], metavar="ROLE:EMAIL:PASSWORD")
    p.add_argument("--api-key", default=None, metavar="PREFIX.SECRET")
    p.add_argument("--api-key-name", default="storefront", help="channel name of the storefront key")
    return p


async def _bootstrap(settings: GatewaySettings, spec: ShopSpec) -> list[str]:
    # No broker connection here: the serving gateway's relay publishes what we leave in the outbox,
    # nudged to look for it (`hand_over`) rather than at its next backstop scan.
    runtime = ServiceRuntime(settings, run_relay=False, run_consumers=False, run_loops=False)
    try:
        await ensure_indexes(runtime.db, INDEXES)
        report = await bootstrap_shop(build_accounts(runtime, settings, runtime.clock), spec)
        await runtime.relay.hand_over()
        return report.lines()
    finally:
        await runtime.mongo.close()


def bootstrap_main(argv: Sequence[str]) -> int:
    args = _bootstrap_parser().parse_args(argv)
    try:
        spec = ShopSpec(
            slug=args.slug,
            name=args.name,
            currency=args.currency.upper(),
            locale=args.locale,
            admin_email=args.admin_email,
            admin_password=args.admin_password,
            staff=[StaffSpec.parse(s) for s in args.staff],
            api_key=args.api_key,
            api_key_name=args.api_key_name,
        )
        lines = asyncio.run(_bootstrap(GatewaySettings(), spec))
    except (InvalidAccount, AlreadyExists) as exc:
        print(f"{BOOTSTRAP}: {exc}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == BOOTSTRAP:
        raise SystemExit(bootstrap_main(args[1:]))
    run_cli(settings_factory=GatewaySettings, app_factory=create_app, indexes=INDEXES, argv=args)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
