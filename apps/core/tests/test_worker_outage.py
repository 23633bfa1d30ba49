"""The worker survives the database: with the SQLite file moved away it waits (and never creates an empty one),
and when the file is back it carries on with the queue. ``bin/serve`` supervises it: an exit is followed by a
restart, and stopping the supervisor stops the worker."""

from __future__ import annotations

import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest
from django.conf import settings

from apps.core.tests.ceilings import CONDITION_SECONDS, EXIT_SECONDS, PROCESS_SECONDS

ROOT = Path(settings.BASE_DIR)


def _wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _env(db: Path) -> dict[str, str]:
    """Production settings (so SQLite is never created by accident) on a scratch database."""
    base = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {
        **base,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "localhost",
        "DATABASE_URL": f"sqlite:///{db}",
        "TASK_LEASE_SECONDS": "2",
    }


def _query(db: Path, sql: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Path]:
    db = tmp_path / "outage.sqlite3"
    done = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT,
                          env=_env(db), capture_output=True, text=True, timeout=PROCESS_SECONDS)  # fmt: skip
    assert done.returncode == 0, done.stderr
    yield db


@pytest.mark.skipif(os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="SQLite file outage")
def test_the_worker_waits_while_the_database_file_is_gone_and_carries_on_when_it_is_back(scratch: Path, tmp_path):
    env = _env(scratch)
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "run_worker", "--queue-name", "*", "--no-reload", "--no-startup-delay",
         "--interval", "0.2"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        _wait_for(
            lambda: bool(_query(scratch, "SELECT 1 FROM core_workerbeat")), CONDITION_SECONDS, "the worker's lease"
        )
        away = tmp_path / "away"
        away.mkdir()
        parts = [p for p in tmp_path.iterdir() if p.name.startswith(scratch.name)]
        for part in parts:
            part.rename(away / part.name)
        time.sleep(3)  # a few polls and lease renewals against a missing database
        assert worker.poll() is None, "the worker exited when the database went away"
        assert not scratch.exists(), "the worker created an empty database"
        for part in parts:
            (away / part.name).rename(part)
        marker = tmp_path / "marker"
        marker.write_text("already started once")  # so the task returns at once
        enqueue = (
            f"from apps.core.tests.fault_tasks import hang_on_first_run as t; print(t.enqueue({str(marker)!r}).id)"
        )
        queued = subprocess.run([sys.executable, "manage.py", "shell", "-c", enqueue], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=PROCESS_SECONDS)  # fmt: skip
        run_id = queued.stdout.strip().splitlines()[-1].replace("-", "")
        _wait_for(
            lambda: (
                _query(scratch, f"SELECT status FROM django_tasks_database_dbtaskresult WHERE id = '{run_id}'")
                == [("SUCCESSFUL",)]
            ),
            CONDITION_SECONDS,
            "the worker to run a task after the outage",
        )
    finally:
        worker.send_signal(signal.SIGKILL)
        output = worker.communicate(timeout=EXIT_SECONDS)[0]
    assert "Database unreachable" in output and "unable to open database file" in output


def test_the_supervisor_restarts_a_worker_that_exits_and_stops_it_when_stopped(tmp_path: Path):
    runs = tmp_path / "runs"
    child = "import os, sys, time; open(sys.argv[1], 'a').write(f'{os.getpid()}\\n'); time.sleep(float(sys.argv[2]))"
    script = f'source bin/_setup.sh; supervise "the test worker" {sys.executable} -c "$CHILD" {runs} "$NAP"'
    env = {**os.environ, "CHILD": child, "SUPERVISE_DELAY": "0.1", "NAP": "0.2"}
    sup = subprocess.Popen(["bash", "-c", script], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: runs.exists() and len(runs.read_text().split()) >= 3, CONDITION_SECONDS, "three runs")
    finally:
        sup.send_signal(signal.SIGTERM)
        err = sup.communicate(timeout=EXIT_SECONDS)[1]
    assert "the test worker stopped (exit 0); starting it again" in err
    assert len(set(runs.read_text().split())) >= 3  # each restart is a new process

    # A long-running child is stopped with its supervisor, not left behind.
    env["NAP"] = "600"
    runs.unlink()
    sup = subprocess.Popen(["bash", "-c", script], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: runs.exists(), CONDITION_SECONDS, "the child")
    pid = int(runs.read_text().split()[0])
    sup.send_signal(signal.SIGTERM)
    sup.communicate(timeout=EXIT_SECONDS)
    time.sleep(0.3)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
