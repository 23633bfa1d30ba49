""" "Waiting for me" for sessions is derived from the rules that guard the steps, so it cannot disagree with them.

As for cases (``apps/cases/tests/test_waiting_for_me.py``), the oracle is the services themselves: at each stage of
a session's life, for every persona, confirming, resolving the dispute and amending (when the ICB team sent the log
back to the member who delivered it) are tried for real inside a savepoint that is rolled back. A step is listed for
that persona if and only if the service accepts it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.cases import services as cs
from apps.delivery import policy as access
from apps.delivery import services, waiting
from apps.delivery.errors import DeliveryError
from apps.delivery.models import Session

pytestmark = pytest.mark.django_db

PERSONAS = ("icb_a", "icb_b", "practice_x", "practice_y", "provider", "provider_b", "lmc", "national")
LOG = services.LogInput(delivered=True, hours=1.5, attendees={"gp_partner": 2}, notes="Succession plan drafted.")
AMENDED = services.LogInput(delivered=True, hours=1.0, attendees={"gp_partner": 1}, notes="One partner, one hour.")


class _Rollback(Exception):
    pass


def _accepted(step: Callable[[], Any]) -> bool:
    try:
        with transaction.atomic():
            step()
            raise _Rollback
    except _Rollback:
        return True
    except DeliveryError:
        return False


def _expected(user: Any, s: Session) -> set[str]:
    out = set()
    if _accepted(lambda: services.confirm_session(user, s)):
        out.add(waiting.CONFIRM)
    if _accepted(lambda: services.resolve_dispute(user, s, "upheld", "The register shows the attendees.")):
        out.add(waiting.RESOLVE)
    returned = s.disputes.filter(resolution__outcome="amend", resolution__amendment__isnull=True).exists()
    if (
        returned
        and access.can_log_session(user, s)
        and _accepted(lambda: services.amend_session(user, s, AMENDED, "Corrected to the register."))
    ):
        out.add(waiting.AMEND)
    return out


def _check_every_persona(personas: dict[str, Any], s: Session) -> dict[str, set[str]]:
    seen = {}
    for name in PERSONAS:
        user = personas[name]
        listed = {w.step for w in cs.waiting_for(user) if w.href.endswith(f"/sessions/{s.pk}/")}
        s.refresh_from_db()
        assert listed == _expected(user, s), name
        seen[name] = listed
    return seen


def _fresh(personas: dict[str, Any], assignment: Any, title: str) -> Session:
    return Session.objects.create(
        practice=assignment.case.practice,
        case=assignment.case,
        assignment=assignment,
        member=assignment.member,
        title=title,
        starts_at=timezone.now() - timedelta(hours=1),
        planned_hours=2,
        created_by=personas["provider"],
    )


def test_a_session_step_is_listed_if_and_only_if_that_role_may_take_it_now(personas, assignment, past_session):
    prov, px, icb = personas["provider"], personas["practice_x"], personas["icb_a"]
    s = past_session
    stages: dict[str, dict[str, set[str]]] = {}
    stages["planned"] = _check_every_persona(personas, s)
    services.log_session(prov, s, LOG)
    stages["logged, not signed off"] = _check_every_persona(personas, s)
    services.sign_off_session(prov, s)
    stages["signed off"] = _check_every_persona(personas, s)
    services.dispute_session(px, s, "Only one partner attended, for an hour.")
    stages["disputed"] = _check_every_persona(personas, s)
    services.resolve_dispute(icb, s, "amend", "The register shows one partner for an hour.")
    stages["sent back to amend"] = _check_every_persona(personas, s)
    services.amend_session(prov, s, AMENDED, "Corrected to the register, as asked.")
    stages["amended"] = _check_every_persona(personas, s)
    services.confirm_session(px, s)
    stages["confirmed"] = _check_every_persona(personas, s)

    other = _fresh(personas, assignment, "Coaching 2")
    services.log_session(prov, other, services.LogInput(**{**LOG.__dict__, "sign_off": True}))
    services.dispute_session(px, other, "The coach never came that day.")
    services.resolve_dispute(icb, other, "not_delivered", "The coach confirms it was missed.")
    stages["not delivered"] = _check_every_persona(personas, other)
    third = _fresh(personas, assignment, "Coaching 3")
    services.log_session(prov, third, services.LogInput(**{**LOG.__dict__, "sign_off": True}))
    services.dispute_session(px, third, "Only one partner attended, for an hour.")
    services.resolve_dispute(icb, third, "upheld", "The signed register shows two partners.")
    stages["upheld"] = _check_every_persona(personas, third)

    # The oracle is not vacuous: each step shows up for the role that takes it, and only there.
    assert stages["signed off"]["practice_x"] == {waiting.CONFIRM}
    assert stages["disputed"]["icb_a"] == {waiting.RESOLVE}
    assert stages["disputed"]["practice_x"] == set()
    assert stages["sent back to amend"]["provider"] == {waiting.AMEND}
    assert stages["sent back to amend"]["practice_x"] == set()
    assert stages["amended"]["practice_x"] == {waiting.CONFIRM}
    for stage in stages.values():
        for outsider in ("icb_b", "practice_y", "provider_b", "lmc", "national"):
            assert stage[outsider] == set()
    assert all(not items for items in stages["confirmed"].values())
    assert all(not items for items in stages["not delivered"].values())
    assert all(not items for items in stages["upheld"].values())


def test_the_waiting_page_links_each_session_step_to_the_session(client_for, personas, past_session):
    services.log_session(personas["provider"], past_session, services.LogInput(**{**LOG.__dict__, "sign_off": True}))
    html = client_for("practice_x").get("/notifications/").content.decode()
    assert f'href="/delivery/sessions/{past_session.pk}/"' in html
    assert "Confirm the session took place as logged, or dispute it" in html


def test_session_items_are_read_in_a_fixed_number_of_queries(personas, assignment):
    prov, px = personas["provider"], personas["practice_x"]

    def add(n: int) -> None:
        for i in range(n):
            s = _fresh(personas, assignment, f"Coaching {i}")
            services.log_session(prov, s, services.LogInput(**{**LOG.__dict__, "sign_off": True}))
            if i % 2:
                services.dispute_session(px, s, "Only one partner attended, for an hour.")

    def count(user: Any) -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            items = waiting.session_items(user)
        return len(ctx.captured_queries), len(items)

    add(2)
    few = count(px), count(personas["icb_a"])
    add(8)
    many = count(px), count(personas["icb_a"])
    assert many[0][1] == few[0][1] + 4 and many[1][1] == few[1][1] + 4
    assert (many[0][0], many[1][0]) == (few[0][0], few[1][0])
