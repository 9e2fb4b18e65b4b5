"""The kept reports of bulk CSV imports (`imports`)."""

from __future__ import annotations

from oms_contracts import Actor
from oms_runtime.mongo import Document
from pymongo.asynchronous.collection import AsyncCollection

from oms_catalog.application.ports import ImportReport
from oms_catalog.domain.csv_rows import RowError


class ImportMongo:
    """Implements `ImportRepository`."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def save(self, shop_id: str, report: ImportReport) -> None:
        await self.collection.insert_one(
            {
                "_id": report.import_id,
                "shop_id": shop_id,
                "import_id": report.import_id,
                "kind": report.kind,
                "rows": report.rows,
                "applied": report.applied,
                "unchanged": report.unchanged,
                "failed": report.failed,
                "errors": [e.as_dict() for e in report.errors],
                "errors_truncated": report.errors_truncated,
                "actor": report.actor.model_dump(mode="json"),
                "started_at": report.started_at,
                "finished_at": report.finished_at,
            }
        )

    async def get(self, shop_id: str, import_id: str) -> ImportReport | None:
        doc = await self.collection.find_one({"_id": import_id, "shop_id": shop_id})
        if doc is None:
            return None
        return ImportReport(
            import_id=doc["import_id"],
            kind=doc["kind"],
            rows=doc["rows"],
            applied=doc["applied"],
            unchanged=doc["unchanged"],
            failed=doc["failed"],
            errors=tuple(RowError(e["line"], e["field"], e["message"]) for e in doc["errors"]),
            errors_truncated=doc["errors_truncated"],
            actor=Actor.model_validate(doc["actor"]),
            started_at=doc["started_at"],
            finished_at=doc["finished_at"],
        )
