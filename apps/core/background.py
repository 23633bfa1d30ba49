"""Background tasks (``django.tasks``): what every task module shares, and what the national task-runs page reads.

The tasks themselves live with their domain: ``apps.cases.tasks`` (notification emails), ``apps.delivery.tasks``
(reminders) and ``apps.datasets.tasks`` (the national data refresh). Each takes IDs and plain values, never model
objects (arguments are stored as JSON in the queue), and is idempotent: running it twice does no harm, so a retry,
a second scheduled run or two workers racing are all safe.

The configured backend (``settings.TASKS``) is ``django_tasks_db.DatabaseBackend``: a task is a row in the
``django_tasks_db_dbtaskresult`` table until ``manage.py db_worker`` runs it and records the outcome there (ready,
running, successful, failed with the traceback). The test suite uses Django's ImmediateBackend, which runs a task
at enqueue time and stores nothing.

Retries: ``django.tasks`` has none of its own. A task that fails for a passing reason (a mail server outage) calls
:func:`retry_later`, which enqueues the same task again with the next attempt number, deferred by a back-off when
the backend supports ``run_after`` (the database backend does; the immediate backend runs it at once), until
``MAX_ATTEMPTS``. The failed run stays in the table as failed, with its error, so the national page shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count
from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, Task, TaskResult, TaskResultStatus, task_backends
from django.utils import timezone
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult, get_date_max

# The wait before attempt 2, 3, 4 and 5; after the fifth failure the task gives up (and says so in the log).
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1

# What the task-runs page calls each task (by its module path); an unknown path is shown as it is.
TASK_LABELS = {
    "apps.cases.tasks.send_notification_emails": "Notification emails",
    "apps.delivery.tasks.send_due_reminders": "Delivery reminders",
    "apps.datasets.tasks.refresh_national_data": "National data refresh",
}
# Tasks that call retry_later on failure; the others run once per queueing.
RETRIED_TASKS = {"apps.cases.tasks.send_notification_emails"}
STATUS_LABELS = {
    TaskResultStatus.READY: "Queued",
    TaskResultStatus.RUNNING: "Running",
    TaskResultStatus.SUCCESSFUL: "Succeeded",
    TaskResultStatus.FAILED: "Failed",
}


def retry_later(task: Task, attempt: int, *args: Any, **kwargs: Any) -> TaskResult | None:
    """Enqueue ``task(*args, attempt=attempt + 1, **kwargs)`` after the back-off for ``attempt``.

    Returns the new task result, or None when ``attempt`` was the last one allowed (the caller logs the give-up).
    """
    if attempt >= MAX_ATTEMPTS:
        return None
    if task.get_backend().supports_defer:
        task = task.using(run_after=timezone.now() + RETRY_DELAYS[attempt - 1])
    return task.enqueue(*args, attempt=attempt + 1, **kwargs)


def stores_task_runs() -> bool:
    """True when the configured backend keeps task runs where this service can list them (the database backend)."""
    return isinstance(task_backends[DEFAULT_TASK_BACKEND_ALIAS], DatabaseBackend)


def enqueue_unless_pending(task: Task, *args: Any, **kwargs: Any) -> TaskResult | None:
    """Enqueue ``task`` unless a run of it is already queued or running (then None): a scheduler that fires twice,
    or a worker that is behind, does not pile up copies of a long job. Backends that store nothing always enqueue."""
    if (
        stores_task_runs()
        and DBTaskResult.objects.filter(
            task_path=task.module_path, status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING]
        ).exists()
    ):
        return None
    return task.enqueue(*args, **kwargs)


@dataclass(frozen=True)
class TaskRun:
    """One run of a task as the national page shows it. ``error`` is the exception's last line, not the traceback."""

    id: str
    task: str
    status: str
    status_label: str
    attempt: int
    max_attempts: int
    enqueued_at: datetime
    run_after: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    error: str

    @property
    def duration(self) -> timedelta | None:
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


def _error_line(traceback: str) -> str:
    lines = [line for line in traceback.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def _task_run(row: DBTaskResult) -> TaskRun:
    kwargs = (row.args_kwargs or {}).get("kwargs") or {}
    run_after = None if row.run_after == get_date_max() else row.run_after
    return TaskRun(
        id=str(row.id),
        task=TASK_LABELS.get(row.task_path, row.task_path),
        status=row.status,
        status_label=STATUS_LABELS.get(row.status, row.status),  # type: ignore[call-overload]
        attempt=int(kwargs.get("attempt", 1)),
        max_attempts=MAX_ATTEMPTS if row.task_path in RETRIED_TASKS else 1,
        enqueued_at=row.enqueued_at,
        run_after=run_after,
        started_at=row.started_at,
        finished_at=row.finished_at,
        error=_error_line(row.traceback) if row.status == TaskResultStatus.FAILED else "",
    )


def recent_task_runs(*, status: str = "", limit: int = 100) -> list[TaskRun]:
    """The newest task runs first (optionally of one status), at most ``limit``. Empty when nothing is stored."""
    if not stores_task_runs():
        return []
    qs = DBTaskResult.objects.order_by("-enqueued_at")
    if status:
        qs = qs.filter(status=status)
    return [_task_run(row) for row in qs[:limit]]


def task_run_counts() -> dict[str, int]:
    """How many stored runs are in each status (every status present, zero when none)."""
    counts = dict.fromkeys(STATUS_LABELS, 0)
    if stores_task_runs():
        for row in DBTaskResult.objects.values("status").annotate(n=Count("id")).order_by():
            counts[row["status"]] = row["n"]
    return {str(k): v for k, v in counts.items()}
