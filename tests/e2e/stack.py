"""The whole OMS as `make run` starts it: every line of deploy/local/Procfile as a real process,
under supervisord as `make run` runs them (deploy/local/supervise.py).

Only the ports, the topic namespace and the database names differ, so a test run never touches
`make run`'s data; Kafka and MongoDB are the test session's real servers.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from deploy.local import supervise

SERVICES = supervise.SERVICES
REPO = supervise.REPO


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    """The Procfile's processes under a supervisord of the stack's own, which restarts one that dies."""

    env: dict[str, str]
    log_dir: Path
    supervisor: supervise.Supervisor | None = field(default=None)

    @property
    def gateway(self) -> str:
        return self.env["OMS_PUBLIC_URL"]

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.env[f'OMS_{service.upper()}_PORT']}"

    def start(self) -> None:
        # Tests run their own SMTP server and read what it received: no `mail` process.
        self.supervisor = supervise.Supervisor(
            self.log_dir / "supervisor", self.env, log_dir=self.log_dir, exclude=("mail", *supervise.OBSERVABILITY)
        )
        self.supervisor.start()

    def stop(self) -> None:
        if self.supervisor is not None:
            self.supervisor.shutdown()

    def kill(self, name: str, sig: int = signal.SIGKILL) -> int:
        """Crash one process (the supervisor restarts it); returns the pid that was killed."""
        assert self.supervisor is not None
        return self.supervisor.kill(name, sig)

    def pid(self, name: str) -> int:
        assert self.supervisor is not None
        return self.supervisor.pid(name)

    def wait_ready(self, timeout: float = 90, names: tuple[str, ...] = SERVICES) -> None:
        deadline = time.monotonic() + timeout
        pending = set(names)
        with httpx.Client(timeout=2) as client:
            while pending:
                states = self.supervisor.info() if self.supervisor is not None else {}
                for name in list(pending):
                    if states.get(name, {}).get("statename") == "FATAL":  # crashed on every restart
                        raise RuntimeError(f"{name} keeps exiting:\n{self.log_tail(name)}")
                    try:
                        if client.get(f"{self.url(name)}/health/ready").status_code == 200:
                            pending.discard(name)
                    except httpx.HTTPError:
                        pass
                if pending and time.monotonic() > deadline:
                    tails = "\n".join(f"--- {n}\n{self.log_tail(n)}" for n in pending)
                    raise RuntimeError(f"not ready within {timeout}s: {sorted(pending)}\n{tails}")
                time.sleep(0.2)

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.log_dir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def run_cli(self, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *args],
            env={**self.env, **(extra_env or {})},
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )


def stack_env(
    *, kafka_bootstrap: str, mongo_url: str, topic_prefix: str, run_id: str, smtp_port: int
) -> dict[str, str]:
    ports = {s: free_port() for s in SERVICES}
    gateway = f"http://127.0.0.1:{ports['gateway']}"
    env = {
        **os.environ,
        "PATH": f"{REPO / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
        "OMS_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "OMS_MONGO_URL": mongo_url,
        "OMS_TOPIC_PREFIX": topic_prefix,
        "OMS_MONGO_DB_PREFIX": f"e2e_{run_id}",
        "OMS_SMTP_HOST": "127.0.0.1",
        "OMS_SMTP_PORT": str(smtp_port),
        "OMS_PUBLIC_URL": gateway,
        "OMS_SANDBOX_WEBHOOK_URL": f"{gateway}/webhooks/payments/sandbox",
        "OMS_PUBLIC_CHECKOUT_BASE_URL": gateway,
        "OMS_RELAY_POLL_SECONDS": "0.2",
        # Fulfilment: the shared secret of the test carrier's signed tracking webhook.
        "OMS_CARRIER_WEBHOOK_SECRETS": '{"e2e-carrier": "e2e-carrier-secret"}',
        "OMS_LOG_JSON": "true",
        # Notification: the Alertmanager receiver's shared secret (the e2e posts as Alertmanager).
        "OMS_ALERTMANAGER_TOKEN": "e2e-alertmanager-token",
        # Webhooks: the tests' receivers listen on loopback; retries a second apart, not five.
        "OMS_WEBHOOK_ALLOW_PRIVATE_URLS": "true",
        "OMS_WEBHOOK_RETRY_BASE_SECONDS": "0.5",
        "OMS_WEBHOOK_POLL_SECONDS": "0.2",
        # Gateway: every test signs in from 127.0.0.1, dozens of times a minute: a suite, not an attack
        # (the login limit itself is tested in the gateway's own tests).
        "OMS_LOGIN_RATE_PER_MINUTE": "600",
        "OMS_LOGIN_BURST": "100",
        # Groupbuy: its loops (closing dates, payment deadlines, payment reminders) every 2 s, not 60.
        "OMS_DEADLINE_SCAN_SECONDS": "2",
    }
    for service, port in ports.items():
        env[f"OMS_{service.upper()}_PORT"] = str(port)
        env[f"OMS_{service.upper()}_URL"] = f"http://127.0.0.1:{port}"
    env["OMS_GATEWAY_METRICS_PORT"] = str(free_port())
    return env
