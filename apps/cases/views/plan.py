"""The action plan: the practice and its ICB team edit it; the practice agrees it."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render

from apps.accounts.http import user_of
from apps.cases import policy as access
from apps.cases import services
from apps.cases.config import questionnaire
from apps.cases.forms import PLAN_ROWS, parse_plan
from apps.cases.models import ActionPlan, SupportOffer
from apps.cases.views.case import case_of
from apps.core.errors import DomainError


def plan(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    case = case_of(request, pk)
    if not access.can_edit_plan(user, case):
        raise PermissionDenied
    existing = ActionPlan.objects.filter(case=case).first()
    errors: dict[str, str] = {}
    if request.method == "POST":
        parsed = parse_plan(request.POST)
        rows, errors = parsed.rows, parsed.errors
        if not errors:
            try:
                services.save_plan(user, case, parsed.goals)
            except DomainError as e:
                errors = e.as_errors()
            else:
                messages.success(request, "Plan saved.")
                return redirect("cases:detail", pk=case.pk)
    else:
        rows = [
            {
                "goal": g.title,
                "area": g.area,
                "action": a.description,
                "owner": a.owner,
                "due": a.due.isoformat(),
                "offer": a.offer.code if a.offer else "",
                "done": "1" if a.done else "",
            }
            for g in (existing.goals.prefetch_related("actions__offer") if existing else [])
            for a in g.actions.all()
        ]
    n = max(PLAN_ROWS, len(rows) + 3)
    ctx = {
        "case": case,
        "rows": rows + [{} for _ in range(n - len(rows))],
        "areas": questionnaire().areas,
        "offers": SupportOffer.objects.filter(active=True),
        "errors": errors,
        "plan": existing,
        "changes": existing.changes.select_related("by") if existing else [],
    }
    return render(request, "cases/plan.jinja", ctx, status=400 if errors else 200)


def agree(request: HttpRequest, pk: int) -> HttpResponse:
    case = case_of(request, pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        services.agree_plan(user_of(request), case)
    except DomainError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, "Plan agreed. The ICB team has been told.")
    return redirect("cases:detail", pk=case.pk)
