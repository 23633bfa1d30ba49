""" "Waiting for me" for sessions: the practice's sessions to confirm (or dispute), the ICB team's disputes to resolve,
and the provider's logs sent back to amend.

Each item is listed exactly when the rule that guards its step lets this user take it now
(:func:`~apps.delivery.services.amendments.confirm_refusal`, :func:`~.resolve_refusal`, :func:`~.asked_to_amend`):
the services refuse by the same functions, so the list cannot offer a step that would be refused. Read in a fixed
number of queries, whatever the number of sessions. Named in ``apps.cases.services.waiting.CONTRIBUTORS``.
"""

from __future__ import annotations

import operator
from functools import reduce

from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import User
from apps.cases.services.waiting import Waiting
from apps.delivery import policy as access
from apps.delivery.models import DisputeResolution, Session, SessionDispute
from apps.delivery.services import amendments as rules

CONFIRM = "confirm"
RESOLVE = "resolve"
AMEND = "amend"


def _candidates(user: User) -> list[Session]:
    """Signed-off sessions the user sees that wait for a step this user can take: unconfirmed for a practice,
    disputed for the ICB team, sent back to amend for a provider. (Not every unconfirmed session of the ICB for the
    ICB team: at scale those are thousands the rules would then refuse one by one.)"""
    open_dispute = SessionDispute.objects.filter(session=OuterRef("pk"), resolution__isnull=True)
    sent_back = DisputeResolution.objects.filter(
        dispute__session=OuterRef("pk"), outcome=DisputeResolution.Outcome.AMEND, amendment__isnull=True
    )
    waits = []
    if access.confirms_sessions(user):
        waits.append(Q(state=Session.State.DELIVERED, confirmed_at__isnull=True))
    if access.oversees_icb_delivery(user):
        waits.append(Q(Exists(open_dispute)))
    if access.is_faculty_login(user):
        waits.append(Q(Exists(sent_back)))
    if not waits:
        return []
    qs = (
        access.sessions_visible_to(user)
        .filter(signed_off_at__isnull=False)
        .filter(reduce(operator.or_, waits))
        .select_related("practice", "case", "member")
        .order_by("starts_at", "pk")
    )
    return list(rules.with_history(qs))


def steps_for(user: User) -> list[tuple[Session, str]]:
    """Each session waiting for this user, with the step (:data:`CONFIRM`, :data:`RESOLVE`, :data:`AMEND`)."""
    if not access.can_list_sessions(user):
        return []
    sessions = _candidates(user)
    invoiced = rules.invoiced_session_ids({s.practice.icb_id for s in sessions})
    out = []
    for s in sessions:
        f = rules.facts_of(s, invoiced)
        if rules.confirm_refusal(user, s, f) is None:
            out.append((s, CONFIRM))
        if rules.resolve_refusal(user, s, f) is None:
            out.append((s, RESOLVE))
        if rules.asked_to_amend(user, s, f):
            out.append((s, AMEND))
    return out


WHAT = {
    CONFIRM: "Confirm the session took place as logged, or dispute it",
    RESOLVE: "Resolve the practice's dispute of the session log",
    AMEND: "Amend the session log: the ICB team sent it back",
}


def session_items(user: User) -> list[Waiting]:
    out = []
    for s, step in steps_for(user):
        title = f"{s.practice.display_name}: {s.title}, {timezone.localtime(s.starts_at):%d %b %Y}"
        out.append(Waiting(s.case, WHAT[step], step, reverse("delivery:session", args=[s.pk]), title))
    return out
