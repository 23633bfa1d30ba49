"""Targeting pages: closure dispersal per practice, ICB ripple ranking with group suggestions, optimiser scenarios.
Thin adapters: access through the policy modules, work in apps.targeting.services and analytics.targeting."""

from __future__ import annotations

import math
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from analytics.targeting.dispersal import DispersalParams, default_thresholds
from apps.accounts.http import user_of
from apps.core.exports import FORMATS, table_download
from apps.core.forms import form_errors, typed
from apps.practices.models import Practice
from apps.practices.policy import get_icb_for, get_practice_for
from apps.targeting import scenarios, services
from apps.targeting.forms import ScenarioForm
from apps.targeting.lines import default_line_budgets
from apps.targeting.maps import dispersal_map
from apps.targeting.models import Scenario
from apps.targeting.policy import (
    can_run_scenarios,
    can_see_scenario_practices,
    can_see_targeting,
    can_simulate_closure,
    get_scenario_for,
    ripple_home_icb,
    scenario_scope_for,
    scenarios_visible_to,
)

DEFAULTS = DispersalParams()
PARAM_FIELDS = {
    # form field: (label, default text, hint)
    "max_distance_km": ("Maximum distance (km)", f"{DEFAULTS.max_distance_km:g}", "Neighbours further away take none"),
    "cap_percent": (
        "Cap per neighbour (% of its list)",
        f"{DEFAULTS.cap_share * 100:g}",
        "What commissioners would ask one practice to absorb at most",
    ),
    "decay_scale_km": (
        "Distance-decay scale (km)",
        f"{DEFAULTS.decay_scale_km:g}",
        "Weight falls as (1 + d/scale)^-exponent",
    ),
    "decay_exponent": ("Distance-decay exponent", f"{DEFAULTS.decay_exponent:g}", "0 = distance does not matter"),
    "gp_threshold": (
        "Threshold: patients per GP FTE",
        f"{DEFAULTS.thresholds.gp:g}" if DEFAULTS.thresholds.gp is not None else "",
        "From the indicator definition; leave empty not to check",
    ),
    "clinical_threshold": (
        "Threshold: patients per clinical FTE",
        f"{DEFAULTS.thresholds.clinical:g}" if DEFAULTS.thresholds.clinical is not None else "",
        "The indicator has no national threshold; set one to check it",
    ),
}


def home(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    own = ripple_home_icb(user)
    if own is not None:
        return redirect("targeting:icb_ripple", code=own.code)
    if not can_run_scenarios(user):
        raise PermissionDenied
    return redirect("targeting:scenarios")


def icb_ripple(request: HttpRequest, code: str) -> HttpResponse:
    icb = get_icb_for(user_of(request), code)
    if not can_see_targeting(user_of(request), icb):
        raise PermissionDenied
    run = services.current_run()
    rows = services.ripple_rows(icb, run)
    chosen = request.GET.get("practice", "").strip().upper()
    package, package_error, chosen_practice = None, "", None
    if chosen:
        chosen_practice = Practice.objects.filter(code=chosen, icb=icb).first()
        if chosen_practice is None:
            package_error = "Choose a practice of this ICB"
        else:
            try:
                package = services.suggest_group_package(chosen_practice.code)
            except ValidationError as exc:
                package_error = exc.messages[0]
    fmt = request.GET.get("download", "")
    if fmt in FORMATS:
        table = [
            (r.practice.code, r.practice.name, r.icb_rank, r.ripple_score, r.crossing_neighbours, r.patients_at_risk,
             r.unabsorbed, r.list_size, r.neighbours)
            for r in rows
        ]  # fmt: skip
        cols = ["ods_code", "name", "icb_rank", "ripple_score", "neighbours_over_threshold", "patients_at_risk",
                "unabsorbed", "list_size", "neighbours_within_reach"]  # fmt: skip
        return table_download(table, cols, f"ripple-{icb.code}", fmt)
    context = {
        "icb": icb,
        "run": run,
        "rows": rows,
        "chosen": chosen,
        "chosen_practice": chosen_practice,
        "package": package,
        "package_error": package_error,
        "params": DEFAULTS,
    }
    return render(request, "targeting/ripple.jinja", context, status=400 if package_error else 200)


def _params_from(query: Any) -> tuple[DispersalParams, dict[str, str], dict[str, str]]:
    """Dispersal parameters from the form (defaults where a field is absent), errors by field, and the texts."""
    texts = {f: query.get(f, default).strip() for f, (_, default, _) in PARAM_FIELDS.items()}
    errors: dict[str, str] = {}
    values: dict[str, float | None] = {}
    for field, text in texts.items():
        if text == "" and field in ("gp_threshold", "clinical_threshold"):
            values[field] = None
            continue
        try:
            values[field] = float(text.replace(",", ""))
        except ValueError:
            errors[field] = f"Enter {PARAM_FIELDS[field][0].lower()} as a number"
            values[field] = math.nan
    params = DispersalParams(
        max_distance_km=values["max_distance_km"] or math.nan,
        max_neighbours=DEFAULTS.max_neighbours,
        decay_scale_km=values["decay_scale_km"] if values["decay_scale_km"] is not None else math.nan,
        decay_exponent=values["decay_exponent"] if values["decay_exponent"] is not None else math.nan,
        cap_share=(values["cap_percent"] or math.nan) / 100,
        headroom_floor_share=DEFAULTS.headroom_floor_share,
    ).with_thresholds(values["gp_threshold"], values["clinical_threshold"])
    field_of = {"cap_share": "cap_percent"}
    for name, msg in params.problems().items():
        errors.setdefault(field_of.get(name, name), msg)
    return params, errors, texts


def practice_dispersal(request: HttpRequest, code: str) -> HttpResponse:
    practice = get_practice_for(user_of(request), code)
    if not can_simulate_closure(user_of(request), practice):
        raise PermissionDenied
    params, errors, texts = _params_from(request.GET)
    dispersal, simulate_error, svg = None, "", None
    if not errors:
        try:
            dispersal = services.simulate_closure(practice, params)
        except ValidationError as exc:
            simulate_error = exc.messages[0]
        else:
            svg = dispersal_map(services.dispersal_model(params).table, dispersal)
    fmt = request.GET.get("download", "")
    if dispersal is not None and fmt in FORMATS:
        table = [
            (n.code, n.name, round(n.km, 2), round(n.received), round(n.new_list), n.gp_before, n.gp_after,
             n.clinical_after, n.crosses_gp, n.crosses_clinical, n.at_cap)
            for n in dispersal.neighbours
        ]  # fmt: skip
        cols = ["ods_code", "name", "distance_km", "patients_received", "new_list", "patients_per_gp_fte_before",
                "patients_per_gp_fte_after", "patients_per_clinical_fte_after", "crosses_gp_threshold",
                "crosses_clinical_threshold", "at_cap"]  # fmt: skip
        return table_download(table, cols, f"dispersal-{practice.code}", fmt)
    context = {
        "p": practice,
        "d": dispersal,
        "svg": svg,
        "errors": errors,
        "texts": texts,
        "fields": PARAM_FIELDS,
        "simulate_error": simulate_error,
        "thresholds": default_thresholds(),
        "query": request.GET.urlencode(),
    }
    return render(request, "targeting/dispersal.jinja", context, status=400 if errors else 200)


# A scenario being worked out in the background: its page reloads itself this often (a meta refresh, so it works
# without JavaScript) and has a link to reload it by hand.
REFRESH_SECONDS = 2


def scenario_list(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if not can_run_scenarios(user):
        raise PermissionDenied
    scope = scenario_scope_for(user)
    initial = {
        "scope": scope,
        "practice_cap": "25000",
        "floor": "50",
        "line_budgets": default_line_budgets(user.icb if scope == Scenario.Scope.ICB else None),
    }
    form = ScenarioForm(request.POST if request.method == "POST" else None, user=user, initial=initial)
    if form.is_valid():
        try:
            scenario = scenarios.queue_checked(user, form.cleaned_data["scenario"])
        except ValidationError as exc:
            form.add_error("budget", exc.messages[0])
        else:
            messages.success(request, "Scenario saved. It is being worked out: this page shows the result.")
            return redirect("targeting:scenario", ref=scenario.ref)
    errors = form_errors(form)
    context = {
        "scenarios": scenarios_visible_to(user).select_related("created_by", "icb")[:50],
        "errors": errors,
        "data": typed(form),
        "is_icb": scenario_scope_for(user) == Scenario.Scope.ICB,
        "user_icb": user.icb,
    }
    return render(request, "targeting/scenarios.jinja", context, status=400 if errors else 200)


def scenario_detail(request: HttpRequest, ref: str) -> HttpResponse:
    user = user_of(request)
    scenario = get_scenario_for(user, ref)
    show_practices = can_see_scenario_practices(user, scenario)
    fmt = request.GET.get("download", "")
    if fmt in FORMATS and scenario.state == Scenario.State.DONE:
        if show_practices:
            table = [
                (r["code"], r["name"], r["need"], r["pressure"], r["ripple_neighbours"], "; ".join(r["offers"]),
                 r["cost_pence"] / 100, r["hours"], r["risk_reduction"], r["benefit"], r["reason"],
                 r.get("patients", ""), "; ".join(r.get("why", ())))
                for r in scenario.practice_results
            ]  # fmt: skip
            cols = ["ods_code", "name", "need", "pressure", "neighbours_over_threshold", "packages", "cost_pounds",
                    "coach_hours", "combined_risk_reduction", "patients_protected", "reason", "registered_patients",
                    "why"]  # fmt: skip
        else:
            table = [
                (r["icb_code"], r["budget_pence"] / 100, r["spend_pence"] / 100, r["hours"], r["practices"],
                 r["funded"], r["benefit"], r["budget_binding"], r["greedy_spend_pence"] / 100, r["greedy_benefit"])
                for r in scenario.icb_results
            ]  # fmt: skip
            cols = ["icb_code", "budget_pounds", "spend_pounds", "coach_hours", "practices", "practices_funded",
                    "patients_protected", "budget_binding", "greedy_spend_pounds",
                    "greedy_patients_protected"]  # fmt: skip
        return table_download(table, cols, f"scenario-{scenario.ref}", fmt)
    show = request.GET.get("show", "funded")
    rows = scenario.practice_results if show == "all" else scenario.funded_results
    context = {
        "s": scenario,
        "refresh_seconds": REFRESH_SECONDS if scenario.pending else None,
        "show_practices": show_practices,
        "rows": rows if show_practices else [],
        "show": show,
        "variants": list(scenario.variants.all()) if scenario.pk else [],
        "places": scenarios.places_by_offer(scenario),
    }
    return render(request, "targeting/scenario.jinja", context)


def scenario_variants(request: HttpRequest, ref: str) -> HttpResponse:
    user = user_of(request)
    scenario = get_scenario_for(user, ref)
    if request.method == "POST":
        variants = scenarios.create_variants(user, scenario)
        query = "&".join(f"s={v.ref}" for v in [scenario, *variants])
        messages.success(
            request,
            "Four variant scenarios saved: budget and coach hours each 20% lower and higher. They are being worked "
            "out: this page fills in as each is ready.",
        )
        return redirect(f"{reverse('targeting:compare')}?{query}")
    return render(request, "targeting/variants.jinja", {"s": scenario})


def scenario_compare(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if not can_run_scenarios(user):
        raise PermissionDenied
    refs = [r for r in request.GET.getlist("s") if r][:5]
    visible = scenarios_visible_to(user)
    chosen = [get_object_or_404(visible, ref=r) for r in refs]
    context = {
        "chosen": chosen,
        "refresh_seconds": REFRESH_SECONDS if any(c.pending for c in chosen) else None,
        "rows": scenarios.compare_rows(chosen) if chosen else [],
        "available": visible.select_related("created_by")[:50],
        "refs": refs,
    }
    return render(request, "targeting/compare.jinja", context)
