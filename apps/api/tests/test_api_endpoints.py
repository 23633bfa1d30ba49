"""What the API answers: paging, filters, CSV, and clear JSON errors (404 that reveals nothing, 403, 422)."""

from __future__ import annotations

import csv
import io

import pytest

from apps.pages.testing import ICB_A, ICB_B
from apps.practices.models import Practice, PracticeStatus

pytestmark = pytest.mark.django_db


def test_practices_page_through_the_filtered_register(api_call):
    open_in_a = Practice.objects.filter(icb__code=ICB_A, status=PracticeStatus.ACTIVE)
    first = api_call("icb_b", "GET", "/api/v1/practices", icb=ICB_A, page_size=10).json()
    assert first["count"] == open_in_a.count() and first["pages"] == -(-first["count"] // 10)
    assert len(first["results"]) == 10 and {r["icb_code"] for r in first["results"]} == {ICB_A}
    second = api_call("icb_b", "GET", "/api/v1/practices", icb=ICB_A, page_size=10, page=2).json()
    assert not {r["code"] for r in first["results"]} & {r["code"] for r in second["results"]}
    past_the_end = api_call("icb_b", "GET", "/api/v1/practices", icb=ICB_A, page=10_000).json()
    assert past_the_end["results"] == [] and past_the_end["count"] == first["count"]


def test_practice_filters_by_text_pcn_and_status(api_call):
    p = Practice.objects.filter(status=PracticeStatus.ACTIVE, pcn__isnull=False).select_related("pcn").first()
    by_code = api_call("lmc", "GET", "/api/v1/practices", q=p.code).json()
    assert p.code in [r["code"] for r in by_code["results"]]
    by_pcn = api_call("lmc", "GET", "/api/v1/practices", pcn=p.pcn.code, page_size=500).json()
    assert {r["pcn_code"] for r in by_pcn["results"]} == {p.pcn.code}
    closed = api_call("lmc", "GET", "/api/v1/practices", status="closed", page_size=5).json()
    assert closed["count"] == Practice.objects.filter(status=PracticeStatus.CLOSED).count()
    assert {r["status"] for r in closed["results"]} == {"closed"}


def test_practice_list_as_csv_gives_every_matching_row(api_call):
    response = api_call("icb_a", "GET", "/api/v1/practices", icb=ICB_B, format="csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.getvalue().decode())))
    assert len(rows) == Practice.objects.filter(icb__code=ICB_B, status=PracticeStatus.ACTIVE).count()
    assert rows[0]["icb_code"] == ICB_B and "list_size" in rows[0]


def test_csv_is_also_chosen_by_the_accept_header(client, api_tokens):
    headers = {"Authorization": f"Bearer {api_tokens['national']}", "Accept": "text/csv"}
    response = client.get("/api/v1/indicators", headers=headers)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response.getvalue().decode().splitlines()[0].startswith("id,title,measures")
    json_response = client.get("/api/v1/indicators", headers={**headers, "Accept": "application/json"})
    assert json_response["Content-Type"].startswith("application/json")


def test_unknown_practice_is_a_404_that_reveals_nothing(api_call):
    missing = api_call("icb_a", "GET", "/api/v1/practices/ZZ9999")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not found: there is no such record, or you do not have access to it."}


def test_bad_parameters_are_a_422_naming_the_field(api_call):
    response = api_call("icb_a", "GET", "/api/v1/practices", page=0, status="open-ish")
    assert response.status_code == 422
    fields = {tuple(e["loc"])[-1] for e in response.json()["detail"]}
    assert fields == {"page", "status"}
    too_big = api_call("icb_a", "GET", "/api/v1/practices", page_size=501)
    assert too_big.status_code == 422 and "page_size" in str(too_big.json())


def test_scores_are_refused_with_a_reason_to_other_icbs_and_the_national_team(api_call, personas):
    code = personas["practice_x"].practice.code
    for persona in ("icb_b", "national", "practice_y", "provider", "lmc"):
        response = api_call(persona, "GET", f"/api/v1/practices/{code}/scores")
        assert response.status_code == 403
        assert "own ICB team and the practice itself" in response.json()["detail"]


def test_a_practice_reads_its_own_scores_with_explanations_and_as_csv(api_call, personas):
    code = personas["practice_x"].practice.code
    body = api_call("practice_x", "GET", f"/api/v1/practices/{code}/scores").json()
    assert body["practice_code"] == code and body["indicators"]
    assert all(i["sentence"] for i in body["indicators"])
    table = api_call("practice_x", "GET", f"/api/v1/practices/{code}/scores", format="csv").getvalue().decode()
    assert len(table.splitlines()) == len(body["indicators"]) + 1


def test_watch_list_lists_only_the_icbs_own_practices(api_call):
    body = api_call("icb_a", "GET", f"/api/v1/icbs/{ICB_A}/watch-list", show="all", page_size=500).json()
    codes = {r["practice_code"] for r in body["results"]}
    assert codes == set(
        Practice.objects.filter(icb__code=ICB_A, status=PracticeStatus.ACTIVE).values_list("code", flat=True)
    )
    listed = api_call("icb_a", "GET", f"/api/v1/icbs/{ICB_A}/watch-list", page_size=500).json()
    assert all(r["on_list"] for r in listed["results"]) and listed["count"] < body["count"]


def test_national_summary_names_no_practice(api_call):
    response = api_call("national", "GET", "/api/v1/watch-list/summary", format="csv")
    header = response.getvalue().decode().splitlines()[0].split(",")
    assert header == [
        "icb_code",
        "icb_name",
        "region_name",
        "open_practices",
        "by_score",
        "added",
        "removed",
        "reviews_overdue",
    ]
    assert not any("practice_code" in h for h in header)
