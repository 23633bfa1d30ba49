"""What ``/health/`` checks: it answers 200 only when the pages could work (issue 20, issue 14 item 10).

Each check returns the first problem as a short reason, or None. Order matters: the SQLite file is looked at before
any connection is made (opening a missing file would otherwise create an empty one in development), then the
database is asked which migrations are applied (a real read of ``django_migrations``) and a real application table
is read; then the production static files and the background worker's lease.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.staticfiles.storage import staticfiles_storage
from django.db import DatabaseError, connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Max
from django.utils import timezone

from apps.core.background import stores_task_runs
from apps.core.models import WorkerBeat


def sqlite_file_problem(conn: BaseDatabaseWrapper) -> str | None:
    if conn.vendor != "sqlite" or conn.is_in_memory_db():  # type: ignore[attr-defined]
        return None
    path = Path(str(conn.settings_dict["NAME"]))
    if not path.is_file():
        return "database file missing"
    if path.stat().st_size == 0:
        return "database file empty"
    return None


def database_problem(conn: BaseDatabaseWrapper) -> str | None:
    """Unreachable, pending migrations, or a table that cannot be read."""
    try:
        executor = MigrationExecutor(conn)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            return f"{len(pending)} migrations not applied"
        get_user_model().objects.using(conn.alias).only("pk").first()
    except DatabaseError as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return f"database unreachable: {first_line[:120]}"
    return None


def static_problem() -> str | None:
    """Production serves hashed static names from a manifest that ``collectstatic`` writes; without it every page
    fails to render."""
    manifest = getattr(staticfiles_storage, "manifest_name", None)
    if settings.DEBUG or manifest is None:
        return None
    if not staticfiles_storage.manifest_storage.exists(manifest):  # type: ignore[attr-defined]
        return "static files not collected"
    return None


def worker_problem() -> str | None:
    limit = settings.HEALTH_WORKER_MAX_SILENCE_SECONDS
    if limit <= 0 or not stores_task_runs():  # no worker needed when tasks run at once
        return None
    last = WorkerBeat.objects.aggregate(last=Max("last_seen"))["last"]
    if last is None:
        return "no background worker has been seen"
    silent = timezone.now() - last
    if silent > timedelta(seconds=limit):
        return f"background worker not seen for {int(silent.total_seconds())} s"
    return None


def problem(conn: BaseDatabaseWrapper | None = None) -> str | None:
    """The first reason the service is not healthy, or None."""
    conn = conn or connection
    return sqlite_file_problem(conn) or database_problem(conn) or static_problem() or worker_problem()
