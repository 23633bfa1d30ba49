from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from apps.accounts.access import home_icb
from apps.datasets.models import ImportLog
from apps.practices.models import ICB, PCN, Practice, PracticeStatus


@login_not_required
def start(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("core:home")
    return render(request, "core/start.jinja", {})


def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {
        "open_practices": Practice.objects.filter(status=PracticeStatus.ACTIVE).count(),
        "icb_count": ICB.objects.count(),
        "pcn_count": PCN.objects.filter(close_date__isnull=True).count(),
        "last_import": ImportLog.objects.exclude(status=ImportLog.Status.DRY_RUN).first(),
        "my_icb": home_icb(user),  # type: ignore[arg-type]
        "my_practice": getattr(user, "practice", None),
    }
    return render(request, "core/home.jinja", context)


@login_not_required
def health(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})
