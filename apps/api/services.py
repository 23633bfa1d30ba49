"""API token rules: create (the token is returned once and never stored), revoke, and find the user for a token."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.api.models import ApiToken

TOKEN_PREFIX = "gpr_"
MAX_ACTIVE_TOKENS = 20
# Writing last_used_at on every request would turn each read into a write; a minute's precision is enough to see
# whether a token is still in use.
LAST_USED_PRECISION = timedelta(minutes=1)


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def create_api_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Create a named token for ``user``. Returns the row and the token text, which is not kept anywhere."""
    name = name.strip()
    if not name:
        raise ValidationError("Give the token a name, so you can tell it apart later")
    if len(name) > 100:
        raise ValidationError("Keep the name to 100 characters or fewer")
    if not user.is_active:
        raise ValidationError("This account is not active")
    if ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() >= MAX_ACTIVE_TOKENS:
        raise ValidationError(f"You already have {MAX_ACTIVE_TOKENS} active tokens: revoke one you no longer use")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=raw[:10], token_sha256=token_digest(raw))
    return token, raw


def revoke_api_token(token: ApiToken) -> ApiToken:
    """Revoke a token (found through ``access.get_api_token_for``). Revoking twice changes nothing."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def user_for_token(raw: str) -> User | None:
    """The active user a live token belongs to, or None. Notes when the token was last used (to the minute)."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_sha256=token_digest(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)  # not audited: bookkeeping, not a change
    return token.user
