from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.accounts.access import require
from apps.datasets.models import ImportLog
from apps.datasets.policy import can_view_import_logs
from apps.datasets.registry import sources


def source_list(request: HttpRequest) -> HttpResponse:
    """The national data behind the register: each source, where it comes from, and its last load."""
    latest = {}
    for log in ImportLog.objects.exclude(status=ImportLog.Status.DRY_RUN).order_by("dataset", "-started_at"):
        latest.setdefault(log.dataset, log)
    rows = [(s, latest.get(s.id)) for s in sources()]
    return render(request, "datasets/sources.jinja", {"rows": rows})


@require(can_view_import_logs)
def import_logs(request: HttpRequest) -> HttpResponse:
    dataset = request.GET.get("dataset", "")
    logs = ImportLog.objects.all()
    if dataset:
        logs = logs.filter(dataset=dataset)
    page = Paginator(logs, 25).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "dataset": dataset,
        "datasets": [s.id for s in sources()],
        "query_no_page": f"dataset={dataset}" if dataset else "",
    }
    return render(request, "datasets/logs.jinja", context)
