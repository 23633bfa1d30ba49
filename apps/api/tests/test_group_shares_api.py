"""Group package shares through the API: the same rules as the pages (``apps/cases/tests/test_group_shares.py``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apps.api.services import create_api_token
from apps.cases import services
from apps.cases.models import Package
from apps.cases.tests.conftest import budget_for
from apps.cases.tests.test_group_shares import _group_package, cross_border_case
from apps.funding import services as funding

pytestmark = pytest.mark.django_db


def _call(client: Any, user: Any, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    headers = {"Authorization": f"Bearer {create_api_token(user, 'test')[1]}"}
    if method == "GET":
        return client.get(path, headers=headers)
    return client.generic(method, path, data=json.dumps(body or {}), content_type="application/json", headers=headers)


def test_a_practice_accepts_and_the_icb_across_the_border_approves_through_the_api(client, personas):
    referral = services.ReferralInput("Two partners are leaving.", tried=["locums"], urgency="soon")
    world = cross_border_case(personas, referral)
    case, icb, other = world["case"], personas["icb_a"], world["other"]
    pkg = _group_package(icb, case, [(case.practice.code, None), (other.code, None)])
    base = f"/api/v1/cases/{case.pk}/packages/{pkg.number}/shares"

    seen = _call(client, world["other_user"], "GET", base).json()
    assert [s["practice_code"] for s in seen["shares"]] == [other.code]  # its own share, not the lead's
    assert _call(client, personas["practice_y"], "GET", base).status_code == 404
    assert _call(client, icb, "POST", f"{base}/decision", {"decision": "accept"}).status_code == 403
    declined = _call(client, world["other_user"], "POST", f"{base}/decision", {"decision": "decline", "reason": "no"})
    assert declined.status_code == 400 and declined.json()["field"] == "reason"
    accepted = _call(client, world["other_user"], "POST", f"{base}/decision", {"decision": "accept"})
    assert accepted.status_code == 200 and accepted.json()["shares"][0]["accepted_at"]

    assert other.icb is not None
    theirs = max(funding.budgets_for(other.icb), key=lambda b: b.headroom_pence)
    wrong = _call(
        client,
        world["other_icb"],
        "POST",
        f"{base}/icb-decision",
        {"decision": "approve", "budget_id": budget_for(case).pk},
    )
    assert wrong.status_code == 400 and wrong.json()["field"] == "budget_id"  # the lead ICB's budget is not theirs
    assert _call(client, icb, "POST", f"{base}/icb-decision", {"decision": "approve"}).status_code == 403
    ok = _call(
        client, world["other_icb"], "POST", f"{base}/icb-decision", {"decision": "approve", "budget_id": theirs.pk}
    )
    assert ok.status_code == 200 and ok.json()["shares"][0]["approved_at"]
    lead_view = _call(client, icb, "GET", base).json()
    assert len(lead_view["shares"]) == 2 and "budget" not in json.dumps(lead_view)
    pkg.refresh_from_db()
    assert pkg.state == Package.State.SUBMITTED
