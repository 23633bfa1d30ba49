"""The calendar feed's secret and the reminders already sent."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.delivery.models.networks import Meeting
from apps.delivery.models.work import Session


def new_token() -> str:
    """A new feed secret (the first migration names it as a default, so it stays here)."""
    return secrets.token_urlsafe(24)


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class CalendarToken(models.Model):
    """The secret in a user's calendar feed address (calendar apps cannot sign in). Replacing it revokes the old.

    Only the secret's SHA-256 is stored, like an API token's: the address is shown once, when it is made, and a copy
    of the database (a backup, the audit trail, which records the field only as "changed") cannot be used to read
    anyone's calendar. The secret is 24 random bytes, so an unsalted fast hash cannot be searched."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_token")
    token_sha256 = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Calendar token for {self.user_id}"


class ReminderSent(models.Model):
    """One row per reminder sent, so re-running the reminder command never repeats one."""

    kind = models.CharField(max_length=20)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    session = models.ForeignKey(Session, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    meeting = models.ForeignKey(Meeting, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "user", "session"], name="uniq_session_reminder"),
            models.UniqueConstraint(fields=["kind", "user", "meeting"], name="uniq_meeting_reminder"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.user_id}"
