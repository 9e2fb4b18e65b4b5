"""Write or check the gateway's public OpenAPI document (services/gateway/.../public_openapi.json).

    python -m tests.contract.public_openapi write   # regenerate (make schemas)
    python -m tests.contract.public_openapi check   # exit 1 when the committed file has drifted

Built in-process from the gateway's and every service's `create_app` (no infrastructure needed).
"""

from __future__ import annotations

import sys
from typing import Any

from oms_gateway import openapi
from oms_gateway.adapters.inbound.http import PROXY_HANDLERS
from oms_gateway.bootstrap import create_app
from oms_gateway.domain.routing import Service
from oms_gateway.settings import GatewaySettings

from tests.contract.service_apis import service_document

GENERATION_ONLY_SECRET = "public-openapi-generation-only-0123456789"


def proxied_paths() -> frozenset[str]:
    """The proxy handlers' own paths as Litestar documents them (`{rest:path}` → `{rest}`)."""
    return frozenset(p.replace(":path", "").replace(":str", "") for h in PROXY_HANDLERS for p in h.paths)


def generate() -> dict[str, Any]:
    own = create_app(GatewaySettings(jwt_secret=GENERATION_ONLY_SECRET)).openapi_schema.to_schema()
    return openapi.build(own, {s: service_document(s) for s in Service}, proxied_paths())


def main(argv: list[str]) -> int:
    rendered = openapi.render(generate())
    if argv == ["write"]:
        openapi.DOCUMENT.write_text(rendered, encoding="utf-8")
        print(f"wrote {openapi.DOCUMENT}")
        return 0
    if argv == ["check"]:
        current = openapi.DOCUMENT.read_text(encoding="utf-8") if openapi.DOCUMENT.exists() else ""
        if current != rendered:
            print(f"{openapi.DOCUMENT} is out of date: make schemas", file=sys.stderr)
            return 1
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
