"""Wait until every service of the local stack answers /health/ready, or fail with which did not."""

from __future__ import annotations

import argparse
import os
import sys
import time

import httpx

from deploy.local.supervise import SERVICES  # the one list of the stack's services


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout
    pending = {s: f"http://127.0.0.1:{os.environ[f'OMS_{s.upper()}_PORT']}/health/ready" for s in SERVICES}
    last: dict[str, str] = {}
    with httpx.Client(timeout=3) as client:
        while pending and time.monotonic() < deadline:
            for name, url in list(pending.items()):
                try:
                    response = client.get(url)
                    if response.status_code == 200:
                        del pending[name]
                    else:
                        last[name] = f"{response.status_code} {response.text[:200]}"
                except httpx.HTTPError as exc:
                    last[name] = type(exc).__name__
            time.sleep(0.3)
    if pending:
        for name in pending:
            print(f"not ready: {name} ({last.get(name, 'no answer')})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
