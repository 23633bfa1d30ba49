"""The ICB's "Case clocks" page: the target of every stage clock in force for the ICB, where each default comes
from, and (for the team lead) a form to set the ICB's own. Parse → authorise → service → render."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from apps.accounts.models import User
from apps.cases import clocks, policy
from apps.cases.models import ClockTarget
from apps.core.errors import DomainError
from apps.core.forms import add_refusal, form_errors

TEMPLATE = "cases/clocks.jinja"
HISTORY_SHOWN = 50


class ClockTargetsForm(forms.Form):
    """One whole number of working days per clock (keys from ``clocks.toml``)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for t in clocks.default_targets():
            self.fields[t.key] = forms.IntegerField(
                label=t.label,
                min_value=1,
                max_value=clocks.MAX_TARGET_DAYS,
                error_messages={
                    "required": f"Enter the working days for “{t.label}”.",
                    "invalid": f"Enter the working days for “{t.label}” as a whole number, for example 10.",
                    "min_value": f"Enter at least 1 working day for “{t.label}”.",
                    "max_value": f"Enter at most {clocks.MAX_TARGET_DAYS} working days for “{t.label}”.",
                },
            )


def clock_targets(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if not policy.can_see_clock_targets(user):
        raise PermissionDenied
    icb_id = user.icb_id
    assert icb_id is not None  # a case team always has its ICB
    can_change = policy.can_change_clock_targets(user)
    current = clocks.targets_for(icb_id)
    form = ClockTargetsForm(initial=current)
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied
        form = ClockTargetsForm(request.POST)
        if form.is_valid():
            try:
                with transaction.atomic():
                    changed = [
                        row
                        for key, days in form.cleaned_data.items()
                        if (row := clocks.set_target(icb_id, key, days, user)) is not None
                    ]
            except DomainError as exc:
                add_refusal(form, exc)
            else:
                messages.success(request, f"{len(changed)} clock target{'s' if len(changed) != 1 else ''} changed.")
                return redirect("cases:clock_targets")
    ctx = {
        "targets": clocks.default_targets(),
        "current": current,
        "form": form,
        "values": {k: form.data.get(k, current[k]) if form.is_bound else current[k] for k in current},
        "errors": form_errors(form) if form.is_bound else {},
        "can_change": can_change,
        "history": ClockTarget.objects.filter(icb_id=icb_id).select_related("set_by")[:HISTORY_SHOWN],
        "holidays": clocks.holidays(),
        "labels": {t.key: t.label for t in clocks.default_targets()},
    }
    return render(request, TEMPLATE, ctx, status=400 if form.is_bound and form.errors else 200)
