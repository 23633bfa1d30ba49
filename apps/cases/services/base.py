"""What every case step shares: the refusal (:class:`CaseError`), the attributed event, first contact, and the
lifecycle move that tells the people on the case."""

from __future__ import annotations

from django.utils import timezone

from apps.accounts.models import User
from apps.cases import lifecycle, notify, policy
from apps.cases.models import (
    REVIEW_INTERVAL,
    Case,
    CaseEvent,
    NotificationKind,
    Package,
    Status,
)
from apps.core.errors import DomainError

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


def _move(
    case: Case,
    target: str,
    user: User,
    reason: str = "",
    *,
    via: str = "",
    quiet: bool = False,
    facts: lifecycle.Facts | None = None,
) -> None:
    """Move the case through the transition table, record the attributed event, and tell the people on the case
    (``quiet``: a step recorded on the way to another that is itself told). A move that needs something of the case
    (``Transition.needs``) is refused unless ``facts`` show it: the same rule "waiting for me" lists it by."""
    try:
        t = lifecycle.check(case.status, target, user.role, via=via, reason=reason)
    except lifecycle.MissingReason as e:
        raise CaseError(str(e), "reason") from e
    except lifecycle.IllegalTransition as e:
        raise CaseError(str(e)) from e
    need = lifecycle.unmet(t, facts or lifecycle.Facts())
    if need is not None:
        raise CaseError(need.refusal)
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


def _locked_package(package: Package, state: str, refusal: str) -> tuple[Case, Package]:
    """For a decision on ``package``, inside the caller's transaction: its case, then the package, locked (always in
    that order, so two decisions on one case queue rather than deadlock) and read as they are now. Refused with
    ``refusal`` unless the package is still in ``state``: another decision may have moved it since it was read."""
    case = _locked(package.case)
    locked = Package.objects.select_for_update().get(pk=package.pk)
    if locked.state != state:
        raise CaseError(refusal)
    return case, locked
