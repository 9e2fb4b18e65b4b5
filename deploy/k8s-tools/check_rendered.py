"""Structural checks of `helm template` output that a JSON schema cannot make: names, labels, that
selectors, ports, references and the services/topics of this repository agree.

    helm template ... | python3 check_rendered.py [--repo .] [--topics charts/oms/files/topics.json] [--label NAME]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
RELEASE_LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/part-of")
LABEL_NAMED = {
    "Deployment",
    "Service",
    "ServiceAccount",
    "Job",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "Ingress",
    "Secret",
}  # names must be DNS labels (Services must; the rest by convention)


class Checker:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def err(self, doc: dict[str, Any] | None, msg: str) -> None:
        where = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}: " if doc else ""
        self.errors.append(where + msg)


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["spec"]["template"]["spec"]


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e for e in container.get("env", [])}


def check(docs: list[dict[str, Any]], repo: Path, topics_file: Path | None, c: Checker) -> None:
    seen = Counter(
        (d.get("kind"), d.get("metadata", {}).get("namespace"), d.get("metadata", {}).get("name")) for d in docs
    )
    for key, n in seen.items():
        if n > 1:
            c.err(None, f"{key} rendered {n} times")
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for d in docs:
        for field in ("apiVersion", "kind"):
            if not d.get(field):
                c.err(d, f"no {field}")
        name = d.get("metadata", {}).get("name")
        if not name:
            c.err(d, "no metadata.name")
            continue
        by_kind.setdefault(d["kind"], []).append(d)
        pattern = DNS_LABEL if d["kind"] in LABEL_NAMED else DNS_SUBDOMAIN
        if not pattern.match(name):
            c.err(d, f"name {name!r} is not a valid DNS {'label (≤ 63)' if pattern is DNS_LABEL else 'subdomain'}")
        labels = d["metadata"].get("labels") or {}
        for label in RELEASE_LABELS:
            if label not in labels:
                c.err(d, f"label {label} missing")
        for k, v in labels.items():
            if len(str(v)) > 63:
                c.err(d, f"label {k} value longer than 63")
    release = (
        {k: v for k, v in (docs[0]["metadata"].get("labels") or {}).items() if k in RELEASE_LABELS} if docs else {}
    )
    for d in docs:
        labels = d["metadata"].get("labels") or {}
        for k, v in release.items():
            if labels.get(k) != v:
                c.err(d, f"label {k}={labels.get(k)!r}, other objects have {v!r}")

    deployments = {d["metadata"]["name"]: d for d in by_kind.get("Deployment", [])}
    services = {d["metadata"]["name"]: d for d in by_kind.get("Service", [])}
    hpas = {d["spec"]["scaleTargetRef"]["name"]: d for d in by_kind.get("HorizontalPodAutoscaler", [])}
    secrets = {d["metadata"]["name"] for d in by_kind.get("Secret", [])}
    pods = [(d, d["spec"]["template"]["metadata"].get("labels", {})) for d in deployments.values()]
    pods += [(d, d["spec"]["template"]["metadata"].get("labels", {})) for d in by_kind.get("Job", [])]
    service_modules = {p.name for p in repo.glob("services/*/src/oms_*") if p.is_dir()}

    for name, d in deployments.items():
        tpl_labels = d["spec"]["template"]["metadata"].get("labels", {})
        if not matches(d["spec"]["selector"]["matchLabels"], tpl_labels):
            c.err(d, "selector does not match the pod template's labels")
        if (name in hpas) == ("replicas" in d["spec"]):
            c.err(d, "replicas must be set exactly when there is no HPA")
        spec = pod_spec(d)
        psc = spec.get("securityContext", {})
        if not psc.get("runAsNonRoot"):
            c.err(d, "pod securityContext.runAsNonRoot is not true")
        containers = spec["containers"] + spec.get("initContainers", [])
        main = spec["containers"][0]
        ports = {p["name"]: p["containerPort"] for p in main.get("ports", [])}
        http_env = env_of(main).get("OMS_HTTP_PORT", {}).get("value")
        if str(ports.get("http")) != str(http_env):
            c.err(d, f"container port http={ports.get('http')} but OMS_HTTP_PORT={http_env}")
        ann = d["spec"]["template"]["metadata"].get("annotations", {})
        metrics_env = env_of(main).get("OMS_METRICS_PORT", {}).get("value")
        if ports.get("metrics") is None or str(ports.get("metrics")) != str(metrics_env):
            c.err(d, f"container port metrics={ports.get('metrics')} but OMS_METRICS_PORT={metrics_env}")
        if ports.get("metrics") == ports.get("http"):
            c.err(d, "metrics must not share the API's port (the gateway's is public)")
        if ann.get("prometheus.io/port") != str(ports.get("metrics")):
            c.err(d, "prometheus.io/port annotation differs from the metrics port")
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            get = main.get(probe, {}).get("httpGet", {})
            if get.get("port") not in ports and get.get("port") not in ports.values():
                c.err(d, f"{probe} port {get.get('port')!r} is not a container port")
        if main.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/health/live":
            c.err(d, "livenessProbe is not /health/live")
        if main.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/health/ready":
            c.err(d, "readinessProbe is not /health/ready")
        for ct in containers:
            sc = ct.get("securityContext", {})
            if not sc.get("readOnlyRootFilesystem") or sc.get("allowPrivilegeEscalation") is not False:
                c.err(d, f"container {ct['name']}: not read-only rootfs / privilege escalation allowed")
            check_command(c, d, ct, service_modules)
            check_secret_refs(c, d, ct, secrets)
    for d in by_kind.get("Job", []):
        for ct in pod_spec(d)["containers"]:
            check_command(c, d, ct, service_modules)
            check_secret_refs(c, d, ct, secrets)

    for d in services.values():
        sel = d["spec"].get("selector", {})
        targets = [dep for dep in deployments.values() if matches(sel, dep["spec"]["template"]["metadata"]["labels"])]
        if len(targets) != 1:
            c.err(d, f"selector matches {len(targets)} Deployments")
            continue
        ports = {p["name"]: p["containerPort"] for p in pod_spec(targets[0])["containers"][0].get("ports", [])}
        for p in d["spec"]["ports"]:
            if p.get("targetPort") not in ports and p.get("targetPort") not in ports.values():
                c.err(d, f"targetPort {p.get('targetPort')!r} is not a port of {targets[0]['metadata']['name']}")
            elif ports.get(p.get("targetPort"), p.get("targetPort")) != p["port"]:
                c.err(d, f"port {p['port']} differs from the container port")
    for target, d in hpas.items():
        if target not in deployments:
            c.err(d, f"scaleTargetRef {target} is not a Deployment of the chart")
    for d in by_kind.get("PodDisruptionBudget", []):
        if not any(matches(d["spec"]["selector"]["matchLabels"], lab) for _, lab in pods):
            c.err(d, "selector matches no pod")

    def container_ports(selector: dict[str, str]) -> set[int]:
        return {
            p["containerPort"]
            for dep, lab in pods
            if matches(selector, lab)
            for ct in pod_spec(dep)["containers"]
            for p in ct.get("ports", [])
        }

    for d in by_kind.get("NetworkPolicy", []):
        own = d["spec"]["podSelector"].get("matchLabels", {})
        if not any(matches(own, lab) for _, lab in pods):
            c.err(d, "podSelector matches no pod")
        if not own.get("app.kubernetes.io/component"):
            own = {}
        for rule in d["spec"].get("ingress", []) if own else []:
            for p in rule.get("ports", []):
                if p["port"] not in container_ports(own):
                    c.err(d, f"ingress port {p['port']} is not a container port of the pods it selects")
        for rule in d["spec"].get("egress", []):
            for peer in rule.get("to", []):
                if set(peer) == {"podSelector"}:
                    want = container_ports(peer["podSelector"].get("matchLabels", {}))
                    for p in rule.get("ports", []):
                        if p["port"] not in want:
                            c.err(d, f"egress port {p['port']} is not a container port of {peer}")
        for rule in d["spec"].get("ingress", []) + d["spec"].get("egress", []):
            for peer in rule.get("from", []) + rule.get("to", []):
                if set(peer) == {"podSelector"} and not any(
                    matches(peer["podSelector"].get("matchLabels", {}), lab) for _, lab in pods
                ):
                    c.err(d, f"peer {peer} matches no pod of the chart")
    # The gateway's upstream URLs point at Services of the chart, on their ports.
    for d in deployments.values():
        for name, e in env_of(pod_spec(d)["containers"][0]).items():
            m = re.match(r"^OMS_[A-Z]+_URL$", name) and re.match(r"^http://([^:/]+):(\d+)", e.get("value", ""))
            if m and name != "OMS_PUBLIC_URL":
                svc = services.get(m.group(1))
                if not svc or int(m.group(2)) not in [p["port"] for p in svc["spec"]["ports"]]:
                    c.err(d, f"{name}={e['value']} is not a Service port of the chart")
    for d in by_kind.get("Ingress", []):
        for rule in d["spec"].get("rules", []):
            for path in rule["http"]["paths"]:
                b = path["backend"]["service"]
                svc = services.get(b["name"])
                if not svc or b["port"].get("name", b["port"].get("number")) not in [
                    p.get("name") for p in svc["spec"]["ports"]
                ] + [p["port"] for p in svc["spec"]["ports"]]:
                    c.err(d, f"backend {b} is not a Service port of the chart")
    for d in by_kind.get("ServiceMonitor", []):
        sel = d["spec"]["selector"]["matchLabels"]
        selected = [s for s in services.values() if matches(sel, s["metadata"]["labels"])]
        if len(selected) != len(services):
            c.err(d, f"selects {len(selected)} of {len(services)} Services")
        for ep in d["spec"]["endpoints"]:
            if any(ep["port"] not in [p.get("name") for p in s["spec"]["ports"]] for s in selected):
                c.err(d, f"endpoint port {ep['port']} is not on every selected Service")
    if topics_file and by_kind.get("KafkaTopic"):
        expected = {t["name"]: t for t in json.loads(topics_file.read_text())["topics"]}
        rendered = {d["spec"]["topicName"]: d for d in by_kind["KafkaTopic"]}
        prefix = next(iter(rendered)).split("oms.", 1)[0] if rendered else ""
        if {n.removeprefix(prefix) for n in rendered} != set(expected):
            c.err(None, f"KafkaTopics {sorted(rendered)} differ from {topics_file}")
        for n, d in rendered.items():
            t = expected.get(n.removeprefix(prefix))
            if t and (
                d["spec"]["partitions"] != t["partitions"]
                or str(d["spec"]["config"]["retention.ms"]) != str(t["retention_ms"])
                or d["spec"]["config"]["cleanup.policy"] != ("compact" if t["compacted"] else "delete")
            ):
                c.err(d, "partitions/retention/cleanup differ from the registry")


def check_command(c: Checker, d: dict[str, Any], ct: dict[str, Any], modules: set[str]) -> None:
    cmd = ct.get("command", [])
    if len(cmd) != 4 or cmd[:2] != ["python", "-m"] or cmd[3] not in ("serve", "migrate"):
        c.err(d, f"container {ct['name']}: command {cmd} is not python -m oms_<service> serve|migrate")
    elif modules and cmd[2] not in modules:
        c.err(d, f"container {ct['name']}: no package {cmd[2]} under services/")


def check_secret_refs(c: Checker, d: dict[str, Any], ct: dict[str, Any], chart_secrets: set[str]) -> None:
    for e in ct.get("env", []):
        ref = e.get("valueFrom", {}).get("secretKeyRef")
        if ref and chart_secrets and ref["name"].endswith("-secrets") and ref["name"] not in chart_secrets:
            c.err(d, f"env {e['name']} refers to Secret {ref['name']} that the chart does not create")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, default=Path())
    parser.add_argument("--topics", type=Path)
    parser.add_argument("--label", default="stdin")
    parser.add_argument("file", nargs="?", type=argparse.FileType("r"), default=sys.stdin)
    args = parser.parse_args()
    docs = [d for d in yaml.safe_load_all(args.file) if d]
    c = Checker()
    check(docs, args.repo, args.topics, c)
    kinds = Counter(d.get("kind") for d in docs)
    if c.errors:
        print(f"check_rendered [{args.label}]: {len(c.errors)} problem(s) in {len(docs)} objects", file=sys.stderr)
        for e in c.errors:
            print("  " + e, file=sys.stderr)
        return 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    print(f"check_rendered [{args.label}]: {len(docs)} objects OK ({summary})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
