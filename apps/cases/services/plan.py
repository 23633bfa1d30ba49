"""The action plan: goals and actions edited by the practice and its ICB team, versioned, agreed by the practice."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.cases import lifecycle, notify, policy
from apps.cases import policy as access
from apps.cases.config import questionnaire
from apps.cases.models import (
    ActionPlan,
    Case,
    CaseEvent,
    NotificationKind,
    PlanAction,
    PlanChange,
    PlanGoal,
    Status,
    SupportOffer,
)
from apps.cases.services.base import CaseError, _contact, _event, _locked, _move
from apps.core import audit


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
        facts = lifecycle.Facts(plan_written=PlanAction.objects.filter(goal__plan=plan).exists() if plan else False)
        if case.status == Status.TRIAGED:
            _move(
                case, Status.DIAGNOSIS, user, "Plan agreed by the practice", via="agree_plan", quiet=True, facts=facts
            )
        version = plan.version if plan else 0
        _move(case, Status.PLAN_AGREED, user, f"Plan version {version} agreed", via="agree_plan", facts=facts)
        assert plan is not None  # the move needed a written plan (``facts``): it was refused otherwise
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
