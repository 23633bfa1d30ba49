"""The worker (``manage.py db_worker``) runs what was queued in the database, end to end, on the engine under test
(bin/test runs this module on SQLite and on PostgreSQL).

These tests commit for real (the worker claims a task in its own transaction, as in production); only the task
table is flushed afterwards, and the rows they add elsewhere are removed by the tests themselves.
"""

from __future__ import annotations

import io
import os
import signal
import smtplib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from apps.accounts.models import User
from apps.cases import tasks
from apps.cases.models import Notification, NotificationKind
from apps.cases.tasks import outbox_key
from apps.core.background import RETRY_DELAYS
from apps.core.models import OutboxEmail
from apps.core.tests.ceilings import PROCESS_SECONDS

pytestmark = pytest.mark.django_db(transaction=True, available_apps=["django_tasks_db"])


@pytest.fixture
def keep_signal_handlers() -> Iterator[None]:
    """The worker installs its own SIGINT/SIGTERM handlers (graceful shutdown); give pytest its own back."""
    kinds = [signal.SIGINT, signal.SIGTERM, signal.SIGQUIT]
    saved = {k: signal.getsignal(k) for k in kinds}
    yield
    for k, handler in saved.items():
        signal.signal(k, handler)


@pytest.fixture
def note(database_tasks: None) -> Iterator[Notification]:
    """A committed notification for a demo user with an address; removed (and the address restored) afterwards."""
    user = User.objects.get(username="practice-x")
    old_email = user.email
    User.objects.filter(pk=user.pk).update(email="worker-test@example.org")
    row = Notification.objects.create(user=user, kind=NotificationKind.STATUS, message="Sent by the worker")
    yield row
    OutboxEmail.objects.filter(key=outbox_key(row.pk)).delete()  # this module flushes only the task table
    Notification.objects.filter(pk=row.pk).delete()
    User.objects.filter(pk=user.pk).update(email=old_email)


def _database_url() -> str:
    db: dict[str, Any] = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(db['NAME']).resolve()}"  # an absolute path: four slashes
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


def test_the_worker_command_runs_a_queued_notification_email_end_to_end(note: Notification) -> None:
    queued = tasks.send_notification_emails.enqueue([note.pk])
    assert queued.status == TaskResultStatus.READY and not Notification.objects.get(pk=note.pk).emailed

    env = {**os.environ, "DATABASE_URL": _database_url(), "DJANGO_DEBUG": "true", "DJANGO_EMAIL_BACKEND": ""}
    env.pop("DJANGO_EMAIL_BACKEND")  # the console backend: the email is printed by the worker
    done = subprocess.run(
        [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay", "--no-reload"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=PROCESS_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "To: worker-test@example.org" in done.stdout
    assert "Sent by the worker" in done.stdout
    queued.refresh()
    assert queued.status == TaskResultStatus.SUCCESSFUL
    assert queued.return_value == {"sent": 1, "no_address": 0, "skipped": 0}
    assert queued.attempts == 1
    assert Notification.objects.get(pk=note.pk).emailed


def test_the_worker_records_a_mail_failure_and_queues_the_retry_for_later(
    note: Notification, keep_signal_handlers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*args: Any, **kwargs: Any) -> None:
        raise smtplib.SMTPConnectError(421, "mail relay unavailable")

    monkeypatch.setattr(tasks, "send_mail", down)
    queued = tasks.send_notification_emails.enqueue([note.pk])
    call_command("db_worker", batch=True, startup_delay=False, reload=False, stdout=io.StringIO())

    queued.refresh()
    assert queued.status == TaskResultStatus.FAILED
    assert "mail relay unavailable" in queued.errors[0].traceback
    retry = DBTaskResult.objects.exclude(pk=queued.id).get()
    assert retry.status == TaskResultStatus.READY  # deferred: the batch worker left it for later
    assert retry.args_kwargs == {"args": [[note.pk]], "kwargs": {"attempt": 2}}
    assert queued.started_at + RETRY_DELAYS[0] <= retry.run_after <= queued.finished_at + RETRY_DELAYS[0]
    assert Notification.objects.filter(pk=note.pk, emailed=False).exists()  # the in-app row is untouched
