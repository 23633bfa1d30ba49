"""Ways in: a practice asks for support; the ICB team, the LMC or the watch list nominates a practice."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from apps.accounts.http import user_of
from apps.cases import policy, services
from apps.cases import policy as access
from apps.cases.forms import NominationForm, ReferralForm, help_headings
from apps.cases.models import Case, Route, Urgency
from apps.core.errors import DomainError
from apps.core.forms import add_refusal, form_errors, typed


def _shown(form: ReferralForm) -> dict[str, Any]:
    """What the user typed, to show again (checkbox lists as lists)."""
    if not form.is_bound:
        return {"urgency": Urgency.ROUTINE, "tried": [], "help_wanted": [], **form.initial}
    shown = typed(form)
    return {**shown, "practice": str(shown.get("practice", "")).strip().upper()}


def _page(request: HttpRequest, template: str, form: ReferralForm, context: dict[str, Any]) -> HttpResponse:
    ctx = {
        **context,
        "data": _shown(form),
        "errors": form_errors(form) if form.is_bound else {},
        "tried_choices": services.TRIED_CHOICES,
        "headings": help_headings(),
        "urgencies": Urgency.choices,
    }
    return render(request, template, ctx, status=400 if ctx["errors"] else 200)


@access.require(access.can_self_refer)
def refer(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    practice = user.practice
    assert practice is not None
    form = ReferralForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            case, created = services.refer(user, practice, Route.SELF, form.referral())
        except DomainError as e:
            add_refusal(form, e)
        else:
            messages.success(
                request,
                f"Your request is in: {case.ref}. The ICB team will contact you within four weeks."
                if created
                else f"Added to your open case {case.ref}.",
            )
            return redirect("cases:detail", pk=case.pk)
    open_case = Case.objects.filter(practice=practice).open().first()
    return _page(request, "cases/refer.jinja", form, {"practice": practice, "open_case": open_case})


@access.require(access.can_nominate)
def nominate(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    practices = access.nominatable_practices(user)
    code = (request.GET.get("practice") or "").strip().upper()
    form = NominationForm(
        request.POST if request.method == "POST" else None, practices=practices, initial={"practice": code}
    )
    claimed = str(typed(form)["route"]).strip()  # read before validation: a refused form is shown with it
    route = policy.nomination_route(user, claimed, from_watch_list=request.GET.get("from") == "watch-list")
    if form.is_valid():
        practice = form.cleaned_data["practice"]
        try:
            case, created = services.refer(user, practice, route, form.referral())
        except DomainError as e:
            add_refusal(form, e)
        else:
            if policy.is_lmc(user):
                messages.success(request, f"Nomination sent. {practice.display_name} and the ICB team have been told.")
                return redirect("cases:queue")
            messages.success(request, f"{'Case opened' if created else 'Added to the open case'}: {case.ref}.")
            return redirect("cases:detail", pk=case.pk)
    shown = _shown(form)["practice"] or code
    practice = practices.filter(code=shown).first() if shown else None
    return _page(
        request, "cases/nominate.jinja", form, {"route": route, "practice": practice, "is_lmc": policy.is_lmc(user)}
    )
