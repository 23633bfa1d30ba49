"""Published spend: public totals by ICB and offer, and the 360Giving JSON and spreadsheet downloads."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from analytics import money
from apps.core.exports import table_download
from apps.funding import giving, reports

# Public spend -------------------------------------------------------------------------------------------------


@login_not_required
def spend(request: HttpRequest) -> HttpResponse:
    """Published spend: totals by ICB and by offer, open to everyone, and the 360Giving downloads."""
    published = giving.published_spend()
    grants = published.grants
    by_icb: dict[tuple[int, str], dict[str, int]] = {}
    for g in grants:
        where = g.icb.short_name if g.icb else "Several ICBs (groups of fewer than 5 practices)"
        t = by_icb.setdefault((g.fy, where), {"awarded": 0, "disbursed": 0})
        t["awarded"] += g.awarded_pence
        t["disbursed"] += g.disbursed_pence
    icb_rows = sorted(by_icb.items(), key=lambda x: (-x[0][0], x[0][1]))
    context = {
        "published": published,
        "icb_rows": icb_rows,
        "offer_rows": reports.spend_by_offer(),
        "awarded": sum(g.awarded_pence for g in grants),
        "disbursed": sum(g.disbursed_pence for g in grants),
        "fy_label": money.fy_label,
    }
    return render(request, "funding/spend.jinja", context)


@login_not_required
def spend_json(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(giving.package_json(giving.published_grants()), json_dumps_params={"indent": 1})
    response["Content-Disposition"] = 'attachment; filename="gp-resilience-360giving.json"'
    return response


@login_not_required
def spend_xlsx(request: HttpRequest) -> HttpResponse:
    grants = giving.published_grants()
    rows = giving.spreadsheet_rows(grants)
    return table_download(rows, giving.SPREADSHEET_COLUMNS, "gp-resilience-360giving", "xlsx")
