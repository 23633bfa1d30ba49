"""Optional single sign-on through OpenID Connect (mozilla-django-oidc), configured by environment variables.

Off unless ``OIDC_ISSUER`` and ``OIDC_RP_CLIENT_ID`` are set (``gpsupport.settings``). The provider's endpoints are
read from its discovery document (``{issuer}/.well-known/openid-configuration``), once per process. A sign-in is
accepted only for an **existing, active** account whose email matches the verified id_token's ``email`` claim:
nobody is created (a role and scope are given by invitation, never by the identity provider). The id_token's
signature (RS256 by default, key from the provider's JWKS), issuer, audience, expiry and nonce are checked; any
failure is a refused sign-in, never a server error.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import jwt
import requests
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views import View
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from apps.accounts.backends import load_user
from apps.accounts.models import User

log = logging.getLogger(__name__)

# Our setting name -> the discovery document's key (used unless the setting is given explicitly).
DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}


def enabled() -> bool:
    return bool(getattr(settings, "OIDC_ISSUER", "") and getattr(settings, "OIDC_RP_CLIENT_ID", ""))


@lru_cache(maxsize=4)
def discovery(issuer: str) -> dict[str, Any]:
    """The provider's discovery document (cached per process: providers change it rarely and announce it)."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    response = requests.get(url, timeout=getattr(settings, "OIDC_TIMEOUT", 10))
    response.raise_for_status()
    doc: dict[str, Any] = response.json()
    if doc.get("issuer", "").rstrip("/") != issuer.rstrip("/"):
        raise SuspiciousOperation("The OpenID provider's discovery document names another issuer.")
    return doc


def setting(attr: str, *default: Any) -> Any:
    """A mozilla-django-oidc setting, with endpoints from discovery when not set explicitly."""
    if attr in DISCOVERED and not getattr(settings, attr, "") and enabled():
        value = discovery(settings.OIDC_ISSUER).get(DISCOVERED[attr])
        if value:
            return value
    if not enabled():
        return import_from_settings(attr, *(default or ("",)))
    return import_from_settings(attr, *default)


def _lazy(attr: str, *default: Any) -> Any:
    """A setting read when used, not when the backend or view is built: Django builds every backend to check every
    session and password sign-in, and those must not depend on the identity provider being reachable."""
    return property(lambda self: setting(attr, *default))


class Backend(OIDCAuthenticationBackend):
    """Matches the verified email to one active account; never creates one."""

    OIDC_OP_TOKEN_ENDPOINT = _lazy("OIDC_OP_TOKEN_ENDPOINT")
    OIDC_OP_USER_ENDPOINT = _lazy("OIDC_OP_USER_ENDPOINT", "")
    OIDC_OP_JWKS_ENDPOINT = _lazy("OIDC_OP_JWKS_ENDPOINT", None)
    OIDC_RP_CLIENT_ID = _lazy("OIDC_RP_CLIENT_ID")
    OIDC_RP_CLIENT_SECRET = _lazy("OIDC_RP_CLIENT_SECRET", "")
    OIDC_RP_SIGN_ALGO = _lazy("OIDC_RP_SIGN_ALGO", "RS256")
    OIDC_RP_IDP_SIGN_KEY = _lazy("OIDC_RP_IDP_SIGN_KEY", None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.UserModel = User

    @staticmethod
    def get_settings(attr: str, *args: Any) -> Any:
        return setting(attr, *args)

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        if not enabled() or request is None or "nonce" not in kwargs:
            return None  # a password sign-in: not for this backend
        try:
            user: User | None = super().authenticate(request, **kwargs)
        except (
            SuspiciousOperation,
            ImproperlyConfigured,
            jwt.InvalidTokenError,
            requests.RequestException,
            ValueError,
            KeyError,
        ) as exc:
            log.warning("single sign-on refused: %s", exc)
            return None
        return user

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        payload: dict[str, Any] = super().verify_token(token, **kwargs)
        if str(payload.get("iss", "")).rstrip("/") != settings.OIDC_ISSUER.rstrip("/"):
            raise SuspiciousOperation("The id_token was issued by another provider.")
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if settings.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("The id_token was issued for another service.")
        return payload

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The verified id_token's claims: they carry the email, and need no second request to the provider."""
        return payload

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        # An address the provider has not verified could be anyone's: refuse it when the provider says so.
        return bool(claims.get("email")) and claims.get("email_verified", True) is not False

    def filter_users_by_claims(self, claims: dict[str, Any]) -> QuerySet[User]:
        return User.objects.filter(email__iexact=str(claims.get("email", "")), is_active=True)

    def create_user(self, claims: dict[str, Any]) -> User:
        raise SuspiciousOperation("No active account has this email address; ask your team lead for an invitation.")

    def get_user(self, user_id: int) -> User | None:
        user = load_user(user_id)  # with the ICB and practice the header names, as the password backend does
        return user if user is not None and user.is_active else None


def _off(request: HttpRequest) -> None:
    if not enabled():
        raise Http404


@method_decorator(login_not_required, name="dispatch")
class Start(OIDCAuthenticationRequestView):
    """Sends the browser to the provider's sign-in page (404 when single sign-on is not configured)."""

    OIDC_OP_AUTH_ENDPOINT = _lazy("OIDC_OP_AUTHORIZATION_ENDPOINT")
    OIDC_RP_CLIENT_ID = _lazy("OIDC_RP_CLIENT_ID")

    def __init__(self, **kwargs: Any) -> None:
        View.__init__(self, **kwargs)

    @staticmethod
    def get_settings(attr: str, *args: Any) -> Any:
        return setting(attr, *args)

    def get(self, request: HttpRequest) -> HttpResponse:
        _off(request)
        try:
            return super().get(request)
        except (SuspiciousOperation, ImproperlyConfigured, requests.RequestException, ValueError) as exc:
            log.warning("single sign-on could not start: %s", exc)
            return redirect_failed()


def redirect_failed() -> HttpResponse:
    from django.shortcuts import redirect
    from django.urls import reverse

    return redirect(reverse("accounts:login") + "?sso=failed")


@method_decorator(login_not_required, name="dispatch")
class Callback(OIDCAuthenticationCallbackView):
    """Where the provider sends the browser back; signs in the matched account or returns to the sign-in page."""

    @staticmethod
    def get_settings(attr: str, *args: Any) -> Any:
        return setting(attr, *args)

    @property
    def failure_url(self) -> str:
        from django.urls import reverse

        return reverse("accounts:login") + "?sso=failed"

    def get(self, request: HttpRequest) -> HttpResponse:
        _off(request)
        try:
            return super().get(request)
        except SuspiciousOperation as exc:  # e.g. a state that is not this browser's: a refused sign-in
            log.warning("single sign-on refused: %s", exc)
            return redirect_failed()
