"""Cohort pages: the list (places, filled, waiting), a new cohort, a cohort, expressing interest, allocating, and a
place (accept, decline, withdraw, attendance). Each view parses its form, asks the policy, calls the service and
renders; refusals come back in the error summary with what was typed kept."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from apps.accounts.http import user_of
from apps.accounts.models import User
from apps.cohorts import pages, policy, services
from apps.cohorts.forms import CohortForm, InterestForm, PlaceForm
from apps.cohorts.models import Interest
from apps.core.errors import DomainError
from apps.core.forms import add_refusal, form_errors, typed


def _anchored(errors: dict[str, str], shown: set[str]) -> dict[str, str]:
    """Errors keyed by the fields the page shows; a message about one it does not show (the button's action, a box
    this user is not offered) goes to the summary unlinked (keyed ``""``)."""
    out: dict[str, str] = {}
    loose = [m for f, m in errors.items() if f not in shown]
    out.update({f: m for f, m in errors.items() if f in shown})
    return {"": " ".join(dict.fromkeys(loose)), **out} if loose else out


@policy.require(policy.can_see_cohorts)
def cohort_list(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    offer = pages.offer_asked(request.GET.get("offer", ""))
    ctx = {"rows": pages.listed(user, offer), "offer": offer, "can_create": policy.can_create_cohort(user)}
    return render(request, "cohorts/list.jinja", ctx)


@policy.require(policy.can_create_cohort)
def new_cohort(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    form = CohortForm(request.POST if request.method == "POST" else None, initial={"mode": "venue", "places": "20"})
    if request.method == "POST" and form.is_valid():
        try:
            cohort = services.create_cohort(user, form.as_input())
        except DomainError as e:
            for problem in getattr(e, "problems", [e]):
                add_refusal(form, problem)
        else:
            messages.success(request, "Cohort created: practices can now express interest.")
            return redirect("cohorts:detail", pk=cohort.pk)
    errors = form_errors(form) if form.is_bound else {}
    ctx = {"data": typed(form), "errors": errors, **pages.choices_for_new(user)}
    return render(request, "cohorts/new.jinja", ctx, status=400 if errors else 200)


@policy.require(policy.can_see_cohorts)
def cohort_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    cohort = policy.get_cohort_for(user, pk)
    return render(request, "cohorts/detail.jinja", pages.detail(user, cohort))


@policy.require(policy.can_see_cohorts)
def express(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    cohort = policy.get_cohort_for(user, pk)
    own = policy.own_practice_of(user)
    if own is None and not policy.practices_user_may_express_for(user).exists():
        raise PermissionDenied
    form = InterestForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        practice = own or policy.practices_user_may_express_for(user).filter(code=d["practice"].strip().upper()).first()
        try:
            if practice is None:
                raise services.CohortError("Give the ODS code of a practice in your ICB", "practice")
            services.express_interest(user, cohort, practice, d["attendee_name"], d["attendee_role"], d["hopes"])
        except DomainError as e:
            for problem in getattr(e, "problems", [e]):
                add_refusal(form, problem)
        else:
            messages.success(request, f"Interest expressed for {practice.display_name}.")
            return redirect("cohorts:detail", pk=cohort.pk)
    shown = {"attendee_name", "attendee_role", "hopes"} | (set() if own else {"practice"})
    errors = _anchored(form_errors(form) if form.is_bound else {}, shown)
    ctx = {"cohort": cohort, "own": own, "data": typed(form), "errors": errors, "roles": pages.role_items()}
    return render(request, "cohorts/interest.jinja", ctx, status=400 if errors else 200)


@policy.require(policy.can_see_cohorts)
def allocate(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    cohort = policy.get_cohort_for(user, pk)
    if not policy.runs_cohort(user, cohort):
        raise PermissionDenied
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            offered = services.allocate(user, cohort)
        except DomainError as e:
            errors = e.as_errors()
        else:
            messages.success(request, f"{len(offered)} place{'s' if len(offered) != 1 else ''} offered.")
            return redirect("cohorts:detail", pk=cohort.pk)
    ctx = {"cohort": cohort, "counts": pages.counts(cohort), "errors": errors}
    return render(request, "cohorts/allocate.jinja", ctx, status=400 if errors else 200)


def _interest_for(user: User, pk: int) -> Interest:
    """A place the user may see a row of; any other is not found (the national team sees no rows at all)."""
    cohorts = policy.cohorts_visible_to(user)
    interest = get_object_or_404(Interest.objects.select_related("cohort", "practice"), pk=pk, cohort__in=cohorts)
    if not policy.interests_visible_to(user, interest.cohort).filter(pk=interest.pk).exists():
        raise Http404("No such place")
    return interest


@policy.require(policy.can_see_cohorts)
def place(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    interest = _interest_for(user, pk)
    form = PlaceForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.take_step(
                user,
                interest,
                d["action"],
                reason=d.get("reason", ""),
                attended=d.get("attended", False),
                completed=d.get("completed", False),
            )
        except DomainError as e:
            add_refusal(form, e)
        else:
            messages.success(request, pages.DONE[d["action"]])
            return redirect("cohorts:place", pk=interest.pk)
    interest.refresh_from_db()
    ctx: dict[str, Any] = pages.place(user, interest)
    shown = {"reason"} if ctx["can_withdraw"] else set()
    shown |= {"attended", "completed"} if ctx["can_record"] else set()
    errors = _anchored(form_errors(form) if form.is_bound else {}, shown)
    ctx.update(data=typed(form), errors=errors)
    return render(request, "cohorts/place.jinja", ctx, status=400 if errors else 200)
