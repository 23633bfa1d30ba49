"""A bad file is refused with a clear message and changes nothing; a dry run changes nothing either."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from apps.datasets.models import ImportLog
from apps.datasets.registry import get_source
from apps.datasets.services import import_dataset
from apps.practices.models import ListSizeSnapshot, Practice

pytestmark = pytest.mark.django_db
REAL = get_source("registrations").file


def _snapshot() -> tuple[int, int, int]:
    return (
        Practice.objects.count(),
        ListSizeSnapshot.objects.count(),
        sum(ListSizeSnapshot.objects.values_list("patients", flat=True)),
    )


def test_a_file_missing_columns_is_refused_naming_them_and_nothing_changes(tmp_path: Path):
    bad = tmp_path / "regs.csv"
    lines = REAL.read_text().splitlines()
    bad.write_text("\n".join([lines[0].replace("NUMBER_OF_PATIENTS", "PATIENTS"), *lines[1:50]]) + "\n")
    before = _snapshot()
    log = import_dataset(get_source("registrations"), bad, force=True)
    assert log.status == ImportLog.Status.FAILED
    assert "NUMBER_OF_PATIENTS" in log.message
    assert _snapshot() == before


def test_an_empty_file_is_refused(tmp_path: Path):
    empty = tmp_path / "epraccur.csv"
    empty.write_text("")
    log = import_dataset(get_source("epraccur"), empty, force=True)
    assert log.status == ImportLog.Status.FAILED
    assert "empty" in log.message


def test_a_missing_file_is_logged_as_failed(tmp_path: Path):
    log = import_dataset(get_source("cqc"), tmp_path / "nope.csv", force=True)
    assert log.status == ImportLog.Status.FAILED
    assert "cannot read" in log.message


def test_a_loader_error_rolls_back_the_whole_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Half the rows written, then a crash: none of them may stay."""
    from apps.datasets import loaders

    real_upsert = loaders.upsert
    calls = {"n": 0}

    def upsert_then_crash(*args, **kwargs):
        calls["n"] += 1
        result = real_upsert(*args, **kwargs)
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return result

    monkeypatch.setattr(loaders, "upsert", upsert_then_crash)
    changed = tmp_path / "gp-reg-pat-prac-map.csv"
    changed.write_text(get_source("mapping").file.read_text().replace("STOCKTON PCN", "RENAMED PCN"))
    from apps.practices.models import PCN, Region

    before = (Region.objects.count(), list(PCN.objects.filter(name__contains="STOCKTON").values_list("name")))
    log = import_dataset(get_source("mapping"), changed, force=True)
    assert log.status == ImportLog.Status.FAILED
    assert "rolled back" in log.message and "disk full" in log.message
    assert (Region.objects.count(), list(PCN.objects.filter(name__contains="STOCKTON").values_list("name"))) == before


def test_bad_rows_are_skipped_and_counted_with_row_and_column(tmp_path: Path):
    lines = REAL.read_text().splitlines()
    rows = lines[1:6]
    rows[1] = rows[1].rsplit(",", 1)[0] + ",lots"
    f = tmp_path / "regs.csv"
    f.write_text("\n".join([lines[0], *rows]) + "\n")
    # five rows against the 6,239 loaded: the row-count check would refuse it, so say the drop is meant
    log = import_dataset(get_source("registrations"), f, force=True, dry_run=True, allow_row_drop=True)
    assert log.status == ImportLog.Status.DRY_RUN
    assert log.skipped == 1
    assert any("row 2" in ex and "NUMBER_OF_PATIENTS" in ex for ex in log.skip_examples)


def test_dry_run_reports_but_saves_nothing(tmp_path: Path):
    f = tmp_path / "regs.csv"
    f.write_text(REAL.read_text().replace("2025-04-01", "2025-05-01"))
    before = _snapshot()
    log = import_dataset(get_source("registrations"), f, dry_run=True)
    assert log.status == ImportLog.Status.DRY_RUN
    assert log.created > 6000
    assert _snapshot() == before


def test_a_new_extract_adds_history_without_touching_the_old_one(tmp_path: Path):
    f = tmp_path / "regs.csv"
    f.write_text(REAL.read_text().replace("2025-04-01", "2025-07-01"))
    old = ListSizeSnapshot.objects.count()
    log = import_dataset(get_source("registrations"), f)
    assert log.status == ImportLog.Status.SUCCESS
    assert ListSizeSnapshot.objects.count() > old
    p = Practice.objects.get(code="A81001")
    assert str(p.list_size_date) == "2025-07-01"


def test_command_exits_non_zero_when_a_file_fails(tmp_path: Path):
    bad = tmp_path / "cqc.csv"
    bad.write_text("just,some,columns\n1,2,3\n")
    with pytest.raises(CommandError, match="failed"):
        call_command("import_national", "cqc", path=bad, quiet=True)


def test_unknown_dataset_name_is_a_clear_error():
    with pytest.raises(CommandError, match="unknown dataset 'nope'"):
        call_command("import_national", "nope")


FIXTURES = Path(__file__).resolve().parents[3] / "analytics" / "tests" / "fixtures"


@pytest.mark.parametrize(
    ("name", "extract"),
    [
        ("gp-reg-pat-prac-all_ccg_2021-01.csv", "2021-01-01"),
        ("gp-reg-pat-prac-all_ccg_2022-05.csv", "2022-05-01"),
        ("gp-reg-pat-prac-all_ccg_2020-09.csv", "2020-09-01"),
    ],
)
def test_older_registrations_layouts_load_as_history(name: str, extract: str):
    log = import_dataset(get_source("registrations"), FIXTURES / "registrations" / name)
    assert log.status == ImportLog.Status.SUCCESS, log.message
    assert log.layout == "ccg-legacy" and log.period == extract
    assert log.created > 0
    assert ListSizeSnapshot.objects.filter(extract_date=extract).count() == log.created
    # an older extract never replaces the practice's latest list size
    assert str(Practice.objects.get(code="A81001").list_size_date) == "2025-04-01"


def test_the_2025_ods_layout_loads_and_is_named_in_the_log():
    # a 15-row fixture over the 16,534-row national file: a row-count drop the operator accepts
    log = import_dataset(
        get_source("epraccur"), FIXTURES / "epraccur" / "epraccur_2025.csv", refresh=False, allow_row_drop=True
    )
    assert log.status == ImportLog.Status.SUCCESS, log.message
    assert log.layout == "ods-2025"
    assert log.created + log.updated + log.unchanged > 0
