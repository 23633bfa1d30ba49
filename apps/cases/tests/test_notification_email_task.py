"""Notification emails go through a background task enqueued on commit: never on rollback, once per row, and a mail
outage is logged and retried without ever losing the in-app notification."""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from apps.cases import notify, tasks
from apps.cases.models import Notification, NotificationKind
from apps.core.background import MAX_ATTEMPTS, RETRY_DELAYS

pytestmark = pytest.mark.django_db


@pytest.fixture
def px(personas):
    user = personas["practice_x"]
    user.email = "pm-x@example.org"
    user.save()
    return user


@pytest.fixture
def two_people(personas, px):
    other = personas["icb_a"]
    other.email = "icb-a@example.org"
    other.save()
    return [px, other]


def _failing_send_mail(monkeypatch, failures: int):
    """send_mail that raises an SMTP error the first ``failures`` times, then sends; returns the call log."""
    calls: list[list[str]] = []
    real = tasks.send_mail

    def flaky(subject, body, from_email, to):
        calls.append(to)
        if len(calls) <= failures:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return real(subject, body, from_email, to)

    monkeypatch.setattr(tasks, "send_mail", flaky)
    return calls


def test_the_email_is_queued_only_when_the_transaction_commits(px, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with transaction.atomic():
            assert notify.notify([px], NotificationKind.STATUS, None, "Case GPR-1 moved to triage.") == 1
        note = Notification.objects.get(user=px, kind=NotificationKind.STATUS)  # in-app row written at once
        assert mail.outbox == [] and not note.emailed
    assert len(callbacks) == 1
    callbacks[0]()  # the commit: the task is enqueued (and, with the immediate backend in tests, run)
    assert [m.to for m in mail.outbox] == [["pm-x@example.org"]]
    assert "Case GPR-1 moved to triage." in mail.outbox[0].body
    note.refresh_from_db()
    assert note.emailed


def test_nothing_is_queued_or_mailed_when_the_action_rolls_back(px, mailoutbox, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        notify.notify([px], NotificationKind.STATUS, None, "never sent")
        raise RuntimeError("the action failed after notifying")
    assert callbacks == []
    assert mail.outbox == []
    assert not Notification.objects.filter(user=px, message="never sent").exists()


def test_the_task_is_enqueued_with_ids_not_objects(px, database_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notify.notify([px], NotificationKind.STATUS, None, "queued for the worker")
    note = Notification.objects.get(user=px, message="queued for the worker")
    queued = DBTaskResult.objects.get(task_path="apps.cases.tasks.send_notification_emails")
    assert queued.status == TaskResultStatus.READY
    assert queued.args_kwargs == {"args": [[note.pk]], "kwargs": {}}
    assert not note.emailed  # nothing sent until a worker runs it


def test_each_recipient_gets_their_own_email(two_people, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notify.notify(two_people, NotificationKind.STATUS, None, "Two people told")
    assert sorted(m.to[0] for m in mail.outbox) == ["icb-a@example.org", "pm-x@example.org"]
    assert all(len(m.to) == 1 for m in mail.outbox)  # nobody sees another recipient's address


def test_running_the_task_again_sends_nothing_twice(two_people, mailoutbox):
    notes = [Notification.objects.create(user=u, kind=NotificationKind.STATUS, message="once") for u in two_people]
    ids = [n.pk for n in notes]
    first = tasks.send_notification_emails.enqueue(ids)
    second = tasks.send_notification_emails.enqueue(ids)
    assert first.return_value == {"sent": 2, "no_address": 0, "skipped": 0}
    assert second.return_value == {"sent": 0, "no_address": 0, "skipped": 2}
    assert len(mail.outbox) == 2


def test_a_user_without_an_address_keeps_the_in_app_row_and_gets_no_email(personas, mailoutbox):
    user = personas["provider"]
    user.email = ""
    user.save()
    note = Notification.objects.create(user=user, kind=NotificationKind.STATUS, message="in-app only")
    result = tasks.send_notification_emails.enqueue([note.pk])
    assert result.return_value == {"sent": 0, "no_address": 1, "skipped": 0}
    assert mail.outbox == []
    assert Notification.objects.filter(pk=note.pk, emailed=False).exists()


def test_a_mail_failure_is_logged_and_retried_and_the_in_app_row_stays(px, mailoutbox, monkeypatch, caplog):
    calls = _failing_send_mail(monkeypatch, failures=1)
    note = Notification.objects.create(user=px, kind=NotificationKind.STATUS, message="retried")
    with caplog.at_level(logging.WARNING, logger="apps.cases.tasks"):
        first = tasks.send_notification_emails.enqueue([note.pk])
    # The first run failed and says why; its retry (run at once by the immediate backend) sent the email.
    assert first.status == TaskResultStatus.FAILED
    assert "SMTPServerDisconnected" in first.errors[0].traceback
    assert "attempt 1 of 5" in first.errors[0].traceback
    assert len(calls) == 2
    assert [m.to for m in mail.outbox] == [["pm-x@example.org"]]
    assert any("retrying later" in r.message and r.levelno == logging.WARNING for r in caplog.records)
    note.refresh_from_db()
    assert note.emailed


def test_only_the_emails_that_failed_are_retried(two_people, mailoutbox, monkeypatch):
    calls = _failing_send_mail(monkeypatch, failures=1)
    notes = [Notification.objects.create(user=u, kind=NotificationKind.STATUS, message="part") for u in two_people]
    tasks.send_notification_emails.enqueue([n.pk for n in notes])
    assert len(calls) == 3  # first fails, second sends, then the retry sends only the first
    assert sorted(m.to[0] for m in mail.outbox) == ["icb-a@example.org", "pm-x@example.org"]


def test_after_the_last_attempt_the_task_gives_up_with_an_error_and_keeps_the_row(px, mailoutbox, monkeypatch, caplog):
    calls = _failing_send_mail(monkeypatch, failures=100)
    note = Notification.objects.create(user=px, kind=NotificationKind.STATUS, message="never delivered")
    with caplog.at_level(logging.WARNING, logger="apps.cases.tasks"):
        result = tasks.send_notification_emails.enqueue([note.pk])
    assert result.status == TaskResultStatus.FAILED
    assert len(calls) == MAX_ATTEMPTS
    assert mail.outbox == []
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and r.name == "apps.cases.tasks"]
    assert len(errors) == 1 and "giving up" in errors[0].message and f"attempt {MAX_ATTEMPTS} of" in errors[0].message
    assert Notification.objects.filter(pk=note.pk, emailed=False).exists()


def test_with_the_database_backend_the_retry_waits_before_running_again(px, database_tasks, monkeypatch):
    _failing_send_mail(monkeypatch, failures=1)
    note = Notification.objects.create(user=px, kind=NotificationKind.STATUS, message="deferred")
    before = timezone.now()
    with pytest.raises(tasks.NotificationEmailError):
        tasks.send_notification_emails.call([note.pk])  # what the worker does with the queued task
    retry = DBTaskResult.objects.get(task_path="apps.cases.tasks.send_notification_emails")
    assert retry.status == TaskResultStatus.READY
    assert retry.args_kwargs["kwargs"] == {"attempt": 2}
    assert retry.args_kwargs["args"] == [[note.pk]]
    assert before + RETRY_DELAYS[0] <= retry.run_after <= timezone.now() + RETRY_DELAYS[0]
    assert not DBTaskResult.objects.ready().exists()  # not before its time
    assert timedelta(0) < RETRY_DELAYS[0] < RETRY_DELAYS[-1]
