"""The audit trail's rows (see ``apps.core.audit``)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from apps.core.immutable import ImmutableRecord


class AuditRecord(ImmutableRecord):
    """One create, update or delete of an audited record: who, when, what changed (field → [before, after]).

    The actor is kept as id and username, not a foreign key, so the record outlives the account it names.
    """

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        UPDATE = "update", "Changed"
        DELETE = "delete", "Deleted"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_id = models.IntegerField(null=True, blank=True)
    actor = models.CharField(max_length=150, help_text="Username, or command:<name> / system / anonymous")
    model = models.CharField(max_length=100, db_index=True)
    object_pk = models.CharField(max_length=200)
    action = models.CharField(max_length=6, choices=Action.choices)
    changes = models.JSONField(default=dict)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["model", "object_pk"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.model} {self.object_pk}"


class WorkerBeat(models.Model):
    """A background worker's lease: the worker writes ``last_seen`` every few seconds while it lives, with the task
    run it is executing. A task run marked running whose worker has not written within the lease
    (``settings.TASK_LEASE_SECONDS``) is abandoned: ``apps.core.worker.recover_abandoned_runs`` ends it visibly.
    ``/health/`` reads the newest ``last_seen`` to tell whether any worker is alive."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    host = models.CharField(max_length=255, blank=True)
    pid = models.IntegerField(default=0)
    queues = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)
    task_run_id = models.CharField(max_length=36, blank=True, help_text="The task run it is executing, if any")

    def __str__(self) -> str:
        return f"worker {self.worker_id} on {self.host} (pid {self.pid}), seen {self.last_seen:%Y-%m-%d %H:%M:%S}"


class OutboxEmail(models.Model):
    """One email to send, exactly once in effect (``apps.core.outbox``).

    ``key`` is the idempotency key (e.g. ``notification:42``): queueing the same key twice keeps one row. A sender
    claims a queued row (queued → sending) before handing it to the mail server and marks it sent straight after,
    so a restarted sender resends nothing marked sent. A row left *sending* by a sender that died may or may not
    have gone out: it becomes *unknown* and waits for a person to decide (send again, or mark as sent)."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        UNKNOWN = "unknown", "Outcome unknown"

    key = models.CharField(max_length=200, unique=True)
    to = models.EmailField(max_length=254)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True, help_text="The worker (or process) that claimed it")
    sent_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=150, blank=True, help_text="Who settled an unknown outcome")

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.key} to {self.to}: {self.state}"
