"""Pressure-index scoring runs, per-practice scores with explanations, and the ICB watch lists.

Scores are computed by the Django-free ``analytics.scoring`` core and stored as versioned runs: each run records
its as-of date, the indicator definitions it used and the data periods, and exactly one run is current. Old runs
stay readable. Watch-list decisions (add, remove, local rating, review) are attributed and kept in an immutable
history: every override needs a written rationale.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db import models

from apps.core.immutable import ImmutableRecord
from apps.practices.models import ICB, Practice

REVIEW_INTERVAL = timedelta(days=182)  # the national criteria ask for a review every six months


class ScoringRun(models.Model):
    as_of = models.DateField(help_text="Only data whose period ended on or before this date was used")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True)
    is_current = models.BooleanField(default=False)
    definitions = models.JSONField(help_text="The indicator definitions used, as loaded")
    definitions_sha256 = models.CharField(max_length=64)
    data_periods = models.JSONField(default=dict, help_text="indicator id → data period used")
    practice_count = models.PositiveIntegerField(default=0)
    backtest = models.JSONField(null=True, blank=True, help_text="Back-test result at this as-of date")
    backtest_text = models.TextField(blank=True)
    model = models.JSONField(
        null=True,
        blank=True,
        help_text="The deployed closure model that ranks this run (inputs, weights, training years); "
        "null for a run ranked by the indicator composite",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["is_current"], condition=models.Q(is_current=True), name="one_current_run")
        ]

    def __str__(self) -> str:
        return f"Scoring run {self.pk} as of {self.as_of}"


class PracticeScore(models.Model):
    run = models.ForeignKey(ScoringRun, on_delete=models.CASCADE, related_name="scores")
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="scores")
    icb = models.ForeignKey(ICB, null=True, on_delete=models.SET_NULL, related_name="+")
    composite = models.FloatField(
        null=True,
        help_text="0–100, higher means more pressure: the model's chance of closing within two years (%) when the "
        "run has a model, else the indicator composite",
    )
    rank = models.PositiveIntegerField(null=True, help_text="1 = most pressure nationally")
    icb_rank = models.PositiveIntegerField(null=True)
    coverage = models.FloatField(help_text="Share of indicator weight with data")
    flag_count = models.PositiveSmallIntegerField(default=0)
    flags = models.JSONField(default=list)
    explanation = models.JSONField(default=list, help_text="One entry per indicator: value, percentiles, …")
    trend = models.JSONField(default=dict, help_text="as-of date → composite, at each financial-year end with data")
    model_explanation = models.JSONField(
        default=list, help_text="The deployed model's inputs: id, title, value, contribution to the log-odds"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "practice"], name="uniq_run_practice")]
        # Covers the watch-list reads (listed by score: rank or criteria met, per ICB) without touching the wide rows
        # that carry each explanation: 0.6 ms instead of 15 ms for the national summary on SQLite.
        indexes = [models.Index(fields=["run", "icb", "rank", "flag_count", "practice"], name="score_watch_idx")]

    def __str__(self) -> str:
        return f"{self.practice_id} in run {self.run_id}: {self.composite}"


class LocalRating(models.TextChoices):
    HIGH = "high", "High concern"
    MEDIUM = "medium", "Some concern"
    LOW = "low", "Low concern"


class WatchEntry(models.Model):
    """An ICB's standing decision about one practice. Absent entry: the score alone decides."""

    class Status(models.TextChoices):
        ADDED = "added", "Added by the ICB"
        REMOVED = "removed", "Removed by the ICB"
        FOLLOWED = "followed", "On the list by score, kept"

    icb = models.ForeignKey(ICB, on_delete=models.CASCADE, related_name="watch_entries")
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="watch_entries")
    status = models.CharField(max_length=10, choices=Status.choices)
    local_rating = models.CharField(max_length=10, choices=LocalRating.choices, blank=True)
    rationale = models.TextField()
    review_due = models.DateField()
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["icb", "practice"], name="uniq_watch_entry")]

    def __str__(self) -> str:
        return f"{self.practice_id} {self.status}"

    @property
    def review_overdue(self) -> bool:
        return self.review_due < date.today()


class WatchChange(ImmutableRecord):
    """Immutable, attributed history of every watch-list decision."""

    class Action(models.TextChoices):
        ADD = "add", "Added to the watch list"
        REMOVE = "remove", "Removed from the watch list"
        RATE = "rate", "Local rating changed"
        REVIEW = "review", "Reviewed"

    entry = models.ForeignKey(WatchEntry, on_delete=models.PROTECT, related_name="changes")
    action = models.CharField(max_length=10, choices=Action.choices)
    old_value = models.CharField(max_length=40, blank=True)
    new_value = models.CharField(max_length=40, blank=True)
    rationale = models.TextField()
    score_at_change = models.FloatField(null=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} {self.entry_id} by {self.by_id}"
