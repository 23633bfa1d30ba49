"""The demo delivery data shows a new team every kind of session step, a dispute to resolve included."""

from __future__ import annotations

import pytest

from apps.accounts.models import User
from apps.cases import services as cs
from apps.delivery import waiting
from apps.delivery.models import SessionDispute

pytestmark = pytest.mark.django_db


def test_the_demo_icb_team_has_a_practices_dispute_to_resolve():
    open_disputes = SessionDispute.objects.filter(resolution__isnull=True, session__practice__icb__code="QHM")
    assert open_disputes.count() == 1
    dispute = open_disputes.select_related("session", "raised_by").get()
    assert dispute.raised_by.practice_id == dispute.session.practice_id  # raised by the practice itself
    icb_a = User.objects.get(username="icb-a")
    steps = {w.step for w in cs.waiting_for(icb_a) if w.href.endswith(f"/sessions/{dispute.session_id}/")}
    assert steps == {waiting.RESOLVE}
