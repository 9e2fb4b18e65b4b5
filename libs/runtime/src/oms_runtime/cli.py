"""The roles of a service image: `serve` (default: HTTP + consumers + relay + loops), `migrate`, `relay`."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Sequence

from litestar import Litestar

from oms_runtime.mongo import DataMigration, IndexSpec, create_mongo_client, ensure_indexes, run_migrations
from oms_runtime.server import serve
from oms_runtime.settings import ServiceSettings


async def migrate(
    settings: ServiceSettings, indexes: Sequence[IndexSpec], migrations: Sequence[DataMigration] = ()
) -> list[str]:
    """The indexes, then the data migrations (each idempotent). Answers what was ensured and done."""
    client = create_mongo_client(settings)
    try:
        db = client[settings.database_name]
        done = await ensure_indexes(db, indexes)
        moved = await run_migrations(db, migrations)
        return done + [f"{name}: {count} documents" for name, count in moved.items()]
    finally:
        await client.close()


def run_cli(
    *,
    settings_factory: Callable[[], ServiceSettings],
    app_factory: Callable[[ServiceSettings], Litestar],
    indexes: Sequence[IndexSpec],
    migrations: Sequence[DataMigration] = (),
    argv: Sequence[str] | None = None,
) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", nargs="?", default="serve", choices=["serve", "migrate"])
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    settings = settings_factory()
    if args.port:
        settings.http_port = args.port
    if args.role == "migrate":
        created = asyncio.run(migrate(settings, indexes, migrations))
        print(f"{settings.service_name}: {len(created)} indexes and migrations ensured")
        return
    # The app ensures the same indexes and runs the same migrations as it starts (create_service_app),
    # so serving does not do them twice.
    serve(app_factory(settings), host=settings.http_host, port=settings.http_port)
