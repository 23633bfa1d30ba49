"""Watch list, indicator definitions and back-test pages. Access through apps.indicators.policy only."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.module_loading import import_string

from apps.accounts.access import is_signed_in, require
from apps.core.exports import FORMATS, table_download
from apps.core.forms import form_errors, typed
from apps.indicators import services
from apps.indicators.forms import WatchDecisionForm
from apps.indicators.models import LocalRating, PracticeScore, ScoringRun, WatchChange, WatchEntry
from apps.indicators.policy import can_see_backtest, can_see_watch_list, can_see_watch_summary, own_watch_list_icb
from apps.practices.models import Practice
from apps.practices.policy import get_icb_for

SHOW = {"listed": "On the watch list", "all": "All practices", "removed": "Removed by the ICB"}

# The watch list shows each practice's open case and its state. Cases sit above indicators (a case reads the pressure
# score), so this page reaches the case lookup by name, in this one declared place, instead of by an import that
# would point upward; the lookup goes through the case chokepoint (only cases the user may see).
OPEN_CASES_LOOKUP = "apps.cases.lookups.open_cases_by_practice"


def watch_home(request: HttpRequest) -> HttpResponse:
    user = request.user
    own = own_watch_list_icb(user)
    if own is not None:
        return redirect("indicators:watch_list", code=own.code)
    if not can_see_watch_summary(user):  # type: ignore[arg-type]
        raise PermissionDenied
    run = services.current_run()
    rows = services.watch_summary(run)
    return render(request, "indicators/watch_summary.jinja", {"run": run, "rows": rows})


def watch_list(request: HttpRequest, code: str) -> HttpResponse:
    icb = get_icb_for(request.user, code)  # type: ignore[arg-type]
    if not can_see_watch_list(request.user, icb):  # type: ignore[arg-type]
        raise PermissionDenied
    run = services.run_for(request.GET.get("run"))
    show = request.GET.get("show", "listed")
    show = show if show in SHOW else "listed"
    flag = request.GET.get("flag", "")
    overdue_only = request.GET.get("overdue") == "1"
    rows = services.shown_watch_rows(icb, run, show=show, flag=flag, overdue_only=overdue_only)
    all_flags = services.flags_met_in(icb, run)
    services.load_explanations(rows)
    cases = import_string(OPEN_CASES_LOOKUP)(request.user, [r.practice.code for r in rows])  # type: ignore[arg-type]
    fmt = request.GET.get("download", "")
    if fmt in FORMATS:
        table = [
            (
                r.practice.code,
                r.practice.name,
                r.score.composite if r.score else None,
                r.score.rank if r.score else None,
                r.score.icb_rank if r.score else None,
                "; ".join(r.score.flags) if r.score else "",
                "; ".join(r.reasons),
                r.entry.get_status_display() if r.entry else ("On the list by score" if r.by_score else ""),
                r.entry.get_local_rating_display() if r.entry and r.entry.local_rating else "",
                r.review_due.isoformat() if r.review_due else None,
                cases[r.practice.code].ref if r.practice.code in cases else "",
                cases[r.practice.code].status_label if r.practice.code in cases else "",
            )
            for r in rows
        ]
        cols = [
            "ods_code",
            "name",
            "score",
            "national_rank",
            "icb_rank",
            "national_criteria_met",
            "reasons",
            "decision",
            "local_rating",
            "review_due",
            "open_case",
            "case_state",
        ]
        return table_download(table, cols, f"watch-list-{icb.code}", fmt)
    context = {
        "icb": icb,
        "run": run,
        "rows": rows,
        "cases": cases,
        "show": show,
        "shows": SHOW,
        "flag": flag,
        "flags": all_flags,
        "overdue_only": overdue_only,
        "query": request.GET.urlencode(),
    }
    return render(request, "indicators/watch_list.jinja", context)


ACTIONS = {
    "add": lambda u, p, d: services.add_to_watch_list(u, p, d["rationale"]),
    "remove": lambda u, p, d: services.remove_from_watch_list(u, p, d["rationale"]),
    "rate": lambda u, p, d: services.set_local_rating(u, p, d.get("rating", ""), d["rationale"]),
    "review": lambda u, p, d: services.record_review(u, p, d["rationale"]),
}


def watch_practice(request: HttpRequest, code: str, practice_code: str) -> HttpResponse:
    icb = get_icb_for(request.user, code)  # type: ignore[arg-type]
    if not can_see_watch_list(request.user, icb):  # type: ignore[arg-type]
        raise PermissionDenied
    practice = get_object_or_404(Practice.objects.select_related("pcn"), code=practice_code.upper(), icb=icb)
    errors: dict[str, str] = {}
    data: dict[str, Any] = {}
    if request.method == "POST":
        form = WatchDecisionForm(request.POST, actions=list(ACTIONS))
        data = {k: str(v).strip() for k, v in typed(form).items()}
        if not form.is_valid():
            errors = form_errors(form)
        else:
            try:
                ACTIONS[form.cleaned_data["action"]](request.user, practice, form.cleaned_data)
            except ValidationError as exc:
                errors["rationale" if "rationale" in exc.messages[0] else "action"] = exc.messages[0]
            else:
                messages.success(request, "Saved. The decision and your rationale are recorded in the history.")
                return redirect("indicators:watch_practice", code=icb.code, practice_code=practice.code)
    run = services.current_run()
    score = PracticeScore.objects.filter(run=run, practice=practice).first() if run else None
    entry = WatchEntry.objects.filter(icb=icb, practice=practice).first()
    history = WatchChange.objects.filter(entry=entry).select_related("by") if entry else []
    context = {
        "icb": icb,
        "p": practice,
        "run": run,
        "score": score,
        "entry": entry,
        "history": history,
        "by_score": bool(score and run and services.listed_by_score(score, run.practice_count)),
        "errors": errors,
        "data": data,
        "ratings": LocalRating.choices,
    }
    return render(request, "indicators/watch_practice.jinja", context, status=400 if errors else 200)


def indicator_list(request: HttpRequest) -> HttpResponse:
    from analytics.indicators.definition import load_definitions

    if not is_signed_in(request.user):
        raise PermissionDenied
    return render(request, "indicators/definitions.jinja", {"definitions": load_definitions()})


@require(can_see_backtest)
def run_list(request: HttpRequest) -> HttpResponse:
    """Every scoring run, newest first: as-of date, definitions fingerprint, data periods. Old runs stay readable."""
    return render(request, "indicators/runs.jinja", {"runs": ScoringRun.objects.all()})


@require(can_see_backtest)
def backtest_page(request: HttpRequest) -> HttpResponse:
    from apps.indicators.history_runs import walk_forward_table

    run = services.current_run()
    context = {"run": run, "bt": run.backtest if run else None, "wf": walk_forward_table()}
    return render(request, "indicators/backtest.jinja", context)
