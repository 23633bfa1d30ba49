"""The email outbox: one row per idempotency key, claimed before sending and marked straight after; a row whose
sender died mid-send becomes "outcome unknown" and waits for a person, who sends it again or marks it sent."""

from __future__ import annotations

import io
import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail import send_mail
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from apps.core import outbox
from apps.core.models import OutboxEmail, WorkerBeat

pytestmark = pytest.mark.django_db
State = OutboxEmail.State


def test_the_same_key_queued_twice_is_one_email_sent_once(mailoutbox):
    first = outbox.queue_email("test:once", "a@example.org", "Hello", "Body")
    second = outbox.queue_email("test:once", "a@example.org", "Hello", "Body")
    assert first.pk == second.pk
    assert outbox.deliver([first.pk, second.pk], send_mail).sent == [first.pk]
    assert outbox.deliver([first.pk], send_mail).held == [first.pk]  # sent: never again
    assert [m.to for m in mail.outbox] == [["a@example.org"]]
    assert OutboxEmail.objects.get(key="test:once").state == State.SENT


def test_a_refused_send_is_queued_again_and_failed_on_the_last_attempt():
    row = outbox.queue_email("k", "a@example.org", "s", "b")

    def down(*args):
        raise smtplib.SMTPConnectError(421, "relay down")

    assert outbox.deliver([row.pk], down).failed == [row.pk]
    row.refresh_from_db()
    assert row.state == State.QUEUED and row.attempts == 1 and "relay down" in row.last_error
    outbox.deliver([row.pk], down, last_attempt=True)
    assert OutboxEmail.objects.get(pk=row.pk).state == State.FAILED


def test_a_row_left_sending_by_a_dead_sender_becomes_unknown_but_a_live_one_is_left(settings):
    settings.TASK_LEASE_SECONDS = 60
    long_ago = timezone.now() - timedelta(minutes=5)
    dead = OutboxEmail.objects.create(key="d", to="d@example.org", subject="s", body="b", state=State.SENDING,
                                      claimed_at=long_ago, claimed_by="host:111")  # fmt: skip
    live = OutboxEmail.objects.create(key="l", to="l@example.org", subject="s", body="b", state=State.SENDING,
                                      claimed_at=long_ago, claimed_by="host:222")  # fmt: skip
    WorkerBeat.objects.create(worker_id="w", host="host", pid=222, last_seen=timezone.now())
    lines = outbox.settle_abandoned()
    assert lines == ["d to d@example.org: its sender host:111 stopped while sending"]
    assert OutboxEmail.objects.get(pk=dead.pk).state == State.UNKNOWN
    assert OutboxEmail.objects.get(pk=live.pk).state == State.SENDING


def _unknown(key: str = "u") -> OutboxEmail:
    return OutboxEmail.objects.create(key=key, to="u@example.org", subject="Unknown one", body="b", state=State.UNKNOWN,
                                      claimed_at=timezone.now())  # fmt: skip


def test_the_national_page_shows_unknown_emails_for_a_person_to_decide(client_for):
    row = _unknown()
    page = client_for("national").get(reverse("core:task_runs")).content.decode()
    assert (
        "Emails whose outcome is unknown" in page and "u@example.org" in page and f"--send-again {row.pk}" not in page
    )
    assert "manage.py outbox --send-again ID" in page


def test_a_person_sends_an_unknown_email_again_and_it_goes_once(mailoutbox, django_capture_on_commit_callbacks):
    row = _unknown()
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("outbox", send_again=row.pk, by="ops", stdout=out)
    assert "queued to be sent again" in out.getvalue()
    assert [m.to for m in mail.outbox] == [["u@example.org"]]
    row.refresh_from_db()
    assert row.state == State.SENT and row.decided_by == "ops"


def test_a_person_marks_an_unknown_email_sent_and_a_second_decision_is_refused(mailoutbox):
    row = _unknown()
    call_command("outbox", mark_sent=row.pk, stdout=io.StringIO())
    assert OutboxEmail.objects.get(pk=row.pk).state == State.SENT and mail.outbox == []
    with pytest.raises(CommandError, match="not waiting for a decision"):
        call_command("outbox", send_again=row.pk, stdout=io.StringIO())
