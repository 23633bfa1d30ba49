"""Providers and the faculty: organisations, members, the apprentice route's stages, declared conflicts."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.cases.models import SupportOffer
from apps.core.immutable import ImmutableRecord
from apps.practices.models import ICB, PCN, Practice

# --- Providers and faculty --------------------------------------------------------------------------------------


class OrganisationKind(models.TextChoices):
    LMC_TEAM = "lmc_team", "LMC team"
    FACULTY = "faculty", "Improvement faculty"
    SPECIALIST = "specialist", "Specialist firm"
    GP_POOL = "gp_pool", "Experienced-GP pool"


class ProviderOrganisation(models.Model):
    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=12, choices=OrganisationKind.choices)
    lead_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="led_organisations",
        help_text="The provider account that receives work assigned to the organisation as a whole",
    )
    offers = models.ManyToManyField(SupportOffer, related_name="+", blank=True)
    icbs = models.ManyToManyField(ICB, related_name="+", blank=True, help_text="ICBs the organisation covers")
    capacity_hours_per_month = models.FloatField(
        default=0, help_text="Hours a month for work assigned to the organisation rather than a named member"
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MemberRole(models.TextChoices):
    COACH = "coach", "Improvement coach"
    ADVISER = "adviser", "Development adviser"
    APPRENTICE = "apprentice", "Apprentice"
    SPECIALIST = "specialist", "Specialist"


class Accreditation(models.TextChoices):
    ACCREDITED = "accredited", "Accredited"
    IN_TRAINING = "in_training", "In training"
    LAPSED = "lapsed", "Lapsed"
    NOT_REQUIRED = "not_required", "Not required (specialist)"


class Stage(models.TextChoices):
    """The apprenticeship route to accreditation, in order."""

    ENROLLED = "enrolled", "Enrolled"
    FOUNDATION = "foundation", "Foundation modules"
    SUPERVISED_PRACTICE = "supervised", "Supervised practice"
    ASSESSMENT = "assessment", "Final assessment"
    ACCREDITED = "accredited", "Accredited"


STAGE_ORDER = list(Stage.values)


class FacultyMemberQuerySet(models.QuerySet["FacultyMember"]):
    def active(self) -> FacultyMemberQuerySet:
        return self.filter(active=True)

    def covering(self, icb_id: int) -> FacultyMemberQuerySet:
        return self.filter(icbs=icb_id)

    def delivering(self, offer: SupportOffer) -> FacultyMemberQuerySet:
        return self.filter(offers=offer)


class FacultyMember(models.Model):
    """A person who delivers support. ``user`` is their provider login, if they have one."""

    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    organisation = models.ForeignKey(ProviderOrganisation, on_delete=models.PROTECT, related_name="members")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="faculty_member",
        help_text="The member's provider login (sees the cases assigned to them)",
    )
    role = models.CharField(max_length=12, choices=MemberRole.choices)
    offers = models.ManyToManyField(SupportOffer, related_name="+", blank=True)
    icbs = models.ManyToManyField(ICB, related_name="+", blank=True, help_text="ICBs the member covers")
    capacity_hours_per_month = models.FloatField(default=0)
    accreditation = models.CharField(max_length=14, choices=Accreditation.choices, default=Accreditation.IN_TRAINING)
    accredited_on = models.DateField(null=True, blank=True)
    accreditation_expires = models.DateField(null=True, blank=True)
    stage = models.CharField(
        max_length=12, choices=Stage.choices, blank=True, help_text="Apprentices only: where they are on the route"
    )
    supervisor = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="supervisees")
    joined_on = models.DateField(help_text="Joined the faculty")
    new_member = models.BooleanField(
        default=False, help_text="Counts towards the growth target (joined through the apprenticeship route)"
    )
    active = models.BooleanField(default=True)

    objects = FacultyMemberQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_accredited(self) -> bool:
        if self.accreditation != Accreditation.ACCREDITED:
            return False
        return self.accreditation_expires is None or self.accreditation_expires >= timezone.localdate()


class StageChange(ImmutableRecord):
    """An apprentice's move along the route: who recorded it, when, and why."""

    member = models.ForeignKey(FacultyMember, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.CharField(max_length=12, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=12, choices=Stage.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]


class ConflictOfInterest(models.Model):
    """A declared interest: the member cannot be assigned to this practice (or to any practice in this PCN)."""

    member = models.ForeignKey(FacultyMember, on_delete=models.CASCADE, related_name="conflicts")
    practice = models.ForeignKey(Practice, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    pcn = models.ForeignKey(PCN, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    description = models.CharField(max_length=300, help_text="e.g. partner in the practice")
    declared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    declared_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-declared_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(practice__isnull=False) | Q(pcn__isnull=False), name="conflict_names_practice_or_pcn"
            )
        ]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.description}"
