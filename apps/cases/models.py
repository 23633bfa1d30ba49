"""Support cases: referral → triage → diagnosis → plan → package approval → delivery → review → closed.

A case belongs to one practice (the lead) and its ICB; every route in (self-referral, nomination, watch list) is a
:class:`Referral` on the one open case of that practice. Every change that matters is an immutable, attributed
:class:`CaseEvent`; triage decisions, notes and plan changes are immutable history rows too. Support records are
kept apart from performance data: nothing here is written to the register or the pressure index.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.core.immutable import ImmutableRecord
from apps.practices.models import ICB, Practice

FIRST_CONTACT_DUE = timedelta(weeks=4)  # domain brief: contact within four weeks of referral
REVIEW_INTERVAL = timedelta(days=182)  # six-monthly review


class Status(models.TextChoices):
    REFERRED = "referred", "Referred"
    TRIAGED = "triaged", "Triaged"
    DIAGNOSIS = "diagnosis", "Diagnosis"
    PLAN_AGREED = "plan_agreed", "Plan agreed"
    APPROVED = "approved", "Package approved"
    IN_DELIVERY = "in_delivery", "In delivery"
    REVIEW = "review", "Review"
    CLOSED = "closed", "Closed"
    DECLINED = "declined", "Declined"
    WITHDRAWN = "withdrawn", "Withdrawn"


ENDED = (Status.CLOSED, Status.DECLINED, Status.WITHDRAWN)
OPEN = tuple(s for s in Status if s not in ENDED)


class Urgency(models.TextChoices):
    ROUTINE = "routine", "Routine: within the next few months"
    SOON = "soon", "Soon: within weeks"
    URGENT = "urgent", "Urgent: the practice may not cope this month"


class Route(models.TextChoices):
    SELF = "self", "Self-referral by the practice"
    LMC = "lmc", "Nomination by the LMC"
    ICB = "icb", "Nomination by the ICB"
    WATCH_LIST = "watch_list", "Opened from the watch list"


class CaseQuerySet(QuerySet["Case"]):
    def open(self) -> CaseQuerySet:
        return self.filter(status__in=OPEN)

    def in_icb(self, icb: ICB) -> CaseQuerySet:
        return self.filter(icb=icb)

    def overdue(self, today: date) -> CaseQuerySet:
        """Open cases with a late step, as :meth:`Case.overdue_reasons` words it, decided in the database so the
        queue can count and page them. Contact is due on the UTC date four weeks after opening (the date
        ``contact_due`` gives for a stored datetime), so it is late once ``opened_at`` is before midnight UTC today
        less four weeks."""
        cutoff = datetime.combine(today, time.min, tzinfo=UTC) - FIRST_CONTACT_DUE
        late = Q(first_contact_at__isnull=True, opened_at__lt=cutoff) | Q(review_due__lt=today)
        return self.filter(late, status__in=OPEN)


class Case(models.Model):
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="support_cases")
    icb = models.ForeignKey(ICB, on_delete=models.PROTECT, related_name="support_cases")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.REFERRED)
    urgency = models.CharField(max_length=8, choices=Urgency.choices, default=Urgency.ROUTINE)
    opened_at = models.DateTimeField(default=timezone.now)
    status_changed_at = models.DateTimeField(default=timezone.now)
    first_contact_at = models.DateTimeField(null=True, blank=True, help_text="First action by the ICB team")
    triage_scope = models.CharField(max_length=20, blank=True)
    triage_impact = models.CharField(max_length=20, blank=True)
    review_due = models.DateField(null=True, blank=True)
    provider = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_cases",
        help_text="The provider assigned to deliver the package (sees this case)",
    )

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["practice"], condition=Q(status__in=OPEN), name="one_open_case_per_practice"
            )
        ]
        indexes = [models.Index(fields=["icb", "status"])]

    def __str__(self) -> str:
        return f"{self.ref} {self.practice.code}"

    @property
    def ref(self) -> str:
        return f"CASE-{self.pk:06d}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def contact_due(self) -> date:
        return (self.opened_at + FIRST_CONTACT_DUE).date()

    def overdue_reasons(self, today: date | None = None) -> list[str]:
        """Steps that are late, in words, for the ICB queue."""
        today = today or timezone.localdate()
        out = []
        if self.is_open and self.first_contact_at is None and today > self.contact_due:
            out.append(f"No contact within 4 weeks of referral (due {self.contact_due:%d %b %Y})")
        if self.is_open and self.review_due and today > self.review_due:
            out.append(f"Six-monthly review overdue (due {self.review_due:%d %b %Y})")
        return out


class Referral(ImmutableRecord):
    """One route into a case. Several referrals may join the same open case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="referrals")
    route = models.CharField(max_length=12, choices=Route.choices)
    made_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    made_at = models.DateTimeField(default=timezone.now)
    concerns = models.TextField(help_text="What is wrong, in the referrer's words")
    tried = models.JSONField(default=list, help_text="Codes from TRIED_CHOICES")
    help_wanted = models.JSONField(default=list, help_text="Menu headings the practice asks for")
    urgency = models.CharField(max_length=8, choices=Urgency.choices, default=Urgency.ROUTINE)
    joined_existing = models.BooleanField(default=False)

    class Meta:
        ordering = ["made_at"]


class CaseEvent(ImmutableRecord):
    """The case timeline: every status change and every act that matters, attributed."""

    class Kind(models.TextChoices):
        OPENED = "opened", "Case opened"
        REFERRAL = "referral", "Referral joined"
        STATUS = "status", "Status changed"
        TRIAGE = "triage", "Triaged"
        NOTE = "note", "Note"
        HEALTH_CHECK = "health_check", "Health check"
        PLAN = "plan", "Plan changed"
        PACKAGE = "package", "Package"
        PROVIDER = "provider", "Provider assigned"
        SESSION = "session", "Support session"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=14, choices=Kind.choices)
    from_status = models.CharField(max_length=12, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=Status.choices, blank=True)
    summary = models.TextField()
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]


class Triage(ImmutableRecord):
    """A triage decision on the scope-for-support × impact-of-support matrix. The newest is current."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="triages")
    scope = models.CharField(max_length=20)
    impact = models.CharField(max_length=20)
    rationale = models.TextField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-pk"]


class CaseNote(ImmutableRecord):
    """A note on a case. Practice-confidential notes are read only by the practice and its ICB case team."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    text = models.TextField()
    practice_confidential = models.BooleanField(default=False)

    class Meta:
        ordering = ["-at", "-pk"]


class HealthCheck(models.Model):
    """A practice's answers to the health-check questionnaire (questions are data: ``healthcheck.toml``)."""

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="health_checks")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="health_checks")
    answers = models.JSONField(default=dict, help_text="question id → answer value")
    area_scores = models.JSONField(default=dict, help_text="area id → 0–100, higher is healthier")
    overall = models.FloatField(null=True, blank=True)
    questionnaire_version = models.CharField(max_length=20)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at"]

    def __str__(self) -> str:
        return f"Health check for {self.practice_id} ({'submitted' if self.submitted_at else 'draft'})"


class SupportOffer(models.Model):
    """One line of the menu of support, loaded from ``analytics/menu/offers.toml`` by ``sync_menu``."""

    code = models.CharField(max_length=40, unique=True)
    programme = models.CharField(max_length=8)
    heading = models.CharField(max_length=120)
    title = models.CharField(max_length=200)
    description = models.TextField()
    unit = models.CharField(max_length=40)
    unit_cost_pence = models.PositiveIntegerField()
    unit_basis = models.CharField(max_length=20)
    max_units = models.PositiveIntegerField()
    coach_hours_per_unit = models.FloatField(default=0)
    group = models.BooleanField(default=False)
    requires_impact = models.JSONField(default=list)
    requires_signed_off_plan = models.BooleanField(default=False)
    not_fundable = models.JSONField(default=list)
    effect = models.FloatField(default=0)
    standard_units = models.PositiveIntegerField(default=1)
    price_source = models.TextField(
        blank=True, help_text="Where unit_cost_pence comes from, or 'local estimate by <who> on <date>: <why>'"
    )
    effect_source = models.TextField(blank=True, help_text="The same for effect")
    order = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True, help_text="False once removed from the menu file")

    class Meta:
        ordering = ["order"]

    def __str__(self) -> str:
        return self.title


class LocalPrice(ImmutableRecord):
    """An ICB's own price for a menu offer (issue 17 §5): who set it, when and why. Never changed: a new price is a
    new row, and the newest is in force for the ICB's new packages (``apps.cases.prices.price_for``); packages
    priced before keep the price they were priced at."""

    icb = models.ForeignKey(ICB, on_delete=models.PROTECT, related_name="+")
    offer = models.ForeignKey(SupportOffer, on_delete=models.PROTECT, related_name="local_prices")
    price_pence = models.PositiveIntegerField(help_text="Price of one unit of the offer, in pence")
    reason = models.TextField(help_text="Where the price comes from: a quote, a contract, a local tariff")
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-set_at", "-id"]
        indexes = [models.Index(fields=["icb", "offer", "set_at"], name="local_price_in_force")]
        constraints = [models.CheckConstraint(condition=Q(price_pence__gt=0), name="local_price_positive")]

    def __str__(self) -> str:
        return f"{self.offer} at {self.price_pence}p for {self.icb_id}"


class ActionPlan(models.Model):
    """The practice's action plan for a case: goals with actions, owners and dates. The practice agrees it."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="plan")
    version = models.PositiveIntegerField(default=0)
    agreed_version = models.PositiveIntegerField(null=True, blank=True)
    agreed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    agreed_at = models.DateTimeField(null=True, blank=True)

    @property
    def is_agreed(self) -> bool:
        return self.agreed_version is not None and self.agreed_version == self.version

    def __str__(self) -> str:
        return f"Plan for case {self.case_id}, version {self.version}"


class PlanGoal(models.Model):
    plan = models.ForeignKey(ActionPlan, on_delete=models.CASCADE, related_name="goals")
    area = models.CharField(max_length=40)
    title = models.CharField(max_length=300)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.title


class PlanAction(models.Model):
    goal = models.ForeignKey(PlanGoal, on_delete=models.CASCADE, related_name="actions")
    description = models.CharField(max_length=500)
    owner = models.CharField(max_length=120)
    due = models.DateField()
    done = models.BooleanField(default=False)
    offer = models.ForeignKey(SupportOffer, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["due", "pk"]

    def __str__(self) -> str:
        return self.description


class PlanChange(ImmutableRecord):
    """What changed in a plan, by whom: the plan's history."""

    plan = models.ForeignKey(ActionPlan, on_delete=models.CASCADE, related_name="changes")
    version = models.PositiveIntegerField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    summary = models.TextField()

    class Meta:
        ordering = ["-at", "-pk"]


class Package(models.Model):
    """A priced package of support built from the menu; may cover a group of practices."""

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Awaiting approval"
        APPROVED = "approved", "Approved"
        REFUSED = "refused", "Refused"
        CANCELLED = "cancelled", "Cancelled"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="packages")
    number = models.PositiveIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    starts = models.DateField(help_text="Delivery starts")
    ends = models.DateField(help_text="Delivery ends (money is year-bound: by 31 March)")
    total_pence = models.PositiveBigIntegerField(default=0)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    budget_ref = models.CharField(max_length=60, blank=True, help_text="The budget the package was approved against")
    commitment_ref = models.CharField(max_length=60, blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["case", "number"], name="uniq_package_number")]

    @property
    def ref(self) -> str:
        return f"{self.case.ref}/PKG-{self.number}"

    def __str__(self) -> str:
        return f"Package {self.number} of case {self.case_id}"


class PackagePractice(models.Model):
    """A practice covered by a package, and its share of the cost in basis points (sum 10,000)."""

    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="practices")
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    share_bp = models.PositiveIntegerField(help_text="Share of the cost, basis points (100 = 1%)")
    share_pence = models.PositiveBigIntegerField(default=0)
    # Where the share stands in the package's current submission (cleared when it is submitted again); every
    # decision is also a ShareDecision row, the history.
    accepted_at = models.DateTimeField(null=True, blank=True, help_text="When the practice accepted its share")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True, help_text="Across a border: its own ICB approved it")
    budgets = models.JSONField(default=dict, help_text="Across a border: {offer code: budget id} its own ICB chose")

    class Meta:
        ordering = ["-share_bp", "practice__code"]
        constraints = [models.UniqueConstraint(fields=["package", "practice"], name="uniq_package_practice")]

    def __str__(self) -> str:
        return f"{self.practice_id}: {self.share_bp / 100}%"


class ShareDecision(ImmutableRecord):
    """A decision on a share of a group package, kept as history: a practice accepts or declines its part; across an
    ICB border, the practice's own ICB approves or refuses its share (``apps/cases/services/shares.py``)."""

    class Kind(models.TextChoices):
        ACCEPTED = "accepted", "Share accepted"
        DECLINED = "declined", "Share declined"
        APPROVED = "approved", "Share approved by its ICB"
        REFUSED = "refused", "Share refused by its ICB"

    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="share_decisions")
    practice = models.ForeignKey(Practice, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    icb = models.ForeignKey(ICB, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]


class PackageLine(models.Model):
    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="lines")
    offer = models.ForeignKey(SupportOffer, on_delete=models.PROTECT, related_name="+")
    requested_units = models.PositiveIntegerField()
    units = models.PositiveBigIntegerField(help_text="Units priced (list size for per-patient offers)")
    unit_cost_pence = models.PositiveIntegerField(help_text="Frozen at the price when the line was priced")
    total_pence = models.PositiveBigIntegerField()
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.units} × {self.offer_id}"


# Notifications and clock targets live in their own module (this one was over 500 lines); imported here so Django
# and every caller find them as apps.cases.models.*.
from apps.cases.notice_models import ClockTarget, Notification, NotificationKind, NotificationSetting  # noqa: E402

__all__ = ["ClockTarget", "Notification", "NotificationKind", "NotificationSetting"]
