"""Steps on an open case: triage, plain status changes (and the money a closing case gives back), notes, the
assigned provider."""

from __future__ import annotations

from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.cases import lifecycle, notify, policy
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


def close_case(user: User, case: Case, why: str, detail: str) -> Case:
    """Close an open case with a reason from the list (``lifecycle.CLOSE_REASONS``) and the team's own words; the
    money approved packages committed and did not spend is released, as on any closure."""
    if why not in lifecycle.CLOSE_REASONS:
        raise CaseError("Choose why the case is closed.", "why")
    if len(detail.strip()) < 10:
        raise CaseError("Say in a sentence why the case is closed (at least 10 characters).", "reason")
    return change_status(user, case, Status.CLOSED, f"{lifecycle.CLOSE_REASONS[why]}: {detail.strip()}")


def closed_from(case: Case) -> str:
    """The status the case was last closed from (read from its timeline), or "" if it was never closed."""
    ev = case.events.filter(kind=CaseEvent.Kind.STATUS, to_status=Status.CLOSED).order_by("-at", "-pk").first()
    return ev.from_status if ev else ""


def reopen_until(case: Case) -> date | None:
    """The last day a closed case may be reopened, or None when it is not closed."""
    if case.status != Status.CLOSED:
        return None
    return timezone.localdate(case.status_changed_at + lifecycle.reopen_window())


def reopen_case(user: User, case: Case, rationale: str) -> Case:
    """Reopen a closed case within the window, with a rationale: attributed, audited, the people on it told."""
    case.refresh_from_db()
    if not access.can_run_case(user, case):
        raise CaseError("Only the case's ICB team can reopen it.")
    if case.status != Status.CLOSED:
        raise CaseError(f"The case is {Status(case.status).label.lower()}: only a closed case is reopened.")
    until = reopen_until(case)
    if until is not None and timezone.localdate() > until:
        raise CaseError(
            f"The case closed more than {lifecycle.reopen_window().days} days ago (it could be reopened until "
            f"{until:%-d %B %Y}): open a new referral instead."
        )
    if Case.objects.filter(practice=case.practice).open().exists():
        raise CaseError("The practice has another open case: carry on with that one instead.")
    try:
        t = lifecycle.check_reopen(lifecycle.reopen_target(closed_from(case)), user.role, reason=rationale)
    except lifecycle.MissingReason as e:
        raise CaseError("Give the rationale for reopening the case: it is kept with your name.", "rationale") from e
    except lifecycle.IllegalTransition as e:
        raise CaseError(str(e)) from e
    with transaction.atomic():
        case = _locked(case)
        case.status, case.status_changed_at = t.target, timezone.now()
        try:
            with transaction.atomic():  # a referral made meanwhile holds the practice's one open case
                case.save()
        except IntegrityError as e:
            raise CaseError("The practice has another open case: carry on with that one instead.") from e
        _event(
            case,
            user,
            CaseEvent.Kind.STATUS,
            f"Reopened: {Status.CLOSED.label} → {t.target.label}",
            src=Status.CLOSED,
            dst=t.target,
            reason=rationale.strip(),
        )
        notify.notify(
            notify.practice_team(case) + notify.icb_team(case),
            NotificationKind.STATUS,
            case,
            f"{case.ref} ({case.practice.display_name}) has been reopened at “{t.target.label}”.",
            actor=user,
        )
    return case


def _release_money(case: Case, user: User, reason: str) -> None:
    """Give back what approved packages committed and did not spend (the ledger's de-commitment)."""
    from apps.funding.models import Commitment

    refs = [p.commitment_ref for p in case.packages.filter(state=Package.State.APPROVED) if p.commitment_ref]
    # A package approved across several budgets has one commitment per budget under its reference. A group
    # package's share across an ICB border was committed by that ICB against its own budget: only that ICB's team
    # acts on its ledger, so it is told to release its share itself.
    under = funding.commitments_under(refs).filter(status=Commitment.Status.OPEN)
    others = set(under.exclude(budget__icb_id=case.icb_id).values_list("budget__icb_id", flat=True))
    if others:
        notify.notify(
            access.case_teams(others),
            NotificationKind.GROUP_SHARE,
            None,
            f"{case.ref} has ended: release your ICB's share of its group package on your commitments page.",
            actor=user,
        )
    for ref in under.filter(budget__icb_id=case.icb_id).values_list("reference", flat=True):
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


def assign_provider(user: User, case: Case, provider: User, *, from_lines: bool = False) -> Case:
    """Name the case's lead provider. Who delivers is decided per package line (delivery's assignments, the source of
    truth); the lead is derived from them (``from_lines``: delivery keeping it in step). Named by hand only before any
    line is assigned (a provider to prepare the package with); afterwards it is refused, so the two cannot disagree."""
    case.refresh_from_db()
    if not access.can_run_case(user, case):
        raise CaseError("Only the case's ICB team can assign a provider.")
    if not from_lines and case.delivery_assignments.filter(ended_at__isnull=True).exists():  # type: ignore[attr-defined]
        raise CaseError(
            "Delivery is assigned per package line: the lead provider follows those assignments. Change who "
            "delivers on the case's delivery page."
        )
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
