"""National pages: the budget dashboard, programme set-up, allocation (preview → confirm), tranche releases."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from analytics import money
from analytics.menu.offers import load_menu
from apps.accounts.access import require
from apps.accounts.models import User
from apps.core.forms import form_errors, refusal
from apps.funding import reports, services
from apps.funding.charts import grouped_bars
from apps.funding.errors import FundingError
from apps.funding.forms import AllocationForm, ProgrammeForm, ReleaseForm, add_problems
from apps.funding.models import (
    AllocationBasis,
    Budget,
    Formula,
    FundingLine,
    LineAccess,
    MenuProgramme,
    Programme,
    Virement,
    VirementRule,
)
from apps.funding.policy import can_manage_funding, can_see_budgets, own_budget_icb
from apps.funding.programme_form import LINE_FIELDS, MAX_LINES, line_slots, menu_choices, template_data
from apps.funding.programme_templates import templates
from apps.funding.views.common import _fy, _short_region

# Dashboard ----------------------------------------------------------------------------------------------------


def dashboard(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if not can_see_budgets(user):
        raise PermissionDenied
    own = own_budget_icb(user)
    if own is not None:
        return redirect("funding:icb_budget", code=own.code)
    fy = _fy(request)
    rows = reports.budget_rows(Budget.objects.filter(fy=fy).select_related("line__programme", "icb__region"))
    regions = sorted(reports.by_group(rows, lambda r: r.budget.icb.region), key=lambda x: x[0].name if x[0] else "")
    icbs = sorted(
        reports.by_group(rows, lambda r: r.budget.icb),
        key=lambda x: (x[0].region.name if x[0].region else "", x[0].name),
    )
    months = reports.monthly(fy)
    context = {
        "fy": fy,
        "fy_label": money.fy_label(fy),
        "years": sorted(set(reports.financial_years()) | {fy}, reverse=True),
        "totals": reports.total(rows),
        "regions": regions,
        "icbs": icbs,
        "months": months,
        "region_chart": grouped_bars(
            [_short_region(r) for r, _ in regions],
            [
                ("Allocated", [t["allocated"] for _, t in regions]),
                ("Committed", [t["committed"] for _, t in regions]),
                ("Spent", [t["spent"] for _, t in regions]),
            ],
            f"Allocated, committed and spent by region, {money.fy_label(fy)}",
        ),
        "month_chart": grouped_bars(
            [f"{d:%b}" for d, _, _ in months],
            [("Committed", [c for _, c, _ in months]), ("Paid", [p for _, _, p in months])],
            f"Money committed and paid each month, {money.fy_label(fy)}",
        ),
        "programmes": Programme.objects.prefetch_related("lines"),
        "pending_virements": Virement.objects.filter(status=Virement.Status.REQUESTED).count(),
    }
    return render(request, "funding/dashboard.jinja", context)


# Programme set-up ---------------------------------------------------------------------------------------------


def _line_rows(data: Any, slots: int) -> list[dict[str, Any]]:
    """Each line slot's values as the page shows them (posted, or from a template); offers as a list."""
    many = data.getlist if hasattr(data, "getlist") else (lambda k: data.get(k) or [])
    rows = []
    for i in range(1, slots + 1):
        p = f"line{i}_"
        row = {name: data.get(p + name, "") for name in (*LINE_FIELDS, "access", "allocation_basis", "figures_source")}
        rows.append({"i": i, "p": p, **row, "offers": list(many(p + "offers"))})
    return rows


@require(can_manage_funding)
def programme_new(request: HttpRequest) -> HttpResponse:
    """Set up a programme with any number of lines, from a template (``?template=gprp``) or from scratch. "Add
    another line" posts the page back with one more empty line; nothing is saved until "Set up programme"."""
    if request.method == "POST":
        adding = request.POST.get("action") == "add_line"
        data: Any = request.POST
        slots = line_slots(request.POST, add=adding)
    else:
        key = request.GET.get("template", "")
        data = template_data(key) if key in templates() else {"menu": "GPRP", "virement_rule": VirementRule.ANY}
        slots = max(1, sum(1 for k in data if k.endswith("_code") and k.startswith("line")))
        adding = False
    context = {
        "data": data,
        "lines": _line_rows(data, slots),
        "menus": MenuProgramme.choices,
        "offers": menu_choices(),
        "accesses": LineAccess.choices,
        "bases": AllocationBasis.choices,
        "rules": VirementRule.choices,
        "templates": templates(),
        "template": templates().get(data.get("template", "")),
        "max_lines": MAX_LINES,
    }
    if request.method != "POST" or adding:
        return render(request, "funding/programme_new.jinja", {**context, "errors": {}})
    form = ProgrammeForm(request.POST, slots=slots)
    if form.is_valid():
        c = form.cleaned_data
        try:
            programme = services.create_programme(
                user=request.user,  # type: ignore[arg-type]
                code=c["code"],
                name=c["name"],
                description=c["description"],
                menu=c["menu"],
                lines=c["lines"],
                virement_rule=c["virement_rule"],
                template=c["template"],
            )
        except FundingError as e:
            add_problems(form, e)
        else:
            messages.success(request, f"Programme {programme.code} set up: allocate its money to ICBs next.")
            return redirect("funding:programme", code=programme.code)
    return refusal(request, "funding/programme_new.jinja", context, form_errors(form))


@require(can_manage_funding)
def programme_detail(request: HttpRequest, code: str) -> HttpResponse:
    programme = get_object_or_404(Programme, code=code.upper())
    lines = []
    titles = {o.code: o.title for o in load_menu()}
    for line in programme.lines.prefetch_related("years"):
        years = [
            {
                "year": y,
                "allocated": services.allocated_pence(line, y.fy),
                "released": services.released_pence(line, y.fy),
            }
            for y in line.years.all()
        ]
        lines.append({"line": line, "years": years, "offers": [titles.get(c, c) for c in line.offer_codes]})
    context = {
        "programme": programme,
        "lines": lines,
        "allocation_list": [a for line in programme.lines.all() for a in line.allocations.select_related("created_by")],
        "release_list": [r for line in programme.lines.all() for r in line.releases.select_related("released_by")],
    }
    return render(request, "funding/programme_detail.jinja", context)


def _line(code: str, line_code: str) -> FundingLine:
    return get_object_or_404(
        FundingLine.objects.select_related("programme"), programme__code=code.upper(), code=line_code.lower()
    )


@require(can_manage_funding)
def allocate(request: HttpRequest, code: str, line_code: str) -> HttpResponse:
    """Choose a year, an amount and a formula → preview the split → confirm it (the preview's fingerprint must
    still match, so what is confirmed is exactly what was seen)."""
    line = _line(code, line_code)
    years = list(line.years.all())
    free = {y.fy: y.amount_pence - services.allocated_pence(line, y.fy) for y in years}
    default_fy = next((y.fy for y in years if free[y.fy] > 0), years[0].fy if years else 0)
    source = request.POST if request.method == "POST" else request.GET
    data = {"fy": str(default_fy), "amount": "", "formula": Formula.WEIGHTED_PATIENTS, "shares": "", **source.dict()}
    context: dict[str, Any] = {"line": line, "years": years, "free": free, "data": data, "formulas": Formula.choices}
    if request.method != "POST":
        return render(request, "funding/allocate.jinja", {**context, "errors": {}, "preview": None})
    form = AllocationForm(request.POST, years=years, free=free)
    preview = None
    if form.is_valid():
        c = form.cleaned_data
        split = {"line": line, "fy": c["fy"], "amount_pence": c["amount"], "formula": c["formula"]}
        try:
            preview = services.preview_allocation(**split, shares=c["shares_parsed"])
            if c["action"] == "confirm":
                services.confirm_allocation(
                    user=request.user,  # type: ignore[arg-type]
                    **split,
                    shares=c["shares_parsed"],
                    fingerprint=c["fingerprint"],
                )
                messages.success(
                    request,
                    f"Allocated {services.pounds(c['amount'])} of {line.name} {money.fy_label(c['fy'])} to ICBs. "
                    f"Release a tranche so ICBs can commit it.",
                )
                return redirect("funding:programme", code=line.programme.code)
        except FundingError as e:
            add_problems(form, e)
    context["preview"] = preview
    if form.errors:
        return refusal(request, "funding/allocate.jinja", context, form_errors(form))
    return render(request, "funding/allocate.jinja", {**context, "errors": {}})


@require(can_manage_funding)
def release(request: HttpRequest, code: str, line_code: str) -> HttpResponse:
    line = _line(code, line_code)
    years = list(line.years.all())
    status = {
        y.fy: {
            "allocated": services.allocated_pence(line, y.fy),
            "released": services.released_pence(line, y.fy),
            "profiled": y.amount_pence,
        }
        for y in years
    }
    form = ReleaseForm(request.POST if request.method == "POST" else None, years=years)
    context = {
        "line": line,
        "years": years,
        "status": status,
        "data": {"fy": "", "amount": "", "note": "", **form.data.dict()} if form.is_bound else {},
    }
    if not form.is_bound:
        return render(request, "funding/release.jinja", {**context, "errors": {}})
    if form.is_valid():
        c = form.cleaned_data
        try:
            r = services.release_tranche(
                user=request.user,  # type: ignore[arg-type]
                line=line,
                fy=c["fy"],
                amount_pence=c["amount"],
                note=c["note"],
            )
        except FundingError as e:
            add_problems(form, e)
        else:
            messages.success(
                request,
                f"Released {services.pounds(r.amount_pence)} of {line.name} {money.fy_label(c['fy'])} to the ICBs.",
            )
            return redirect("funding:programme", code=line.programme.code)
    return refusal(request, "funding/release.jinja", context, form_errors(form))
