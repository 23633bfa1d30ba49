"""Register pages: search, practice, ICB and PCN. Every lookup goes through apps.practices.policy."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.core.exports import FORMATS, table_download
from apps.practices import charts
from apps.practices.models import ICB, PCN, Practice, PracticeStatus, Region
from apps.practices.policy import get_icb_for, get_pcn_for, get_practice_for, home_icb, practices_visible_to
from apps.practices.services import filter_practices

PAGE_SIZE = 25
EXPORT_COLUMNS = [
    "ods_code",
    "name",
    "status",
    "postcode",
    "region",
    "icb_code",
    "icb",
    "sub_icb_code",
    "pcn_code",
    "pcn",
    "list_size",
    "list_size_date",
    "contract_type",
    "rurality",
    "dispensing",
    "open_date",
    "close_date",
]


def _export_rows(qs: QuerySet[Practice]) -> list[tuple[Any, ...]]:
    return [
        (
            p.code,
            p.name,
            p.get_status_display(),
            p.postcode,
            p.region.name if p.region else "",
            p.icb.code if p.icb else "",
            p.icb.name if p.icb else "",
            p.sub_icb.code if p.sub_icb else "",
            p.pcn.code if p.pcn else "",
            p.pcn.name if p.pcn else "",
            p.list_size,
            p.list_size_date.isoformat() if p.list_size_date else None,
            p.contract_type,
            p.rurality,
            p.dispensing,
            p.open_date.isoformat() if p.open_date else None,
            p.close_date.isoformat() if p.close_date else None,
        )
        for p in qs.select_related("region", "icb", "sub_icb", "pcn")
    ]


def _maybe_download(request: HttpRequest, qs: QuerySet[Practice], filename: str) -> HttpResponse | None:
    fmt = request.GET.get("download", "")
    if fmt in FORMATS:
        return table_download(_export_rows(qs), EXPORT_COLUMNS, filename, fmt)
    return None


def _query_without(request: HttpRequest, *drop: str) -> str:
    q = request.GET.copy()
    for key in drop:
        q.pop(key, None)
    return q.urlencode()


def _page_of(qs: QuerySet[Practice], number: str | None, *, by_text: bool) -> Page:
    """One page of results. A free-text search cannot use an index, so its matching ids are read in one scan that
    gives both the count and the order, and only the page's rows are then loaded (the paginator's count query and
    page query would scan the register twice)."""
    if not by_text:
        return Paginator(qs.select_related("icb", "pcn"), PAGE_SIZE).get_page(number)
    page = Paginator(list(qs.values_list("pk", flat=True)), PAGE_SIZE).get_page(number)
    rows = Practice.objects.select_related("icb", "pcn").in_bulk(list(page.object_list))
    page.object_list = [rows[pk] for pk in page.object_list if pk in rows]
    return page


def practice_search(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "").strip()[:100]
    region = request.GET.get("region", "")
    icb = request.GET.get("icb", "")
    pcn = request.GET.get("pcn", "").strip().upper()[:8]
    status = request.GET.get("status", "active")
    qs, status = filter_practices(
        practices_visible_to(request.user),  # type: ignore[arg-type]
        q=text,
        region=region,
        icb=icb,
        pcn=pcn,
        status=status,
    )
    if (download := _maybe_download(request, qs, "practices")) is not None:
        return download
    page = _page_of(qs, request.GET.get("page"), by_text=bool(text))
    context = {
        "q": text,
        "region": region,
        "icb": icb,
        "pcn": pcn,
        "status": status,
        "regions": Region.objects.all(),
        "icbs": ICB.objects.filter(Q(region__code=region) if region else Q()),
        "statuses": PracticeStatus.choices,
        "page": page,
        "query_no_page": _query_without(request, "page", "download"),
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
    page = Paginator(qs.select_related("pcn"), 50).get_page(request.GET.get("page"))
    context = {
        "icb": icb,
        "page": page,
        "totals": qs.aggregate(n=Count("id"), patients=Sum("list_size")),
        "sub_icbs": icb.sub_icbs.annotate(n=Count("practices", filter=Q(practices__status=PracticeStatus.ACTIVE))),
        "pcns": PCN.objects.filter(practices__in=qs).annotate(n=Count("practices")).order_by("name"),
        "query_no_page": _query_without(request, "page", "download"),
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
        "practices": list(qs),
        "totals": qs.aggregate(patients=Sum("list_size")),
        "past": list(past),
    }
    return render(request, "practices/pcn_detail.jinja", context)
