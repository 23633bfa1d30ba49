"""The base of access: whether a user is signed in, and the view decorator that refuses a user a check says no.

Each domain's rules live beside it, in the app's ``policy`` module (``apps.practices.policy``, ``apps.cases.policy``,
``apps.delivery.policy``, ``apps.funding.policy``, ``apps.indicators.policy``, ``apps.targeting.policy``,
``apps.datasets.policy``, ``apps.api.policy``, ``apps.pages.policy``); an app's code asks its own policy module, which
also names the lower layers' rules it relies on. This module imports no feature app (``core/tests/test_structure.py``)
and no role is compared outside the policy modules (``accounts/tests/test_role_checks.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from apps.accounts.models import Role, User


def is_signed_in(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and getattr(user, "is_active", False)


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


def sees_case_rows(user: User) -> bool:
    """The national rule, decided here once for pages, API and downloads: the national team sees totals (by ICB,
    programme and month), never a row that identifies a practice's case: no case or package reference, no ledger
    line of one commitment, no audit line of a case record (its actor names the practice user who acted). Everyone
    else sees rows, scoped by ``cases_visible_to`` and ``apps.funding.policy.can_see_practice_money``."""
    return is_signed_in(user) and user.role != Role.NATIONAL
