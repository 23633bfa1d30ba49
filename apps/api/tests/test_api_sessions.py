"""The sessions API: a provider logs and signs off its session, the practice confirms it; refusals say why, name the
field when the input is at fault, and change nothing; writes are audited as the token's owner."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.api.testing import provider_session
from apps.core.models import AuditRecord
from apps.delivery.models import Session

pytestmark = pytest.mark.django_db

DELIVERED = {"outcome": "delivered", "hours": 1.5, "attendees": {"gp_partner": 2, "nurse": 1}, "notes": "Rota rebuilt."}


def snapshot(s: Session) -> tuple:
    s.refresh_from_db()
    return (s.state, s.delivered_hours, s.attendees, s.notes, s.logged_at, s.signed_off_at, s.confirmed_at)


def test_provider_logs_signs_off_and_practice_confirms_through_the_api(api_call, personas):
    s = provider_session(personas)
    logged = api_call("provider", "POST", f"/api/v1/sessions/{s.pk}/log", DELIVERED)
    assert logged.status_code == 200, logged.content
    body = logged.json()
    assert body["state"] == "delivered" and body["delivered_hours"] == 1.5
    assert body["attendees"] == {"gp_partner": 2, "nurse": 1} and body["signed_off_at"] is None

    waiting = api_call("practice_x", "GET", "/api/v1/sessions", waiting="confirm").json()
    assert s.pk not in [r["id"] for r in waiting["results"]], "not signed off yet: nothing to confirm"

    signed = api_call("provider", "POST", f"/api/v1/sessions/{s.pk}/sign-off")
    assert signed.status_code == 200 and signed.json()["signed_off_at"]
    waiting = api_call("practice_x", "GET", "/api/v1/sessions", waiting="confirm").json()
    assert [r["id"] for r in waiting["results"]] == [s.pk]

    confirmed = api_call("practice_x", "POST", f"/api/v1/sessions/{s.pk}/confirm")
    assert confirmed.status_code == 200 and confirmed.json()["confirmed_at"]
    s.refresh_from_db()
    assert s.confirmed_by == personas["practice_x"] and s.signed_off_by == personas["provider"]


def test_api_writes_are_audited_as_the_token_owner(api_call, personas):
    s = provider_session(personas)
    api_call("provider", "POST", f"/api/v1/sessions/{s.pk}/log", {**DELIVERED, "sign_off": True})
    api_call("practice_x", "POST", f"/api/v1/sessions/{s.pk}/confirm")
    records = AuditRecord.objects.filter(model="delivery.Session", object_pk=str(s.pk), action="update")
    by = {r.actor_id for r in records}
    assert by == {personas["provider"].pk, personas["practice_x"].pk}
    provider_changes = [r.changes for r in records.filter(actor_id=personas["provider"].pk)]
    assert any("delivered_hours" in c for c in provider_changes) and any("signed_off_at" in c for c in provider_changes)
    confirmed = records.get(actor_id=personas["practice_x"].pk)
    assert set(confirmed.changes) == {"confirmed_by", "confirmed_at"}


@pytest.mark.parametrize(
    "body,field",
    [
        ({**DELIVERED, "notes": "ok"}, "notes"),
        ({**DELIVERED, "attendees": {}}, "attendees"),
        ({**DELIVERED, "attendees": {"dragons": 3}}, "attendees"),
        ({**DELIVERED, "attendees": {"nurse": 500}}, "attendees"),
        ({**DELIVERED, "hours": 0}, "hours"),
        ({**DELIVERED, "hours": 13}, "hours"),
        ({k: v for k, v in DELIVERED.items() if k != "hours"}, "hours"),
        ({"outcome": "cancelled"}, "cancelled_reason"),
        ({**DELIVERED, "outcome": "postponed"}, "outcome"),
    ],
)
def test_bad_log_input_is_422_naming_the_field_and_saves_nothing(api_call, personas, body, field):
    s = provider_session(personas)
    before, audits = snapshot(s), AuditRecord.objects.count()
    response = api_call("provider", "POST", f"/api/v1/sessions/{s.pk}/log", body)
    assert response.status_code == 422, response.content
    errors = response.json()["detail"]
    assert any(e["loc"][-1] == field for e in errors), errors
    assert all(e["msg"] for e in errors)
    assert snapshot(s) == before and AuditRecord.objects.count() == audits


def test_state_refusals_are_409_with_the_reason_and_change_nothing(api_call, personas):
    signed = provider_session(personas, "signed_off")
    before = snapshot(signed)
    again = api_call("provider", "POST", f"/api/v1/sessions/{signed.pk}/log", DELIVERED)
    assert again.status_code == 409 and "signed off" in again.json()["detail"]
    assert api_call("provider", "POST", f"/api/v1/sessions/{signed.pk}/sign-off").status_code == 409
    assert snapshot(signed) == before

    planned = provider_session(personas)
    early = api_call("practice_x", "POST", f"/api/v1/sessions/{planned.pk}/confirm")
    assert early.status_code == 409 and "not signed this session off" in early.json()["detail"]
    not_delivered = api_call("provider", "POST", f"/api/v1/sessions/{planned.pk}/sign-off")
    assert not_delivered.status_code == 409 and "delivered" in not_delivered.json()["detail"]

    future = provider_session(personas)
    future.starts_at = timezone.now() + timedelta(days=2)
    future.save()
    too_soon = api_call("provider", "POST", f"/api/v1/sessions/{future.pk}/log", DELIVERED)
    assert too_soon.status_code == 409 and "once it has started" in too_soon.json()["detail"]
    cancelled = api_call(
        "provider", "POST", f"/api/v1/sessions/{future.pk}/log", {"outcome": "cancelled", "cancelled_reason": "Snow"}
    )
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"


def test_only_the_assigned_provider_sees_and_logs_the_session(api_call, personas):
    s = provider_session(personas)
    assert api_call("provider_b", "GET", f"/api/v1/sessions/{s.pk}").status_code == 404
    assert api_call("provider_b", "POST", f"/api/v1/sessions/{s.pk}/log", DELIVERED).status_code == 404
    assert api_call("provider_b", "GET", "/api/v1/sessions").json()["count"] == 0
    icb = api_call("icb_a", "POST", f"/api/v1/sessions/{s.pk}/log", DELIVERED)
    assert icb.status_code == 403 and "member delivering" in icb.json()["detail"]
    assert snapshot(s)[0] == "planned"
    mine = api_call("provider", "GET", "/api/v1/sessions", waiting="log").json()
    assert [r["id"] for r in mine["results"]] == [s.pk]


def test_session_list_filters_and_downloads_as_csv(api_call, personas):
    planned, delivered = provider_session(personas), provider_session(personas, "delivered")
    rows = api_call("icb_a", "GET", "/api/v1/sessions", state="delivered").json()["results"]
    assert delivered.pk in [r["id"] for r in rows] and planned.pk not in [r["id"] for r in rows]
    # the sessions' own days (made relative to now: just after midnight, one may fall on yesterday)
    days = sorted(timezone.localtime(x.starts_at).date() for x in (planned, delivered))
    both = api_call(
        "provider", "GET", "/api/v1/sessions", date_from=days[0].isoformat(), date_to=days[-1].isoformat()
    ).json()
    assert {planned.pk, delivered.pk} <= {r["id"] for r in both["results"]}
    assert api_call("provider", "GET", "/api/v1/sessions", date_from="0").status_code == 422
    csv = api_call("provider", "GET", "/api/v1/sessions", format="csv")
    assert csv["Content-Type"].startswith("text/csv")
    lines = csv.getvalue().decode().strip().splitlines()
    assert lines[0].startswith("id,title,case_id") and len(lines) == 3


def test_the_practice_disputes_the_icb_sends_it_back_and_the_provider_amends_through_the_api(api_call, personas):
    s = provider_session(personas, "signed_off")
    url = f"/api/v1/sessions/{s.pk}"
    short = api_call("practice_x", "POST", f"{url}/dispute", {"reason": "no"})
    assert short.status_code == 422 and "dispute_reason" in short.content.decode()
    assert api_call("practice_x", "POST", f"{url}/dispute", {"reason": "Nobody attended."}).status_code == 200
    waiting = api_call("practice_x", "GET", "/api/v1/sessions", waiting="confirm").json()
    assert s.pk not in [r["id"] for r in waiting["results"]], "disputed: nothing to confirm until resolved"
    assert api_call("practice_x", "POST", f"{url}/confirm").status_code == 409
    amend = {**DELIVERED, "reason": "Answering the practice's dispute."}
    refused = api_call("provider", "POST", f"{url}/amend", amend)
    assert refused.status_code == 409 and "disputed" in refused.json()["detail"]
    resolved = api_call("icb_a", "POST", f"{url}/resolve", {"outcome": "amend", "note": "The register shows one."})
    assert resolved.status_code == 200
    amended = api_call("provider", "POST", f"{url}/amend", {**amend, "hours": 0.5})
    assert amended.status_code == 200 and amended.json()["delivered_hours"] == 0.5
    history = api_call("practice_x", "GET", f"{url}/history").json()
    assert [v["number"] for v in history["versions"]] == [1, 2]
    assert history["versions"][1]["reason"] == "Answering the practice's dispute."
    (dispute,) = history["disputes"]
    assert (dispute["reason"], dispute["outcome"], dispute["note"]) == (
        "Nobody attended.",
        "amend",
        "The register shows one.",
    )


def test_an_amendment_after_the_window_is_refused_with_the_reason(api_call, personas):
    s = provider_session(personas, "signed_off")
    Session.objects.filter(pk=s.pk).update(logged_at=timezone.now() - timedelta(days=30))
    r = api_call("provider", "POST", f"/api/v1/sessions/{s.pk}/amend", {**DELIVERED, "reason": "Hours were wrong."})
    assert r.status_code == 409 and "within 14 days" in r.json()["detail"]
    assert snapshot(s)[1] == 1
