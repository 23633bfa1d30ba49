"""National pages: the budget dashboard, programme set-up, allocation (preview → confirm), tranche releases."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from analytics import money
from apps.accounts.access import require
from apps.accounts.models import User
from apps.core.formdata import posted_whole
from apps.funding import reports, services
from apps.funding.charts import grouped_bars
from apps.funding.models import (
    Budget,
    Formula,
    FundingLine,
    MenuProgramme,
    Programme,
    Virement,
)
from apps.funding.policy import can_manage_funding, can_see_budgets, own_budget_icb
from apps.funding.views.common import _errors, _fy, _short_region

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

LINE_SLOTS = 3


def parse_profile(text: str, where: str) -> dict[int, int]:
    """'2016-17: 16,000,000' per line → {2016: 1_600_000_000}."""
    years: dict[int, int] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if ":" not in line:
            raise ValidationError(
                f"{where}, profile line {n}: write the year and the amount, like '2026-27: 8,500,000'"
            )
        label, amount = (p.strip() for p in line.split(":", 1))
        start = label.split("-")[0].split("/")[0]
        if not (start.isascii() and start.isdigit() and len(start) == 4):  # "²⁰²⁶" passes isdigit, not int()
            raise ValidationError(f"{where}, profile line {n}: {label} is not a financial year like 2026-27")
        fy = int(start)
        if fy in years:
            raise ValidationError(f"{where}: {money.fy_label(fy)} is given twice")
        years[fy] = services.parse_pounds(amount, f"{where}, {money.fy_label(fy)} amount")
    return years


@require(can_manage_funding)
def programme_new(request: HttpRequest) -> HttpResponse:
    errors: list[str] = []
    data: dict[str, Any] = {"menu": "GPRP"}
    if request.method == "POST":
        data = {k: v.strip() for k, v in request.POST.items() if k != "csrfmiddlewaretoken"}
        specs = []
        for i in range(1, LINE_SLOTS + 1):
            keys = ("code", "name", "cost_centre", "ledger_code", "profile", "total")
            fields = [data.get(f"line{i}_{f}", "") for f in keys]
            if not any(fields):
                continue
            years: dict[int, int] = {}
            total = None
            try:
                years = parse_profile(fields[4], f"Line {i}")
                total = services.parse_pounds(fields[5], f"Line {i} total") if fields[5] else None
            except ValidationError as e:
                errors += _errors(e)
            specs.append(services.LineSpec(*fields[:4], years=years, total_pence=total))
        if not errors:
            try:
                programme = services.create_programme(
                    user=request.user,  # type: ignore[arg-type]
                    code=data.get("code", ""),
                    name=data.get("name", ""),
                    description=data.get("description", ""),
                    menu=data.get("menu", ""),
                    lines=specs,
                )
            except ValidationError as e:
                errors += _errors(e)
            else:
                messages.success(request, f"Programme {programme.code} set up: allocate its money to ICBs next.")
                return redirect("funding:programme", code=programme.code)
    context = {"errors": errors, "data": data, "slots": range(1, LINE_SLOTS + 1), "menus": MenuProgramme.choices}
    return render(request, "funding/programme_new.jinja", context, status=400 if errors else 200)


@require(can_manage_funding)
def programme_detail(request: HttpRequest, code: str) -> HttpResponse:
    programme = get_object_or_404(Programme, code=code.upper())
    lines = []
    for line in programme.lines.prefetch_related("years"):
        years = [
            {
                "year": y,
                "allocated": services.allocated_pence(line, y.fy),
                "released": services.released_pence(line, y.fy),
            }
            for y in line.years.all()
        ]
        lines.append({"line": line, "years": years})
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
    errors: list[str] = []
    preview = None
    source = request.POST if request.method == "POST" else request.GET
    default_fy = next((y.fy for y in years if free[y.fy] > 0), years[0].fy if years else 0)
    data = {
        "fy": source.get("fy", str(default_fy)),
        "amount": source.get("amount", ""),
        "formula": source.get("formula", Formula.WEIGHTED_PATIENTS),
        "shares": source.get("shares", ""),
    }
    if request.method == "POST":
        try:
            fy = posted_whole(data["fy"]) or 0  # "²" passes str.isdigit, then int() fails
            if fy not in free:
                raise ValidationError("Choose one of the line's financial years")
            amount = services.parse_pounds(data["amount"]) if data["amount"] else free[fy]
            shares = services.parse_shares(data["shares"]) if data["formula"] == Formula.FIXED_SHARES else None
            preview = services.preview_allocation(
                line=line, fy=fy, amount_pence=amount, formula=data["formula"], shares=shares
            )
            if request.POST.get("action") == "confirm":
                services.confirm_allocation(
                    user=request.user,  # type: ignore[arg-type]
                    line=line,
                    fy=fy,
                    amount_pence=amount,
                    formula=data["formula"],
                    shares=shares,
                    fingerprint=request.POST.get("fingerprint", ""),
                )
                messages.success(
                    request,
                    f"Allocated {services.pounds(amount)} of {line.name} {money.fy_label(fy)} to ICBs. "
                    f"Release a tranche so ICBs can commit it.",
                )
                return redirect("funding:programme", code=line.programme.code)
        except ValidationError as e:
            errors = _errors(e)
    context = {
        "line": line,
        "years": years,
        "free": free,
        "data": data,
        "errors": errors,
        "preview": preview,
        "formulas": Formula.choices,
    }
    return render(request, "funding/allocate.jinja", context, status=400 if errors else 200)


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
    errors: list[str] = []
    data = {
        "fy": request.POST.get("fy", ""),
        "amount": request.POST.get("amount", ""),
        "note": request.POST.get("note", ""),
    }
    if request.method == "POST":
        try:
            fy = posted_whole(data["fy"]) or 0  # "²" passes str.isdigit, then int() fails
            if fy not in status:
                raise ValidationError("Choose one of the line's financial years")
            r = services.release_tranche(
                user=request.user,  # type: ignore[arg-type]
                line=line,
                fy=fy,
                amount_pence=services.parse_pounds(data["amount"]),
                note=data["note"],
            )
        except ValidationError as e:
            errors = _errors(e)
        else:
            messages.success(
                request, f"Released {services.pounds(r.amount_pence)} of {line.name} {money.fy_label(fy)} to the ICBs."
            )
            return redirect("funding:programme", code=line.programme.code)
    context = {"line": line, "years": years, "status": status, "data": data, "errors": errors}
    return render(request, "funding/release.jinja", context, status=400 if errors else 200)
