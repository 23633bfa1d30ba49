"""Group package shares (``apps.cases.services.shares``): where each share of a package stands, a covered practice
accepting or declining its share, and an ICB across the border approving or refusing its practices' shares.

Who sees what is the pages' rule (``policy.get_share_page_package_for``): the lead ICB every share; a covered
practice its own; an ICB across the border its own practices' shares. Anyone else gets 404, so a package's existence
is not revealed; someone who sees the package but may not take the step gets 403. A refused step answers 400
``{"detail", "field"}`` and changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Field, Router, Schema

from apps.api.common import Error, ValidationErrors
from apps.cases import policy as access
from apps.cases.models import Package, PackagePractice
from apps.cases.services import shares as services
from apps.core.formdata import MAX_ID
from apps.funding.models import Budget

router = Router(tags=["cases"])


class ShareOut(Schema):
    practice_code: str
    practice_name: str
    icb_code: str | None
    share_bp: int = Field(description="Share of the cost in basis points (100 = 1%)")
    share_pence: int
    lead: bool = Field(description="The practice whose case the package is decided on")
    accepted_at: datetime | None = Field(description="When the practice accepted (the current submission)")
    approved_at: datetime | None = Field(description="Across a border: when its own ICB approved the share")


class SharesOut(Schema):
    case_id: int
    package: int
    reference: str
    state: str
    total_pence: int
    shares: list[ShareOut] = Field(description="The shares the caller may see")


class ShareDecisionIn(Schema):
    decision: Literal["accept", "decline"]
    reason: str = Field("", max_length=5000, description="Why the practice declines (at least 10 characters)")


class IcbShareDecisionIn(Schema):
    decision: Literal["approve", "refuse"]
    note: str = Field("", max_length=5000, description="Why the share is refused (at least 10 characters)")
    budget_id: int | None = Field(None, ge=1, le=MAX_ID, description="Your ICB's budget the share is paid from")


def _shares(user: Any, pkg: Package) -> dict[str, Any]:
    rows = pkg.practices.select_related("practice__icb")
    if any(access.can_decide_share(user, pp) for pp in rows if pp.practice_id == user.practice_id):
        rows = rows.filter(practice_id=user.practice_id)
    elif access.can_approve_share_for(user, pkg):
        rows = rows.filter(practice__icb_id=user.icb_id)
    return {
        "case_id": pkg.case_id,
        "package": pkg.number,
        "reference": pkg.ref,
        "state": pkg.state,
        "total_pence": pkg.total_pence,
        "shares": [_share(pp, pkg) for pp in rows],
    }


def _share(pp: PackagePractice, pkg: Package) -> dict[str, Any]:
    return {
        "practice_code": pp.practice.code,
        "practice_name": pp.practice.display_name,
        "icb_code": pp.practice.icb.code if pp.practice.icb else None,
        "share_bp": pp.share_bp,
        "share_pence": pp.share_pence,
        "lead": pp.practice_id == pkg.case.practice_id,
        "accepted_at": pp.accepted_at,
        "approved_at": pp.approved_at,
    }


@router.get(
    "/cases/{case_id}/packages/{number}/shares",
    response={200: SharesOut, 401: Error, 404: Error, 422: ValidationErrors},
    summary="Where each share of a group package stands (the shares the caller may see)",
)
def get_package_shares(request: HttpRequest, case_id: int, number: int) -> Any:
    pkg = access.get_share_page_package_for(request.auth, case_id, number)
    return _shares(request.auth, pkg)


@router.post(
    "/cases/{case_id}/packages/{number}/shares/decision",
    response={200: SharesOut, 400: Error, 401: Error, 403: Error, 404: Error, 422: ValidationErrors},
    summary="Accept or decline your practice's share of a group package (a practice it covers)",
)
def decide_package_share(request: HttpRequest, case_id: int, number: int, body: ShareDecisionIn) -> Any:
    """Declining sends the package back to the lead ICB as a draft to share again."""
    user = request.auth
    pkg = access.get_share_page_package_for(user, case_id, number)
    own = pkg.practices.filter(practice_id=user.practice_id).first()
    if own is None or not access.can_decide_share(user, own):
        raise PermissionDenied("Only a practice covered by this group package decides its own share.")
    services.decide_share(user, pkg, body.decision == "accept", body.reason)
    return _shares(user, pkg)


@router.post(
    "/cases/{case_id}/packages/{number}/shares/icb-decision",
    response={200: SharesOut, 400: Error, 401: Error, 403: Error, 404: Error, 422: ValidationErrors},
    summary="Approve or refuse your ICB's share of another ICB's group package (the practices' own ICB team)",
)
def decide_icb_package_share(request: HttpRequest, case_id: int, number: int, body: IcbShareDecisionIn) -> Any:
    """Approving checks your budget's headroom and commits nothing until the lead ICB approves the package."""
    user = request.auth
    pkg = access.get_share_page_package_for(user, case_id, number)
    if not access.can_approve_share_for(user, pkg):
        raise PermissionDenied("Only the ICB team of a practice covered across the border approves its share.")
    budget = Budget.objects.filter(pk=body.budget_id, icb_id=user.icb_id).first() if body.budget_id else None
    if body.budget_id and budget is None:
        raise services.CaseError("Choose one of your ICB's budgets.", "budget_id")
    services.decide_icb_share(user, pkg, body.decision == "approve", body.note, budget)
    return _shares(user, pkg)
