"""How the API knows who is calling: a personal bearer token, or the browser's signed-in session.

Both give ``request.auth`` = the user; endpoints pass that user to the access chokepoints, exactly as pages pass
``request.user``. Session calls that change data need the CSRF token (ninja checks it); token calls do not, because a
browser never attaches a bearer token on its own.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from apps.accounts.access import is_signed_in
from apps.api.services import user_for_token
from apps.core import audit


class TokenAuth(HttpBearer):
    """``Authorization: Bearer gpr_…`` with a token made on the API tokens page or by ``create_api_token``."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = user_for_token(token)
        if user is not None:
            request.user = user
            audit.set_actor(user)  # changes made through the API are the token owner's
        return user


class SignedInSession(SessionAuth):
    """The browser session of a signed-in, active user (the API docs page's "Try it out" uses this)."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        return request.user if is_signed_in(request.user) else None


AUTH = [TokenAuth(), SignedInSession()]
