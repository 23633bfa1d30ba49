"""The support evaluation page: did support work? It reads the cases' approved packages and the indicators'
national history, so it belongs to cases, the app above both; its address stays under /indicators/."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from analytics import support_eval
from apps.accounts.access import require
from apps.cases.support_evaluation import evaluate_support_for_page
from apps.indicators.policy import can_see_backtest


@require(can_see_backtest)
def support_evaluation_page(request: HttpRequest) -> HttpResponse:
    """Supported practices against matched comparisons (aggregates only), with the method in words."""
    context = {"result": evaluate_support_for_page(), "m": support_eval}
    return render(request, "indicators/support_evaluation.jinja", context)
