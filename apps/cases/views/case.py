"""The case page and its small steps: triage, a status change, a note, the provider, the health check."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone

from apps.accounts.http import user_of
from apps.cases import clocks, lifecycle, policy, services
from apps.cases import policy as access
from apps.cases.config import questionnaire, triage_levels
from apps.cases.forms import HealthCheckForm, MoveForm, NoteForm, ProviderForm, TriageForm
from apps.cases.models import ENDED, ActionPlan, Case, HealthCheck, PackagePractice, Status
from apps.core.errors import DomainError
from apps.core.forms import add_refusal, form_errors, typed


def case_of(request: HttpRequest, pk: int) -> Case:
    """The case if the user may see it; 404 otherwise (its existence is not revealed)."""
    return access.get_case_for(user_of(request), pk)


def detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    case = case_of(request, pk)
    notes = case.notes.select_related("author")
    if not access.can_read_confidential_notes(user, case):
        notes = notes.filter(practice_confidential=False)
    plan = ActionPlan.objects.filter(case=case).prefetch_related("goals__actions__offer").first()
    packages = case.packages.prefetch_related(
        "lines__offer", Prefetch("practices", queryset=PackagePractice.objects.select_related("practice"))
    )
    hc = HealthCheck.objects.filter(case=case, submitted_at__isnull=False).order_by("-submitted_at").first()
    ctx = {
        "case": case,
        "referrals": case.referrals.select_related("made_by"),
        "events": case.events.select_related("by").order_by("-at", "-pk"),
        "notes": notes,
        "plan": plan,
        "packages": packages,
        "health_check": hc,
        "benchmark": services.benchmark(hc) if hc else {},
        "areas": {a.id: a.title for a in questionnaire().areas},
        "moves": lifecycle.moves_for(case.status, user.role),
        "can_run": access.can_run_case(user, case),
        "can_edit_plan": access.can_edit_plan(user, case),
        "is_practice": policy.is_practice_login(user),
        "can_confidential": access.can_read_confidential_notes(user, case),
        "overdue": case.overdue_reasons(),
        "clock": clocks.clock_for(case),
        "tried_choices": services.TRIED_CHOICES,
        "providers": policy.provider_accounts().order_by("organisation", "username"),
        "stages": [s for s in Status if s not in ENDED],
        "reopen_until": services.reopen_until(case) if access.can_run_case(user, case) else None,
        # who delivers is assigned per package line (delivery); the case's lead provider is derived from it
        "lead_from_lines": case.delivery_assignments.filter(ended_at__isnull=True).exists(),  # type: ignore[attr-defined]
        "today": timezone.localdate(),
    }
    return render(request, "cases/detail.jinja", ctx)


def triage(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    case = case_of(request, pk)
    if not access.can_run_case(user, case):
        raise PermissionDenied
    initial = {"scope": case.triage_scope, "impact": case.triage_impact}
    form = TriageForm(request.POST if request.method == "POST" else None, initial=initial)
    if form.is_valid():
        d = form.cleaned_data
        try:
            services.triage(user, case, d["scope"], d["impact"], d["rationale"])
        except DomainError as e:
            add_refusal(form, e)
        else:
            messages.success(request, "Triage recorded.")
            return redirect("cases:detail", pk=case.pk)
    scopes, impacts = triage_levels()
    shown = {k: str(v).strip() for k, v in typed(form).items()}
    errors = form_errors(form) if form.is_bound else {}
    ctx = {
        "case": case,
        "scopes": scopes,
        "impacts": impacts,
        "data": shown,
        "errors": errors,
        "history": case.triages.select_related("by"),
    }
    return render(request, "cases/triage.jinja", ctx, status=400 if errors else 200)


def move(request: HttpRequest, pk: int, target: str) -> HttpResponse:
    user = user_of(request)
    case = case_of(request, pk)
    if target not in Status.values:
        raise Http404
    t = lifecycle.find(case.status, target)
    if t is None or t.via or not policy.plays_one_of(user, t.roles):
        raise PermissionDenied
    form = MoveForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            if target == Status.CLOSED:  # closing takes its reason from the list as well as the team's words
                services.close_case(user, case, form.cleaned_data["why"], form.cleaned_data["reason"])
            else:
                services.change_status(user, case, target, form.cleaned_data["reason"])
        except DomainError as e:
            add_refusal(form, e)
        else:
            messages.success(request, f"{case.ref} is now {Status(target).label.lower()}.")
            return redirect("cases:detail", pk=case.pk)
    errors = form_errors(form) if form.is_bound else {}
    if "" in errors:  # a refusal not about the reason (the case moved on meanwhile) is still shown at the reason box
        errors["reason"] = errors.pop("")
    shown = typed(form)
    ctx = {"case": case, "t": t, "reason": str(shown["reason"]).strip(), "why": shown["why"], "errors": errors}
    ctx["close_reasons"] = lifecycle.CLOSE_REASONS
    return render(request, "cases/move.jinja", ctx, status=400 if errors else 200)


def add_note(request: HttpRequest, pk: int) -> HttpResponse:
    case = case_of(request, pk)  # access first: a case the user cannot see is 404 whatever the method
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form_errors(form).values()))  # the note box is on the case page
        return redirect("cases:detail", pk=case.pk)
    try:
        services.add_note(user_of(request), case, form.cleaned_data["text"], form.cleaned_data["confidential"])
    except DomainError as e:
        messages.error(request, e.message)  # the note box is on the case page: the refusal is shown there
    else:
        messages.success(request, "Note added.")
    return redirect("cases:detail", pk=case.pk)


def assign(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    case = case_of(request, pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not access.can_run_case(user, case):
        raise PermissionDenied
    form = ProviderForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form_errors(form).values()))  # the choice is on the case page
        return redirect("cases:detail", pk=case.pk)
    provider = form.cleaned_data["provider"]
    try:
        services.assign_provider(user, case, provider)
    except DomainError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, f"Assigned to {provider.organisation or provider.username}.")
    return redirect("cases:detail", pk=case.pk)


def health_check(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    case = case_of(request, pk)
    if not (policy.is_the_practice(user, case) or access.can_run_case(user, case)):
        raise PermissionDenied
    q = questionnaire()
    draft = HealthCheck.objects.filter(case=case, submitted_at__isnull=True).first()
    answers: dict[str, Any] = dict(draft.answers) if draft else {}
    form = HealthCheckForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            services.save_health_check(user, case, form.answers(), submit=form.submitting)
        except DomainError as e:
            add_refusal(form, e)
        else:
            submitted = form.submitting
            messages.success(
                request, "Health check submitted." if submitted else "Answers saved; you can finish later."
            )
            return redirect("cases:detail" if submitted else "cases:health_check", pk=case.pk)
    if form.is_bound:
        shown = typed(form)
        answers = {qid: shown[qid] for qid in q.questions}
    errors = form_errors(form) if form.is_bound else {}
    answers = {k: str(v) for k, v in answers.items() if v not in ("", None)}
    ctx = {"case": case, "q": q, "answers": answers, "errors": errors}
    return render(request, "cases/health_check.jinja", ctx, status=400 if errors else 200)
