"""Delivery: who delivers what to whom, whether it happened, what it achieved, and how the faculty grows.

* **Providers and faculty**: :class:`ProviderOrganisation` (LMC teams, the improvement faculty, specialist firms,
  experienced-GP pools) and :class:`FacultyMember` (coaches, development advisers, apprentices, specialists), each
  with the menu offers they deliver, the ICBs they cover and a monthly capacity in hours. Apprentices climb
  :class:`Stage` to accredited under an accredited supervisor; every stage change is an immutable, attributed
  :class:`StageChange`. :class:`ConflictOfInterest` names a practice or a PCN a member must never be assigned to.
* **Assignment** of an approved package's lines to members or organisations (:class:`Assignment`).
* **Session log** (:class:`Session`): planned, delivered or cancelled; signed off by the provider and confirmed by the
  practice, both attributed.
* **Outcomes**: :class:`OutcomeSnapshot` (baseline at approval, follow-ups at 6 and 12 months), :class:`PracticeSurvey`,
  :class:`HoursReleased` per plan action, :class:`PackageRating` (RAG with reason, newest is current).
* **Practice-manager development**: :class:`Network` on a PCN / place / ICB footprint with members, meetings and
  "ways of managing workload" posts; :class:`CoachingOffer` with coach-published :class:`Slot` rows that a practice
  manager books (:class:`CoachingRequest` → :class:`Booking` → :class:`Session`); :class:`PeerReview` with a
  development plan.
* **Calendar and reminders**: :class:`CalendarToken` for a user's private iCalendar feed; :class:`ReminderSent` so the
  reminder command never sends the same reminder twice.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.cases.models import Case, Package, PackageLine, PlanAction, SupportOffer
from apps.core.immutable import ImmutableRecord
from apps.practices.models import ICB, PCN, Practice, SubICB

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


# --- Practice-manager networks ----------------------------------------------------------------------------------


class Footprint(models.TextChoices):
    PCN = "pcn", "Primary care network"
    PLACE = "place", "Place (sub-ICB location)"
    ICB = "icb", "Integrated care board"


class Network(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    footprint = models.CharField(max_length=5, choices=Footprint.choices)
    icb = models.ForeignKey(ICB, on_delete=models.PROTECT, related_name="pm_networks")
    sub_icb = models.ForeignKey(SubICB, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    pcn = models.ForeignKey(PCN, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(footprint="pcn") & Q(pcn__isnull=False))
                | (Q(footprint="place") & Q(sub_icb__isnull=False))
                | Q(footprint="icb"),
                name="network_footprint_named",
            )
        ]

    def __str__(self) -> str:
        return self.name


class NetworkMembership(models.Model):
    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="network_memberships")
    joined_at = models.DateTimeField(default=timezone.now)
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["joined_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["network", "user"], condition=Q(left_at__isnull=True), name="one_live_membership"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in network {self.network_id}"


class Meeting(models.Model):
    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="meetings")
    title = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    minutes = models.PositiveIntegerField(default=90)
    location = models.CharField(max_length=200)
    agenda = models.TextField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    attendees = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="meetings_attended", blank=True)
    attendance_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["starts_at"]

    def __str__(self) -> str:
        return self.title

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.minutes)


class Tag(models.Model):
    slug = models.SlugField(max_length=40, unique=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Post(models.Model):
    """A "ways of managing workload" post: what worked, shared with the network."""

    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="posts")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=200)
    body = models.TextField()
    tags = models.ManyToManyField(Tag, related_name="posts", blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.title


# --- Coaching ---------------------------------------------------------------------------------------------------


class CoachingOffer(models.Model):
    """A coach's published offer, e.g. three 90-minute sessions for a practice manager."""

    coach = models.ForeignKey(FacultyMember, on_delete=models.PROTECT, related_name="coaching_offers")
    offer = models.ForeignKey(SupportOffer, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=200)
    description = models.TextField()
    sessions = models.PositiveSmallIntegerField(default=3)
    minutes = models.PositiveSmallIntegerField(default=90)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class Slot(models.Model):
    coaching_offer = models.ForeignKey(CoachingOffer, on_delete=models.CASCADE, related_name="slots")
    starts_at = models.DateTimeField()
    location = models.CharField(max_length=200, default="Video call")

    class Meta:
        ordering = ["starts_at"]
        constraints = [models.UniqueConstraint(fields=["coaching_offer", "starts_at"], name="uniq_offer_slot_time")]

    def __str__(self) -> str:
        return f"{self.coaching_offer_id} at {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.coaching_offer.minutes)


class CoachingRequest(models.Model):
    class State(models.TextChoices):
        REQUESTED = "requested", "Requested"
        BOOKED = "booked", "All sessions booked"
        WITHDRAWN = "withdrawn", "Withdrawn"

    coaching_offer = models.ForeignKey(CoachingOffer, on_delete=models.PROTECT, related_name="requests")
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    goals = models.TextField(help_text="What the practice manager wants from the coaching")
    state = models.CharField(max_length=10, choices=State.choices, default=State.REQUESTED)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Coaching request {self.pk}"


class Booking(models.Model):
    """A slot taken by a request. A live booking holds its slot alone (unique constraint + row lock)."""

    request = models.ForeignKey(CoachingRequest, on_delete=models.CASCADE, related_name="bookings")
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="bookings")
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    booked_at = models.DateTimeField(default=timezone.now)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["slot__starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["slot"], condition=Q(cancelled_at__isnull=True), name="one_live_booking")
        ]

    def __str__(self) -> str:
        return f"Booking of slot {self.slot_id} for request {self.request_id}"


# --- Peer review ------------------------------------------------------------------------------------------------


class PeerReview(models.Model):
    """A practice manager's peer review by a peer (or a faculty member), ending in a development plan."""

    subject = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="peer_reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews_given")
    network = models.ForeignKey(Network, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    held_on = models.DateField()
    strengths = models.TextField()
    to_develop = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-held_on", "-pk"]

    def __str__(self) -> str:
        return f"Peer review of {self.subject_id} on {self.held_on}"


class DevelopmentGoal(models.Model):
    review = models.ForeignKey(PeerReview, on_delete=models.CASCADE, related_name="goals")
    goal = models.CharField(max_length=300)
    actions = models.TextField()
    due = models.DateField()
    done = models.BooleanField(default=False)

    class Meta:
        ordering = ["due", "pk"]

    # --- Calendar and reminders -------------------------------------------------------------------------------------

    def __str__(self) -> str:
        return self.goal


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
