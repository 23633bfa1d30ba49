"""The delivery app's own access rules, named (issue 15 §3): views and services ask these, never ``user.role``.

Who sees which faculty members, sessions, networks and coaching is decided by the chokepoints below
(``sessions_visible_to``, ``networks_visible_to``, …); the rules above them say which part a user plays in delivery,
and so which lists and steps a page offers them. The delivery pages, services and API ask this module only: it also
names the rules they rely on from below (``cases_visible_to``, ``get_case_for``, ``sees_case_rows``, ``require``).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from apps.accounts.access import is_signed_in
from apps.accounts.access import require as require
from apps.accounts.access import sees_case_rows as sees_case_rows
from apps.accounts.models import Role, User
from apps.cases.models import Case
from apps.cases.policy import can_run_case, cases_visible_to
from apps.cases.policy import get_case_for as get_case_for
from apps.delivery.models import (
    Assignment,
    CoachingOffer,
    CoachingRequest,
    FacultyMember,
    Footprint,
    Meeting,
    MemberRole,
    Network,
    PeerReview,
    Session,
)
from apps.practices.models import PCN, Practice


def oversees_icb_delivery(user: User) -> bool:
    """An ICB team follows every assignment and session on its own ICB's cases."""
    return is_signed_in(user) and user.role == Role.ICB and user.icb_id is not None


def is_faculty_login(user: User) -> bool:
    """A provider login: a faculty member (or an organisation's lead) who delivers, logs and signs off sessions."""
    return is_signed_in(user) and user.role == Role.PROVIDER


def is_practice_manager(user: User) -> bool:
    """A practice login: receives and confirms sessions, joins networks, shares posts, asks for coaching and is the
    subject of peer reviews."""
    return is_signed_in(user) and user.role == Role.PRACTICE


def follows_overseen_networks(user: User) -> bool:
    """ICB teams and LMCs follow the meetings of every network they oversee, not only those they joined."""
    return is_signed_in(user) and user.role in (Role.ICB, Role.LMC)


# --- A faculty member's role on the route (apprentice, coach...) ---------------------------------------------------
# Not a login's access, but a rule about who may do what on the route all the same: an apprentice starts enrolled,
# needs an accredited supervisor, moves through the stages and delivers only from supervised practice on.


def is_member_role(role: str) -> bool:
    """``role`` is one of the roles a faculty member can have on the route."""
    return role in MemberRole.values


def is_apprentice(role: str) -> bool:
    """A faculty member's ``role`` puts them on the apprentice route."""
    return role == MemberRole.APPRENTICE


# --- Who is told, and who may be reviewed -----------------------------------------------------------------------


def practice_managers() -> QuerySet[User]:
    """Active practice logins: who receives sessions, joins networks and may be the subject of a peer review."""
    return User.objects.filter(role=Role.PRACTICE, is_active=True)


def icb_team(icb_id: int | None) -> QuerySet[User]:
    """An ICB's active team logins: asked to resolve a practice's dispute of a session."""
    return User.objects.filter(role=Role.ICB, icb_id=icb_id, is_active=True)


def practice_team(practice_id: int) -> QuerySet[User]:
    """A practice's active logins: told when a session is signed off or due tomorrow, and asked to confirm it."""
    return practice_managers().filter(practice_id=practice_id)


# --- Delivery: faculty, assignment, sessions, outcomes ----------------------------------------------------------
# The faculty (people, capacity, accreditation, declared conflicts) is managed by the national team and ICB teams;
# a provider sees the members of its own organisation. Sessions follow the case rule: the case's ICB team, the
# practice that receives the session and the member who delivers it; the national team sees aggregates only.


def can_manage_faculty(user: User) -> bool:
    """Add members, record apprentices' stages, record conflicts: the national team and ICB teams."""
    return is_signed_in(user) and user.role in (Role.NATIONAL, Role.ICB)


def faculty_visible_to(user: User) -> QuerySet[FacultyMember]:
    """National and ICB teams see the whole faculty; a provider sees the members of its own organisations."""
    if not is_signed_in(user):
        return FacultyMember.objects.none()
    if user.role in (Role.NATIONAL, Role.ICB):
        return FacultyMember.objects.all()
    if user.role == Role.PROVIDER:
        return FacultyMember.objects.filter(
            Q(organisation__members__user=user) | Q(organisation__lead_user=user)
        ).distinct()
    return FacultyMember.objects.none()


def get_member_for(user: User, pk: int) -> FacultyMember:
    return get_object_or_404(faculty_visible_to(user).select_related("organisation", "supervisor", "user"), pk=pk)


def assignments_listed_for(user: User, member: FacultyMember) -> QuerySet[Assignment]:
    """A member's live assignments that a user may list: only those on cases the user may see (``cases_visible_to``:
    an ICB team its own ICB's, the provider its own work, the national team none), whoever the user is."""
    return member.assignments.filter(ended_at__isnull=True, case__in=cases_visible_to(user))


def conflicts_visible_to(user: User, member: FacultyMember) -> QuerySet[Any]:
    """A member's declared conflicts of interest (each names a practice or PCN): the national team, which manages the
    faculty, and the member (and its organisation's lead) see all; an ICB team sees those in its own ICB only."""
    conflicts = member.conflicts.all()
    if not is_signed_in(user):
        return conflicts.none()
    if user.role == Role.NATIONAL or member.user_id == user.pk or member.organisation.lead_user_id == user.pk:
        return conflicts
    if user.role == Role.ICB and user.icb_id:
        return conflicts.filter(Q(practice__icb_id=user.icb_id) | Q(pcn__sub_icb__icb_id=user.icb_id))
    return conflicts.none()


def can_declare_conflict(user: User, member: FacultyMember, practice: Practice | None, pcn: PCN | None) -> bool:
    """A member declares its own interests anywhere; the national team records any; an ICB team records them only at
    practices and PCNs in its own ICB (never another ICB's faculty conflicts)."""
    if not is_signed_in(user):
        return False
    if (member.user_id is not None and member.user_id == user.pk) or user.role == Role.NATIONAL:
        return True
    if user.role != Role.ICB or not user.icb_id:
        return False
    if practice is not None:
        return practice.icb_id == user.icb_id
    return pcn is not None and pcn.sub_icb is not None and pcn.sub_icb.icb_id == user.icb_id


def can_see_faculty(user: User) -> bool:
    return is_signed_in(user) and user.role in (Role.NATIONAL, Role.ICB, Role.PROVIDER)


def can_see_faculty_growth(user: User) -> bool:
    """Counts of new members by quarter against the target; names no practice."""
    return can_see_faculty(user)


def can_assign_delivery(user: User, case: Case) -> bool:
    """Matching package lines to providers: the case's own ICB team."""
    return can_run_case(user, case)


def delivers(user: User, assignment: Assignment) -> bool:
    """The member holding the assignment (or, for organisation-level work, the organisation's lead account)."""
    if not is_signed_in(user) or user.role != Role.PROVIDER:
        return False
    if assignment.member_id is not None:
        return assignment.member.user_id == user.pk
    return assignment.organisation.lead_user_id == user.pk


def sessions_visible_to(user: User) -> QuerySet[Session]:
    """The ICB team: sessions with practices in its ICB; a practice: its own; a provider: those it delivers."""
    if not is_signed_in(user):
        return Session.objects.none()
    if user.role == Role.ICB and user.icb_id:
        return Session.objects.filter(practice__icb_id=user.icb_id)
    if user.role == Role.PRACTICE and user.practice_id:
        return Session.objects.filter(practice_id=user.practice_id)
    if user.role == Role.PROVIDER:
        return Session.objects.filter(member__user=user)
    return Session.objects.none()


def get_session_for(user: User, pk: int) -> Session:
    return get_object_or_404(
        sessions_visible_to(user).select_related("practice", "case", "member", "assignment__line__offer"), pk=pk
    )


def can_list_sessions(user: User) -> bool:
    """A list of sessions (``sessions_visible_to``): the ICB team, practices and providers. The national team sees
    delivery as counts per ICB only; the LMC has no delivery view."""
    return is_signed_in(user) and user.role in (Role.ICB, Role.PRACTICE, Role.PROVIDER)


def can_log_session(user: User, session: Session) -> bool:
    """Logging and sign-off: the member who delivers the session."""
    return is_signed_in(user) and user.role == Role.PROVIDER and session.member.user_id == user.pk


def confirms_sessions(user: User) -> bool:
    """Whether this login confirms (or disputes) sessions at all: a practice's, for the sessions its practice received
    (``can_confirm_session``)."""
    return is_signed_in(user) and user.role == Role.PRACTICE


def can_confirm_session(user: User, session: Session) -> bool:
    """Confirmation: the practice that received the session."""
    return confirms_sessions(user) and user.practice_id == session.practice_id


def oversees_session(user: User, session: Session) -> bool:
    """The ICB team of the practice that received the session: it follows, corrects and arbitrates the log."""
    return oversees_icb_delivery(user) and session.practice.icb_id == user.icb_id


def can_amend_session(user: User, session: Session) -> bool:
    """Amending a signed-off log (a new version, with a reason): the member who delivers it, or the ICB team."""
    return can_log_session(user, session) or oversees_session(user, session)


def can_dispute_session(user: User, session: Session) -> bool:
    """Disputing a log instead of confirming it: the practice that received the session, as for confirmation."""
    return can_confirm_session(user, session)


def can_resolve_dispute(user: User, session: Session) -> bool:
    """Resolving a practice's dispute (the log stands, is to be amended, or was not delivered): the ICB team."""
    return oversees_session(user, session)


def can_see_delivery(user: User) -> bool:
    """The delivery overview adapts to the role; the LMC has no delivery view."""
    return is_signed_in(user) and user.role in (Role.NATIONAL, Role.ICB, Role.PRACTICE, Role.PROVIDER)


def can_rate_package(user: User, case: Case) -> bool:
    """The RAG rating of a package is the ICB team's judgement of how its money is doing: the case's ICB team only.
    The provider records delivery (sessions, follow-ups, hours released) but cannot set or overwrite the rating."""
    return can_run_case(user, case)


def can_record_outcomes(user: User, case: Case) -> bool:
    """Follow-ups and hours released: the case's ICB team and a provider delivering on it (the RAG rating is the
    ICB team's alone: :func:`can_rate_package`)."""
    if can_run_case(user, case):
        return True
    return is_signed_in(user) and user.role == Role.PROVIDER and cases_visible_to(user).filter(pk=case.pk).exists()


def can_answer_survey(user: User, case: Case) -> bool:
    return is_signed_in(user) and user.role == Role.PRACTICE and user.practice_id == case.practice_id


def can_see_programme_outcomes(user: User) -> bool:
    """ICB teams see their own cases; the national team sees aggregates only (no practice named)."""
    return is_signed_in(user) and user.role in (Role.NATIONAL, Role.ICB)


# --- Practice-manager networks, coaching, peer review -----------------------------------------------------------
# A network is visible to practice users in its footprint (its PCN, its place, or its ICB), and to the ICB team and
# LMC of its ICB. Only practice users join. Coaching offers are visible to practices in an ICB the coach covers.


def networks_visible_to(user: User) -> QuerySet[Network]:
    if not is_signed_in(user):
        return Network.objects.none()
    if user.role in (Role.ICB, Role.LMC) and user.icb_id:
        return Network.objects.filter(icb_id=user.icb_id)
    if user.role == Role.PRACTICE and user.practice and user.practice.icb_id:
        p = user.practice
        return Network.objects.filter(icb_id=p.icb_id).filter(
            Q(footprint=Footprint.ICB)
            | Q(footprint=Footprint.PLACE, sub_icb_id=p.sub_icb_id)
            | Q(footprint=Footprint.PCN, pcn_id=p.pcn_id)
        )
    return Network.objects.none()


def get_network_for(user: User, pk: int) -> Network:
    return get_object_or_404(networks_visible_to(user).select_related("icb", "sub_icb", "pcn"), pk=pk)


def can_see_networks(user: User) -> bool:
    return is_signed_in(user) and user.role in (Role.PRACTICE, Role.ICB, Role.LMC)


def can_join_network(user: User, network: Network) -> bool:
    return user.role == Role.PRACTICE and networks_visible_to(user).filter(pk=network.pk).exists()


def can_run_network(user: User, network: Network) -> bool:
    """Schedule meetings and record attendance: the ICB team and LMC of the network's ICB, and its members."""
    if not networks_visible_to(user).filter(pk=network.pk).exists():
        return False
    if user.role in (Role.ICB, Role.LMC):
        return True
    return network.memberships.filter(user=user, left_at__isnull=True).exists()


def get_meeting_for(user: User, pk: int) -> Meeting:
    return get_object_or_404(
        Meeting.objects.filter(network__in=networks_visible_to(user)).select_related("network"), pk=pk
    )


def coaching_offers_visible_to(user: User) -> QuerySet[CoachingOffer]:
    if not is_signed_in(user):
        return CoachingOffer.objects.none()
    if user.role == Role.PRACTICE and user.practice and user.practice.icb_id:
        return CoachingOffer.objects.filter(active=True, coach__icbs=user.practice.icb_id, coach__active=True)
    if user.role == Role.ICB and user.icb_id:
        return CoachingOffer.objects.filter(coach__icbs=user.icb_id)
    if user.role == Role.PROVIDER:
        return CoachingOffer.objects.filter(coach__user=user)
    return CoachingOffer.objects.none()


def get_coaching_offer_for(user: User, pk: int) -> CoachingOffer:
    return get_object_or_404(coaching_offers_visible_to(user).select_related("coach", "offer"), pk=pk)


def can_see_coaching(user: User) -> bool:
    return is_signed_in(user) and user.role in (Role.PRACTICE, Role.ICB, Role.PROVIDER)


def can_book_coaching(user: User) -> bool:
    return is_signed_in(user) and user.role == Role.PRACTICE and user.practice_id is not None


def can_publish_slots(user: User, offer: CoachingOffer) -> bool:
    return is_signed_in(user) and user.role == Role.PROVIDER and offer.coach.user_id == user.pk


def coaching_requests_visible_to(user: User) -> QuerySet[CoachingRequest]:
    """A practice's own requests; a coach's requests on its offers."""
    if not is_signed_in(user):
        return CoachingRequest.objects.none()
    if user.role == Role.PRACTICE and user.practice_id:
        return CoachingRequest.objects.filter(practice_id=user.practice_id)
    if user.role == Role.PROVIDER:
        return CoachingRequest.objects.filter(coaching_offer__coach__user=user)
    return CoachingRequest.objects.none()


def get_coaching_request_for(user: User, pk: int) -> CoachingRequest:
    return get_object_or_404(
        coaching_requests_visible_to(user).select_related("coaching_offer__coach", "practice"), pk=pk
    )


def peer_reviews_visible_to(user: User) -> QuerySet[PeerReview]:
    """A development plan is personal: the practice manager reviewed and the reviewer."""
    if not is_signed_in(user):
        return PeerReview.objects.none()
    return PeerReview.objects.filter(Q(subject=user) | Q(reviewer=user))


def get_peer_review_for(user: User, pk: int) -> PeerReview:
    return get_object_or_404(peer_reviews_visible_to(user).select_related("subject", "reviewer", "network"), pk=pk)


def can_use_peer_review(user: User) -> bool:
    return is_signed_in(user) and user.role in (Role.PRACTICE, Role.PROVIDER)


def can_use_calendar(user: User) -> bool:
    """A personal calendar of sessions, bookings and meetings: everyone who can have them."""
    return is_signed_in(user) and user.role in (Role.PRACTICE, Role.PROVIDER, Role.ICB, Role.LMC)
