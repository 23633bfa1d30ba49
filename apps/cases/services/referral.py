"""Ways in: a practice's self-referral, or a nomination by the ICB team, the LMC or the watch list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Count

from analytics.menu.offers import load_menu
from apps.accounts.models import User
from apps.cases import notify, policy
from apps.cases import policy as access
from apps.cases.models import (
    Case,
    CaseEvent,
    NotificationKind,
    Referral,
    Route,
    Urgency,
)
from apps.cases.services.base import TRIED_CHOICES, CaseError, _contact, _event
from apps.practices.models import Practice, PracticeStatus


@dataclass(frozen=True)
class ReferralInput:
    concerns: str
    tried: Sequence[str] = ()
    help_wanted: Sequence[str] = ()
    urgency: str = Urgency.ROUTINE


def _check_referral(data: ReferralInput) -> None:
    if len(data.concerns.strip()) < 10:
        raise CaseError("Say what is wrong in a sentence or two (at least 10 characters).", "concerns")
    bad = [t for t in data.tried if t not in TRIED_CHOICES]
    if bad:
        raise CaseError(f"Unknown choices for what has been tried: {', '.join(bad)}", "tried")
    headings = {o.heading for o in load_menu()}
    bad = [h for h in data.help_wanted if h not in headings]
    if bad:
        raise CaseError(f"Unknown kinds of help: {', '.join(bad)}", "help_wanted")
    if data.urgency not in Urgency.values:
        raise CaseError("Choose how urgent this is.", "urgency")


def refer(user: User, practice: Practice, route: str, data: ReferralInput) -> tuple[Case, bool]:
    """A referral or nomination. Joins the practice's open case if it has one; returns (case, created)."""
    if route == Route.SELF:
        if not (access.can_self_refer(user) and user.practice_id == practice.pk):
            raise CaseError("Only the practice itself can self-refer.")
    elif route in (Route.LMC, Route.ICB, Route.WATCH_LIST):
        if not access.nominatable_practices(user).filter(pk=practice.pk).exists():
            raise CaseError("You can nominate practices in your own ICB only.", "practice")
        if (route == Route.LMC) != policy.is_lmc(user):
            raise CaseError("That route is not yours.")
    else:
        raise CaseError("Unknown route.")
    if practice.status != PracticeStatus.ACTIVE:
        raise CaseError(f"{practice.display_name} is not an open practice.", "practice")
    if practice.icb_id is None:
        raise CaseError(
            f"{practice.display_name} has no ICB in the register, so no team could pick this up.", "practice"
        )
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
