"""The API ledger at scale (issue 19 §2): counted and paged in the database, so its query count does not grow with
the entries; the CSV streams."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.funding.models import Budget
from apps.funding.tests.conftest import allocate_to, make_line
from apps.funding.tests.test_ledger_at_scale import grow
from apps.pages.testing import ICB_A

pytestmark = pytest.mark.django_db


@pytest.fixture
def budget(personas) -> Budget:
    line = make_line(personas["national"], code="APISCALE")
    allocate_to(personas["national"], line, {ICB_A: 1})
    return Budget.objects.get(line=line, icb__code=ICB_A)


@pytest.mark.parametrize("persona", ["icb_a", "national"])
def test_the_api_ledger_makes_the_same_queries_with_ten_times_the_entries(api_call, personas, budget, persona):
    params = {"programme": budget.line.programme.code}

    def measure() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = api_call(persona, "GET", "/api/v1/ledger", **params)
        assert response.status_code == 200
        return len(ctx.captured_queries)

    grow(budget, personas["icb_a"], 30)
    measure()  # the first request also loads what is cached once
    small = measure()
    grow(budget, personas["icb_a"], 300)
    assert measure() == small


def test_the_api_ledger_csv_streams_every_line(api_call, personas, budget):
    grow(budget, personas["icb_a"], 3_000)
    response = api_call("icb_a", "GET", "/api/v1/ledger", programme="APISCALE", format="csv")
    assert response.streaming
    lines = response.getvalue().decode().splitlines()
    assert lines[0].startswith("at,icb_code,programme,line") and len(lines) == 1 + 3_000 + 1  # and the allocation


@pytest.mark.parametrize("kind", [None, "variation"])
def test_the_national_api_gives_the_same_month_lines_with_and_without_a_date_range(api_call, personas, budget, kind):
    """Without a date range the national month lines come from the running totals; a range holding every entry
    groups the entries themselves: the same lines, count and CSV."""
    grow(budget, personas["icb_a"], 120)
    query = {"kind": kind} if kind else {}
    every = {"date_from": "2000-01-01", "date_to": "2100-12-31"}
    plain = api_call("national", "GET", "/api/v1/ledger", **query).json()
    ranged = api_call("national", "GET", "/api/v1/ledger", **query, **every).json()
    assert plain == ranged and plain["count"] >= 4
    assert all(r["reference"] == "" and r["practice_code"] is None for r in plain["results"])
    csv_plain = api_call("national", "GET", "/api/v1/ledger", **query, format="csv").getvalue()
    assert csv_plain == api_call("national", "GET", "/api/v1/ledger", **query, **every, format="csv").getvalue()
