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
from apps.funding.forms import CancelForm, PayeeCommitmentForm, PayeeVariationForm, PaymentForm, add_problems
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


def _act(user: User, commitment: Commitment, action: str, data: dict[str, str]) -> tuple[str, dict[str, str]]:
    """Record a tranche's payment, vary or cancel: the success message, or the errors keyed by the page's field ids
    (the variation's and the cancellation's fields are prefixed, as the three forms share one page)."""
    form: PaymentForm | PayeeVariationForm | CancelForm
    if action == "vary":
        form = PayeeVariationForm(data)
    elif action == "cancel":
        form = CancelForm(data)
    else:
        form = PaymentForm(
            {**data, "reference": commitment.reference, "kind": Payment.Kind.INVOICE},
            commitments=Commitment.objects.filter(pk=commitment.pk),
        )
    if form.is_valid():
        c = form.cleaned_data
        try:
            if isinstance(form, PayeeVariationForm):
                services.vary_payee_commitment(
                    reference=commitment.reference,
                    user=user,
                    amount_pence=c["amount"],
                    tranches=c["schedule"],
                    reason=c["reason"],
                )
                return "Commitment varied: the difference is in the ledger.", {}
            if isinstance(form, CancelForm):
                services.decommit(reference=commitment.reference, user=user, reason=c["reason"])
                return "Commitment cancelled: what was not paid is back in the budget.", {}
            services.record_payment(user=user, **form.service_kwargs())
            return "Payment recorded: a colleague in the ICB team approves it on Payments.", {}
        except FundingError as e:
            add_problems(form, e)
    prefix = "" if action == "pay" else f"{action}-"
    return "", {(f"{prefix}{k}" if k else ""): v for k, v in form_errors(form).items()}


def _typed(pence: int) -> str:
    return f"{pence // 100:,}.{pence % 100:02d}"


def _form_data(payee: PayeeCommitment, posted: dict[str, str]) -> dict[str, dict[str, str]]:
    """What each of the page's three forms shows: what was posted to it, else the payee's name on the payment and
    the current amount and tranches on the variation (so a variation starts from what is committed)."""
    action = posted.get("action", "")
    plan = services.schedule_of(payee.commitment)
    return {
        "data": posted if posted and action not in ("vary", "cancel") else {"payee": payee.name},
        "vary_data": posted
        if action == "vary"
        else {
            "amount": _typed(payee.commitment.amount_pence),
            "schedule": "\n".join(f"{d.isoformat()}: {_typed(a)}" for d, a in plan),
        },
        "cancel_data": posted if action == "cancel" else {},
    }


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
        action = request.POST.get("action", "")
        done, errors = _act(user, commitment, action if action in ("vary", "cancel") else "pay", request.POST.dict())
        if done:
            messages.success(request, done)
            return redirect("funding:payee", code=icb.code, reference=commitment.reference)
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
        **_form_data(payee, request.POST.dict() if request.method == "POST" else {}),
    }
    if errors:
        return refusal(request, "funding/payee_detail.jinja", context, errors)
    return render(request, "funding/payee_detail.jinja", {**context, "errors": {}})
