"""The REST API: one NinjaAPI at /api/v1/, its OpenAPI document at /api/v1/openapi.json and a docs page.

Every operation needs a token or a signed-in session (``apps.api.auth``) and gets its data through the access
chokepoints in the apps' ``policy`` modules. Errors are JSON: ``{"detail": "..."}`` for 401/403/404, and ninja's list of
field errors for 422. The OpenAPI document and the docs page are public: they describe the API, they hold no data.
"""

from __future__ import annotations

import json
from importlib import import_module
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import URLPattern, URLResolver
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.openapi.docs import DocsBase
from ninja.operation import Operation

from apps.accounts.access import is_signed_in
from apps.api.auth import AUTH
from apps.api.registry import AREAS
from apps.core.errors import DomainError

NAMESPACE = "api-v1"
UNAUTHENTICATED = (
    "Authentication required: send 'Authorization: Bearer <token>' with a token from your API tokens page "
    "(/accounts/api-tokens/), or sign in."
)
NOT_FOUND = "Not found: there is no such record, or you do not have access to it."
FORBIDDEN = "You do not have access to this."


class LocalSwagger(DocsBase):
    """Swagger UI from ninja's own static files, loaded with the page's CSP nonce (no CDN, no inline script)."""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        settings = {"url": self.get_openapi_url(api, kwargs), "layout": "BaseLayout", "deepLinking": True}
        context = {
            "api": api,
            "swagger_settings": json.dumps(settings),
            # "Try it out" as the signed-in user: ninja's init script sends this as X-CSRFToken.
            "csrf_token": get_token(request) if is_signed_in(request.user) else "",
        }
        return render(request, "api/docs.jinja", context)


class Api(NinjaAPI):
    # The document is built from the code alone (no data), which takes about 250 ms; it is built once per process
    # and path prefix and kept as JSON text, so each request pays only for reading it back (a fresh copy each time).
    _openapi_text: dict[str, str] = {}

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None) -> Any:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        text = self._openapi_text.get(path_prefix)
        if text is None:
            text = json.dumps(super().get_openapi_schema(path_prefix=path_prefix), cls=DjangoJSONEncoder)
            self._openapi_text[path_prefix] = text
        return json.loads(text)

    def get_openapi_operation_id(self, operation: Operation) -> str:
        """The view function's name (``list_practices``): short, stable, and unique across areas by convention."""
        return operation.view_func.__name__


api = Api(
    title="GP Resilience API",
    version="1",
    description=(
        "The practice register, indicator definitions, pressure scores, watch lists, cases and their packages, "
        "delivery sessions, budgets and the ledger, with the same access rules as the pages; practices self-refer, "
        "providers log and sign off their sessions, practices confirm them. Authenticate with "
        "`Authorization: Bearer <token>` (create tokens on your API tokens page). List endpoints take `page` and "
        "`page_size`, and `format=csv` (or `Accept: text/csv`) for the whole filtered table as CSV. Money is in "
        "integer pence. A refused write changes nothing: 403 (not yours to do), 404 (not found or not visible to you), "
        "409 (the record's state forbids it), 422 (bad input: each entry of `detail` names its field in `loc`)."
    ),
    urls_namespace=NAMESPACE,
    auth=AUTH,
    docs=LocalSwagger(),
    docs_url="/docs/",
    openapi_url="/openapi.json",
)

for area in AREAS:
    api.add_router("", import_module(area).router)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: Exception) -> HttpResponse:
    return api.create_response(request, {"detail": UNAUTHENTICATED}, status=401)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    # One message for "missing" and "hidden", so the answer never reveals that a record exists.
    return api.create_response(request, {"detail": NOT_FOUND}, status=404)


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: Exception) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or FORBIDDEN}, status=403)


@api.exception_handler(DjangoValidationError)
def _invalid(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    return api.create_response(request, {"detail": "; ".join(exc.messages)}, status=422)


@api.exception_handler(DomainError)
def _refused(request: HttpRequest, exc: DomainError) -> HttpResponse:
    # A service's refusal that the operation did not answer itself: 400, its message and the input at fault.
    return api.create_response(request, {"detail": exc.message, "field": exc.field}, status=400)


def urls() -> tuple[list[URLPattern | URLResolver], str, str]:
    """The API's URL patterns for ``include()``. They skip ``LoginRequiredMiddleware``: the API authenticates
    every operation itself and answers 401 JSON, never a redirect to the sign-in page."""
    patterns, app_name, namespace = api.urls
    for p in patterns:
        if isinstance(p, URLPattern):
            p.callback.login_required = False  # type: ignore[attr-defined]
    return patterns, app_name, namespace
