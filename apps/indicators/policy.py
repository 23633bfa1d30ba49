"""The indicators app's access rules (issue 15 §3): who sees a watch list, the national summary, a practice's
pressure score and the back-test; and which watch list is a user's home."""

from __future__ import annotations

from typing import Any

from apps.accounts.access import is_signed_in
from apps.accounts.models import Role, User
from apps.practices.models import ICB, Practice


def own_watch_list_icb(user: Any) -> ICB | None:
    """The ICB whose watch list is a user's watch-list home: an ICB team's own (the national team's is the summary)."""
    if is_signed_in(user) and user.role == Role.ICB and user.icb is not None:
        return user.icb  # type: ignore[no-any-return]
    return None


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
