"""Mongo client factory and index declarations (created by the `migrate` role)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from oms_runtime.settings import ServiceSettings

Document = dict[str, Any]


def create_mongo_client(settings: ServiceSettings) -> AsyncMongoClient[Document]:
    return AsyncMongoClient(
        settings.mongo_url,
        tz_aware=True,
        uuidRepresentation="standard",
        serverSelectionTimeoutMS=5000,
        appname=settings.service_name,
    )


@dataclass(frozen=True)
class IndexSpec:
    collection: str
    keys: Sequence[tuple[str, int]]
    unique: bool = False
    name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def index_name(self) -> str:
        return self.name or "_".join(f"{k}_{d}" for k, d in self.keys)


async def ensure_indexes(db: AsyncDatabase[Document], specs: Iterable[IndexSpec]) -> list[str]:
    created = []
    for spec in specs:
        await db[spec.collection].create_index(list(spec.keys), unique=spec.unique, name=spec.index_name, **spec.extra)
        created.append(f"{spec.collection}.{spec.index_name}")
    return created


async def ping(db: AsyncDatabase[Document]) -> None:
    await db.command("ping")
