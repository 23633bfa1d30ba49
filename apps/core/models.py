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
