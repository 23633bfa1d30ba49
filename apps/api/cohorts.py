"""Cohorts of universal offers (issue 17 §3), with the cohort pages' rules (``apps.cohorts.policy``): everyone lists
the cohorts open to them with places, filled and waiting; a practice (or its ICB team, naming it) expresses interest;
the team running a cohort allocates its places by the cohort's rule; a practice accepts (its cost is committed) or
declines an offered place, the practice or the running ICB team withdraws it, the provider records attendance.
The national team sees counts by ICB, never a practice's row. Amounts are integer pence.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema

from apps.accounts.models import User
from apps.api.common import Error, Paged, Refused, ValidationErrors, field_errors, paged
from apps.cohorts import pages, policy, services
from apps.cohorts.forms import CohortForm, InterestForm, PlaceForm
from apps.cohorts.models import Cohort, Interest
from apps.core.forms import form_errors

router = Router(tags=["cohorts"])


class CohortQuery(Schema):
    page: int = Field(1, ge=1, le=1_000_000, description="Page number, from 1")
    page_size: int = Field(50, ge=1, le=500, description="Rows per page (at most 500)")


class CohortOut(Schema):
    id: int
    title: str
    offer: str = Field(description="The menu offer's code")
    run_by: str = Field(description="The ICB's code, or 'national'")
    starts_on: date
    ends_on: date
    closes_on: date
    mode: str
    venue: str
    provider: str
    cost_per_place_pence: int
    rule: str = Field(description="first_come, quotas or pressure")
    quotas: dict[str, int]
    status: str
    places: int
    filled: int = Field(description="Places offered or accepted")
    accepted: int
    waiting: int


class IcbCountOut(Schema):
    icb: str
    quota: int
    waiting: int
    offered: int
    accepted: int


class PlaceOut(Schema):
    id: int
    practice: str = Field(description="ODS code")
    practice_name: str
    attendee_name: str
    attendee_role: str
    state: str
    waiting_position: int | None = Field(description="On the waiting list after allocation: 1 is next")
    expressed_at: datetime
    commitment: str = Field(description="The commitment's reference once accepted")
    attended: bool | None
    completed: bool | None


class CohortDetail(CohortOut):
    by_icb: list[IcbCountOut] = Field(description="The national team's view: counts by the practices' ICB")
    places_and_interest: list[PlaceOut] = Field(description="The rows the caller may see (none for national)")


class InterestIn(Schema):
    practice: str = Field("", max_length=10, description="ODS code: an ICB team names the practice; a practice's own")
    attendee_name: str = Field(max_length=150)
    attendee_role: str = Field(max_length=20, description="practice_manager, gp, nurse, reception or other")
    hopes: str = Field("", max_length=2000)


class CohortIn(Schema):
    offer: str = Field(min_length=1, max_length=40, description="The menu offer's code (a universal offer)")
    line: int = Field(ge=1, description="The funding line that pays for the places (its id in /budgets)")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=4000)
    starts_on: date = Field(description="After the closing date for interest")
    ends_on: date = Field(description="On or after the first day")
    closes_on: date = Field(description="The closing date for interest: today or later")
    places: int = Field(ge=1, le=10_000)
    mode: Literal["venue", "online"]
    venue: str = Field("", max_length=200, description="Where it meets, for a cohort at a venue")
    provider: int = Field(ge=1, description="The provider organisation that delivers it (its id)")
    cost_per_place_pence: int = Field(ge=0, le=10_000_000_000)
    rule: Literal["first_come", "quotas", "pressure"] = Field(description="How places are allocated")
    eligible_icbs: list[str] = Field([], max_length=42, description="ICB codes whose practices may join (none: all)")
    quotas: dict[str, int] = Field({}, description="ICB code → places, for the quotas rule")
    practice_managers_only: bool = False


class PlaceStepIn(Schema):
    action: str = Field(max_length=12, description="accept, decline, withdraw or attendance")
    reason: str = Field("", max_length=300, description="To withdraw: why (at least 10 characters)")
    attended: bool = False
    completed: bool = False


def _row(c: Cohort) -> dict[str, Any]:
    return {
        "id": c.pk,
        "title": c.title,
        "offer": c.offer.code,
        "run_by": c.icb.code if c.icb else "national",
        "starts_on": c.starts_on,
        "ends_on": c.ends_on,
        "closes_on": c.closes_on,
        "mode": c.mode,
        "venue": c.venue,
        "provider": c.provider.name,
        "cost_per_place_pence": c.cost_per_place_pence,
        "rule": c.rule,
        "quotas": c.quotas,
        "status": c.status,
        "places": c.places,
        "filled": c.n_held,  # type: ignore[attr-defined]
        "accepted": c.n_accepted,  # type: ignore[attr-defined]
        "waiting": c.n_waiting,  # type: ignore[attr-defined]
    }


def _place(i: Interest, position: int | None) -> dict[str, Any]:
    return {
        "id": i.pk,
        "practice": i.practice.code,
        "practice_name": i.practice.display_name,
        "attendee_name": i.attendee_name,
        "attendee_role": i.attendee_role,
        "state": i.state,
        "waiting_position": position,
        "expressed_at": i.expressed_at,
        "commitment": i.commitment.reference if i.commitment else "",
        "attended": i.attended,
        "completed": i.completed,
    }


def _detail(user: User, cohort: Cohort) -> dict[str, Any]:
    shown = pages.with_counts(Cohort.objects.filter(pk=cohort.pk)).select_related("offer", "icb", "provider").get()
    seen = pages.detail(user, cohort)
    return {
        **_row(shown),
        "by_icb": pages.by_icb(cohort) if not policy.sees_case_rows(user) else [],
        "places_and_interest": [_place(i, pos) for i, pos in seen["rows"]],
    }


def _cohort_for(user: User, cohort_id: int) -> Cohort:
    return policy.get_cohort_for(user, cohort_id)


@router.get("/cohorts", response={200: Paged[CohortOut], 401: Error, 422: ValidationErrors}, summary="Cohorts")
def list_cohorts(request: HttpRequest, filters: Query[CohortQuery]) -> Any:
    """The cohorts the caller may see (a practice: those it may join or has joined), soonest first, with places,
    filled (offered or accepted), accepted and waiting."""
    user: User = request.auth
    rows = pages.with_counts(
        policy.cohorts_visible_to(user).select_related("offer", "icb", "provider").order_by("starts_on", "pk")
    )
    return paged(rows, filters.page, filters.page_size, _row)


@router.get(
    "/cohorts/{cohort_id}",
    response={200: CohortDetail, 401: Error, 404: Error, 422: ValidationErrors},
    summary="One cohort: counts, and the places and interest the caller may see",
)
def get_cohort(request: HttpRequest, cohort_id: int) -> Any:
    """404 for a cohort the caller may not see. The national team gets counts by ICB; the ICB team running it every
    row; a practice its own; the provider delivering it every row."""
    user: User = request.auth
    return _detail(user, _cohort_for(user, cohort_id))


@router.post(
    "/cohorts",
    response={201: CohortDetail, 400: Refused, 401: Error, 403: Error, 422: ValidationErrors},
    summary="Create a cohort of a universal offer",
)
def create_cohort(request: HttpRequest, body: CohortIn) -> Any:
    """An ICB team creates a cohort on its own budget of the line; the national team a national cohort (each place
    paid from the practice's own ICB budget of the line). The same rules as the page: a universal offer the line
    funds, dates in order, quotas that add up. A value of the wrong form is 422 (by field); a cohort the service
    refuses is 400, naming every problem."""
    user: User = request.auth
    if not policy.can_create_cohort(user):
        raise PermissionDenied("ICB teams and the national team create cohorts.")
    pence = body.cost_per_place_pence
    plain = body.dict(exclude={"cost_per_place_pence", "eligible_icbs", "quotas", "practice_managers_only"})
    form = CohortForm(  # the page's form: one set of rules for what a cohort may be
        {
            **{k: v.isoformat() if isinstance(v, date) else str(v) for k, v in plain.items()},
            "cost": f"{pence // 100}.{pence % 100:02d}",
            "eligible_icbs": " ".join(body.eligible_icbs),
            "quotas": "\n".join(f"{code} {places}" for code, places in body.quotas.items()),
            "practice_managers_only": "1" if body.practice_managers_only else "",
        }
    )
    if not form.is_valid():
        return 422, field_errors("body", form_errors(form))
    cohort = services.create_cohort(user, form.as_input())  # a refusal names every problem (400)
    return 201, _detail(user, Cohort.objects.get(pk=cohort.pk))


@router.post(
    "/cohorts/{cohort_id}/interests",
    response={201: PlaceOut, 400: Refused, 401: Error, 403: Error, 404: Error, 422: ValidationErrors},
    summary="Express interest in a cohort",
)
def create_cohort_interest(request: HttpRequest, cohort_id: int, body: InterestIn) -> Any:
    """A practice for itself, or an ICB team for one of its practices (``practice``). After allocation the interest
    joins the waiting list in the rule's order, or takes a free place at once. Refused (400) naming the problem."""
    user: User = request.auth
    cohort = _cohort_for(user, cohort_id)
    own = policy.own_practice_of(user)
    if own is None and not policy.practices_user_may_express_for(user).exists():
        raise PermissionDenied("Practices, and ICB teams for their practices, express interest.")
    form = InterestForm(body.dict())
    if not form.is_valid():
        return 422, field_errors("body", form_errors(form))
    d = form.cleaned_data
    practice = own or policy.practices_user_may_express_for(user).filter(code=d["practice"].strip().upper()).first()
    if practice is None:
        return 400, {"detail": "Give the ODS code of a practice in your ICB", "field": "practice"}
    made = services.express_interest(user, cohort, practice, d["attendee_name"], d["attendee_role"], d["hopes"])
    return 201, _place(Interest.objects.select_related("practice", "commitment").get(pk=made.pk), None)


@router.post(
    "/cohorts/{cohort_id}/allocate",
    response={200: CohortDetail, 400: Refused, 401: Error, 403: Error, 404: Error, 422: ValidationErrors},
    summary="Allocate a cohort's places by its rule",
)
def allocate_cohort(request: HttpRequest, cohort_id: int) -> Any:
    """The team running the cohort (its ICB team; the national team for a national cohort). The head of the rule's
    queue is offered places, the others wait in order. Nothing is committed until a practice accepts."""
    user: User = request.auth
    cohort = _cohort_for(user, cohort_id)
    if not policy.runs_cohort(user, cohort):
        raise PermissionDenied("Only the team running the cohort allocates its places.")
    services.allocate(user, cohort)
    return 200, _detail(user, Cohort.objects.get(pk=cohort.pk))


@router.post(
    "/cohort-places/{place_id}",
    response={200: PlaceOut, 400: Refused, 401: Error, 403: Error, 404: Error, 422: ValidationErrors},
    summary="Accept, decline or withdraw a place, or record its attendance",
)
def act_on_cohort_place(request: HttpRequest, place_id: int, body: PlaceStepIn) -> Any:
    """``accept`` (the practice: the place's cost is committed to the paying budget, or refused naming the line and
    the budget), ``decline`` (the practice: offered on), ``withdraw`` (the practice or the running ICB team, with a
    reason: a commitment is released and the place offered on), ``attendance`` (the provider or the running ICB team,
    once the cohort has started). 404 for a place the caller may not see."""
    user: User = request.auth
    interest = Interest.objects.select_related("cohort", "practice").filter(pk=place_id).first()
    visible = interest is not None and policy.cohorts_visible_to(user).filter(pk=interest.cohort_id).exists()
    if interest is None or not visible or not policy.interests_visible_to(user, interest.cohort).filter(pk=place_id):
        raise Http404("No such place")
    form = PlaceForm(
        {**body.dict(), "attended": "1" if body.attended else "", "completed": "1" if body.completed else ""}
    )
    if not form.is_valid():
        return 422, field_errors("body", form_errors(form))
    d = form.cleaned_data
    services.take_step(
        user, interest, d["action"], reason=d["reason"], attended=d["attended"], completed=d["completed"]
    )
    return 200, _place(Interest.objects.select_related("practice", "commitment").get(pk=place_id), None)
