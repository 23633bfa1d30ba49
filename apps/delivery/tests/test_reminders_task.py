"""The reminders task (queued daily by ``enqueue_scheduled reminders``) sends what is due, once, and its emails go
through the notification-email task after the reminders commit."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from apps.cases.models import Notification, NotificationKind
from apps.delivery.models import Session
from apps.delivery.tasks import send_due_reminders

pytestmark = pytest.mark.django_db


@pytest.fixture
def tomorrow_session(personas, coach):
    px = personas["practice_x"]
    px.email = "pm-x@example.org"
    px.save()
    when = timezone.localtime(timezone.now() + timedelta(days=1)).replace(hour=9, minute=30, second=0, microsecond=0)
    return Session.objects.create(
        practice=px.practice,
        member=coach,
        title="Rota workshop",
        starts_at=when,
        planned_hours=2,
        created_by=personas["provider"],
    )


def test_the_task_sends_each_due_reminder_once_and_emails_it_after_commit(
    personas, tomorrow_session, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = send_due_reminders.enqueue()
    assert first.status == TaskResultStatus.SUCCESSFUL
    assert first.return_value["sessions_tomorrow"] >= 1
    note = Notification.objects.get(user=personas["practice_x"], kind=NotificationKind.SESSION_REMINDER)
    assert "Rota workshop" in note.message and note.emailed
    assert any(m.to == ["pm-x@example.org"] and "Rota workshop" in m.body for m in mail.outbox)

    sent = len(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        again = send_due_reminders.enqueue()
    assert again.return_value == {"sessions_tomorrow": 0, "logs_overdue": 0, "meetings_tomorrow": 0}
    assert len(mail.outbox) == sent
    assert Notification.objects.filter(user=personas["practice_x"], kind=NotificationKind.SESSION_REMINDER).count() == 1


def test_enqueue_scheduled_queues_the_reminders_for_the_worker(database_tasks):
    out = io.StringIO()
    call_command("enqueue_scheduled", "reminders", stdout=out)
    queued = DBTaskResult.objects.get(task_path="apps.delivery.tasks.send_due_reminders")
    assert queued.status == TaskResultStatus.READY
    assert out.getvalue().strip() == f"reminders: queued (task {queued.id})"


def test_enqueue_scheduled_does_not_pile_up_copies_while_one_is_waiting(database_tasks):
    call_command("enqueue_scheduled", "reminders", stdout=io.StringIO())
    out = io.StringIO()
    call_command("enqueue_scheduled", "reminders", "refresh", stdout=out)
    assert "reminders: a run is already queued or running; not queued again" in out.getvalue()
    assert "refresh: queued" in out.getvalue()
    assert DBTaskResult.objects.filter(task_path="apps.delivery.tasks.send_due_reminders").count() == 1
    # Once the waiting run has finished, the next scheduled call queues a new one.
    DBTaskResult.objects.filter(task_path="apps.delivery.tasks.send_due_reminders").update(
        status=TaskResultStatus.SUCCESSFUL
    )
    call_command("enqueue_scheduled", "reminders", stdout=io.StringIO())
    assert DBTaskResult.objects.filter(task_path="apps.delivery.tasks.send_due_reminders").count() == 2


def test_enqueue_scheduled_refuses_an_unknown_job():
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="invalid choice"):
        call_command("enqueue_scheduled", "backups", stdout=io.StringIO())


def test_with_a_backend_that_runs_tasks_at_once_enqueue_scheduled_says_so():
    out = io.StringIO()
    call_command("enqueue_scheduled", "reminders", stdout=out)
    assert out.getvalue().strip() == "reminders: ran at once (successful)"
