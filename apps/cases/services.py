"""The case workflow's business rules. Views, commands and the API call these; none of them sees a request.

Every function checks the actor's right to act (through :mod:`apps.accounts.access`) and the lifecycle
(:mod:`apps.cases.lifecycle`), writes attributed history, and raises :class:`CaseError` with a message a user can act
on. Each runs in one transaction: a refused step changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from analytics import money
from analytics.menu.offers import load_menu
from apps.accounts.models import User
from apps.cases import lifecycle, notify, policy
from apps.cases import policy as access
from apps.cases.config import questionnaire, triage_levels
from apps.cases.models import (
    REVIEW_INTERVAL,
    ActionPlan,
    Case,
    CaseEvent,
    CaseNote,
    HealthCheck,
    NotificationKind,
    Package,
    PackageLine,
    PackagePractice,
    PlanAction,
    PlanChange,
    PlanGoal,
    Referral,
    Route,
    Status,
    SupportOffer,
    Triage,
    Urgency,
)
from apps.core import audit
from apps.core.errors import DomainError
from apps.funding import services as funding
from apps.funding.models import Budget
from apps.practices.models import PaymentsYear, Practice, PracticeStatus

# What a practice may already have tried: structured choices on the referral form.
TRIED_CHOICES = {
    "list_closure": "Applied for, or considered, a list closure",
    "boundary_change": "Boundary change",
    "skill_mix": "Skill-mix change (new roles instead of GP sessions)",
    "locums": "Locum or agency cover",
    "recruitment": "Recruitment campaign",
    "merger_talks": "Merger or federation talks",
    "pcn_support": "Asked the PCN for help",
    "lmc_advice": "Advice from the LMC",
    "nothing_yet": "Nothing yet",
}


class CaseError(DomainError):
    """A step on a case refused; the message says why in words the user can act on."""


def _event(case: Case, user: User, kind: str, summary: str, *, src: str = "", dst: str = "", reason: str = "") -> None:
    CaseEvent.objects.create(
        case=case, by=user, kind=kind, summary=summary, from_status=src, to_status=dst, reason=reason
    )


def _contact(case: Case, user: User) -> None:
    """The first action by the ICB team counts as contact (the four-week clock stops)."""
    if case.first_contact_at is None and policy.is_case_team(user):
        case.first_contact_at = timezone.now()


def _move(case: Case, target: str, user: User, reason: str = "", *, via: str = "", quiet: bool = False) -> None:
    """Move the case through the transition table, record the attributed event, and tell the people on the case
    (``quiet``: a step recorded on the way to another that is itself told)."""
    try:
        t = lifecycle.check(case.status, target, user.role, via=via, reason=reason)
    except lifecycle.IllegalTransition as e:
        raise CaseError(str(e)) from e
    src = case.status
    case.status = t.target
    case.status_changed_at = timezone.now()
    _contact(case, user)
    if t.target == Status.REVIEW or (src == Status.REVIEW and t.target == Status.IN_DELIVERY):
        case.review_due = timezone.localdate() + REVIEW_INTERVAL
    case.save()
    if src != t.target:
        _event(
            case,
            user,
            CaseEvent.Kind.STATUS,
            f"{Status(src).label} → {t.target.label}",
            src=src,
            dst=t.target,
            reason=reason,
        )
        if quiet:
            return
        told = notify.practice_team(case) + notify.icb_team(case) + ([case.provider] if case.provider else [])
        notify.notify(
            told,
            NotificationKind.STATUS,
            case,
            f"{case.ref} ({case.practice.display_name}) moved to “{t.target.label}”.",
            actor=user,
        )


def _locked(case: Case) -> Case:
    return Case.objects.select_for_update().select_related("practice", "icb").get(pk=case.pk)


# --- Ways in ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferralInput:
    concerns: str
    tried: Sequence[str] = ()
    help_wanted: Sequence[str] = ()
    urgency: str = Urgency.ROUTINE


def _check_referral(data: ReferralInput) -> None:
    if len(data.concerns.strip()) < 10:
        raise CaseError("Say what is wrong in a sentence or two (at least 10 characters).")
    bad = [t for t in data.tried if t not in TRIED_CHOICES]
    if bad:
        raise CaseError(f"Unknown choices for what has been tried: {', '.join(bad)}")
    headings = {o.heading for o in load_menu()}
    bad = [h for h in data.help_wanted if h not in headings]
    if bad:
        raise CaseError(f"Unknown kinds of help: {', '.join(bad)}")
    if data.urgency not in Urgency.values:
        raise CaseError("Choose how urgent this is.")


def refer(user: User, practice: Practice, route: str, data: ReferralInput) -> tuple[Case, bool]:
    """A referral or nomination. Joins the practice's open case if it has one; returns (case, created)."""
    if route == Route.SELF:
        if not (access.can_self_refer(user) and user.practice_id == practice.pk):
            raise CaseError("Only the practice itself can self-refer.")
    elif route in (Route.LMC, Route.ICB, Route.WATCH_LIST):
        if not access.nominatable_practices(user).filter(pk=practice.pk).exists():
            raise CaseError("You can nominate practices in your own ICB only.")
        if (route == Route.LMC) != policy.is_lmc(user):
            raise CaseError("That route is not yours.")
    else:
        raise CaseError("Unknown route.")
    if practice.status != PracticeStatus.ACTIVE:
        raise CaseError(f"{practice.display_name} is not an open practice.")
    if practice.icb_id is None:
        raise CaseError(f"{practice.display_name} has no ICB in the register, so no team could pick this up.")
    _check_referral(data)
    for attempt in range(2):  # a second referral racing the first joins its case (unique open case per practice)
        try:
            with transaction.atomic():
                return _refer(user, practice, route, data)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def _refer(user: User, practice: Practice, route: str, data: ReferralInput) -> tuple[Case, bool]:
    case = Case.objects.select_for_update().filter(practice=practice).open().first()
    created = case is None
    if case is None:
        case = Case.objects.create(practice=practice, icb_id=practice.icb_id, urgency=data.urgency)
        _event(case, user, CaseEvent.Kind.OPENED, f"Case opened ({Route(route).label})")
    elif Urgency.values.index(data.urgency) > Urgency.values.index(case.urgency):
        case.urgency = data.urgency
    _contact(case, user)
    case.save()
    Referral.objects.create(
        case=case,
        route=route,
        made_by=user,
        concerns=data.concerns.strip(),
        tried=list(data.tried),
        help_wanted=list(data.help_wanted),
        urgency=data.urgency,
        joined_existing=not created,
    )
    if not created:
        _event(case, user, CaseEvent.Kind.REFERRAL, f"{Route(route).label} joined this case")
    name = practice.display_name
    if route != Route.SELF:
        notify.notify(
            notify.practice_team(case),
            NotificationKind.NOMINATED,
            case,
            f"{name} has been nominated for support ({Route(route).label}, {case.ref}). "
            "You can see the case and what happens next in GP Resilience.",
            actor=user,
        )
    notify.notify(
        notify.icb_team(case),
        NotificationKind.NEW_REFERRAL,
        case,
        f"{Route(route).label} for {name}: {case.ref}.",
        actor=user,
    )
    return case, created


def case_counts() -> dict[tuple[int, str], int]:
    """(ICB id, status) → number of cases, counted in the database: the national aggregate view (pages and API)."""
    rows = Case.objects.order_by().values_list("icb_id", "status").annotate(n=Count("id"))
    return {(icb_id, status): n for icb_id, status, n in rows}


# --- Triage, status, notes --------------------------------------------------------------------------------------


def triage(user: User, case: Case, scope: str, impact: str, rationale: str) -> Triage:
    case.refresh_from_db()
    scopes, impacts = triage_levels()
    if scope not in {lv.code for lv in scopes}:
        raise CaseError("Choose the scope for support.")
    if impact not in {lv.code for lv in impacts}:
        raise CaseError("Choose the impact of support.")
    if not rationale.strip():
        raise CaseError("Give the rationale for this triage: it is kept with your name.")
    if not access.can_run_case(user, case):
        raise CaseError("Only the case's ICB team can triage it.")
    with transaction.atomic():
        case = _locked(case)
        target = Status.TRIAGED
        _move(case, target, user, rationale, via="triage")
        case.triage_scope, case.triage_impact = scope, impact
        case.save()
        t = Triage.objects.create(case=case, scope=scope, impact=impact, rationale=rationale.strip(), by=user)
        _event(case, user, CaseEvent.Kind.TRIAGE, f"Scope {scope}, impact {impact}", reason=rationale.strip())
        notify.notify(
            notify.practice_team(case),
            NotificationKind.TRIAGED,
            case,
            f"{case.ref}: the ICB team has looked at your request and will be in touch about next steps.",
            actor=user,
        )
    return t


def change_status(user: User, case: Case, target: str, reason: str = "") -> Case:
    """A plain lifecycle move (start diagnosis, start delivery, review, close, decline, withdraw)."""
    case.refresh_from_db()
    if not (access.can_run_case(user, case) or access.cases_visible_to(user).filter(pk=case.pk).exists()):
        raise CaseError("You cannot act on this case.")
    with transaction.atomic():
        case = _locked(case)
        _move(case, target, user, reason.strip())
        if target in (Status.WITHDRAWN, Status.CLOSED):
            _release_money(case, user, reason.strip() or f"Case {Status(target).label.lower()}")
        if target in (Status.WITHDRAWN, Status.DECLINED):
            for p in case.packages.filter(state__in=[Package.State.DRAFT, Package.State.SUBMITTED]):
                p.state = Package.State.CANCELLED
                p.save(update_fields=["state"])
    return case


def _release_money(case: Case, user: User, reason: str) -> None:
    """Give back what approved packages committed and did not spend (the ledger's de-commitment)."""
    from apps.funding.models import Commitment

    refs = [p.commitment_ref for p in case.packages.filter(state=Package.State.APPROVED) if p.commitment_ref]
    for ref in Commitment.objects.filter(reference__in=refs, status=Commitment.Status.OPEN).values_list(
        "reference", flat=True
    ):
        try:
            funding.decommit(reference=ref, user=user, reason=reason if len(reason) >= 10 else f"{reason}: case ended")
        except ValidationError as e:
            raise CaseError(f"The money committed to {ref} could not be released: {' '.join(e.messages)}") from e
        _event(case, user, CaseEvent.Kind.PACKAGE, f"Unspent money committed to {ref} released", reason=reason)


def add_note(user: User, case: Case, text: str, practice_confidential: bool = False) -> CaseNote:
    case.refresh_from_db()
    if not text.strip():
        raise CaseError("Write the note.")
    if not access.cases_visible_to(user).filter(pk=case.pk).exists():
        raise CaseError("You cannot add notes to this case.")
    if practice_confidential and not access.can_read_confidential_notes(user, case):
        raise CaseError("Only the practice and its ICB team can write practice-confidential notes.")
    with transaction.atomic():
        case = _locked(case)
        _contact(case, user)
        case.save()
        note = CaseNote.objects.create(
            case=case, author=user, text=text.strip(), practice_confidential=practice_confidential
        )
        _event(
            case,
            user,
            CaseEvent.Kind.NOTE,
            "Practice-confidential note added" if practice_confidential else "Note added",
        )
    return note


def assign_provider(user: User, case: Case, provider: User) -> Case:
    case.refresh_from_db()
    if not access.can_run_case(user, case):
        raise CaseError("Only the case's ICB team can assign a provider.")
    if not policy.is_provider_account(provider):
        raise CaseError("Choose a provider account.")
    with transaction.atomic():
        case = _locked(case)
        case.provider = provider
        _contact(case, user)
        case.save()
        _event(case, user, CaseEvent.Kind.PROVIDER, f"Assigned to {provider.organisation or provider.username}")
        notify.notify(
            [provider],
            NotificationKind.ASSIGNED,
            case,
            f"{case.ref} ({case.practice.display_name}) has been assigned to you.",
            actor=user,
        )
    return case


# --- Health check -----------------------------------------------------------------------------------------------


def score_answers(answers: dict[str, int]) -> tuple[dict[str, float], float | None]:
    """Area scores 0–100 (higher is healthier) and the overall mean of areas answered."""
    q = questionnaire()
    top = len(q.scale)
    areas: dict[str, float] = {}
    for area in q.areas:
        num = den = 0.0
        for question in area.questions:
            v = answers.get(question.id)
            if v is None:
                continue
            value = (top + 1 - v) if question.reverse else v
            num += question.weight * (value - 1) / (top - 1)
            den += question.weight
        if den:
            areas[area.id] = round(100 * num / den, 1)
    overall = round(sum(areas.values()) / len(areas), 1) if areas else None
    return areas, overall


def save_health_check(user: User, case: Case, answers: dict[str, str], *, submit: bool) -> HealthCheck:
    """Save the practice's answers; on submit every question must be answered and the result is kept as it is."""
    if not policy.is_the_practice(user, case) and not access.can_run_case(user, case):
        raise CaseError("The health check is completed by the practice (or the ICB team with them).")
    case.refresh_from_db()
    if case.status not in (Status.TRIAGED, Status.DIAGNOSIS, Status.PLAN_AGREED, Status.REVIEW):
        raise CaseError("The health check is done once the case is triaged, or at review.")
    q = questionnaire()
    top = len(q.scale)
    clean: dict[str, int] = {}
    for qid, raw in answers.items():
        if qid not in q.questions:
            raise CaseError(f"Unknown question {qid}.")
        if raw in ("", None):
            continue
        try:
            v = int(raw)
        except (TypeError, ValueError):
            raise CaseError(f"Answer {q.questions[qid].text!r} on the 1–{top} scale.") from None
        if not 1 <= v <= top:
            raise CaseError(f"Answer {q.questions[qid].text!r} on the 1–{top} scale.")
        clean[qid] = v
    missing = [qu.text for qu in q.questions.values() if qu.id not in clean]
    if submit and missing:
        raise CaseError(f"{len(missing)} questions are not answered yet, starting with: {missing[0]}")
    with transaction.atomic():
        hc = HealthCheck.objects.filter(case=case, submitted_at__isnull=True).first() or HealthCheck(
            practice=case.practice, case=case, started_by=user, questionnaire_version=q.version
        )
        hc.answers = clean
        hc.area_scores, hc.overall = score_answers(clean)
        if submit:
            hc.submitted_at, hc.submitted_by = timezone.now(), user
        hc.save()
        if submit:
            _event(case, user, CaseEvent.Kind.HEALTH_CHECK, f"Health check submitted (overall {hc.overall})")
    return hc


def benchmark(hc: HealthCheck) -> dict[str, tuple[float, int]]:
    """Area id → (percent of other submitted checks this one scores at or above, how many others answered)."""
    others = (
        HealthCheck.objects.filter(submitted_at__isnull=False).exclude(pk=hc.pk).values_list("area_scores", flat=True)
    )
    out: dict[str, tuple[float, int]] = {}
    for area, score in hc.area_scores.items():
        vals = [o[area] for o in others if area in o]
        if vals:
            out[area] = (round(100 * sum(v <= score for v in vals) / len(vals)), len(vals))
    return out


# --- Action plan ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionInput:
    description: str
    owner: str
    due: date
    offer_code: str = ""
    done: bool = False


@dataclass(frozen=True)
class GoalInput:
    area: str
    title: str
    actions: Sequence[ActionInput]


def _plan_text(plan: ActionPlan) -> list[str]:
    return [
        f"{g.title} [{g.area}]: {a.description} — {a.owner}, by {a.due:%d %b %Y}{' (done)' if a.done else ''}"
        for g in plan.goals.all()
        for a in g.actions.all()
    ]


def save_plan(user: User, case: Case, goals: Sequence[GoalInput]) -> ActionPlan:
    """Replace the plan's goals and actions; the change is recorded. Editing an agreed plan needs agreeing again."""
    case.refresh_from_db()
    if not access.can_edit_plan(user, case):
        raise CaseError("The plan is edited by the practice and its ICB team while the case is open.")
    if case.status == Status.REFERRED:
        raise CaseError("The plan starts once the case is triaged.")
    areas = {a.id for a in questionnaire().areas}
    offers = {o.code: o for o in SupportOffer.objects.filter(active=True)}
    if not goals or not any(g.actions for g in goals):
        raise CaseError("A plan needs at least one goal with one action.")
    for g in goals:
        if not g.title.strip():
            raise CaseError("Every goal needs a title.")
        if g.area not in areas:
            raise CaseError(f"Goal {g.title!r}: choose an area.")
        for a in g.actions:
            if not a.description.strip() or not a.owner.strip():
                raise CaseError(f"Goal {g.title!r}: every action needs a description and an owner.")
            if a.offer_code and a.offer_code not in offers:
                raise CaseError(f"Goal {g.title!r}: unknown support offer {a.offer_code}.")
    with transaction.atomic():
        case = _locked(case)
        plan, _ = ActionPlan.objects.get_or_create(case=case)
        before = _plan_text(plan)
        plan.goals.all().delete()
        for g in goals:
            goal = PlanGoal.objects.create(plan=plan, area=g.area, title=g.title.strip())
            audit.bulk_create(
                PlanAction,
                [
                    PlanAction(
                        goal=goal,
                        description=a.description.strip(),
                        owner=a.owner.strip(),
                        due=a.due,
                        done=a.done,
                        offer=offers.get(a.offer_code),
                    )
                    for a in g.actions
                ],
            )
        after = _plan_text(plan)
        if before == after:
            return plan
        added = [x for x in after if x not in before]
        removed = [x for x in before if x not in after]
        plan.version += 1
        plan.save()
        summary = "\n".join([*(f"+ {x}" for x in added), *(f"− {x}" for x in removed)])
        PlanChange.objects.create(plan=plan, version=plan.version, by=user, summary=summary)
        _contact(case, user)
        case.save()
        _event(
            case, user, CaseEvent.Kind.PLAN, f"Plan version {plan.version}: {len(added)} added, {len(removed)} removed"
        )
        if case.status == Status.PLAN_AGREED:
            _move(case, Status.DIAGNOSIS, user, "The plan changed after it was agreed; it needs agreeing again.")
        if policy.is_case_team(user):
            notify.notify(
                notify.practice_team(case),
                NotificationKind.PLAN_TO_AGREE,
                case,
                f"{case.ref}: the action plan has changed (version {plan.version}) and is ready for you to agree.",
                actor=user,
            )
    return plan


def agree_plan(user: User, case: Case) -> ActionPlan:
    case.refresh_from_db()
    if not policy.is_the_practice(user, case):
        raise CaseError("The practice agrees its own plan.")
    with transaction.atomic():
        case = _locked(case)
        plan = ActionPlan.objects.filter(case=case).first()
        if plan is None or not PlanAction.objects.filter(goal__plan=plan).exists():
            raise CaseError("There is no plan to agree yet: add at least one goal with an action.")
        if case.status == Status.TRIAGED:
            _move(case, Status.DIAGNOSIS, user, "Plan agreed by the practice", via="agree_plan", quiet=True)
        _move(case, Status.PLAN_AGREED, user, f"Plan version {plan.version} agreed", via="agree_plan")
        plan.agreed_version, plan.agreed_by, plan.agreed_at = plan.version, user, timezone.now()
        plan.save()
        notify.notify(
            notify.icb_team(case),
            NotificationKind.PLAN_AGREED,
            case,
            f"{case.ref} ({case.practice.display_name}) agreed its action plan (version {plan.version}).",
            actor=user,
        )
    return plan


# --- Menu and packages ------------------------------------------------------------------------------------------


def sync_menu() -> tuple[int, int, int]:
    """Load ``analytics/menu/offers.toml`` into SupportOffer rows: (created, updated, retired)."""
    offers = load_menu()
    created = updated = 0
    with transaction.atomic():
        for i, o in enumerate(offers):
            fields = {
                "programme": o.programme,
                "heading": o.heading,
                "title": o.title,
                "description": o.description,
                "unit": o.unit,
                "unit_cost_pence": o.unit_cost_pence,
                "unit_basis": o.unit_basis,
                "max_units": o.max_units,
                "coach_hours_per_unit": o.coach_hours_per_unit,
                "group": o.group,
                "requires_impact": list(o.requires_impact),
                "requires_signed_off_plan": o.requires_signed_off_plan,
                "not_fundable": list(o.not_fundable),
                "effect": o.effect,
                "standard_units": o.standard_units,
                "order": i,
                "active": True,
            }
            row = SupportOffer.objects.filter(code=o.code).first()
            if row is None:
                SupportOffer.objects.create(code=o.code, **fields)
                created += 1
            elif any(getattr(row, k) != v for k, v in fields.items()):
                SupportOffer.objects.filter(pk=row.pk).update(**fields)
                updated += 1
        retired = (
            SupportOffer.objects.filter(active=True).exclude(code__in=[o.code for o in offers]).update(active=False)
        )
        if created or updated or retired:
            audit.record_bulk(
                SupportOffer, None, "update", f"menu synced: {created} new, {updated} changed, {retired} retired"
            )
    return created, updated, retired


@dataclass(frozen=True)
class LineInput:
    offer_code: str
    units: int
    note: str = ""


def financial_year_end(d: date) -> date:
    return date(d.year + (1 if d.month >= 4 else 0), 3, 31)


def build_package(
    user: User,
    case: Case,
    lines: Sequence[LineInput],
    practices: Sequence[tuple[str, int]],
    starts: date,
    ends: date,
) -> Package:
    """Price a draft package from the menu. ``practices``: (ODS code, share in basis points), lead included.

    Eligibility: offers needing a higher triage impact are refused; a line shared by several practices must be a
    group offer; units within the offer's limit; delivery within one financial year (the money is year-bound).
    """
    case.refresh_from_db()
    if not access.can_edit_plan(user, case):
        raise CaseError("Packages are built by the case's ICB team or the practice while the case is open.")
    if case.status in (Status.REFERRED,):
        raise CaseError("Triage the case before building a package.")
    if not lines:
        raise CaseError("Add at least one line from the menu of support.")
    if ends < starts:
        raise CaseError("Delivery must end after it starts.")
    if financial_year_end(starts) != financial_year_end(ends):
        raise CaseError(f"Delivery must end by {financial_year_end(starts):%d %B %Y}: the money is year-bound.")
    offers = {o.code: o for o in SupportOffer.objects.filter(active=True)}
    codes = [c.upper() for c, _ in practices] or [case.practice.code]
    if case.practice.code not in codes:
        raise CaseError("The package must cover the case's own practice.")
    if len(set(codes)) != len(codes):
        raise CaseError("A practice is listed twice.")
    shares = [bp for _, bp in practices] or [10_000]
    if any(bp <= 0 for bp in shares) or sum(shares) != 10_000:
        raise CaseError("The practices' shares must be positive and add up to 100%.")
    found = {p.code: p for p in Practice.objects.filter(code__in=codes)}
    for c in codes:
        p = found.get(c)
        if p is None or p.status != PracticeStatus.ACTIVE:
            raise CaseError(f"{c} is not an open practice.")
        if p.icb_id != case.icb_id:
            raise CaseError(f"{p.display_name} is in another ICB: a package is funded by one ICB.")
    priced: list[PackageLine] = []
    for ln in lines:
        offer = offers.get(ln.offer_code)
        if offer is None:
            raise CaseError(f"Unknown or retired support offer {ln.offer_code}.")
        if ln.units < 1 or ln.units > offer.max_units:
            raise CaseError(f"{offer.title}: between 1 and {offer.max_units} {offer.unit}s.")
        if offer.requires_impact and case.triage_impact not in offer.requires_impact:
            raise CaseError(
                f"{offer.title} is only for cases triaged with {' or '.join(offer.requires_impact)} impact."
            )
        if len(codes) > 1 and not offer.group and offer.unit_basis == "fixed":
            raise CaseError(f"{offer.title} is for one practice; it cannot be shared across a group.")
        if offer.unit_basis == "fixed":
            units = ln.units
        else:
            units = 0
            for c in codes:
                p = found[c]
                n = p.list_size if offer.unit_basis == "patients" else _weighted_list(p)
                if not n:
                    raise CaseError(f"{offer.title} is paid per patient and {p.display_name} has no list size.")
                units += int(n)
            units *= ln.units
        priced.append(
            PackageLine(
                offer=offer,
                requested_units=ln.units,
                units=units,
                unit_cost_pence=offer.unit_cost_pence,
                total_pence=units * offer.unit_cost_pence,
                note=ln.note.strip()[:300],
            )
        )
    total = sum(p.total_pence for p in priced)
    with transaction.atomic():
        case = _locked(case)
        pkg = case.packages.filter(state=Package.State.DRAFT).first()
        if pkg is None:
            number = (case.packages.order_by("-number").values_list("number", flat=True).first() or 0) + 1
            pkg = Package(case=case, number=number, created_by=user, starts=starts, ends=ends)
        pkg.starts, pkg.ends, pkg.total_pence = starts, ends, total
        pkg.save()
        pkg.lines.all().delete()
        pkg.practices.all().delete()
        for line in priced:
            line.package = pkg
        audit.bulk_create(PackageLine, priced)
        audit.bulk_create(
            PackagePractice,
            [
                PackagePractice(package=pkg, practice=found[c], share_bp=bp, share_pence=pence)
                for c, bp, pence in zip(codes, shares, money.largest_remainder(total, shares), strict=True)
            ],
        )
        _contact(case, user)
        case.save()
        _event(
            case,
            user,
            CaseEvent.Kind.PACKAGE,
            f"Package {pkg.number} priced at £{total / 100:,.2f}"
            + (f" for {len(codes)} practices" if len(codes) > 1 else ""),
        )
    return pkg


def _weighted_list(p: Practice) -> float | None:
    """The newest weighted list size (NHS payments file)."""
    return (
        PaymentsYear.objects.filter(practice=p, weighted_patients__isnull=False)
        .order_by("-financial_year")
        .values_list("weighted_patients", flat=True)
        .first()
    )


def submit_package(user: User, package: Package) -> Package:
    package.refresh_from_db()
    case = package.case
    if not access.can_edit_plan(user, case):
        raise CaseError("You cannot submit this package.")
    if package.state != Package.State.DRAFT:
        raise CaseError("Only a draft package can be submitted.")
    with transaction.atomic():
        _locked(case)
        package.state = Package.State.SUBMITTED
        package.save(update_fields=["state"])
        _event(
            case,
            user,
            CaseEvent.Kind.PACKAGE,
            f"Package {package.number} submitted for approval (£{package.total_pence / 100:,.2f})",
        )
        notify.notify(
            notify.icb_team(case),
            NotificationKind.PACKAGE_SUBMITTED,
            case,
            f"{package.ref} is waiting for approval.",
            actor=user,
        )
    return package


def approve_package(user: User, package: Package, note: str = "", budget: Budget | None = None) -> Package:
    """Approve a submitted package against one of the ICB's budgets: the case must have an agreed plan, and the
    money is committed in the ledger (refused, saying how much is missing, when the budget's released headroom is
    too small — even when two approvals race for it). The case moves to approved."""
    package.refresh_from_db()
    case = package.case
    if not access.can_run_case(user, case):
        raise CaseError("Only the case's ICB team can approve its package.")
    if budget is None:
        raise CaseError("Choose the budget this package is paid from.")
    if budget.icb_id != case.icb_id:
        raise CaseError("That budget belongs to another ICB.")
    with transaction.atomic():
        case = _locked(case)
        package = Package.objects.select_for_update().get(pk=package.pk)
        if package.state != Package.State.SUBMITTED:
            raise CaseError("Only a package awaiting approval can be approved.")
        plan = ActionPlan.objects.filter(case=case).first()
        if plan is None or not plan.is_agreed:
            raise CaseError("The practice has not agreed the current action plan yet.")
        if any(line.offer.requires_signed_off_plan for line in package.lines.select_related("offer")) and not (
            plan and plan.is_agreed
        ):
            raise CaseError("A line in this package is released only once the plan is signed off.")
        _move(case, Status.APPROVED, user, note or f"Package {package.number} approved", via="approve_package")
        offers: dict[str, int] = {}
        for line in package.lines.select_related("offer"):
            offers[line.offer.code] = offers.get(line.offer.code, 0) + line.total_pence
        try:
            funding.commit_funds(
                budget=budget,
                amount_pence=package.total_pence,
                reference=package.ref,
                user=user,
                recipients=[(pp.practice.code, pp.share_pence) for pp in package.practices.select_related("practice")],
                offers=offers,
                schedule=money.even_monthly_schedule(package.total_pence, package.starts, package.ends),
                memo=f"{case.ref} package {package.number}",
            )
        except funding.InsufficientFunds as e:
            raise CaseError(f"Not approved: the budget is {e}.") from e
        except ValidationError as e:
            raise CaseError(f"Not approved: {' '.join(e.messages)}") from e
        line = budget.line
        package.budget_ref = f"{line.programme.code}/{line.code}/{budget.fy}/{budget.icb.code}"[:60]
        package.commitment_ref = package.ref
        case.review_due = timezone.localdate() + REVIEW_INTERVAL
        case.save()
        package.state, package.decided_by, package.decided_at = Package.State.APPROVED, user, timezone.now()
        package.decision_note = note.strip()
        package.save()
        _event(
            case,
            user,
            CaseEvent.Kind.PACKAGE,
            f"Package {package.number} approved (£{package.total_pence / 100:,.2f}, committed from {budget})",
            reason=note.strip(),
        )
        notify.notify(
            notify.practice_team(case),
            NotificationKind.PACKAGE_DECIDED,
            case,
            f"{package.ref} has been approved.",
            actor=user,
        )
    return package


def refuse_package(user: User, package: Package, note: str) -> Package:
    package.refresh_from_db()
    case = package.case
    if not access.can_run_case(user, case):
        raise CaseError("Only the case's ICB team can refuse its package.")
    if not note.strip():
        raise CaseError("Say why the package is refused: the practice will read it.")
    with transaction.atomic():
        _locked(case)
        package = Package.objects.select_for_update().get(pk=package.pk)
        if package.state != Package.State.SUBMITTED:
            raise CaseError("Only a package awaiting approval can be refused.")
        package.state, package.decided_by, package.decided_at = Package.State.REFUSED, user, timezone.now()
        package.decision_note = note.strip()
        package.save()
        _event(case, user, CaseEvent.Kind.PACKAGE, f"Package {package.number} refused", reason=note.strip())
        notify.notify(
            notify.practice_team(case),
            NotificationKind.PACKAGE_DECIDED,
            case,
            f"{package.ref} was not approved: {note.strip()}",
            actor=user,
        )
    return package
