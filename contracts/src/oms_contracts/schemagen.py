"""Generate the committed JSON Schemas and AsyncAPI document from the models, or check them.

python -m oms_contracts.schemagen write   # regenerate contracts/schemas and contracts/asyncapi.json
python -m oms_contracts.schemagen check   # fail on drift or on a backward-incompatible change
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from oms_contracts.envelope import Envelope
from oms_contracts.registry import TOPICS

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
ASYNCAPI = ROOT / "asyncapi.json"


def schema_files() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for topic in TOPICS:
        for cls in topic.messages:
            schema = Envelope[cls].model_json_schema(mode="serialization")  # type: ignore[valid-type]
            schema["title"] = cls.TYPE
            schema["description"] = (cls.__doc__ or "").strip() or f"{cls.TYPE} on {topic.name}"
            schema["x-topic"] = topic.name
            schema["x-key"] = cls.KEY
            schema["x-kind"] = cls.KIND
            out[f"{cls.TYPE}.v{cls.VERSION}.json"] = schema
    return out


def asyncapi() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic in TOPICS:
        refs = {}
        for cls in topic.messages:
            messages[cls.TYPE] = {
                "name": cls.TYPE,
                "title": cls.TYPE,
                "summary": (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else cls.TYPE,
                "contentType": "application/json",
                "payload": {"$ref": f"schemas/{cls.TYPE}.v{cls.VERSION}.json"},
                "bindings": {"kafka": {"key": {"type": "string", "description": cls.KEY}}},
            }
            refs[cls.TYPE] = {"$ref": f"#/components/messages/{cls.TYPE}"}
        cid = topic.name.replace(".", "_")
        channels[cid] = {
            "address": topic.name,
            "description": topic.description,
            "messages": refs,
            "bindings": {
                "kafka": {
                    "partitions": topic.partitions,
                    "topicConfiguration": {
                        "retention.ms": topic.retention_ms,
                        "cleanup.policy": ["compact"] if topic.compacted else ["delete"],
                    },
                }
            },
            "x-owner": topic.owner,
            "x-key": topic.key,
        }
        if topic.messages:
            operations[f"publish_{cid}"] = {
                "action": "send",
                "channel": {"$ref": f"#/channels/{cid}"},
                "summary": f"{topic.owner} publishes",
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "OMS messages",
            "version": "1.0.0",
            "description": "Every Kafka topic of the OMS and the messages on it, generated from oms_contracts.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def _dump(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write() -> None:
    SCHEMAS.mkdir(parents=True, exist_ok=True)
    files = schema_files()
    for name, schema in files.items():
        (SCHEMAS / name).write_text(_dump(schema))
    for stale in SCHEMAS.glob("*.json"):
        if stale.name not in files:
            stale.unlink()
    ASYNCAPI.write_text(_dump(asyncapi()))


def incompatibilities(old: dict[str, Any], new: dict[str, Any], path: str = "") -> list[str]:
    """Changes that would break a consumer reading new messages with the old schema, or the reverse.

    Removing or retyping a field, or adding a required one, is breaking; adding an optional
    field is not. A breaking change needs a new VERSION (a new schema file) instead.
    """
    problems: list[str] = []
    old_props = old.get("properties", {})
    new_props = new.get("properties", {})
    for name, old_prop in old_props.items():
        if name not in new_props:
            problems.append(f"{path}{name}: removed")
            continue
        if _widened_enum(old_prop, new_props[name]):
            continue
        if _type_of(old_prop) != _type_of(new_props[name]):
            problems.append(f"{path}{name}: type {_type_of(old_prop)} -> {_type_of(new_props[name])}")
    added_required = set(new.get("required", [])) - set(old.get("required", []))
    for name in sorted(added_required):
        problems.append(f"{path}{name}: newly required")
    for def_name, old_def in old.get("$defs", {}).items():
        new_def = new.get("$defs", {}).get(def_name)
        if new_def is None:
            continue  # renamed helper definitions are compared through the properties that use them
        problems.extend(incompatibilities(old_def, new_def, f"{path}{def_name}."))
    return problems


def _widened_enum(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """An enum that only gained values (a new payment method, delivery type): allowed, because
    consumers are released before any producer sends the new value (docs/adr/0006). A single-value
    `Literal` is a `const`: widening it to an enum holding that value is the same change."""
    old_values, new_values = _values(old), _values(new)
    if old_values is None or new_values is None:
        return False
    return old.get("type") == new.get("type") and set(old_values) <= set(new_values)


def _values(prop: dict[str, Any]) -> list[Any] | None:
    if "enum" in prop:
        return list(prop["enum"])
    return [prop["const"]] if "const" in prop else None


def _type_of(prop: dict[str, Any]) -> Any:
    if "$ref" in prop:
        return prop["$ref"]
    if "anyOf" in prop:
        return sorted(json.dumps(_type_of(p), sort_keys=True) for p in prop["anyOf"])
    return prop.get("type"), prop.get("format"), tuple(prop.get("enum", ())) or prop.get("const")


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=ROOT.parent, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def history_problems() -> list[str]:
    """Each schema file against its previous committed version: a change there must stay compatible.

    A breaking change is a new message VERSION (a new file), never an edit of a published one; this
    catches it even after the regenerated file was committed along with the model.
    """
    problems: list[str] = []
    for path in sorted(SCHEMAS.glob("*.json")):
        relative = path.relative_to(ROOT.parent).as_posix()
        commits = (_git("log", "-n", "2", "--format=%H", "--", relative) or "").split()
        base = commits[1] if len(commits) == 2 else None
        if commits and _git("diff", "--quiet", "HEAD", "--", relative) is None:
            base = commits[0]  # the working file differs from HEAD: compare with HEAD's version
        if base is None:
            continue
        previous = _git("show", f"{base}:{relative}")
        if previous is None:
            continue
        breaking = incompatibilities(json.loads(previous), json.loads(path.read_text()))
        if breaking:
            problems.append(f"{path.name}: incompatible with its version of {base[:10]}: " + "; ".join(breaking))
    return problems


def check() -> list[str]:
    problems: list[str] = history_problems()
    files = schema_files()
    for name, schema in files.items():
        path = SCHEMAS / name
        if not path.exists():
            problems.append(f"{name}: not generated (run `make schemas`)")
            continue
        committed = json.loads(path.read_text())
        if committed != json.loads(_dump(schema)):
            breaking = incompatibilities(committed, schema)
            if breaking:
                problems.append(f"{name}: breaking change: " + "; ".join(breaking))
            problems.append(f"{name}: out of date with the model (run `make schemas`)")
    for path in SCHEMAS.glob("*.json"):
        if path.name not in files:
            problems.append(f"{path.name}: committed but no model produces it (a removed message type?)")
    if not ASYNCAPI.exists() or json.loads(ASYNCAPI.read_text()) != json.loads(_dump(asyncapi())):
        problems.append("asyncapi.json: out of date (run `make schemas`)")
    return problems


def main(argv: list[str]) -> int:
    if argv[1:] == ["write"]:
        write()
        return 0
    if argv[1:] == ["check"]:
        problems = check()
        for p in problems:
            print(p, file=sys.stderr)
        return 1 if problems else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
