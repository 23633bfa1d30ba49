"""Register pages: search, practice, ICB and PCN. Every lookup goes through apps.practices.policy."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.core.exports import FORMATS, table_download
from apps.core.tables import configure
from apps.practices import charts
from apps.practices.models import ICB, PCN, Practice, PracticeStatus
from apps.practices.policy import get_icb_for, get_pcn_for, get_practice_for, home_icb, practices_visible_to
from apps.practices.tables import IdsFirstPaginator, PracticeFilter, PracticeTable

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


# The export's fields, read as plain values: building a model instance (and its four related ones) per practice was
# nine tenths of the national register's download (345 ms of CPU for 8,233 practices; values: about a tenth of that).
EXPORT_FIELDS = (
    "code",
    "name",
    "status",
    "postcode",
    "region__name",
    "icb__code",
    "icb__name",
    "sub_icb__code",
    "pcn__code",
    "pcn__name",
    "list_size",
    "list_size_date",
    "contract_type",
    "rurality",
    "dispensing",
    "open_date",
    "close_date",
)
BLANK_WHEN_NONE = {4, 5, 6, 7, 8, 9}  # the related names and codes: "" for a practice without that link, as before


def _export_rows(qs: QuerySet[Practice]) -> list[tuple[Any, ...]]:
    status = dict(PracticeStatus.choices)
    return [
        tuple(
            status.get(v, v) if i == 2 else ("" if v is None and i in BLANK_WHEN_NONE else v) for i, v in enumerate(r)
        )
        for r in qs.values_list(*EXPORT_FIELDS)
    ]


def _maybe_download(request: HttpRequest, qs: QuerySet[Practice], filename: str) -> HttpResponse | None:
    fmt = request.GET.get("download", "")
    if fmt in FORMATS:
        return table_download(_export_rows(qs), EXPORT_COLUMNS, filename, fmt)
    return None


def practice_search(request: HttpRequest) -> HttpResponse:
    found = PracticeFilter(request.GET, practices_visible_to(request.user))  # type: ignore[arg-type]
    qs = found.qs
    if (download := _maybe_download(request, qs, "practices")) is not None:
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
