"""A run left *running* by a dead worker (no live lease) is ended with the reason, queued again, shown as such on
the national page, and never blocks its schedule; a live lease protects a long run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.tasks import TaskResultStatus
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from apps.core import background
from apps.core.models import WorkerBeat
from apps.datasets.tasks import refresh_national_data
from apps.delivery.tasks import send_due_reminders

pytestmark = pytest.mark.django_db


def _running(task, started_minutes_ago: float, worker: str = "w-dead", *args) -> DBTaskResult:
    row = DBTaskResult.objects.get(pk=task.enqueue(*args).id)
    row.claim(worker)
    DBTaskResult.objects.filter(pk=row.pk).update(started_at=timezone.now() - timedelta(minutes=started_minutes_ago))
    row.refresh_from_db()
    return row


def test_an_abandoned_refresh_no_longer_blocks_the_schedule_and_is_queued_again(database_tasks, settings):
    settings.TASK_LEASE_SECONDS = 60
    WorkerBeat.objects.create(worker_id="w-dead", last_seen=timezone.now() - timedelta(minutes=10))
    lost = _running(refresh_national_data, started_minutes_ago=30)

    assert background.enqueue_unless_pending(refresh_national_data) is None  # the re-queued copy is the pending one
    lost.refresh_from_db()
    assert lost.status == TaskResultStatus.FAILED and lost.exception_class_path == background.WORKER_LOST
    assert "the worker running it stopped (last seen" in lost.traceback and "queued again as run" in lost.traceback
    again = DBTaskResult.objects.get(task_path=lost.task_path, status=TaskResultStatus.READY)
    assert again.queue_name == "national" and again.args_kwargs == lost.args_kwargs


def test_a_run_held_by_a_live_worker_is_left_alone(database_tasks, settings):
    settings.TASK_LEASE_SECONDS = 60
    row = _running(refresh_national_data, started_minutes_ago=30, worker="w-live")
    WorkerBeat.objects.create(worker_id="w-live", last_seen=timezone.now(), task_run_id=str(row.id))
    assert background.recover_abandoned_runs() == []
    assert background.enqueue_unless_pending(refresh_national_data) is None  # really running: not queued twice
    assert DBTaskResult.objects.get(pk=row.pk).status == TaskResultStatus.RUNNING


def test_a_run_just_claimed_is_not_taken_for_abandoned_before_its_lease_is_written(database_tasks, settings):
    settings.TASK_LEASE_SECONDS = 60
    row = _running(send_due_reminders, started_minutes_ago=0.1, worker="w-new")
    assert background.recover_abandoned_runs() == []
    assert DBTaskResult.objects.get(pk=row.pk).status == TaskResultStatus.RUNNING


def test_a_task_that_keeps_killing_its_worker_is_not_queued_for_ever(database_tasks, settings):
    settings.TASK_LEASE_SECONDS = 60
    lines = []
    for _ in range(background.MAX_RECOVERIES):
        DBTaskResult.objects.filter(status=TaskResultStatus.READY).delete()
        _running(send_due_reminders, 10)
        lines += background.recover_abandoned_runs()
    assert "queued again" in lines[0] and "not queued again: it has lost its worker 3 times" in lines[-1]
    assert not DBTaskResult.objects.filter(status=TaskResultStatus.READY).exists()


def test_the_page_shows_a_running_task_whose_worker_is_lost(client_for, database_tasks, settings):
    settings.TASK_LEASE_SECONDS = 60
    _running(refresh_national_data, started_minutes_ago=30)
    page = client_for("national").get(reverse("core:task_runs")).content.decode()
    assert "Worker lost" in page and "queues it again" in page
