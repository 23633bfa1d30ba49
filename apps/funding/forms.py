"""Every money write reads its input here: programme and line set-up, allocation, release, payments (page and API),
virements, and the four-eyes decision on either.

A form turns what people type into typed values and says, per field, what it could not read (``£1,250.00`` and
``1250`` are both £1,250; ``12.345`` and ``1,25`` are refused in words). The rules about money itself stay in the
services: a view calls the service with ``form.cleaned_data`` and, when it refuses, puts the
:class:`~apps.funding.errors.FundingError` on the form with :func:`add_problems`, so a page shows the form's
errors and the service's together, all at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from django import forms
from django.db.models import QuerySet

from analytics import money
from apps.core.fields import PoundsField, RecordField
from apps.core.formdata import posted_whole
from apps.core.forms import add_refusal
from apps.funding.errors import FundingError
from apps.funding.models import Commitment, Formula, FundingYear, PayeeKind, Payment, Release
from apps.funding.programme_form import MAX_LINES, ProgrammeForm, parse_profile
from apps.funding.services.ledger import MIN_REASON, parse_pounds, pounds
from apps.funding.services.setup import parse_shares


def add_problems(form: forms.BaseForm, error: FundingError) -> None:
    """Every problem of a service's refusal on the form, each on its field when the form has it."""
    for problem in error.problems:
        add_refusal(form, problem)


def _year_field(years: Sequence[FundingYear], blank: str | None = None) -> forms.TypedChoiceField:
    choices = [(str(y.fy), money.fy_label(y.fy)) for y in years]
    return forms.TypedChoiceField(
        choices=([("", blank)] if blank else []) + choices,
        coerce=lambda v: posted_whole(v) or 0,
        error_messages={
            "required": "Choose one of the line's financial years",
            "invalid_choice": "Choose one of the line's financial years",
        },
    )


# Allocation and release ---------------------------------------------------------------------------------------


class AllocationForm(forms.Form):
    """A year of the line, an amount (empty: all that is not yet allocated), a formula and, for fixed shares,
    the shares; ``action`` is preview or confirm, and a confirm carries the preview's ``fingerprint``."""

    amount = PoundsField(required=False, what="Amount")
    formula = forms.ChoiceField(
        choices=Formula.choices, error_messages={"invalid_choice": "Choose an allocation formula"}
    )
    shares = forms.CharField(max_length=20_000, required=False)
    # Sent by the page's two buttons and its hidden field, never typed: anything but "confirm" previews, and a
    # fingerprint that is not the preview's is refused by the service ("the split has changed"), not by the form.
    action = forms.CharField(required=False)
    fingerprint = forms.CharField(required=False)

    def __init__(self, *args: Any, years: Sequence[FundingYear], free: dict[int, int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields = {"fy": _year_field(years), **self.fields}
        self.free = free

    def clean_action(self) -> str:
        return "confirm" if self.cleaned_data.get("action") == "confirm" else "preview"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        fy = data.get("fy")
        if fy and data.get("amount") is None and "amount" not in self.errors:
            data["amount"] = self.free.get(fy, 0)
        data["shares_parsed"] = None
        if data.get("formula") == Formula.FIXED_SHARES:
            try:
                data["shares_parsed"] = parse_shares(data.get("shares", ""))
            except FundingError as e:
                self.add_error("shares", e.message)
        return data


class ReleaseForm(forms.Form):
    amount = PoundsField(what="Amount", error_messages={"required": "Enter amount in pounds"})
    note = forms.CharField(
        max_length=Release._meta.get_field("note").max_length,  # type: ignore[arg-type]
        error_messages={
            "required": "Say what this release is, e.g. 'First tranche: £16m of £40m'",
            "max_length": "Keep the note to 300 characters or fewer",
        },
    )

    def __init__(self, *args: Any, years: Sequence[FundingYear], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields = {"fy": _year_field(years, "Choose a year"), **self.fields}


# Payments -----------------------------------------------------------------------------------------------------


class PaymentForm(forms.Form):
    """A provider invoice or a direct payment against one of the ICB's commitments. The page types the amount in
    pounds; the API sends ``amount_pence`` (:meth:`from_api`). The rules (four eyes, unpaid amount, one payment per
    invoice) are the service's."""

    reference = forms.CharField(max_length=60, error_messages={"required": "Choose one of this ICB's commitments"})
    kind = forms.ChoiceField(
        choices=Payment.Kind.choices,
        error_messages={
            "required": "Choose a provider invoice or a direct payment to a practice",
            "invalid_choice": "Choose a provider invoice or a direct payment to a practice",
        },
    )
    payee = forms.CharField(max_length=200, required=False)
    practice_code = forms.CharField(max_length=8, required=False)
    invoice_number = forms.CharField(max_length=60, required=False)
    offer_code = forms.CharField(max_length=60, required=False)
    session_refs = forms.CharField(max_length=20_000, required=False)
    amount = PoundsField(what="Amount", error_messages={"required": "Enter amount in pounds"})
    memo = forms.CharField(max_length=2000, required=False)
    # A commitment to a payee outside a case is paid tranche by tranche (1 = the first date of its schedule);
    # whether one is needed is the service's rule.
    tranche = forms.CharField(max_length=10, required=False)

    def __init__(self, *args: Any, commitments: QuerySet[Commitment], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commitments = commitments

    @classmethod
    def from_api(cls, body: dict[str, Any], reference: str, commitments: QuerySet[Commitment]) -> PaymentForm:
        """The API's JSON body read through the same form: pence as an exact amount, references one a line."""
        pence = int(body.get("amount_pence") or 0)
        data = {
            **{k: v for k, v in body.items() if k not in ("amount_pence", "session_refs")},
            "reference": reference,
            "session_refs": "\n".join(body.get("session_refs") or []),
            "tranche": str(body.get("tranche") or ""),
            "amount": f"{pence // 100}.{pence % 100:02d}" if pence > 0 else "",
        }
        return cls(data, commitments=commitments)

    def clean_reference(self) -> str:
        reference = self.cleaned_data["reference"]
        if not self.commitments.filter(reference=reference).exists():
            raise forms.ValidationError("Choose one of this ICB's commitments")
        return str(reference)

    def clean_tranche(self) -> int | None:
        raw = self.cleaned_data.get("tranche", "")
        if not raw:
            return None
        number = posted_whole(raw)
        if not number or number > 1000:
            raise forms.ValidationError("Choose one of the commitment's tranches, by its number (1 is the first)")
        return number

    def clean_session_refs(self) -> list[str]:
        text = self.cleaned_data.get("session_refs", "")
        return [s.strip() for s in text.replace(",", "\n").splitlines() if s.strip()]

    def service_kwargs(self) -> dict[str, Any]:
        """The cleaned values as ``services.record_payment`` takes them."""
        data = dict(self.cleaned_data)
        data["amount_pence"] = data.pop("amount")
        return data


# Commitments outside cases ------------------------------------------------------------------------------------


def parse_tranches(text: str) -> list[tuple[date, int]]:
    """'2026-09-30: 15,000' (or '30/09/2026: 15,000') per line → [(date, pence)]; :class:`FundingError` on the
    ``schedule`` field naming the line it could not read."""
    out: list[tuple[date, int]] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if ":" not in line:
            raise FundingError(
                f"Tranche line {n}: write the date and the amount, like '2026-09-30: 15,000'", "schedule"
            )
        day, amount = (p.strip() for p in line.split(":", 1))
        due = _day(day)
        if due is None:
            raise FundingError(f"Tranche line {n}: {day[:40]} is not a date like 2026-09-30 or 30/09/2026", "schedule")
        out.append((due, parse_pounds(amount, f"Tranche line {n} amount", "schedule")))
    return out


def _check_adds_up(form: forms.Form, data: dict[str, Any]) -> None:
    """The tranches add up to the amount: said on the form with its other problems, before the service is asked
    (which checks it again, with the budget's year)."""
    amount, plan = data.get("amount"), data.get("schedule")
    if amount and plan and sum(a for _, a in plan) != amount:
        form.add_error("schedule", f"The tranches add up to {pounds(sum(a for _, a in plan))}, not {pounds(amount)}")


def _reason(form: forms.Form) -> str:
    reason = str(form.cleaned_data.get("reason", "")).strip()
    if len(reason) < MIN_REASON:
        raise forms.ValidationError(f"Give a reason of at least {MIN_REASON} characters")
    return reason


def _day(text: str) -> date | None:
    if not text.isascii():  # "２０２６" is not a date anyone typed here
        return None
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


class PayeeCommitmentForm(forms.Form):
    """A commitment to a payee outside a case (``services.commit_to_payee``): one of the ICB's budgets, the payee,
    the purpose, the amount and its tranches, one a line. The page and the API read it alike."""

    kind = forms.ChoiceField(
        choices=PayeeKind.choices,
        error_messages={
            "required": "Choose what kind of payee this is",
            "invalid_choice": "Choose what kind of payee this is",
        },
    )
    name = forms.CharField(
        max_length=200,
        error_messages={"required": "Enter the payee's name", "max_length": "Keep the payee's name to 200 characters"},
    )
    organisation = forms.CharField(
        max_length=12, required=False, error_messages={"max_length": "An organisation code is up to 12 characters"}
    )
    purpose = forms.CharField(
        max_length=2000,
        error_messages={
            "required": "Say what the money pays for",
            "max_length": "Keep the purpose to 2,000 characters",
        },
    )
    amount = PoundsField(what="Amount", error_messages={"required": "Enter the amount in pounds"})
    schedule = forms.CharField(
        max_length=5000, error_messages={"required": "Give the schedule of payments: each tranche's date and amount"}
    )

    def __init__(self, *args: Any, budgets: QuerySet[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields = {"budget": RecordField(budgets, missing="Choose one of this ICB's budgets"), **self.fields}

    def clean_schedule(self) -> list[tuple[date, int]]:
        try:
            return parse_tranches(self.cleaned_data.get("schedule", ""))
        except FundingError as e:
            raise forms.ValidationError(e.message) from e

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _check_adds_up(self, data)
        return data

    def service_kwargs(self) -> dict[str, Any]:
        """The cleaned values as ``services.commit_to_payee`` takes them."""
        c = self.cleaned_data
        return {
            "budget": c["budget"],
            "kind": c["kind"],
            "name": c["name"],
            "organisation_code": c.get("organisation", ""),
            "purpose": c["purpose"],
            "amount_pence": c["amount"],
            "tranches": c["schedule"],
        }


class PayeeVariationForm(forms.Form):
    """A payee's commitment restated (``services.vary_payee_commitment``): the new amount, its tranches one a line,
    and why."""

    amount = PoundsField(what="New amount", error_messages={"required": "Enter the new amount in pounds"})
    schedule = forms.CharField(
        max_length=5000,
        error_messages={"required": "Give the new schedule of payments: each tranche's date and amount"},
    )
    reason = forms.CharField(
        max_length=5000, error_messages={"required": f"Give a reason of at least {MIN_REASON} characters"}
    )

    def clean_schedule(self) -> list[tuple[date, int]]:
        try:
            return parse_tranches(self.cleaned_data.get("schedule", ""))
        except FundingError as e:
            raise forms.ValidationError(e.message) from e

    def clean_reason(self) -> str:
        return _reason(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _check_adds_up(self, data)
        return data


class CancelForm(forms.Form):
    """Cancel a commitment (``services.decommit``): what is not paid goes back to the budget."""

    reason = forms.CharField(
        max_length=5000, error_messages={"required": f"Give a reason of at least {MIN_REASON} characters"}
    )

    def clean_reason(self) -> str:
        return _reason(self)


# Virements ----------------------------------------------------------------------------------------------------


class VirementForm(forms.Form):
    amount = PoundsField(what="Amount", error_messages={"required": "Enter amount in pounds"})
    reason = forms.CharField(
        max_length=5000, error_messages={"required": f"Give a reason of at least {MIN_REASON} characters"}
    )

    def __init__(self, *args: Any, sources: QuerySet[Any], targets: QuerySet[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields = {
            "from_budget": RecordField(sources, missing="Choose the budget to move money from"),
            "to_budget": RecordField(targets, missing="Choose the budget to move money to"),
            **self.fields,
        }


# Four-eyes decisions ------------------------------------------------------------------------------------------


class DecisionForm(forms.Form):
    """Approve or reject one request awaiting a decision (a payment or a virement, named by ``record``); the note
    is needed to reject (the service says so)."""

    action = forms.ChoiceField(
        choices=[("approve", "Approve"), ("reject", "Reject")],
        error_messages={"invalid_choice": "Choose to approve or reject"},
    )
    note = forms.CharField(max_length=5000, required=False)

    def __init__(self, *args: Any, record: str, requests: QuerySet[Any], what: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.record_field = record
        self.fields[record] = RecordField(requests, missing=f"Choose one of the {what}s listed")

    @property
    def record(self) -> Any:
        return self.cleaned_data[self.record_field]

    def errors_for_page(self) -> dict[str, str]:
        """``{anchor: message}`` for the page's error summary: the note box of the request's row, or no anchor (the
        hidden id and the buttons have none)."""
        row = self.cleaned_data.get(self.record_field) if hasattr(self, "cleaned_data") else None
        out: dict[str, str] = {}
        for name, messages in self.errors.items():
            key = f"note-{row.pk}" if name == "note" and row is not None else ""
            text = "; ".join(str(m) for m in messages)
            out[key] = f"{out[key]}; {text}" if key in out else text
        return out


__all__ = [
    "MAX_LINES",
    "AllocationForm",
    "CancelForm",
    "DecisionForm",
    "PayeeCommitmentForm",
    "PayeeVariationForm",
    "PaymentForm",
    "PoundsField",
    "ProgrammeForm",
    "RecordField",
    "ReleaseForm",
    "VirementForm",
    "add_problems",
    "parse_profile",
    "parse_tranches",
]
