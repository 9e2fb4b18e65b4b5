"""Generates kubeconform's offline JSON schemas (file names as kubeconform's default template wants:
`{{ .ResourceKind }}{{ .KindSuffix }}.json`, e.g. deployment-apps-v1.json).

* Core Kubernetes kinds: from the typed schema that k8s.io/client-go carries for server-side apply
  (applyconfigurations/internal/internal.go) — the client-go helm is built with, from the Go module
  cache. It gives every field's name and type, so unknown fields and wrong types fail; it has no
  `required` lists, so the few that matter here are added below (REQUIRED), and no formats/enums.
* CRDs: from a CRD YAML's openAPIV3Schema (`--crd FILE`, e.g. prometheus-operator's published
  monitoring.coreos.com_servicemonitors.yaml), strict like kubeconform's openapi2jsonschema.
* Strimzi's KafkaTopic (kafka.strimzi.io/v1beta2): Strimzi is not a Go module, so its CRD YAML is not
  in the module cache: KAFKATOPIC below is written by hand after Strimzi's documented KafkaTopic spec.

    python3 gen_schemas.py --client-go DIR [--crd FILE ...] --out DIR
"""

from __future__ import annotations

import argparse
import copy
import json
import re
from pathlib import Path
from typing import Any

import yaml

# Full API group of a client-go package (io.k8s.api.<package>.<version>.<Kind>).
GROUPS = {
    "core": "",
    "apps": "apps",
    "batch": "batch",
    "autoscaling": "autoscaling",
    "policy": "policy",
    "networking": "networking.k8s.io",
    "rbac": "rbac.authorization.k8s.io",
    "scheduling": "scheduling.k8s.io",
    "storage": "storage.k8s.io",
    "coordination": "coordination.k8s.io",
    "discovery": "discovery.k8s.io",
    "certificates": "certificates.k8s.io",
    "admissionregistration": "admissionregistration.k8s.io",
    "apiextensions": "apiextensions.k8s.io",
}

# `required` of the Kubernetes OpenAPI for the types a chart like this one uses.
REQUIRED = {
    "io.k8s.api.apps.v1.DeploymentSpec": ["selector", "template"],
    "io.k8s.api.core.v1.PodSpec": ["containers"],
    "io.k8s.api.core.v1.Container": ["name"],
    "io.k8s.api.core.v1.ContainerPort": ["containerPort"],
    "io.k8s.api.core.v1.EnvVar": ["name"],
    "io.k8s.api.core.v1.VolumeMount": ["name", "mountPath"],
    "io.k8s.api.core.v1.Volume": ["name"],
    "io.k8s.api.core.v1.HTTPGetAction": ["port"],
    "io.k8s.api.core.v1.SecretKeySelector": ["key"],
    "io.k8s.api.core.v1.ServicePort": ["port"],
    "io.k8s.api.core.v1.TopologySpreadConstraint": ["maxSkew", "topologyKey", "whenUnsatisfiable"],
    "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec": ["scaleTargetRef", "maxReplicas"],
    "io.k8s.api.autoscaling.v2.CrossVersionObjectReference": ["kind", "name"],
    "io.k8s.api.autoscaling.v2.MetricSpec": ["type"],
    "io.k8s.api.autoscaling.v2.ResourceMetricSource": ["name", "target"],
    "io.k8s.api.autoscaling.v2.MetricTarget": ["type"],
    "io.k8s.api.batch.v1.JobSpec": ["template"],
    "io.k8s.api.networking.v1.NetworkPolicySpec": [],
    "io.k8s.api.networking.v1.IPBlock": ["cidr"],
    "io.k8s.api.networking.v1.IngressRule": [],
    "io.k8s.api.networking.v1.HTTPIngressPath": ["pathType", "backend"],
    "io.k8s.api.networking.v1.HTTPIngressRuleValue": ["paths"],
    "io.k8s.api.networking.v1.IngressServiceBackend": ["name"],
}
# Untyped scalars that are really "int or string".
INT_OR_STRING = {"io.k8s.apimachinery.pkg.util.intstr.IntOrString", "io.k8s.apimachinery.pkg.api.resource.Quantity"}
SCALARS = {"string": {"type": "string"}, "numeric": {"type": "number"}, "boolean": {"type": "boolean"}}

KAFKATOPIC: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"enum": ["kafka.strimzi.io/v1beta2"]},
        "kind": {"enum": ["KafkaTopic"]},
        "metadata": {
            "type": "object",
            "required": ["name", "labels"],
            "properties": {
                "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "maxLength": 253},
                "namespace": {"type": "string"},
                "labels": {
                    "type": "object",
                    "required": ["strimzi.io/cluster"],
                    "additionalProperties": {"type": "string"},
                },
                "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "topicName": {"type": "string", "pattern": "^[a-zA-Z0-9._-]{1,249}$"},
                "partitions": {"type": "integer", "minimum": 1},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 32767},
                "config": {
                    "type": "object",
                    "additionalProperties": {"type": ["string", "integer", "number", "boolean", "array"]},
                },
            },
        },
        "status": {"type": "object"},
    },
}


def load_client_go_types(client_go: Path) -> dict[str, dict[str, Any]]:
    text = (client_go / "applyconfigurations/internal/internal.go").read_text()
    match = re.search(r"typed\.YAMLObject\(`(.*?)`\)", text, re.S)
    if not match:
        raise SystemExit(f"{client_go}: no schemaYAML found")
    return {t["name"]: t for t in yaml.safe_load(match.group(1))["types"]}


def atom(spec: dict[str, Any]) -> dict[str, Any]:
    """A field's `type:` (namedType, scalar, list or map) as a JSON schema."""
    if "namedType" in spec:
        return {"$ref": "#/definitions/" + spec["namedType"]}
    kinds = [k for k in ("scalar", "list", "map") if k in spec]
    if len(kinds) != 1:
        return {}
    if "scalar" in spec:
        return dict(SCALARS.get(spec["scalar"], {}))
    if "list" in spec:
        return {"type": "array", "items": atom(spec["list"].get("elementType", {}))}
    m = spec["map"]
    out: dict[str, Any] = {"type": "object"}
    if m.get("fields"):
        out["properties"] = {f["name"]: atom(f["type"]) for f in m["fields"]}
        out["additionalProperties"] = atom(m["elementType"]) if "elementType" in m else False
    elif "elementType" in m:
        out["additionalProperties"] = atom(m["elementType"])
    return out


def definition(name: str, t: dict[str, Any]) -> dict[str, Any]:
    if name in INT_OR_STRING:
        return {"type": ["string", "integer"]} if name.endswith("IntOrString") else {"type": ["string", "number"]}
    schema = atom({k: v for k, v in t.items() if k in ("scalar", "list", "map")})
    if REQUIRED.get(name):
        schema["required"] = REQUIRED[name]
    return schema


def refs(schema: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(schema, dict):
        for k, v in schema.items():
            if k == "$ref":
                found.add(v.rsplit("/", 1)[1])
            else:
                found |= refs(v)
    elif isinstance(schema, list):
        for v in schema:
            found |= refs(v)
    return found


def kind_file(kind: str, api_version: str) -> str:
    # kubeconform's KindSuffix: "-" + first label of the group (or the version for core) + "-" + version.
    parts = api_version.split("/")
    suffix = "-" + parts[0].split(".")[0].lower() + ("-" + parts[1].lower() if len(parts) > 1 else "")
    return f"{kind.lower()}{suffix}.json"


def core_schemas(types: dict[str, dict[str, Any]], out: Path) -> int:
    definitions = {name: definition(name, t) for name, t in types.items()}
    written = 0
    for name, t in types.items():
        m = name.split(".")
        if len(m) != 6 or m[:3] != ["io", "k8s", "api"] or m[3] not in GROUPS or m[5].endswith("List"):
            continue
        fields = {f["name"] for f in t.get("map", {}).get("fields", [])}
        if not {"apiVersion", "kind", "metadata"} <= fields:
            continue
        group, version, kind = GROUPS[m[3]], m[4], m[5]
        api_version = f"{group}/{version}" if group else version
        top = copy.deepcopy(definitions[name])
        top["properties"]["apiVersion"] = {"enum": [api_version]}
        top["properties"]["kind"] = {"enum": [kind]}
        top["required"] = ["apiVersion", "kind", "metadata"]
        needed, todo = set(), refs(top)
        while todo:
            ref = todo.pop()
            if ref not in needed:
                needed.add(ref)
                todo |= refs(definitions.get(ref, {})) - needed
        top["definitions"] = {r: definitions.get(r, {}) for r in sorted(needed)}
        # metadata.name is required of every object (generateName aside, unused here).
        top["properties"]["metadata"] = {"allOf": [top["properties"]["metadata"], {"required": ["name"]}]}
        (out / kind_file(kind, api_version)).write_text(json.dumps(top))
        written += 1
    return written


def openapi_to_strict(schema: Any) -> Any:
    """openAPIV3Schema -> JSON schema; objects with properties get additionalProperties: false."""
    if isinstance(schema, list):
        return [openapi_to_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: openapi_to_strict(v) for k, v in schema.items()}
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    preserve = out.pop("x-kubernetes-preserve-unknown-fields", False)
    if out.pop("nullable", False) and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    for k in [k for k in out if k.startswith("x-kubernetes-")]:
        del out[k]
    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    return out


def crd_schemas(crd_file: Path, out: Path) -> int:
    written = 0
    for crd in yaml.safe_load_all(crd_file.read_text()):
        if not crd or crd.get("kind") != "CustomResourceDefinition":
            continue
        spec = crd["spec"]
        for version in spec["versions"]:
            api_version = f"{spec['group']}/{version['name']}"
            schema = openapi_to_strict(version["schema"]["openAPIV3Schema"])
            props = schema.setdefault("properties", {})
            props["apiVersion"] = {"enum": [api_version]}
            props["kind"] = {"enum": [spec["names"]["kind"]]}
            props["metadata"] = {"type": "object", "required": ["name"]}
            schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
            (out / kind_file(spec["names"]["kind"], api_version)).write_text(json.dumps(schema))
            written += 1
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--client-go", type=Path, required=True)
    parser.add_argument("--crd", type=Path, action="append", default=[])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    core = core_schemas(load_client_go_types(args.client_go), args.out)
    crds = sum(crd_schemas(f, args.out) for f in args.crd)
    (args.out / kind_file("KafkaTopic", "kafka.strimzi.io/v1beta2")).write_text(json.dumps(KAFKATOPIC))
    print(f"gen_schemas: {core} core kinds, {crds} CRD versions, KafkaTopic (hand-written) -> {args.out}")


if __name__ == "__main__":
    main()
