"""The day-one caseload import through the API: upload a spreadsheet, see what importing it would do row by row,
choose its columns, and commit it (all rows or none) — the same services as the import pages
(``apps.caseload.services``), the same rule: an ICB's own team imports into its own ICB; the national team, practices,
providers and LMCs may not (403); another ICB's upload is not found (404).

The file travels as base64 in JSON (``content_base64``), so a script can send it with the same client it uses for
every other call.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from apps.accounts.models import User
from apps.api.common import Error, ValidationErrors
from apps.caseload import plan as planning
from apps.caseload import reading, services
from apps.caseload.models import CaseloadUpload
from apps.caseload.policy import get_upload_for, import_icb

router = Router(tags=["caseload"])

NOT_YOURS = "Only an ICB's own team imports its existing work."
ANSWERS = {400: Error, 401: Error, 403: Error, 404: Error, 422: ValidationErrors}


class UploadIn(Schema):
    filename: str = Field(min_length=1, max_length=200, description="The file's name, ending .xlsx or .csv")
    content_base64: str = Field(
        min_length=1, max_length=15_000_000, description="The file's bytes, base64 (at most 10 MB decoded)"
    )


class ColumnsIn(Schema):
    mapping: dict[str, str] = Field(description="Column key (see `columns` of a preview) → the file's header, or ''")


class RowOut(Schema):
    row: int = Field(description="The spreadsheet's row number (the header is row 1)")
    reference: str
    practice_code: str
    action: str = Field(description="create, update, unchanged or error")
    reasons: list[str] = Field(description="Why the row is in error, in words")
    summary: str


class ColumnOut(Schema):
    key: str
    heading: str
    required: bool
    header: str = Field(description="The file's header chosen for it ('' for none)")
    problem: str = Field(description="What is wrong with the choice ('' when nothing)")


class PreviewOut(Schema):
    id: int
    filename: str
    sha256: str
    rows: int
    status: str = Field(description="uploaded, committed or failed")
    outcome: dict[str, Any]
    headers: list[str] = Field(description="The file's headers")
    columns: list[ColumnOut]
    counts: dict[str, int] = Field(description="Rows by action (empty until the columns are chosen)")
    earlier_import_id: int | None = Field(description="The same file (same SHA-256), imported before")
    progress: list[int] | None = Field(
        description="[rows checked, rows] while a big file's preview is worked out in the background (ask again); "
        "null once the preview is ready"
    )
    page: int
    shown: list[RowOut] = Field(description="This page's rows (errors only with only_errors=true)")


class PreviewQuery(Schema):
    only_errors: bool = Field(False, description="List only the rows in error")
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(500, ge=1, le=5_000)


class CommitOut(Schema):
    id: int
    status: str
    counts: dict[str, int]


def _caller(request: HttpRequest) -> User:
    user: User = request.auth  # type: ignore[attr-defined]
    if import_icb(user) is None:
        raise PermissionDenied(NOT_YOURS)
    return user


def _preview(upload: CaseloadUpload, query: PreviewQuery) -> dict[str, Any]:
    seen = services.shown_preview(upload)
    rows = seen.plan.rows if seen.plan else []
    if query.only_errors:
        rows = [r for r in rows if r.action == planning.ERROR]
    start = (query.page - 1) * query.page_size
    return {
        "id": upload.pk,
        "filename": upload.filename,
        "sha256": upload.sha256,
        "rows": upload.rows,
        "status": upload.status,
        "outcome": upload.outcome,
        "headers": seen.headers,
        "columns": [
            {
                "key": c.key,
                "heading": c.heading,
                "required": c.required,
                "header": upload.mapping.get(c.key, ""),
                "problem": seen.mapping_problems.get(c.key, ""),
            }
            for c in reading.COLUMNS
        ],
        "counts": seen.plan.counts if seen.plan else {},
        "earlier_import_id": seen.earlier.pk if seen.earlier else None,
        "progress": list(seen.pending) if seen.pending else None,
        "page": query.page,
        "shown": [
            {
                "row": r.number,
                "reference": r.reference,
                "practice_code": r.practice_code,
                "action": r.action,
                "reasons": r.reasons,
                "summary": r.summary,
            }
            for r in rows[start : start + query.page_size]
        ],
    }


@router.post(
    "/caseload/uploads",
    response={201: PreviewOut, **ANSWERS},
    summary="Upload a caseload spreadsheet (XLSX or CSV) and see what importing it would do",
)
def create_caseload_upload(request: HttpRequest, body: UploadIn) -> Any:
    """Keeps the file (with its SHA-256), suggests which of its columns hold what, and previews every row. Nothing
    is imported until ``commit``. 400 when the file cannot be read."""
    user = _caller(request)
    try:
        data = base64.b64decode(body.content_base64, validate=True)
    except (binascii.Error, ValueError):
        return Status(400, {"detail": "content_base64 is not base64"})
    try:
        upload = services.upload_file(icb=user.icb, user=user, filename=body.filename, data=data)  # type: ignore[arg-type]
    except services.ImportRefused as e:
        return Status(400, {"detail": e.message})
    return Status(201, _preview(upload, PreviewQuery()))


@router.get(
    "/caseload/uploads/{upload_id}",
    response={200: PreviewOut, **ANSWERS},
    summary="What importing an upload would do, row by row",
)
def get_caseload_upload(request: HttpRequest, upload_id: int, query: Query[PreviewQuery]) -> Any:
    user = _caller(request)
    return _preview(get_upload_for(user, upload_id), query)


@router.put(
    "/caseload/uploads/{upload_id}/columns",
    response={200: PreviewOut, **ANSWERS},
    summary="Choose which of the file's columns hold what",
)
def set_caseload_columns(request: HttpRequest, upload_id: int, body: ColumnsIn) -> Any:
    """400 naming each problem (a required column not chosen, a header the file does not have, one header chosen
    twice); nothing is stored then."""
    user = _caller(request)
    upload = get_upload_for(user, upload_id)
    if upload.status != CaseloadUpload.Status.UPLOADED:
        return Status(400, {"detail": "This upload is finished: upload the file again to import it again"})
    problems = services.choose_columns(upload=upload, user=user, mapping=body.mapping)
    if problems:
        return Status(400, {"detail": " ".join(problems.values())})
    return _preview(upload, PreviewQuery())


@router.post(
    "/caseload/uploads/{upload_id}/commit",
    response={200: CommitOut, 202: CommitOut, **ANSWERS},
    summary="Import every row of an upload, or none",
)
def commit_caseload_upload(request: HttpRequest, upload_id: int) -> Any:
    """Refused (400, nothing imported) while any row is in error, or when a row is refused on the way (e.g. the
    budget's money was committed by someone else since the preview). Importing the same rows again creates nothing.
    An upload of more than 1,000 rows is imported by the background worker: the answer is 202 with status
    ``committing`` and no counts; read the upload until its status is ``committed`` (with counts) or ``failed``."""
    user = _caller(request)
    upload = get_upload_for(user, upload_id)
    try:
        done = services.request_commit(upload=upload, user=user)
    except services.ImportRefused as e:
        return Status(400, {"detail": e.message})
    if done is None:
        return Status(202, {"id": upload.pk, "status": upload.status, "counts": {}})
    return {"id": upload.pk, "status": upload.status, "counts": done.counts}
