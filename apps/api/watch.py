"""Watch lists: an ICB's own list (``can_see_watch_list``) and the national counts (``can_see_watch_summary``)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from apps.api.common import CSV_CONTENT, FormatQuery, Paged, PageQuery, csv_response, paged, table_responses, wants_csv
from apps.cases.lookups import OpenCase, open_cases_by_practice
from apps.indicators import services
from apps.indicators.policy import can_see_watch_list, can_see_watch_summary
from apps.practices.policy import get_icb_for

router = Router(tags=["watch lists"])


class WatchRowOut(Schema):
    practice_code: str
    practice_name: str
    pcn_code: str | None
    on_list: bool
    by_score: bool = Field(description="On the list by the national score rule")
    decision: str | None = Field(description="The ICB's decision: added, removed or followed")
    local_rating: str | None
    composite: float | None
    rank: int | None
    icb_rank: int | None
    flags: list[str]
    reasons: list[str] = Field(description="The three largest contributions, in words")
    review_due: date | None
    review_overdue: bool
    open_case: str | None = Field(description="The practice's open support case, if the caller may see it")
    case_state: str | None = Field(description="That case's stage, in words")


class WatchFilters(PageQuery):
    show: Literal["listed", "all", "removed"] = Field("listed", description="Listed practices, all, or removed ones")
    flag: str = Field("", max_length=100, description="Only practices meeting this national criterion")
    overdue: bool = Field(False, description="Only practices whose six-monthly review is overdue")


class WatchSummaryOut(Schema):
    icb_code: str
    icb_name: str
    region_name: str | None
    open_practices: int
    by_score: int = Field(description="Practices on the list by the national score rule")
    added: int
    removed: int
    reviews_overdue: int


def _row(r: services.WatchRow, cases: dict[str, OpenCase]) -> dict[str, Any]:
    case = cases.get(r.practice.code)
    return {
        "practice_code": r.practice.code,
        "practice_name": r.practice.name,
        "pcn_code": r.practice.pcn.code if r.practice.pcn else None,
        "on_list": r.on_list,
        "by_score": r.by_score,
        "decision": r.entry.status if r.entry else None,
        "local_rating": (r.entry.local_rating or None) if r.entry else None,
        "composite": r.score.composite if r.score else None,
        "rank": r.score.rank if r.score else None,
        "icb_rank": r.score.icb_rank if r.score else None,
        "flags": list(r.score.flags) if r.score else [],
        "reasons": r.reasons,
        "review_due": r.review_due,
        "review_overdue": r.review_overdue,
        "open_case": case.ref if case else None,
        "case_state": case.status_label if case else None,
    }


@router.get(
    "/icbs/{code}/watch-list",
    response=table_responses(Paged[WatchRowOut]),
    openapi_extra=CSV_CONTENT,
    summary="An ICB's watch list",
)
def get_watch_list(request: HttpRequest, code: str, filters: Query[WatchFilters]) -> Any:
    """The ICB's practices with scores and decisions, most pressure first. Only that ICB's own team may see it."""
    icb = get_icb_for(request.auth, code)
    if not can_see_watch_list(request.auth, icb):
        raise PermissionDenied("Only the ICB's own team may see its watch list.")
    rows = services.shown_watch_rows(
        icb, services.current_run(), show=filters.show, flag=filters.flag, overdue_only=filters.overdue
    )
    if wants_csv(request, filters.format):
        services.load_explanations(rows)
        cases = open_cases_by_practice(request.auth, [r.practice.code for r in rows])
        return csv_response((_row(r, cases) for r in rows), WatchRowOut, f"watch-list-{icb.code}")
    start = (filters.page - 1) * filters.page_size
    shown = rows[start : start + filters.page_size]
    services.load_explanations(shown)  # only the page's rows need reasons
    cases = open_cases_by_practice(request.auth, [r.practice.code for r in shown])
    return paged(rows, filters.page, filters.page_size, lambda r: _row(r, cases))


@router.get(
    "/watch-list/summary",
    response=table_responses(list[WatchSummaryOut]),
    openapi_extra=CSV_CONTENT,
    summary="Watch-list counts per ICB (national team)",
)
def get_watch_summary(request: HttpRequest, query: Query[FormatQuery]) -> Any:
    """Counts per ICB, no practice named: the national team's aggregate view."""
    if not can_see_watch_summary(request.auth):
        raise PermissionDenied("Only the national programme team may see the national watch-list summary.")
    rows = [
        {
            "icb_code": r.icb.code,
            "icb_name": r.icb.name,
            "region_name": r.icb.region.name if r.icb.region else None,
            "open_practices": r.open,
            "by_score": r.by_score,
            "added": r.added,
            "removed": r.removed,
            "reviews_overdue": r.overdue,
        }
        for r in services.watch_summary(services.current_run())
    ]
    if wants_csv(request, query.format):
        return csv_response(rows, WatchSummaryOut, "watch-list-summary")
    return rows
