"""Reopening a closed case: the ICB team, within the window, with a rationale (``services.reopen_case``)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from apps.accounts.http import user_of
from apps.cases import lifecycle, services
from apps.cases import policy as access
from apps.cases.forms import ReopenForm
from apps.cases.models import Status
from apps.core.errors import DomainError
from apps.core.forms import add_refusal, form_errors, typed


def reopen(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    case = access.get_case_for(user, pk)
    if not access.can_run_case(user, case):
        raise PermissionDenied
    form = ReopenForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            services.reopen_case(user, case, form.cleaned_data["rationale"])
        except DomainError as e:
            add_refusal(form, e)
        else:
            case.refresh_from_db()
            messages.success(request, f"{case.ref} is reopened at “{Status(case.status).label}”.")
            return redirect("cases:detail", pk=case.pk)
    errors = form_errors(form) if form.is_bound else {}
    if "" in errors:  # a refusal about the case (window passed, another open case) is shown at the rationale box
        errors["rationale"] = errors.pop("")
    ctx = {
        "case": case,
        "rationale": str(typed(form)["rationale"]).strip(),
        "errors": errors,
        "until": services.reopen_until(case),
        "window_days": lifecycle.reopen_window().days,
    }
    return render(request, "cases/reopen.jinja", ctx, status=400 if errors else 200)
