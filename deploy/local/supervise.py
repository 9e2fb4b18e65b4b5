"""The local process supervisor: supervisord runs every line of deploy/local/Procfile and restarts a
process that dies, as Kubernetes restarts a crashed container (honcho stopped the whole stack instead).

One list of processes: the supervisord configuration is generated from the Procfile on every start.
`make run` (run.sh), the end-to-end tests (tests/e2e/stack.py) and the load generator
(tests/bench/load.py) all start the stack through this module.

    python -m deploy.local.supervise config --dir DIR [--console] [--exclude mail]   # prints the config path
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shlex
import signal
import subprocess
import time
import xmlrpc.client
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from supervisor.xmlrpc import SupervisorTransport

REPO = Path(__file__).resolve().parents[2]
PROCFILE = REPO / "deploy" / "local" / "Procfile"
SERVICES = (
    "gateway",
    "order",
    "catalog",
    "payment",
    "fulfilment",
    "notification",
    "messaging",
    "groupbuy",
    "console",
    "webhooks",
)
# Prometheus and Alertmanager (deploy/local/observability.py): `make run` starts them; the e2e stack and
# the load generator leave them out (tests/e2e/test_alerting.py starts its own pair on free ports).
OBSERVABILITY = ("prometheus", "alertmanager")

# A crash is restarted at once; a process that dies within START_SECONDS of starting is retried with
# a growing back-off (1 s, 2 s, …, as a CrashLoopBackOff) up to START_RETRIES times before supervisord
# gives up on it (state FATAL). The retries cover a dependency that is down for a few minutes.
START_SECONDS = 3
START_RETRIES = 30
# Each program's Kafka groups join as static members named after it (OMS_CONSUMER_INSTANCE_ID): one process
# per program, stable across the restarts above (ADR 0039, fourth amendment).
# SIGTERM, then SIGKILL after this long: a service's own shutdown has deadlines well inside it.
STOP_WAIT_SECONDS = 15


def procfile_lines(path: Path = PROCFILE) -> dict[str, str]:
    lines: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        match = re.match(r"^([a-z][a-z0-9_-]*):\s*(.+)$", raw)
        if match:
            lines[match.group(1)] = match.group(2)
    return lines


def render_config(
    state_dir: Path,
    *,
    log_dir: Path | None = None,
    exclude: Iterable[str] = (),
    procfile: Path = PROCFILE,
) -> str:
    """supervisord's configuration for the Procfile's processes.

    `log_dir` None sends every process's output to supervisord's own stdout (the terminal of `make
    run`; each log line names its service); otherwise each process writes `<log_dir>/<name>.log`.
    """
    sock = state_dir / "supervisor.sock"
    sections = [
        f"""[supervisord]
nodaemon=true
logfile={state_dir / "supervisord.log"}
logfile_maxbytes=10MB
pidfile={state_dir / "supervisord.pid"}
childlogdir={state_dir}

[unix_http_server]
file={sock}
chmod=0600

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{sock}
"""
    ]
    skipped = set(exclude)
    for name, command in procfile_lines(procfile).items():
        if name in skipped:
            continue
        if log_dir is None:
            output = "stdout_logfile=/dev/stdout\nstdout_logfile_maxbytes=0"
        else:
            output = f"stdout_logfile={log_dir / f'{name}.log'}\nstdout_logfile_maxbytes=50MB\nstdout_logfile_backups=1"
        # The Procfile line runs in bash (it expands $OMS_… and ends in `exec`, so the pid is the service's).
        # `%` is escaped for supervisord's own %(ENV_…)s expansion.
        line = shlex.join(["bash", "-c", command]).replace("%", "%%")
        sections.append(
            f"""[program:{name}]
command={line}
directory={REPO}
autostart=true
autorestart=true
startsecs={START_SECONDS}
startretries={START_RETRIES}
stopsignal=TERM
stopwaitsecs={STOP_WAIT_SECONDS}
stopasgroup=true
killasgroup=true
redirect_stderr=true
environment=OMS_CONSUMER_INSTANCE_ID="{name}"
{output}
"""
        )
    return "\n".join(sections)


def write_config(state_dir: Path, **kwargs: Any) -> Path:
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "supervisord.conf"
    path.write_text(render_config(state_dir, **kwargs))
    return path


class Supervisor:
    """A supervisord of our own, started in its own session, controlled over its unix socket."""

    def __init__(self, state_dir: Path, env: Mapping[str, str], **config: Any) -> None:
        self.state_dir = state_dir
        self.env = dict(env)
        self.config = config
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def rpc(self) -> Any:
        transport = SupervisorTransport(serverurl=f"unix://{self.state_dir / 'supervisor.sock'}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport).supervisor

    def start(self, timeout: float = 30) -> None:
        self.kill_leftover()
        conf = write_config(self.state_dir, **self.config)
        out = open(self.state_dir / "supervisord.out", "ab")  # noqa: SIM115 (kept open for the process)
        self.process = subprocess.Popen(
            [str(REPO / ".venv" / "bin" / "supervisord"), "-c", str(conf)],
            env=self.env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"supervisord exited with {self.process.returncode}: see {out.name}")
            try:
                if self.rpc.getState()["statename"] == "RUNNING":
                    return
            except (OSError, xmlrpc.client.Fault):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"supervisord did not answer within {timeout}s")
            time.sleep(0.1)

    def kill_leftover(self) -> None:
        """Kill a supervisord of this state directory left running by an earlier run that was itself
        killed (SIGKILL gives no chance to clean up), with its programs: they would hold the ports."""
        pidfile = self.state_dir / "supervisord.pid"
        try:
            pid = int(pidfile.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError):
            return
        if "supervisord" not in cmdline or str(self.state_dir / "supervisord.conf") not in cmdline:
            return  # the pid was reused by an unrelated process
        programs = child_pids(pid)
        kill_with_programs(pid)
        deadline = time.monotonic() + 10
        while any(running(p) for p in [pid, *programs]) and time.monotonic() < deadline:
            time.sleep(0.05)

    def info(self) -> dict[str, dict[str, Any]]:
        return {p["name"]: p for p in self.rpc.getAllProcessInfo()}

    def pid(self, name: str) -> int:
        return int(self.rpc.getProcessInfo(name)["pid"])

    def kill(self, name: str, sig: int = signal.SIGKILL) -> int:
        """Signal the process itself (not through supervisord): a crash, as supervisord will see it."""
        pid = self.pid(name)
        if pid:
            os.kill(pid, sig)
        return pid

    def stop_process(self, name: str) -> None:
        self.rpc.stopProcess(name, True)

    def start_process(self, name: str) -> None:
        self.rpc.startProcess(name, False)

    def shutdown(self, timeout: float = STOP_WAIT_SECONDS + 15) -> None:
        """Stop every process (TERM, KILL after STOP_WAIT_SECONDS) and supervisord itself."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_with_programs(self.process.pid)
            self.process.wait()


def kill_with_programs(supervisord: int) -> None:
    """SIGKILL supervisord and its programs: each program runs in a process group of its own, so
    killing supervisord's group alone would leave them running (holding their ports)."""
    programs = child_pids(supervisord)
    # supervisord first: alive, it would restart (autorestart) a program killed before it.
    for group in [supervisord, *programs]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)


def running(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie has exited: only its parent has not reaped it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def child_pids(pid: int) -> list[int]:
    """The direct children of `pid`, from /proc (Linux), empty when it has none or is gone."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            children.extend(int(c) for c in task.read_text().split())
    return children


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    config = sub.add_parser("config", help="write supervisord.conf for the Procfile into --dir, print its path")
    config.add_argument("--dir", type=Path, required=True)
    config.add_argument("--log-dir", type=Path, help="a log file per process here (default: supervisord's stdout)")
    config.add_argument("--exclude", action="append", default=[])
    args = parser.parse_args()
    print(write_config(args.dir.resolve(), log_dir=args.log_dir and args.log_dir.resolve(), exclude=args.exclude))


if __name__ == "__main__":
    main()
