"""The email outbox: every email the service sends is a row, sent exactly once in effect.

A message is queued under an idempotency key (``notification:42``): queueing the same key again keeps the one row.
:func:`deliver` claims each queued row (queued → sending, a conditional update, so two senders never both take it),
hands it to the mail server and marks it sent at once. What a crash leaves behind is therefore never ambiguous to
the code, only to the mail server:

* *queued* rows were never handed over: the next run sends them;
* *sent* rows were handed over and are never sent again;
* a *sending* row whose sender died (no live worker lease names its process) may or may not have gone out. Guessing
  either way is wrong (a duplicate, or a lost message), so :func:`settle_abandoned` marks it **outcome unknown**
  and the national *Background tasks* page shows it for a person to decide: send again, or mark as sent
  (:func:`decide`).

A mail error (any ``OSError``: ``smtplib``'s errors included) puts the row back to *queued* for the caller's retry,
or to *failed* on the last attempt.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core.models import OutboxEmail, WorkerBeat

State = OutboxEmail.State
Send = Callable[[str, str, str | None, list[str]], object]


class OutboxError(ValueError):
    """A decision on an email that is not waiting for one."""


def this_process() -> str:
    """How a claim names its sender: host and process id, as the worker's lease row does."""
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


def queue_email(key: str, to: str, subject: str, body: str) -> OutboxEmail:
    """The outbox row for ``key``, created queued if there is none (the same key twice is one email)."""
    row, _ = OutboxEmail.objects.get_or_create(key=key, defaults={"to": to, "subject": subject[:300], "body": body})
    return row


@dataclass
class Delivery:
    sent: list[int] = field(default_factory=list)  # outbox ids handed to the mail server now
    failed: list[int] = field(default_factory=list)  # not handed over (an OSError); queued again, or failed at last
    held: list[int] = field(default_factory=list)  # not queued (sent already, sending elsewhere, unknown, failed)
    error: OSError | None = None


def deliver(
    ids: Iterable[int], send: Send, *, last_attempt: bool = False, on_sent: Callable[[OutboxEmail], None] | None = None
) -> Delivery:
    """Send each queued row of ``ids`` once. ``on_sent`` runs in the transaction that marks a row sent (so a caller's
    own "emailed" flag can never disagree with the outbox)."""
    out = Delivery()
    claimer = this_process()
    for row in OutboxEmail.objects.filter(pk__in=list(ids)).order_by("pk"):
        claimed = OutboxEmail.objects.filter(pk=row.pk, state=State.QUEUED).update(
            state=State.SENDING, claimed_at=timezone.now(), claimed_by=claimer, attempts=row.attempts + 1
        )
        if not claimed:
            out.held.append(row.pk)
            continue
        try:
            send(row.subject, row.body, None, [row.to])
        except OSError as exc:
            # Refused before the message was accepted: it did not go, so queueing it again sends it at most once.
            out.failed.append(row.pk)
            out.error = exc
            OutboxEmail.objects.filter(pk=row.pk).update(
                state=State.FAILED if last_attempt else State.QUEUED, last_error=f"{type(exc).__name__}: {exc}"[:300]
            )
            continue
        with transaction.atomic():
            OutboxEmail.objects.filter(pk=row.pk).update(state=State.SENT, sent_at=timezone.now(), last_error="")
            if on_sent is not None:
                on_sent(row)
        out.sent.append(row.pk)
    return out


def settle_abandoned(now: datetime | None = None) -> list[str]:
    """Mark *outcome unknown* every row left *sending* for longer than a lease by a process that holds no live
    worker lease (it died between claiming and marking). Returns one line per row, for the log."""
    now = now or timezone.now()
    cutoff = now - timezone.timedelta(seconds=settings.TASK_LEASE_SECONDS)
    alive = {
        f"{host}:{pid}" for host, pid in WorkerBeat.objects.filter(last_seen__gte=cutoff).values_list("host", "pid")
    }
    lines = []
    for row in OutboxEmail.objects.filter(state=State.SENDING, claimed_at__lt=cutoff):
        if row.claimed_by in alive:
            continue
        if OutboxEmail.objects.filter(pk=row.pk, state=State.SENDING).update(state=State.UNKNOWN):
            lines.append(f"{row.key} to {row.to}: its sender {row.claimed_by} stopped while sending")
    return lines


def unknown_emails(limit: int = 100) -> list[OutboxEmail]:
    return list(OutboxEmail.objects.filter(state=State.UNKNOWN).order_by("claimed_at", "pk")[:limit])


def decide(row_id: int, *, send_again: bool, by: str) -> OutboxEmail:
    """A person settles an *outcome unknown* email: queue it to be sent again, or record that it was sent."""
    with transaction.atomic():
        row = OutboxEmail.objects.select_for_update().filter(pk=row_id).first()
        if row is None or row.state != State.UNKNOWN:
            raise OutboxError("This email is not waiting for a decision (it may have been settled already).")
        row.state = State.QUEUED if send_again else State.SENT
        row.decided_by = by[:150]
        if not send_again:
            row.sent_at = timezone.now()
        row.save(update_fields=["state", "decided_by", "sent_at"])
    return row


def counts() -> dict[str, int]:
    return {state: OutboxEmail.objects.filter(state=state).count() for state in State.values}
