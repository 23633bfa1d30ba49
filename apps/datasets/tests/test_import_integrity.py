"""Every national source, as shipped: a truncated copy and an older copy over the loaded file are refused (or, for a
source that keeps history, loaded as history only) and the database is left exactly as it was.

The session database holds every shipped file, loaded once (conftest). Each test damages a copy of one file, imports
it, and compares a fingerprint of the register before and after.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from django.apps import apps

from apps.datasets.models import ImportLog
from apps.datasets.registry import Source, get_source, sources
from apps.practices.models import Practice

pytestmark = pytest.mark.django_db

SOURCE_IDS = [s.id for s in sources()]
TABLE_APPS = ("practices", "datasets", "indicators")
PRACTICE_FIELDS = (
    "code", "name", "status", "open_date", "close_date", "address", "postcode", "lat", "lon", "region_id", "icb_id",
    "sub_icb_id", "pcn_id", "list_size", "list_size_date", "contract_type", "rurality", "dispensing", "imd_score",
)  # fmt: skip


def _fingerprint() -> tuple[dict[str, int], str]:
    """Row counts of every table an import can touch, and a digest of every practice's register fields."""
    counts = {
        m._meta.label: m.objects.count()
        for app in TABLE_APPS
        for m in apps.get_app_config(app).get_models()
        if m is not ImportLog
    }
    rows = Practice.objects.order_by("code").values_list(*PRACTICE_FIELDS)
    return counts, hashlib.sha256(repr(list(rows)).encode()).hexdigest()


def _import(source: Source, path: Path, **kwargs: object) -> ImportLog:
    from apps.datasets.services import import_dataset

    return import_dataset(source, path, force=True, triggered_by="integrity test", **kwargs)  # type: ignore[arg-type]


def _copy(source: Source, tmp_path: Path, content: bytes | None = None, name: str | None = None) -> Path:
    """The source's folder copied (companion files such as QOF's mapping file stay beside it), the file replaced."""
    folder = tmp_path / source.file.parent.name
    shutil.copytree(source.file.parent, folder)
    target = folder / (name or source.file.name)
    if name:
        (folder / source.file.name).rename(target)
    if content is not None:
        target.write_bytes(content)
    return target


# --- workbooks (ePCN): rewritten sheet by sheet, keeping sheet names and header text ---------------------------------


def _rewrite_workbook(src: Path, dest: Path, change: Callable[[pl.DataFrame], pl.DataFrame]) -> None:
    sheets = pl.read_excel(src, sheet_id=0, engine="calamine", infer_schema_length=0)
    with xlsxwriter.Workbook(dest) as wb:
        for name, frame in sheets.items():
            frame = change(frame)
            ws = wb.add_worksheet(name)
            ws.write_row(0, 0, frame.columns)
            for r, row in enumerate(frame.iter_rows(), start=1):
                ws.write_row(r, 0, ["" if v is None else v for v in row])


# --- truncation ------------------------------------------------------------------------------------------------------


def _cut_inside_last_field(source: Source, tmp_path: Path) -> Path:
    raw = source.file.read_bytes()
    if source.file.suffix == ".xlsx":
        return _copy(source, tmp_path, raw[: int(len(raw) * 0.9)])
    return _copy(source, tmp_path, raw.rstrip(b"\r\n")[:-2])  # every field still there, the last one cut short


def _cut_at_a_line_end(source: Source, tmp_path: Path) -> Path:
    if source.file.suffix == ".xlsx":
        target = _copy(source, tmp_path)
        _rewrite_workbook(source.file, target, lambda f: f.head(int(f.height * 0.6)))
        return target
    raw = source.file.read_bytes()
    end = raw.find(b"\n", int(len(raw) * 0.6)) + 1  # a well-formed file, 40% shorter
    return _copy(source, tmp_path, raw[:end])


@pytest.mark.parametrize("cut", [_cut_inside_last_field, _cut_at_a_line_end], ids=["inside-last-field", "at-line-end"])
@pytest.mark.parametrize("source_id", SOURCE_IDS)
def test_a_truncated_copy_of_every_source_is_refused_and_changes_nothing(
    source_id: str, cut: Callable[[Source, Path], Path], tmp_path: Path
):
    source = get_source(source_id)
    path = cut(source, tmp_path)
    before, logs = _fingerprint(), ImportLog.objects.count()
    log = _import(source, path, refresh=False)
    assert log.status == ImportLog.Status.FAILED, (source_id, log.message)
    # the cut is named as such, or shows as far fewer rows, or (epraccur, whose newest dates are in its last rows)
    # as a file older than the one loaded: each a refusal
    reasons = ("truncated", "cannot read the workbook", "fewer than", "older than the")
    assert any(r in log.message for r in reasons), log.message
    assert _fingerprint() == before
    assert ImportLog.objects.count() == logs + 1  # the refusal itself is logged, with its reason


def test_an_operator_may_accept_a_real_row_count_drop_and_it_is_audited(tmp_path: Path):
    from apps.core.models import AuditRecord

    source = get_source("registrations")
    path = _cut_at_a_line_end(source, tmp_path)
    log = _import(source, path, refresh=False, allow_row_drop=True)
    assert log.status == ImportLog.Status.SUCCESS, log.message
    assert "row-count drop accepted by the operator" in log.message
    # the log row itself is audited too (created running, then finished); the operator's decision is its own record
    record = AuditRecord.objects.get(
        model="datasets.ImportLog", object_pk=str(log.pk), changes__has_key="allow_row_drop"
    )
    assert "allow_row_drop" in record.changes and "fewer than the 6,239" in record.changes["allow_row_drop"][1]


# --- older over newer ------------------------------------------------------------------------------------------------


def _older_epcn(source: Source, tmp_path: Path) -> Path:
    target = _copy(source, tmp_path)
    # every 2023 date a year earlier: the latest date in the workbook (its period) moves from 2023-01-09 to 2022
    _rewrite_workbook(
        source.file,
        target,
        lambda f: f.with_columns(pl.col(c).str.replace(r"^2023([0-9]{4})$", "2022$1") for c in f.columns),
    )
    return target


def _edited(old: bytes, new: bytes) -> Callable[[Source, Path], Path]:
    def make(source: Source, tmp_path: Path) -> Path:
        raw = source.file.read_bytes()
        assert old in raw, (source.id, old)
        return _copy(source, tmp_path, raw.replace(old, new))

    return make


def _renamed(name: str, companion: tuple[str, str] | None = None) -> Callable[[Source, Path], Path]:
    def make(source: Source, tmp_path: Path) -> Path:
        target = _copy(source, tmp_path, name=name)
        if companion:
            (target.parent / companion[0]).rename(target.parent / companion[1])
        return target

    return make


# Sources whose files say their date (in the rows or the file name): a copy a period older.
OLDER: dict[str, Callable[[Source, Path], Path]] = {
    "epraccur": _edited(b',"2025', b',"2024'),  # every 2025 open/close/join date a year earlier
    "mapping": _edited(b"01Oct2025", b"01Sep2025"),
    "epcn": _older_epcn,
    "registrations": _edited(b"2025-04-01", b"2025-03-01"),
    "payments": _renamed("nhspaymentsgp-21-22-prac-csv.csv"),
    "workforce": _edited(b'"2025",', b'"2022",'),
    "lineage": _edited(b"/2022", b"/2021"),  # every April-2022 activity month a year earlier
    "qof": _renamed("QOF 2021-22.csv"),
    "qof_prevalence": _renamed(
        # QOF names files by the two years' last digits: _2021 is 2020-21, so _1920 is 2019-20
        "PREVALENCE_1920_v2.csv",
        ("MAPPING_INDICATORS_2021_v2.csv", "MAPPING_INDICATORS_1920_v2.csv"),
    ),
}
# Files without a date (the parser fixes the period): the older copy is the shipped file itself, after a newer one
# (the same rows in another order, so the load changes no value) has replaced it.
DATELESS = sorted(set(SOURCE_IDS) - set(OLDER))


def test_every_source_is_covered():
    assert set(DATELESS) == {"closure_labels", "cqc", "locations", "lsoa11_ccg", "lsoa11_centroids", "lsoa21_icb"}


@pytest.mark.parametrize("source_id", sorted(OLDER))
def test_an_older_copy_is_refused_or_loaded_as_history_only(source_id: str, tmp_path: Path):
    source = get_source(source_id)
    path = OLDER[source_id](source, tmp_path)
    before = _fingerprint()
    log = _import(source, path)
    if source.keeps_history:
        # rows keyed by period: the older period is added as history; the register's current values do not move
        assert log.status == ImportLog.Status.SUCCESS, log.message
        assert "loaded as history" in log.message and "already loaded" in log.message
        assert _fingerprint()[1] == before[1]
    else:
        assert log.status == ImportLog.Status.FAILED, log.message
        assert log.message.startswith("refused: this file is for ") and "older than the" in log.message
        assert _fingerprint() == before


@pytest.mark.parametrize("source_id", DATELESS)
def test_a_superseded_dateless_file_is_refused_and_changes_nothing(source_id: str, tmp_path: Path):
    source = get_source(source_id)
    raw = source.file.read_bytes()
    lines = raw.splitlines(keepends=True)
    newer = _copy(source, tmp_path, b"".join([*lines[:-2], lines[-1], lines[-2]]))
    assert _import(source, newer, refresh=False).status == ImportLog.Status.SUCCESS
    before = _fingerprint()
    log = _import(source, source.file, refresh=False)
    assert log.status == ImportLog.Status.FAILED
    assert "this exact file was loaded on" in log.message and "replaced by" in log.message
    assert _fingerprint() == before


def test_the_loaded_file_itself_still_reloads_after_the_checks():
    source = get_source("registrations")
    log = _import(source, source.file, refresh=False)
    assert log.status == ImportLog.Status.SUCCESS, log.message
    assert (log.created, log.updated) == (0, 0)


def test_the_command_refuses_a_row_count_drop_unless_told_and_then_audits_it(tmp_path: Path):
    from django.core.management import CommandError, call_command

    from apps.core.models import AuditRecord

    source = get_source("registrations")
    path = _cut_at_a_line_end(source, tmp_path)
    before = _fingerprint()
    with pytest.raises(CommandError, match="failed"):
        call_command("import_national", "registrations", path=path, quiet=True)
    refused = ImportLog.objects.filter(dataset="registrations").order_by("-started_at").first()
    assert refused is not None and refused.status == ImportLog.Status.FAILED
    assert "fewer than the 6,239" in refused.message and "--allow-row-drop" in refused.message
    assert _fingerprint() == before
    # the refused log row is itself audited (it is a record like any other), but no override decision is
    assert not AuditRecord.objects.filter(model="datasets.ImportLog", changes__has_key="allow_row_drop").exists()

    call_command("import_national", "registrations", path=path, quiet=True, allow_row_drop=True)
    accepted = ImportLog.objects.filter(dataset="registrations").order_by("-started_at").first()
    assert accepted is not None and accepted.status == ImportLog.Status.SUCCESS
    note = AuditRecord.objects.get(
        model="datasets.ImportLog", object_pk=str(accepted.pk), changes__has_key="allow_row_drop"
    ).changes["allow_row_drop"][1]
    assert "import_national" in note and "fewer than the 6,239" in note
