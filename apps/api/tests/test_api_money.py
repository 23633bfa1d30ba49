"""The money API: budgets and the ledger with the money pages' rules, and packages with their committed amounts.

Balances are checked against a programme of the test's own (£100,000 to ICB A, £40,000 released), so the numbers
are known; the demo money loaded for every test is filtered out by programme code.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from apps.api.testing import case_with_package
from apps.cases import services as case_services
from apps.cases.models import Package
from apps.cases.tests.conftest import plan_goals
from apps.funding.models import Budget, FundingLine
from apps.funding.tests.conftest import POUND, allocate_to, commit, make_line
from apps.pages.testing import ICB_A, ICB_B

pytestmark = pytest.mark.django_db


@pytest.fixture
def line(personas) -> FundingLine:
    """£100,000 this year to ICB A, £40,000 released, £3,000 committed for two practices."""
    from apps.funding import services

    line = make_line(personas["national"], code="APITEST")
    allocate_to(personas["national"], line, {ICB_A: 1})
    services.release_tranche(
        user=personas["national"], line=line, fy=line.years.get().fy, amount_pence=40_000 * POUND, note="First"
    )
    budget = Budget.objects.get(line=line, icb__code=ICB_A)
    px = personas["practice_x"].practice.code
    other = budget.icb.practices.exclude(code=px).order_by("code").first().code
    commit(
        budget,
        personas["icb_a"],
        [px],
        3_000 * POUND,
        "APITEST-1",
        recipients=[(px, 2_000 * POUND), (other, 1_000 * POUND)],
    )
    return line


def test_an_icb_team_sees_its_budget_balances(api_call, line):
    rows = api_call("icb_a", "GET", "/api/v1/budgets", programme="APITEST").json()["results"]
    assert len(rows) == 1
    b = rows[0]
    assert (b["icb_code"], b["programme"], b["line"]) == (ICB_A, "APITEST", "core")
    assert b["allocated_pence"] == 100_000 * POUND and b["released_pence"] == 40_000 * POUND
    assert b["committed_pence"] == 3_000 * POUND and b["spent_pence"] == 0
    assert b["headroom_pence"] == 37_000 * POUND and b["remaining_pence"] == 97_000 * POUND
    assert b["financial_year_label"] == f"{b['financial_year']}-{(b['financial_year'] + 1) % 100:02d}"


def test_budgets_are_scoped_to_the_callers_icb(api_call, line):
    national = api_call("national", "GET", "/api/v1/budgets", programme="APITEST").json()
    assert national["count"] == 1
    assert api_call("icb_b", "GET", "/api/v1/budgets", programme="APITEST").json()["count"] == 0
    refused = api_call("icb_b", "GET", "/api/v1/budgets", icb=ICB_A)
    assert refused.status_code == 403 and "own ICB" in refused.json()["detail"]
    everything = api_call("icb_b", "GET", "/api/v1/budgets", page_size=500).json()["results"]
    assert everything and {r["icb_code"] for r in everything} == {ICB_B}
    assert api_call("national", "GET", "/api/v1/budgets", icb="ZZZ").status_code == 404


def test_the_icb_ledger_names_practices_and_the_national_ledger_sums_them(api_call, personas, line):
    px = personas["practice_x"].practice.code
    mine = api_call("icb_a", "GET", "/api/v1/ledger", programme="APITEST", kind="commitment").json()
    assert mine["count"] == 2
    assert sorted(r["amount_pence"] for r in mine["results"]) == [1_000 * POUND, 2_000 * POUND]
    assert px in {r["practice_code"] for r in mine["results"]}

    national = api_call("national", "GET", "/api/v1/ledger", programme="APITEST", kind="commitment").json()
    assert national["count"] == 1
    (row,) = national["results"]
    assert row["amount_pence"] == 3_000 * POUND and row["entries"] == 2
    # Issue 14 item 3: a national line is a month's total, so it carries no commitment reference (it used to).
    assert row["practice_code"] is None and row["offer_code"] is None and row["reference"] == ""
    at = timezone.localtime(datetime.fromisoformat(row["at"].replace("Z", "+00:00")))
    assert (at.day, at.hour, at.minute) == (1, 0, 0)  # the month's first day

    everything = api_call("national", "GET", "/api/v1/ledger", programme="APITEST").json()
    assert {r["kind"] for r in everything["results"]} == {"allocation", "release", "commitment"}
    assert api_call("icb_b", "GET", "/api/v1/ledger", programme="APITEST").json()["count"] == 0


def test_ledger_filters_page_and_download(api_call, line):
    today = timezone.localdate()
    fy = line.years.get().fy
    one = api_call("icb_a", "GET", "/api/v1/ledger", programme="APITEST", page_size=1, page=2).json()
    assert (one["count"], one["pages"], len(one["results"])) == (4, 4, 1)
    assert api_call("icb_a", "GET", "/api/v1/ledger", programme="APITEST", fy=fy - 1).json()["count"] == 0
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert api_call("icb_a", "GET", "/api/v1/ledger", programme="APITEST", date_from=tomorrow).json()["count"] == 0
    same_day = {"date_from": today.isoformat(), "date_to": today.isoformat()}
    assert api_call("icb_a", "GET", "/api/v1/ledger", programme="APITEST", **same_day).json()["count"] == 4
    bad = api_call("icb_a", "GET", "/api/v1/ledger", kind="gift")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "kind"
    assert api_call("icb_a", "GET", "/api/v1/ledger", date_from="31/12/2026").status_code == 422

    download = api_call("icb_a", "GET", "/api/v1/ledger", programme="APITEST", format="csv")
    assert download["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.getvalue().decode())))  # a streamed download
    assert len(rows) == 4 and sum(int(r["amount_pence"]) for r in rows if r["kind"] == "commitment") == 300_000


def test_money_is_refused_to_practices_providers_and_the_lmc(api_call, line):
    for persona in ("practice_x", "provider", "provider_b", "lmc"):
        for path in ("/api/v1/budgets", "/api/v1/ledger"):
            response = api_call(persona, "GET", path)
            assert response.status_code == 403, (persona, path)
            assert "national programme team and each ICB" in response.json()["detail"]


def test_packages_show_committed_money_to_the_icb_team_only(api_call, personas):
    from apps.funding import services as funding

    case = case_with_package(personas)
    pkg = Package.objects.get(case=case, number=1)
    case_services.save_plan(personas["practice_x"], case, plan_goals())
    case_services.agree_plan(personas["practice_x"], case)
    budget = max(funding.budgets_for(case.icb), key=lambda b: b.headroom_pence)
    case_services.approve_package(personas["icb_a"], pkg, "Panel approved", budget)
    pkg.refresh_from_db()

    icb = api_call("icb_a", "GET", f"/api/v1/cases/{case.pk}/packages/1").json()
    assert icb["state"] == "approved" and icb["commitment_ref"] == pkg.commitment_ref
    assert icb["committed_pence"] == pkg.total_pence and icb["paid_pence"] == 0
    assert icb["lines"][0]["offer_code"] == "gprp-coaching"
    assert sum(s["share_pence"] for s in icb["practices"]) == pkg.total_pence

    practice = api_call("practice_x", "GET", f"/api/v1/cases/{case.pk}/packages/1").json()
    assert practice["total_pence"] == pkg.total_pence
    assert practice["committed_pence"] is None and practice["paid_pence"] is None
    detail = api_call("icb_a", "GET", f"/api/v1/cases/{case.pk}").json()
    assert detail["packages"][0]["committed_pence"] == pkg.total_pence

    assert api_call("icb_a", "GET", f"/api/v1/cases/{case.pk}/packages/2").status_code == 404
    assert api_call("provider_b", "GET", f"/api/v1/cases/{case.pk}/packages/1").status_code == 404


def test_package_list_follows_the_case_list(api_call, personas):
    case = case_with_package(personas)
    refs = {r["ref"] for r in api_call("provider", "GET", "/api/v1/packages", page_size=500).json()["results"]}
    assert f"{case.ref}/PKG-1" in refs
    assert api_call("provider_b", "GET", "/api/v1/packages").json()["count"] == 0
    mine = api_call("practice_x", "GET", "/api/v1/packages", case_id=case.pk, state="submitted").json()
    assert [r["case_id"] for r in mine["results"]] == [case.pk]
    assert api_call("practice_y", "GET", "/api/v1/packages", case_id=case.pk).json()["count"] == 0
    assert api_call("national", "GET", "/api/v1/packages").status_code == 403
    download = api_call("icb_a", "GET", "/api/v1/packages", case_id=case.pk, format="csv").getvalue().decode()
    (row,) = list(csv.DictReader(io.StringIO(download)))
    assert row["ref"] == f"{case.ref}/PKG-1" and "gprp-coaching" in row["lines"]
