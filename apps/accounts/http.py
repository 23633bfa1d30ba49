"""Request helpers shared by every app's views."""

from __future__ import annotations

from django.http import HttpRequest

from apps.accounts.models import User


def user_of(request: HttpRequest) -> User:
    """The signed-in user of a request: LoginRequiredMiddleware guarantees every view (bar the few marked
    ``login_not_required``) is reached only by a signed-in ``User``, so this only narrows the type."""
    return request.user  # type: ignore[return-value]
