"""``/health/`` tells the truth: 200 only after a real read of a real table; 503 with a short JSON reason when the
database is missing, empty, unreachable or not migrated, static files are not collected (production), or no
worker has been seen for the configured time."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.recorder import MigrationRecorder
from django.urls import reverse
from django.utils import timezone

from apps.core import health
from apps.core.models import WorkerBeat
from apps.core.tests.ceilings import PROCESS_SECONDS

URL = reverse("core:health")


def _get(client: Any) -> tuple[int, dict[str, Any]]:
    response = client.get(URL)
    return response.status_code, json.loads(response.content)


@contextmanager
def _probe(**changes: Any) -> Iterator[BaseDatabaseWrapper]:
    """A second connection to a database described like the default one but with ``changes``."""
    conn = connections.create_connection("default")
    conn.settings_dict = {**conn.settings_dict, **changes}
    conn.alias = "health-probe"
    try:
        yield conn
    finally:
        conn.close()


@pytest.mark.django_db
def test_a_working_service_answers_200_after_reading_a_table(client):
    status, body = _get(client)
    assert status == 200 and body == {"status": "ok", "database": connection.vendor}


@pytest.mark.django_db
def test_pending_migrations_answer_503(client):
    MigrationRecorder.Migration.objects.filter(app="core", name="0002_worker_lease_and_email_outbox").delete()
    status, body = _get(client)
    assert status == 503 and body["status"] == "error" and body["reason"] == "1 migrations not applied"


@pytest.mark.django_db
def test_no_worker_seen_for_the_configured_time_answers_503(client, database_tasks, settings, monkeypatch):
    settings.HEALTH_WORKER_MAX_SILENCE_SECONDS = 120
    WorkerBeat.objects.all().delete()
    assert _get(client) == (503, {"status": "error", "reason": "no background worker has been seen",
                                  "database": connection.vendor})  # fmt: skip
    # The check's clock is pinned: on a loaded machine a second could pass between writing the beat and the request,
    # and the reason read "301 s" (docs/testing.md, "Flakes fixed").
    checked_at = timezone.now()
    monkeypatch.setattr(health, "timezone", SimpleNamespace(now=lambda: checked_at))
    WorkerBeat.objects.create(worker_id="w", last_seen=checked_at - timedelta(minutes=5))
    assert _get(client)[1]["reason"] == "background worker not seen for 300 s"
    monkeypatch.undo()
    WorkerBeat.objects.filter(worker_id="w").update(last_seen=timezone.now())
    assert _get(client)[0] == 200


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite file checks")
def test_a_missing_or_empty_sqlite_file_is_reported_and_never_created(tmp_path: Path):
    missing = tmp_path / "gone.sqlite3"
    with _probe(NAME=str(missing)) as conn:
        assert health.problem(conn) == "database file missing"
    assert not missing.exists()
    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    with _probe(NAME=str(empty)) as conn:
        assert health.problem(conn) == "database file empty"


@pytest.mark.django_db
def test_an_unreachable_database_server_is_reported(tmp_path: Path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    if connection.vendor == "sqlite":
        changes: dict[str, Any] = {"NAME": str(tmp_path / "gone.sqlite3"), "MUST_EXIST": True}
        with _probe(**changes) as conn:
            assert health.database_problem(conn) == "database unreachable: unable to open database file"
        assert not (tmp_path / "gone.sqlite3").exists()
    else:
        with _probe(HOST="127.0.0.1", PORT=str(port), CONN_MAX_AGE=0) as conn:
            assert (health.database_problem(conn) or "").startswith("database unreachable: ")


def _manage(tmp_path: Path, db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``manage.py ARGS`` with the production settings on the SQLite file ``db`` (no worker check)."""
    base = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {
        **base,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
        "DATABASE_URL": f"sqlite:///{db}",
        "HEALTH_WORKER_MAX_SILENCE_SECONDS": "0",
    }
    run = [sys.executable, "manage.py", *args]
    return subprocess.run(run, cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=PROCESS_SECONDS)


def _health(tmp_path: Path, db: Path) -> str:
    code = "from django.test import Client; r = Client().get('/health/'); print(r.status_code, r.content.decode())"
    return _manage(tmp_path, db, "shell", "-c", code).stdout.strip().splitlines()[-1]


# Not marked django_db: it never touches the test database (its own SQLite file, through manage.py), so it runs once,
# with the SQLite run, rather than on each database (35 s).
def test_in_production_the_site_answers_503_until_migrated_and_collected_and_never_creates_the_file(tmp_path: Path):
    db = tmp_path / "prod.sqlite3"
    assert _health(tmp_path, db) == '503 {"status": "error", "reason": "database file missing", "database": "sqlite"}'
    assert not db.exists()  # a page or a check never creates the database; only migrate does
    users = _manage(tmp_path, db, "shell", "-c", "from apps.accounts.models import User; User.objects.count()")
    assert "unable to open database file" in users.stderr and not db.exists()
    assert _manage(tmp_path, db, "migrate", "--noinput", "-v", "0").returncode == 0 and db.stat().st_size > 0
    assert _health(tmp_path, db).startswith('503 {"status": "error", "reason": "static files not collected"')
    assert _manage(tmp_path, db, "collectstatic", "--noinput", "-v", "0").returncode == 0
    assert _health(tmp_path, db) == '200 {"status": "ok", "database": "sqlite"}'
