"""The national team sets a programme's rules: its year-end "at risk" threshold (``apps.funding.reports.at_risk``), a
percentage of the money released, and whether money may move between its lines (``Programme.virement_rule``); each
read through a form and saved by a service (audited as a change to the programme)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from apps.accounts.access import require
from apps.core.forms import form_errors, typed
from apps.funding.models import Programme, VirementRule
from apps.funding.policy import can_manage_funding
from apps.funding.reports import DEFAULT_AT_RISK_BP, MAX_AT_RISK_BP
from apps.funding.services.setup import set_at_risk_threshold, set_virement_rule

TEMPLATE = "funding/threshold.jinja"


class ThresholdForm(forms.Form):
    # Django fills its error messages with "%" formatting: a literal per cent sign is written "%%".

    percent = forms.DecimalField(
        min_value=Decimal("0"),
        max_value=Decimal(MAX_AT_RISK_BP) / 100,
        decimal_places=2,
        max_digits=5,
        error_messages={
            "required": "Enter the threshold as a percentage, for example 5.",
            "invalid": "Enter the threshold as a number, for example 5 or 2.5.",
            "min_value": "Enter a threshold of 0%% or more.",
            "max_value": f"Enter a threshold of at most {MAX_AT_RISK_BP // 100}%%.",
            "max_decimal_places": "Enter the threshold to at most two decimal places, for example 2.25.",
            "max_digits": "Enter the threshold as a number, for example 5 or 2.5.",
        },
    )

    def threshold_bp(self) -> int:
        return int(self.cleaned_data["percent"] * 100)


@require(can_manage_funding)
def programme_threshold(request: HttpRequest, code: str) -> HttpResponse:
    programme = get_object_or_404(Programme, code=code.upper())
    form = ThresholdForm(request.POST or None, initial={"percent": Decimal(programme.at_risk_threshold_bp) / 100})
    if request.method == "POST" and form.is_valid():
        if set_at_risk_threshold(programme, form.threshold_bp()):
            messages.success(
                request, f"The year-end threshold of {programme.name} is now {form.cleaned_data['percent']}%."
            )
        return redirect("funding:programme", code=programme.code)
    ctx = {
        "programme": programme,
        "value": typed(form)["percent"] if form.is_bound else f"{programme.at_risk_threshold_bp / 100:g}",
        "errors": form_errors(form) if form.is_bound else {},
        "default_percent": DEFAULT_AT_RISK_BP / 100,
    }
    return render(request, TEMPLATE, ctx, status=400 if form.is_bound else 200)


class VirementRuleForm(forms.Form):
    rule = forms.ChoiceField(
        choices=VirementRule.choices,
        error_messages={
            "required": "Choose whether money may move between the programme's lines",
            "invalid_choice": "Choose whether money may move between the programme's lines",
        },
    )


@require(can_manage_funding)
def programme_virement_rule(request: HttpRequest, code: str) -> HttpResponse:
    programme = get_object_or_404(Programme, code=code.upper())
    form = VirementRuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if set_virement_rule(programme, form.cleaned_data["rule"]):
            messages.success(
                request, f"{programme.name}: {programme.get_virement_rule_display().lower()}, from now on."
            )
        return redirect("funding:programme", code=programme.code)
    ctx = {
        "programme": programme,
        "rules": VirementRule.choices,
        "value": typed(form)["rule"] if form.is_bound else programme.virement_rule,
        "errors": form_errors(form) if form.is_bound else {},
    }
    return render(request, "funding/virement_rule.jinja", ctx, status=400 if form.is_bound else 200)
