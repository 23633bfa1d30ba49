"""What the cohort pages show, as plain data read in a fixed number of queries; the views only choose and render.

The national team's view of a cohort is counts (places, offered, accepted, waiting) by ICB, never a practice's row
(``policy.sees_case_rows``); everyone else sees the rows ``policy.interests_visible_to`` gives them.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from apps.accounts.models import User
from apps.cases.models import SupportOffer
from apps.cohorts import policy, services
from apps.cohorts.models import AttendeeRole, Cohort, Interest, Mode, Rule
from apps.delivery import policy as delivery_policy
from apps.delivery.models import ProviderOrganisation
from apps.funding.models import FundingLine, LineAccess

# Practice-manager development is a universal offer run as cohorts; the peer networks and coaching of
# apps.delivery carry it on (their pages link here, and a cohort of these offers links to them).
PM_DEVELOPMENT_OFFERS = ("gpdp-pm-development", "gpdp-pm-coaching")
HELD = Q(interests__state__in=[Interest.State.OFFERED, Interest.State.ACCEPTED])
DONE = {
    "accept": "Place accepted: its cost is committed and the provider will be in touch.",
    "decline": "Place declined: it has been offered to the next practice waiting.",
    "withdraw": "Withdrawn: the place has been offered on.",
    "attendance": "Attendance recorded.",
}


def with_counts(cohorts: QuerySet[Cohort]) -> QuerySet[Cohort]:
    return cohorts.annotate(
        n_held=Count("interests", filter=HELD, distinct=True),
        n_accepted=Count("interests", filter=Q(interests__state=Interest.State.ACCEPTED), distinct=True),
        n_waiting=Count("interests", filter=Q(interests__state=Interest.State.WAITING), distinct=True),
    )


def offer_asked(code: str) -> SupportOffer | None:
    """The menu offer a list is narrowed to (``?offer=``), if it is one; anything else lists every cohort."""
    return SupportOffer.objects.filter(code=code.strip()[:40], active=True).first() if code.strip() else None


def listed(user: User, offer: SupportOffer | None = None) -> list[dict[str, Any]]:
    """The cohorts a user sees (of one offer, if given), with places, filled (offered or accepted) and waiting; a
    practice's own interest."""
    visible = policy.cohorts_visible_to(user)
    if offer is not None:
        visible = visible.filter(offer=offer)
    cohorts = with_counts(visible.select_related("offer", "icb", "provider").order_by("starts_on", "pk"))
    own = policy.own_practice_of(user)
    mine = {}
    if own is not None:
        live = Interest.objects.filter(practice=own, state__in=services.LIVE)
        mine = {i.cohort_id: i for i in live}
    return [{"cohort": c, "mine": mine.get(c.pk)} for c in cohorts]


def counts(cohort: Cohort) -> dict[str, int]:
    row = with_counts(Cohort.objects.filter(pk=cohort.pk)).values("n_held", "n_accepted", "n_waiting").get()
    return {"places": cohort.places, "held": row["n_held"], "accepted": row["n_accepted"], "waiting": row["n_waiting"]}


def by_icb(cohort: Cohort) -> list[dict[str, Any]]:
    """Counts of interest by the practices' ICB and state: what the national team sees of a cohort."""
    rows = (
        cohort.interests.order_by()
        .values("practice__icb__code", "practice__icb__name")
        .annotate(
            waiting=Count("pk", filter=Q(state=Interest.State.WAITING)),
            offered=Count("pk", filter=Q(state=Interest.State.OFFERED)),
            accepted=Count("pk", filter=Q(state=Interest.State.ACCEPTED)),
        )
        .order_by("practice__icb__name")
    )
    return [
        {
            "icb": (r["practice__icb__name"] or "").removeprefix("NHS ").removesuffix(" Integrated Care Board"),
            "quota": cohort.quotas.get(r["practice__icb__code"] or "", 0),
            **{k: r[k] for k in ("waiting", "offered", "accepted")},
        }
        for r in rows
    ]


def detail(user: User, cohort: Cohort) -> dict[str, Any]:
    rows = list(policy.interests_visible_to(user, cohort).select_related("practice").order_by("expressed_at", "pk"))
    position = {i.pk: n for n, i in enumerate(services.waiting_list(cohort), 1)} if rows else {}
    own = policy.own_practice_of(user)
    refusal = services.eligibility_refusal(cohort, own) if own is not None else None
    return {
        "cohort": cohort,
        "counts": counts(cohort),
        "by_icb": by_icb(cohort) if not policy.sees_case_rows(user) else [],
        "rows": [(i, position.get(i.pk)) for i in rows],
        "sees_rows": policy.sees_case_rows(user),
        "runs": policy.runs_cohort(user, cohort),
        "eligible_icbs": [i.short_name for i in cohort.eligible_icbs.all()],
        "can_express": (own is not None and refusal is None and not any(i.state in services.LIVE for i in rows))
        or (own is None and policy.practices_user_may_express_for(user).exists()),
        "refusal": refusal,
        # the networks and coaching pages are for practices, ICB teams, LMCs and providers (apps.delivery.policy)
        "pm_development": cohort.offer.code in PM_DEVELOPMENT_OFFERS
        and (delivery_policy.can_see_networks(user) or delivery_policy.can_see_coaching(user)),
    }


def choices_for_new(user: User) -> dict[str, Any]:
    """The offers, universal lines and providers a new cohort may name (the service checks the combination)."""
    lines = FundingLine.objects.filter(access=LineAccess.UNIVERSAL).select_related("programme")
    if user.icb_id is not None:
        lines = lines.filter(budgets__icb_id=user.icb_id).distinct()
    return {
        "offers": [{"value": o.code, "text": o.title} for o in SupportOffer.objects.filter(active=True)],
        "lines": [{"value": str(line.pk), "text": str(line)} for line in lines],
        "providers": [{"value": str(p.pk), "text": p.name} for p in ProviderOrganisation.objects.filter(active=True)],
        "modes": list(Mode.choices),
        "rules": list(Rule.choices),
    }


def role_items() -> list[tuple[str, str]]:
    return list(AttendeeRole.choices)


def may_withdraw(user: User, interest: Interest) -> bool:
    return policy.may_withdraw(user, interest) and interest.state in services.LIVE and interest.attended is None


def place(user: User, interest: Interest) -> dict[str, Any]:
    cohort = interest.cohort
    offered = interest.state == Interest.State.OFFERED
    position = None
    if interest.state == Interest.State.WAITING and cohort.status == Cohort.Status.ALLOCATED:
        position = next((n for n, i in enumerate(services.waiting_list(cohort), 1) if i.pk == interest.pk), None)
    return {
        "interest": interest,
        "cohort": cohort,
        "events": interest.events.select_related("by"),
        "position": position,
        "can_answer": offered and policy.answers_for(user, interest),
        "can_withdraw": may_withdraw(user, interest),
        "can_record": interest.state == Interest.State.ACCEPTED and policy.can_record_attendance(user, cohort),
    }
