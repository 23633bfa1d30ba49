"""A worker killed outright (SIGKILL) mid-task: the run is ended visibly and queued again within its lease, and an
email batch cut short sends every email exactly once, or shows it as "outcome unknown" (bin/test runs this module
on SQLite and on PostgreSQL; the worker is a real separate process, as in production)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from apps.accounts.models import User
from apps.cases import tasks
from apps.cases.models import Notification, NotificationKind
from apps.core.background import WORKER_LOST
from apps.core.models import OutboxEmail, WorkerBeat
from apps.core.tests.ceilings import CONDITION_SECONDS, EXIT_SECONDS
from apps.core.tests.fault_tasks import hang_on_first_run
from apps.core.tests.test_db_worker import _database_url

# Only the task table is flushed afterwards; the fixtures remove the leases and the test its own rows.
pytestmark = pytest.mark.django_db(transaction=True, available_apps=["django_tasks_db"])
LEASE = 2  # seconds: short, so the test waits little for a dead worker's lease to lapse


def _start_worker(env: dict[str, str]) -> subprocess.Popen[str]:
    args = ["run_worker", "--queue-name", "*", "--no-reload", "--no-startup-delay", "--interval", "0.2"]
    return subprocess.Popen(
        [sys.executable, "manage.py", *args, "--lease", str(LEASE)],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def worker_env(database_tasks: None, tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DJANGO_DEBUG": "true",
        "TASK_LEASE_SECONDS": str(LEASE),
        "DJANGO_EMAIL_BACKEND": "apps.core.tests.fault_tasks.RecordingBackend",
        "FAULT_MAIL_LOG": str(tmp_path / "delivered.txt"),
        "FAULT_MAIL_HANG": str(tmp_path / "hang"),
    }
    yield env


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=EXIT_SECONDS)
    WorkerBeat.objects.all().delete()


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=EXIT_SECONDS)


def test_a_run_whose_worker_is_killed_is_ended_visibly_and_runs_again_within_its_lease(
    worker_env: dict[str, str], workers: list[subprocess.Popen[str]], tmp_path: Path
) -> None:
    marker = tmp_path / "started"
    first = hang_on_first_run.enqueue(str(marker))
    workers.append(_start_worker(worker_env))
    _wait_for(marker.exists, CONDITION_SECONDS, "the task to start")
    _kill(workers[0])
    lapses_at = WorkerBeat.objects.get(pid=workers[0].pid).last_seen + timedelta(seconds=LEASE)
    assert DBTaskResult.objects.get(pk=first.id).status == TaskResultStatus.RUNNING  # what the kill leaves

    workers.append(_start_worker(worker_env))
    _wait_for(
        lambda: DBTaskResult.objects.filter(
            task_path=first.task.module_path, status=TaskResultStatus.SUCCESSFUL
        ).exists(),
        CONDITION_SECONDS,
        "the task to run again",
    )
    lost = DBTaskResult.objects.get(pk=first.id)
    assert lost.status == TaskResultStatus.FAILED
    assert lost.exception_class_path == WORKER_LOST
    assert "the worker running it stopped" in lost.traceback and "queued again as run" in lost.traceback
    again = DBTaskResult.objects.get(task_path=first.task.module_path, status=TaskResultStatus.SUCCESSFUL)
    assert again.return_value == "ran again"
    assert again.args_kwargs == lost.args_kwargs
    # Not before the dead worker's lease lapsed (a live lease is never taken), and soon after both the lapse and the
    # new worker's start (its first polls), not "for ever". The times are the database's own, so a slow machine
    # that takes long to start the new worker does not make the test fail.
    started = WorkerBeat.objects.get(pid=workers[1].pid).started_at
    assert lost.finished_at is not None and lost.finished_at >= lapses_at
    assert lost.finished_at - max(lapses_at, started) < timedelta(seconds=LEASE + 30)


def test_an_email_batch_cut_short_sends_each_email_once_or_shows_it_as_unknown(
    worker_env: dict[str, str], workers: list[subprocess.Popen[str]], tmp_path: Path
) -> None:
    addresses = ["a@example.org", "b@example.org", "hang@example.org", "d@example.org", "e@example.org"]
    people = []
    for i, address in enumerate(addresses):
        people.append(User.objects.create(username=f"crash-mail-{i}", email=address, role="national"))
    notes = [Notification.objects.create(user=u, kind=NotificationKind.STATUS, message="crash test") for u in people]
    try:
        (tmp_path / "hang").write_text("hang on the third email")
        run = tasks.send_notification_emails.enqueue([n.pk for n in notes])
        workers.append(_start_worker(worker_env))
        delivered = tmp_path / "delivered.txt"
        _wait_for(lambda: delivered.exists() and "hang@" in delivered.read_text(), CONDITION_SECONDS, "the third email")
        _kill(workers[0])
        (tmp_path / "hang").unlink()
        # Two sent and marked, the third handed over but not marked, two never tried.
        states = dict(
            OutboxEmail.objects.filter(key__in=[f"notification:{n.pk}" for n in notes]).values_list("to", "state")
        )
        assert states == {
            "a@example.org": "sent",
            "b@example.org": "sent",
            "hang@example.org": "sending",
            "d@example.org": "queued",
            "e@example.org": "queued",
        }

        workers.append(_start_worker(worker_env))
        _wait_for(
            lambda: DBTaskResult.objects.filter(
                task_path=run.task.module_path, status=TaskResultStatus.SUCCESSFUL
            ).exists(),
            CONDITION_SECONDS,
            "the batch to run again",
        )
        _wait_for(
            lambda: OutboxEmail.objects.filter(to="hang@example.org", state="unknown").exists(),
            CONDITION_SECONDS,
            "the unknown",
        )
        sent_to = delivered.read_text().split()
        assert sorted(sent_to) == sorted(addresses)  # each address exactly once: nothing resent, nothing lost
        states = dict(
            OutboxEmail.objects.filter(key__in=[f"notification:{n.pk}" for n in notes]).values_list("to", "state")
        )
        assert states == {a: "unknown" if a.startswith("hang") else "sent" for a in addresses}
        assert DBTaskResult.objects.get(pk=run.id).exception_class_path == WORKER_LOST
    finally:
        OutboxEmail.objects.filter(key__in=[f"notification:{n.pk}" for n in notes]).delete()
        Notification.objects.filter(pk__in=[n.pk for n in notes]).delete()
        User.objects.filter(pk__in=[u.pk for u in people]).delete()
