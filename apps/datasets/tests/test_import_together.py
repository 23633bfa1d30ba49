"""The two LSOA 2011 files loaded together in one run (one insert per row into an empty table) leave exactly what
loading them one after the other leaves, with the same counts in each file's log; a failure of either file, or of the
load together, loses nothing: the good file still loads and the previous rows stay."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics.ingest.base import DatasetFormatError
from apps.datasets import services, together
from apps.datasets.models import ImportLog
from apps.datasets.registry import get_source
from apps.datasets.services import import_dataset, import_sources
from apps.practices.models import Lsoa2011

pytestmark = pytest.mark.django_db

PAIR = ("lsoa11_ccg", "lsoa11_centroids")


def _table() -> list[tuple[Any, ...]]:
    return list(
        Lsoa2011.objects.order_by("code").values_list(
            "code", "name", "sub_icb_code", "lad_code", "lad_name", "lat", "lon"
        )
    )


def _counts(logs: list[ImportLog]) -> dict[str, tuple[str, int, int, int, int]]:
    return {log.dataset: (log.status, log.rows_read, log.created, log.updated, log.unchanged) for log in logs}


def test_a_first_load_together_equals_the_two_loads_one_after_the_other():
    Lsoa2011.objects.all().delete()
    one_by_one = [import_dataset(get_source(sid), force=True, refresh=False) for sid in PAIR]
    expected = _table()
    Lsoa2011.objects.all().delete()
    with CaptureQueriesContext(connection) as ctx:
        both = import_sources([get_source(sid) for sid in PAIR], force=True, refresh=False)
    table = Lsoa2011._meta.db_table
    assert not [
        q for q in ctx.captured_queries if q["sql"].startswith("UPDATE") and table in q["sql"]
    ]  # one write each
    assert [log.dataset for log in both] == list(PAIR)
    assert _table() == expected
    assert _counts(both) == _counts(one_by_one)
    assert len(expected) > 32_000  # England and Wales: the centroid file adds the Welsh rows
    assert all(log.status == ImportLog.Status.SUCCESS for log in both)


def test_a_load_together_in_the_reverse_order_leaves_the_same_table():
    Lsoa2011.objects.all().delete()
    import_sources([get_source(sid) for sid in PAIR], force=True, refresh=False)
    expected = _table()
    Lsoa2011.objects.all().delete()
    logs = import_sources([get_source(sid) for sid in reversed(PAIR)], force=True, refresh=False)
    assert {log.dataset for log in logs} == set(PAIR)
    assert _table() == expected


def test_a_re_import_together_writes_nothing():
    import_sources([get_source(sid) for sid in PAIR], force=True, refresh=False)
    before = _table()
    logs = import_sources([get_source(sid) for sid in PAIR], force=True, refresh=False)
    assert [(log.created, log.updated) for log in logs] == [(0, 0), (0, 0)]
    assert _table() == before


def test_a_file_that_fails_to_parse_leaves_its_rows_and_the_other_file_loads_alone(monkeypatch: pytest.MonkeyPatch):
    before = _table()

    def unreadable(path: Any) -> Any:
        raise DatasetFormatError("centroids.csv: missing column(s): LSOA11CD")

    monkeypatch.setitem(services.PARSERS, "lsoa11_centroids", unreadable)
    logs = {log.dataset: log for log in import_sources([get_source(sid) for sid in PAIR], force=True, refresh=False)}
    assert logs["lsoa11_centroids"].status == ImportLog.Status.FAILED
    assert "missing column" in logs["lsoa11_centroids"].message
    assert logs["lsoa11_ccg"].status == ImportLog.Status.SUCCESS
    assert _table() == before  # the same lookup loaded again alone changes nothing; the points are kept


def test_a_failed_load_together_is_rolled_back_and_each_file_then_loads_alone(monkeypatch: pytest.MonkeyPatch):
    Lsoa2011.objects.all().delete()
    real = together.JOINT_LOADERS[PAIR]

    def write_then_crash(*parsed: Any) -> Any:
        real(*parsed)
        raise RuntimeError("disk full")

    monkeypatch.setitem(together.JOINT_LOADERS, PAIR, write_then_crash)
    logs = import_sources([get_source(sid) for sid in PAIR], force=True, refresh=False)
    assert [log.status for log in logs] == [ImportLog.Status.SUCCESS, ImportLog.Status.SUCCESS]
    assert all("loaded alone after the load together" in log.message and "disk full" in log.message for log in logs)
    monkeypatch.setitem(together.JOINT_LOADERS, PAIR, real)
    loaded_alone = _table()
    Lsoa2011.objects.all().delete()
    import_sources([get_source(sid) for sid in PAIR], force=True, refresh=False)
    assert _table() == loaded_alone


def test_when_one_file_also_fails_alone_the_other_keeps_its_load_and_the_failed_one_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
):
    before = _table()

    def crash(*parsed: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setitem(together.JOINT_LOADERS, PAIR, crash)
    monkeypatch.setitem(services.LOADERS, "lsoa11_centroids", crash)
    logs = {log.dataset: log for log in import_sources([get_source(sid) for sid in PAIR], force=True, refresh=False)}
    assert logs["lsoa11_ccg"].status == ImportLog.Status.SUCCESS
    assert logs["lsoa11_centroids"].status == ImportLog.Status.FAILED
    assert "rolled back" in logs["lsoa11_centroids"].message
    assert _table() == before
    stored = ImportLog.objects.get(pk=logs["lsoa11_centroids"].pk)
    assert stored.status == ImportLog.Status.FAILED  # the log row says so too, not only the object returned


def test_a_success_log_is_saved_in_the_load_transaction_so_no_log_claims_rows_that_were_not_committed(
    monkeypatch: pytest.MonkeyPatch,
):
    Lsoa2011.objects.all().delete()
    real_save = ImportLog.save

    def refuse_success(self: ImportLog, *args: Any, **kwargs: Any) -> None:
        if self.status == ImportLog.Status.SUCCESS:
            raise RuntimeError("database went away")
        real_save(self, *args, **kwargs)

    monkeypatch.setattr(ImportLog, "save", refuse_success)
    log = import_dataset(get_source("lsoa11_ccg"), force=True, refresh=False)
    assert log.status == ImportLog.Status.FAILED and "database went away" in log.message
    assert (log.created, log.skip_reasons) == (0, {})
    assert not Lsoa2011.objects.exists()  # the rows went with the log that could not be saved


def test_a_dry_run_together_reports_both_files_and_writes_nothing():
    Lsoa2011.objects.all().delete()
    logs = import_sources([get_source(sid) for sid in PAIR], dry_run=True)
    assert [(log.dataset, log.status) for log in logs] == [(sid, ImportLog.Status.DRY_RUN) for sid in PAIR]
    assert logs[0].created > 32_000 and logs[1].updated > 32_000
    assert not Lsoa2011.objects.exists()
