"""Lists of cases: the ICB queue (or the LMC's nominations, or national's counts), the triage matrix, the menu."""

from __future__ import annotations

from collections import Counter

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from apps.accounts.http import user_of
from apps.cases import policy, services
from apps.cases import policy as access
from apps.cases.config import triage_levels
from apps.cases.models import ENDED, OPEN, Case, Package, Referral, Status
from apps.core.exports import FORMATS, table_download
from apps.core.paging import page_of, query_without

STATUS_FILTERS = {"open": "Open cases", "ended": "Closed, declined or withdrawn", "all": "All cases"}


def queue(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if access.can_see_case_aggregates(user):
        return _national_summary(request)
    if policy.is_lmc(user):
        noms = Referral.objects.filter(made_by=user).select_related("case__practice").order_by("-made_at")
        return render(request, "cases/nominations.jinja", {"nominations": noms})
    if not access.can_see_case_queue(user):
        raise PermissionDenied
    show = request.GET.get("show", "open")
    show = show if show in STATUS_FILTERS else "open"
    status = request.GET.get("status", "")
    overdue_only = request.GET.get("overdue") == "1"
    qs = access.cases_visible_to(user).select_related("practice", "provider")
    if show == "open":
        qs = qs.filter(status__in=OPEN)
    elif show == "ended":
        qs = qs.filter(status__in=ENDED)
    if status in Status.values:
        qs = qs.filter(status=status)
    today = timezone.localdate()
    if overdue_only:
        qs = qs.overdue(today)
    qs = qs.annotate(waiting=Count("packages", filter=Q(packages__state=Package.State.SUBMITTED)))
    qs = qs.order_by("opened_at", "pk")
    fmt = request.GET.get("download", "")
    if fmt in FORMATS:
        rows = [(c, c.overdue_reasons(today)) for c in qs]
        table = [
            (
                c.ref,
                c.practice.code,
                c.practice.name,
                c.get_status_display(),
                c.get_urgency_display(),
                c.opened_at.date().isoformat(),
                c.triage_scope,
                c.triage_impact,
                "; ".join(r),
            )
            for c, r in rows
        ]
        cols = ["case", "ods_code", "practice", "status", "urgency", "opened", "scope", "impact", "overdue"]
        return table_download(table, cols, "cases", fmt)
    counts = Counter(access.cases_visible_to(user).filter(status__in=OPEN).values_list("status", flat=True))
    page = page_of(qs, request.GET.get("page"))
    ctx = {
        "page": page,
        "rows": [(c, c.overdue_reasons(today)) for c in page.object_list],
        "query_no_page": query_without(request.GET, "page", "download"),
        "show": show,
        "shows": STATUS_FILTERS,
        "status": status,
        "statuses": Status.choices,
        "overdue_only": overdue_only,
        "counts": counts,
        "overdue_n": page.paginator.count if overdue_only else qs.overdue(today).count(),
        "query": request.GET.urlencode(),
    }
    return render(request, "cases/queue.jinja", ctx)


def _national_summary(request: HttpRequest) -> HttpResponse:
    """Counts by ICB and status; no practice is named."""
    from apps.practices.models import ICB

    by = services.case_counts()
    icbs = ICB.objects.select_related("region").order_by("region__name", "name")
    rows = [(icb, [by.get((icb.pk, s), 0) for s in Status.values]) for icb in icbs]
    totals = [sum(r[1][i] for r in rows) for i in range(len(Status.values))]
    return render(request, "cases/national.jinja", {"rows": rows, "statuses": Status.choices, "totals": totals})


def matrix(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if not policy.can_see_matrix(user):
        raise PermissionDenied
    scopes, impacts = triage_levels()
    cases = list(access.cases_visible_to(user).filter(status__in=OPEN).select_related("practice"))
    cells: dict[tuple[str, str], list[Case]] = {}
    untriaged = []
    for c in cases:
        if c.triage_scope and c.triage_impact:
            cells.setdefault((c.triage_scope, c.triage_impact), []).append(c)
        else:
            untriaged.append(c)
    ctx = {"scopes": scopes, "impacts": impacts, "cells": cells, "untriaged": untriaged, "icb": user.icb}
    return render(request, "cases/matrix.jinja", ctx)
