"""Background task: email the notifications that :func:`apps.cases.notify.notify` wrote in-app.

``notify`` writes the in-app rows inside the caller's transaction and enqueues this task when that transaction
commits, with the rows' IDs: a rolled-back action mails nobody, and a slow or broken mail server never delays or
undoes the action. The task puts one email per row in the outbox (``apps.core.outbox``, key ``notification:<id>``;
recipients never see each other's addresses), sends it and marks the outbox row sent and the notification
``emailed`` together as soon as it is handed over, so a re-run, a retry or a worker killed part-way sends nothing
twice (an email whose sender died mid-send is shown as "outcome unknown" for a person to decide).

A mail failure (any ``OSError``, which includes ``smtplib``'s errors) is logged, the unsent rows are retried later
(``apps.core.background.retry_later``: 1, 5, 30 and 120 minutes) and the run is recorded as failed; the in-app rows
are never touched by a failure. After the last attempt the task logs an error and gives up: the user still has the
notification in the service.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.tasks import task
from django.urls import reverse

from apps.cases.models import Notification, NotificationKind
from apps.core import outbox
from apps.core.background import MAX_ATTEMPTS, retry_later
from apps.core.models import OutboxEmail

log = logging.getLogger(__name__)


class NotificationEmailError(RuntimeError):
    """Some emails of a run could not be handed to the mail server (the run is recorded as failed)."""


def email_for(note: Notification) -> tuple[str, str]:
    """The subject and body of the email for one notification: the message and a link, no confidential detail."""
    link = f"{settings.SITE_URL}{reverse('cases:detail', args=[note.case_id])}" if note.case_id else settings.SITE_URL
    subject = f"GP Resilience: {NotificationKind(note.kind).label}"
    body = f"{note.message}\n\n{link}\n\nYou can turn these emails off on your notifications page."
    return subject, body


def outbox_key(note_id: int) -> str:
    """The idempotency key of a notification's email: one email per notification, however often it is queued."""
    return f"notification:{note_id}"


@task
def send_notification_emails(notification_ids: list[int], attempt: int = 1) -> dict[str, int]:
    """Email each of these notifications not yet emailed, through the outbox (``apps.core.outbox``). Returns counts:
    sent, no address (or an inactive user), and skipped (already emailed, deleted since, or held in the outbox as
    sent, being sent or of unknown outcome)."""
    notes = list(
        Notification.objects.filter(pk__in=notification_ids, emailed=False).select_related("user").order_by("pk")
    )
    no_address = 0
    rows: dict[int, int] = {}  # outbox id -> notification id
    for note in notes:
        if not note.user.email or not note.user.is_active:
            no_address += 1
            continue
        subject, body = email_for(note)
        rows[outbox.queue_email(outbox_key(note.pk), note.user.email, subject, body).pk] = note.pk

    def mark_emailed(row: OutboxEmail) -> None:
        Notification.objects.filter(pk=rows[row.pk]).update(emailed=True)

    # send_mail is looked up here, at call time, so a test can replace this module's send_mail.
    done = outbox.deliver(rows, send_mail, last_attempt=attempt >= MAX_ATTEMPTS, on_sent=mark_emailed)
    if done.failed:
        failed = [rows[pk] for pk in done.failed]
        message = f"{len(failed)} of {len(notes)} notification emails not sent (attempt {attempt} of {MAX_ATTEMPTS})"
        if retry_later(send_notification_emails, attempt, failed) is not None:
            log.warning("%s: %s; retrying later", message, done.error)
        else:
            log.error("%s: %s; giving up (the in-app notifications stay)", message, done.error)
        raise NotificationEmailError(f"{message}: {done.error}") from done.error
    return {
        "sent": len(done.sent),
        "no_address": no_address,
        "skipped": len(set(notification_ids)) - len(notes) + len(done.held),
    }


@task
def send_clock_digest(attempt: int = 1) -> dict[str, int]:
    """Today's clock digest (:mod:`apps.cases.digest`), scheduled daily by ``manage.py enqueue_scheduled digest``.
    A mail failure is retried later; the outbox keeps what was already sent from going twice."""
    from apps.cases.digest import send_breach_digest  # the digest reads the clocks and policy: import when run

    try:
        run = send_breach_digest(last_attempt=attempt >= MAX_ATTEMPTS)
    except OSError as exc:
        if retry_later(send_clock_digest, attempt) is not None:
            log.warning(
                "clock digest not fully sent (attempt %s of %s): %s; retrying later", attempt, MAX_ATTEMPTS, exc
            )
        else:
            log.error("clock digest not fully sent after %s attempts: %s; giving up", MAX_ATTEMPTS, exc)
        raise
    return {"users": run.users, "sent": run.sent, "held": run.held}
