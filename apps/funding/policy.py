"""The money app's access rules, next to its domain (issue 15 §3). Views ask these functions, never ``user.role``.

The money rules shared with the API and the case services (who sees and acts on a budget, who sees practice-level
money) are still in ``apps.accounts.access``; they move here next.
"""

from __future__ import annotations

from apps.accounts.models import Role, User
from apps.practices.models import ICB


def own_budget_icb(user: User) -> ICB | None:
    """The ICB whose budget page is a user's money home: an ICB team's own (it is sent there from the dashboard)."""
    return user.icb if user.role == Role.ICB and user.icb is not None else None
