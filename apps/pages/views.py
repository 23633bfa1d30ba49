from __future__ import annotations

from datetime import date
from itertools import chain
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from apps.accounts.access import require
from apps.cases.policy import can_see_case_aggregates, is_case_team
from apps.core import background, outbox
from apps.core import health as health_checks
from apps.core.exports import FORMATS, STREAM_CHUNK_ROWS, stream_download
from apps.core.paging import page_of, query_without
from apps.datasets.models import ImportLog
from apps.pages import home as home_services
from apps.pages.audit_totals import AuditTotal, audit_kinds, audit_totals, tallied_totals
from apps.pages.policy import audit_lines_listed_for, can_see_audit, can_see_task_runs
from apps.practices.models import ICB, PCN, Practice, PracticeStatus
from apps.practices.policy import home_icb


@login_not_required
def start(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("core:home")
    return render(request, "core/start.jinja", {})


def home(request: HttpRequest) -> HttpResponse:
    """Everyone's landing page; an ICB case team sees its own work there, the national team England's case counts
    (``apps.pages.home``)."""
    user = request.user
    icb = home_icb(user)  # type: ignore[arg-type]
    context = {
        "open_practices": Practice.objects.filter(status=PracticeStatus.ACTIVE).count(),
        "icb_count": ICB.objects.count(),
        "pcn_count": PCN.objects.filter(close_date__isnull=True).count(),
        "last_import": ImportLog.objects.exclude(status=ImportLog.Status.DRY_RUN).first(),
        "my_icb": icb,
        "my_practice": getattr(user, "practice", None),
        "icb_home": home_services.icb_home(user, icb) if icb and is_case_team(user) else None,  # type: ignore[arg-type]
        "national_home": home_services.national_home() if can_see_case_aggregates(user) else None,  # type: ignore[arg-type]
    }
    return render(request, "core/home.jinja", context)


@login_not_required
def health(request: HttpRequest) -> JsonResponse:
    """200 only when the pages could work; otherwise 503 with a short reason (``apps.core.health``)."""
    reason = health_checks.problem()
    if reason:
        return JsonResponse({"status": "error", "reason": reason, "database": connection.vendor}, status=503)
    return JsonResponse({"status": "ok", "database": connection.vendor})


AUDIT_PAGE_SIZE = 100
TASK_RUNS_SHOWN = 100


@require(can_see_audit)
def audit_log(request: HttpRequest) -> HttpResponse:
    """Who changed what, and when, across cases, plans, ratings, money and users. Field names only: the values
    (which may be confidential case detail) stay in the record. Whoever may not see case rows (the national team)
    gets the programme's own records line by line and every case-level record as totals (``audit_totals``)."""
    from apps.core.models import AuditRecord

    listed = audit_lines_listed_for(request.user)  # type: ignore[arg-type]
    qs = AuditRecord.objects.all()
    filters = {k: request.GET.get(k, "").strip() for k in ("model", "actor", "action", "since")}
    if filters["model"]:
        qs = qs.filter(model=filters["model"])
    if filters["action"] in AuditRecord.Action.values:
        qs = qs.filter(action=filters["action"])
    error = ""
    if filters["since"]:
        try:
            qs = qs.filter(at__date__gte=date.fromisoformat(filters["since"]))
        except ValueError:
            error = "Enter the date as YYYY-MM-DD, for example 2026-11-01."
    totals: list[AuditTotal] = []
    if listed is not None:
        # the actor filter narrows listed lines only: on totals it would tell whether a named user acted on a case
        if filters["since"]:  # a date inside a month: grouped from the records themselves
            totals = audit_totals(qs.exclude(model__in=listed))
        else:  # the kept tallies, plus the records since the last refresh (apps.pages.audit_totals)
            action = filters["action"] if filters["action"] in AuditRecord.Action.values else ""
            totals = tallied_totals(qs.exclude(model__in=listed), model=filters["model"], action=action, exclude=listed)
        qs = qs.filter(model__in=listed)
    if filters["actor"]:
        qs = qs.filter(actor__icontains=filters["actor"])
    fmt = request.GET.get("download", "")
    if fmt in FORMATS:
        return _audit_download(qs, totals, listed is not None, fmt)
    # page_of clamps the page asked for to the pages there are (an odd or 30-digit number is never an offset)
    page = page_of(qs.order_by("-at", "-pk"), request.GET.get("page"), AUDIT_PAGE_SIZE)
    # The kinds to filter by: every audited model, and any kind the tallies hold (records of a model no longer
    # audited). Not DISTINCT over the trail: PostgreSQL reads the whole index for that (~50 ms at 150,000 records).
    models = audit_kinds()
    ctx = {
        "records": list(page.object_list),
        "totals": totals,
        "as_totals": listed is not None,
        "filters": filters,
        "models": models,
        "actions": AuditRecord.Action.choices,
        "page": page.number,
        "pages": page.paginator.num_pages,
        "total": page.paginator.count,
        "error": error,
        "query": query_without(request.GET, "page", "download"),
    }
    return render(request, "core/audit.jinja", ctx, status=400 if error else 200)


def _audit_download(qs: Any, totals: list[AuditTotal], as_totals: bool, fmt: str) -> HttpResponse:
    """The listed lines, then (for the national team) the totals: a total's ``at`` is its month and it has no actor
    or id. Streamed (``stream_download``): the lines are read from the database as they are written."""
    records = qs[:50_000].iterator(chunk_size=STREAM_CHUNK_ROWS)
    if not as_totals:
        rows = ((r.at.isoformat(), r.actor, r.action, r.model, r.object_pk, ", ".join(sorted(r.changes)))
                for r in records)  # fmt: skip
        return stream_download(rows, ["at", "actor", "action", "record", "id", "fields_changed"], "audit", fmt)
    lines = ((r.at.isoformat(), "", r.actor, r.action, r.model, r.object_pk, 1, ", ".join(sorted(r.changes)))
             for r in records)  # fmt: skip
    summed = ((f"{t.month:%Y-%m}", t.icb, "", t.action, t.model, "", t.count, ", ".join(sorted(t.fields)))
              for t in totals)  # fmt: skip
    cols = ["at", "icb", "actor", "action", "record", "id", "count", "fields_changed"]
    return stream_download(chain(lines, summed), cols, "audit", fmt)


@require(can_see_task_runs)
def task_runs(request: HttpRequest) -> HttpResponse:
    """The newest background task runs (queued, running, succeeded, failed), with times and the error's last line."""
    status = request.GET.get("status", "")
    if status not in background.STATUS_LABELS:
        status = ""
    ctx = {
        "stored": background.stores_task_runs(),
        "runs": background.recent_task_runs(status=status, limit=TASK_RUNS_SHOWN),
        "counts": background.task_run_counts(),
        "status_labels": {str(k): v for k, v in background.STATUS_LABELS.items()},
        "status": status,
        "shown": TASK_RUNS_SHOWN,
        "max_attempts": background.MAX_ATTEMPTS,
        "lease_seconds": settings.TASK_LEASE_SECONDS,
        "unknown_emails": outbox.unknown_emails(),
    }
    return render(request, "core/task_runs.jinja", ctx)
