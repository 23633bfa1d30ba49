"""Every import attempt leaves an import-log row: a load writes a *running* row before it starts (outside the load's
transaction), so one cut short (killed, out of memory) is still in the log, and the next import marks it
*interrupted*."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.datasets import services
from apps.datasets.models import ImportLog
from apps.datasets.registry import get_source

pytestmark = pytest.mark.django_db


def _running_row(pid: int, host: str = "", minutes_ago: int = 1) -> ImportLog:
    started = timezone.now() - timedelta(minutes=minutes_ago)
    return ImportLog.objects.create(dataset="registrations", file_name="regs.csv", sha256="0" * 64,
                                    status=ImportLog.Status.RUNNING, started_at=started, finished_at=started,
                                    message=f"{services.RUNNING_ON}{host or socket.gethostname()}:{pid}")  # fmt: skip


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def test_an_import_cut_short_is_marked_interrupted_at_the_next_import(tmp_path):
    cut = _running_row(_dead_pid())
    live = _running_row(os.getpid())  # this process is alive: its row is left alone
    far = _running_row(123, host="another-machine", minutes_ago=7 * 60)  # too old to be alive, wherever it ran
    services.import_dataset(get_source("registrations"), tmp_path / "missing.csv")
    cut.refresh_from_db()
    assert cut.status == ImportLog.Status.INTERRUPTED
    assert "stopped before finishing; nothing of it was saved" in cut.message
    assert ImportLog.objects.get(pk=live.pk).status == ImportLog.Status.RUNNING
    assert ImportLog.objects.get(pk=far.pk).status == ImportLog.Status.INTERRUPTED


def test_a_cut_short_import_never_counts_as_the_last_load_of_its_file():
    """Otherwise the file it was loading would be passed over as "unchanged" next time, never loaded."""
    for status in (ImportLog.Status.RUNNING, ImportLog.Status.INTERRUPTED):
        row = _running_row(_dead_pid())
        ImportLog.objects.filter(pk=row.pk).update(sha256="f" * 64, status=status,
                                                   started_at=timezone.now() + timedelta(days=1))  # fmt: skip
        assert not services.already_loaded("registrations", "f" * 64)


def test_an_attempt_leaves_one_row_that_ends_in_its_outcome(tmp_path, monkeypatch):
    bad = tmp_path / "regs.csv"
    bad.write_text("NOT,A,REGISTRATIONS,FILE\n1,2,3,4\n")
    seen: list[str] = []
    real = services.PARSERS["registrations"]

    def parse(path):
        # While parsing, the attempt is already in the log as running.
        seen.append(ImportLog.objects.filter(file_name="regs.csv").latest("started_at").status)
        return real(path)

    monkeypatch.setitem(services.PARSERS, "registrations", parse)
    before = ImportLog.objects.count()
    log = services.import_dataset(get_source("registrations"), bad, force=True)
    assert seen == [ImportLog.Status.RUNNING]
    assert log.status == ImportLog.Status.FAILED and ImportLog.objects.count() == before + 1
