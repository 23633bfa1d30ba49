"""Background task: email the notifications that :func:`apps.cases.notify.notify` wrote in-app.

``notify`` writes the in-app rows inside the caller's transaction and enqueues this task when that transaction
commits, with the rows' IDs: a rolled-back action mails nobody, and a slow or broken mail server never delays or
undoes the action. The task sends one email per row (recipients never see each other's addresses) and marks each
row ``emailed`` as soon as its email is handed over, so a re-run or a retry sends only what is still unsent.

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
from apps.core.background import MAX_ATTEMPTS, retry_later

log = logging.getLogger(__name__)


class NotificationEmailError(RuntimeError):
    """Some emails of a run could not be handed to the mail server (the run is recorded as failed)."""


def email_for(note: Notification) -> tuple[str, str]:
    """The subject and body of the email for one notification: the message and a link, no confidential detail."""
    link = f"{settings.SITE_URL}{reverse('cases:detail', args=[note.case_id])}" if note.case_id else settings.SITE_URL
    subject = f"GP Resilience: {NotificationKind(note.kind).label}"
    body = f"{note.message}\n\n{link}\n\nYou can turn these emails off on your notifications page."
    return subject, body


@task
def send_notification_emails(notification_ids: list[int], attempt: int = 1) -> dict[str, int]:
    """Email each of these notifications not yet emailed. Returns counts: sent, no address (or an inactive user),
    and skipped (already emailed, or deleted since)."""
    notes = list(
        Notification.objects.filter(pk__in=notification_ids, emailed=False).select_related("user").order_by("pk")
    )
    sent, no_address = 0, 0
    failed: list[int] = []
    error: OSError | None = None
    for note in notes:
        if not note.user.email or not note.user.is_active:
            no_address += 1
            continue
        subject, body = email_for(note)
        try:
            send_mail(subject, body, None, [note.user.email])
        except OSError as exc:
            failed.append(note.pk)
            error = exc
            continue
        # Marked one by one, straight after sending, so a crash part-way resends nothing already sent.
        Notification.objects.filter(pk=note.pk).update(emailed=True)
        sent += 1
    if failed:
        message = f"{len(failed)} of {len(notes)} notification emails not sent (attempt {attempt} of {MAX_ATTEMPTS})"
        if retry_later(send_notification_emails, attempt, failed) is not None:
            log.warning("%s: %s; retrying later", message, error)
        else:
            log.error("%s: %s; giving up (the in-app notifications stay)", message, error)
        raise NotificationEmailError(f"{message}: {error}") from error
    return {"sent": sent, "no_address": no_address, "skipped": len(set(notification_ids)) - len(notes)}
