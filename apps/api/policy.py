"""The API's own access rule: a user's personal API tokens are theirs alone."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from apps.accounts.access import is_signed_in
from apps.accounts.models import User
from apps.api.models import ApiToken


def api_tokens_of(user: User) -> QuerySet[ApiToken]:
    """A user's own API tokens. Nobody lists or revokes another user's tokens, whatever their role."""
    if not is_signed_in(user):
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user=user)


def get_api_token_for(user: User, pk: int) -> ApiToken:
    """One of the user's own tokens; 404 for anyone else's (never reveals that it exists)."""
    return get_object_or_404(api_tokens_of(user), pk=pk)
