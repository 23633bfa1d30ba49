"""A session's steps appear on its case's timeline, attributed, in order: signed off, disputed, resolved, amended,
confirmed (the session keeps its own full history besides)."""

from __future__ import annotations

import pytest

from apps.cases.models import CaseEvent
from apps.delivery import services

pytestmark = pytest.mark.django_db
LOG = services.LogInput(
    delivered=True, hours=1.5, attendees={"gp_partner": 2}, notes="Succession plan drafted.", sign_off=True
)
AMENDED = services.LogInput(delivered=True, hours=1.0, attendees={"gp_partner": 1}, notes="One partner, one hour.")


def _timeline(case) -> list[tuple[str, str, str, str]]:
    events = CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.SESSION).order_by("at", "pk")
    return [(e.by.username, e.summary.split(": ", 1)[1], e.reason, e.summary.split(" (")[0]) for e in events]


def test_each_step_of_a_session_is_on_the_case_timeline_by_whoever_took_it(personas, assignment, past_session):
    prov, px, icb = personas["provider"], personas["practice_x"], personas["icb_a"]
    services.log_session(prov, past_session, LOG)
    services.dispute_session(px, past_session, "Only one partner attended, for an hour.")
    services.resolve_dispute(icb, past_session, "amend", "The register shows one partner for an hour.")
    services.amend_session(prov, past_session, AMENDED, "Corrected to the register, as asked.")
    services.confirm_session(px, past_session)
    title = f"“{past_session.title}”"
    assert _timeline(past_session.case) == [
        (prov.username, "1.5 hours delivered by " + past_session.member.name + ", signed off", "", title),
        (px.username, "the practice disputed the log", "Only one partner attended, for an hour.", title),
        (icb.username, "dispute resolved: the provider must amend the log",
         "The register shows one partner for an hour.", title),
        (prov.username, "log amended (version 2); the earlier version is kept", "Corrected to the register, as asked.",
         title),
        (px.username, "confirmed by the practice", "", title),
    ]  # fmt: skip
