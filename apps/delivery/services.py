"""Delivery business rules: faculty, assignment, the session log, and the hand-over to provider invoices.

Every function checks the actor's right to act through :mod:`apps.accounts.access`, runs in one transaction, and
raises :class:`DeliveryError` with a message a user can act on; a refused step saves nothing. Outcomes are in
:mod:`apps.delivery.outcomes`, networks, coaching and peer review in :mod:`apps.delivery.networks`.

Rules:

* **Assignment** (:func:`assign_work`): a line of an *approved* package of a case in delivery (approved, in delivery or
  at review) goes to an active member (or an organisation as a whole) who delivers that offer, covers the case's ICB,
  is accredited (or is an apprentice from supervised practice on, with an accredited supervisor), has **no declared
  conflict** with any practice the package covers or their PCNs, and has **capacity**: in every month of delivery,
  hours already committed plus this line's share must fit the monthly capacity. A line's hours are the offer's
  ``coach_hours_per_unit`` × units (or hours given by the ICB), spread evenly over the package's months; sessions not
  tied to an assignment (booked coaching) count in their own month. The case's provider login is set through
  :func:`apps.cases.services.assign_provider` so the provider sees the case.
* **Sessions**: planned by the provider or the ICB team within the package's dates; logged (delivered with hours,
  attendees by role and notes, or cancelled with a reason) by the member who delivers it; signed off by that member;
  confirmed by the practice. A signed-off session is not edited again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import Role, User
from apps.cases import notify
from apps.cases import services as case_services
from apps.cases.models import Case, CaseEvent, NotificationKind, Package, PackageLine, Status
from apps.core.errors import DomainError
from apps.delivery import policy
from apps.delivery import policy as access

# Re-exported: callers ask services for the eligibility check and capacity helpers.
from apps.delivery.eligibility import APPRENTICE_MAY_DELIVER_FROM as APPRENTICE_MAY_DELIVER_FROM
from apps.delivery.eligibility import Candidate as Candidate
from apps.delivery.eligibility import candidates_for as candidates_for
from apps.delivery.eligibility import line_hours, organisation_refusals, refusals
from apps.delivery.eligibility import load_by_month as load_by_month
from apps.delivery.eligibility import month_start as month_start
from apps.delivery.eligibility import months_between as months_between
from apps.delivery.eligibility import organisations_refusals as organisations_refusals
from apps.delivery.models import (
    ATTENDEE_ROLES,
    STAGE_ORDER,
    Accreditation,
    Assignment,
    ConflictOfInterest,
    FacultyMember,
    MemberRole,
    ProviderOrganisation,
    Session,
    Stage,
    StageChange,
)
from apps.practices.models import PCN, Practice

DELIVERY_STATUSES = (Status.APPROVED, Status.IN_DELIVERY, Status.REVIEW)
MAX_SESSION_HOURS = 12.0


class DeliveryError(DomainError):
    """A delivery step refused (``field``: the input at fault, if any)."""


# --- Faculty ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberInput:
    name: str
    organisation_id: int
    role: str
    capacity_hours_per_month: float
    joined_on: date
    offer_codes: tuple[str, ...] = ()
    icb_ids: tuple[int, ...] = ()
    email: str = ""
    accreditation: str = Accreditation.IN_TRAINING
    accredited_on: date | None = None
    accreditation_expires: date | None = None
    supervisor_id: int | None = None
    new_member: bool = False


def add_member(user: User, data: MemberInput) -> FacultyMember:
    """Add a faculty member. Apprentices start at "enrolled" (a stage change is recorded) and need a supervisor."""
    from apps.cases.models import SupportOffer
    from apps.practices.models import ICB

    if not access.can_manage_faculty(user):
        raise DeliveryError("Only the national team and ICB teams manage the faculty.")
    if len(data.name.strip()) < 2:
        raise DeliveryError("Enter the member's name.")
    if data.role not in MemberRole.values:
        raise DeliveryError("Choose the member's role.")
    if data.accreditation not in Accreditation.values:
        raise DeliveryError("Choose the accreditation status.")
    if not 0 <= data.capacity_hours_per_month <= 200:
        raise DeliveryError("Capacity must be between 0 and 200 hours a month.")
    org = ProviderOrganisation.objects.filter(pk=data.organisation_id, active=True).first()
    if org is None:
        raise DeliveryError("Choose the member's organisation.")
    offers = list(SupportOffer.objects.filter(code__in=data.offer_codes, active=True))
    if len(offers) != len(set(data.offer_codes)):
        raise DeliveryError("One of the offers is not on the menu of support.")
    icbs = list(ICB.objects.filter(pk__in=data.icb_ids))
    if len(icbs) != len(set(data.icb_ids)):
        raise DeliveryError("One of the ICBs does not exist.")
    if data.accreditation == Accreditation.ACCREDITED and data.accredited_on is None:
        raise DeliveryError("Give the date the member was accredited.")
    if data.accredited_on and data.accreditation_expires and data.accreditation_expires <= data.accredited_on:
        raise DeliveryError("Accreditation must expire after it was given.")
    supervisor = None
    if data.supervisor_id:
        supervisor = FacultyMember.objects.filter(pk=data.supervisor_id, active=True).first()
        if supervisor is None or not supervisor.is_accredited:
            raise DeliveryError("A supervisor must be an accredited member of the faculty.")
    if data.role == MemberRole.APPRENTICE and supervisor is None:
        raise DeliveryError("An apprentice needs an accredited supervisor.")
    with transaction.atomic():
        member = FacultyMember.objects.create(
            name=data.name.strip(),
            email=data.email.strip(),
            organisation=org,
            role=data.role,
            capacity_hours_per_month=data.capacity_hours_per_month,
            accreditation=Accreditation.IN_TRAINING if data.role == MemberRole.APPRENTICE else data.accreditation,
            accredited_on=None if data.role == MemberRole.APPRENTICE else data.accredited_on,
            accreditation_expires=None if data.role == MemberRole.APPRENTICE else data.accreditation_expires,
            stage=Stage.ENROLLED if data.role == MemberRole.APPRENTICE else "",
            supervisor=supervisor,
            joined_on=data.joined_on,
            new_member=data.new_member or data.role == MemberRole.APPRENTICE,
        )
        member.offers.set(offers)
        member.icbs.set(icbs)
        if member.role == MemberRole.APPRENTICE:
            StageChange.objects.create(member=member, to_stage=Stage.ENROLLED, by=user, note="Joined the route")
    return member


def record_stage(
    user: User, member: FacultyMember, to_stage: str, note: str = "", on: date | None = None
) -> StageChange:
    """Move an apprentice one stage on (or back, with a note). Reaching "accredited" accredits them for three years."""
    if not access.can_manage_faculty(user):
        raise DeliveryError("Only the national team and ICB teams record apprentices' progress.")
    if member.role != MemberRole.APPRENTICE:
        raise DeliveryError(f"{member.name} is not an apprentice.")
    if to_stage not in STAGE_ORDER:
        raise DeliveryError("Choose a stage.")
    with transaction.atomic():
        member = FacultyMember.objects.select_for_update().get(pk=member.pk)
        here = STAGE_ORDER.index(member.stage) if member.stage else -1
        there = STAGE_ORDER.index(to_stage)
        if there == here:
            raise DeliveryError(f"{member.name} is already at {Stage(to_stage).label.lower()}.")
        if there > here + 1:
            raise DeliveryError(
                f"Stages are taken in order: next for {member.name} is {Stage(STAGE_ORDER[here + 1]).label.lower()}."
            )
        if there < here and not note.strip():
            raise DeliveryError("Say why the apprentice goes back a stage.")
        if to_stage == Stage.ACCREDITED and (member.supervisor is None or not member.supervisor.is_accredited):
            raise DeliveryError("Accreditation needs sign-off under an accredited supervisor: assign one first.")
        change = StageChange.objects.create(
            member=member, from_stage=member.stage, to_stage=to_stage, by=user, note=note.strip()
        )
        member.stage = to_stage
        if to_stage == Stage.ACCREDITED:
            day = on or timezone.localdate()
            member.accreditation, member.accredited_on = Accreditation.ACCREDITED, day
            member.accreditation_expires = (
                day.replace(year=day.year + 3)
                if not (day.month == 2 and day.day == 29)
                else day + timedelta(days=365 * 3)
            )
        elif member.accreditation == Accreditation.ACCREDITED:
            member.accreditation, member.accredited_on, member.accreditation_expires = (
                Accreditation.IN_TRAINING,
                None,
                None,
            )
        member.save()
    return change


def declare_conflict(
    user: User, member: FacultyMember, description: str, practice: Practice | None = None, pcn: PCN | None = None
) -> ConflictOfInterest:
    """Record a declared interest. The member (if they have a login) or a faculty manager declares it."""
    own = member.user_id is not None and member.user_id == user.pk
    if not (own or access.can_manage_faculty(user)):
        raise DeliveryError("A conflict is declared by the member or by a faculty manager.")
    if (practice is None) == (pcn is None):
        raise DeliveryError("Name either the practice or the PCN the interest is in.")
    if not access.can_declare_conflict(user, member, practice, pcn):
        raise DeliveryError("An ICB team records conflicts of interest at practices and PCNs in its own ICB only.")
    if len(description.strip()) < 5:
        raise DeliveryError("Describe the interest, for example “partner in the practice”.")
    return ConflictOfInterest.objects.create(
        member=member, practice=practice, pcn=pcn, description=description.strip()[:300], declared_by=user
    )


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
        raise DeliveryError("Hours must be between 0 and 2,000.")
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
                try:
                    case_services.assign_provider(user, case, login)
                except case_services.CaseError as e:
                    raise DeliveryError(str(e)) from e
            elif case.provider_id != login.pk:
                notify.notify(
                    [login],
                    NotificationKind.ASSIGNED,
                    case,
                    f"{case.ref} ({case.practice.display_name}): {line.offer.title} has been assigned to you.",
                    actor=user,
                )
    return a


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
    return a


# --- Sessions ---------------------------------------------------------------------------------------------------


def plan_session(user: User, assignment: Assignment, starts_at: datetime, hours: float, title: str) -> Session:
    """Plan a session on an assignment: by the member who delivers it (or the organisation lead) or the ICB team."""
    a = Assignment.objects.select_related("case__practice", "member", "organisation", "line__offer").get(
        pk=assignment.pk
    )
    if not (access.delivers(user, a) or access.can_assign_delivery(user, a.case)):
        raise DeliveryError("Sessions are planned by the provider delivering the work or the case's ICB team.")
    if a.ended_at:
        raise DeliveryError("This assignment has ended.")
    if a.member is None:
        raise DeliveryError("Assign the line to a named member before planning sessions.")
    if not title.strip():
        raise DeliveryError("Give the session a title, for example “Coaching session 1”.")
    if not 0 < hours <= MAX_SESSION_HOURS:
        raise DeliveryError(f"A session lasts more than 0 and at most {MAX_SESSION_HOURS:g} hours.")
    day = timezone.localtime(starts_at).date()
    if not a.starts <= day <= a.ends:
        raise DeliveryError(
            f"The session must fall within the package's dates ({a.starts:%d %b %Y} to {a.ends:%d %b %Y})."
        )
    return Session.objects.create(
        practice=a.case.practice,
        case=a.case,
        assignment=a,
        member=a.member,
        title=title.strip()[:200],
        starts_at=starts_at,
        planned_hours=hours,
        created_by=user,
    )


@dataclass(frozen=True)
class LogInput:
    delivered: bool
    hours: float | None = None
    attendees: Mapping[str, int] | None = None
    notes: str = ""
    cancelled_reason: str = ""
    sign_off: bool = False


def log_session(user: User, session: Session, data: LogInput) -> Session:
    """Record what happened: delivered (hours, attendees by role, notes) or cancelled (reason); optionally sign off."""
    if not access.can_log_session(user, session):
        raise DeliveryError("Only the member delivering the session logs it.")
    with transaction.atomic():
        s = (
            Session.objects.select_for_update(of=("self",))
            .select_related("practice", "case", "member")
            .get(pk=session.pk)
        )
        if s.signed_off_at:
            raise DeliveryError("This session is signed off: it cannot be changed.")
        if data.delivered:
            if s.starts_at > timezone.now():
                raise DeliveryError("A session can be logged as delivered once it has started.")
            if data.hours is None or not 0 < data.hours <= MAX_SESSION_HOURS:
                raise DeliveryError(
                    f"Enter the hours delivered (more than 0, at most {MAX_SESSION_HOURS:g}).", field="hours"
                )
            attendees = {k: int(v) for k, v in (data.attendees or {}).items() if int(v)}
            bad = [k for k in attendees if k not in ATTENDEE_ROLES]
            if bad:
                raise DeliveryError(f"Unknown attendee roles: {', '.join(bad)}.", field="attendees")
            if any(v < 0 or v > 200 for v in attendees.values()):
                raise DeliveryError("Attendee numbers must be between 0 and 200.", field="attendees")
            if not attendees:
                raise DeliveryError("Say who attended: at least one person, by role.", field="attendees")
            if len(data.notes.strip()) < 10:
                raise DeliveryError("Write a short note of what was covered (at least 10 characters).", field="notes")
            s.state, s.delivered_hours, s.attendees, s.notes = (
                Session.State.DELIVERED,
                data.hours,
                attendees,
                data.notes.strip(),
            )
            s.cancelled_reason = ""
        else:
            if not data.cancelled_reason.strip():
                raise DeliveryError("Say why the session was cancelled.", field="cancelled_reason")
            s.state, s.cancelled_reason, s.delivered_hours, s.attendees = (
                Session.State.CANCELLED,
                data.cancelled_reason.strip()[:300],
                None,
                {},
            )
        s.logged_by, s.logged_at = user, timezone.now()
        s.save()
        if data.sign_off and s.state == Session.State.DELIVERED:
            _sign_off(user, s)
    return s


def sign_off_session(user: User, session: Session) -> Session:
    if not access.can_log_session(user, session):
        raise DeliveryError("Only the member delivering the session signs it off.")
    with transaction.atomic():
        s = (
            Session.objects.select_for_update(of=("self",))
            .select_related("practice", "case", "member")
            .get(pk=session.pk)
        )
        if s.state != Session.State.DELIVERED:
            raise DeliveryError("Log the session as delivered before signing it off.")
        if s.signed_off_at:
            raise DeliveryError("This session is already signed off.")
        _sign_off(user, s)
    return s


def _sign_off(user: User, s: Session) -> None:
    s.signed_off_by, s.signed_off_at = user, timezone.now()
    s.save(update_fields=["signed_off_by", "signed_off_at"])
    team = list(User.objects.filter(role=Role.PRACTICE, practice_id=s.practice_id, is_active=True))
    notify.notify(
        team,
        NotificationKind.SESSION_LOGGED,
        s.case,
        f"{s.member.name} logged “{s.title}” on {timezone.localtime(s.starts_at):%d %b %Y} "
        f"({s.delivered_hours:g} hours). Please confirm it took place.",
        actor=user,
    )


def confirm_session(user: User, session: Session) -> Session:
    """The practice confirms a signed-off session took place as logged."""
    if not access.can_confirm_session(user, session):
        raise DeliveryError("Only the practice that received the session confirms it.")
    with transaction.atomic():
        s = Session.objects.select_for_update(of=("self",)).select_related("member__user", "case").get(pk=session.pk)
        if s.signed_off_at is None:
            raise DeliveryError("The provider has not signed this session off yet.")
        if s.confirmed_at:
            raise DeliveryError("This session is already confirmed.")
        s.confirmed_by, s.confirmed_at = user, timezone.now()
        s.save(update_fields=["confirmed_by", "confirmed_at"])
        if s.member.user:
            notify.notify(
                [s.member.user],
                NotificationKind.SESSION_CONFIRMED,
                s.case,
                f"{user.practice.display_name if user.practice else 'The practice'} confirmed “{s.title}”.",
                actor=user,
            )
    return s


# --- Hand-over to provider invoices (the funding app builds invoices from these) --------------------------------


@dataclass(frozen=True)
class InvoiceLine:
    """One delivered session ready to invoice. ``amount_pence`` = hours ÷ offer hours per unit × unit cost."""

    session_id: int
    delivered_on: date
    hours: float
    member: str
    package_line_id: int
    offer_code: str
    offer_unit: str
    units: float
    unit_cost_pence: int
    amount_pence: int


def delivered_sessions_for_invoice(
    organisation: ProviderOrganisation, case: Case | None, period_start: date, period_end: date
) -> list[InvoiceLine]:
    """Sessions the organisation may invoice for in [period_start, period_end]: delivered, signed off by the provider
    and confirmed by the practice, on an assignment (so tied to a priced package line). Prices come from the line (the
    price the package was approved at), never the current menu. Units = hours ÷ the offer's hours per unit (one unit
    per session when the offer has no provider hours). This is the hand-over point to the funding app."""
    qs = Session.objects.filter(
        assignment__organisation=organisation,
        state=Session.State.DELIVERED,
        signed_off_at__isnull=False,
        confirmed_at__isnull=False,
    ).select_related("assignment__line__offer", "member")
    if case is not None:
        qs = qs.filter(case=case)
    out = []
    for s in qs.order_by("starts_at", "pk"):
        day = timezone.localtime(s.starts_at).date()
        if not period_start <= day <= period_end:
            continue
        assert s.assignment is not None and s.delivered_hours is not None
        line = s.assignment.line
        per_unit = line.offer.coach_hours_per_unit
        units = s.delivered_hours / per_unit if per_unit else 1.0
        out.append(
            InvoiceLine(
                session_id=s.pk,
                delivered_on=day,
                hours=s.delivered_hours,
                member=s.member.name,
                package_line_id=line.pk,
                offer_code=line.offer.code,
                offer_unit=line.offer.unit,
                units=round(units, 4),
                unit_cost_pence=line.unit_cost_pence,
                amount_pence=round(units * line.unit_cost_pence),
            )
        )
    return out


def session_counts(sessions: Iterable[Session]) -> dict[str, float]:
    """Planned / delivered / cancelled counts and delivered hours, for summary tables."""
    out: dict[str, float] = {"planned": 0, "delivered": 0, "cancelled": 0, "hours": 0.0, "confirmed": 0}
    for s in sessions:
        out[s.state] += 1
        if s.state == Session.State.DELIVERED:
            out["hours"] += s.delivered_hours or 0
            out["confirmed"] += 1 if s.confirmed_at else 0
    return out
