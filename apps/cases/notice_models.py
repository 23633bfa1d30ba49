"""Notifications (in-app and email, each kind a user can turn off) and an ICB's own stage-clock targets.

Part of the cases app's models (``apps.cases.models`` imports them, so they are ``apps.cases.models.*`` to callers).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.core.immutable import ImmutableRecord
from apps.practices.models import ICB


class NotificationKind(models.TextChoices):
    NOMINATED = "nominated", "Your practice was nominated for support"
    NEW_REFERRAL = "new_referral", "A new referral or nomination in my ICB"
    TRIAGED = "triaged", "A case was triaged"
    PLAN_TO_AGREE = "plan_to_agree", "An action plan is ready to agree"
    PLAN_AGREED = "plan_agreed", "An action plan was agreed"
    PACKAGE_SUBMITTED = "package_submitted", "A package is waiting for approval"
    PACKAGE_DECIDED = "package_decided", "A package was approved or refused"
    GROUP_SHARE = "group_share", "A share of a group package needs my decision, or was decided"
    STATUS = "status", "A case changed status"
    ASSIGNED = "assigned", "A case was assigned to me"
    SESSION_LOGGED = "session_logged", "A support session was signed off and needs the practice to confirm it"
    SESSION_CONFIRMED = "session_confirmed", "A practice confirmed a support session"
    SESSION_DISPUTED = "session_disputed", "A practice disputed a support session's log"
    DISPUTE_RESOLVED = "dispute_resolved", "A disputed support session was resolved"
    SESSION_REMINDER = "session_reminder", "Reminder: a support session tomorrow"
    LOG_OVERDUE = "log_overdue", "Reminder: a session log is overdue"
    COACHING = "coaching", "Coaching was requested or booked"
    MEETING_REMINDER = "meeting_reminder", "Reminder: a network meeting tomorrow"
    BREACH_DIGEST = "breach_digest", "Daily email: my ICB's cases past their stage clock"


class ClockTarget(ImmutableRecord):
    """An ICB's own target for one stage clock (keys and defaults: ``clocks.toml``). The newest row per ICB and key
    is in force; the older ones are the history of who changed it, and when."""

    icb = models.ForeignKey(ICB, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=20)
    working_days = models.PositiveSmallIntegerField()
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-set_at", "-pk"]
        indexes = [models.Index(fields=["icb", "key", "set_at"])]

    def __str__(self) -> str:
        return f"{self.icb_id} {self.key}: {self.working_days} working days"


class Notification(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    message = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return self.message


class NotificationSetting(models.Model):
    """A kind of notification the user has turned off (email and in-app). No row means on."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_settings")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    enabled = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="uniq_user_kind")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}: {'on' if self.enabled else 'off'}"
