"""Commitments outside cases (issue 17 §4), with the money pages' rules: an ICB's own team lists, reads and makes its
commitments to payees that are not a practice case (a local resilience post, an LMC support team, a provider
contract for a cohort, a practice-manager programme contract); the national team sees totals by kind of payee and
never a payee (``sees_case_rows``); everyone else sees nothing. Payments against a tranche are recorded with
``create_payment`` (naming the ``tranche``) and approved by a colleague, as every payment.

Amounts are integer pence; financial years are given by their starting calendar year (2026 is 2026-27).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema, Status

from apps.accounts.models import User
from apps.api import idempotency
from apps.api.common import Error, Paged, Refused, ValidationErrors, field_errors, paged
from apps.core.forms import form_errors
from apps.funding import policy as money_policy
from apps.funding import services as funding
from apps.funding.forms import CancelForm, PayeeCommitmentForm, PayeeVariationForm
from apps.funding.models import Budget, LedgerEntry, PayeeCommitment, PayeeKind
from apps.practices.models import ICB

router = Router(tags=["money"])

KINDS = ", ".join(PayeeKind.values)


class PayeeQuery(Schema):
    fy: int | None = Field(None, ge=2000, le=2100, description="Financial year of the budget (2026 = 2026-27)")
    page: int = Field(1, ge=1, le=1_000_000, description="Page number, from 1")
    page_size: int = Field(50, ge=1, le=500, description="Rows per page (at most 500)")


class TotalsQuery(Schema):
    icb: str = Field(
        "", max_length=8, description="ICB ODS code (the national team: any ICB, or all; an ICB team: its own)"
    )
    fy: int | None = Field(None, ge=2000, le=2100, description="Financial year of the budget (2026 = 2026-27)")


class TrancheIn(Schema):
    due: date = Field(description="When the tranche is due (ISO date, within the budget's financial year)")
    amount_pence: int = Field(gt=0, le=10**12)


class PayeeCommitmentIn(Schema):
    kind: str = Field(max_length=20, description=f"One of: {KINDS}")
    name: str = Field(max_length=200, description="The payee: the post holder's employer, the LMC, the provider")
    organisation_code: str = Field("", max_length=12, description="The payee's ODS or provider code, if it has one")
    purpose: str = Field(max_length=2000, description="What the money pays for")
    amount_pence: int = Field(gt=0, le=10**12)
    tranches: list[TrancheIn] = Field(max_length=120, description="The schedule of payments; adds up to the amount")


class TrancheOut(Schema):
    number: int = Field(description="1 is the first date of the schedule; a payment names it")
    due: date
    amount_pence: int
    state: str = Field(description="Not paid, Awaiting approval or Paid")
    payment_id: int | None


class PayeeCommitmentOut(Schema):
    reference: str
    kind: str
    kind_label: str
    name: str
    organisation_code: str
    purpose: str
    programme: str
    line: str
    financial_year: int
    status: str = Field(description="open or cancelled")
    committed_pence: int = Field(description="After variations")
    paid_pence: int
    remaining_pence: int = Field(description="Committed and not paid")
    created_by: str
    created_at: datetime


class PayeeCommitmentDetail(PayeeCommitmentOut):
    tranches: list[TrancheOut]
    history: list[dict[str, Any]] = Field(description="Ledger entries: kind, amount_pence, at, by, memo")


class PayeeTotalOut(Schema):
    kind: str
    kind_label: str
    commitments: int = Field(description="Open commitments to this kind of payee")
    committed_pence: int
    paid_pence: int
    remaining_pence: int


def _own_icb(user: User) -> ICB:
    """The caller's ICB, when the caller is on its team (who acts on its money); 403 otherwise."""
    icb = money_policy.own_budget_icb(user)
    if icb is None or not money_policy.can_see_practice_money(user, icb):
        raise PermissionDenied("Commitments to payees are seen by the ICB's own team; the national team sees totals.")
    return icb


def _row(p: PayeeCommitment, paid: int) -> dict[str, Any]:
    c = p.commitment
    return {
        "reference": c.reference,
        "kind": p.kind,
        "kind_label": p.get_kind_display(),
        "name": p.name,
        "organisation_code": p.organisation_code,
        "purpose": p.purpose,
        "programme": c.budget.line.programme.code,
        "line": c.budget.line.code,
        "financial_year": c.budget.fy,
        "status": c.status,
        "committed_pence": c.amount_pence,
        "paid_pence": paid,
        "remaining_pence": c.amount_pence - paid,
        "created_by": c.created_by.get_username(),
        "created_at": c.created_at,
    }


def _detail(p: PayeeCommitment) -> dict[str, Any]:
    c = p.commitment
    history = LedgerEntry.objects.filter(commitment=c).select_related("created_by").order_by("created_at", "pk")
    return {
        **_row(p, c.paid_pence),
        "tranches": [
            {
                "number": t.number,
                "due": t.due,
                "amount_pence": t.amount_pence,
                "state": t.state,
                "payment_id": t.payment.pk if t.payment else None,
            }
            for t in funding.tranches_of(c)
        ],
        "history": [
            {
                "kind": e.kind,
                "amount_pence": e.amount_pence,
                "at": e.created_at,
                "by": e.created_by.get_username(),
                "memo": e.memo,
            }
            for e in history
        ],
    }


@router.get(
    "/payee-commitments",
    response={200: Paged[PayeeCommitmentOut], 401: Error, 403: Error, 422: ValidationErrors},
    summary="The caller's ICB's commitments to payees outside cases",
)
def list_payee_commitments(request: HttpRequest, filters: Query[PayeeQuery]) -> Any:
    """Newest first, each with what is committed, paid (summed from the ledger) and remaining. The ICB's own team
    only: the national team asks ``get_payee_totals``."""
    icb = _own_icb(request.auth)
    rows = funding.payee_commitments(icb, filters.fy).select_related("commitment__created_by")
    return paged(rows, filters.page, filters.page_size, lambda p: _row(p, p.paid_to_date_pence))


@router.get(
    "/payee-commitments/totals",
    response={200: list[PayeeTotalOut], 401: Error, 403: Error, 404: Error, 422: ValidationErrors},
    summary="Open commitments to payees outside cases, totalled by kind of payee",
)
def get_payee_totals(request: HttpRequest, filters: Query[TotalsQuery]) -> Any:
    """Count, committed, paid and remaining per kind of payee, naming no payee: the national team for any ICB (or
    all of England), an ICB team for its own."""
    user: User = request.auth
    if not money_policy.can_see_budgets(user):
        raise PermissionDenied("Money is seen by the national programme team and each ICB's own team only.")
    icbs = money_policy.budget_icbs_visible_to(user)
    if filters.icb:
        icb = money_policy.get_icb_for(user, filters.icb)
        if not money_policy.can_see_budget(user, icb):
            raise PermissionDenied("An ICB team sees its own ICB's money only.")
        icbs = icbs.filter(pk=icb.pk)
    return [
        {
            "kind": t.kind,
            "kind_label": t.label,
            "commitments": t.count,
            "committed_pence": t.committed_pence,
            "paid_pence": t.paid_pence,
            "remaining_pence": t.remaining_pence,
        }
        for t in funding.payee_totals(icbs, filters.fy)
    ]


@router.get(
    "/payee-commitments/{reference}",
    response={200: PayeeCommitmentDetail, 401: Error, 404: Error},
    summary="One commitment to a payee: its tranches and ledger history",
)
def get_payee_commitment(request: HttpRequest, reference: str) -> Any:
    """404 for a commitment the caller's ICB team does not hold (its existence is not revealed)."""
    return _detail(_payee_of(request.auth, reference, act=False))


def _payee_of(user: User, reference: str, *, act: bool) -> PayeeCommitment:
    """The commitment to a payee if the caller's ICB team holds it (``act``: may change it); 404 otherwise."""
    payee = (
        PayeeCommitment.objects.select_related(
            "commitment__budget__icb", "commitment__budget__line__programme", "commitment__created_by"
        )
        .filter(commitment__reference=reference[:60])
        .first()
    )
    allowed = money_policy.can_act_on_budget if act else money_policy.can_see_practice_money
    if payee is None or not allowed(user, payee.commitment.budget.icb):
        raise Http404("No such commitment among your ICB's.")
    return payee


def _fresh(reference: str) -> dict[str, Any]:
    return _detail(
        PayeeCommitment.objects.select_related("commitment__budget__line__programme", "commitment__created_by").get(
            commitment__reference=reference
        )
    )


def _pounds(pence: int) -> str:
    return f"{pence // 100}.{pence % 100:02d}"


class PayeeVariationIn(Schema):
    amount_pence: int = Field(gt=0, le=10**12, description="The new amount")
    tranches: list[TrancheIn] = Field(max_length=120, description="The new schedule; adds up to the new amount")
    reason: str = Field(max_length=5000, description=f"Why it changes (at least {funding.MIN_REASON} characters)")


class CancelIn(Schema):
    reason: str = Field(max_length=5000, description=f"Why it is cancelled (at least {funding.MIN_REASON} characters)")


def _once(request: HttpRequest, op: str, key: dict[str, Any], write: Any) -> Any:
    try:
        status, answer = idempotency.once(request, request.auth, op, key, write)
    except idempotency.KeyProblem as e:
        return Status(e.status, {"detail": str(e)})
    return Status(status, answer)


@router.post(
    "/payee-commitments/{reference}/variations",
    response={200: PayeeCommitmentDetail, 400: Refused, 401: Error, 404: Error, 409: Error, 422: ValidationErrors},
    summary="Vary a commitment to a payee: its new amount and tranches",
)
def vary_payee_commitment(request: HttpRequest, reference: str, body: PayeeVariationIn) -> Any:
    """The caller's ICB team restates its commitment to a new amount and schedule, as on the page: the difference
    is a new ledger entry; a tranche paid or awaiting approval keeps its place, date and at least its payment; an
    increase needs the budget's headroom. Refused with 400 (``field`` naming the input). 404 for a commitment the
    caller's ICB team does not hold. Send an ``Idempotency-Key`` header to retry safely."""
    user: User = request.auth
    payee = _payee_of(user, reference, act=True)

    def write() -> tuple[int, Any]:
        form = PayeeVariationForm(
            {
                "amount": _pounds(body.amount_pence),
                "schedule": "\n".join(f"{t.due.isoformat()}: {_pounds(t.amount_pence)}" for t in body.tranches),
                "reason": body.reason,
            }
        )
        if not form.is_valid():
            return 422, field_errors("body", form_errors(form))
        c = form.cleaned_data
        try:
            funding.vary_payee_commitment(
                reference=payee.commitment.reference,
                user=user,
                amount_pence=c["amount"],
                tranches=c["schedule"],
                reason=c["reason"],
            )
        except funding.FundingError as e:
            return 400, {"detail": e.message, "field": e.field}
        return 200, _fresh(payee.commitment.reference)

    return _once(request, "vary_payee_commitment", {"reference": reference, **body.dict()}, write)


@router.post(
    "/payee-commitments/{reference}/cancellation",
    response={200: PayeeCommitmentDetail, 400: Refused, 401: Error, 404: Error, 409: Error, 422: ValidationErrors},
    summary="Cancel a commitment to a payee: what is not paid goes back to the budget",
)
def cancel_payee_commitment(request: HttpRequest, reference: str, body: CancelIn) -> Any:
    """The caller's ICB team cancels its commitment, as on the page: the unpaid part is de-committed by a new
    ledger entry (payments made stay). Refused with 400 when already cancelled, 422 when the reason is too short.
    404 for a commitment the caller's ICB team does not hold. Send an ``Idempotency-Key`` header to retry safely."""
    user: User = request.auth
    payee = _payee_of(user, reference, act=True)

    def write() -> tuple[int, Any]:
        form = CancelForm({"reason": body.reason})
        if not form.is_valid():
            return 422, field_errors("body", form_errors(form))
        try:
            funding.decommit(reference=payee.commitment.reference, user=user, reason=form.cleaned_data["reason"])
        except funding.FundingError as e:
            return 400, {"detail": e.message, "field": e.field}
        return 200, _fresh(payee.commitment.reference)

    return _once(request, "cancel_payee_commitment", {"reference": reference, **body.dict()}, write)


@router.post(
    "/budgets/{budget_id}/payee-commitments",
    response={201: PayeeCommitmentDetail, 400: Refused, 401: Error, 404: Error, 409: Error, 422: ValidationErrors},
    summary="Commit money of a budget line to a payee outside a case, in tranches",
)
def create_payee_commitment(request: HttpRequest, budget_id: int, body: PayeeCommitmentIn) -> Any:
    """The caller's ICB team commits released money of one of its budgets to a payee, paid in tranches that add up
    to the amount. Refused (400, ``field`` naming the input) if the tranches do not add up or fall outside the
    budget's year, and if the budget's headroom cannot carry it (the message names the line and the budget).
    Send an ``Idempotency-Key`` header to retry safely. 404 for a budget the caller's ICB team does not hold (its
    existence is not revealed)."""
    user: User = request.auth
    budget = Budget.objects.select_related("icb").filter(pk=budget_id).first()
    if budget is None or not money_policy.can_act_on_budget(user, budget.icb):
        raise Http404("No such budget among your ICB's.")

    def write() -> tuple[int, Any]:
        # The page's form reads the body too, so both doors refuse the same input in the same words.
        form = PayeeCommitmentForm(
            {
                "budget": str(budget.pk),
                "kind": body.kind,
                "name": body.name,
                "organisation": body.organisation_code,
                "purpose": body.purpose,
                "amount": f"{body.amount_pence // 100}.{body.amount_pence % 100:02d}",
                "schedule": "\n".join(
                    f"{t.due.isoformat()}: {t.amount_pence // 100}.{t.amount_pence % 100:02d}" for t in body.tranches
                ),
            },
            budgets=Budget.objects.filter(pk=budget.pk),
        )
        if not form.is_valid():
            return 422, field_errors("body", form_errors(form))
        try:
            made = funding.commit_to_payee(user=user, **form.service_kwargs())
        except funding.FundingError as e:
            return 400, {"detail": e.message, "field": e.field}
        return 201, _detail(
            PayeeCommitment.objects.select_related("commitment__budget__line__programme", "commitment__created_by").get(
                pk=made.pk
            )
        )

    try:
        status, answer = idempotency.once(
            request, user, "create_payee_commitment", {"budget": budget_id, **body.dict()}, write
        )
    except idempotency.KeyProblem as e:
        return Status(e.status, {"detail": str(e)})
    return Status(status, answer)
