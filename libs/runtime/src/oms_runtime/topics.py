"""Create every topic of the registry that does not exist yet (local stack and tests).

python -m oms_runtime.topics [--bootstrap HOST:PORT] [--replication N]
"""

from __future__ import annotations

import argparse
import asyncio
import os

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from oms_contracts import TOPICS


async def create_topics(bootstrap: str, replication: int = 1, prefix: str = "") -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=20_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in TOPICS if prefix + t.name not in existing]
        if missing:
            await admin.create_topics(
                [
                    NewTopic(
                        prefix + t.name,
                        num_partitions=t.partitions,
                        replication_factor=replication,
                        topic_configs={
                            "retention.ms": str(t.retention_ms),
                            "cleanup.policy": "compact" if t.compacted else "delete",
                        },
                    )
                    for t in missing
                ]
            )
        return [prefix + t.name for t in missing]
    finally:
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", default=os.environ.get("OMS_KAFKA_BOOTSTRAP", "127.0.0.1:19092"))
    parser.add_argument("--replication", type=int, default=1)
    parser.add_argument("--prefix", default=os.environ.get("OMS_TOPIC_PREFIX", ""))
    args = parser.parse_args()
    created = asyncio.run(create_topics(args.bootstrap, args.replication, args.prefix))
    print(f"topics created: {', '.join(created) if created else 'none (all exist)'}")


if __name__ == "__main__":
    main()
