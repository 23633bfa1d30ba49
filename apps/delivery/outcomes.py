"""Outcomes: snapshots of the same indicators at baseline and follow-ups, the practice survey, hours released per plan
action, RAG per package, and the programme aggregates.

* The **baseline** is taken when a package is approved (an explicit step of ``approve_package``, listed in
  :mod:`apps.cases.on_approval`), from the national data as loaded (workforce, QOF, CQC, list size), the current
  pressure-index run and the case's latest submitted health check. Follow-ups at 6 and 12 months take the same
  indicators once due. Snapshots are immutable.
* The **programme outcomes** aggregate a set of cases. The national view passes every case and shows totals only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.core.paginator import Page
from django.db import transaction
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from analytics.outcomes import closure_bands, cqc_change, expected_closures, mean
from apps.accounts.models import User
from apps.cases.models import Case, HealthCheck, Package, PlanAction
from apps.core.paging import page_of
from apps.delivery import policy as access
from apps.delivery.errors import DeliveryError
from apps.delivery.models import (
    SNAPSHOT_MONTHS,
    SURVEY_QUESTIONS,
    HoursReleased,
    OutcomeSnapshot,
    PackageRating,
    PracticeSurvey,
    Rag,
    Session,
    SnapshotKind,
)
from apps.indicators.models import PracticeScore, ScoringRun
from apps.practices.models import CQCRating, Practice, PracticeStatus, QOFAchievement, WorkforceYear

INDICATOR_LABELS = {
    "patients_per_gp_fte": "Patients per GP FTE",
    "gp_fte": "GP FTE",
    "nurse_fte": "Nurse FTE",
    "list_size": "Registered patients",
    "qof_percent": "QOF achievement (%)",
    "cqc_rating": "CQC rating",
    "pressure_composite": "Pressure index (0–100)",
    "pressure_rank": "Pressure rank in England (1 = most)",
}


def indicators_now(practice: Practice) -> tuple[dict[str, Any], dict[str, str]]:
    """The practice's indicators from the data as loaded now, and the period each comes from."""
    values: dict[str, Any] = {}
    periods: dict[str, str] = {}
    wf = WorkforceYear.objects.filter(practice=practice, gp_fte__isnull=False).order_by("-fy_end_year").first()
    if wf is not None:
        periods["gp_fte"] = periods["nurse_fte"] = periods["patients_per_gp_fte"] = f"workforce FY{wf.fy_end_year}"
        values["gp_fte"] = round(wf.gp_fte, 2) if wf.gp_fte is not None else None
        values["nurse_fte"] = round(wf.nurse_fte, 2) if wf.nurse_fte is not None else None
        if wf.gp_fte and wf.patients:
            values["patients_per_gp_fte"] = round(wf.patients / wf.gp_fte, 1)
    if practice.list_size:
        values["list_size"] = practice.list_size
        periods["list_size"] = f"list at {practice.list_size_date}" if practice.list_size_date else "register"
    qof = QOFAchievement.objects.filter(practice=practice).order_by("-qof_year").first()
    if qof is not None:
        values["qof_percent"] = round(qof.percent_of_max, 1)
        periods["qof_percent"] = f"QOF {qof.qof_year}"
    cqc = CQCRating.objects.filter(practice=practice).order_by("-as_of", "location_name").first()
    if cqc is not None:
        values["cqc_rating"] = cqc.rating
        periods["cqc_rating"] = f"CQC ratings {cqc.as_of}"
    score = PracticeScore.objects.filter(run__is_current=True, practice=practice).select_related("run").first()
    if score is not None:
        values["pressure_composite"] = round(score.composite, 1) if score.composite is not None else None
        values["pressure_rank"] = score.rank
        values["pressure_percentile"] = (
            round(score.rank / score.run.practice_count, 4) if score.rank and score.run.practice_count else None
        )
        periods["pressure_composite"] = periods["pressure_rank"] = f"scoring run as of {score.run.as_of}"
    return values, periods


def due_on(case: Case, kind: str) -> date | None:
    """When a follow-up is due: N months after the baseline (None before there is a baseline)."""
    base = case.outcome_snapshots.filter(kind=SnapshotKind.BASELINE).first()
    if base is None:
        return None
    months = SNAPSHOT_MONTHS[SnapshotKind(kind)]
    return (timezone.localtime(base.taken_at) + timedelta(days=round(months * 30.44))).date()


def take_snapshot(user: User, case: Case, kind: str, *, system: bool = False) -> OutcomeSnapshot:
    """Take the baseline or a follow-up. ``system`` is for the approval hook (the approver is the author)."""
    if kind not in SnapshotKind.values:
        raise DeliveryError("Choose baseline, 6-month or 12-month follow-up.")
    if not system and not access.can_record_outcomes(user, case):
        raise DeliveryError("Outcomes are recorded by the case's ICB team or its provider.")
    if not case.packages.filter(state=Package.State.APPROVED).exists():
        raise DeliveryError("Outcomes are measured once a package is approved.")
    if case.outcome_snapshots.filter(kind=kind).exists():
        raise DeliveryError(f"The {SnapshotKind(kind).label.lower()} has already been taken.")
    if kind != SnapshotKind.BASELINE:
        due = due_on(case, kind)
        if due is None:
            raise DeliveryError("Take the baseline first.")
        if timezone.localdate() < due:
            raise DeliveryError(f"The {SnapshotKind(kind).label.lower()} is not due until {due:%d %B %Y}.")
    values, periods = indicators_now(case.practice)
    hc = HealthCheck.objects.filter(case=case, submitted_at__isnull=False).order_by("-submitted_at").first()
    return OutcomeSnapshot.objects.create(
        case=case,
        kind=kind,
        taken_by=user,
        indicators=values,
        periods=periods,
        health_check_overall=hc.overall if hc else None,
        health_check_areas=dict(hc.area_scores) if hc else {},
    )


def record_survey(user: User, case: Case, kind: str, answers: Mapping[str, str], comment: str = "") -> PracticeSurvey:
    if not access.can_answer_survey(user, case):
        raise DeliveryError("The practice answers its own survey.")
    if kind not in SnapshotKind.values:
        raise DeliveryError("Choose which survey this is.")
    clean: dict[str, int] = {}
    for qid, text in SURVEY_QUESTIONS.items():
        raw = str(answers.get(qid, "")).strip()
        if raw not in {"1", "2", "3", "4", "5"}:
            raise DeliveryError(f"Answer “{text}” on the 1–5 scale.")
        clean[qid] = int(raw)
    unknown = set(answers) - set(SURVEY_QUESTIONS)
    if unknown:
        raise DeliveryError(f"Unknown questions: {', '.join(sorted(unknown))}.")
    if case.surveys.filter(kind=kind).exists():
        raise DeliveryError(f"The {SnapshotKind(kind).label.lower()} survey has already been answered.")
    return PracticeSurvey.objects.create(case=case, kind=kind, answers=clean, comment=comment.strip(), by=user)


def record_hours_released(
    user: User,
    case: Case,
    action: PlanAction,
    clinical_hours: float,
    admin_hours: float,
    period_start: date,
    period_end: date,
    method: str,
) -> HoursReleased:
    if not (access.can_record_outcomes(user, case) or access.can_answer_survey(user, case)):
        raise DeliveryError("Hours released are recorded by the case's ICB team, its provider or the practice.")
    if action.goal.plan.case_id != case.pk:
        raise DeliveryError("That action is not in this case's plan.")
    if clinical_hours < 0 or admin_hours < 0 or clinical_hours > 10_000 or admin_hours > 10_000:
        raise DeliveryError("Hours released must be between 0 and 10,000.")
    if clinical_hours == 0 and admin_hours == 0:
        raise DeliveryError("Enter the clinical or admin hours released (at least one above 0).")
    if period_end < period_start:
        raise DeliveryError("The period must end after it starts.")
    if period_end > timezone.localdate():
        raise DeliveryError("Hours released are recorded for a period that has ended, not in advance.")
    if len(method.strip()) < 5:
        raise DeliveryError("Say how the hours were measured, for example “appointment audit before and after”.")
    return HoursReleased.objects.create(
        case=case,
        action=action,
        clinical_hours=clinical_hours,
        admin_hours=admin_hours,
        period_start=period_start,
        period_end=period_end,
        method=method.strip()[:300],
        by=user,
    )


def rate_package(user: User, package: Package, rag: str, reason: str) -> PackageRating:
    if not access.can_rate_package(user, package.case):
        raise DeliveryError("The RAG rating is the ICB team's judgement: only the case's ICB team rates a package.")
    if package.state != Package.State.APPROVED:
        raise DeliveryError("Only an approved package is rated.")
    if rag not in Rag.values:
        raise DeliveryError("Choose red, amber or green.", field="rag")
    if len(reason.strip()) < 10:
        raise DeliveryError(
            "Give the reason for the rating (at least 10 characters): it is kept with your name.", field="reason"
        )
    return PackageRating.objects.create(package=package, rag=rag, reason=reason.strip(), by=user)


def take_baseline_on_approval(package: Package) -> None:
    """Called when a package becomes approved: the case's baseline, once (a later package keeps the first)."""
    case = package.case
    if package.decided_by is None or case.outcome_snapshots.filter(kind=SnapshotKind.BASELINE).exists():
        return
    with transaction.atomic():
        take_snapshot(package.decided_by, case, SnapshotKind.BASELINE, system=True)


# --- Aggregates -------------------------------------------------------------------------------------------------


@dataclass
class CaseOutcome:
    case: Case
    sessions_planned: int = 0
    sessions_delivered: int = 0
    hours_delivered: float = 0.0
    clinical_released: float = 0.0
    admin_released: float = 0.0
    ppgf_before: float | None = None
    ppgf_after: float | None = None
    cqc_before: str | None = None
    cqc_after: str | None = None
    rag: PackageRating | None = None
    follow_ups: list[str] = field(default_factory=list)

    @property
    def ppgf_change(self) -> float | None:
        return ppgf_change(self.ppgf_before, self.ppgf_after)


def ppgf_change(before: float | None, after: float | None) -> float | None:
    """The change in patients per GP FTE from the baseline to the latest follow-up (None without both)."""
    if before is None or after is None:
        return None
    return round(after - before, 1)


@dataclass
class ProgrammeOutcomes:
    practices_supported: int
    sessions_planned: int
    sessions_delivered: int
    hours_delivered: float
    clinical_released: float
    admin_released: float
    closures_observed: int
    closures_expected: float | None
    horizon_months: int | None
    mean_ppgf_change: float | None
    ppgf_cases: int
    cqc_improved: int
    cqc_worsened: int
    cqc_same: int
    rag: dict[str, int]

    @property
    def closures_avoided(self) -> float | None:
        if self.closures_expected is None:
            return None
        return round(self.closures_expected - self.closures_observed, 1)


def supported_cases(cases: QuerySet[Case]) -> QuerySet[Case]:
    """Cases with an approved package: the practices the programme is supporting or has supported."""
    return cases.filter(packages__state=Package.State.APPROVED).distinct()


def case_outcomes(cases: Sequence[Case]) -> list[CaseOutcome]:
    """One row per case. Sessions, hours released and the current rating are read for every case at once (one
    grouped query each, not one per case, and no session loaded: the programme page lists every supported case, and
    at scale their sessions run to thousands). Prefetch ``outcome_snapshots``."""
    ids = [c.pk for c in cases]
    delivered = Q(state=Session.State.DELIVERED)
    counted = {
        r["case_id"]: r
        for r in Session.objects.filter(case_id__in=ids)
        .values("case_id")
        .annotate(
            planned=Count("pk", filter=~Q(state=Session.State.CANCELLED)),
            done=Count("pk", filter=delivered),
            hours=Sum("delivered_hours", filter=delivered),
        )
        .order_by()
    }
    released = {
        r["case_id"]: (r["cl"] or 0.0, r["ad"] or 0.0)
        for r in HoursReleased.objects.filter(case_id__in=ids)
        .values("case_id")
        .annotate(cl=Sum("clinical_hours"), ad=Sum("admin_hours"))
        .order_by()
    }
    ratings: dict[int, PackageRating] = {}
    for rating in PackageRating.objects.filter(
        package__case_id__in=ids, package__state=Package.State.APPROVED
    ).select_related("by", "package"):  # newest first (the model's ordering): the first seen per case is current
        ratings.setdefault(rating.package.case_id, rating)
    out = []
    for c in cases:
        row = CaseOutcome(c)
        if c.pk in counted:
            n = counted[c.pk]
            row.sessions_planned, row.sessions_delivered = n["planned"], n["done"]
            row.hours_delivered = float(n["hours"] or 0)
        row.clinical_released, row.admin_released = released.get(c.pk, (0.0, 0.0))
        snaps = {s.kind: s for s in c.outcome_snapshots.all()}
        base = snaps.get(SnapshotKind.BASELINE)
        latest = snaps.get(SnapshotKind.MONTH_12) or snaps.get(SnapshotKind.MONTH_6)
        row.follow_ups = [SnapshotKind(k).label for k in snaps if k != SnapshotKind.BASELINE]
        if base:
            row.ppgf_before = base.indicators.get("patients_per_gp_fte")
            row.cqc_before = base.indicators.get("cqc_rating")
        if latest:
            row.ppgf_after = latest.indicators.get("patients_per_gp_fte")
            row.cqc_after = latest.indicators.get("cqc_rating")
        row.rag = ratings.get(c.pk)
        out.append(row)
    return out


def programme_outcomes(cases: QuerySet[Case]) -> ProgrammeOutcomes:
    """The programme's totals over the supported ``cases``, counted and summed in the database: a fixed number of
    queries, and no case, practice or session read into Python. Only the snapshots' few compared indicators are read
    (one small row per snapshot), since the changes between them follow the rules of ``analytics.outcomes``."""
    ids = supported_cases(cases).values("pk")
    each = Case.objects.filter(pk__in=ids)
    counted = each.aggregate(
        cases=Count("pk"),
        practices=Count("practice_id", distinct=True),
        closed=Count("practice_id", distinct=True, filter=~Q(practice__status=PracticeStatus.ACTIVE)),
    )
    delivered = Q(state=Session.State.DELIVERED)
    sessions = Session.objects.filter(case_id__in=ids).aggregate(
        planned=Count("pk", filter=~Q(state=Session.State.CANCELLED)),
        done=Count("pk", filter=delivered),
        hours=Sum("delivered_hours", filter=delivered),
    )
    released = HoursReleased.objects.filter(case_id__in=ids).aggregate(cl=Sum("clinical_hours"), ad=Sum("admin_hours"))
    rag = Counter(
        {r["current"]: r["n"] for r in each.annotate(current=_current_rag()).values("current").annotate(n=Count("pk"))}
    )
    compared = _compared_indicators(ids)
    run = ScoringRun.objects.filter(is_current=True).first()
    expected = horizon = None
    if run is not None and run.backtest:
        bands = closure_bands(run.backtest)
        # a supported case with no baseline counts at an unknown percentile (the last band), as before
        unknown: list[float | None] = [None] * (counted["cases"] - len(compared.percentiles))
        expected, horizon = round(expected_closures([*compared.percentiles, *unknown], bands), 2), bands.horizon_months
    change = mean(compared.ppgf_changes)
    return ProgrammeOutcomes(
        practices_supported=counted["practices"],
        sessions_planned=sessions["planned"],
        sessions_delivered=sessions["done"],
        hours_delivered=round(float(sessions["hours"] or 0), 1),
        clinical_released=round(float(released["cl"] or 0), 1),
        admin_released=round(float(released["ad"] or 0), 1),
        closures_observed=counted["closed"],
        closures_expected=expected,
        horizon_months=horizon,
        mean_ppgf_change=round(change, 1) if change is not None else None,
        ppgf_cases=len(compared.ppgf_changes),
        cqc_improved=compared.cqc.get(1, 0),
        cqc_worsened=compared.cqc.get(-1, 0),
        cqc_same=compared.cqc.get(0, 0),
        rag={k: rag.get(k, 0) for k in Rag.values},
    )


def _current_rag() -> Subquery:
    """A case's current RAG: the newest rating (the model's order) of its approved packages, as ``case_outcomes``
    takes it."""
    newest = PackageRating.objects.filter(package__case_id=OuterRef("pk"), package__state=Package.State.APPROVED)
    return Subquery(newest.order_by("-at", "-pk").values("rag")[:1])


@dataclass
class _Compared:
    percentiles: list[float | None] = field(default_factory=list)  # one per case with a baseline
    ppgf_changes: list[float] = field(default_factory=list)
    cqc: Counter[int | None] = field(default_factory=Counter)


def _compared_indicators(case_ids: QuerySet[Case]) -> _Compared:
    """The baseline's pressure percentile, and patients per GP FTE and the CQC rating at baseline and at the latest
    follow-up (12 months, else 6), of each case: three JSON keys per snapshot read, nothing else."""
    by_case: dict[int, dict[str, tuple[Any, Any, Any]]] = {}
    rows = OutcomeSnapshot.objects.filter(case_id__in=case_ids).values_list(
        "case_id",
        "kind",
        "indicators__patients_per_gp_fte",
        "indicators__cqc_rating",
        "indicators__pressure_percentile",
    )
    for case_id, kind, ppgf, cqc, percentile in rows.order_by():
        by_case.setdefault(case_id, {})[kind] = (ppgf, cqc, percentile)
    out = _Compared()
    for snaps in by_case.values():
        base = snaps.get(SnapshotKind.BASELINE)
        latest = snaps.get(SnapshotKind.MONTH_12) or snaps.get(SnapshotKind.MONTH_6)
        before, after = base or (None, None, None), latest or (None, None, None)
        if base is not None:
            out.percentiles.append(base[2])
        change = ppgf_change(before[0], after[0])
        if change is not None:
            out.ppgf_changes.append(change)
        out.cqc[cqc_change(before[1], after[1])] += 1
    return out


def supported_page(cases: QuerySet[Case], number: str | None) -> Page:
    """One page of the supported ``cases``, newest first, as :class:`CaseOutcome` rows: only the page's cases are
    read (the totals are :func:`programme_outcomes`)."""
    supported = supported_cases(cases).select_related("practice", "icb").prefetch_related("outcome_snapshots")
    page = page_of(supported.order_by("-opened_at", "-pk"), number)
    page.object_list = case_outcomes(list(page.object_list))
    return page


def outcomes_by_icb(cases: QuerySet[Case]) -> list[tuple[str, int, int, float, float]]:
    """(ICB, practices supported, sessions delivered, hours delivered, hours released) per ICB of the supported
    ``cases``, by ICB name: counts and sums only, grouped in the database (three queries), no case or practice
    named. Cases of no ICB count under "–"."""
    ids = supported_cases(cases).values("pk")
    practices = Case.objects.filter(pk__in=ids).values("icb__name").annotate(n=Count("practice_id", distinct=True))
    sessions = (
        Session.objects.filter(case_id__in=ids, state=Session.State.DELIVERED)
        .values("case__icb__name")
        .annotate(n=Count("pk"), hours=Sum("delivered_hours"))
    )
    released = (
        HoursReleased.objects.filter(case_id__in=ids)
        .values("case__icb__name")
        .annotate(cl=Sum("clinical_hours"), ad=Sum("admin_hours"))
    )
    done = {r["case__icb__name"]: (r["n"], float(r["hours"] or 0)) for r in sessions.order_by()}
    freed = {r["case__icb__name"]: float(r["cl"] or 0) + float(r["ad"] or 0) for r in released.order_by()}
    return sorted(
        (
            name or "–",
            r["n"],
            done.get(name, (0, 0.0))[0],
            round(done.get(name, (0, 0.0))[1], 1),
            round(freed.get(name, 0.0), 1),
        )
        for r in practices.order_by()
        for name in [r["icb__name"]]
    )
