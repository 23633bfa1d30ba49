"""Programmes, funding lines, allocations, releases, budgets and the immutable ledger. Money is integer pence.

A **programme** (GPRP, a local scheme) has **funding lines**, each with a total and a financial-year profile. A
line's year is **allocated** to ICBs by a stored formula (each ICB's slice is a **budget**: line × year × ICB),
then **released** in tranches. Package approvals **commit** released money; providers and practices are **paid**
against commitments; **virements** move released, uncommitted money between budgets with national approval.

Every movement is a :class:`LedgerEntry`, which can never be changed or deleted; balances are sums of entries
(see ``analytics.money`` for the kinds and signs, docs/money.md for the rules), which the pages read from running
monthly totals, :class:`LedgerMonth` (``apps.funding.ledger_writes``). ``Budget`` rows exist so that
money-changing services can lock them (``select_for_update``) while they check headroom.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from analytics import money
from apps.core.immutable import ImmutableRecord
from apps.funding import payment_totals
from apps.funding.ledger_writes import LedgerMonth as LedgerMonth  # defined there, registered by this import
from apps.funding.ledger_writes import LedgerQuerySet, with_icb
from apps.funding.ledger_writes import add as add_to_tallies
from apps.funding.payment_totals import PaymentTotal as PaymentTotal  # defined there, registered by this import
from apps.practices.models import ICB


class MenuProgramme(models.TextChoices):
    GPRP = "GPRP", "General Practice Resilience Programme menu"
    GPDP = "GPDP", "General Practice Development Programme menu"


class VirementRule(models.TextChoices):
    """How money may move between a programme's own lines (a virement between two of its lines)."""

    NONE = "none", "Money stays on its line"
    SAME_ACCESS = "same_access", "Between lines of the same kind (targeted or universal)"
    ANY = "any", "Between any of the programme's lines"


class PublishRecipients(models.TextChoices):
    """How a programme's published spend (360Giving) names who got the money."""

    ICB = "icb", "Aggregated to ICB level (practices are not named)"
    NAMED = "named", "Practices named"


class Programme(models.Model):
    code = models.SlugField(max_length=30, unique=True, help_text="Short code, e.g. GPRP or GPR-2026")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    menu = models.CharField(
        max_length=4, choices=MenuProgramme.choices, help_text="Which menu of support packages draw from"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    owner_icb = models.ForeignKey(
        ICB,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="own_programmes",
        help_text="Empty for a national programme. An ICB's own scheme (a local resilience scheme, or money it had "
        "before this service) recorded by that ICB's team: it sets that scheme's budgets, the national team does not",
    )
    at_risk_threshold_bp = models.PositiveSmallIntegerField(
        default=500,
        help_text="A budget is at risk at year end when its forecast spend differs from its released money by more "
        "than this share of it, in basis points (500 = 5%). The national team sets it (apps.funding.reports.at_risk).",
    )
    virement_rule = models.CharField(
        max_length=12,
        choices=VirementRule.choices,
        default=VirementRule.ANY,
        help_text="Whether a virement may move money between two of this programme's lines (request_virement)",
    )
    template = models.CharField(
        max_length=30,
        blank=True,
        help_text="The programme template it was started from (programme_templates); blank = from scratch",
    )
    publish_recipients = models.CharField(
        max_length=10,
        choices=PublishRecipients.choices,
        default=PublishRecipients.ICB,
        help_text="Published spend names each practice, or totals per ICB and menu heading, where a group of fewer "
        "than 5 practices is never shown on its own (apps.funding.giving)",
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def total_pence(self) -> int:
        return sum(line.total_pence for line in self.lines.all())


class LineAccess(models.TextChoices):
    TARGETED = "targeted", "Targeted: for practices in a support case"
    UNIVERSAL = "universal", "Universal: any practice by expression of interest"


class AllocationBasis(models.TextChoices):
    FORMULA = "formula", "By formula"
    FIXED = "fixed", "A fixed sum per ICB"
    BID = "bid", "By bids"


class FundingLine(models.Model):
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="lines")
    code = models.SlugField(max_length=30, help_text="Unique within the programme, e.g. core")
    name = models.CharField(max_length=200)
    total_pence = models.BigIntegerField()
    cost_centre = models.CharField(max_length=20, help_text="Finance-system cost centre, for payment exports")
    ledger_code = models.CharField(max_length=20, help_text="Finance-system ledger (subjective) code")
    offer_codes = models.JSONField(
        default=list,
        blank=True,
        help_text="Codes of the menu offers this line may fund; empty = every offer on the programme's menu "
        "(apps.funding.lines.funds_offer is the one rule)",
    )
    access = models.CharField(
        max_length=10,
        choices=LineAccess.choices,
        default=LineAccess.TARGETED,
        help_text="Targeted money needs a support case; universal money is open to any practice by expression of "
        "interest",
    )
    allocation_basis = models.CharField(
        max_length=10,
        choices=AllocationBasis.choices,
        default=AllocationBasis.FORMULA,
        help_text="How the line reaches ICBs: by a formula, a fixed sum each, or by bids",
    )
    figures_source = models.TextField(
        blank=True,
        help_text="Where the line's offers, access, allocation basis and profile come from, or that they are "
        "estimates (from the programme template); blank = set by the programme's creator without a source",
    )

    class Meta:
        ordering = ["programme__code", "code"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "code"], name="uniq_line_code"),
            models.CheckConstraint(condition=models.Q(total_pence__gt=0), name="line_total_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.programme.code} · {self.name}"


class FundingYear(models.Model):
    """One year of a line's financial-year profile; a line's years sum to its total."""

    line = models.ForeignKey(FundingLine, on_delete=models.PROTECT, related_name="years")
    fy = models.PositiveSmallIntegerField(help_text="Financial year by its starting calendar year: 2026 = 2026-27")
    amount_pence = models.BigIntegerField()

    class Meta:
        ordering = ["fy"]
        constraints = [
            models.UniqueConstraint(fields=["line", "fy"], name="uniq_line_year"),
            models.CheckConstraint(condition=models.Q(amount_pence__gt=0), name="year_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.line} {self.label}"

    @property
    def label(self) -> str:
        return money.fy_label(self.fy)


class Formula(models.TextChoices):
    WEIGHTED_PATIENTS = "weighted_patients", "Per weighted patient (payments file)"
    REGISTERED_PATIENTS = "registered_patients", "Per registered patient"
    FIXED_SHARES = "fixed_shares", "Fixed shares"


class Allocation(ImmutableRecord):
    """A confirmed split of (part of) a line's year across ICBs, with the formula and the data it used."""

    line = models.ForeignKey(FundingLine, on_delete=models.PROTECT, related_name="allocations")
    fy = models.PositiveSmallIntegerField()
    amount_pence = models.BigIntegerField()
    formula = models.CharField(max_length=20, choices=Formula.choices)
    data_source = models.CharField(max_length=300, help_text="What the weights came from, in words")
    basis = models.JSONField(help_text="ICB code → the weight used (patients, weighted patients or share)")
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the previewed split")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Allocation of {self.line} {money.fy_label(self.fy)}"


class Budget(models.Model):
    """A line's money for one ICB in one financial year. Balances are derived from its ledger entries."""

    line = models.ForeignKey(FundingLine, on_delete=models.PROTECT, related_name="budgets")
    fy = models.PositiveSmallIntegerField()
    icb = models.ForeignKey(ICB, on_delete=models.PROTECT, related_name="budgets")

    class Meta:
        ordering = ["-fy", "line__programme__code", "line__code", "icb__name"]
        constraints = [models.UniqueConstraint(fields=["line", "fy", "icb"], name="uniq_budget")]

    def __str__(self) -> str:
        return f"{self.line} {self.fy_label} · {self.icb.short_name}"

    @property
    def fy_label(self) -> str:
        return money.fy_label(self.fy)

    def balance(self) -> money.Balance:
        """Totals from this budget's ledger entries (one query)."""
        rows = self.entries.order_by().values_list("kind").annotate(total=models.Sum("amount_pence"))
        return money.balance_of((money.Kind(k), t) for k, t in rows)

    @property
    def headroom_pence(self) -> int:
        """Released (and so allocated) money not yet committed. ``budgets_for`` fills this without a query each."""
        cached: money.Balance | None = getattr(self, "balance_", None)
        return (cached or self.balance()).headroom


class Release(ImmutableRecord):
    """A tranche of a line's year released nationally ("the first £16m of £40m"); split across its budgets."""

    line = models.ForeignKey(FundingLine, on_delete=models.PROTECT, related_name="releases")
    fy = models.PositiveSmallIntegerField()
    amount_pence = models.BigIntegerField()
    note = models.CharField(max_length=300)
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    released_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-released_at"]

    def __str__(self) -> str:
        return f"Release of {self.amount_pence}p from {self.line}"


class Commitment(models.Model):
    """Money committed against a budget when a package is approved. Its current state; the ledger has the history.

    ``recipients`` is ``[[ODS code, pence], …]`` and ``offers`` ``{offer code: pence}``, both summing to the
    current amount; ``schedule`` is ``[[ISO date, pence], …]``, the expected spend.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CANCELLED = "cancelled", "Cancelled"

    budget = models.ForeignKey(Budget, on_delete=models.PROTECT, related_name="commitments")
    reference = models.CharField(max_length=60, unique=True)
    amount_pence = models.BigIntegerField(help_text="Current committed amount (after variations)")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    recipients = models.JSONField()
    offers = models.JSONField()
    schedule = models.JSONField()
    memo = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.reference

    @property
    def paid_pence(self) -> int:
        return int(
            self.entries.filter(kind=money.Kind.PAYMENT).order_by().aggregate(t=models.Sum("amount_pence"))["t"] or 0
        )


class PayeeKind(models.TextChoices):
    """Who a commitment outside a practice case pays (issue 17 §4): the programmes paid for these as well as the
    menu of support."""

    RESILIENCE_POST = "resilience_post", "Local resilience post"
    LMC_TEAM = "lmc_team", "LMC support team"
    COHORT_PROVIDER = "cohort_provider", "Provider contract for a cohort"
    PM_PROGRAMME = "pm_programme", "Practice-manager programme contract"


class PayeeCommitment(models.Model):
    """What makes a :class:`Commitment` one to a payee that is not a practice case: who is paid, and why.

    The commitment itself (amount, status, ``schedule`` of tranches) and its ledger entries are the ordinary ones,
    made, varied and cancelled by the same services; its ledger entries name no practice and no offer. Tranche
    ``n`` is the n-th entry of the commitment's date-ordered schedule, and each payment against it names one
    (``Payment.tranche``)."""

    commitment = models.OneToOneField(Commitment, on_delete=models.PROTECT, primary_key=True, related_name="payee")
    kind = models.CharField(max_length=20, choices=PayeeKind.choices)
    name = models.CharField(max_length=200, help_text="The payee: the post holder's employer, the LMC, the provider")
    organisation_code = models.CharField(
        max_length=12, blank=True, help_text="ODS or provider code of the organisation paid, if it has one"
    )
    purpose = models.TextField(help_text="What the money pays for")

    class Meta:
        ordering = ["-commitment__created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"


class FourEyesDecision(models.Model):
    """A request that one person makes and a different person decides: payments (a colleague in the ICB team) and
    virements (the national team). The fields and the rule live here once; ``apps.funding.services.decisions``
    is the one service that decides. The database refuses a decision by the requester as well (``four_eyes``), so a
    code path that forgets the service still cannot approve its own request.

    Subclasses declare ``status`` with their own labels over the values of :class:`Decision`.
    """

    class Decision(models.TextChoices):
        REQUESTED = "requested", "Awaiting a decision"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True, help_text="The decider's reason (needed to reject)")

    status: str
    FOUR_EYES = models.CheckConstraint(
        condition=models.Q(decided_by__isnull=True) | ~models.Q(decided_by=models.F("requested_by")),
        name="%(app_label)s_%(class)s_four_eyes",
    )

    class Meta:
        abstract = True

    @property
    def is_pending(self) -> bool:
        return self.status == FourEyesDecision.Decision.REQUESTED


class Payment(FourEyesDecision):
    """A provider invoice or a direct payment to a practice, against a commitment; it moves money once approved."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", "Provider invoice"
        DIRECT = "direct", "Direct payment to a practice"

    class Status(models.TextChoices):
        REQUESTED = "requested", "Awaiting approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    commitment = models.ForeignKey(Commitment, on_delete=models.PROTECT, related_name="payments")
    # the commitment's budget's ICB, copied by ``save`` (apps.funding.icb_rule): the newest page is an index walk
    icb = models.ForeignKey(ICB, on_delete=models.PROTECT, related_name="+", editable=False, db_index=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    payee = models.CharField(max_length=200, help_text="Provider name, or the practice's name")
    practice_code = models.CharField(max_length=8, blank=True, help_text="For direct payments: the practice")
    invoice_number = models.CharField(max_length=60, blank=True)
    offer_code = models.CharField(max_length=60, blank=True)
    session_refs = models.JSONField(default=list, help_text="References of the delivered sessions invoiced")
    amount_pence = models.BigIntegerField()
    memo = models.TextField(blank=True)
    tranche = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="A commitment to a payee: the tranche of its schedule paid (1 = first)"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)

    class Meta:
        ordering = ["-requested_at"]
        indexes = [
            models.Index(fields=["icb", "-requested_at", "-id"], name="payment_icb_newest"),
            models.Index(fields=["icb", "status", "-requested_at", "-id"], name="payment_icb_status_newest"),
        ]
        constraints = [
            FourEyesDecision.FOUR_EYES,
            models.CheckConstraint(condition=models.Q(amount_pence__gt=0), name="payment_positive"),
            # A tranche is paid once; a rejected payment does not hold it (as an invoice number).
            models.UniqueConstraint(
                fields=["commitment", "tranche"],
                condition=models.Q(tranche__isnull=False) & ~models.Q(status="rejected"),
                name="one_payment_per_tranche",
            ),
            # One invoice, one payment: a double submit or a resent invoice must not be paid twice. A rejected
            # payment does not hold its number (the corrected invoice is recorded again under it).
            models.UniqueConstraint(
                fields=["commitment", "invoice_number"],
                condition=~models.Q(invoice_number="") & ~models.Q(status="rejected"),
                name="one_payment_per_invoice",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.invoice_number or self.pk} for {self.commitment_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.icb_id = self.icb_id or self.commitment.budget.icb_id
        with transaction.atomic():  # the payment and its ICB's totals by status (payment_totals) together
            was = payment_totals.before(self)
            super().save(*args, **kwargs)
            payment_totals.changed(was, self)


class Virement(FourEyesDecision):
    """A request to move released, uncommitted money between budgets of the same year; the national team decides."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Awaiting national approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    from_budget = models.ForeignKey(Budget, on_delete=models.PROTECT, related_name="virements_out")
    to_budget = models.ForeignKey(Budget, on_delete=models.PROTECT, related_name="virements_in")
    amount_pence = models.BigIntegerField()
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            FourEyesDecision.FOUR_EYES,
            models.CheckConstraint(condition=models.Q(amount_pence__gt=0), name="virement_positive"),
        ]

    def __str__(self) -> str:
        return f"Virement {self.pk}: {self.from_budget} → {self.to_budget}"


class LedgerEntry(ImmutableRecord):
    """One movement of money on one budget. Never updated, never deleted: corrections are new entries.

    Sign convention (``analytics.money.EFFECTS``): allocation, release, commitment and payment are positive;
    decommitment is negative; variation and virement carry the sign of the change (out of a budget negative).
    Entries written by one action share a ``movement`` id.
    """

    Kind = money.Kind

    budget = models.ForeignKey(Budget, on_delete=models.PROTECT, related_name="entries")
    # the budget's ICB, copied by ``save`` and ``bulk_create`` (icb_rule): the newest page is an index walk
    icb = models.ForeignKey(ICB, on_delete=models.PROTECT, related_name="+", editable=False, db_index=False)
    kind = models.CharField(max_length=14, choices=[(k.value, k.value.title()) for k in money.Kind])
    amount_pence = models.BigIntegerField()
    movement = models.UUIDField(default=uuid.uuid4, db_index=True)
    reference = models.CharField(max_length=60, blank=True, help_text="Commitment reference, if any")
    practice_code = models.CharField(max_length=8, blank=True, help_text="The practice this money is for")
    offer_code = models.CharField(max_length=60, blank=True)
    memo = models.CharField(max_length=500, blank=True)
    allocation = models.ForeignKey(Allocation, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    release = models.ForeignKey(Release, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    commitment = models.ForeignKey(Commitment, null=True, blank=True, on_delete=models.PROTECT, related_name="entries")
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    virement = models.ForeignKey(Virement, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = LedgerQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        # The ledger list filters by ICB, budget, kind and date, newest first: each filter starts from an index.
        indexes = [
            models.Index(fields=["budget", "kind"]),
            models.Index(fields=["budget", "created_at"], name="ledger_budget_time"),
            models.Index(fields=["kind", "created_at"], name="ledger_kind_time"),
            models.Index(fields=["icb", "-created_at", "-id"], name="ledger_icb_newest"),
        ]
        constraints = [models.CheckConstraint(condition=~models.Q(amount_pence=0), name="entry_not_zero")]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount_pence}p on budget {self.budget_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        with_icb([self])
        with transaction.atomic():  # the entry and its month's total (apps.funding.ledger_writes) together
            super().save(*args, **kwargs)
            add_to_tallies([self])
