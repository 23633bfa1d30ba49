"""Support cases: the cases a user may see (``cases_visible_to``), one case with its timeline and packages
(``get_case_for``), the national counts (``can_see_case_aggregates``) and self-referral (``can_self_refer``)."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema, Status

from apps.api.common import (
    CSV_CONTENT,
    Error,
    FormatQuery,
    Paged,
    PageQuery,
    Refused,
    ValidationErrors,
    csv_response,
    paged,
    table_responses,
    wants_csv,
)
from apps.cases import policy as access
from apps.cases import services
from apps.cases.forms import ReferralForm
from apps.cases.models import ENDED, OPEN, Case, Package, Route, Urgency
from apps.cases.models import Status as CaseStatus
from apps.core.exports import STREAM_CHUNK_ROWS
from apps.core.formdata import MAX_ID
from apps.core.forms import form_errors
from apps.funding import policy as money_policy
from apps.funding import reports
from apps.funding import services as funding
from apps.funding.models import Commitment
from apps.practices.models import ICB

router = Router(tags=["cases"])


class CaseOut(Schema):
    id: int
    ref: str
    practice_code: str
    practice_name: str
    icb_code: str
    status: str = Field(description="referred, triaged, diagnosis, plan_agreed, approved, in_delivery, review, …")
    urgency: str
    opened_at: datetime
    first_contact_at: datetime | None
    triage_scope: str | None
    triage_impact: str | None
    review_due: date | None
    overdue: list[str] = Field(description="Steps that are late, in words")


class ReferralOut(Schema):
    route: str
    made_at: datetime
    concerns: str
    tried: list[str]
    help_wanted: list[str]
    urgency: str


class EventOut(Schema):
    at: datetime
    by: str
    kind: str
    from_status: str | None
    to_status: str | None
    summary: str
    reason: str


class PackageLineOut(Schema):
    offer_code: str
    offer_title: str
    units: int
    unit_cost_pence: int
    total_pence: int


class PackageShareOut(Schema):
    practice_code: str
    share_basis_points: int
    share_pence: int


class PackageOut(Schema):
    number: int
    ref: str
    state: str = Field(description="draft, submitted, approved, refused or cancelled")
    starts: date
    ends: date
    total_pence: int = Field(description="The package's price when it was built (its lines' sum)")
    lines: list[PackageLineOut]
    practices: list[PackageShareOut]
    budget_ref: str | None = Field(description="The budget an approved package commits money against")
    commitment_ref: str | None = Field(description="Its commitment in the ledger, once approved")
    committed_pence: int | None = Field(
        description="Money committed now, after variations and de-commitments (the case's ICB team only; else null)"
    )
    paid_pence: int | None = Field(description="Paid against the commitment (the case's ICB team only; else null)")


class PackageRowOut(PackageOut):
    case_id: int
    case_ref: str
    practice_code: str = Field(description="The case's practice (a group package covers the practices listed)")


class PackageFilters(PageQuery):
    state: Package.State | None = Field(None, description="Only packages in this state")
    case_id: int | None = Field(None, ge=1, le=MAX_ID, description="Only this case's packages")


class CaseDetailOut(CaseOut):
    referrals: list[ReferralOut]
    timeline: list[EventOut]
    packages: list[PackageOut]


class CaseFilters(PageQuery):
    show: Literal["open", "ended", "all"] = Field("open", description="Open cases, ended ones, or all")
    status: CaseStatus | None = Field(None, description="Only cases in this status")


class CaseCountOut(Schema):
    icb_code: str
    icb_name: str
    counts: dict[str, int] = Field(description="status → number of cases")


class SelfReferralIn(Schema):
    concerns: str = Field(min_length=1, max_length=5000, description="What is wrong, in a few sentences")
    tried: list[str] = Field(default_factory=list, description=f"Any of: {', '.join(services.TRIED_CHOICES)}")
    help_wanted: list[str] = Field(default_factory=list, description="Headings of the menu of support")
    urgency: Urgency = Urgency.ROUTINE


class SelfReferralOut(Schema):
    case: CaseOut
    created: bool = Field(description="False when the request joined the practice's open case")


def _case(c: Case) -> dict[str, Any]:
    return {
        "id": c.pk,
        "ref": c.ref,
        "practice_code": c.practice.code,
        "practice_name": c.practice.name,
        "icb_code": c.icb.code,
        "status": c.status,
        "urgency": c.urgency,
        "opened_at": c.opened_at,
        "first_contact_at": c.first_contact_at,
        "triage_scope": c.triage_scope or None,
        "triage_impact": c.triage_impact or None,
        "review_due": c.review_due,
        "overdue": c.overdue_reasons(),
    }


@router.get("/cases", response=table_responses(Paged[CaseOut]), openapi_extra=CSV_CONTENT, summary="Cases I may see")
def list_cases(request: HttpRequest, filters: Query[CaseFilters]) -> Any:
    """The ICB team's cases, the practice's own, or the provider's assigned ones, oldest first. The national team
    uses ``/cases/summary`` (counts only)."""
    if not access.can_see_case_queue(request.auth):
        raise PermissionDenied("Cases are seen by their ICB team, the practice and the assigned provider only.")
    qs = access.cases_visible_to(request.auth).select_related("practice", "icb").order_by("opened_at", "pk")
    if filters.show == "open":
        qs = qs.filter(status__in=OPEN)
    elif filters.show == "ended":
        qs = qs.filter(status__in=ENDED)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if wants_csv(request, filters.format):
        return csv_response((_case(c) for c in qs.iterator(STREAM_CHUNK_ROWS)), CaseOut, "cases")
    return paged(qs, filters.page, filters.page_size, _case)


@router.get(
    "/cases/summary",
    response=table_responses(list[CaseCountOut]),
    openapi_extra=CSV_CONTENT,
    summary="Cases per ICB and status (national team)",
)
def get_case_summary(request: HttpRequest, query: Query[FormatQuery]) -> Any:
    """Counts only: no practice is named."""
    if not access.can_see_case_aggregates(request.auth):
        raise PermissionDenied("Only the national programme team may see the national case counts.")
    by = services.case_counts()
    rows = [
        {"icb_code": icb.code, "icb_name": icb.name, "counts": {s: by.get((icb.pk, s), 0) for s in CaseStatus.values}}
        for icb in ICB.objects.order_by("code")
    ]
    if wants_csv(request, query.format):
        flat = [{"icb_code": r["icb_code"], "icb_name": r["icb_name"], **r["counts"]} for r in rows]
        return csv_response(flat, _flat_schema(), "case-summary")
    return rows


def _flat_schema() -> type[Schema]:
    fields: dict[str, Any] = {"icb_code": (str, ...), "icb_name": (str, ...)}
    fields.update({s: (int, 0) for s in CaseStatus.values})
    from pydantic import create_model

    return create_model("CaseCountRow", __base__=Schema, **fields)


@router.post(
    "/cases/self-referral",
    response={201: SelfReferralOut, 400: Refused, 401: Error, 403: Error, 422: ValidationErrors},
    summary="Ask for support (practice users)",
)
def create_self_referral(request: HttpRequest, body: SelfReferralIn) -> Any:
    """A practice asks its ICB for support. Joins the practice's open case if it has one. (Declared before
    ``/cases/{case_id}`` so that this path is not read as a case id.)"""
    user = request.auth
    if not access.can_self_refer(user):
        raise PermissionDenied("Only a practice user can self-refer, for their own practice.")
    # The page's form reads the body: the same rules, the same messages, the field at fault named in the answer.
    form = ReferralForm(body.model_dump(mode="json"))
    if not form.is_valid():
        field, message = next(iter(form_errors(form).items()))
        return Status(400, {"detail": message, "field": field or None})
    case, created = services.refer(user, user.practice, Route.SELF, form.referral())  # a refusal: 400 from main
    case = Case.objects.select_related("practice", "icb").get(pk=case.pk)
    return Status(201, {"case": _case(case), "created": created})


@router.get(
    "/cases/{case_id}",
    response={200: CaseDetailOut, 401: Error, 404: Error, 422: ValidationErrors},
    summary="One case, with its timeline and packages",
)
def get_case(request: HttpRequest, case_id: int) -> Any:
    """404 for a case the caller may not see (its existence is not revealed). Notes are not part of the API."""
    case = access.get_case_for(request.auth, case_id)
    packages = _packages(request.auth, case.packages.all())
    return {
        **_case(case),
        "referrals": [
            {"route": r.route, "made_at": r.made_at, "concerns": r.concerns, "tried": r.tried,
             "help_wanted": r.help_wanted, "urgency": r.urgency}
            for r in case.referrals.all()
        ],
        "timeline": [
            {"at": e.at, "by": e.by.get_full_name() or e.by.username, "kind": e.kind,
             "from_status": e.from_status or None, "to_status": e.to_status or None, "summary": e.summary,
             "reason": e.reason}
            for e in case.events.select_related("by")
        ],
        "packages": packages,
    }  # fmt: skip


def _packages(user: Any, qs: QuerySet[Package]) -> list[dict[str, Any]]:
    """Packages with their lines and shares; committed and paid amounts only where the caller may see the case's
    money at practice level (``can_see_practice_money``: the case's own ICB team)."""
    items = list(
        qs.select_related("case__icb", "case__practice").prefetch_related("lines__offer", "practices__practice")
    )
    money_icbs = {p.case.icb_id for p in items if money_policy.can_see_practice_money(user, p.case.icb)}
    refs = [p.commitment_ref for p in items if p.commitment_ref and p.case.icb_id in money_icbs]
    # A package approved across several budgets has one commitment per budget under its reference: summed here.
    found = list(funding.commitments_under(refs))
    paid = reports.paid_by_commitment(c.pk for c in found)
    commitments: dict[str, list[Commitment]] = {}
    for c in found:
        commitments.setdefault(c.reference if c.reference in refs else c.reference.rsplit("/", 1)[0], []).append(c)
    out = []
    for p in items:
        cs = commitments.get(p.commitment_ref, []) if p.case.icb_id in money_icbs else []
        shown = bool(cs)
        out.append(
            {"number": p.number, "ref": p.ref, "state": p.state, "starts": p.starts, "ends": p.ends,
             "total_pence": p.total_pence,
             "lines": [{"offer_code": ln.offer.code, "offer_title": ln.offer.title, "units": ln.units,
                        "unit_cost_pence": ln.unit_cost_pence, "total_pence": ln.total_pence} for ln in p.lines.all()],
             "practices": [{"practice_code": pp.practice.code, "share_basis_points": pp.share_bp,
                            "share_pence": pp.share_pence} for pp in p.practices.all()],
             "budget_ref": p.budget_ref or None, "commitment_ref": p.commitment_ref or None,
             "committed_pence": sum(c.amount_pence for c in cs if c.status == Commitment.Status.OPEN)
             if shown else None,
             "paid_pence": sum(paid.get(c.pk, 0) for c in cs) if shown else None,
             "case_id": p.case_id, "case_ref": p.case.ref, "practice_code": p.case.practice.code}
        )  # fmt: skip
    return out


@router.get(
    "/packages",
    response=table_responses(Paged[PackageRowOut]),
    openapi_extra=CSV_CONTENT,
    summary="Packages of the cases I may see",
)
def list_packages(request: HttpRequest, filters: Query[PackageFilters]) -> Any:
    """The packages of every case the caller may see (``cases_visible_to``), newest case first. In CSV a row is a
    package; its lines and shares are joined into one cell each."""
    if not access.can_see_case_queue(request.auth):
        raise PermissionDenied("Packages are seen with their cases: the ICB team, the practice and the provider.")
    qs = Package.objects.filter(case__in=access.cases_visible_to(request.auth)).order_by("-case__opened_at", "number")
    if filters.state:
        qs = qs.filter(state=filters.state)
    if filters.case_id:
        qs = qs.filter(case_id=filters.case_id)
    if wants_csv(request, filters.format):
        flat = [
            {**p, "lines": [f"{ln['units']} x {ln['offer_code']} = {ln['total_pence']}p" for ln in p["lines"]],
             "practices": [f"{s['practice_code']} {s['share_pence']}p" for s in p["practices"]]}
            for p in _packages(request.auth, qs)
        ]  # fmt: skip
        return csv_response(flat, PackageRowOut, "packages")
    count = qs.count()
    start = (filters.page - 1) * filters.page_size
    return {
        "count": count,
        "page": filters.page,
        "page_size": filters.page_size,
        "pages": max(1, math.ceil(count / filters.page_size)),
        "results": _packages(request.auth, qs[start : start + filters.page_size]),
    }


@router.get(
    "/cases/{case_id}/packages/{number}",
    response={200: PackageRowOut, 401: Error, 404: Error, 422: ValidationErrors},
    summary="One package of a case",
)
def get_package(request: HttpRequest, case_id: int, number: int) -> Any:
    """404 for a case the caller may not see, or a package number the case does not have."""
    case = access.get_case_for(request.auth, case_id)
    found = _packages(request.auth, case.packages.filter(number=number))
    if not found:
        raise Http404
    return found[0]
