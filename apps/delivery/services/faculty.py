"""Faculty rules: adding a member, an apprentice's stages, declared conflicts of interest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.delivery import policy
from apps.delivery import policy as access
from apps.delivery.errors import DeliveryError
from apps.delivery.models import (
    STAGE_ORDER,
    Accreditation,
    ConflictOfInterest,
    FacultyMember,
    ProviderOrganisation,
    Stage,
    StageChange,
)
from apps.practices.models import PCN, Practice

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
        raise DeliveryError("Enter the member's name.", field="name")
    if not policy.is_member_role(data.role):
        raise DeliveryError("Choose the member's role.", field="role")
    apprentice = policy.is_apprentice(data.role)
    if data.accreditation not in Accreditation.values:
        raise DeliveryError("Choose the accreditation status.", field="accreditation")
    if not 0 <= data.capacity_hours_per_month <= 200:
        raise DeliveryError("Capacity must be between 0 and 200 hours a month.", field="capacity")
    org = ProviderOrganisation.objects.filter(pk=data.organisation_id, active=True).first()
    if org is None:
        raise DeliveryError("Choose the member's organisation.", field="organisation")
    offers = list(SupportOffer.objects.filter(code__in=data.offer_codes, active=True))
    if len(offers) != len(set(data.offer_codes)):
        raise DeliveryError("One of the offers is not on the menu of support.", field="offers")
    icbs = list(ICB.objects.filter(pk__in=data.icb_ids))
    if len(icbs) != len(set(data.icb_ids)):
        raise DeliveryError("One of the ICBs does not exist.", field="icbs")
    if data.accreditation == Accreditation.ACCREDITED and data.accredited_on is None:
        raise DeliveryError("Give the date the member was accredited.", field="accredited_on")
    if data.accredited_on and data.accreditation_expires and data.accreditation_expires <= data.accredited_on:
        raise DeliveryError("Accreditation must expire after it was given.", field="expires")
    supervisor = None
    if data.supervisor_id:
        supervisor = FacultyMember.objects.filter(pk=data.supervisor_id, active=True).first()
        if supervisor is None or not supervisor.is_accredited:
            raise DeliveryError("A supervisor must be an accredited member of the faculty.", field="supervisor")
    if apprentice and supervisor is None:
        raise DeliveryError("An apprentice needs an accredited supervisor.", field="supervisor")
    with transaction.atomic():
        member = FacultyMember.objects.create(
            name=data.name.strip(),
            email=data.email.strip(),
            organisation=org,
            role=data.role,
            capacity_hours_per_month=data.capacity_hours_per_month,
            accreditation=Accreditation.IN_TRAINING if apprentice else data.accreditation,
            accredited_on=None if apprentice else data.accredited_on,
            accreditation_expires=None if apprentice else data.accreditation_expires,
            stage=Stage.ENROLLED if apprentice else "",
            supervisor=supervisor,
            joined_on=data.joined_on,
            new_member=data.new_member or apprentice,
        )
        member.offers.set(offers)
        member.icbs.set(icbs)
        if policy.is_apprentice(member.role):
            StageChange.objects.create(member=member, to_stage=Stage.ENROLLED, by=user, note="Joined the route")
    return member


def record_stage(
    user: User, member: FacultyMember, to_stage: str, note: str = "", on: date | None = None
) -> StageChange:
    """Move an apprentice one stage on (or back, with a note). Reaching "accredited" accredits them for three years."""
    if not access.can_manage_faculty(user):
        raise DeliveryError("Only the national team and ICB teams record apprentices' progress.")
    if not policy.is_apprentice(member.role):
        raise DeliveryError(f"{member.name} is not an apprentice.")
    if to_stage not in STAGE_ORDER:
        raise DeliveryError("Choose a stage.", field="stage")
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
            raise DeliveryError("Say why the apprentice goes back a stage.", field="note")
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
        raise DeliveryError("Describe the interest, for example “partner in the practice”.", field="description")
    return ConflictOfInterest.objects.create(
        member=member, practice=practice, pcn=pcn, description=description.strip()[:300], declared_by=user
    )
