"""Cohort business rules: create a cohort, express interest, allocate places by the rule, accept (commits the place's
cost), decline and withdraw (the place is offered on), record attendance and completion.

Every step checks who may take it (``apps.cohorts.policy``), refuses bad input with a :class:`CohortError` naming
the problem and its field (nothing written), and writes an attributed :class:`InterestEvent`. Steps that change who
holds places lock the cohort row first, so two declines or a decline and a late interest cannot offer one free
place twice. Money moves only through ``apps.funding.services``: accepting commits the cost per place against the
paying budget (never overdrawn; the refusal names the line and the budget), withdrawing de-commits it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from analytics import money
from apps.accounts.models import User
from apps.cases.models import SupportOffer
from apps.cohorts import policy, rules
from apps.cohorts.models import AttendeeRole, Cohort, Interest, InterestEvent, Mode, Rule
from apps.core.errors import DomainError
from apps.delivery.models import ProviderOrganisation
from apps.funding.lines import funds_offer, is_universal
from apps.funding.models import Budget, FundingLine
from apps.funding.services import MIN_REASON, CommitPart, commit_funds_together, decommit, pounds
from apps.indicators.models import PracticeScore
from apps.indicators.scoring_runs import current_run
from apps.practices.models import ICB, Practice

MAX_PLACES = 10_000
REFERENCE_PREFIX = "COHORT"


class CohortError(DomainError):
    """A cohort step refused (``field``: the input at fault, if any)."""

    @classmethod
    def all_of(cls, problems: Sequence[CohortError]) -> CohortError:
        joined = cls("; ".join(p.message for p in problems), problems[0].field)
        joined.problems = list(problems)  # type: ignore[attr-defined]
        return joined

    def as_errors(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        for p in getattr(self, "problems", [self]):
            key = p.field or ""
            errors[key] = f"{errors[key]}; {p.message}" if key in errors else p.message
        return errors


@dataclass(frozen=True)
class CohortInput:
    offer_code: str
    line_id: int | None
    title: str
    starts_on: date
    ends_on: date
    closes_on: date
    places: int
    mode: str
    provider_id: int | None
    cost_per_place_pence: int
    rule: str
    venue: str = ""
    description: str = ""
    eligible_icbs: tuple[str, ...] = ()  # ICB codes; none = any English practice (national) / the ICB's own
    practice_managers_only: bool = False
    quotas: dict[str, int] = field(default_factory=dict)  # ICB code → places


def _event(interest: Interest, step: str, by: User | None, note: str = "") -> None:
    InterestEvent.objects.create(interest=interest, step=step, by=by, note=note[:300])


# --- Creating a cohort ------------------------------------------------------------------------------------------


def _check_money(inp: CohortInput, line: FundingLine | None, offer: SupportOffer | None, icb_id: int | None) -> list:
    problems: list[CohortError] = []
    if line is None:
        return [CohortError("Choose the funding line that pays for the places", "line")]
    if not is_universal(line):
        problems.append(CohortError(f"{line} is a targeted line: it pays only for practices in a support case", "line"))
    if offer is not None and not funds_offer(line, offer.code, offer.programme):
        problems.append(CohortError(f"{line} does not fund {offer.title}", "line"))
    fy = money.financial_year_of(inp.starts_on)
    if icb_id is not None and not Budget.objects.filter(line=line, fy=fy, icb_id=icb_id).exists():
        problems.append(
            CohortError(f"Your ICB has no {line} budget for {money.fy_label(fy)}, the year the cohort starts", "line")
        )
    if icb_id is None and not Budget.objects.filter(line=line, fy=fy).exists():
        problems.append(CohortError(f"{line} has no budgets for {money.fy_label(fy)}: allocate it first", "line"))
    return problems


def _check_input(inp: CohortInput, icb_id: int | None) -> tuple[list[CohortError], list[ICB]]:
    problems: list[CohortError] = []
    today = timezone.localdate()
    if not inp.title.strip() or len(inp.title.strip()) > 200:
        problems.append(CohortError("Give the cohort a title of up to 200 characters", "title"))
    if inp.ends_on < inp.starts_on:
        problems.append(CohortError("The cohort must end on or after the day it starts", "ends_on"))
    if inp.closes_on < today:
        problems.append(CohortError("The closing date for interest cannot be in the past", "closes_on"))
    if inp.closes_on >= inp.starts_on:
        problems.append(
            CohortError("Interest must close before the cohort starts, so places can be allocated", "closes_on")
        )
    if not 0 < inp.places <= MAX_PLACES:
        problems.append(CohortError(f"Give between 1 and {MAX_PLACES:,} places", "places"))
    if inp.mode not in Mode.values:
        problems.append(CohortError("Say whether the cohort meets at a venue or online", "mode"))
    if inp.mode == Mode.VENUE and not inp.venue.strip():
        problems.append(CohortError("Give the venue's name and address", "venue"))
    if len(inp.venue) > 200:
        problems.append(CohortError("Keep the venue to 200 characters", "venue"))
    if inp.cost_per_place_pence <= 0:
        problems.append(CohortError("The cost of a place must be more than £0", "cost"))
    if inp.rule not in Rule.values:
        problems.append(CohortError("Choose how places are allocated", "rule"))
    codes = {c.strip().upper() for c in inp.eligible_icbs if c.strip()} | {c.strip().upper() for c in inp.quotas}
    icbs = {i.code: i for i in ICB.objects.filter(code__in=codes)}
    if unknown := codes - set(icbs):
        problems.append(CohortError(f"Unknown ICB codes: {', '.join(sorted(unknown))}", "eligible_icbs"))
    if inp.rule == Rule.QUOTAS:
        if not inp.quotas:
            problems.append(CohortError("Give each ICB's quota of places (the rule is quotas)", "quotas"))
        if any(n <= 0 for n in inp.quotas.values()):
            problems.append(CohortError("Each quota must be at least one place", "quotas"))
        if sum(inp.quotas.values()) > inp.places:
            problems.append(
                CohortError(
                    f"The quotas add up to {sum(inp.quotas.values())}, more than the {inp.places} places", "quotas"
                )
            )
        if icb_id is not None:
            own = ICB.objects.filter(pk=icb_id).values_list("code", flat=True).first()
            eligible = {c.strip().upper() for c in inp.eligible_icbs} or {own}
            if set(inp.quotas) - eligible:
                problems.append(CohortError("Quotas can only be given to ICBs whose practices may join", "quotas"))
    elif inp.quotas:
        problems.append(CohortError("Quotas are used only by the quotas rule", "quotas"))
    eligible_icbs = [icbs[c.strip().upper()] for c in inp.eligible_icbs if c.strip().upper() in icbs]
    return problems, eligible_icbs


def create_cohort(user: User, inp: CohortInput) -> Cohort:
    """A cohort of a universal offer, by an ICB team (on its budget) or the national team (a national cohort, each
    place paid from the practice's own ICB budget of the line). Every problem is refused at once."""
    if not policy.can_create_cohort(user):
        raise PermissionDenied("only ICB teams and the national team run cohorts")
    icb_id = policy.may_create_for_icb(user)
    offer = SupportOffer.objects.filter(code=inp.offer_code, active=True).first()
    line = FundingLine.objects.select_related("programme").filter(pk=inp.line_id).first() if inp.line_id else None
    provider = ProviderOrganisation.objects.filter(pk=inp.provider_id, active=True).first() if inp.provider_id else None
    problems, eligible = _check_input(inp, icb_id)
    if offer is None:
        problems.append(CohortError("Choose the offer on the menu this cohort runs", "offer"))
    if provider is None:
        problems.append(CohortError("Choose the provider that delivers the cohort", "provider"))
    problems += _check_money(inp, line, offer, icb_id)
    if problems:
        raise CohortError.all_of(problems)
    assert offer is not None and line is not None and provider is not None
    with transaction.atomic():
        cohort = Cohort.objects.create(
            offer=offer,
            line=line,
            fy=money.financial_year_of(inp.starts_on),
            icb_id=icb_id,
            title=inp.title.strip(),
            description=inp.description.strip(),
            starts_on=inp.starts_on,
            ends_on=inp.ends_on,
            closes_on=inp.closes_on,
            places=inp.places,
            mode=inp.mode,
            venue=inp.venue.strip(),
            provider=provider,
            cost_per_place_pence=inp.cost_per_place_pence,
            practice_managers_only=inp.practice_managers_only,
            rule=inp.rule,
            quotas={c.strip().upper(): n for c, n in inp.quotas.items()},
            created_by=user,
        )
        cohort.eligible_icbs.set(eligible if eligible or icb_id is None else ICB.objects.filter(pk=icb_id))
    return cohort


# --- Expressing interest ----------------------------------------------------------------------------------------


def eligibility_refusal(cohort: Cohort, practice: Practice) -> str | None:
    """Why the practice may not express interest in the cohort, or None."""
    if timezone.localdate() > cohort.closes_on and cohort.status == Cohort.Status.OPEN:
        return f"Interest closed on {cohort.closes_on:%d %B %Y}"
    if timezone.localdate() >= cohort.starts_on:
        return "This cohort has started"
    if cohort.icb_id is not None and practice.icb_id != cohort.icb_id:
        if not cohort.eligible_icbs.filter(pk=practice.icb_id).exists():
            return f"This cohort is for practices in {cohort.icb}"
    elif cohort.eligible_icbs.exists() and not cohort.eligible_icbs.filter(pk=practice.icb_id).exists():
        return "This cohort is for practices in other ICBs"
    return None


def express_interest(
    user: User, cohort: Cohort, practice: Practice, attendee_name: str, attendee_role: str, hopes: str = ""
) -> Interest:
    """A practice's expression of interest (by its own team, or its ICB team on its behalf). After allocation it
    joins the waiting list in the rule's order, or takes a free place at once."""
    if not policy.may_express_for(user, practice):
        raise PermissionDenied("only the practice or its ICB team expresses interest for it")
    problems: list[CohortError] = []
    if reason := eligibility_refusal(cohort, practice):
        problems.append(CohortError(reason))
    name = attendee_name.strip()
    if not name or len(name) > 150:
        problems.append(CohortError("Give the name of who will attend (up to 150 characters)", "attendee_name"))
    if attendee_role not in AttendeeRole.values:
        problems.append(CohortError("Say what the person attending does in the practice", "attendee_role"))
    elif cohort.practice_managers_only and attendee_role != AttendeeRole.PRACTICE_MANAGER:
        problems.append(CohortError("The places on this cohort are for practice managers", "attendee_role"))
    if len(hopes) > 2000:
        problems.append(CohortError("Keep what you hope for to 2,000 characters", "hopes"))
    if problems:
        raise CohortError.all_of(problems)
    with transaction.atomic():
        cohort = Cohort.objects.select_for_update().get(pk=cohort.pk)
        if cohort.interests.filter(practice=practice, state__in=LIVE).exists():
            raise CohortError(f"{practice.display_name} has already expressed interest in this cohort")
        interest = Interest.objects.create(
            cohort=cohort,
            practice=practice,
            attendee_name=name,
            attendee_role=attendee_role,
            hopes=hopes.strip(),
            expressed_by=user,
        )
        _event(interest, "expressed", user, "on the practice's behalf" if user.practice_id != practice.pk else "")
        if cohort.status == Cohort.Status.ALLOCATED:
            _offer_free_places(cohort, user)
    interest.refresh_from_db()
    return interest


LIVE = (Interest.State.WAITING, Interest.State.OFFERED, Interest.State.ACCEPTED)


# --- Allocation ---------------------------------------------------------------------------------------------------


def _pressure_now(practice_ids: list[int]) -> dict[int, float | None]:
    """Each practice's composite pressure score in the current scoring run (one query)."""
    run = current_run()
    if run is None:
        return {}
    rows = PracticeScore.objects.filter(run=run, practice_id__in=practice_ids).values_list("practice_id", "composite")
    return dict(rows)


def _candidates(cohort: Cohort) -> tuple[list[rules.Candidate], dict[int, Interest], Counter[str]]:
    interests = list(cohort.interests.filter(state__in=LIVE).select_related("practice__icb"))
    holding: Counter[str] = Counter(i.practice.icb.code if i.practice.icb else "" for i in interests if i.holds_place)
    waiting = [i for i in interests if i.state == Interest.State.WAITING]
    scores = _pressure_now([i.practice_id for i in waiting]) if cohort.rule == Rule.PRESSURE else {}
    for i in waiting:
        i.pressure = scores.get(i.practice_id)
    cands = [
        rules.Candidate(i.pk, i.practice.icb.code if i.practice.icb else "", i.expressed_at, i.pressure)
        for i in waiting
    ]
    return cands, {i.pk: i for i in waiting}, holding


def _offer_free_places(cohort: Cohort, by: User | None) -> list[Interest]:
    """Offer the cohort's free places (call with the cohort row locked) to the head of its queue."""
    cands, by_id, holding = _candidates(cohort)
    offered, _ = rules.allocate(cohort.rule, cohort.places, cands, holding, cohort.quotas)
    now = timezone.now()
    out = []
    for c in offered:
        interest = by_id[c.key]
        interest.state, interest.offered_at = Interest.State.OFFERED, now
        interest.save(update_fields=["state", "offered_at", "pressure"])
        _event(interest, "offered", by, _why(cohort, interest))
        out.append(interest)
    return out


def _why(cohort: Cohort, interest: Interest) -> str:
    if cohort.rule == Rule.PRESSURE:
        score = "no score" if interest.pressure is None else f"pressure score {interest.pressure:.1f}"
        return f"By priority to higher pressure ({score})"
    return f"By {Rule(cohort.rule).label.lower()}"


def allocate(user: User | None, cohort: Cohort) -> list[Interest]:
    """Allocate the places by the cohort's rule: the head of the queue is offered places, the rest wait in order.
    ``user`` None: the automatic allocation after the closing date (``allocate_due``)."""
    if user is not None and not policy.runs_cohort(user, cohort):
        raise PermissionDenied("only the team running the cohort allocates its places")
    with transaction.atomic():
        cohort = Cohort.objects.select_for_update().get(pk=cohort.pk)
        if cohort.status != Cohort.Status.OPEN:
            raise CohortError(f"The places of {cohort.title} are already allocated")
        if not cohort.interests.filter(state=Interest.State.WAITING).exists():
            raise CohortError("Nobody has expressed interest yet: there is nothing to allocate")
        offered = _offer_free_places(cohort, user)
        cohort.status, cohort.allocated_at, cohort.allocated_by = Cohort.Status.ALLOCATED, timezone.now(), user
        cohort.save(update_fields=["status", "allocated_at", "allocated_by"])
    return offered


def allocate_due(today: date | None = None) -> int:
    """Allocate every open cohort whose closing date has passed and which has interest; returns how many."""
    day = today or timezone.localdate()
    done = 0
    for cohort in Cohort.objects.filter(status=Cohort.Status.OPEN, closes_on__lt=day):
        if cohort.interests.filter(state=Interest.State.WAITING).exists():
            allocate(None, cohort)
            done += 1
    return done


def waiting_list(cohort: Cohort) -> list[Interest]:
    """The cohort's waiting interests in the order the rule would offer them the next free places."""
    cands, by_id, holding = _candidates(cohort)
    return [by_id[c.key] for c in rules.queue(cohort.rule, cands, holding, cohort.quotas)]


# --- Answering an offer, withdrawing, attendance ----------------------------------------------------------------


def _locked(interest: Interest) -> tuple[Cohort, Interest]:
    cohort = Cohort.objects.select_for_update().select_related("line__programme", "offer").get(pk=interest.cohort_id)
    return cohort, Interest.objects.select_related("practice__icb").get(pk=interest.pk)


def paying_budget(cohort: Cohort, practice: Practice) -> Budget:
    """The budget a place's cost is committed to: the cohort's ICB's, or for a national cohort the practice's."""
    icb_id = cohort.icb_id or practice.icb_id
    budget = (
        Budget.objects.select_related("line__programme", "icb")
        .filter(line=cohort.line, fy=cohort.fy, icb_id=icb_id)
        .first()
    )
    if budget is None:
        icb = ICB.objects.filter(pk=icb_id).first()
        raise CohortError(
            f"There is no {cohort.line} budget for {icb or 'the practice’s ICB'} in {money.fy_label(cohort.fy)}"
        )
    return budget


def accept(user: User, interest: Interest) -> Interest:
    """Accept an offered place: its cost is committed against the paying budget in the same transaction, or the
    acceptance is refused (the shortfall names the line and the budget) and the place stays offered."""
    if not policy.answers_for(user, interest):
        raise PermissionDenied("only the practice answers an offer of a place")
    with transaction.atomic():
        cohort, interest = _locked(interest)
        if interest.state != Interest.State.OFFERED:
            raise CohortError("There is no place offered to accept")
        if not is_universal(cohort.line) or not funds_offer(cohort.line, cohort.offer.code, cohort.offer.programme):
            # the line's offers or access may have changed since the cohort was set up: the rule is asked again
            raise CohortError(f"{cohort.line} no longer funds {cohort.offer.title}: ask the team running the cohort")
        budget = paying_budget(cohort, interest.practice)
        cost = cohort.cost_per_place_pence
        part = CommitPart(
            budget=budget,
            amount_pence=cost,
            reference=f"{REFERENCE_PREFIX}-{cohort.pk}-{interest.pk}",
            recipients=[(interest.practice.code, cost)],
            offers={cohort.offer.code: cost},
            schedule=[(max(cohort.starts_on, money.fy_start(cohort.fy)), cost)],
        )
        memo = f"Place on {cohort.title} for {interest.attendee_name}"
        commitment = commit_funds_together([part], user=user, memo=memo, under_standing_decision=True)[0]
        interest.state, interest.commitment = Interest.State.ACCEPTED, commitment
        interest.save(update_fields=["state", "commitment"])
        _event(interest, "accepted", user, f"{pounds(cost)} committed ({commitment.reference})")
    return interest


def decline(user: User, interest: Interest) -> Interest:
    """Decline an offered place: it is offered to the next on the waiting list."""
    if not policy.answers_for(user, interest):
        raise PermissionDenied("only the practice answers an offer of a place")
    with transaction.atomic():
        cohort, interest = _locked(interest)
        if interest.state != Interest.State.OFFERED:
            raise CohortError("There is no place offered to decline")
        interest.state = Interest.State.DECLINED
        interest.save(update_fields=["state"])
        _event(interest, "declined", user)
        _offer_free_places(cohort, user)
    return interest


def withdraw(user: User, interest: Interest, reason: str) -> Interest:
    """Withdraw an interest or a place: an accepted place's commitment is released (a de-commitment in the ledger)
    and a held place is offered to the next on the waiting list."""
    if not policy.may_withdraw(user, interest):
        raise PermissionDenied("only the practice or the ICB team running the cohort withdraws it")
    if len(reason.strip()) < MIN_REASON:
        raise CohortError(f"Give a reason of at least {MIN_REASON} characters", "reason")
    with transaction.atomic():
        cohort, interest = _locked(interest)
        if interest.state not in LIVE:
            raise CohortError("This interest is no longer live: there is nothing to withdraw")
        if interest.attended is not None:
            raise CohortError("Attendance is already recorded for this place: it cannot be withdrawn")
        held = interest.holds_place
        if interest.commitment is not None:
            decommit(
                reference=interest.commitment.reference,
                user=user,
                reason=f"Withdrawn from {cohort.title}: {reason.strip()}",
                under_standing_decision=True,
            )
        interest.state = Interest.State.WITHDRAWN
        interest.save(update_fields=["state"])
        _event(interest, "withdrawn", user, reason.strip())
        if held and cohort.status == Cohort.Status.ALLOCATED:
            _offer_free_places(cohort, user)
    return interest


def record_attendance(user: User, interest: Interest, attended: bool, completed: bool) -> Interest:
    """Attendance and completion of an accepted place, once the cohort has started; a correction is a new event."""
    if not policy.can_record_attendance(user, interest.cohort):
        raise PermissionDenied("only the provider or the ICB team running the cohort records attendance")
    with transaction.atomic():
        cohort, interest = _locked(interest)
        if interest.state != Interest.State.ACCEPTED:
            raise CohortError("Attendance is recorded for accepted places only")
        if timezone.localdate() < cohort.starts_on:
            raise CohortError(f"The cohort starts on {cohort.starts_on:%d %B %Y}: record attendance from then")
        if completed and not attended:
            raise CohortError("A place cannot be completed by someone who did not attend", "completed")
        interest.attended, interest.completed = attended, completed
        interest.save(update_fields=["attended", "completed"])
        _event(
            interest,
            "attendance",
            user,
            f"attended: {'yes' if attended else 'no'}; completed: {'yes' if completed else 'no'}",
        )
    return interest


STEPS = ("accept", "decline", "withdraw", "attendance")


def take_step(
    user: User, interest: Interest, action: str, *, reason: str = "", attended: bool = False, completed: bool = False
) -> Interest:
    """One of a place's steps by name (the page's buttons and the API's ``action``)."""
    if action == "accept":
        return accept(user, interest)
    if action == "decline":
        return decline(user, interest)
    if action == "withdraw":
        return withdraw(user, interest, reason)
    if action == "attendance":
        return record_attendance(user, interest, attended, completed)
    raise CohortError("Choose what to do: accept, decline, withdraw or record attendance", "action")
