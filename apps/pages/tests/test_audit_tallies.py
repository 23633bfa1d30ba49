"""The national audit page's kept tallies (issue 19 §2): refreshed from the records since the last run, they give the
same totals as grouping the whole trail, count nothing twice, and let the page read totals whatever the trail's size."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.core.models import AuditRecord
from apps.pages.audit_totals import audit_totals, refresh_tallies, tallied_totals
from apps.pages.models import AuditTally, AuditTallyMark
from apps.pages.policy import audit_lines_listed_for
from apps.pages.tests.test_audit_totals import _grow, _record

pytestmark = pytest.mark.django_db


def as_rows(totals) -> list[tuple]:
    return [(t.month, t.icb, t.model, t.action, t.count, sorted(t.fields)) for t in totals]


def test_tallies_plus_the_records_since_give_the_totals_of_the_whole_trail(personas):
    listed = audit_lines_listed_for(personas["national"])
    case_level = AuditRecord.objects.exclude(model__in=listed)
    _grow(personas, 40)
    refresh_tallies(settle=timedelta(0))
    assert AuditTally.objects.exists()
    # after the mark: one more of a tallied group and a new group, both only grouped live
    now = timezone.now()
    AuditRecord.objects.bulk_create(
        [
            _record(now + timedelta(seconds=1), personas["icb_a"].pk, "cases.Case", "update", {"new_field": 1}),
            _record(now + timedelta(seconds=1), None, "cases.Plan", "delete", {}),
        ]
    )
    assert as_rows(tallied_totals(case_level, exclude=listed)) == as_rows(audit_totals(case_level))
    narrowed = case_level.filter(model="cases.Case", action="update")
    assert as_rows(tallied_totals(narrowed, model="cases.Case", action="update", exclude=listed)) == as_rows(
        audit_totals(narrowed)
    )


def test_a_second_refresh_counts_nothing_twice_and_a_later_one_adds_only_the_new_records(personas):
    _grow(personas, 30)
    refresh_tallies(settle=timedelta(0))
    counted = sum(AuditTally.objects.values_list("count", flat=True))
    refresh_tallies(settle=timedelta(0))
    assert sum(AuditTally.objects.values_list("count", flat=True)) == counted
    upto = AuditTallyMark.objects.get().upto
    AuditRecord.objects.bulk_create(
        [_record(upto + timedelta(microseconds=1), None, "cases.Case", "update", {"f": 1}) for _ in range(3)]
    )
    refresh_tallies(settle=timedelta(0))
    total = sum(AuditTally.objects.values_list("count", flat=True))
    assert total == counted + 3 == AuditRecord.objects.filter(at__lte=upto).count() + 3


def test_records_younger_than_the_settling_time_wait_for_a_later_refresh(personas):
    AuditRecord.objects.bulk_create([_record(timezone.now(), None, "cases.Case", "update", {"young": 1})])
    upto = refresh_tallies()  # the default: records at least ten minutes old
    assert upto < timezone.now() - timedelta(minutes=9)
    assert sum(AuditTally.objects.values_list("count", flat=True)) == AuditRecord.objects.filter(at__lte=upto).count()
    assert all("young" not in t.fields for t in AuditTally.objects.all())


def test_the_national_page_reads_the_tallies_in_the_same_queries_at_ten_times_the_records(client_for, personas):
    client = client_for("national")

    def measure() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse("core:audit"))
        assert response.status_code == 200
        return len(ctx.captured_queries), response.content.decode()

    _grow(personas, 40)
    call_command("enqueue_scheduled", "audit")  # the immediate task backend runs it at once
    measure()  # the first request also loads what is cached once
    few, _ = measure()
    _grow(personas, 400)
    refresh_tallies(settle=timedelta(0))
    many, html = measure()
    assert many == few, f"{few} queries with few records, {many} with ten times as many"
    assert 'id="audit-totals"' in html


def test_totals_from_the_trail_and_from_tallies_add_up_to_one_line_each_newest_month_first():
    """The one place totals are keyed and ordered (``Totals``): the same month, ICB, record and action from any
    source is one line, its counts summed and changed fields joined; listed newest month, then ICB, record, action."""
    from datetime import date

    from apps.pages.audit_totals import AuditTotal, Totals, key_of

    totals = Totals()
    stored = AuditTally(month=date(2026, 5, 1), icb="ICB A", model="cases.Case", action="update", count=3,
                        fields=["status"])  # fmt: skip
    totals.add(*key_of(stored), count=stored.count, fields=stored.fields)
    totals.add(date(2026, 5, 1), "ICB A", "cases.Case", "update", count=2, fields={"urgency", "status"})
    totals.add(date(2026, 4, 1), "ICB A", "cases.Case", "create", count=1)
    totals.add(date(2026, 5, 1), "ICB A", "cases.Case", "create", count=4)
    totals.add(date(2026, 5, 1), "ICB B", "cases.Case", "create")
    assert key_of(AuditTotal(date(2026, 5, 1), "ICB A", "cases.Case", "update")) == key_of(stored)
    assert as_rows(totals.listed()) == [
        (date(2026, 5, 1), "ICB A", "cases.Case", "create", 4, []),
        (date(2026, 5, 1), "ICB A", "cases.Case", "update", 5, ["status", "urgency"]),
        (date(2026, 5, 1), "ICB B", "cases.Case", "create", 0, []),
        (date(2026, 4, 1), "ICB A", "cases.Case", "create", 1, []),
    ]
