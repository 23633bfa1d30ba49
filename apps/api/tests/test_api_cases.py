"""The cases API: self-referral by a practice, the lists and a case as the pages show them, national counts."""

from __future__ import annotations

import pytest

from apps.cases.models import Case

pytestmark = pytest.mark.django_db


def test_a_practice_self_refers_through_the_api_and_a_second_request_joins_the_case(api_call, personas):
    body = {"concerns": "Our only nurse has left and smears are overdue.", "tried": ["recruitment"], "urgency": "soon"}
    first = api_call("practice_x", "POST", "/api/v1/cases/self-referral", body)
    assert first.status_code == 201 and first.json()["created"] is True
    again = api_call("practice_x", "POST", "/api/v1/cases/self-referral", body)
    assert again.status_code == 201 and again.json()["created"] is False
    assert again.json()["case"]["id"] == first.json()["case"]["id"]
    assert Case.objects.filter(practice=personas["practice_x"].practice).count() == 1


def test_a_bad_self_referral_is_refused_with_a_reason_and_saves_nothing(api_call, personas):
    before = Case.objects.count()
    short = api_call("practice_x", "POST", "/api/v1/cases/self-referral", {"concerns": "help"})
    assert short.status_code == 400 and "at least 10 characters" in short.json()["detail"]
    bad = api_call("practice_x", "POST", "/api/v1/cases/self-referral", {"concerns": "x" * 20, "urgency": "now"})
    assert bad.status_code == 422
    assert Case.objects.count() == before


def test_the_case_api_shows_the_timeline_to_the_icb_and_hides_the_case_from_others(api_call, personas):
    body = {"concerns": "Two partners retire in March and nobody has applied."}
    case_id = api_call("practice_x", "POST", "/api/v1/cases/self-referral", body).json()["case"]["id"]
    detail = api_call("icb_a", "GET", f"/api/v1/cases/{case_id}")
    assert detail.status_code == 200 and detail.json()["timeline"][0]["summary"].startswith("Case opened")
    assert api_call("icb_b", "GET", f"/api/v1/cases/{case_id}").status_code == 404
    listed = api_call("icb_a", "GET", "/api/v1/cases").json()
    assert case_id in [c["id"] for c in listed["results"]]


def test_the_national_summary_counts_and_names_no_practice(api_call, personas):
    api_call("practice_x", "POST", "/api/v1/cases/self-referral", {"concerns": "We cannot cover the rota this winter."})
    rows = api_call("national", "GET", "/api/v1/cases/summary").json()
    assert sum(r["counts"]["referred"] for r in rows) >= 1
    assert all(set(r) == {"icb_code", "icb_name", "counts"} for r in rows)


def test_the_api_self_referral_reads_its_body_through_the_page_form_and_names_the_field_at_fault(api_call):
    short = api_call("practice_x", "POST", "/api/v1/cases/self-referral", {"concerns": "help"})
    assert short.status_code == 400
    assert short.json() == {
        "detail": "Say what is wrong in a sentence or two (at least 10 characters).",
        "field": "concerns",
    }
    odd = api_call("practice_x", "POST", "/api/v1/cases/self-referral", {"concerns": "x" * 20, "tried": ["magic"]})
    assert odd.status_code == 400 and odd.json()["field"] == "tried"
