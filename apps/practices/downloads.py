"""Register downloads too large to write inside a request (issue 19 §5: nothing a user triggers takes more than
300 ms in a web request). A CSV of the whole register is written in about 100 ms and stays inline; an XLSX of more
than ``INLINE_ROWS`` practices (the whole register: 8,000 rows, about 0.7 s of xlsxwriter) is written by the worker.

The file is kept under the digest of exactly what it holds (the columns and every row, read in about 25 ms), so a
second request for the same rows is served from the database at once, and a register changed by an import gets a new
file: nothing can serve stale rows. Open national data: every signed-in user may download any of it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpResponse, QueryDict
from django.utils import timezone

from apps.accounts.models import User
from apps.core.exports import XLSX_TYPE, xlsx_bytes
from apps.practices.models import Practice, PracticeStatus, PreparedDownload
from apps.practices.policy import practices_visible_to

# Each column of the download and the field it is read from, as plain values: building a model instance (and its four
# related ones) per practice was nine tenths of the national register's download (345 ms of CPU for 8,233 practices;
# values: about a tenth of that).
EXPORT = (
    ("ods_code", "code"),
    ("name", "name"),
    ("status", "status"),
    ("postcode", "postcode"),
    ("region", "region__name"),
    ("icb_code", "icb__code"),
    ("icb", "icb__name"),
    ("sub_icb_code", "sub_icb__code"),
    ("pcn_code", "pcn__code"),
    ("pcn", "pcn__name"),
    ("list_size", "list_size"),
    ("list_size_date", "list_size_date"),
    ("contract_type", "contract_type"),
    ("rurality", "rurality"),
    ("dispensing", "dispensing"),
    ("open_date", "open_date"),
    ("close_date", "close_date"),
)
EXPORT_COLUMNS = [column for column, _ in EXPORT]
EXPORT_FIELDS = tuple(field for _, field in EXPORT)
STATUS_AT = EXPORT_FIELDS.index("status")
# A related record's name or code reads "" for a practice without that link (a missing PCN), as the model did
BLANK_WHEN_NONE = frozenset(i for i, field in enumerate(EXPORT_FIELDS) if "__" in field)


def export_rows(qs: QuerySet[Practice]) -> list[tuple[Any, ...]]:
    status = dict(PracticeStatus.choices)
    return [
        tuple(
            status.get(v, v) if i == STATUS_AT else ("" if v is None and i in BLANK_WHEN_NONE else v)
            for i, v in enumerate(r)
        )
        for r in qs.values_list(*EXPORT_FIELDS)
    ]


INLINE_ROWS = 2_000  # an XLSX of this many practices is written in about 0.15 s
KEEP = 10  # prepared files kept (the newest); older ones are deleted when a new one is written
ASK_AGAIN_AFTER = timedelta(minutes=2)  # a file not written by then is asked of the worker again (its run failed)


def digest_of(rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> str:
    h = hashlib.sha256(repr(tuple(columns)).encode())
    for row in rows:
        h.update(repr(tuple(row)).encode())
    return h.hexdigest()


def needs_worker(fmt: str, rows: Sequence[Sequence[Any]]) -> bool:
    return fmt == "xlsx" and len(rows) > INLINE_ROWS


def prepared(
    rows: Sequence[Sequence[Any]], filename: str, user_id: int, params: dict[str, list[str]]
) -> PreparedDownload:
    """The prepared XLSX of these rows (the register search's, by ``params`` as ``user_id`` sees it): written
    already, or asked of the worker now (once, however many ask)."""
    from apps.practices.tasks import write_register_download

    digest = digest_of(rows, EXPORT_COLUMNS)
    found = PreparedDownload.objects.filter(digest=digest).first()
    if found is not None:
        if found.content is None and found.requested_at < timezone.now() - ASK_AGAIN_AFTER:
            # the worker's run failed or was lost: ask again, once an interval however many are waiting (the update
            # claims the request, so only one of them queues the task)
            claimed = PreparedDownload.objects.filter(pk=found.pk, requested_at=found.requested_at)
            if claimed.update(requested_at=timezone.now()):
                write_register_download.enqueue(user_id, params, filename)
                found.refresh_from_db()
        return found
    try:
        with transaction.atomic():
            made = PreparedDownload.objects.create(digest=digest, filename=filename, rows=len(rows))
    except IntegrityError:  # another request asked for the same file a moment ago
        return PreparedDownload.objects.get(digest=digest)
    write_register_download.enqueue(user_id, params, filename)
    made.refresh_from_db()  # the test suite's immediate backend has written it already
    return made


def search_rows(user: User, params: dict[str, list[str]]) -> list[tuple[Any, ...]]:
    """The register search's download rows for these parameters, as ``user`` sees the register (the worker's side
    of :func:`prepared`: the same filter, so the same rows and digest while the register is unchanged)."""
    from apps.practices.tables import PracticeFilter

    query = QueryDict(mutable=True)
    for key, values in params.items():
        query.setlist(key, values)
    return export_rows(PracticeFilter(query, practices_visible_to(user)).qs)


def write(rows: Sequence[Sequence[Any]], columns: Sequence[str], filename: str) -> PreparedDownload:
    """Write the XLSX of these rows and keep it (the worker's side); drop all but the newest ``KEEP`` files."""
    content = xlsx_bytes(rows, columns)
    digest = digest_of(rows, columns)
    row, _ = PreparedDownload.objects.update_or_create(
        digest=digest,
        defaults={"filename": filename, "rows": len(rows), "content": content, "built_at": timezone.now()},
    )
    stale = PreparedDownload.objects.order_by("-requested_at", "-pk").values_list("pk", flat=True)[KEEP:]
    PreparedDownload.objects.filter(pk__in=list(stale)).exclude(pk=row.pk).delete()
    return row


def response(download: PreparedDownload) -> HttpResponse:
    assert download.content is not None
    answer = HttpResponse(bytes(download.content), content_type=XLSX_TYPE)
    answer["Content-Disposition"] = f'attachment; filename="{download.filename}.xlsx"'
    return answer
