"""Outcomes of a case: snapshots, the practice survey, hours released, package ratings."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.cases.models import Case, Package, PlanAction
from apps.core.immutable import ImmutableRecord

# --- Outcomes ---------------------------------------------------------------------------------------------------


class SnapshotKind(models.TextChoices):
    BASELINE = "baseline", "Baseline at approval"
    MONTH_6 = "month_6", "Follow-up at 6 months"
    MONTH_12 = "month_12", "Follow-up at 12 months"


SNAPSHOT_MONTHS = {SnapshotKind.BASELINE: 0, SnapshotKind.MONTH_6: 6, SnapshotKind.MONTH_12: 12}


class OutcomeSnapshot(ImmutableRecord):
    """The same indicators at baseline and at each follow-up, as they stood when taken (never recomputed)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="outcome_snapshots")
    kind = models.CharField(max_length=10, choices=SnapshotKind.choices)
    taken_at = models.DateTimeField(default=timezone.now)
    taken_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    indicators = models.JSONField(default=dict, help_text="indicator → value (national data and the pressure index)")
    periods = models.JSONField(default=dict, help_text="indicator → data period the value comes from")
    health_check_overall = models.FloatField(null=True, blank=True)
    health_check_areas = models.JSONField(default=dict)

    class Meta:
        ordering = ["taken_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["case", "kind"], name="uniq_case_snapshot_kind")]


SURVEY_QUESTIONS = {
    "workload": "Our workload feels manageable",
    "morale": "Morale in the team is good",
    "access": "Patients can get the help they need when they need it",
    "sustainable": "We are confident the practice is sustainable for the next two years",
}


class PracticeSurvey(ImmutableRecord):
    """A short practice survey (1 = strongly disagree … 5 = strongly agree) at baseline and each follow-up."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="surveys")
    kind = models.CharField(max_length=10, choices=SnapshotKind.choices)
    answers = models.JSONField(help_text="question id → 1–5")
    comment = models.TextField(blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]
        constraints = [models.UniqueConstraint(fields=["case", "kind"], name="uniq_case_survey_kind")]

    @property
    def mean(self) -> float | None:
        vals = [int(v) for v in self.answers.values()]
        return round(sum(vals) / len(vals), 2) if vals else None


class HoursReleased(ImmutableRecord):
    """Clinical and admin hours released by one plan action over a period (Time for Care style), with the method."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="hours_released")
    action = models.ForeignKey(PlanAction, on_delete=models.PROTECT, related_name="+")
    clinical_hours = models.FloatField()
    admin_hours = models.FloatField()
    period_start = models.DateField()
    period_end = models.DateField()
    method = models.CharField(max_length=300, help_text="How the hours were measured")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["period_start", "pk"]


class Rag(models.TextChoices):
    RED = "red", "Red: not on track"
    AMBER = "amber", "Amber: some concerns"
    GREEN = "green", "Green: on track"


class PackageRating(ImmutableRecord):
    """A RAG judgement on a package, with the reason; the newest is current, earlier ones are history."""

    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="ratings")
    rag = models.CharField(max_length=5, choices=Rag.choices)
    reason = models.TextField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-pk"]
