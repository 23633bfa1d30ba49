"""Outcome pages: a case's snapshots, survey, hours released and ratings; the programme's outcomes."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from apps.accounts.http import user_of
from apps.accounts.models import User
from apps.cases.models import Case, Package, PlanAction
from apps.core.paging import query_without
from apps.delivery import outcomes
from apps.delivery import policy as access
from apps.delivery.errors import DeliveryError
from apps.delivery.forms.outcomes import HoursReleasedForm, RatingForm, SnapshotForm, SurveyForm
from apps.delivery.models import SURVEY_QUESTIONS, Rag, SnapshotKind
from apps.delivery.views.common import page_errors, refuse

# The elements the case outcomes page shows for each form's fields (the snapshot's kind and the rating's package
# are hidden inputs; each package has its own rating form).
ON_PAGE = {
    "survey": ("kind", "comment", *SURVEY_QUESTIONS),
    "hours": ("plan_action", "clinical", "admin", "period_start", "period_end", "method"),
}


def case_outcomes(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    case = access.get_case_for(user, pk)
    can_record = access.can_record_outcomes(user, case)
    can_survey = access.can_answer_survey(user, case)
    errors: dict[str, str] = {}
    if request.method == "POST":
        action = request.POST.get("action", "")
        allowed = {
            "snapshot": can_record,
            "survey": can_survey,
            "hours": can_record or can_survey,
            "rag": access.can_rate_package(user, case),  # the ICB team's judgement, not the provider's
        }
        if not allowed.get(action):
            raise PermissionDenied
        form, done = _record(request, user, case, action)
        if done:
            return redirect("delivery:case_outcomes", pk=case.pk)
        errors = page_errors(form, _shown(case, action, can_record, can_survey))
    ctx = _context(user, case, can_record, can_survey)
    return render(request, "delivery/case_outcomes.jinja", {**ctx, "errors": errors}, status=400 if errors else 200)


def _shown(case: Case, action: str, can_record: bool, can_survey: bool) -> tuple[str, ...]:
    """The fields of ``action``'s form the page shows, so that an error links only to a box that is there."""
    if action == "survey" and can_survey and case.surveys.count() < len(SnapshotKind.values):
        return ON_PAGE["survey"]
    if action == "hours" and (can_record or can_survey) and PlanAction.objects.filter(goal__plan__case=case).exists():
        return ON_PAGE["hours"]
    return ()


def _record(request: HttpRequest, user: User, case: Case, action: str) -> tuple[forms.Form, bool]:
    """Read and carry out one of the page's forms; (the form, whether it was done)."""
    p = request.POST
    form: forms.Form
    try:
        if action == "snapshot":
            form = SnapshotForm(p)
            if not form.is_valid():
                return form, False
            outcomes.take_snapshot(user, case, form.cleaned_data["kind"])
            messages.success(request, "Follow-up taken.")
        elif action == "survey":
            form = SurveyForm(p)
            if not form.is_valid():
                return form, False
            outcomes.record_survey(user, case, form.cleaned_data["kind"], form.answers(), form.cleaned_data["comment"])
            messages.success(request, "Thank you: survey recorded.")
        elif action == "hours":
            form = HoursReleasedForm(p)
            if not form.is_valid():
                return form, False
            d = form.cleaned_data
            act = PlanAction.objects.filter(pk=d["plan_action"], goal__plan__case=case).first()
            if act is None:
                raise DeliveryError("Choose the action from the plan.", field="plan_action")
            outcomes.record_hours_released(
                user, case, act, d["clinical"], d["admin"], d["period_start"], d["period_end"], d["method"]
            )
            messages.success(request, "Hours released recorded.")
        else:
            form = RatingForm(p)
            if not form.is_valid():
                return form, False
            pkg = case.packages.filter(number=form.cleaned_data["package"]).first()
            if pkg is None:
                raise DeliveryError("Choose the package.", field="package")
            outcomes.rate_package(user, pkg, form.cleaned_data["rag"], form.cleaned_data["reason"])
            messages.success(request, "Rating recorded.")
    except DeliveryError as e:
        refuse(form, e)
        return form, False
    return form, True


def _context(user: User, case: Case, can_record: bool, can_survey: bool) -> dict[str, Any]:
    snaps = {s.kind: s for s in case.outcome_snapshots.select_related("taken_by")}
    keys = list(dict.fromkeys(k for s in snaps.values() for k in s.indicators if k in outcomes.INDICATOR_LABELS))
    due = {k: outcomes.due_on(case, k) for k in (SnapshotKind.MONTH_6, SnapshotKind.MONTH_12)}
    return {
        "case": case,
        "snaps": snaps,
        "kinds": SnapshotKind.choices,
        "indicator_rows": [
            (
                outcomes.INDICATOR_LABELS[k],
                [snaps[kind].indicators.get(k) if kind in snaps else None for kind in SnapshotKind.values],
            )
            for k in keys
        ],
        "due": due,
        "today": timezone.localdate(),
        "surveys": {s.kind: s for s in case.surveys.select_related("by")},
        "questions": SURVEY_QUESTIONS,
        "actions": PlanAction.objects.filter(goal__plan__case=case).select_related("goal"),
        "hours": case.hours_released.select_related("action", "by"),
        "packages": case.packages.filter(state=Package.State.APPROVED).prefetch_related("ratings__by"),
        "rags": Rag.choices,
        "can_record": can_record,
        "can_rate": access.can_rate_package(user, case),
        "can_survey": can_survey,
        "row": outcomes.case_outcomes([case])[0],
    }


@access.require(access.can_see_programme_outcomes)
def programme(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    national = not access.sees_case_rows(user)  # totals over every case, per ICB; no case listed
    cases = Case.objects.all() if national else access.cases_visible_to(user)
    result = outcomes.programme_outcomes(cases)
    # the totals cover every case; the list shows a page of them (an ICB supports hundreds over the years)
    ctx = {"o": result, "national": national, "query_no_page": query_without(request.GET, "page"),
           "by_icb": outcomes.outcomes_by_icb(cases) if national else [],
           "rows": [] if national else outcomes.supported_page(cases, request.GET.get("page"))}  # fmt: skip
    return render(request, "delivery/programme.jinja", ctx)
