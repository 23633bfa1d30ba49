"""Background task: send the outbox's queued emails (after a person chose "send again" for an unknown outcome)."""

from __future__ import annotations

from django.core.mail import send_mail
from django.tasks import task

from apps.core import outbox
from apps.core.models import OutboxEmail


@task
def send_queued_emails() -> dict[str, int]:
    """Send every queued outbox email once. Returns how many were sent, failed (queued again) and held."""
    ids = OutboxEmail.objects.filter(state=OutboxEmail.State.QUEUED).values_list("pk", flat=True)
    done = outbox.deliver(list(ids), send_mail)
    return {"sent": len(done.sent), "failed": len(done.failed), "held": len(done.held)}
