"""Security headers (a content security policy that allows no inline script except the per-request nonce; nothing a
signed-in user sees is stored by a browser or proxy cache), the idle session expiry and the refusal of unstorable
form input."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = secrets.token_urlsafe(16)
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; "
            f"script-src 'self' 'nonce-{nonce}'; "
            "style-src 'self'; img-src 'self' data:; font-src 'self' data:; "
            "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'",
        )
        response.headers.setdefault("Permissions-Policy", "geolocation=(), camera=(), microphone=()")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated) or "Authorization" in request.headers:
            # Case detail, budgets and exports must not be kept in a shared computer's browser cache or a proxy's,
            # where the next person could read them (Back button, cache folder). Anonymous pages (start, sign-in,
            # published spend) hold nothing confidential and may be cached as usual.
            add_never_cache_headers(response)
        return response


SESSION_TOUCHED = "_idle_touched"
SESSION_REFRESH_SECONDS = 300


class SessionIdleExpiryMiddleware:
    """Ends a session after ``SESSION_COOKIE_AGE`` seconds without a request (a working day by default).

    Django fixes a session's end when the session is saved; marking it changed makes SessionMiddleware save it with a
    new end. Doing that on every request (``SESSION_SAVE_EVERY_REQUEST``) would write the session row on every page,
    so it is pushed back at most once every five minutes: the idle limit is then kept to within five minutes.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            every = min(SESSION_REFRESH_SECONDS, settings.SESSION_COOKIE_AGE // 2)
            if now - int(request.session.get(SESSION_TOUCHED, 0)) >= every:
                request.session[SESSION_TOUCHED] = now
        return response


class RefuseUnstorableInputMiddleware:
    """Refuses a form or a query string whose values hold a NUL character (code 0), naming the field.

    No browser sends one from a form a person filled in or a link the service made, PostgreSQL cannot store or even
    compare one in a text column (the query fails with a server error), and SQLite would store it silently; so it is
    refused here, once, for every form and every page's query parameters, before any view or service sees it. The
    API answers in JSON; its JSON bodies are not form data and are checked by the API's own schemas.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        bad = _nul_field(request.GET)
        if bad is None and request.method == "POST" and request.content_type in FORM_TYPES:
            bad = _nul_field(request.POST)
        if bad is not None:
            name = bad.replace("\x00", "") or "a field"
            message = (
                f"The “{name}” field contains a character that cannot be stored (a NUL, character code 0). "
                "Remove it and send the form again: nothing was saved."
            )
            if request.path.startswith("/api/"):
                from django.http import JsonResponse

                # the API's documented answer to input it cannot take: 422 in the shape of its other validation errors
                where = "query" if bad in request.GET else "body"
                problem = {"type": "value_error", "loc": [where, name], "msg": message}
                return JsonResponse({"detail": [problem]}, status=422)
            from django.shortcuts import render

            return render(request, "core/bad_input.jinja", {"message": message}, status=400)
        return self.get_response(request)


def _nul_field(data: Any) -> str | None:
    return next((k for k, vs in data.lists() for v in [k, *vs] if "\x00" in v), None)


FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
