from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from apps.accounts.models import User

LOCKED_OUT = (
    "Too many failed sign-in attempts for this username from your network. For your security, signing in is paused "
    "for {minutes} minutes. Wait, then try again; if you have forgotten your password, ask your administrator."
)


class SignInForm(AuthenticationForm):
    """Django's sign-in form, refusing an overlong username before anyone looks it up.

    The username's ``max_length`` is only a widget attribute there, so any length reached ``authenticate()``; a failed
    sign-in is recorded by django-axes in a 255-character column, and PostgreSQL refused a longer username with a
    server error (found by the form fuzz). The page shows its usual "enter a correct username and password".
    """

    def clean_username(self) -> str:
        username: str = self.cleaned_data.get("username", "")
        limit = User._meta.get_field("username").max_length or 150
        if len(username) > limit:
            raise ValidationError(f"A username has at most {limit} characters.", code="too_long")
        return username


@method_decorator(login_not_required, name="dispatch")
@method_decorator(sensitive_post_parameters("password"), name="dispatch")
class LoginView(auth_views.LoginView):
    template_name = "accounts/login.jinja"
    redirect_authenticated_user = True
    authentication_form = SignInForm


def cooloff_minutes() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)


def locked_out(request: HttpRequest, original_response: Any = None, credentials: Any = None) -> HttpResponse:
    """django-axes' lockout response: the sign-in page again, with a plain message, status 429 (Too Many Requests).

    The username typed is shown back (it is the user's own input); the password never is.
    """
    form = AuthenticationForm(request, initial={"username": (credentials or {}).get("username", "")})
    context = {
        "form": form,
        "next": request.POST.get("next", ""),
        "locked_out": LOCKED_OUT.format(minutes=cooloff_minutes()),
    }
    return render(request, "accounts/login.jinja", context, status=429)


def logout_view(request: HttpRequest) -> HttpResponse:
    """GET asks to confirm; POST (with CSRF) signs out."""
    if request.method == "POST":
        logout(request)
        return redirect("core:start")
    return render(request, "accounts/logout.jinja", {})
