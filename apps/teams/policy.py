"""Who may invite whom, and who may change whom: the team-administration chokepoints.

Roles keep their scopes (``access``); on top of them a user's ``team_role`` says whether they lead their team:

- the national team invites ICB leads (and national colleagues) and manages ICB teams when one has no lead;
- an ICB lead invites members of its own ICB team, practice users for practices in its ICB and provider users for
  the provider organisations it commissions (those covering its ICB), and changes the team role of, deactivates and
  reactivates members of its own ICB team;
- a practice's lead (its first user) invites colleagues of the same practice.

Nobody changes their own role or deactivates themselves, so no team can lock out its last lead by accident. Every
view and service asks these functions; nothing else compares roles for team administration.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from apps.accounts.access import is_signed_in
from apps.accounts.models import Invitation, Role, TeamRole, User
from apps.delivery.models import ProviderOrganisation
from apps.practices.models import ICB, Practice


@dataclass(frozen=True)
class Offer:
    """One kind of invitation a user may send: the role, the team role it gives and the scopes to choose from."""

    role: str
    team_role: str
    label: str


def can_administer_team(user: User) -> bool:
    """The team page at all: national users, ICB leads and practice leads."""
    if not is_signed_in(user):
        return False
    if user.role == Role.NATIONAL:
        return True
    if user.team_role != TeamRole.LEAD:
        return False
    return (user.role == Role.ICB and user.icb_id is not None) or (
        user.role == Role.PRACTICE and user.practice_id is not None
    )


def invitation_offers(user: User) -> list[Offer]:
    """The kinds of invitation ``user`` may send, in the order the form lists them."""
    if not can_administer_team(user):
        return []
    if user.role == Role.NATIONAL:
        return [
            Offer(Role.ICB, TeamRole.LEAD, "ICB team lead"),
            Offer(Role.NATIONAL, TeamRole.MEMBER, "National programme team member"),
        ]
    if user.role == Role.ICB:
        return [
            Offer(Role.ICB, TeamRole.MEMBER, "Member of your ICB team"),
            Offer(Role.ICB, TeamRole.LEAD, "Lead of your ICB team"),
            Offer(Role.PRACTICE, TeamRole.MEMBER, "Practice user (a practice in your ICB)"),
            Offer(Role.PROVIDER, TeamRole.MEMBER, "Provider user (a provider you commission)"),
        ]
    return [Offer(Role.PRACTICE, TeamRole.MEMBER, "Colleague at your practice")]


def invitable_practices(user: User) -> QuerySet[Practice]:
    """Practices ``user`` may invite practice users for: its ICB's (ICB lead) or its own (practice lead)."""
    if not can_administer_team(user):
        return Practice.objects.none()
    if user.role == Role.ICB:
        return Practice.objects.filter(icb_id=user.icb_id)
    if user.role == Role.PRACTICE:
        return Practice.objects.filter(pk=user.practice_id)
    return Practice.objects.none()


def commissioned_providers(user: User) -> list[str]:
    """Names of the active provider organisations an ICB lead commissions (those that cover its ICB)."""
    if not can_administer_team(user) or user.role != Role.ICB:
        return []
    return list(
        ProviderOrganisation.objects.filter(active=True, icbs=user.icb_id)
        .order_by("name")
        .values_list("name", flat=True)
    )


def invitation_refusal(
    user: User, role: str, team_role: str, icb: ICB | None, practice: Practice | None, organisation: str
) -> str | None:
    """Why ``user`` may not send this invitation, in words; ``None`` when they may."""
    offer = next((o for o in invitation_offers(user) if (o.role, o.team_role) == (role, team_role)), None)
    if offer is None:
        return "You cannot invite someone to that role."
    if role == Role.ICB:
        if icb is None:
            return "Choose the ICB whose team they join."
        if user.role == Role.ICB and icb.pk != user.icb_id:
            return "You can invite only to your own ICB's team."
    if role == Role.PRACTICE:
        if practice is None:
            return "Choose their practice."
        if not invitable_practices(user).filter(pk=practice.pk).exists():
            return (
                "You can invite only colleagues at your own practice."
                if user.role == Role.PRACTICE
                else "That practice is not in your ICB."
            )
    if role == Role.PROVIDER and organisation not in commissioned_providers(user):
        return "Choose a provider organisation that covers your ICB."
    return None


def can_manage_member(user: User, member: User) -> bool:
    """Change the team role of, deactivate and reactivate ``member``: an ICB lead for its own ICB team; the national
    team for any ICB team member and national colleagues. Never oneself."""
    if not can_administer_team(user) or member.pk == user.pk:
        return False
    if user.role == Role.NATIONAL:
        return member.role in (Role.ICB, Role.NATIONAL)
    if user.role == Role.ICB:
        return member.role == Role.ICB and member.icb_id == user.icb_id
    return False


def members_visible_to(user: User) -> QuerySet[User]:
    """The people on ``user``'s team page (active and deactivated, so history stays in view)."""
    if not can_administer_team(user):
        return User.objects.none()
    if user.role == Role.NATIONAL:
        return User.objects.filter(Q(role=Role.NATIONAL) | Q(role=Role.ICB, team_role=TeamRole.LEAD))
    if user.role == Role.ICB:
        return User.objects.filter(role=Role.ICB, icb_id=user.icb_id)
    return User.objects.filter(role=Role.PRACTICE, practice_id=user.practice_id)


def get_member_for(user: User, pk: int) -> User:
    """A member the user may manage; 404 otherwise (never reveals that an account exists)."""
    from django.http import Http404

    member = User.objects.filter(pk=pk).select_related("icb", "practice").first()
    if member is None or not can_manage_member(user, member):
        raise Http404
    return member


def invitations_visible_to(user: User) -> QuerySet[Invitation]:
    """Invitations on the team page: those the user's team sent or that join the user's team."""
    if not can_administer_team(user):
        return Invitation.objects.none()
    if user.role == Role.NATIONAL:
        return Invitation.objects.filter(invited_by__role=Role.NATIONAL)
    if user.role == Role.ICB:
        return Invitation.objects.filter(
            Q(icb_id=user.icb_id)
            | Q(practice__icb_id=user.icb_id)
            | Q(invited_by__role=Role.ICB, invited_by__icb_id=user.icb_id)
        )
    return Invitation.objects.filter(practice_id=user.practice_id)


def get_invitation_for(user: User, pk: int) -> Invitation:
    from django.shortcuts import get_object_or_404

    return get_object_or_404(invitations_visible_to(user), pk=pk)


# What an invitation's role means for where the invited person goes (the role of an invitation, not of a user).


def joins_icb_team(role: str) -> bool:
    """An invitation with this role joins an ICB's team (so it names the ICB)."""
    return role == Role.ICB


def joins_practice(role: str) -> bool:
    """An invitation with this role joins a practice (so it names the practice)."""
    return role == Role.PRACTICE


def joins_provider(role: str) -> bool:
    """An invitation with this role joins a provider organisation (so it names the organisation)."""
    return role == Role.PROVIDER


def has_team_leads(role: str) -> bool:
    """Teams of this role have leads: ICB teams and practices."""
    return role in (Role.ICB, Role.PRACTICE)


# Where an inviting user's invitations go.


def invites_within_own_icb(user: User) -> bool:
    """An ICB user invites to its own ICB's team (naming no other) and chooses practices in its ICB."""
    return user.role == Role.ICB


def invites_within_own_practice(user: User) -> bool:
    """A practice user invites colleagues of its own practice only (naming no other)."""
    return user.role == Role.PRACTICE


def chooses_icb_when_inviting(user: User) -> bool:
    """The national team names the ICB whose team an invited ICB lead joins."""
    return user.role == Role.NATIONAL


def invited_team_role(actor: User, role: str, practice: Practice | None, team_role: str) -> str:
    """The team role an invitation gives: the one asked for, except that a practice user invited by someone outside
    the practice leads it when it has no active lead, so the practice can then invite its own colleagues."""
    if role == Role.PRACTICE and actor.role != Role.PRACTICE and practice is not None:
        has_lead = User.objects.filter(
            role=Role.PRACTICE, practice=practice, team_role=TeamRole.LEAD, is_active=True
        ).exists()
        return TeamRole.MEMBER if has_lead else TeamRole.LEAD
    return team_role
