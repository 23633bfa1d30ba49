"""The session page: the provider amends a signed-off log, the practice disputes one, the ICB team resolves the
dispute; each refusal is shown in the error summary next to its field, and the history shows every step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.delivery import services
from apps.delivery.models import Session, SessionDispute, SessionLogVersion

pytestmark = pytest.mark.django_db

LOG = services.LogInput(
    delivered=True, hours=1.5, attendees={"gp_partner": 2}, notes="Succession plan drafted.", sign_off=True
)
AMEND = {
    "action": "amend",
    "outcome": "delivered",
    "hours": "2",
    "att-gp_partner": "3",
    "notes": "Succession plan drafted; rota reviewed.",
    "amend_reason": "The partners stayed for the rota review.",
}


@pytest.fixture
def signed_off(personas: dict[str, Any], past_session: Session) -> Session:
    return services.log_session(personas["provider"], past_session, LOG)


def _url(s: Session) -> str:
    return f"/delivery/sessions/{s.pk}/"


def test_the_provider_amends_the_log_and_the_page_shows_both_versions(client_for, signed_off):
    page = client_for("provider").get(_url(signed_off)).content.decode()
    assert "Amend the log" in page and "within 14 days" in page
    r = client_for("provider").post(_url(signed_off), {**AMEND, "amend_reason": ""})
    html = r.content.decode()
    assert r.status_code == 400 and 'href="#amend_reason"' in html and "Say why the log is amended" in html
    assert not SessionLogVersion.objects.exists()
    r = client_for("provider").post(_url(signed_off), {**AMEND, "hours": "99"})
    assert r.status_code == 400 and 'href="#hours"' in r.content.decode()
    assert client_for("provider").post(_url(signed_off), AMEND).status_code == 302
    html = client_for("practice_x").get(_url(signed_off)).content.decode()
    assert "Version 1:" in html and "Version 2 (current):" in html
    assert "Why amended: The partners stayed for the rota review." in html
    assert "Amend the log" not in html  # the practice does not amend a provider's log


def test_after_the_window_the_page_says_why_the_log_cannot_be_amended(client_for, signed_off):
    Session.objects.filter(pk=signed_off.pk).update(logged_at=timezone.now() - timedelta(days=20))
    html = client_for("provider").get(_url(signed_off)).content.decode()
    assert "that time has passed" in html and 'value="amend"' not in html
    r = client_for("provider").post(_url(signed_off), AMEND)
    assert r.status_code == 400 and "that time has passed" in r.content.decode()


def test_the_practice_disputes_and_the_icb_resolves_from_the_page(client_for, signed_off):
    px = client_for("practice_x")
    html = px.get(_url(signed_off)).content.decode()
    assert "Confirm the session took place" in html and "Dispute the session" in html
    r = px.post(_url(signed_off), {"action": "dispute", "dispute_reason": ""})
    assert r.status_code == 400 and 'href="#dispute_reason"' in r.content.decode()
    assert (
        px.post(_url(signed_off), {"action": "dispute", "dispute_reason": "Only one partner came."}).status_code == 302
    )
    html = px.get(_url(signed_off)).content.decode()
    assert "Disputed by the practice" in html and "Confirm the session took place" not in html

    icb = client_for("icb_a")
    assert "Resolve the dispute" in icb.get(_url(signed_off)).content.decode()
    r = icb.post(_url(signed_off), {"action": "resolve", "decision": "maybe", "decision_note": ""})
    html = r.content.decode()
    assert r.status_code == 400 and 'href="#decision"' in html and 'href="#decision_note"' in html
    r = icb.post(
        _url(signed_off), {"action": "resolve", "decision": "amend", "decision_note": "The register shows one."}
    )
    assert r.status_code == 302
    html = client_for("provider").get(_url(signed_off)).content.decode()
    assert "asked you to amend this log" in html
    assert "Dispute resolved:" in html and "The provider must amend the log. The register shows one." in html


def test_outsiders_cannot_amend_dispute_or_resolve(client_for, personas, signed_off):
    for who in ("practice_y", "icb_b", "provider_b", "lmc", "national", "anonymous"):
        for action in ({**AMEND}, {"action": "dispute", "dispute_reason": "Not as logged at all."}):
            r = client_for(who).post(_url(signed_off), action)
            assert r.status_code in (302, 404), who  # anonymous: to sign in; others: the session is not theirs
    assert not SessionDispute.objects.filter(session=signed_off).exists()  # (the demo has a dispute of its own)
    services.dispute_session(personas["practice_x"], signed_off, "Not as logged at all.")
    resolve = {"action": "resolve", "decision": "upheld", "decision_note": "The register shows two partners."}
    r = client_for("provider").post(_url(signed_off), resolve)
    assert r.status_code == 400 and "Only the ICB team" in r.content.decode()
    r = client_for("practice_x").post(_url(signed_off), {**AMEND})
    assert r.status_code == 400 and "Only the member" in r.content.decode()
    assert not SessionLogVersion.objects.exists()


def test_an_upheld_log_says_the_icb_team_confirmed_it(client_for, personas, signed_off):
    services.dispute_session(personas["practice_x"], signed_off, "Only one partner attended, for an hour.")
    html = client_for("icb_a").get(_url(signed_off)).content.decode()
    assert "Resolve the dispute" in html and "the ICB team resolves the dispute first" not in html
    services.resolve_dispute(personas["icb_a"], signed_off, "upheld", "The signed register shows two partners.")
    html = client_for("practice_x").get(_url(signed_off)).content.decode()
    assert "Confirmed (the ICB team upheld the log)" in html and "The log stands" in html


def test_a_disputed_session_is_tagged_on_the_case_page_and_leaves_the_practices_list_to_confirm(
    client_for, personas, signed_off
):
    home = client_for("practice_x").get("/delivery/").content.decode()
    assert "Sessions to confirm" in home
    services.dispute_session(personas["practice_x"], signed_off, "Only one partner attended, for an hour.")
    assert "Sessions to confirm" not in client_for("practice_x").get("/delivery/").content.decode()
    case_page = client_for("icb_a").get(f"/delivery/cases/{signed_off.case_id}/").content.decode()
    assert "Disputed by the practice" in case_page
