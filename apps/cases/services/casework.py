"""Steps on an open case: triage, plain status changes (and the money a closing case gives back), notes, the
assigned provider."""

from __future__ import annotations

from django.db import transaction

from apps.accounts.models import User
from apps.cases import notify, policy
from apps.cases import policy as access
from apps.cases.config import triage_levels
from apps.cases.models import (
    Case,
    CaseEvent,
    CaseNote,
    NotificationKind,
    Package,
    Status,
    Triage,
)
from apps.cases.services.base import CaseError, _contact, _event, _locked, _move
from apps.funding import services as funding


def triage(user: User, case: Case, scope: str, impact: str, rationale: str) -> Triage:
    case.refresh_from_db()
    scopes, impacts = triage_levels()
    if scope not in {lv.code for lv in scopes}:
        raise CaseError("Choose the scope for support.", "scope")
    if impact not in {lv.code for lv in impacts}:
        raise CaseError("Choose the impact of support.", "impact")
    if not rationale.strip():
        raise CaseError("Give the rationale for this triage: it is kept with your name.", "rationale")
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
    # A package approved across several budgets has one commitment per budget under its reference.
    for ref in (
        funding.commitments_under(refs).filter(status=Commitment.Status.OPEN).values_list("reference", flat=True)
    ):
        try:
            funding.decommit(reference=ref, user=user, reason=reason if len(reason) >= 10 else f"{reason}: case ended")
        except funding.FundingError as e:
            raise CaseError(f"The money committed to {ref} could not be released: {e.message}") from e
        _event(case, user, CaseEvent.Kind.PACKAGE, f"Unspent money committed to {ref} released", reason=reason)


def add_note(user: User, case: Case, text: str, practice_confidential: bool = False) -> CaseNote:
    case.refresh_from_db()
    if not text.strip():
        raise CaseError("Write the note.", "text")
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
        raise CaseError("Choose a provider account.", "provider")
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
