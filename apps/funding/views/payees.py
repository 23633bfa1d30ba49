"""Commitments outside cases (issue 17 §4): the ICB's list of commitments to payees that are not a practice case
(committed, paid, remaining), the form that makes one, and one commitment's page (its tranches, payments and ledger
history, and recording the payment of a tranche). The national team sees totals by kind of payee only."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from analytics import money
from apps.accounts.models import User
from apps.core.forms import form_errors, refusal
from apps.core.paging import page_of, query_without
from apps.funding import services
from apps.funding.errors import FundingError
from apps.funding.forms import PayeeCommitmentForm, PaymentForm, add_problems
from apps.funding.models import Budget, Commitment, LedgerEntry, PayeeCommitment, PayeeKind, Payment
from apps.funding.policy import can_act_on_budget, can_see_practice_money, get_budget_icb_for
from apps.funding.views.common import _fy


def payee_list(request: HttpRequest, code: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    icb = get_budget_icb_for(user, code)
    fy = _fy(request)
    detail = can_see_practice_money(user, icb)  # the national team: totals by kind, no payee named
    context = {
        "icb": icb,
        "fy": fy,
        "fy_label": money.fy_label(fy),
        "detail": detail,
        "can_act": can_act_on_budget(user, icb),
        "totals": services.payee_totals(type(icb).objects.filter(pk=icb.pk), fy),
        "page": page_of(services.payee_commitments(icb, fy), request.GET.get("page")) if detail else None,
        "query_no_page": query_without(request.GET, "page"),
    }
    return render(request, "funding/payee_list.jinja", context)


def payee_new(request: HttpRequest, code: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    icb = get_budget_icb_for(user, code)
    if not can_act_on_budget(user, icb):
        raise PermissionDenied
    budgets = Budget.objects.filter(icb=icb, fy=money.financial_year_of(timezone.localdate())).select_related(
        "line__programme", "icb"
    )
    context = {
        "icb": icb,
        "budgets": services.with_balances(budgets),
        "kinds": PayeeKind.choices,
        "data": request.POST.dict(),
        "errors": {},
    }
    if request.method != "POST":
        return render(request, "funding/payee_new.jinja", context)
    form = PayeeCommitmentForm(request.POST, budgets=budgets)
    if form.is_valid():
        try:
            made = services.commit_to_payee(user=user, **form.service_kwargs())
        except FundingError as e:
            add_problems(form, e)
        else:
            messages.success(request, f"{services.pounds(made.amount_pence)} committed as {made.reference}.")
            return redirect("funding:payee", code=icb.code, reference=made.reference)
    return refusal(request, "funding/payee_new.jinja", context, form_errors(form))


def payee_detail(request: HttpRequest, code: str, reference: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    icb = get_budget_icb_for(user, code)
    if not can_see_practice_money(user, icb):  # one payee's commitment is a row: its own ICB's team only
        raise PermissionDenied
    payee = (
        PayeeCommitment.objects.select_related("commitment__budget__line__programme", "commitment__created_by")
        .filter(commitment__reference=reference, commitment__budget__icb=icb)
        .first()
    )
    if payee is None:
        raise Http404("No such commitment")
    commitment = payee.commitment
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = PaymentForm(
            {**request.POST.dict(), "reference": commitment.reference, "kind": Payment.Kind.INVOICE},
            commitments=Commitment.objects.filter(pk=commitment.pk),
        )
        if form.is_valid():
            try:
                services.record_payment(user=user, **form.service_kwargs())
            except FundingError as e:
                add_problems(form, e)
            else:
                messages.success(request, "Payment recorded: a colleague in the ICB team approves it on Payments.")
                return redirect("funding:payee", code=icb.code, reference=commitment.reference)
        errors = form_errors(form)
    context = {
        "icb": icb,
        "payee": payee,
        "commitment": commitment,
        "paid_pence": commitment.paid_pence,
        "tranches": services.tranches_of(commitment),
        "payments": commitment.payments.select_related("requested_by", "decided_by").order_by("requested_at", "pk"),
        "history": LedgerEntry.objects.filter(commitment=commitment)
        .select_related("created_by")
        .order_by("created_at", "pk"),
        "can_act": can_act_on_budget(user, icb),
        "data": request.POST.dict() if request.method == "POST" else {"payee": payee.name},
    }
    if errors:
        return refusal(request, "funding/payee_detail.jinja", context, errors)
    return render(request, "funding/payee_detail.jinja", {**context, "errors": {}})
