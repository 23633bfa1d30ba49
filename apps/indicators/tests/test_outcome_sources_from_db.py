"""The merger lineage and the closure-or-merger labels are national sources: imported through the service, they are
what the back-test's classification reads (not the shipped files by path)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from analytics.disappearances import CLOSURE, MERGER
from apps.datasets.models import ImportLog
from apps.datasets.registry import get_source
from apps.datasets.services import import_dataset
from apps.indicators import history_db
from apps.indicators.history_runs import classified_disappearances
from apps.practices.models import DisappearanceLabel, PracticeLineage

pytestmark = pytest.mark.django_db


def _unexplained_closure() -> tuple[str, str]:
    """A disappeared code the rule calls a closure for want of any successor, and an open practice to absorb it."""
    classified = classified_disappearances()
    gone = classified.filter((pl.col("evidence") == "no successor found") & (pl.col("outcome") == CLOSURE))
    code = str(gone.get_column("practice_code")[0])
    open_code = str(history_db.load_history().practices.filter(pl.col("close_date").is_null())["practice_code"][0])
    return code, open_code


def test_the_shipped_lineage_and_labels_are_in_the_database() -> None:
    assert PracticeLineage.objects.count() == 1086  # the 1,086 absorbed codes HEEC quotes
    assert DisappearanceLabel.objects.filter(outcome=CLOSURE).count() == 137
    assert DisappearanceLabel.objects.filter(outcome=MERGER).count() == 401
    log = ImportLog.objects.filter(dataset="lineage", status=ImportLog.Status.SUCCESS).first()
    assert log is not None and log.layout == "sidhu-2022" and log.period == "2022-04"


def test_a_lineage_imported_through_the_service_changes_the_back_tests_classification(tmp_path: Path) -> None:
    code, successor = _unexplained_closure()
    source = get_source("lineage")
    copy = tmp_path / "practice_merger_lineage_2013-2022" / source.file.name
    copy.parent.mkdir()
    # the shipped file plus one link: the closed code was absorbed by an open practice in April 2019
    copy.write_bytes(source.file.read_bytes() + f"\r\n{successor},{code},,,01/04/2013,01/04/2019".encode())
    log = import_dataset(source, copy, triggered_by="test")
    assert log.status == ImportLog.Status.SUCCESS, log.message
    assert log.created == 1

    after = classified_disappearances().filter(pl.col("practice_code") == code).row(0, named=True)
    assert (after["outcome"], after["evidence"], after["successor"]) == (MERGER, "lineage", successor)


def test_labels_imported_through_the_service_decide_the_outcome(tmp_path: Path) -> None:
    code, _ = _unexplained_closure()
    source = get_source("closure_labels")
    folder = tmp_path / source.file.parent.name
    folder.mkdir()
    (folder / source.file.name).write_bytes(source.file.read_bytes() + f"{code},Merged,Merged\n".encode())
    log = import_dataset(source, folder / source.file.name, triggered_by="test")
    assert log.status == ImportLog.Status.SUCCESS, log.message

    after = classified_disappearances().filter(pl.col("practice_code") == code).row(0, named=True)
    assert (after["outcome"], after["evidence"]) == (MERGER, "label")


def test_a_label_file_with_an_unknown_outcome_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    source = get_source("closure_labels")
    folder = tmp_path / source.file.parent.name
    folder.mkdir()
    (folder / source.file.name).write_bytes(source.file.read_bytes() + b"A81001,NA,Moved\n")
    before = list(DisappearanceLabel.objects.values_list("practice_code", "outcome"))
    log = import_dataset(source, folder / source.file.name, triggered_by="test")
    assert log.status == ImportLog.Status.FAILED and "Moved" in log.message
    assert list(DisappearanceLabel.objects.values_list("practice_code", "outcome")) == before
