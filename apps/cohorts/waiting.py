""" "Waiting for me" for cohorts: a practice's offered places to accept or decline, the running ICB team's cohorts
whose interest has closed and whose places are not yet allocated, the provider's attendance to record.

Each item is listed exactly when the service would let this user take the step now (the same states and the same
policy functions); read in a fixed number of queries. Named in ``apps.cases.services.waiting.CONTRIBUTORS``.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import User
from apps.cases.services.waiting import Waiting
from apps.cohorts import policy
from apps.cohorts.models import Cohort, Interest

ANSWER = "cohort_answer"
ALLOCATE = "cohort_allocate"
ATTENDANCE = "cohort_attendance"


def items(user: User) -> list[Waiting]:
    out: list[Waiting] = []
    today = timezone.localdate()
    own = policy.own_practice_of(user)
    if own is not None:
        offered = Interest.objects.filter(practice=own, state=Interest.State.OFFERED).select_related("cohort")
        for i in offered.order_by("offered_at", "pk"):
            href = reverse("cohorts:place", args=[i.pk])
            out.append(Waiting(None, "Accept or decline the place offered", ANSWER, href, i.cohort.title))
    to_allocate = (
        policy.cohorts_visible_to(user)
        .filter(status=Cohort.Status.OPEN, closes_on__lte=today, interests__state=Interest.State.WAITING)
        .distinct()
        .order_by("closes_on", "pk")
    )
    for c in to_allocate:
        if policy.runs_cohort(user, c):
            href = reverse("cohorts:allocate", args=[c.pk])
            out.append(Waiting(None, "Allocate the places: interest has closed", ALLOCATE, href, c.title))
    if policy.is_provider_login(user):
        unrecorded = (
            Interest.objects.filter(
                cohort__in=policy.cohorts_visible_to(user),
                state=Interest.State.ACCEPTED,
                attended__isnull=True,
                cohort__starts_on__lte=today,
            )
            .select_related("cohort", "practice")
            .order_by("cohort__starts_on", "pk")
        )
        for i in unrecorded:
            href = reverse("cohorts:place", args=[i.pk])
            title = f"{i.cohort.title}: {i.practice.display_name}"
            out.append(Waiting(None, "Record attendance and completion", ATTENDANCE, href, title))
    return out
