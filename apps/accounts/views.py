from __future__ import annotations

from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator


@method_decorator(login_not_required, name="dispatch")
class LoginView(auth_views.LoginView):
    template_name = "accounts/login.jinja"
    redirect_authenticated_user = True


def logout_view(request: HttpRequest) -> HttpResponse:
    """GET asks to confirm; POST (with CSRF) signs out."""
    if request.method == "POST":
        logout(request)
        return redirect("core:start")
    return render(request, "accounts/logout.jinja", {})
