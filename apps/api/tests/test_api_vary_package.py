"""Varying an approved package through the API: the same service as the page (one decision over every budget, the
difference as new ledger entries), its refusals as 400 with the field, 403 for the practice."""

from __future__ import annotations

from typing import Any

import pytest

from apps.cases.models import Case, Package
from apps.cases.tests.conftest import agreed_x, case_x, referral, triaged_x  # noqa: F401  (fixtures)
from apps.cases.tests.test_package_variation import _approved, _conserves
from apps.funding.models import LedgerEntry

pytestmark = pytest.mark.django_db
POUND = 100


def test_the_icb_team_varies_an_approved_package_through_the_api(api_call, personas: dict[str, Any], agreed_x: Case):  # noqa: F811
    pkg, rp, dp = _approved(personas, agreed_x)
    url = f"/api/v1/cases/{agreed_x.pk}/packages/{pkg.number}/variations"
    body = {
        "lines": [{"offer_code": "gprp-workforce", "units": 3}, {"offer_code": "gpdp-hia", "units": 1}],
        "reason": "A third GP session agreed at the panel",
    }

    answer = api_call("icb_a", "POST", url, body)

    assert answer.status_code == 200, answer.content
    got = answer.json()
    assert got["total_pence"] == 3 * 32_000 + 120_000
    assert got["committed_pence"] == got["total_pence"]
    assert {ln["offer_code"]: ln["units"] for ln in got["lines"]} == {"gprp-workforce": 3, "gpdp-hia": 1}
    assert LedgerEntry.objects.filter(budget=rp, kind="variation").exists()
    _conserves(rp), _conserves(dp)

    same = api_call("icb_a", "POST", url, body)
    assert same.status_code == 400 and same.json()["field"] == "lines"  # nothing changes

    short = api_call("icb_a", "POST", url, {**body, "reason": "x"})
    assert short.status_code == 400 and short.json()["field"] == "reason"


def test_a_variation_over_a_budget_changes_nothing_and_says_which(api_call, personas, agreed_x):  # noqa: F811
    pkg, _, dp = _approved(personas, agreed_x, gpdp_released=1_500 * POUND)  # £300 left on the GPDP budget
    before = LedgerEntry.objects.count()
    answer = api_call(
        "icb_a",
        "POST",
        f"/api/v1/cases/{agreed_x.pk}/packages/{pkg.number}/variations",
        {
            "lines": [{"offer_code": "gprp-workforce", "units": 2}, {"offer_code": "gpdp-hia", "units": 2}],
            "reason": "A second Time for Care workshop",
        },
    )
    assert answer.status_code == 400 and "short" in answer.json()["detail"]
    assert str(dp) in answer.json()["detail"]
    assert LedgerEntry.objects.count() == before


def test_the_practice_sees_the_package_but_may_not_vary_it(api_call, personas, agreed_x):  # noqa: F811
    pkg, _, _ = _approved(personas, agreed_x)
    answer = api_call(
        "practice_x",
        "POST",
        f"/api/v1/cases/{agreed_x.pk}/packages/{pkg.number}/variations",
        {"lines": [{"offer_code": "gprp-workforce", "units": 1}], "reason": "We would like fewer sessions"},
    )
    assert answer.status_code == 403
    pkg.refresh_from_db()
    assert pkg.state == Package.State.APPROVED and pkg.total_pence == 2 * 32_000 + 120_000
