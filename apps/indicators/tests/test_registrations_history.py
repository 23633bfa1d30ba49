"""Registrations history in the database: extracts of every layout imported as history, dated by what their import
log recorded, and read by the list-change indicators with mergers adjusted through the lineage."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from analytics.disappearances import through_lineage
from analytics.features import features, registered_list_changes
from analytics.history import as_published
from apps.datasets.models import ImportLog
from apps.datasets.registry import get_source
from apps.datasets.services import import_dataset
from apps.indicators import history_db

pytestmark = pytest.mark.django_db

AS_OF = date(2023, 5, 1)
LEGACY = "PUBLICATION,EXTRACT_DATE,TYPE,CCG_CODE,ONS_CCG_CODE,CODE,POSTCODE,SEX,AGE,NUMBER_OF_PATIENTS\n"
SUB_ICB = (
    "PUBLICATION,EXTRACT_DATE,TYPE,SUB_ICB_LOCATION_CODE,ONS_SUB_ICB_LOCATION_CODE,CODE,POSTCODE,SEX,AGE,"
    "NUMBER_OF_PATIENTS\n"
)


def _row(when: str, code: str, patients: int) -> str:
    return f"GP_PRAC_PAT_LIST,{when},GP,16C,E38000247,{code},TS18 1HU,ALL,ALL,{patients}\n"


def _import(folder: Path, name: str, text: str, source_id: str = "registrations") -> ImportLog:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    log = import_dataset(get_source(source_id), path, triggered_by="test", refresh=False)
    assert log.status == ImportLog.Status.SUCCESS, log.message
    return log


def test_a_merged_pair_shows_no_growth_and_the_gate_reads_the_import_log(tmp_path: Path) -> None:
    cohort = features(as_published(history_db.load_history(), AS_OF), history_db.lineage())
    a, b = cohort.get_column("practice_code")[:2].to_list()
    folder = tmp_path / "gp_registered_patients_practice"
    folder.mkdir()
    # B is absorbed by A in the summer of 2022: A's list jumps from 5,000 to 8,000 with B's 3,000 patients.
    logs = [
        _import(folder, "2021.csv", LEGACY + _row("01APR2021", a, 5000) + _row("01APR2021", b, 3000)),
        _import(folder, "2022.csv", LEGACY + _row("01Apr2022", a, 5000) + _row("01Apr2022", b, 3000)),
        _import(folder, "2023.csv", SUB_ICB + _row("2023-04-01", a, 8000)),
    ]
    assert [log.layout for log in logs] == ["ccg-legacy", "ccg-legacy", "sub-icb-2022"]
    assert all("loaded as history" in log.message for log in logs)  # the 2025 extract stays current

    # Files given by path carry no publication date: dated by their first import (today), they are not usable in
    # 2023. The date fetch_national records from the publisher is what the gate reads.
    history = history_db.load_history()
    assert "2023-04-01" not in as_published(history, AS_OF).periods("registrations")
    for log, published in zip(logs, (date(2021, 4, 15), date(2022, 4, 14), date(2023, 4, 13)), strict=True):
        log.published, log.published_basis = published, "HTTP Last-Modified"
        log.save(update_fields=["published", "published_basis"])
    history = history_db.load_history()
    gated = as_published(history, AS_OF)
    assert gated.periods("registrations") == ["2021-04-01", "2022-04-01", "2023-04-01"]
    assert "2022-04-01" not in as_published(history, date(2022, 4, 1)).periods("registrations")

    # without the link the merger reads as growth; with the lineage imported through the service it does not
    lineage = get_source("lineage")
    unlinked = registered_list_changes(gated.registrations, through_lineage(history_db.lineage(), AS_OF))
    assert unlinked.filter(pl.col("practice_code") == a)["reg_change_1y"][0] == pytest.approx(0.47, abs=0.01)
    lineage_dir = tmp_path / lineage.file.parent.name
    lineage_dir.mkdir()
    _import(
        lineage_dir,
        lineage.file.name,
        lineage.file.read_text(encoding="utf-8-sig") + f"\n{a},{b},,,01/04/2013,01/07/2022",
        "lineage",
    )
    row = features(gated, history_db.lineage()).filter(pl.col("practice_code") == a).row(0, named=True)
    assert row["list_change_1y"] == pytest.approx(0.0)
    assert row["list_change_2y"] == pytest.approx(0.0)
    # a practice the extracts do not cover keeps the workforce years' change
    other = features(gated, history_db.lineage()).filter(pl.col("practice_code") != a)
    before = cohort.filter(pl.col("practice_code") != a).select("practice_code", "list_change_1y")
    assert other.select("practice_code", "list_change_1y").equals(before)
