"""Practices and ICBs: the register (national open data, readable by every signed-in user)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from django.db.models import Count, Q, Sum
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from apps.api.common import CSV_CONTENT, FormatQuery, Paged, PageQuery, csv_response, paged, table_responses, wants_csv
from apps.core.exports import STREAM_CHUNK_ROWS
from apps.practices.models import Practice, PracticeStatus
from apps.practices.policy import get_practice_for, icbs_visible_to, practices_visible_to
from apps.practices.services import filter_practices

router = Router(tags=["practices"])


class PracticeOut(Schema):
    code: str = Field(description="ODS practice code")
    name: str
    status: str
    postcode: str
    region_code: str | None
    icb_code: str | None
    icb_name: str | None
    sub_icb_code: str | None
    pcn_code: str | None
    pcn_name: str | None
    list_size: int | None = Field(description="Registered patients at list_size_date")
    list_size_date: date | None
    contract_type: str
    rurality: str
    dispensing: bool | None
    open_date: date | None
    close_date: date | None


class PracticeDetailOut(PracticeOut):
    address: str
    phone: str
    lat: float | None
    lon: float | None
    supplier: str
    imd_score: float | None
    imd_quintile: int | None = Field(description="1 = most deprived")


class PracticeFilters(PageQuery):
    q: str = Field("", max_length=100, description="ODS code or postcode prefix, or words of the name")
    icb: str = Field("", max_length=8, description="ICB ODS code, e.g. QHM")
    pcn: str = Field("", max_length=8, description="PCN code, e.g. U89141")
    region: str = Field("", max_length=8, description="NHS England region code, e.g. Y63")
    status: Literal["active", "closed", "dormant", "proposed", "all"] = Field("active")


class IcbOut(Schema):
    code: str
    ons_code: str
    name: str
    region_code: str | None
    region_name: str | None
    open_practices: int
    patients: int | None


def practice_row(p: Practice) -> dict[str, Any]:
    return {
        "code": p.code,
        "name": p.name,
        "status": p.status,
        "postcode": p.postcode,
        "region_code": p.region.code if p.region else None,
        "icb_code": p.icb.code if p.icb else None,
        "icb_name": p.icb.name if p.icb else None,
        "sub_icb_code": p.sub_icb.code if p.sub_icb else None,
        "pcn_code": p.pcn.code if p.pcn else None,
        "pcn_name": p.pcn.name if p.pcn else None,
        "list_size": p.list_size,
        "list_size_date": p.list_size_date,
        "contract_type": p.contract_type,
        "rurality": p.rurality,
        "dispensing": p.dispensing,
        "open_date": p.open_date,
        "close_date": p.close_date,
    }


@router.get(
    "/practices",
    response=table_responses(Paged[PracticeOut]),
    openapi_extra=CSV_CONTENT,
    summary="Search the practice register",
)
def list_practices(request: HttpRequest, filters: Query[PracticeFilters]) -> Any:
    """Practices matching the filters, ordered by name (open practices unless ``status`` says otherwise)."""
    qs, _ = filter_practices(
        practices_visible_to(request.auth),
        q=filters.q,
        region=filters.region,
        icb=filters.icb,
        pcn=filters.pcn,
        status=filters.status,
    )
    qs = qs.select_related("region", "icb", "sub_icb", "pcn")
    if wants_csv(request, filters.format):
        return csv_response((practice_row(p) for p in qs.iterator(STREAM_CHUNK_ROWS)), PracticeOut, "practices")
    return paged(qs, filters.page, filters.page_size, practice_row)


@router.get("/practices/{code}", response=table_responses(PracticeDetailOut), summary="One practice")
def get_practice(request: HttpRequest, code: str) -> Any:
    p = get_practice_for(request.auth, code)
    return {
        **practice_row(p),
        "address": p.address,
        "phone": p.phone,
        "lat": p.lat,
        "lon": p.lon,
        "supplier": p.supplier,
        "imd_score": p.imd_score,
        "imd_quintile": p.imd_quintile,
    }


@router.get("/icbs", response=table_responses(list[IcbOut]), openapi_extra=CSV_CONTENT, summary="Every ICB")
def list_icbs(request: HttpRequest, query: Query[FormatQuery]) -> Any:
    """Every integrated care board with its open practices and their registered patients."""
    icbs = (
        icbs_visible_to(request.auth)
        .select_related("region")
        .annotate(
            open_n=Count("practices", filter=Q(practices__status=PracticeStatus.ACTIVE)),
            patients=Sum("practices__list_size", filter=Q(practices__status=PracticeStatus.ACTIVE)),
        )
        .order_by("region__name", "name")
    )
    rows = [
        {
            "code": i.code,
            "ons_code": i.ons_code,
            "name": i.name,
            "region_code": i.region.code if i.region else None,
            "region_name": i.region.name if i.region else None,
            "open_practices": i.open_n,  # type: ignore[attr-defined]
            "patients": i.patients,  # type: ignore[attr-defined]
        }
        for i in icbs
    ]
    if wants_csv(request, query.format):
        return csv_response(rows, IcbOut, "icbs")
    return rows
