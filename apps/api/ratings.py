"""How each approved package is going: its RAG rating, the ICB team's judgement (``can_rate_package``).

The provider delivering a case records delivery and outcomes but cannot set or overwrite the rating: 403 for it and
for the practice, 404 for anyone who cannot see the case, 404 for a package number that is not an approved package
of the case. Ratings are never edited: each is a new row, the newest is current, the earlier ones stay as history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from ninja import Field, Router, Schema, Status

from apps.api.common import Error, ValidationErrors, field_errors
from apps.cases.models import Package
from apps.delivery import outcomes
from apps.delivery import policy as access
from apps.delivery.errors import DeliveryError

router = Router(tags=["outcomes"])


class RatingIn(Schema):
    rag: Literal["red", "amber", "green"]
    reason: str = Field(max_length=5000, description="Why, at least 10 characters: it is kept with your name")


class RatingOut(Schema):
    case_id: int
    package: int
    rag: str
    reason: str
    by: str
    at: datetime


@router.post(
    "/cases/{case_id}/packages/{number}/rating",
    response={200: RatingOut, 400: Error, 401: Error, 403: Error, 404: Error, 409: Error, 422: ValidationErrors},
    summary="Rate how an approved package is going, red, amber or green (the case's ICB team)",
)
def rate_package(request: HttpRequest, case_id: int, number: int, body: RatingIn) -> Any:
    """A new rating; the earlier ones are kept. The provider and the practice see ratings but may not give one."""
    user = request.auth
    case = access.get_case_for(user, case_id)
    if not access.can_rate_package(user, case):
        raise PermissionDenied("The RAG rating is the ICB team's judgement: only the case's ICB team rates a package.")
    pkg = case.packages.filter(number=number, state=Package.State.APPROVED).first()
    if pkg is None:
        raise Http404("The case has no approved package with this number.")
    try:
        r = outcomes.rate_package(user, pkg, body.rag, body.reason)
    except DeliveryError as e:
        if e.field:
            return Status(422, field_errors("body", {e.field: str(e)}))
        return Status(409, {"detail": str(e)})
    return {
        "case_id": case.pk,
        "package": pkg.number,
        "rag": r.rag,
        "reason": r.reason,
        "by": user.get_full_name() or user.username,
        "at": r.at,
    }
