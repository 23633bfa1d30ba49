"""Assignment rules: which approved package line goes to which member or organisation (see the package docstring)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import User
from apps.cases import notify
from apps.cases import services as case_services
from apps.cases.models import Case, CaseEvent, NotificationKind, Package, PackageLine, Status
from apps.delivery import policy
from apps.delivery import policy as access
from apps.delivery.eligibility import line_hours, organisation_refusals, refusals
from apps.delivery.errors import DeliveryError
from apps.delivery.models import (
    Assignment,
    FacultyMember,
    ProviderOrganisation,
    Session,
)

DELIVERY_STATUSES = (Status.APPROVED, Status.IN_DELIVERY, Status.REVIEW)

# --- Assignment -------------------------------------------------------------------------------------------------
# The capacity and eligibility checks live in apps.delivery.eligibility (loaded in bulk for the case page).


def _check_line(user: User, line: PackageLine) -> Case:
    case = line.package.case
    if not access.can_assign_delivery(user, case):
        raise DeliveryError("Only the case's ICB team assigns delivery.")
    if line.package.state != Package.State.APPROVED:
        raise DeliveryError("Only lines of an approved package can be assigned.")
    if case.status not in DELIVERY_STATUSES:
        raise DeliveryError(
            f"{case.ref} is {case.get_status_display().lower()}: delivery is assigned once the package is approved."
        )
    return case


def assign_work(
    user: User,
    line: PackageLine,
    *,
    member: FacultyMember | None = None,
    organisation: ProviderOrganisation | None = None,
    hours: float | None = None,
) -> Assignment:
    """Give a package line to a member (or an organisation as a whole); replaces a live assignment of the line."""
    line = PackageLine.objects.select_related("package__case__icb", "package__case__practice", "offer").get(pk=line.pk)
    case = _check_line(user, line)
    if (member is None) == (organisation is None):
        raise DeliveryError("Choose who delivers this line: a faculty member or an organisation.")
    need = line_hours(line) if hours is None else float(hours)
    if not 0 <= need <= 2000:
        raise DeliveryError("Hours must be between 0 and 2,000.", field="hours")
    with transaction.atomic():
        # Lock the deliverer so two assignments cannot both see the same free capacity.
        if member is not None:
            member = (
                FacultyMember.objects.select_for_update(of=("self",)).select_related("organisation").get(pk=member.pk)
            )
            org = member.organisation
            reasons = refusals(member, line, need)
            login = member.user
        else:
            assert organisation is not None
            org = ProviderOrganisation.objects.select_for_update().get(pk=organisation.pk)
            reasons = organisation_refusals(org, line, need)
            login = org.lead_user
        if reasons:
            raise DeliveryError(" ".join(reasons))
        Case.objects.select_for_update().filter(pk=case.pk).first()
        now = timezone.now()
        who = member.name if member else org.name
        for old in Assignment.objects.select_for_update().filter(line=line, ended_at__isnull=True):
            if old.sessions.exclude(state=Session.State.CANCELLED).exists():
                raise DeliveryError(
                    f"{old.deliverer} already has sessions on this line: cancel or log them before reassigning."
                )
            old.ended_at, old.ended_reason = now, f"Reassigned to {who}"
            old.save(update_fields=["ended_at", "ended_reason"])
        a = Assignment.objects.create(
            case=case,
            line=line,
            member=member,
            organisation=org,
            hours=need,
            starts=line.package.starts,
            ends=line.package.ends,
            assigned_by=user,
        )
        CaseEvent.objects.create(
            case=case,
            by=user,
            kind=CaseEvent.Kind.PROVIDER,
            summary=f"{line.offer.title} assigned to {who} ({need:g} hours)",
        )
        if login is not None and policy.is_faculty_login(login):
            case.refresh_from_db()
            if case.provider_id is None or not _has_live_work(case, case.provider):
                _set_lead(user, case, login)
            elif case.provider_id != login.pk:
                notify.notify(
                    [login],
                    NotificationKind.ASSIGNED,
                    case,
                    f"{case.ref} ({case.practice.display_name}): {line.offer.title} has been assigned to you.",
                    actor=user,
                )
    return a


def _set_lead(user: User, case: Case, login: User) -> None:
    try:
        case_services.assign_provider(user, case, login, from_lines=True)
    except case_services.CaseError as e:
        raise DeliveryError(str(e)) from e


def _lead_from_lines(user: User, case: Case) -> None:
    """Keep the case's lead provider derived from the line assignments: when the lead has no live work left, the
    login of the oldest live assignment becomes the lead. With no live assignment at all the lead stays, so the
    provider who delivered keeps sight of the case's history until the ICB team assigns the lines again."""
    case.refresh_from_db()
    if _has_live_work(case, case.provider):
        return
    for a in Assignment.objects.filter(case=case, ended_at__isnull=True).select_related("member__user", "organisation"):
        login = a.member.user if a.member else a.organisation.lead_user
        if login is not None and policy.is_faculty_login(login):
            _set_lead(user, case, login)
            return


def _has_live_work(case: Case, provider: User | None) -> bool:
    if provider is None:
        return False
    return (
        Assignment.objects.filter(case=case, ended_at__isnull=True)
        .filter(Q(member__user=provider) | Q(member__isnull=True, organisation__lead_user=provider))
        .exists()
    )


def end_assignment(user: User, assignment: Assignment, reason: str) -> Assignment:
    if not access.can_assign_delivery(user, assignment.case):
        raise DeliveryError("Only the case's ICB team ends an assignment.")
    if not reason.strip():
        raise DeliveryError("Say why the assignment ends.")
    with transaction.atomic():
        a = Assignment.objects.select_for_update().get(pk=assignment.pk)
        if a.ended_at:
            raise DeliveryError("This assignment has already ended.")
        if a.sessions.filter(state=Session.State.PLANNED).exists():
            raise DeliveryError("Cancel or log the planned sessions first.")
        a.ended_at, a.ended_reason = timezone.now(), reason.strip()[:300]
        a.save(update_fields=["ended_at", "ended_reason"])
        CaseEvent.objects.create(
            case=a.case,
            by=user,
            kind=CaseEvent.Kind.PROVIDER,
            summary=f"{a.line.offer.title}: {a.deliverer} no longer assigned",
            reason=reason.strip(),
        )
        _lead_from_lines(user, a.case)
    return a
