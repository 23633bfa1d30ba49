"""The menu of support with what each offer costs this user's ICB and where the figure comes from, and the page on
which an ICB team sets its own price for an offer (issue 17 §5). Rules: ``apps.cases.services.prices``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from analytics.menu.offers import source_label
from apps.cases import policy as access
from apps.cases.models import LocalPrice, SupportOffer
from apps.cases.services import prices
from apps.core.errors import DomainError
from apps.core.fields import PoundsField
from apps.core.forms import add_refusal, form_errors, refusal, typed
from apps.practices.models import ICB


class LocalPriceForm(forms.Form):
    price = PoundsField(what="Price", error_messages={"required": "Enter the price of one unit, in pounds"})
    reason = forms.CharField(
        max_length=2000,
        error_messages={"required": "Say where the price comes from: a quote, a contract, a local tariff"},
    )

    def __init__(self, *args: Any, offer: SupportOffer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.offer = offer

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for problem in prices.check_local_price(self.offer, data.get("price"), data.get("reason", "") or ""):
            if problem.field not in self.errors:
                add_refusal(self, problem)
        return data


def _icb_of(request: HttpRequest) -> ICB | None:
    user = request.user
    return getattr(user, "icb", None) if access.is_case_team(user) else None  # type: ignore[arg-type]


def menu(request: HttpRequest) -> HttpResponse:
    """Every offer, with the price in force for the user's ICB and its basis ('source: …', 'local estimate …')."""
    if not access.is_signed_in(request.user):
        raise PermissionDenied
    icb = _icb_of(request)
    local = prices.in_force(icb) if icb is not None else {}
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for o in SupportOffer.objects.filter(active=True):
        mine = local.get(o.pk)
        groups.setdefault((o.programme, o.heading), []).append(
            {
                "offer": o,
                "price": mine.price_pence if mine else o.unit_cost_pence,
                "price_label": prices.local_price_label(mine) if mine else source_label(o.price_source),
                "menu_label": source_label(o.price_source),
                "effect_label": source_label(o.effect_source),
                "local": mine,
            }
        )
    return render(request, "cases/menu.jinja", {"groups": groups, "icb": icb})


def local_price(request: HttpRequest, code: str) -> HttpResponse:
    """An ICB team sets its own price for one offer; the page lists every price it has set for it."""
    icb = _icb_of(request)
    if icb is None or not access.can_set_local_price(request.user, icb.pk):  # type: ignore[arg-type]
        raise PermissionDenied
    offer = get_object_or_404(SupportOffer, code=code, active=True)
    form = LocalPriceForm(request.POST if request.method == "POST" else None, offer=offer)
    if form.is_valid():
        try:
            p = prices.set_local_price(
                request.user,  # type: ignore[arg-type]
                icb,
                offer,
                form.cleaned_data["price"],
                form.cleaned_data["reason"],
            )
        except DomainError as e:
            add_refusal(form, e)
        else:
            messages.success(request, f"{icb.short_name}'s price for {offer.title} is now £{p.price_pence / 100:,.2f}.")
            return redirect("cases:menu")
    price, label = prices.price_for(offer, icb)
    ctx = {
        "offer": offer,
        "icb": icb,
        "price": price,
        "label": label,
        "menu_label": source_label(offer.price_source),
        "history": LocalPrice.objects.filter(icb=icb, offer=offer).select_related("set_by"),
        "shown": typed(form) if form.is_bound else {"price": "", "reason": ""},
    }
    if form.is_bound:
        return refusal(request, "cases/local_price.jinja", ctx, form_errors(form))
    return render(request, "cases/local_price.jinja", {**ctx, "errors": {}})
