"""Where the tools installed by deploy/local/tools.sh are (stripe-mock, chromium, promtool)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

STRIPE_MOCK_VERSION = "v0.203.0"  # keep in step with deploy/local/tools.sh


def _cache_dir() -> Path:
    return Path(os.environ.get("OMS_CACHE_DIR", Path.home() / ".cache" / "oms"))


def _required(path: str | None, what: str) -> str:
    if not path or not Path(path).exists():
        raise RuntimeError(f"{what} not found: run `make install` (deploy/local/tools.sh install)")
    return path


def stripe_mock_bin() -> str:
    default = _cache_dir() / "tools" / f"stripe-mock-{STRIPE_MOCK_VERSION}" / "bin" / "stripe-mock"
    return _required(os.environ.get("OMS_STRIPE_MOCK_BIN", str(default)), "stripe-mock")


def chromium_bin() -> str:
    return _required(os.environ.get("OMS_CHROMIUM_BIN") or shutil.which("chromium"), "chromium")


def promtool_bin() -> str:
    return _required(os.environ.get("OMS_PROMTOOL_BIN") or shutil.which("promtool"), "promtool")


CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""Flags for Debian's chromium on a closed network (see ../shared/INFRA-NOTES.md)."""
