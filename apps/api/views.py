"""The API tokens page: a signed-in user creates, lists and revokes their own tokens (``access.api_tokens_of``)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.api import services
from apps.api.forms import TokenForm
from apps.api.policy import api_tokens_of, get_api_token_for
from apps.core.forms import form_errors, typed


def token_list(request: HttpRequest) -> HttpResponse:
    """GET lists the tokens; POST creates one and shows it once, on this response only (it is not stored)."""
    errors: dict[str, str] = {}
    new_token = ""
    name = ""
    if request.method == "POST":
        form = TokenForm(request.POST)
        name = str(typed(form)["name"]).strip()
        if not form.is_valid():
            errors = form_errors(form)
        else:
            try:
                _, new_token = services.create_api_token(request.user, form.cleaned_data["name"].strip())  # type: ignore[arg-type]
            except ValidationError as exc:
                errors["name"] = exc.messages[0]
            else:
                name = ""
    context = {
        "tokens": api_tokens_of(request.user),  # type: ignore[arg-type]
        "new_token": new_token,
        "errors": errors,
        "name": name,
    }
    response = render(request, "api/tokens.jinja", context, status=400 if errors else 200)
    if new_token:
        response["Cache-Control"] = "no-store"  # the token is on this page once: keep it out of caches
    return response


@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_api_token_for(request.user, pk)  # type: ignore[arg-type]
    services.revoke_api_token(token)
    messages.success(request, f"Token '{token.name}' is revoked: it no longer works.")
    return redirect("apitokens:list")
