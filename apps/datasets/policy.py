"""The national data's access rule: who reads the import logs."""

from __future__ import annotations

from apps.accounts.access import is_signed_in
from apps.accounts.models import Role, User


def can_view_import_logs(user: User) -> bool:
    """Import logs name files and row counts only; the national team and ICB teams run and check loads."""
    return is_signed_in(user) and user.role in (Role.NATIONAL, Role.ICB)
