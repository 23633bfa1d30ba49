"""Varying an approved package through the API (issue 16 §3), as on the case's *Vary the package* page: the case's
ICB team restates the package's lines (add, remove, re-price), every budget's commitment follows by new ledger
entries as one decision, and each offer stays on a budget whose line funds it (``apps.cases.services.vary_package``).

The practice and the provider see the case but may not vary its package (403); anyone who cannot see the case, or a
package number that is not an approved package of it, gets 404.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from ninja import Field, Router, Schema, Status

from apps.api import idempotency
from apps.api.cases import PackageRowOut, _packages
from apps.api.common import Error, Refused, ValidationErrors, field_errors
from apps.cases import policy as access
from apps.cases import services
from apps.cases.models import Package
from apps.cases.services.package import MAX_UNIT_PENCE
from apps.cases.services.variation import MIN_REASON
from apps.funding.models import Budget

router = Router(tags=["cases"])


class VariationLineIn(Schema):
    offer_code: str = Field(max_length=40, description="A menu offer's code")
    units: int = Field(ge=1, le=1_000_000, description="Units kept or added (per-patient offers: 1 = the list once)")
    unit_cost_pence: int | None = Field(
        None, gt=0, le=MAX_UNIT_PENCE, description="An agreed price per unit; omit for the ICB's price in force"
    )
    note: str = Field("", max_length=300)


class VariationIn(Schema):
    lines: list[VariationLineIn] = Field(max_length=50, description="The package's lines after the change")
    reason: str = Field(max_length=5000, description=f"Why it changes (at least {MIN_REASON} characters)")
    budget_ids: list[int] = Field(
        default_factory=list,
        max_length=10,
        description="Budgets for offers the package did not draw on before, when the ICB has more than one for them",
    )


@router.post(
    "/cases/{case_id}/packages/{number}/variations",
    response={
        200: PackageRowOut,
        400: Refused,
        401: Error,
        403: Error,
        404: Error,
        409: Error,
        422: ValidationErrors,
    },
    summary="Vary an approved package: its lines after the change, and why (the case's ICB team)",
)
def vary_package(request: HttpRequest, case_id: int, number: int, body: VariationIn) -> Any:
    """The package with its new lines, committed and paid amounts. Refused with 400 (``field`` naming the input)
    when a budget cannot carry the increase (nothing changes in any budget), when a line would fall below what is
    paid, or when nothing changes. Send an ``Idempotency-Key`` header to retry safely."""
    user = request.auth
    case = access.get_case_for(user, case_id)
    if not access.can_run_case(user, case):
        raise PermissionDenied("Only the case's ICB team varies its package.")
    pkg = case.packages.filter(number=number, state=Package.State.APPROVED).first()
    if pkg is None:
        raise Http404("The case has no approved package with this number.")
    wanted = set(body.budget_ids)
    budgets = list(Budget.objects.filter(pk__in=wanted, icb_id=case.icb_id).select_related("line__programme", "icb"))
    if len(budgets) != len(wanted):
        return Status(422, field_errors("body", {"budget_ids": "Give budgets of the case's ICB only."}))

    def write() -> tuple[int, Any]:
        lines = [services.LineInput(ln.offer_code, ln.units, ln.note, ln.unit_cost_pence) for ln in body.lines]
        try:
            services.vary_package(user, pkg, lines, body.reason, budgets)
        except services.CaseError as e:
            return 400, {"detail": e.message, "field": e.field}
        return 200, _packages(user, case.packages.filter(number=number))[0]

    try:
        status, answer = idempotency.once(
            request, user, "vary_package", {"case": case_id, "number": number, **body.dict()}, write
        )
    except idempotency.KeyProblem as e:
        return Status(e.status, {"detail": str(e)})
    return Status(status, answer)
