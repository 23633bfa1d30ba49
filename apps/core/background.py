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

Leases: a worker (``manage.py run_worker``, :mod:`apps.core.worker`) renews a lease (``WorkerBeat``) every few
seconds, naming the run it executes. A run left *running* by a worker that was killed outright has no live lease:
:func:`recover_abandoned_runs` marks it failed with the reason ("worker lost") and queues the same task again (every
task is idempotent), at most ``MAX_RECOVERIES`` times for the same arguments. Workers call it as they renew their
lease, and :func:`enqueue_unless_pending` calls it first, so an abandoned run never blocks its schedule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, Task, TaskResult, TaskResultStatus, task_backends
from django.utils import timezone
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult, get_date_max

from apps.core.models import WorkerBeat

# The wait before attempt 2, 3, 4 and 5; after the fifth failure the task gives up (and says so in the log).
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1

# What the task-runs page calls each task (by its module path); an unknown path is shown as it is.
TASK_LABELS = {
    "apps.cases.tasks.send_notification_emails": "Notification emails",
    "apps.delivery.tasks.send_due_reminders": "Delivery reminders",
    "apps.datasets.tasks.refresh_national_data": "National data refresh",
    "apps.core.tasks.send_queued_emails": "Queued emails (sent again after a decision)",
    "apps.caseload.tasks.plan_upload": "Caseload import preview",
    "apps.targeting.tasks.solve_scenario": "Optimiser scenario",
    "apps.practices.tasks.write_register_download": "Register download (spreadsheet)",
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
    or a worker that is behind, does not pile up copies of a long job. Backends that store nothing always enqueue.
    A run abandoned by a dead worker is recovered first, so it does not count as running (its re-queued copy does)."""
    recover_abandoned_runs()
    if (
        stores_task_runs()
        and DBTaskResult.objects.filter(
            task_path=task.module_path, status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING]
        ).exists()
    ):
        return None
    return task.enqueue(*args, **kwargs)


class WorkerLost(RuntimeError):
    """The worker running a task stopped (killed, crashed, lost its machine) before recording the outcome."""


WORKER_LOST = f"{WorkerLost.__module__}.{WorkerLost.__qualname__}"
# How many times one task with the same arguments is queued again after losing its worker: a task that kills its
# worker every time (say, out of memory) must not loop for ever.
MAX_RECOVERIES = 3


def lease() -> timedelta:
    return timedelta(seconds=settings.TASK_LEASE_SECONDS)


def live_run_ids(now: datetime | None = None) -> set[str]:
    """The task runs some worker has claimed under a lease that has not expired."""
    cutoff = (now or timezone.now()) - lease()
    return set(
        WorkerBeat.objects.filter(last_seen__gte=cutoff).exclude(task_run_id="").values_list("task_run_id", flat=True)
    )


def abandoned_runs(now: datetime | None = None) -> list[DBTaskResult]:
    """Runs marked running, started more than a lease ago, that no live worker holds."""
    if not stores_task_runs():
        return []
    now = now or timezone.now()
    live = live_run_ids(now)
    running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, started_at__lt=now - lease())
    return [row for row in running.order_by("started_at") if str(row.id) not in live]


def _earlier_losses(row: DBTaskResult) -> int:
    lost = DBTaskResult.objects.filter(task_path=row.task_path, exception_class_path=WORKER_LOST).exclude(pk=row.pk)
    return sum(1 for args in lost.values_list("args_kwargs", flat=True) if args == row.args_kwargs)


def recover_abandoned_runs(now: datetime | None = None) -> list[str]:
    """End every abandoned run as failed with the reason, and queue the same task again (unless it has already lost
    its worker ``MAX_RECOVERIES`` times with these arguments). Returns one line per run ended, for the log.
    Two callers racing are safe: a run is ended only by the one whose conditional update changes it."""
    done = []
    for row in abandoned_runs(now):
        seen = WorkerBeat.objects.filter(worker_id__in=row.worker_ids or []).order_by("-last_seen").first()
        when = f"last seen {seen.last_seen:%Y-%m-%d %H:%M:%S} UTC" if seen else "never seen"
        reason = f"the worker running it stopped ({when}, lease {settings.TASK_LEASE_SECONDS} s)"
        with transaction.atomic():
            ended = DBTaskResult.objects.filter(pk=row.pk, status=TaskResultStatus.RUNNING).update(
                status=TaskResultStatus.FAILED,
                finished_at=timezone.now(),
                exception_class_path=WORKER_LOST,
                traceback=f"{WORKER_LOST}: {reason}",
            )
            if not ended:
                continue
            if _earlier_losses(row) + 1 >= MAX_RECOVERIES:
                outcome = f"not queued again: it has lost its worker {MAX_RECOVERIES} times"
            else:
                result = row.task.enqueue(*row.task_result.args, **row.task_result.kwargs)
                outcome = f"queued again as run {result.id}"
            DBTaskResult.objects.filter(pk=row.pk).update(traceback=f"{WORKER_LOST}: {reason}; {outcome}")
        done.append(f"{TASK_LABELS.get(row.task_path, row.task_path)} run {row.id}: {reason}; {outcome}")
    return done


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
    # Running, but no worker holds its lease: it will be ended and queued again by the next worker or schedule.
    lost: bool = False

    @property
    def duration(self) -> timedelta | None:
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


def _error_line(traceback: str) -> str:
    lines = [line for line in traceback.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def _task_run(row: DBTaskResult, live: set[str], cutoff: datetime) -> TaskRun:
    kwargs = (row.args_kwargs or {}).get("kwargs") or {}
    run_after = None if row.run_after == get_date_max() else row.run_after
    lost = (
        row.status == TaskResultStatus.RUNNING
        and row.started_at is not None
        and row.started_at < cutoff
        and str(row.id) not in live
    )
    return TaskRun(
        id=str(row.id),
        task=TASK_LABELS.get(row.task_path, row.task_path),
        status=row.status,
        status_label="Worker lost" if lost else STATUS_LABELS.get(row.status, row.status),  # type: ignore[call-overload]
        attempt=int(kwargs.get("attempt", 1)),
        max_attempts=MAX_ATTEMPTS if row.task_path in RETRIED_TASKS else 1,
        enqueued_at=row.enqueued_at,
        run_after=run_after,
        started_at=row.started_at,
        finished_at=row.finished_at,
        error=_error_line(row.traceback) if row.status == TaskResultStatus.FAILED else "",
        lost=lost,
    )


def recent_task_runs(*, status: str = "", limit: int = 100) -> list[TaskRun]:
    """The newest task runs first (optionally of one status), at most ``limit``. Empty when nothing is stored."""
    if not stores_task_runs():
        return []
    qs = DBTaskResult.objects.order_by("-enqueued_at")
    if status:
        qs = qs.filter(status=status)
    now = timezone.now()
    live = live_run_ids(now)
    return [_task_run(row, live, now - lease()) for row in qs[:limit]]


def task_run_counts() -> dict[str, int]:
    """How many stored runs are in each status (every status present, zero when none)."""
    counts = dict.fromkeys(STATUS_LABELS, 0)
    if stores_task_runs():
        for row in DBTaskResult.objects.values("status").annotate(n=Count("id")).order_by():
            counts[row["status"]] = row["n"]
    return {str(k): v for k, v in counts.items()}
