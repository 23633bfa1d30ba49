"""The access chokepoints. Every view and API call asks these functions, and nothing else, what a user may see.

The register holds national open data, which any signed-in user may read; watch lists and cases have their own
functions here so that the rules stay in one place and one test walks them all. Money and targeting rules live
next to their domains (``apps.funding.policy``, ``apps.targeting.policy``), and each app names the part a user
plays in its own ``policy`` module; no role is compared anywhere else (``accounts/tests/test_role_checks.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from apps.accounts.models import Role, User
from apps.api.models import ApiToken
from apps.practices.models import ICB, PCN, Practice

if TYPE_CHECKING:
    from apps.cases.models import Case
    from apps.delivery.models import (
        Assignment,
        CoachingOffer,
        CoachingRequest,
        FacultyMember,
        Meeting,
        Network,
        PeerReview,
        Session,
    )


def is_signed_in(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and getattr(user, "is_active", False)


def practices_visible_to(user: User) -> QuerySet[Practice]:
    """Register rows a user may list. Open national data: every signed-in user sees every practice."""
    if not is_signed_in(user):
        return Practice.objects.none()
    return Practice.objects.all()


def get_practice_for(user: User, code: str) -> Practice:
    """The practice with this ODS code if the user may see it; 404 otherwise (never reveals existence)."""
    return get_object_or_404(
        practices_visible_to(user).select_related("region", "icb", "sub_icb", "pcn"), code=code.upper()
    )


def icbs_visible_to(user: User) -> QuerySet[ICB]:
    """ICBs a user may list: open national data, every ICB for every signed-in user."""
    if not is_signed_in(user):
        return ICB.objects.none()
    return ICB.objects.all()


def get_icb_for(user: User, code: str) -> ICB:
    if not is_signed_in(user):
        raise PermissionDenied
    return get_object_or_404(ICB.objects.select_related("region"), code=code.upper())


def get_pcn_for(user: User, code: str) -> PCN:
    if not is_signed_in(user):
        raise PermissionDenied
    return get_object_or_404(PCN.objects.select_related("sub_icb__icb"), code=code.upper())


def home_icb(user: User) -> ICB | None:
    """The ICB a user works in, if any (used to default filters, never to widen access)."""
    if user.role in (Role.ICB, Role.LMC):
        return user.icb
    if user.role == Role.PRACTICE and user.practice:
        return user.practice.icb
    return None


def can_view_import_logs(user: User) -> bool:
    """Import logs name files and row counts only; the national team and ICB teams run and check loads."""
    return is_signed_in(user) and user.role in (Role.NATIONAL, Role.ICB)


def can_see_watch_list(user: User, icb: ICB) -> bool:
    """A watch list names practices of concern: only that ICB's own team sees it."""
    return is_signed_in(user) and user.role == Role.ICB and user.icb_id == icb.pk


def can_edit_watch_list(user: User, icb: ICB) -> bool:
    return can_see_watch_list(user, icb)


def can_see_watch_summary(user: User) -> bool:
    """Counts per ICB, no practice named: the national team's view."""
    return is_signed_in(user) and user.role == Role.NATIONAL


def can_see_practice_pressure(user: User, practice: Practice) -> bool:
    """A practice's pressure score and its explanation: its ICB team and the practice itself.

    Practices fear being labelled; the national team sees aggregates only, providers and LMCs see cases, not scores.
    """
    if not is_signed_in(user):
        return False
    if user.role == Role.ICB:
        return practice.icb_id is not None and user.icb_id == practice.icb_id
    if user.role == Role.PRACTICE:
        return user.practice_id == practice.pk
    return False


def can_see_backtest(user: User) -> bool:
    """The back-test is aggregate (AUC, precision) and names no practice."""
    return is_signed_in(user) and user.role in (Role.NATIONAL, Role.ICB)


def api_tokens_of(user: User) -> QuerySet[ApiToken]:
    """A user's own API tokens. Nobody lists or revokes another user's tokens, whatever their role."""
    if not is_signed_in(user):
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user=user)


def get_api_token_for(user: User, pk: int) -> ApiToken:
    """One of the user's own tokens; 404 for anyone else's (never reveals that it exists)."""
    return get_object_or_404(api_tokens_of(user), pk=pk)


def require(check: Callable[[User], bool]) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """View decorator: 403 unless ``check(request.user)``."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not check(request.user):  # type: ignore[arg-type]
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


# --- Support cases ----------------------------------------------------------------------------------------------
# A case is seen only by its ICB's team, the practice itself and the provider assigned to it. The national team sees
# aggregates; an LMC sees the nominations it made (practice and date), never the case.


def cases_visible_to(user: User) -> QuerySet[Case]:
    from apps.cases.models import Case

    if not is_signed_in(user):
        return Case.objects.none()
    if user.role == Role.ICB and user.icb_id:
        return Case.objects.filter(icb_id=user.icb_id)
    if user.role == Role.PRACTICE and user.practice_id:
        return Case.objects.filter(practice_id=user.practice_id)
    if user.role == Role.PROVIDER:
        # the case's lead provider, and any provider with a live assignment on one of its package lines
        from apps.delivery.models import Assignment

        live = Assignment.objects.filter(ended_at__isnull=True).filter(
            Q(member__user=user) | Q(member__isnull=True, organisation__lead_user=user)
        )
        return Case.objects.filter(Q(provider=user) | Q(pk__in=live.values("case_id")))
    return Case.objects.none()


def get_case_for(user: User, pk: int) -> Case:
    """The case if the user may see it; 404 otherwise (never reveals that a case exists)."""
    return get_object_or_404(cases_visible_to(user).select_related("practice", "icb", "provider"), pk=pk)


def can_run_case(user: User, case: Case) -> bool:
    """Triage, decide, approve: the case's own ICB team."""
    return is_signed_in(user) and user.role == Role.ICB and user.icb_id == case.icb_id


def can_edit_plan(user: User, case: Case) -> bool:
    """The plan is owned by the practice; the ICB team may draft it with them."""
    if not is_signed_in(user) or not case.is_open:
        return False
    return can_run_case(user, case) or (user.role == Role.PRACTICE and user.practice_id == case.practice_id)


def can_read_confidential_notes(user: User, case: Case) -> bool:
    """Practice-confidential notes: the practice and its ICB case team, not the provider."""
    return can_run_case(user, case) or (
        is_signed_in(user) and user.role == Role.PRACTICE and user.practice_id == case.practice_id
    )


def can_self_refer(user: User) -> bool:
    return is_signed_in(user) and user.role == Role.PRACTICE and user.practice_id is not None


def can_nominate(user: User) -> bool:
    return is_signed_in(user) and user.role in (Role.ICB, Role.LMC) and user.icb_id is not None


def nominatable_practices(user: User) -> QuerySet[Practice]:
    """An LMC or ICB nominates practices in its own ICB."""
    if not can_nominate(user):
        return Practice.objects.none()
    return Practice.objects.filter(icb_id=user.icb_id)


def can_see_case_aggregates(user: User) -> bool:
    """Counts by status and ICB, no practice named: the national team's view of cases."""
    return is_signed_in(user) and user.role == Role.NATIONAL


def sees_case_rows(user: User) -> bool:
    """The national rule, decided here once for pages, API and downloads: the national team sees totals (by ICB,
    programme and month), never a row that identifies a practice's case: no case or package reference, no ledger
    line of one commitment, no audit line of a case record (its actor names the practice user who acted). Everyone
    else sees rows, scoped by ``cases_visible_to`` and ``apps.funding.policy.can_see_practice_money``."""
    return is_signed_in(user) and user.role != Role.NATIONAL


def can_see_case_queue(user: User) -> bool:
    return is_signed_in(user) and user.role in (Role.ICB, Role.PRACTICE, Role.PROVIDER)


# --- Delivery: faculty, assignment, sessions, outcomes ----------------------------------------------------------
# The faculty (people, capacity, accreditation, declared conflicts) is managed by the national team and ICB teams;
# a provider sees the members of its own organisation. Sessions follow the case rule: the case's ICB team, the
# practice that receives the session and the member who delivers it; the national team sees aggregates only.


def can_manage_faculty(user: User) -> bool:
    """Add members, record apprentices' stages, record conflicts: the national team and ICB teams."""
    return is_signed_in(user) and user.role in (Role.NATIONAL, Role.ICB)


def faculty_visible_to(user: User) -> QuerySet[FacultyMember]:
    """National and ICB teams see the whole faculty; a provider sees the members of its own organisations."""
    from apps.delivery.models import FacultyMember

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
    from apps.delivery.models import Session

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


def can_confirm_session(user: User, session: Session) -> bool:
    """Confirmation: the practice that received the session."""
    return is_signed_in(user) and user.role == Role.PRACTICE and user.practice_id == session.practice_id


def can_see_delivery(user: User) -> bool:
    """The delivery overview adapts to the role; the LMC has no delivery view."""
    return is_signed_in(user) and user.role in (Role.NATIONAL, Role.ICB, Role.PRACTICE, Role.PROVIDER)


def can_record_outcomes(user: User, case: Case) -> bool:
    """Follow-ups, hours released and RAG: the case's ICB team and a provider delivering on it."""
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
    from apps.delivery.models import Footprint, Network

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
    from apps.delivery.models import Meeting

    return get_object_or_404(
        Meeting.objects.filter(network__in=networks_visible_to(user)).select_related("network"), pk=pk
    )


def coaching_offers_visible_to(user: User) -> QuerySet[CoachingOffer]:
    from apps.delivery.models import CoachingOffer

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
    from apps.delivery.models import CoachingRequest

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
    from apps.delivery.models import PeerReview

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


def can_see_audit(user: User) -> bool:
    """The audit trail (who changed what, when; field names, not values): the national programme team."""
    return is_signed_in(user) and user.role == Role.NATIONAL


# Audited records that belong to the national programme and ICB budgets, never to one practice's case. Every other
# audited record (cases, referrals, plans, sessions, assignments, conflicts, commitments, payments, ledger lines,
# watch-list entries, user accounts, API tokens) is a case-level row: under ``sees_case_rows`` the national team gets
# it only as a count per month, ICB, record and action, so no line names the practice user who acted on a case.
PROGRAMME_RECORDS = frozenset(
    {
        "funding.Programme",
        "funding.FundingLine",
        "funding.FundingYear",
        "funding.Allocation",
        "funding.Budget",
        "funding.Release",
        "funding.Virement",
    }
)


def audit_lines_listed_for(user: User) -> frozenset[str] | None:
    """The audited records a user sees line by line: all (None) for those who see case rows; for the national team,
    the programme's own records only (the rest are totals, see PROGRAMME_RECORDS)."""
    return None if sees_case_rows(user) else PROGRAMME_RECORDS


def can_see_task_runs(user: User) -> bool:
    """The background task runs (notification emails, reminders, the national refresh: status, times, the error's
    last line): the national programme team, who run the service. Emails name users, so nobody else."""
    return is_signed_in(user) and user.role == Role.NATIONAL
