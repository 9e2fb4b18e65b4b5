"""A private copy of `make run`'s stack for benchmarks: the same infra script, the same environment
(deploy/local/stack.env.sh), the same Procfile lines under the same supervisor, with its own ports
and a fresh data directory under .local/bench/. Everything binds 127.0.0.1.

Ports (environment, as for `make run`): OMS_LOCAL_KAFKA_PORT (default 19192),
OMS_LOCAL_KAFKA_CONTROLLER_PORT (19193), OMS_LOCAL_MONGO_PORT (27118), OMS_GATEWAY_PORT (8200) …
OMS_MESSAGING_PORT (8206), OMS_SMTP_PORT (8225).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy.local.supervise import OBSERVABILITY, REPO, SERVICES, Supervisor


def bound_in_time(name: str, max_seconds: float) -> threading.Timer:
    """Stop this process after `max_seconds` whatever happens: a SIGTERM to ourselves, whose handler
    unwinds into the caller's cleanup (the stack it started stops with it)."""

    def terminate(signum: int, _frame: Any) -> None:
        raise SystemExit(f"{name}: stopped by signal {signum}")

    signal.signal(signal.SIGTERM, terminate)
    watchdog = threading.Timer(max_seconds, lambda: os.kill(os.getpid(), signal.SIGTERM))
    watchdog.daemon = True
    watchdog.start()
    return watchdog  # cancel it once the work and its cleanup are done


BENCH_DIR = REPO / ".local" / "bench"
DEFAULT_PORTS = {
    "OMS_LOCAL_KAFKA_PORT": "19192",
    "OMS_LOCAL_KAFKA_CONTROLLER_PORT": "19193",
    "OMS_LOCAL_MONGO_PORT": "27118",
    "OMS_GATEWAY_PORT": "8200",
    "OMS_ORDER_PORT": "8201",
    "OMS_CATALOG_PORT": "8202",
    "OMS_PAYMENT_PORT": "8203",
    "OMS_FULFILMENT_PORT": "8204",
    "OMS_NOTIFICATION_PORT": "8205",
    "OMS_MESSAGING_PORT": "8206",
    "OMS_SMTP_PORT": "8225",
}
# Variables of the caller that would point the stack elsewhere than its own servers.
FOREIGN = ("OMS_KAFKA_BOOTSTRAP", "OMS_MONGO_URL", "OMS_TOPIC_PREFIX", "OMS_MONGO_DB_PREFIX", "OMS_PUBLIC_URL")


def stack_environment(local_dir: Path) -> dict[str, str]:
    """What run.sh exports to the services: stack.env.sh sourced with our ports and directory."""
    base = {k: v for k, v in os.environ.items() if not (k in FOREIGN or (k.endswith("_URL") and k.startswith("OMS_")))}
    base.update({k: os.environ.get(k, v) for k, v in DEFAULT_PORTS.items()})
    base["OMS_LOCAL_DIR"] = str(local_dir)
    base["REPO_ROOT"] = str(REPO)
    base["PATH"] = f"{REPO / '.venv' / 'bin'}:{base.get('PATH', '')}"
    out = subprocess.run(
        ["bash", "-c", "source deploy/local/stack.env.sh && env -0"],
        env=base,
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout
    env = dict(item.split("=", 1) for item in out.decode().split("\0") if "=" in item)
    for url in ("OMS_KAFKA_BOOTSTRAP", "OMS_MONGO_URL", "OMS_PUBLIC_URL"):
        assert "127.0.0.1" in env[url], f"{url}={env[url]}: the bench only talks to 127.0.0.1"
    return env


def bootstrap_shop_args(shop: str, api_key: str, admin: tuple[str, str]) -> list[str]:
    """The gateway's `bootstrap-shop` role for a bench shop (RUB, one admin, one storefront key)."""
    return [
        *("-m", "oms_gateway", "bootstrap-shop", "--slug", shop, "--name", f"{shop} shop", "--currency", "RUB"),
        *("--admin-email", admin[0], "--admin-password", admin[1], "--api-key", api_key),
    ]


@dataclass
class LocalStack:
    name: str = "stack"
    fresh: bool = True
    local_dir: Path = field(init=False)
    env: dict[str, str] = field(init=False)
    supervisor: Supervisor = field(init=False)

    def __post_init__(self) -> None:
        self.local_dir = BENCH_DIR / self.name
        self.env = stack_environment(self.local_dir)
        self.supervisor = Supervisor(
            self.local_dir / "supervisor", self.env, log_dir=self.local_dir / "logs", exclude=OBSERVABILITY
        )

    @property
    def gateway(self) -> str:
        return self.env["OMS_PUBLIC_URL"]

    @property
    def kafka(self) -> str:
        return self.env["OMS_KAFKA_BOOTSTRAP"]

    def infra(self, command: str) -> None:
        subprocess.run(["bash", "deploy/local/infra.sh", command], env=self.env, cwd=REPO, check=True, timeout=180)

    def run(self, *args: str, timeout: float = 120) -> str:
        return subprocess.run(
            [sys.executable, *args], env=self.env, cwd=REPO, check=True, timeout=timeout, capture_output=True, text=True
        ).stdout

    def start(self, *, shop: str, api_key: str, admin: tuple[str, str]) -> float:
        """Start infra and services, create the shop; returns the seconds it took."""
        started = time.monotonic()
        if self.fresh:
            self.infra("reset")  # stop and delete the servers' data
            for sub in ("mail", "logs", "supervisor"):
                shutil.rmtree(self.local_dir / sub, ignore_errors=True)
        self.infra("start")
        maildir = Path(self.env["OMS_MAILDIR"])
        for sub in ("tmp", "new", "cur"):
            (maildir / sub).mkdir(parents=True, exist_ok=True)
        (self.local_dir / "logs").mkdir(parents=True, exist_ok=True)
        self.run("-m", "oms_runtime.topics")
        self.run(*bootstrap_shop_args(shop, api_key, admin))
        self.supervisor.start()
        self.run("-m", "deploy.local.wait_ready", "--timeout", "180", timeout=200)
        return time.monotonic() - started

    def stop(self) -> None:
        try:
            self.supervisor.shutdown()
        finally:
            self.infra("stop")

    def pids(self) -> dict[str, int]:
        """Every process of the stack: the services, the SMTP sink, supervisord, Kafka and MongoDB."""
        pids = {name: int(p["pid"]) for name, p in self.supervisor.info().items() if p["pid"]}
        if self.supervisor.process is not None:
            pids["supervisord"] = self.supervisor.process.pid
        for server in ("kafka", "mongo"):
            pidfile = self.local_dir / "run" / f"{server}.pid"
            if pidfile.exists():
                pids[server] = int(pidfile.read_text().strip())
        return pids

    def metrics_urls(self) -> dict[str, str]:
        """Each service's Prometheus endpoint (on its own HTTP port)."""
        ports = {name: self.env.get(f"OMS_{name.upper()}_PORT") for name in SERVICES}
        return {name: f"http://127.0.0.1:{port}/metrics" for name, port in ports.items() if port}

    def python_services(self) -> dict[str, int]:
        """The Python processes worth a profile: the services and the SMTP sink (aiosmtpd, the `mail` line)."""
        pids = self.pids()
        return {name: pids[name] for name in (*SERVICES, "mail") if name in pids}
