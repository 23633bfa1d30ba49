"""Cohorts of universal offers and the places in them.

A :class:`Cohort` is one run of a universal offer (practice-manager development, reception and clerical training,
online consultation, a learning collaborative): dates, places, venue or online, the provider that delivers it, the
cost of a place, who may express interest, ICB quotas if any, and the rule its places are allocated by. It is paid
from a universal funding line that funds its offer (``apps.funding.lines``); an ICB runs it on its own budget, or the
national team runs it for England, each place then drawing on the practice's own ICB budget of that line.

An :class:`Interest` is a practice's expression of interest and, once places are allocated, its place: waiting,
offered, accepted (the place's cost is committed), declined or withdrawn; attendance and completion are recorded
on an accepted place. Every change of state is an immutable, attributed :class:`InterestEvent`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.cases.models import SupportOffer
from apps.core.immutable import ImmutableRecord
from apps.delivery.models import ProviderOrganisation
from apps.funding.models import Commitment, FundingLine
from apps.practices.models import ICB, Practice


class Rule(models.TextChoices):
    """How a cohort's places are allocated: the programme chooses (``apps.cohorts.rules`` orders the candidates)."""

    FIRST_COME = "first_come", "First come, first served"
    QUOTAS = "quotas", "ICB quotas, then first come"
    PRESSURE = "pressure", "Priority to practices under more pressure"


class Mode(models.TextChoices):
    VENUE = "venue", "At a venue"
    ONLINE = "online", "Online"


class AttendeeRole(models.TextChoices):
    PRACTICE_MANAGER = "practice_manager", "Practice manager"
    GP = "gp", "GP or partner"
    NURSE = "nurse", "Nurse or other clinician"
    RECEPTION = "reception", "Reception or clerical staff"
    OTHER = "other", "Someone else in the practice team"


class Cohort(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open for expressions of interest"
        ALLOCATED = "allocated", "Places allocated"

    offer = models.ForeignKey(SupportOffer, on_delete=models.PROTECT, related_name="+")
    line = models.ForeignKey(FundingLine, on_delete=models.PROTECT, related_name="+")
    fy = models.PositiveSmallIntegerField(
        help_text="The financial year whose budget pays: the one the cohort starts in"
    )
    icb = models.ForeignKey(
        ICB, null=True, blank=True, on_delete=models.PROTECT, related_name="+", help_text="Empty: a national cohort"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    starts_on = models.DateField()
    ends_on = models.DateField()
    closes_on = models.DateField(help_text="Last day for expressions of interest; places are allocated after it")
    places = models.PositiveIntegerField()
    mode = models.CharField(max_length=6, choices=Mode.choices)
    venue = models.CharField(max_length=200, blank=True)
    provider = models.ForeignKey(ProviderOrganisation, on_delete=models.PROTECT, related_name="+")
    cost_per_place_pence = models.PositiveIntegerField()
    eligible_icbs = models.ManyToManyField(
        ICB, blank=True, related_name="+", help_text="Practices in these ICBs may express interest; none: any English"
    )
    practice_managers_only = models.BooleanField(default=False, help_text="Places are for practice managers")
    rule = models.CharField(max_length=10, choices=Rule.choices)
    quotas = models.JSONField(default=dict, blank=True, help_text="ICB code → places kept for its practices")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    allocated_at = models.DateTimeField(null=True, blank=True)
    allocated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty when allocated automatically after the closing date",
    )

    class Meta:
        ordering = ["starts_on", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(places__gt=0), name="cohort_has_places"),
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="cohort_ends_after_start"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_national(self) -> bool:
        return self.icb_id is None


class Interest(models.Model):
    """A practice's expression of interest in a cohort, and then its place (or its place on the waiting list)."""

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting"  # before allocation, and on the waiting list after it
        OFFERED = "offered", "Place offered"
        ACCEPTED = "accepted", "Place accepted"
        DECLINED = "declined", "Place declined"
        WITHDRAWN = "withdrawn", "Withdrawn"

    cohort = models.ForeignKey(Cohort, on_delete=models.PROTECT, related_name="interests")
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    attendee_name = models.CharField(max_length=150)
    attendee_role = models.CharField(max_length=20, choices=AttendeeRole.choices)
    hopes = models.TextField(blank=True, help_text="What the practice hopes to get from it (optional)")
    expressed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    expressed_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=10, choices=State.choices, default=State.WAITING)
    pressure = models.FloatField(null=True, blank=True, help_text="The practice's pressure score when allocated")
    offered_at = models.DateTimeField(null=True, blank=True)
    commitment = models.OneToOneField(
        Commitment, null=True, blank=True, on_delete=models.PROTECT, related_name="+", help_text="Once accepted"
    )
    attended = models.BooleanField(null=True, blank=True)
    completed = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["expressed_at", "pk"]
        constraints = [
            # One live interest per practice in a cohort: declined and withdrawn ones stay as history.
            models.UniqueConstraint(
                fields=["cohort", "practice"],
                condition=Q(state__in=["waiting", "offered", "accepted"]),
                name="one_live_interest_per_practice",
            )
        ]

    def __str__(self) -> str:
        return f"{self.practice_id} in cohort {self.cohort_id} ({self.state})"

    @property
    def holds_place(self) -> bool:
        return self.state in (self.State.OFFERED, self.State.ACCEPTED)


class InterestEvent(ImmutableRecord):
    """One step in an interest's history: expressed, offered, accepted, declined, withdrawn, attendance."""

    interest = models.ForeignKey(Interest, on_delete=models.PROTECT, related_name="events")
    step = models.CharField(max_length=20)
    note = models.CharField(max_length=300, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.step} on interest {self.interest_id}"
