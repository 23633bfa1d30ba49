"""ICB budget page, ledger (with filters and export), payments (record, approve, finance export), virements."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from analytics import money
from apps.accounts.access import sees_case_rows
from apps.accounts.models import User
from apps.core.exports import FORMATS, STREAM_CHUNK_ROWS, Kind, stream_download
from apps.core.fields import parse_iso_date
from apps.core.forms import form_errors, refusal, typed
from apps.core.paging import counted_paginator, page_of, query_without
from apps.core.tables import configure
from apps.funding import ledger_list, lists, reports, services
from apps.funding.charts import grouped_bars
from apps.funding.errors import FundingError
from apps.funding.forms import DecisionForm, PaymentForm, VirementForm, add_problems
from apps.funding.models import (
    Budget,
    Commitment,
    FundingLine,
    LedgerEntry,
    LedgerMonth,
    Payment,
    Virement,
)
from apps.funding.policy import (
    budget_icbs_visible_to,
    can_act_on_budget,
    can_manage_funding,
    can_see_budgets,
    can_see_practice_money,
    get_budget_icb_for,
)
from apps.funding.tables import PaymentFilter, PaymentTable
from apps.funding.views.common import _fy

# ICB budget ---------------------------------------------------------------------------------------------------


def icb_budget(request: HttpRequest, code: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    icb = get_budget_icb_for(user, code)
    fy = _fy(request)
    rows = reports.budget_rows(Budget.objects.filter(icb=icb, fy=fy).select_related("line__programme", "icb"))
    detail = can_see_practice_money(user, icb)
    status = request.GET.get("status", "")
    status = status if status in Commitment.Status.values else ""
    page = page_of(lists.icb_commitments(icb, fy, status), request.GET.get("page")) if detail else None
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
        "page": page,
        "commitment_totals": lists.commitment_totals(icb, fy) if detail else [],
        "status": status,
        "query_no_page": query_without(request.GET, "page"),
        "query_no_status": query_without(request.GET, "page", "status"),
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


LEDGER_PAGE_SIZE = 100


def ledger(request: HttpRequest) -> HttpResponse:
    """Ledger lines with filters, paged; downloads stream every matching line. An ICB's team sees its own entries in
    full (practice and offer); the national team sees every ICB with entries summed per month, budget and kind, so
    no line names a practice. Filtered, counted, summed and paged in the database (``apps.funding.ledger_list``)."""
    user: User = request.user  # type: ignore[assignment]
    if not can_see_budgets(user):
        raise PermissionDenied
    icbs = list(budget_icbs_visible_to(user).order_by("name"))
    national = not sees_case_rows(user)  # monthly totals per budget, no line naming a case (the national rule)
    f = ledger_list.LedgerFilters(
        icb=request.GET.get("icb", "").upper() if national else (user.icb.code if user.icb else ""),
        line=request.GET.get("line", ""),
        kind=request.GET.get("kind", "") if request.GET.get("kind", "") in money.Kind._value2member_map_ else "",
        start=parse_iso_date(request.GET.get("from")),
        end=parse_iso_date(request.GET.get("to")),
    )
    # the ICBs by id, as constants: with one ICB's id the newest page is a walk of the ledger's (icb, time) index
    ids = [i.pk for i in icbs]
    qs = f.apply(LedgerEntry.objects.filter(icb__in=ids))
    months = LedgerMonth.objects.filter(icb__in=ids)
    rows = ledger_list.list_rows(f, qs, months, detail=not national)
    fmt = request.GET.get("download", "")
    if fmt in FORMATS:
        columns = ledger_list.export_columns(detail=not national)
        kinds = ledger_list.export_kinds(detail=not national)
        return stream_download(ledger_list.export_rows(rows, detail=not national), columns, "ledger", fmt, kinds)
    sums = ledger_list.counted(f, qs, months)
    # entries one by one are counted by the running totals; the national list's lines are month groups, counted apart
    page = page_of(rows, request.GET.get("page"), LEDGER_PAGE_SIZE, count=None if national else sums["entries"])
    context = {
        "lines": ledger_list.lines_of(page.object_list, detail=not national),
        "page": page,
        "count": page.paginator.count,
        "net": sums["net"],
        "national": national,
        "filters": f,
        "icbs": icbs,
        "line_choices": [
            (f"{ln.programme.code}/{ln.code}", str(ln)) for ln in FundingLine.objects.select_related("programme")
        ],
        "kinds": [k.value for k in money.Kind],
        "query": query_without(request.GET, "page", "download"),
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
# The finance system's file keeps its machine headings (its import reads them); its cells are typed like any export.
FINANCE_KINDS: list[Kind] = ["number", "date", *["text"] * 11, "number", "money"]


def _decide(
    request: HttpRequest,
    form: DecisionForm,
    approve: Callable[..., Any],
    reject: Callable[..., Any],
    approved: Callable[[Any], str],
    rejected: str,
) -> str | None:
    """Approve or reject the request the form names, with the one four-eyes service; the success message, or
    ``None`` when the form or the service refused (the refusal is then on the form)."""
    if not form.is_valid():
        return None
    record, note = form.record, form.cleaned_data["note"]
    try:
        if form.cleaned_data["action"] == "approve":
            approve(record, user=request.user, note=note)
            return approved(record)
        reject(record, user=request.user, note=note)
        return rejected
    except FundingError as e:
        add_problems(form, e)
        return None


def payments(request: HttpRequest, code: str) -> HttpResponse:
    """Record provider invoices and direct payments against the ICB's commitments; approve (four eyes); export
    the approved ones for the finance system."""
    user: User = request.user  # type: ignore[assignment]
    icb = get_budget_icb_for(user, code)
    if not can_act_on_budget(user, icb):
        raise PermissionDenied
    errors: dict[str, str] = {}
    data: dict[str, Any] = {}
    if request.method == "POST":
        if request.POST.get("action") in ("approve", "reject"):
            decision = DecisionForm(
                request.POST,
                record="payment",
                requests=Payment.objects.filter(icb=icb),
                what="payment",
            )
            done = _decide(
                request,
                decision,
                lambda p, **kw: services.approve_payment(payment=p, **kw),
                lambda p, **kw: services.reject_payment(payment=p, **kw),
                lambda p: f"Payment of {services.pounds(p.amount_pence)} approved.",
                "Payment rejected.",
            )
            errors = {} if done else decision.errors_for_page()
        else:
            form = PaymentForm(request.POST, commitments=Commitment.objects.filter(budget__icb=icb))
            data = typed(form)
            done = None
            if form.is_valid():
                try:
                    services.record_payment(user=user, **form.service_kwargs())
                    done = "Payment recorded: a colleague in the ICB team approves it."
                except FundingError as e:
                    add_problems(form, e)
            errors = {} if done else form_errors(form)
        if done:
            messages.success(request, done)
            return redirect("funding:payments", code=icb.code)
    qs = Payment.objects.filter(icb=icb).select_related(
        "commitment__budget__line__programme", "requested_by", "decided_by"
    )
    fmt = request.GET.get("download", "")
    if fmt in FORMATS:
        approved = qs.filter(status=Payment.Status.APPROVED).order_by("decided_at", "pk")
        # streamed: an ICB's year of approved payments runs to tens of thousands of rows (issue 19)
        rows = (
            (
                p.pk,
                timezone.localtime(p.decided_at).date() if p.decided_at else None,
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
            for p in approved.iterator(chunk_size=STREAM_CHUNK_ROWS)
        )
        return stream_download(rows, FINANCE_COLUMNS, f"payments-{icb.code}", fmt, kinds=FINANCE_KINDS)
    open_commitments = Commitment.objects.filter(budget__icb=icb, status=Commitment.Status.OPEN).order_by("reference")
    found = PaymentFilter(request.GET, lists.icb_payments(icb))
    rows = found.qs
    status = found.form.cleaned_data.get("status") or ""
    totals = lists.payment_totals(icb)
    # counted by the running totals unless a search or a programme narrows the list (then counted in the database)
    searched = found.form.cleaned_data.get("q") or found.form.cleaned_data.get("programme")
    shown = None if searched else sum(t.count for t in totals if t.status == status or not status)
    table = configure(request, PaymentTable(rows), None if shown is None else counted_paginator(shown))
    context = {
        "icb": icb,
        "table": table,
        "filters": found,
        "totals": totals,
        "status": status,
        "commitments": open_commitments,
        "kinds": Payment.Kind.choices,
        "data": data,
        "user_id": user.pk,
    }
    if errors:
        return refusal(request, "funding/payments.jinja", context, errors)
    return render(request, "funding/payments.jinja", {**context, "errors": {}})


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
    errors: dict[str, str] = {}
    data: dict[str, Any] = {}
    if request.method == "POST":
        if request.POST.get("action") in ("approve", "reject"):
            if not national:
                raise PermissionDenied
            decision = DecisionForm(request.POST, record="virement", requests=Virement.objects.all(), what="virement")
            done = _decide(
                request,
                decision,
                lambda v, **kw: services.approve_virement(virement=v, **kw),
                lambda v, **kw: services.reject_virement(virement=v, **kw),
                lambda v: f"Virement approved: {services.pounds(v.amount_pence)} moved.",
                "Virement rejected.",
            )
            errors = {} if done else decision.errors_for_page()
        else:
            form = VirementForm(request.POST, sources=sources, targets=mine)
            data = typed(form)
            done = None
            if form.is_valid():
                c = form.cleaned_data
                try:
                    services.request_virement(
                        from_budget=c["from_budget"],
                        to_budget=c["to_budget"],
                        amount_pence=c["amount"],
                        reason=c["reason"],
                        user=user,
                    )
                    done = "Virement requested: the national team decides."
                except FundingError as e:
                    add_problems(form, e)
            errors = {} if done else form_errors(form)
        if done:
            messages.success(request, done)
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
        "data": data,
        "user_id": user.pk,
    }
    if errors:
        return refusal(request, "funding/virements.jinja", context, errors)
    return render(request, "funding/virements.jinja", {**context, "errors": {}})
