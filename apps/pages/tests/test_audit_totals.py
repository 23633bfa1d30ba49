"""The national audit totals at scale (issue 19): counted and field names merged in SQL, so the totals agree with
a line-by-line count in Python and the page makes the same queries with ten times the case-level records."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.core.models import AuditRecord
from apps.pages.audit_totals import NO_ICB, audit_totals
from apps.pages.policy import audit_lines_listed_for

pytestmark = pytest.mark.django_db


def _record(at: datetime, actor_id: int | None, model: str, action: str, changes: dict) -> AuditRecord:
    return AuditRecord(at=at, actor_id=actor_id, actor="x", model=model, object_pk="1", action=action, changes=changes)


def _reference(records: list[AuditRecord], icb_of: dict[int | None, str]) -> dict:
    """The totals counted one row at a time, as the page used to."""
    out: dict = {}
    for r in records:
        key = (timezone.localtime(r.at).date().replace(day=1), icb_of.get(r.actor_id, NO_ICB), r.model, r.action)
        count, fields = out.get(key, (0, set()))
        out[key] = (count + 1, fields | set(r.changes))
    return out


def test_the_sql_totals_agree_with_counting_each_row(personas):
    icb_user, practice_user, national = personas["icb_a"], personas["practice_x"], personas["national"]
    AuditRecord.objects.all().delete()
    records = [
        _record(datetime(2026, 10, 31, 23, 30, tzinfo=UTC), icb_user.pk, "cases.Case", "update", {"status": [1, 2]}),
        _record(datetime(2026, 10, 3, tzinfo=UTC), icb_user.pk, "cases.Case", "update", {"owner": [1, 2]}),
        _record(datetime(2026, 10, 3, tzinfo=UTC), practice_user.pk, "cases.Case", "update", {"rag": [1, 2]}),
        _record(datetime(2026, 10, 4, tzinfo=UTC), practice_user.pk, "cases.Case", "create", {"a": 1, "b": 2}),
        _record(datetime(2026, 9, 4, tzinfo=UTC), None, "cases.Case", "delete", {}),
        _record(datetime(2026, 9, 5, tzinfo=UTC), national.pk, "cases.Plan", "update", {"due": [1, 2]}),
        _record(datetime(2026, 9, 6, tzinfo=UTC), 999_999, "cases.Plan", "update", {"due": [1, 2], "x": [1, 2]}),
    ]
    AuditRecord.objects.bulk_create(records)
    icb_of = {icb_user.pk: icb_user.icb.short_name, practice_user.pk: practice_user.practice.icb.short_name}
    got = {(t.month, t.icb, t.model, t.action): (t.count, t.fields) for t in audit_totals(AuditRecord.objects.all())}
    assert got == _reference(records, icb_of)
    # 23:30 UTC on 31 October is still October in London (GMT), and the ICB team and its practice share one total
    assert got[(date(2026, 10, 1), icb_user.icb.short_name, "cases.Case", "update")] == (3, {"status", "owner", "rag"})
    assert got[(date(2026, 9, 1), NO_ICB, "cases.Case", "delete")] == (1, set())


def test_a_filter_that_matches_nothing_gives_no_totals(personas):
    assert audit_totals(AuditRecord.objects.filter(model__in=[])) == []


def _grow(personas, n: int) -> None:
    """Case-level audit rows by several actors over several months, each naming a different field."""
    actors = [personas[p].pk for p in ("icb_a", "practice_x", "national")] + [None]
    now = timezone.now()
    AuditRecord.objects.bulk_create(
        _record(now.replace(month=1 + i % 12, day=1 + i % 28), actors[i % 4], "cases.Case", "update", {f"f{i % 7}": 1})
        for i in range(n)
    )


def test_the_national_audit_page_and_csv_make_the_same_queries_with_ten_times_the_records(client_for, personas):
    client = client_for("national")

    def measure(query: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse("core:audit") + query)
        assert response.status_code == 200
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        return len(ctx.captured_queries)

    _grow(personas, 40)
    measure("")  # the first request also loads what is cached once
    small = (measure(""), measure("?download=csv"))
    _grow(personas, 400)
    assert (measure(""), measure("?download=csv")) == small


def test_the_audit_downloads_stream_the_lines_then_the_totals(client_for, personas):
    _grow(personas, 30)
    response = client_for("national").get(reverse("core:audit"), {"download": "csv"})
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.getvalue().decode())))
    listed = audit_lines_listed_for(personas["national"])
    expected = audit_totals(AuditRecord.objects.exclude(model__in=listed))
    totals = [r for r in rows if r["id"] == "" and r["actor"] == ""]
    assert [(r["at"], r["icb"], r["record"], r["action"], int(r["count"]), r["fields_changed"]) for r in totals] == [
        (f"{t.month:%Y-%m}", t.icb, t.model, t.action, t.count, ", ".join(sorted(t.fields))) for t in expected
    ]
    assert sum(int(r["count"]) for r in totals) == AuditRecord.objects.exclude(model__in=listed).count()
    workbook = client_for("national").get(reverse("core:audit"), {"download": "xlsx"})
    assert workbook.streaming and workbook.getvalue()[:2] == b"PK"
