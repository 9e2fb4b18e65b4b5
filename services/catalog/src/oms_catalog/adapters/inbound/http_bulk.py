"""HTTP of bulk CSV import and export: POST /imports/{kind}, GET /imports/{id}, GET /exports/{kind}."""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Stream
from oms_runtime.context import Ctx
from oms_runtime.mongo import Document
from oms_runtime.problems import Problem

from oms_catalog.adapters.inbound.http import require_staff
from oms_catalog.application.bulk import BulkService, EmptyFile
from oms_catalog.domain.csv_rows import ImportKind, InvalidRow

KINDS = ", ".join(k.value for k in ImportKind)

Bulk = NamedDependency[BulkService]
CSV = "text/csv"  # Litestar adds `; charset=utf-8` to text types (naming it here too sent it twice)


def _kind(kind: str) -> ImportKind:
    try:
        return ImportKind(kind)
    except ValueError as exc:
        raise Problem(404, "Not found", f"no import or export of {kind!r}; one of {KINDS}") from exc


def report_view(doc: Document) -> dict[str, Any]:
    keep = ("import_id", "kind", "rows", "applied", "unchanged", "failed", "errors", "errors_truncated")
    return {
        **{k: doc.get(k) for k in keep},
        "started_at": doc["started_at"].isoformat(),
        "finished_at": doc["finished_at"].isoformat(),
    }


async def _read_body(request: Request[Any, Any, Any], limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise Problem.field("file", f"larger than {limit} bytes", status=413, title="Content too large")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit + 64 * 1024:  # leaves room for multipart headers
            raise Problem.field("file", f"larger than {limit} bytes", status=413, title="Content too large")
    return bytes(body)


def _csv_of(content_type: str, body: bytes, limit: int) -> str:
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "multipart/form-data":
        message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
        parts = [p for p in message.iter_parts() if p.get_param("name", header="content-disposition") == "file"]
        if not parts:
            raise Problem.field("file", "a multipart form needs a part named file")
        payload = parts[0].get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
    elif media in ("text/csv", "text/plain", "application/csv", ""):
        data = body
    else:
        raise Problem(415, "Unsupported media type", f"send text/csv or multipart/form-data, not {media}")
    if len(data) > limit:
        raise Problem.field("file", f"larger than {limit} bytes", status=413, title="Content too large")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Problem.field("file", f"not UTF-8 text (byte {exc.start})") from exc


class BulkController(Controller):
    tags = ["bulk"]

    @post(
        "/imports/{kind:str}",
        summary="Import a CSV of products, prices or stock (admin); a report per line and field",
        request_max_body_size=None,  # the service's own limit (OMS_IMPORT_MAX_BYTES), checked while reading
        status_code=201,
    )
    async def import_csv(
        self, kind: FromPath[str], request: Request[Any, Any, Any], ctx: Ctx, bulk: Bulk
    ) -> dict[str, Any]:
        ctx.require_role("admin")
        import_kind = _kind(kind)
        body = await _read_body(request, bulk.max_bytes)
        text = _csv_of(request.headers.get("content-type", ""), body, bulk.max_bytes)
        try:
            report = await bulk.import_csv(ctx.shop_id, import_kind, text, ctx.actor)
        except EmptyFile as exc:
            error = {"line": 1, "field": "(header)", "message": str(exc)}
            raise Problem(422, "Invalid file", str(exc), errors=[error]) from exc  # type: ignore[list-item]
        except InvalidRow as exc:
            raise Problem(
                422,
                "Invalid header",
                str(exc),
                errors=[e.as_dict() for e in exc.errors],  # type: ignore[misc]
            ) from exc
        return report_view(report)

    @get("/imports/{import_id:str}", summary="The report of an import (staff)")
    async def get_import(self, import_id: FromPath[str], ctx: Ctx, bulk: Bulk) -> dict[str, Any]:
        require_staff(ctx)
        doc = await bulk.get_import(ctx.shop_id, import_id)
        if doc is None:
            raise Problem(404, "Not found", f"no import {import_id!r}")
        return report_view(doc)

    @get(
        "/exports/{kind:str}",
        summary="Export products, prices or stock as CSV (staff), the import's columns",
        media_type=CSV,
    )
    async def export_csv(self, kind: FromPath[str], ctx: Ctx, bulk: Bulk) -> Stream:
        require_staff(ctx)
        import_kind = _kind(kind)
        return Stream(
            bulk.export_csv(ctx.shop_id, import_kind),
            media_type=CSV,
            headers={"content-disposition": f'attachment; filename="{import_kind}.csv"'},
        )
