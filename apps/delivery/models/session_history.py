"""A session log's history: each amendment is a new version, each dispute and its resolution a new row.

None of these rows is ever changed (:class:`~apps.core.immutable.ImmutableRecord`): the session row carries the
current log, these say how it came to be so, who said what, and when.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.core.immutable import ImmutableRecord
from apps.delivery.models.work import Session


class SessionLogVersion(ImmutableRecord):
    """One version of a session's log. Version 1 is the log as first signed off (written when it is first amended);
    each amendment adds the next number, with the reason and who made it. ``replaced_confirmation_*`` keep the
    practice's confirmation of the log this version replaced (the practice is asked to confirm the new one)."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveSmallIntegerField()
    state = models.CharField(max_length=10, choices=Session.State.choices)
    delivered_hours = models.FloatField(null=True, blank=True)
    attendees = models.JSONField(default=dict)
    notes = models.TextField(blank=True)
    cancelled_reason = models.CharField(max_length=300, blank=True)
    reason = models.CharField(max_length=500, blank=True, help_text="Why the log was amended (empty for version 1)")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    replaced_confirmation_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    replaced_confirmation_at = models.DateTimeField(null=True, blank=True)
    answers = models.OneToOneField(
        "DisputeResolution",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="amendment",
        help_text="The accepted dispute this amendment answers, if any",
    )

    class Meta:
        ordering = ["session", "number"]
        constraints = [models.UniqueConstraint(fields=["session", "number"], name="one_number_per_session_version")]

    def __str__(self) -> str:
        return f"{self.session} v{self.number}"


class SessionDispute(ImmutableRecord):
    """The practice says a signed-off session did not happen as logged, instead of confirming it."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="disputes")
    reason = models.CharField(max_length=1000)
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    raised_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["session", "raised_at", "pk"]

    def __str__(self) -> str:
        return f"Dispute of {self.session}"


class DisputeResolution(ImmutableRecord):
    """The ICB team's answer to a dispute: the log stands, the provider must amend it, or it was not delivered."""

    class Outcome(models.TextChoices):
        UPHELD = "upheld", "The log stands"
        AMEND = "amend", "The provider must amend the log"
        NOT_DELIVERED = "not_delivered", "The session was not delivered"

    dispute = models.OneToOneField(SessionDispute, on_delete=models.CASCADE, related_name="resolution")
    outcome = models.CharField(max_length=15, choices=Outcome.choices)
    note = models.CharField(max_length=1000)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    resolved_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["resolved_at", "pk"]

    def __str__(self) -> str:
        return f"{self.dispute}: {self.get_outcome_display()}"
