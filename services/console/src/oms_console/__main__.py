"""`python -m oms_console [serve] [--port N]`: the console has no database, so no `migrate` role."""

from __future__ import annotations

import argparse

from oms_runtime.server import serve

from oms_console.bootstrap import create_app
from oms_console.settings import ConsoleSettings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", nargs="?", default="serve", choices=["serve", "migrate"])
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args()
    settings = ConsoleSettings()
    if args.port:
        settings.http_port = args.port
    if args.role == "migrate":
        print("console: no database, nothing to migrate")
        return
    serve(create_app(settings), host=settings.http_host, port=settings.http_port)


if __name__ == "__main__":
    main()
