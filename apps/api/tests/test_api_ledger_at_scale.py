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
