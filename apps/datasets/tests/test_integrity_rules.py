"""The rules of :func:`apps.datasets.integrity.check_against_loaded`, one at a time, on a made-up source whose import
history is written directly (no file is loaded)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.ingest.base import Parsed
from apps.datasets.integrity import ImportRefused, check_against_loaded
from apps.datasets.models import ImportLog
from apps.datasets.registry import Source

pytestmark = pytest.mark.django_db


def _source(history: bool = False) -> Source:
    return Source("rules_test", "t", "p", "monthly", "https://example.org", "OGL", "x.csv", keeps_history=history)


def _loaded(period: str, rows: int, sha: str = "a", days_ago: int = 1, status: str = ImportLog.Status.SUCCESS) -> None:
    at = timezone.now() - timedelta(days=days_ago)
    ImportLog.objects.create(
        dataset="rules_test", file_name=f"{period}.csv", sha256=sha, period=period, status=status, started_at=at,
        finished_at=at, rows_read=rows,
    )  # fmt: skip


def _parsed(period: str, rows: int) -> Parsed:
    return Parsed(dataset="rules_test", layout="l", period=period, rows_read=rows, frames={})


def test_a_first_load_has_nothing_to_compare_with():
    verdict = check_against_loaded(_source(), _parsed("2025-04-01", 10))
    assert verdict.notes == [] and not verdict.history_only


def test_a_newer_file_may_have_up_to_five_percent_fewer_rows():
    _loaded("2025-04-01", 1000)
    assert check_against_loaded(_source(), _parsed("2025-05-01", 950)).notes == []
    with pytest.raises(ImportRefused, match=r"949 rows read, 5.1% fewer than the 1,000 of 2025-04-01.csv"):
        check_against_loaded(_source(), _parsed("2025-05-01", 949))


def test_the_operator_may_accept_a_drop_and_the_verdict_says_so():
    _loaded("2025-04-01", 1000)
    verdict = check_against_loaded(_source(), _parsed("2025-05-01", 500), allow_row_drop=True)
    assert "50.0% fewer" in verdict.row_drop_accepted
    assert verdict.notes == [f"row-count drop accepted by the operator: {verdict.row_drop_accepted}"]


def test_failed_dry_run_and_unchanged_imports_are_not_what_is_loaded():
    for status in (ImportLog.Status.FAILED, ImportLog.Status.DRY_RUN, ImportLog.Status.UNCHANGED):
        _loaded("2025-06-01", 1000, status=status)
    assert check_against_loaded(_source(), _parsed("2025-05-01", 10)).notes == []


def test_an_older_period_is_refused_unless_the_source_keeps_history():
    _loaded("2025-04-01", 1000)
    with pytest.raises(ImportRefused, match="this file is for 2025-03-01, older than the 2025-04-01 already loaded"):
        check_against_loaded(_source(), _parsed("2025-03-01", 1000))
    verdict = check_against_loaded(_source(history=True), _parsed("2025-03-01", 12))  # a first load: no baseline
    assert verdict.history_only and "loaded as history" in verdict.notes[0]


def test_a_republished_history_period_is_compared_with_its_own_last_load():
    _loaded("2025-03-01", 1000, days_ago=3)
    _loaded("2025-04-01", 1000, days_ago=2)
    with pytest.raises(ImportRefused, match=r"fewer than the 1,000 of 2025-03-01\.csv"):
        check_against_loaded(_source(history=True), _parsed("2025-03-01", 600))


def test_periods_of_another_shape_are_not_compared_and_the_log_says_so():
    _loaded("2022-23", 1000)
    verdict = check_against_loaded(_source(), _parsed("2023-04-01", 990))
    assert verdict.notes == ["period '2023-04-01' is not comparable with the periods loaded before (2022-23)"]


def test_a_file_already_replaced_by_another_is_refused():
    _loaded("2024-04", 1000, sha="old", days_ago=3)
    _loaded("2024-04", 1000, sha="new", days_ago=2)
    with pytest.raises(ImportRefused, match=r"this exact file was loaded on .* replaced by 2024-04\.csv"):
        check_against_loaded(_source(), _parsed("2024-04", 1000), sha256="old")
    assert check_against_loaded(_source(), _parsed("2024-04", 1000), sha256="new").notes == []  # the current one
