"""Prometheus and Alertmanager of the local stack (Debian's packages, installed by deploy/local/tools.sh).

Each is a Procfile line run under supervisord like the services (ADR 0014): this module writes the
configuration from the OMS_* variables of stack.env.sh, then `exec`s the server, so the supervised
pid is the server's own.

- Prometheus scrapes /metrics of every service (the gateway's on its metrics port), each target labelled
  `service="oms-<name>"` as in Kubernetes (OmsServiceDown matches on it), with deploy/prometheus/rules
  loaded (plus OMS_PROMETHEUS_EXTRA_RULES, a path list, for tests) and alerts sent to the local Alertmanager.
- Alertmanager sends every alert to the notification service's webhook receiver
  (OMS_ALERTMANAGER_WEBHOOK_URL) with `Authorization: Bearer $OMS_ALERTMANAGER_TOKEN`.

    python -m deploy.local.observability prometheus|alertmanager    # write the config, exec the server
    python -m deploy.local.observability config prometheus|alertmanager --dir DIR   # write only, print the path
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from deploy.local.supervise import REPO, SERVICES

RULES_DIR = REPO / "deploy" / "prometheus" / "rules"


def _binary(env: Mapping[str, str], variable: str, name: str) -> str:
    path = env.get(variable) or shutil.which(name) or f"/usr/bin/{name}"
    if not Path(path).exists():
        raise SystemExit(f"{name} not found: run `make install` (deploy/local/tools.sh install)")
    return path


def scrape_targets(env: Mapping[str, str]) -> dict[str, str]:
    """host:port of /metrics per service: the API port, apart from the gateway's separate metrics port."""
    targets = {s: f"127.0.0.1:{env[f'OMS_{s.upper()}_PORT']}" for s in SERVICES}
    targets["gateway"] = f"127.0.0.1:{env['OMS_GATEWAY_METRICS_PORT']}"
    return targets


def rule_files(env: Mapping[str, str]) -> list[str]:
    files = sorted(str(p) for p in RULES_DIR.glob("*.y*ml"))
    files += [p for p in env.get("OMS_PROMETHEUS_EXTRA_RULES", "").split(os.pathsep) if p]
    return files


def prometheus_config(env: Mapping[str, str]) -> str:
    interval = env.get("OMS_PROMETHEUS_INTERVAL", "15s")
    config = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": rule_files(env),
        "alerting": {
            "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{env['OMS_ALERTMANAGER_PORT']}"]}]}]
        },
        "scrape_configs": [
            {
                "job_name": f"oms-{service}",
                "metrics_path": "/metrics",
                "static_configs": [{"targets": [target], "labels": {"service": f"oms-{service}"}}],
            }
            for service, target in scrape_targets(env).items()
        ],
    }
    # JSON is YAML: no quoting rules to get wrong.
    return json.dumps(config, indent=2)


def alertmanager_config(env: Mapping[str, str], token_file: Path) -> str:
    config = {
        "route": {
            "receiver": "oms-notification",
            "group_by": ["alertname", "shop", "stage", "consumer", "service"],
            "group_wait": env.get("OMS_ALERTMANAGER_GROUP_WAIT", "10s"),
            "group_interval": env.get("OMS_ALERTMANAGER_GROUP_INTERVAL", "1m"),
            "repeat_interval": "4h",
        },
        "receivers": [
            {
                "name": "oms-notification",
                "webhook_configs": [
                    {
                        "url": env["OMS_ALERTMANAGER_WEBHOOK_URL"],
                        "send_resolved": True,
                        "http_config": {"authorization": {"type": "Bearer", "credentials_file": str(token_file)}},
                    }
                ],
            }
        ],
    }
    return json.dumps(config, indent=2)


def write_prometheus(env: Mapping[str, str], state_dir: Path) -> Path:
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "prometheus.yml"
    path.write_text(prometheus_config(env))
    return path


def write_alertmanager(env: Mapping[str, str], state_dir: Path) -> Path:
    state_dir.mkdir(parents=True, exist_ok=True)
    token_file = state_dir / "webhook-token"
    token_file.touch(mode=0o600)
    token_file.write_text(env["OMS_ALERTMANAGER_TOKEN"])
    path = state_dir / "alertmanager.yml"
    path.write_text(alertmanager_config(env, token_file))
    return path


def state_dir(env: Mapping[str, str], name: str) -> Path:
    return Path(env.get("OMS_LOCAL_DIR", REPO / ".local")) / name


def exec_prometheus(env: Mapping[str, str]) -> None:
    directory = state_dir(env, "prometheus")
    config = write_prometheus(env, directory)
    binary = _binary(env, "OMS_PROMETHEUS_BIN", "prometheus")
    os.execv(
        binary,
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={directory / 'data'}",
            f"--storage.tsdb.retention.time={env.get('OMS_PROMETHEUS_RETENTION', '3d')}",
            f"--web.listen-address=127.0.0.1:{env['OMS_PROMETHEUS_PORT']}",
            "--web.enable-lifecycle",
            "--log.level=warn",
        ],
    )


def exec_alertmanager(env: Mapping[str, str]) -> None:
    directory = state_dir(env, "alertmanager")
    config = write_alertmanager(env, directory)
    binary = _binary(env, "OMS_ALERTMANAGER_BIN", "prometheus-alertmanager")
    os.execv(
        binary,
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{env['OMS_ALERTMANAGER_PORT']}",
            "--cluster.listen-address=",  # one instance: no gossip port
            "--log.level=warn",
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("prometheus", help="write the config under $OMS_LOCAL_DIR/prometheus, exec prometheus")
    sub.add_parser("alertmanager", help="write the config under $OMS_LOCAL_DIR/alertmanager, exec alertmanager")
    config = sub.add_parser("config", help="write a config into --dir, print its path")
    config.add_argument("server", choices=["prometheus", "alertmanager"])
    config.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    env = os.environ
    if args.command == "prometheus":
        exec_prometheus(env)
    elif args.command == "alertmanager":
        exec_alertmanager(env)
    else:
        write = write_prometheus if args.server == "prometheus" else write_alertmanager
        print(write(env, args.dir.resolve()))


if __name__ == "__main__":
    main()
