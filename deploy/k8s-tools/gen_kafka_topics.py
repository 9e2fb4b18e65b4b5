"""Writes the chart's Kafka topic list (charts/oms/files/topics.json) from the contracts' registry.

    .venv/bin/python deploy/k8s-tools/gen_kafka_topics.py > charts/oms/files/topics.json
    .venv/bin/python deploy/k8s-tools/gen_kafka_topics.py --check charts/oms/files/topics.json

The chart's templates/kafkatopics.yaml ranges over this file and renders one Strimzi KafkaTopic per
entry; `--check` exits 1 when the committed file differs from what the registry gives now.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path

from oms_contracts.registry import TOPICS

HEADER = "Generated from oms_contracts.registry.TOPICS by deploy/k8s-tools/gen_kafka_topics.py: do not edit"


def render() -> str:
    topics = [
        {
            "name": t.name,
            "owner": t.owner,
            "key": t.key,
            "description": t.description,
            "partitions": t.partitions,
            "retention_ms": t.retention_ms,
            "compacted": t.compacted,
            "messages": [m.__name__ for m in t.messages],
        }
        for t in TOPICS
    ]
    return json.dumps({"_comment": HEADER, "topics": topics}, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", metavar="FILE", type=Path, help="fail if FILE differs from the registry")
    args = parser.parse_args(argv)
    text = render()
    if args.check is None:
        sys.stdout.write(text)
        return 0
    current = args.check.read_text() if args.check.exists() else ""
    if current == text:
        print(f"{args.check}: up to date with the topic registry ({len(TOPICS)} topics)")
        return 0
    sys.stderr.writelines(
        difflib.unified_diff(current.splitlines(True), text.splitlines(True), str(args.check), "registry")
    )
    print(
        f"{args.check} drifted from oms_contracts.TOPICS; regenerate with:\n"
        f"  .venv/bin/python deploy/k8s-tools/gen_kafka_topics.py > {args.check}",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
