"""The national refresh task: import every file, then score and compute ripple; a second run changes nothing, and a
file that fails to import fails the task, names the file and leaves the database as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.tasks import TaskResultStatus

from apps.datasets import refresh
from apps.datasets.models import ImportLog
from apps.datasets.registry import get_source, sources
from apps.datasets.tasks import refresh_national_data
from apps.indicators.models import ScoringRun
from apps.practices.models import ListSizeSnapshot, Practice
from apps.targeting.models import RippleScore

pytestmark = pytest.mark.django_db


def _snapshot() -> tuple[int, ...]:
    return (
        Practice.objects.count(),
        ListSizeSnapshot.objects.count(),
        sum(ListSizeSnapshot.objects.values_list("patients", flat=True)),
        ScoringRun.objects.count(),
        RippleScore.objects.count(),
    )


def test_a_second_refresh_of_the_same_files_changes_nothing():
    before = _snapshot()
    result = refresh_national_data.enqueue()
    assert result.status == TaskResultStatus.SUCCESSFUL, result.errors
    report = result.return_value
    assert set(report["imports"]) == {s.id for s in sources()}
    assert set(report["imports"].values()) == {ImportLog.Status.UNCHANGED}
    assert report["scoring"] == "the current scoring run is up to date: nothing to do"
    assert report["ripple"].endswith("are up to date: nothing to do")
    assert _snapshot() == before


def test_a_failed_import_fails_the_task_names_the_file_and_changes_nothing(tmp_path: Path, settings):
    # The shipped files (linked, not copied), but with the registrations extract missing its patient-count column.
    for src in sources():
        for f in src.files:  # the history files too
            target = tmp_path / f.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(src.file.parent.parent / f.path)
    regs = tmp_path / get_source("registrations").path
    lines = get_source("registrations").file.read_text().splitlines()
    regs.unlink()
    regs.write_text("\n".join([lines[0].replace("NUMBER_OF_PATIENTS", "PATIENTS"), *lines[1:200]]) + "\n")
    settings.NATIONAL_DATA_DIR = tmp_path
    before = _snapshot()

    result = refresh_national_data.enqueue()

    assert result.status == TaskResultStatus.FAILED
    error = result.errors[0].traceback.strip().splitlines()[-1]
    assert error.startswith("apps.datasets.refresh.RefreshFailed: 1 of ")
    assert "registrations:" in error and "NUMBER_OF_PATIENTS" in error and "scoring was not run" in error
    assert _snapshot() == before
    failed = ImportLog.objects.filter(dataset="registrations").order_by("-pk").first()
    assert failed is not None and failed.status == ImportLog.Status.FAILED


def test_when_files_changed_the_refresh_scores_then_computes_ripple(monkeypatch: pytest.MonkeyPatch):
    """Scoring and ripple run after the imports, in that order, each only if stale (their own checks decide)."""
    calls: list[tuple[str, dict]] = []

    def fake_call_command(name: str, **opts) -> None:
        calls.append((name, {k: v for k, v in opts.items() if k != "stdout"}))
        opts["stdout"].write(f"{name} done\n")

    monkeypatch.setattr(refresh, "call_command", fake_call_command)
    report = refresh.refresh_national_data()
    assert calls == [("score_practices", {"if_stale": True, "backtest": True}), ("compute_ripple", {"if_stale": True})]
    assert (report.scoring, report.ripple) == ("score_practices done", "compute_ripple done")
