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
from apps.cases.models import OPEN, Case, Package, Referral, Status
from apps.cases.tables import CaseFilter, CaseTable
from apps.core.exports import FORMATS
from apps.core.tables import configure, download_table


def queue(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if access.can_see_case_aggregates(user):
        return _national_summary(request)
    if policy.is_lmc(user):
        noms = Referral.objects.filter(made_by=user).select_related("case__practice").order_by("-made_at")
        return render(request, "cases/nominations.jinja", {"nominations": noms})
    if not access.can_see_case_queue(user):
        raise PermissionDenied
    today = timezone.localdate()
    visible = access.cases_visible_to(user)
    found = CaseFilter(request.GET, visible, today=today)
    qs = found.qs.select_related("practice", "provider")
    qs = qs.annotate(waiting=Count("packages", filter=Q(packages__state=Package.State.SUBMITTED)))
    table = CaseTable(qs.order_by("opened_at", "pk"), today=today)
    fmt = request.GET.get("download", "")
    if fmt in FORMATS:
        return download_table(request, table, "cases", fmt)
    configure(request, table)
    overdue_only = found.form.cleaned_data.get("overdue") == "1"
    ctx = {
        "table": table,
        "filters": found,
        "counts": Counter(visible.filter(status__in=OPEN).values_list("status", flat=True)),
        "statuses": Status.choices,
        "overdue_n": table.page.paginator.count if overdue_only else qs.overdue(today).count(),
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
