"""Two test runs in one checkout keep out of each other's database (issue 21).

A long run and a one-file run beside it used to share the copy ``var/test-main.sqlite3`` (or ``test_gpr_main`` in
PostgreSQL): the short run's clean-up deleted the long run's file (or dropped its database, closing its sessions),
and from then on ``/health/`` answered 503 "database file missing" in the long run. Each process now has its own copy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse

from apps.core import testdb
from apps.core.tests.ceilings import EXIT_SECONDS, PROCESS_SECONDS

pytestmark = pytest.mark.django_db
# Any quick test that uses the database: the second run clones its own copy, runs it, and drops its copy.
OTHER_RUN = "apps/core/tests/test_health.py::test_a_working_service_answers_200_after_reading_a_table"


def test_a_second_run_in_the_same_checkout_leaves_this_runs_database_alone(client):
    assert client.get(reverse("core:health")).status_code == 200
    # The child inherits this process's environment, PYTEST_XDIST_WORKER and DATABASE_URL included, so before the
    # fix it picked the very same copy as this run.
    other = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", OTHER_RUN],
        cwd=settings.BASE_DIR,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=PROCESS_SECONDS,
        check=False,
    )
    assert other.returncode == 0, other.stdout[-2000:] + other.stderr[-2000:]
    response = client.get(reverse("core:health"))
    assert response.status_code == 200, json.loads(response.content)
    if connection.vendor == "sqlite":
        assert Path(testdb._clone["name"]).is_file()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite copies are files in var/")
def test_a_copy_left_by_a_killed_run_is_removed_and_a_live_runs_copy_is_kept():
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(timeout=EXIT_SECONDS)
    stale = testdb.VAR / f"test-run-gw9_{gone.pid}.sqlite3"
    live = testdb.VAR / f"test-run-gw9_{os.getppid()}.sqlite3"  # the process that started this one is running
    try:
        for path in (stale, live, Path(f"{stale}-wal")):
            path.write_bytes(b"x")
        testdb._drop_dead_sqlite_copies()
        assert not stale.exists() and not Path(f"{stale}-wal").exists()
        assert live.exists()
        assert Path(testdb._clone["name"]).is_file()  # this run's own copy
    finally:
        for path in (stale, live, Path(f"{stale}-wal")):
            path.unlink(missing_ok=True)
