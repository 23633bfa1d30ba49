"""Register pages: search, practice, ICB and PCN. Every lookup goes through apps.practices.policy."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.accounts.http import user_of
from apps.core.exports import FORMATS, table_download
from apps.core.tables import configure
from apps.practices import charts, downloads
from apps.practices.models import ICB, PCN, Practice, PracticeStatus
from apps.practices.policy import get_icb_for, get_pcn_for, get_practice_for, home_icb, practices_visible_to
from apps.practices.tables import IdsFirstPaginator, PracticeFilter, PracticeTable

PAGE_SIZE = 25


def _maybe_download(request: HttpRequest, qs: QuerySet[Practice], filename: str) -> HttpResponse | None:
    fmt = request.GET.get("download", "")
    if fmt in FORMATS:
        return table_download(downloads.export_rows(qs), downloads.EXPORT_COLUMNS, filename, fmt)
    return None


def _search_download(request: HttpRequest, found: PracticeFilter) -> HttpResponse | None:
    """The register search's download: inline, or, for an XLSX too large to write in a request (the whole
    register), the file the worker wrote, or a page that waits for it."""
    fmt = request.GET.get("download", "")
    if fmt not in FORMATS:
        return None
    rows = downloads.export_rows(found.qs)
    if not downloads.needs_worker(fmt, rows):
        return table_download(rows, downloads.EXPORT_COLUMNS, "practices", fmt)
    params = {k: request.GET.getlist(k) for k in request.GET if k not in ("page", "sort")}
    made = downloads.prepared(rows, "practices", user_of(request).pk, params)
    if made.content is not None:
        return downloads.response(made)
    as_csv = request.GET.copy()
    as_csv["download"] = "csv"
    ctx = {"download": made, "back": request.path, "csv_href": f"{request.path}?{as_csv.urlencode()}"}
    return render(request, "practices/preparing.jinja", ctx)


def practice_search(request: HttpRequest) -> HttpResponse:
    found = PracticeFilter(request.GET, practices_visible_to(request.user))  # type: ignore[arg-type]
    qs = found.qs
    if (download := _search_download(request, found)) is not None:
        return download
    table = PracticeTable(qs.select_related("icb", "pcn"))
    table.page_size = PAGE_SIZE
    configure(request, table, IdsFirstPaginator if found.text else None)
    context = {
        "filters": found,
        "q": found.text,
        "icb": found.form.cleaned_data.get("icb") or "",
        "table": table,
        "searched": bool(request.GET),
        "my_icb": home_icb(request.user),  # type: ignore[arg-type]
    }
    return render(request, "practices/search.jinja", context)


def practice_detail(request: HttpRequest, code: str) -> HttpResponse:
    practice = get_practice_for(request.user, code)  # type: ignore[arg-type]
    workforce = list(practice.workforce_years.all())
    snapshots = list(practice.list_sizes.all())
    payments = list(practice.payments.all())
    context = {
        "p": practice,
        "workforce": workforce,
        "snapshots": snapshots,
        "cqc": list(practice.cqc_ratings.order_by("location_name")),
        "qof": list(practice.qof.all()),
        "payments": payments,
        "memberships": list(practice.pcn_memberships.select_related("pcn")),
        "prevalence": list(practice.prevalence.order_by("group_code")),
        "chart": charts.ratio_chart(
            [(w.financial_year, w.patients_per_gp_fte) for w in workforce], "Patients per GP FTE"
        ),
    }
    return render(request, "practices/detail.jinja", context)


def icb_list(request: HttpRequest) -> HttpResponse:
    icbs = (
        ICB.objects.select_related("region")
        .annotate(
            open_practices=Count("practices", filter=Q(practices__status=PracticeStatus.ACTIVE)),
            patients=Sum("practices__list_size", filter=Q(practices__status=PracticeStatus.ACTIVE)),
        )
        .order_by("region__name", "name")
    )
    fmt = request.GET.get("download", "")
    if fmt in FORMATS:
        rows = [
            (i.code, i.ons_code, i.name, i.region.name if i.region else "", i.open_practices, i.patients) for i in icbs
        ]
        return table_download(
            rows, ["icb_code", "ons_code", "name", "region", "open_practices", "patients"], "icbs", fmt
        )
    return render(request, "practices/icb_list.jinja", {"icbs": icbs})


def icb_detail(request: HttpRequest, code: str) -> HttpResponse:
    icb = get_icb_for(request.user, code)  # type: ignore[arg-type]
    qs = practices_visible_to(request.user).filter(icb=icb, status=PracticeStatus.ACTIVE).order_by("name")  # type: ignore[arg-type]
    if (download := _maybe_download(request, qs, f"practices-{icb.code}")) is not None:
        return download
    context = {
        "icb": icb,
        "table": configure(request, PracticeTable(qs.select_related("pcn"), show_icb=False)),
        "totals": qs.aggregate(n=Count("id"), patients=Sum("list_size")),
        "sub_icbs": icb.sub_icbs.annotate(n=Count("practices", filter=Q(practices__status=PracticeStatus.ACTIVE))),
        "pcns": PCN.objects.filter(practices__in=qs).annotate(n=Count("practices")).order_by("name"),
    }
    return render(request, "practices/icb_detail.jinja", context)


def pcn_detail(request: HttpRequest, code: str) -> HttpResponse:
    pcn = get_pcn_for(request.user, code)  # type: ignore[arg-type]
    qs = practices_visible_to(request.user).filter(pcn=pcn).order_by("name")  # type: ignore[arg-type]
    if (download := _maybe_download(request, qs, f"practices-{pcn.code}")) is not None:
        return download
    past = pcn.memberships.filter(end_date__isnull=False).select_related("practice")
    context = {
        "pcn": pcn,
        "table": configure(request, PracticeTable(qs.select_related("pcn"), show_icb=False)),
        "totals": qs.aggregate(patients=Sum("list_size")),
        "past": list(past),
    }
    return render(request, "practices/pcn_detail.jinja", context)
