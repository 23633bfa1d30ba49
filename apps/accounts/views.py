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
from django.urls import reverse_lazy
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

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        from apps.accounts import oidc

        context = super().get_context_data(**kwargs)
        context["sso"] = settings.OIDC_PROVIDER_NAME if oidc.enabled() else ""
        context["sso_failed"] = self.request.GET.get("sso") == "failed"
        return context


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset: the same answer whether or not the address has an account (no user enumeration); the email
    goes only to an active account with a usable password."""

    template_name = "accounts/password_reset.jinja"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_invalid(self, form: Any) -> HttpResponse:
        response = super().form_invalid(form)
        response.status_code = 400
        return response


@method_decorator(sensitive_post_parameters("new_password1", "new_password2"), name="dispatch")
class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.jinja"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_invalid(self, form: Any) -> HttpResponse:
        response = super().form_invalid(form)
        response.status_code = 400
        return response


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
