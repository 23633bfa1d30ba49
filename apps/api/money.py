"""Budgets and the ledger, with the money pages' rules: the national team sees every ICB's budgets and a ledger summed
per month (no line names a practice or an offer); an ICB's team sees its own budgets and its own ledger in full;
practice, provider and LMC users see no money (``can_see_budgets``, ``budget_icbs_visible_to``, ``can_see_budget``,
``can_see_practice_money`` in ``apps.funding.policy``).

Amounts are integer pence, as everywhere in the API. Financial years are given by their starting calendar year
(``2026`` is 2026-27) with the label beside it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema, Status

from analytics import money
from apps.accounts.models import User
from apps.api import idempotency
from apps.api.common import (
    CSV_CONTENT,
    Error,
    IsoDate,
    Paged,
    PageQuery,
    Refused,
    ValidationErrors,
    csv_response,
    field_errors,
    table_responses,
    wants_csv,
)
from apps.core.exports import stream_download
from apps.core.forms import form_errors
from apps.funding import ledger_list, reports
from apps.funding import policy as access
from apps.funding import policy as money_policy
from apps.funding import services as funding
from apps.funding.forms import PaymentForm
from apps.funding.models import Budget, Commitment, LedgerEntry, LedgerMonth, Payment
from apps.practices.models import ICB

router = Router(tags=["money"])

NO_MONEY = "Budgets and the ledger are seen by the national programme team and each ICB's own team only."


class BudgetOut(Schema):
    id: int
    icb_code: str
    icb_name: str
    programme: str = Field(description="Programme code, e.g. GPRP")
    line: str = Field(description="Funding line code within the programme, e.g. core")
    line_name: str
    financial_year: int = Field(description="Starting calendar year: 2026 is 2026-27")
    financial_year_label: str = Field(description="e.g. 2026-27")
    allocated_pence: int
    released_pence: int = Field(description="Released for commitment (tranches)")
    committed_pence: int = Field(description="Committed by approved packages, after variations and de-commitments")
    spent_pence: int = Field(description="Paid")
    headroom_pence: int = Field(description="Released and not committed: what an approval may commit now")
    remaining_pence: int = Field(description="Allocated and not committed")
    outstanding_pence: int = Field(description="Committed and not paid")
    forecast_spend_pence: int = Field(description="Paid plus still scheduled to be paid by 31 March")
    late_pence: int = Field(description="Scheduled on or before today and not paid")
    after_year_end_pence: int = Field(description="Scheduled after 31 March: lost unless brought forward")
    at_risk_pence: int = Field(description="Forecast not to be spent in year: uncommitted plus after year end")
    flagged: bool = Field(description="Marked 'At risk' on the money pages")


class BudgetFilters(PageQuery):
    fy: int | None = Field(None, ge=2000, le=2100, description="Financial year by its starting year (2026 = 2026-27)")
    programme: str = Field("", max_length=30, description="Programme code, e.g. GPRP")
    line: str = Field("", max_length=30, description="Funding line code, e.g. core")
    icb: str = Field("", max_length=8, description="ICB ODS code (the national team: any ICB; an ICB team: its own)")


class LedgerOut(Schema):
    at: datetime = Field(description="When the entry was written (UTC)")
    icb_code: str
    programme: str
    line: str
    financial_year: int
    kind: str = Field(description=f"One of: {', '.join(k.value for k in money.Kind)}")
    amount_pence: int = Field(description="Signed: de-commitments negative, variations and virements as the change")
    reference: str = Field(description="Commitment reference (the package), if any; empty in the national totals")
    practice_code: str | None = Field(description="The practice the money is for (ICB team only; null nationally)")
    offer_code: str | None = Field(description="The menu offer (ICB team only; null nationally)")
    memo: str
    by: str = Field(description="Who wrote the entry; empty in the national totals")
    entries: int = Field(description="Ledger entries in this line (the national view sums a month per budget and kind)")


class LedgerFilters(PageQuery):
    icb: str = Field("", max_length=8, description="ICB ODS code (the national team: any ICB; an ICB team: its own)")
    programme: str = Field("", max_length=30, description="Programme code, e.g. GPRP")
    line: str = Field("", max_length=30, description="Funding line code, e.g. core")
    fy: int | None = Field(None, ge=2000, le=2100, description="Financial year of the budget (2026 = 2026-27)")
    kind: money.Kind | None = Field(None, description="Only entries of this kind")
    date_from: IsoDate | None = Field(None, description="Entries written on or after this day (Europe/London)")
    date_to: IsoDate | None = Field(
        None, description="Entries written on or before this day (Europe/London); before date_from, nothing matches"
    )


def _scope(user: User, icb_code: str) -> QuerySet[ICB]:
    """The ICBs whose money the caller may see, narrowed to ``icb_code`` if given (403 for another ICB's)."""
    if not money_policy.can_see_budgets(user):
        raise PermissionDenied(NO_MONEY)
    icbs = money_policy.budget_icbs_visible_to(user)
    if icb_code:
        icb = access.get_icb_for(user, icb_code)
        if not money_policy.can_see_budget(user, icb):
            raise PermissionDenied("An ICB team sees its own ICB's budgets and ledger only.")
        icbs = icbs.filter(pk=icb.pk)
    return icbs


def _budget(r: reports.BudgetRow) -> dict[str, Any]:
    b, bal, ye = r.budget, r.balance, r.year_end
    return {
        "id": b.pk,
        "icb_code": b.icb.code,
        "icb_name": b.icb.name,
        "programme": b.line.programme.code,
        "line": b.line.code,
        "line_name": b.line.name,
        "financial_year": b.fy,
        "financial_year_label": b.fy_label,
        "allocated_pence": bal.allocated,
        "released_pence": bal.released,
        "committed_pence": bal.committed,
        "spent_pence": bal.spent,
        "headroom_pence": bal.headroom,
        "remaining_pence": bal.remaining,
        "outstanding_pence": bal.outstanding,
        "forecast_spend_pence": ye.forecast_spend,
        "late_pence": ye.late,
        "after_year_end_pence": ye.after_year_end,
        "at_risk_pence": ye.at_risk,
        "flagged": r.flagged,
    }


@router.get(
    "/budgets",
    response=table_responses(Paged[BudgetOut]),
    openapi_extra=CSV_CONTENT,
    summary="Budgets with their balances and year-end forecast",
)
def list_budgets(request: HttpRequest, filters: Query[BudgetFilters]) -> Any:
    """Every budget (funding line × financial year × ICB) the caller may see, newest year first: the national team
    every ICB's, an ICB team its own. Balances are sums of ledger entries; the forecast comes from the open
    commitments' spending schedules."""
    qs = Budget.objects.filter(icb__in=_scope(request.auth, filters.icb)).select_related("line__programme", "icb")
    if filters.fy is not None:
        qs = qs.filter(fy=filters.fy)
    if filters.programme:
        qs = qs.filter(line__programme__code__iexact=filters.programme)
    if filters.line:
        qs = qs.filter(line__code__iexact=filters.line)
    qs = qs.order_by("-fy", "line__programme__code", "line__code", "icb__name", "pk")
    if wants_csv(request, filters.format):
        return csv_response((_budget(r) for r in reports.budget_rows(qs)), BudgetOut, "budgets")
    count = qs.count()
    start = (filters.page - 1) * filters.page_size
    rows = reports.budget_rows(qs[start : start + filters.page_size])  # balances and forecasts for this page only
    return {
        "count": count,
        "page": filters.page,
        "page_size": filters.page_size,
        "pages": max(1, math.ceil(count / filters.page_size)),
        "results": [_budget(r) for r in rows],
    }


def _ledger_row(x: dict[str, Any], detail: bool) -> dict[str, Any]:
    b: Budget = x["budget"]
    return {
        "at": x["at"],
        "icb_code": x["icb"].code,
        "programme": b.line.programme.code,
        "line": b.line.code,
        "financial_year": b.fy,
        "kind": x["kind"],
        "amount_pence": x["amount_pence"],
        "reference": x["reference"],
        "practice_code": x["practice_code"] if detail else None,
        "offer_code": x["offer_code"] if detail else None,
        "memo": x["memo"],
        "by": x["by"],
        "entries": x["entries"],
    }


def _ledger_csv(rows: QuerySet[Any] | ledger_list.MonthRows, detail: bool) -> Iterator[tuple[Any, ...]]:
    """Every row of the ledger list in :class:`LedgerOut`'s columns, read in chunks for a streamed download."""
    for r in rows.iterator(chunk_size=2000):
        yield (
            r["at"] if detail else r["month"],
            r["icb_code"],
            r["programme"],
            r["line"],
            r["financial_year"],
            r["kind"],
            r["amount_pence"] if detail else r["amount_total"],
            r["reference"] if detail else "",
            r["practice_code"] if detail else None,
            r["offer_code"] if detail else None,
            r["memo"] if detail else "",
            (r["by_name"] or r["by_username"]) if detail else "",
            1 if detail else r["entries"],
        )


@router.get(
    "/ledger",
    response=table_responses(Paged[LedgerOut]),
    openapi_extra=CSV_CONTENT,
    summary="Ledger lines, newest first",
)
def list_ledger(request: HttpRequest, filters: Query[LedgerFilters]) -> Any:
    """Every movement of money on the budgets the caller may see. An ICB team gets its own entries one by one, with
    the practice and offer; the national team gets every ICB's as monthly totals per budget and kind (``at`` is the
    month's first day; ``reference``, ``memo`` and ``by`` are empty and ``practice_code`` and ``offer_code`` null), so
    that no line identifies a practice's case. Entries are never changed: corrections are new lines. Filtered,
    counted and paged in the database; the CSV streams every matching line."""
    user: User = request.auth
    icbs = list(_scope(user, filters.icb))
    ids = [i.pk for i in icbs]  # as constants: with one ICB's id the newest page is a walk of the (icb, time) index
    chosen = ledger_list.LedgerFilters(
        kind=filters.kind.value if filters.kind else "", start=filters.date_from, end=filters.date_to
    )

    def narrow[Q: QuerySet[Any]](qs: Q) -> Q:  # entries, or their running monthly totals (the same fields)
        qs = qs.filter(icb__in=ids)
        if filters.fy is not None:
            qs = qs.filter(budget__fy=filters.fy)
        if filters.programme:
            qs = qs.filter(budget__line__programme__code__iexact=filters.programme)
        if filters.line:
            qs = qs.filter(budget__line__code__iexact=filters.line)
        return qs

    qs = chosen.apply(narrow(LedgerEntry.objects.all()))
    # The page's rule: the ICB's own team sees practice-level lines; the national team sees monthly totals.
    detail = access.sees_case_rows(user) and all(money_policy.can_see_practice_money(user, i) for i in icbs)
    months = narrow(LedgerMonth.objects.all())
    rows = ledger_list.list_rows(chosen, qs, months, detail=detail)
    if wants_csv(request, filters.format):
        return stream_download(_ledger_csv(rows, detail), list(LedgerOut.model_fields), "ledger", "csv")
    # entries one by one are counted by the running totals; the national lines are month groups, counted apart
    count = ledger_list.counted(chosen, qs, months)["entries"] if detail else rows.count()
    start = (filters.page - 1) * filters.page_size
    lines = ledger_list.lines_of(list(rows[start : start + filters.page_size]), detail=detail)
    return {
        "count": count,
        "page": filters.page,
        "page_size": filters.page_size,
        "pages": max(1, math.ceil(count / filters.page_size)),
        "results": [_ledger_row(x, detail) for x in lines],
    }


class PaymentIn(Schema):
    kind: Literal["invoice", "direct"] = Field(description="invoice: a provider's invoice; direct: paid to a practice")
    amount_pence: int = Field(gt=0, le=10**12, description="The amount in pence")
    payee: str = Field("", max_length=200, description="The provider's name (a direct payment: the practice's)")
    invoice_number: str = Field("", max_length=60, description="The provider's invoice number (needed for invoices)")
    practice_code: str = Field("", max_length=8, description="A direct payment: the practice it is paid to")
    offer_code: str = Field("", max_length=60, description="The menu offer paid for, if one")
    session_refs: list[str] = Field(default_factory=list, max_length=200, description="Delivered sessions invoiced")
    memo: str = Field("", max_length=2000)
    tranche: int | None = Field(
        None, ge=1, le=1000, description="A commitment to a payee outside a case: the tranche paid (1 = the first)"
    )


class PaymentOut(Schema):
    id: int
    reference: str = Field(description="The commitment paid against")
    kind: str
    payee: str
    invoice_number: str
    practice_code: str
    amount_pence: int
    status: str = Field(description="requested: awaiting approval by a colleague (four eyes); approved; rejected")
    requested_by: str
    requested_at: datetime


def _payment(p: Payment) -> dict[str, Any]:
    return {
        "id": p.pk,
        "reference": p.commitment.reference,
        "kind": p.kind,
        "payee": p.payee,
        "invoice_number": p.invoice_number,
        "practice_code": p.practice_code,
        "amount_pence": p.amount_pence,
        "status": p.status,
        "requested_by": p.requested_by.get_username(),
        "requested_at": p.requested_at,
    }


@router.post(
    "/commitments/{commitment_id}/payments",
    response={201: PaymentOut, 400: Refused, 401: Error, 403: Error, 404: Error, 409: Error, 422: ValidationErrors},
    summary="Record a payment against a commitment (awaiting a colleague's approval)",
)
def create_payment(request: HttpRequest, commitment_id: int, body: PaymentIn) -> Any:
    """Record a provider invoice or a direct payment against one of the caller's ICB's commitments. Nothing moves
    until a different member of the ICB team approves it on the payments page (four eyes). An invoice number is
    paid once per commitment: a repeat is refused (400, with ``field`` naming the input at fault) naming the payment
    that holds it.

    Send an ``Idempotency-Key`` header (up to 100 characters, unique per request you mean) to retry safely: the
    same key with the same body answers the first result again, without a second payment; with another body, 409.
    404 for a commitment the caller may not act on (its existence is not revealed)."""
    user: User = request.auth
    commitment = Commitment.objects.select_related("budget__icb").filter(pk=commitment_id).first()
    if commitment is None or not money_policy.can_act_on_budget(user, commitment.budget.icb):
        raise Http404("No such commitment among your ICB's.")

    def write() -> tuple[int, Any]:
        # The page's form reads the body too, so both doors accept and refuse the same input in the same words.
        form = PaymentForm.from_api(body.dict(), commitment.reference, Commitment.objects.filter(pk=commitment.pk))
        if not form.is_valid():
            return 422, field_errors("body", form_errors(form))
        try:
            p = funding.record_payment(user=user, **form.service_kwargs())
        except funding.FundingError as e:
            return 400, {"detail": e.message, "field": e.field}
        return 201, _payment(Payment.objects.select_related("commitment", "requested_by").get(pk=p.pk))

    try:
        status, answer = idempotency.once(request, user, "create_payment", {"id": commitment_id, **body.dict()}, write)
    except idempotency.KeyProblem as e:
        return Status(e.status, {"detail": str(e)})
    return Status(status, answer)
