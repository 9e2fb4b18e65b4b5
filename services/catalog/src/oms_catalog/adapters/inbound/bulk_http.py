"""HTTP of bulk CSV import and export: POST /imports/{kind}, GET /imports/{id}, GET /exports/{kind}."""

from __future__ import annotations

from datetime import datetime
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath
from litestar.response import Stream
from oms_runtime.context import Ctx
from oms_runtime.errors import FieldError
from pydantic import Field

from oms_catalog.adapters.inbound.common_http import ADMIN, STAFF_ONLY, View
from oms_catalog.application.bulk import BulkService
from oms_catalog.application.errors import NotFound
from oms_catalog.application.ports import ImportReport
from oms_catalog.domain.csv_rows import ImportKind

KINDS = ", ".join(k.value for k in ImportKind)

Bulk = NamedDependency[BulkService]
CSV = "text/csv"  # Litestar adds `; charset=utf-8` to text types (naming it here too sent it twice)


class FileTooLarge(FieldError):
    """The upload is beyond OMS_IMPORT_MAX_BYTES (413 naming `file`)."""


class UnsupportedFile(ValueError):
    """Neither text/csv nor multipart/form-data (415)."""


class RowErrorView(View):
    line: int
    field: str
    message: str


class ImportReportView(View):
    import_id: str
    kind: str
    rows: int
    applied: int
    unchanged: int
    failed: int
    errors: list[RowErrorView] = Field(description="The first 1000, by line")
    errors_truncated: bool
    started_at: datetime
    finished_at: datetime

    @classmethod
    def of(cls, report: ImportReport) -> ImportReportView:
        return cls(
            import_id=report.import_id,
            kind=report.kind,
            rows=report.rows,
            applied=report.applied,
            unchanged=report.unchanged,
            failed=report.failed,
            errors=[RowErrorView(line=e.line, field=e.field, message=e.message) for e in report.errors],
            errors_truncated=report.errors_truncated,
            started_at=report.started_at,
            finished_at=report.finished_at,
        )


def _kind(kind: str) -> ImportKind:
    try:
        return ImportKind(kind)
    except ValueError as exc:
        raise NotFound(f"no import or export of {kind!r}; one of {KINDS}") from exc


async def _read_body(request: Request[Any, Any, Any], limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise FileTooLarge("file", f"larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit + 64 * 1024:  # leaves room for multipart headers
            raise FileTooLarge("file", f"larger than {limit} bytes")
    return bytes(body)


def _csv_of(content_type: str, body: bytes, limit: int) -> str:
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "multipart/form-data":
        message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
        parts = [p for p in message.iter_parts() if p.get_param("name", header="content-disposition") == "file"]
        if not parts:
            raise FieldError("file", "a multipart form needs a part named file")
        payload = parts[0].get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
    elif media in ("text/csv", "text/plain", "application/csv", ""):
        data = body
    else:
        raise UnsupportedFile(f"send text/csv or multipart/form-data, not {media}")
    if len(data) > limit:
        raise FileTooLarge("file", f"larger than {limit} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FieldError("file", f"not UTF-8 text (byte {exc.start})") from exc


class BulkController(Controller):
    tags = ["bulk"]

    @post(
        "/imports/{kind:str}",
        summary="Import a CSV of products, prices or stock (admin); a report per line and field",
        request_max_body_size=None,  # the service's own limit (OMS_IMPORT_MAX_BYTES), checked while reading
        status_code=201,
        guards=[ADMIN],
    )
    async def import_csv(
        self, kind: FromPath[str], request: Request[Any, Any, Any], ctx: Ctx, bulk: Bulk
    ) -> ImportReportView:
        import_kind = _kind(kind)
        body = await _read_body(request, bulk.max_bytes)
        text = _csv_of(request.headers.get("content-type", ""), body, bulk.max_bytes)
        return ImportReportView.of(await bulk.import_csv(ctx.shop_id, import_kind, text, ctx.actor))

    @get("/imports/{import_id:str}", summary="The report of an import (staff)", guards=[STAFF_ONLY])
    async def get_import(self, import_id: FromPath[str], ctx: Ctx, bulk: Bulk) -> ImportReportView:
        report = await bulk.get_import(ctx.shop_id, import_id)
        if report is None:
            raise NotFound(f"no import {import_id!r}")
        return ImportReportView.of(report)

    @get(
        "/exports/{kind:str}",
        summary="Export products, prices or stock as CSV (staff), the import's columns",
        media_type=CSV,
        responses={
            200: ResponseSpec(
                data_container=str, media_type=CSV, description="The CSV, streamed", generate_examples=False
            )
        },
        guards=[STAFF_ONLY],
    )
    async def export_csv(self, kind: FromPath[str], ctx: Ctx, bulk: Bulk) -> Stream:
        import_kind = _kind(kind)
        return Stream(
            bulk.export_csv(ctx.shop_id, import_kind),
            media_type=CSV,
            headers={"content-disposition": f'attachment; filename="{import_kind}.csv"'},
        )
