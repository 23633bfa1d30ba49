"""The watch list's own access rule, named (issue 15 §3). Who sees a watch list is the chokepoint's
(``apps.accounts.access.can_see_watch_list``, ``can_see_watch_summary``)."""

from __future__ import annotations

from typing import Any

from apps.accounts.access import is_signed_in
from apps.accounts.models import Role
from apps.practices.models import ICB


def own_watch_list_icb(user: Any) -> ICB | None:
    """The ICB whose watch list is a user's watch-list home: an ICB team's own (the national team's is the summary)."""
    if is_signed_in(user) and user.role == Role.ICB and user.icb is not None:
        return user.icb  # type: ignore[no-any-return]
    return None
