"""Money pages. Thin: access through apps.accounts.access, rules in services, figures from reports."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from analytics import money
from apps.accounts.access import (
    budget_icbs_visible_to,
    can_act_on_budget,
    can_manage_funding,
    can_see_budgets,
    can_see_practice_money,
    get_budget_icb_for,
    require,
)
from apps.accounts.models import Role, User
from apps.core.exports import FORMATS, table_download
from apps.funding import reports, services
from apps.funding.charts import grouped_bars
from apps.funding.models import (
    Budget,
    Commitment,
    Formula,
    FundingLine,
    LedgerEntry,
    MenuProgramme,
    Payment,
    Programme,
    Virement,
)
from apps.practices.models import ICB, Region


def _errors(exc: ValidationError) -> list[str]:
    return list(exc.messages)


def _fy(request: HttpRequest) -> int:
    raw = request.GET.get("fy", "")
    return int(raw) if raw.isdigit() and 2000 <= int(raw) <= 2100 else money.financial_year_of(timezone.localdate())


def _short_region(region: Region | None) -> str:
    if region is None:
        return "No region"
    words = region.name.replace(" and ", " & ").split()
    return "".join(w[0] for w in words if w[0].isupper()) if len(words) > 2 else region.name


# Dashboard ----------------------------------------------------------------------------------------------------


def dashboard(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if not can_see_budgets(user):
        raise PermissionDenied
    if user.role == Role.ICB and user.icb is not None:
        return redirect("funding:icb_budget", code=user.icb.code)
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
        "flagged": sum(r.flagged for r in rows),
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
        if not (start.isdigit() and len(start) == 4):
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
            fields = [data.get(f"line{i}_{f}", "") for f in ("code", "name", "cost_centre", "ledger_code", "profile")]
            if not any(fields):
                continue
            try:
                years = parse_profile(fields[4], f"Line {i}")
            except ValidationError as e:
                errors += _errors(e)
                years = {}
            specs.append(services.LineSpec(*fields[:4], years=years))
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
            fy = int(data["fy"]) if data["fy"].isdigit() else 0
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
            fy = int(data["fy"]) if data["fy"].isdigit() else 0
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


# ICB budget ---------------------------------------------------------------------------------------------------


def icb_budget(request: HttpRequest, code: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    icb = get_budget_icb_for(user, code)
    fy = _fy(request)
    rows = reports.budget_rows(Budget.objects.filter(icb=icb, fy=fy).select_related("line__programme", "icb"))
    detail = can_see_practice_money(user, icb)
    commitments = []
    if detail:
        cs = list(Commitment.objects.filter(budget__icb=icb, budget__fy=fy).select_related("budget__line__programme"))
        paid = reports.paid_by_commitment(c.pk for c in cs)
        commitments = [{"c": c, "paid": paid.get(c.pk, 0)} for c in cs]
    months = reports.monthly(fy, icb)
    context = {
        "icb": icb,
        "fy": fy,
        "fy_label": money.fy_label(fy),
        "years": sorted(set(reports.financial_years()) | {fy}, reverse=True),
        "rows": rows,
        "totals": reports.total(rows),
        "detail": detail,
        "can_act": can_act_on_budget(user, icb),
        "commitments": commitments,
        "month_chart": grouped_bars(
            [f"{d:%b}" for d, _, _ in months],
            [("Committed", [c for _, c, _ in months]), ("Paid", [p for _, _, p in months])],
            f"Money committed and paid each month, {icb.short_name}, {money.fy_label(fy)}",
        ),
        "months": months,
        "today": timezone.localdate(),
        "year_end": money.fy_end(fy),
    }
    return render(request, "funding/icb_budget.jinja", context)


# Ledger -------------------------------------------------------------------------------------------------------


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


LEDGER_COLUMNS = ["date_time", "icb_code", "programme", "line", "financial_year", "kind", "amount_pence", "amount_gbp"]


def ledger(request: HttpRequest) -> HttpResponse:
    """Ledger lines with filters. An ICB's team sees its own entries in full (practice and offer); the national
    team sees every ICB with entries summed per movement, so no line names a practice."""
    user: User = request.user  # type: ignore[assignment]
    if not can_see_budgets(user):
        raise PermissionDenied
    icbs = budget_icbs_visible_to(user)
    national = user.role == Role.NATIONAL
    f = reports.LedgerFilters(
        icb=request.GET.get("icb", "").upper() if national else (user.icb.code if user.icb else ""),
        line=request.GET.get("line", ""),
        kind=request.GET.get("kind", "") if request.GET.get("kind", "") in money.Kind._value2member_map_ else "",
        start=_date(request.GET.get("from", "")),
        end=_date(request.GET.get("to", "")),
    )
    qs = f.apply(LedgerEntry.objects.filter(budget__icb__in=icbs))
    lines = reports.ledger_lines(qs, detail=not national)
    fmt = request.GET.get("download", "")
    if fmt in FORMATS:
        table = [
            (
                timezone.localtime(x["at"]).isoformat(timespec="seconds"),
                x["icb"].code,
                x["budget"].line.programme.code,
                x["budget"].line.code,
                x["budget"].fy_label,
                x["kind"],
                x["amount_pence"],
                x["amount_pence"] / 100,
                x["reference"],
                *([x["practice_code"], x["offer_code"]] if not national else []),
                x["memo"],
                x["by"].get_full_name() or x["by"].username,
            )
            for x in lines
        ]
        cols = [*LEDGER_COLUMNS, "reference", *([] if national else ["practice_code", "offer_code"]), "memo", "by"]
        return table_download(table, cols, "ledger", fmt)
    page_lines = lines[:500]
    context = {
        "lines": page_lines,
        "count": len(lines),
        "net": sum(x["amount_pence"] for x in lines),
        "national": national,
        "filters": f,
        "icbs": icbs.order_by("name"),
        "line_choices": [
            (f"{ln.programme.code}/{ln.code}", str(ln)) for ln in FundingLine.objects.select_related("programme")
        ],
        "kinds": [k.value for k in money.Kind],
        "query": request.GET.urlencode(),
        "from": request.GET.get("from", ""),
        "to": request.GET.get("to", ""),
    }
    return render(request, "funding/ledger.jinja", context)


# Payments -----------------------------------------------------------------------------------------------------

FINANCE_COLUMNS = [
    "payment_id",
    "approved_on",
    "cost_centre",
    "ledger_code",
    "icb_code",
    "programme",
    "line",
    "financial_year",
    "commitment_reference",
    "kind",
    "payee",
    "practice_code",
    "invoice_number",
    "amount_pence",
    "amount_gbp",
]


def payments(request: HttpRequest, code: str) -> HttpResponse:
    """Record provider invoices and direct payments against the ICB's commitments; approve (four eyes); export
    the approved ones for the finance system."""
    user: User = request.user  # type: ignore[assignment]
    icb = get_budget_icb_for(user, code)
    if not can_act_on_budget(user, icb):
        raise PermissionDenied
    errors: list[str] = []
    data: dict[str, str] = {}
    if request.method == "POST":
        data = {k: v.strip() for k, v in request.POST.items() if k != "csrfmiddlewaretoken"}
        action = data.get("action", "record")
        try:
            if action in ("approve", "reject"):
                payment = get_object_or_404(Payment, pk=data.get("payment", "0"), commitment__budget__icb=icb)
                if action == "approve":
                    services.approve_payment(payment=payment, user=user, note=data.get("note", ""))
                    messages.success(request, f"Payment of {services.pounds(payment.amount_pence)} approved.")
                else:
                    services.reject_payment(payment=payment, user=user, note=data.get("note", ""))
                    messages.success(request, "Payment rejected.")
            else:
                commitment = Commitment.objects.filter(reference=data.get("reference", ""), budget__icb=icb).first()
                if commitment is None:
                    raise ValidationError("Choose one of this ICB's commitments")
                services.record_payment(
                    reference=commitment.reference,
                    amount_pence=services.parse_pounds(data.get("amount", "")),
                    kind=data.get("kind", ""),
                    payee=data.get("payee", ""),
                    user=user,
                    practice_code=data.get("practice_code", ""),
                    invoice_number=data.get("invoice_number", ""),
                    offer_code=data.get("offer_code", ""),
                    session_refs=data.get("session_refs", "").replace(",", "\n").splitlines(),
                    memo=data.get("memo", ""),
                )
                messages.success(request, "Payment recorded: a colleague in the ICB team approves it.")
        except ValidationError as e:
            errors = _errors(e)
        except services.InsufficientFunds as e:
            errors = [str(e)]
        else:
            return redirect("funding:payments", code=icb.code)
    qs = Payment.objects.filter(commitment__budget__icb=icb).select_related(
        "commitment__budget__line__programme", "requested_by", "decided_by"
    )
    fmt = request.GET.get("download", "")
    if fmt in FORMATS:
        approved = qs.filter(status=Payment.Status.APPROVED).order_by("decided_at")
        table = [
            (
                p.pk,
                timezone.localtime(p.decided_at).date().isoformat() if p.decided_at else "",
                p.commitment.budget.line.cost_centre,
                p.commitment.budget.line.ledger_code,
                icb.code,
                p.commitment.budget.line.programme.code,
                p.commitment.budget.line.code,
                p.commitment.budget.fy_label,
                p.commitment.reference,
                p.kind,
                p.payee,
                p.practice_code,
                p.invoice_number,
                p.amount_pence,
                p.amount_pence / 100,
            )
            for p in approved
        ]
        return table_download(table, FINANCE_COLUMNS, f"payments-{icb.code}", fmt)
    open_commitments = Commitment.objects.filter(budget__icb=icb, status=Commitment.Status.OPEN).order_by("reference")
    context = {
        "icb": icb,
        "payments": qs,
        "commitments": open_commitments,
        "kinds": Payment.Kind.choices,
        "errors": errors,
        "data": data,
        "user_id": user.pk,
    }
    return render(request, "funding/payments.jinja", context, status=400 if errors else 200)


# Virements ----------------------------------------------------------------------------------------------------


def virements(request: HttpRequest) -> HttpResponse:
    """Ask to move released, uncommitted money between budgets (ICB team for its own budgets, or national);
    the national team approves or rejects."""
    user: User = request.user  # type: ignore[assignment]
    if not can_see_budgets(user):
        raise PermissionDenied
    national = can_manage_funding(user)
    fy = money.financial_year_of(timezone.localdate())
    mine = Budget.objects.filter(fy=fy).select_related("line__programme", "icb")
    sources = mine if national else mine.filter(icb=user.icb)
    errors: list[str] = []
    data: dict[str, str] = {}
    if request.method == "POST":
        data = {k: v.strip() for k, v in request.POST.items() if k != "csrfmiddlewaretoken"}
        action = data.get("action", "request")
        try:
            if action in ("approve", "reject"):
                if not national:
                    raise PermissionDenied
                v = get_object_or_404(Virement, pk=data.get("virement", "0"))
                if action == "approve":
                    services.approve_virement(virement=v, user=user, note=data.get("note", ""))
                    messages.success(request, f"Virement approved: {services.pounds(v.amount_pence)} moved.")
                else:
                    services.reject_virement(virement=v, user=user, note=data.get("note", ""))
                    messages.success(request, "Virement rejected.")
            else:
                src = sources.filter(pk=data.get("from_budget", "0") or 0).first()
                dst = mine.filter(pk=data.get("to_budget", "0") or 0).first()
                if src is None or dst is None:
                    raise ValidationError("Choose the budget to move money from and the budget to move it to")
                services.request_virement(
                    from_budget=src,
                    to_budget=dst,
                    amount_pence=services.parse_pounds(data.get("amount", "")),
                    reason=data.get("reason", ""),
                    user=user,
                )
                messages.success(request, "Virement requested: the national team decides.")
        except ValidationError as e:
            errors = _errors(e)
        except services.InsufficientFunds as e:
            errors = [str(e)]
        else:
            return redirect("funding:virements")
    listed = Virement.objects.select_related(
        "from_budget__icb",
        "from_budget__line__programme",
        "to_budget__icb",
        "to_budget__line__programme",
        "requested_by",
    )
    if not national:
        listed = listed.filter(from_budget__icb=user.icb) | listed.filter(to_budget__icb=user.icb)
    context = {
        "national": national,
        "sources": services.with_balances(sources),
        "targets": mine,
        "virements": listed.order_by("-requested_at"),
        "errors": errors,
        "data": data,
        "user_id": user.pk,
    }
    return render(request, "funding/virements.jinja", context, status=400 if errors else 200)


# Public spend -------------------------------------------------------------------------------------------------


@login_not_required
def spend(request: HttpRequest) -> HttpResponse:
    """Published spend: totals by ICB and by offer, open to everyone, and the 360Giving downloads."""
    grants = reports.published_grants()
    by_icb: dict[tuple[int, ICB], dict[str, int]] = {}
    for g in grants:
        t = by_icb.setdefault((g.fy, g.icb), {"awarded": 0, "disbursed": 0})
        t["awarded"] += g.awarded_pence
        t["disbursed"] += g.disbursed_pence
    icb_rows = sorted(by_icb.items(), key=lambda x: (-x[0][0], x[0][1].name))
    context = {
        "icb_rows": icb_rows,
        "offer_rows": reports.spend_by_offer(),
        "awarded": sum(g.awarded_pence for g in grants),
        "disbursed": sum(g.disbursed_pence for g in grants),
        "fy_label": money.fy_label,
    }
    return render(request, "funding/spend.jinja", context)


@login_not_required
def spend_json(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(reports.package_json(reports.published_grants()), json_dumps_params={"indent": 1})
    response["Content-Disposition"] = 'attachment; filename="gp-resilience-360giving.json"'
    return response


@login_not_required
def spend_xlsx(request: HttpRequest) -> HttpResponse:
    grants = reports.published_grants()
    return table_download(
        reports.spreadsheet_rows(grants), reports.SPREADSHEET_COLUMNS, "gp-resilience-360giving", "xlsx"
    )
