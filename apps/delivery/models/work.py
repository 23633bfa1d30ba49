"""Assignment of an approved package's lines, and the session log."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.cases.models import Case, PackageLine
from apps.delivery.models.faculty import FacultyMember, ProviderOrganisation
from apps.practices.models import Practice

# --- Assignment -------------------------------------------------------------------------------------------------


class Assignment(models.Model):
    """A package line given to a member (or an organisation as a whole). Ended assignments stay as history."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="delivery_assignments")
    line = models.ForeignKey(PackageLine, on_delete=models.CASCADE, related_name="assignments")
    member = models.ForeignKey(
        FacultyMember, null=True, blank=True, on_delete=models.PROTECT, related_name="assignments"
    )
    organisation = models.ForeignKey(ProviderOrganisation, on_delete=models.PROTECT, related_name="assignments")
    hours = models.FloatField(help_text="Provider hours the line needs (offer hours per unit × units)")
    starts = models.DateField()
    ends = models.DateField()
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assigned_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["assigned_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["line"], condition=Q(ended_at__isnull=True), name="one_live_assignment_per_line"
            )
        ]

    def __str__(self) -> str:
        return f"{self.line} → {self.member or self.organisation}"

    @property
    def months(self) -> int:
        return max(1, (self.ends.year - self.starts.year) * 12 + self.ends.month - self.starts.month + 1)

    @property
    def hours_per_month(self) -> float:
        return self.hours / self.months

    @property
    def deliverer(self) -> str:
        return self.member.name if self.member else self.organisation.name


# --- Sessions ---------------------------------------------------------------------------------------------------

ATTENDEE_ROLES = {
    "gp_partner": "GP partners",
    "salaried_gp": "Salaried GPs",
    "nurse": "Nurses",
    "practice_manager": "Practice managers",
    "admin": "Reception and admin staff",
    "other": "Others",
}


class Session(models.Model):
    class State(models.TextChoices):
        PLANNED = "planned", "Planned"
        DELIVERED = "delivered", "Delivered"
        CANCELLED = "cancelled", "Cancelled"

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="delivery_sessions")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.CASCADE, related_name="sessions")
    assignment = models.ForeignKey(Assignment, null=True, blank=True, on_delete=models.PROTECT, related_name="sessions")
    booking = models.OneToOneField("Booking", null=True, blank=True, on_delete=models.PROTECT, related_name="session")
    member = models.ForeignKey(FacultyMember, on_delete=models.PROTECT, related_name="sessions")
    title = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    planned_hours = models.FloatField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PLANNED)
    delivered_hours = models.FloatField(null=True, blank=True)
    attendees = models.JSONField(default=dict, help_text="role code → how many attended")
    notes = models.TextField(blank=True)
    cancelled_reason = models.CharField(max_length=300, blank=True)
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    logged_at = models.DateTimeField(null=True, blank=True)
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_off_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["starts_at", "pk"]
        indexes = [models.Index(fields=["member", "starts_at"]), models.Index(fields=["practice", "starts_at"])]

    def __str__(self) -> str:
        return f"{self.title} ({self.starts_at:%Y-%m-%d})"

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(hours=self.delivered_hours or self.planned_hours)

    @property
    def hours(self) -> float:
        return (
            self.delivered_hours if self.state == self.State.DELIVERED and self.delivered_hours else self.planned_hours
        )

    @property
    def attendee_count(self) -> int:
        return sum(int(v) for v in self.attendees.values())
