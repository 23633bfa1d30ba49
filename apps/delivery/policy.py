"""The delivery app's own access rules, named (issue 15 §3): views and services ask these, never ``user.role``.

Who sees which faculty members, sessions, networks and coaching is decided by the chokepoints in
``apps.accounts.access`` (``sessions_visible_to``, ``networks_visible_to``, …); the rules here say which part a
user plays in delivery, and so which lists and steps a page offers them.
"""

from __future__ import annotations

from django.db.models import QuerySet

from apps.accounts.access import is_signed_in
from apps.accounts.models import Role, User
from apps.delivery.models import MemberRole


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


def practice_team(practice_id: int) -> QuerySet[User]:
    """A practice's active logins: told when a session is signed off or due tomorrow, and asked to confirm it."""
    return practice_managers().filter(practice_id=practice_id)
