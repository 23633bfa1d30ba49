"""Both ODS epraccur layouts and the registrations variants load through the import service; a dormant practice is
not an open one anywhere the register is read; a bad value in a column the service does not use keeps its row."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.datasets.models import ImportLog
from apps.datasets.registry import get_source
from apps.datasets.services import import_dataset
from apps.indicators.models import ScoringRun
from apps.indicators.services import watch_rows
from apps.practices.models import ICB, ListSizeSnapshot, Practice, PracticeStatus

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parents[3] / "analytics" / "tests" / "fixtures"


def test_the_2025_ods_layout_with_pipe_joined_roles_and_crlf_loads_and_a_dormant_practice_is_not_open():
    assert Practice.objects.open().filter(code="A81065").exists()  # active in the shipped (legacy) file
    log = import_dataset(
        get_source("epraccur"),
        FIXTURES / "epraccur" / "epraccur_2025_roles_crlf.csv",
        allow_row_drop=True,  # a 17-row fixture over the national file
    )
    assert log.status == ImportLog.Status.SUCCESS, log.message
    assert (log.layout, log.period) == ("ods-2025", "2026-04-09")
    assert Practice.objects.get(code="A81001").status == PracticeStatus.ACTIVE  # roles RO76|RO177
    dormant = Practice.objects.get(code="A81065")
    assert dormant.status == PracticeStatus.DORMANT
    assert not Practice.objects.open().filter(pk=dormant.pk).exists()
    assert set(Practice.objects.open().values_list("status", flat=True)) == {PracticeStatus.ACTIVE}
    # the ICB's watch list (the scored practices an ICB targets from) reads open practices only
    run = ScoringRun.objects.get(is_current=True)
    codes = {r.practice.code for r in watch_rows(ICB.objects.get(code="QHM"), run)}
    assert "A81001" in codes and "A81065" not in codes


def test_a_bad_value_in_an_unused_column_keeps_the_practice_and_the_log_says_so(tmp_path: Path):
    real = get_source("registrations").file
    text = real.read_text().replace("2025-04-01", "2025-05-01")
    text = text.replace(",TS18 1HU,", ",NOT A POSTCODE,", 1)
    f = tmp_path / "gp-reg-pat-prac-all.csv"
    f.write_text(text)
    log = import_dataset(get_source("registrations"), f)
    assert log.status == ImportLog.Status.SUCCESS, log.message
    assert ListSizeSnapshot.objects.filter(practice__code="A81001", extract_date="2025-05-01").exists()
    assert "1 bad value(s) in columns the service does not use blanked, rows kept" in log.message
    assert any("column POSTCODE" in e and "value ignored, row kept" in e for e in log.skip_examples)
    # the only rows left out are the ones the register has no practice for, as in the shipped file's load
    assert all("not in the register" in r or "Welsh" in r for r in log.skip_reasons), log.skip_reasons


@pytest.mark.parametrize(
    ("name", "layout"),
    [
        ("gp-reg-pat-prac-all_ccg_2021-01.csv", "ccg-legacy"),
        ("gp-reg-pat-prac-all_ccg_2022-05.csv", "ccg-legacy"),
        ("gp-reg-pat-prac-all_ccg_2020-09.csv", "ccg-legacy"),
    ],
)
def test_every_registrations_variant_loads_as_history_and_says_so(name: str, layout: str):
    log = import_dataset(get_source("registrations"), FIXTURES / "registrations" / name)
    assert (log.status, log.layout) == (ImportLog.Status.SUCCESS, layout), log.message
    assert "loaded as history" in log.message and "2025-04-01 already loaded" in log.message


def test_an_unknown_layout_is_refused_naming_the_missing_columns_and_changes_nothing(tmp_path: Path):
    f = tmp_path / "gp-reg-pat-prac-all.csv"
    lines = get_source("registrations").file.read_text().splitlines()
    header = lines[0].replace("SUB_ICB_LOCATION_CODE,ONS_SUB_ICB_LOCATION_CODE", "ICB_CODE,ONS_ICB_CODE")
    f.write_text("\n".join([header, *lines[1:]]) + "\n")
    before = ListSizeSnapshot.objects.count()
    log = import_dataset(get_source("registrations"), f, force=True)
    assert log.status == ImportLog.Status.FAILED
    assert (
        "missing column(s) for the sub-icb-2022 layout: SUB_ICB_LOCATION_CODE, ONS_SUB_ICB_LOCATION_CODE" in log.message
    )
    assert "CCG_CODE, ONS_CCG_CODE" in log.message
    assert ListSizeSnapshot.objects.count() == before


def test_the_registrations_zip_as_published_loads_and_changes_nothing(tmp_path: Path):
    import zipfile

    real = get_source("registrations").file
    z = tmp_path / "gp-reg-pat-prac-all.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.write(real, real.name)
    log = import_dataset(get_source("registrations"), z)
    assert log.status == ImportLog.Status.SUCCESS, log.message
    assert (log.rows_read, log.created, log.updated) == (6239, 0, 0)
