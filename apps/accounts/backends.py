"""The password sign-in backend: Django's ``ModelBackend``, with the signed-in user read together with their ICB and
practice.

Every page's header names the user's ICB or practice (``User.scope_label``) and most ICB and practice pages scope
their lists by it, so reading the user alone cost a second query on nearly every request; one join saves it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import backends

from apps.accounts.models import User

SCOPE = ("icb", "practice")
"""The relations read with the user on each request."""


def load_user(user_id: Any) -> User | None:
    try:
        return User._default_manager.select_related(*SCOPE).get(pk=user_id)
    except User.DoesNotExist:
        return None


class ModelBackend(backends.ModelBackend):
    def get_user(self, user_id: Any) -> User | None:  # type: ignore[override]
        user = load_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
