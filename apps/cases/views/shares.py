"""A group package's shares: a covered practice accepts or declines its part, an ICB across the border approves or
refuses its practices' shares, and the lead ICB follows where each share stands. Nobody but the lead's own people
sees the case itself (``policy.get_share_page_package_for``)."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from apps.accounts.http import user_of
from apps.cases import policy as access
from apps.cases.forms import DecisionForm, ShareForm
from apps.cases.models import Package
from apps.cases.services import shares as services
from apps.core.errors import DomainError
from apps.core.forms import add_refusal, form_errors, typed
from apps.funding import services as funding


def shares(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    user = user_of(request)
    pkg = access.get_share_page_package_for(user, pk, number)
    case = pkg.case
    own = pkg.practices.filter(practice_id=user.practice_id).select_related("package__case").first()
    if own is not None and access.can_decide_share(user, own):
        mode, rows = "practice", pkg.practices.filter(pk=own.pk)
        history = pkg.share_decisions.filter(practice_id=user.practice_id)
    elif access.can_approve_share_for(user, pkg):
        mode, rows = "icb", pkg.practices.filter(practice__icb_id=user.icb_id)
        history = pkg.share_decisions.filter(Q(icb_id=user.icb_id) | Q(practice__icb_id=user.icb_id))
    else:  # the lead ICB team: every share and decision (never another ICB's budget)
        mode, rows, history = "lead", pkg.practices.all(), pkg.share_decisions.all()
    budgets = funding.budgets_for(user.icb, on=pkg.starts) if mode == "icb" and user.icb else []
    form: ShareForm | DecisionForm | None = None
    if mode == "practice":
        form = ShareForm(request.POST if request.method == "POST" else None)
    elif mode == "icb":
        form = DecisionForm(request.POST if request.method == "POST" else None, budgets=budgets)
    if form is not None and form.is_valid():
        data = form.cleaned_data
        try:
            if isinstance(form, ShareForm):
                services.decide_share(user, pkg, data["decision"] == "accept", data["reason"])
            else:
                services.decide_icb_share(user, pkg, data["decision"] == "approve", data["note"], form.chosen_budget())
        except DomainError as e:
            add_refusal(form, e)
        else:
            messages.success(request, f"Your decision on {pkg.ref} is recorded; the lead ICB has been told.")
            return redirect("cases:shares", pk=case.pk, number=pkg.number)
    errors = form_errors(form) if form is not None and form.is_bound else {}
    shown = typed(form) if form is not None else {}
    ctx = {
        "case": case,
        "pkg": pkg,
        "mode": mode,
        "rows": rows.select_related("practice__icb"),
        "lines": pkg.lines.select_related("offer"),
        "history": history.select_related("by", "practice", "icb"),
        "budgets": budgets,
        "errors": errors,
        "shown": shown,
        "open": pkg.state == Package.State.SUBMITTED,
    }
    return render(request, "cases/shares.jinja", ctx, status=400 if errors else 200)
