"""Helpers shared by the money pages."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone

from analytics import money
from apps.core.formdata import posted_whole
from apps.practices.models import Region


def _fy(request: HttpRequest) -> int:
    # posted_whole, not str.isdigit: "²" passes isdigit and then int() fails (a server error)
    fy = posted_whole(request.GET.get("fy"))
    return fy if fy is not None and 2000 <= fy <= 2100 else money.financial_year_of(timezone.localdate())


def _short_region(region: Region | None) -> str:
    if region is None:
        return "No region"
    words = region.name.replace(" and ", " & ").split()
    return "".join(w[0] for w in words if w[0].isupper()) if len(words) > 2 else region.name
