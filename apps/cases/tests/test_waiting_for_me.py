""" "Waiting for me" is derived from the lifecycle rules that guard the moves, so it cannot disagree with them.

The oracle is the services themselves: at each stage of a case's life, for every persona, each move the table marks
as awaited (``Transition.todo``) is tried for real inside a savepoint that is rolled back. The move is listed for that
persona if and only if the service accepts it; writing the plan is listed if and only if it is what makes the
practice's agreement possible. The health check (a step, not a move) is listed for the practice until it is done.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.cases import lifecycle, services
from apps.cases import policy as access
from apps.cases.config import questionnaire
from apps.cases.models import Case, Package, Route, Status
from apps.cases.services.waiting import HEALTH_CHECK, REVIEW_HEALTH_CHECK

from .conftest import budget_for, plan_goals, this_year

pytestmark = pytest.mark.django_db

PERSONAS = ("icb_a", "icb_b", "practice_x", "practice_y", "provider", "provider_b", "lmc", "national")


class _Rollback(Exception):
    pass


def _accepted(step: Callable[[], Any]) -> bool:
    """Whether the service accepts the step; nothing it wrote is kept either way."""
    try:
        with transaction.atomic():
            step()
            raise _Rollback
    except _Rollback:
        return True
    except services.CaseError:
        return False


def _make(t: lifecycle.Transition, user: Any, case: Case) -> Callable[[], Any]:
    """The service that makes move ``t``, called as the pages call it."""
    if t.via == "triage":
        return lambda: services.triage(user, case, "high", "medium", "Workforce gap the menu can address")
    if t.via == "agree_plan":
        return lambda: services.agree_plan(user, case)
    if t.via == "approve_package":

        def approve() -> None:
            pkg = case.packages.filter(state=Package.State.SUBMITTED).first()
            if pkg is None:
                raise services.CaseError("nothing to approve")
            services.approve_package(user, pkg, "", budget_for(case))

        return approve
    return lambda: services.change_status(user, case, t.target, "A reason given for the record.")


def _expected(user: Any, case: Case) -> set[str]:
    out = set()
    for t in lifecycle.TRANSITIONS:
        if t.source != case.status or not t.todo:
            continue
        if _accepted(_make(t, user, case)):
            out.add(t.label)
        elif t.needs == "plan_written":

            def write_then_agree(t: lifecycle.Transition = t) -> None:
                services.save_plan(user, case, plan_goals())
                _make(t, user, case)()

            if _accepted(write_then_agree):
                out.add("plan_written")
        case.refresh_from_db()
    return out


def _listed(user: Any, case: Case) -> list[services.Waiting]:
    return [w for w in services.waiting_for(user) if w.case is not None and w.case.pk == case.pk]


def _check_every_persona(personas: dict[str, Any], case: Case) -> dict[str, set[str]]:
    case.refresh_from_db()
    seen = {}
    for name in PERSONAS:
        user = personas[name]
        listed = {w.step for w in _listed(user, case) if w.step != "health_check"}
        assert listed == _expected(user, case), (case.status, name)
        seen[name] = listed
    return seen


def test_an_item_is_listed_if_and_only_if_the_role_may_make_the_move_now(personas, case_x):
    icb, px = personas["icb_a"], personas["practice_x"]
    stages: dict[str, dict[str, set[str]]] = {}

    stages["referred"] = _check_every_persona(personas, case_x)
    services.triage(icb, case_x, "high", "medium", "Workforce gap the menu can address")
    stages["triaged, no plan"] = _check_every_persona(personas, case_x)
    with transaction.atomic():  # diagnosis without a plan: the practice is asked to write one
        services.change_status(icb, case_x, Status.DIAGNOSIS)
        stages["diagnosis, no plan"] = _check_every_persona(personas, case_x)
        transaction.set_rollback(True)
    services.save_plan(px, case_x, plan_goals())
    stages["triaged, plan written"] = _check_every_persona(personas, case_x)
    services.change_status(icb, case_x, Status.DIAGNOSIS)
    stages["diagnosis, plan written"] = _check_every_persona(personas, case_x)
    services.agree_plan(px, case_x)
    stages["plan agreed, no package"] = _check_every_persona(personas, case_x)
    starts, ends = this_year()
    pkg = services.build_package(icb, case_x, [services.LineInput("gprp-coaching", 3)], [], starts, ends)
    services.submit_package(icb, pkg)
    stages["plan agreed, package submitted"] = _check_every_persona(personas, case_x)
    services.approve_package(icb, pkg, "", budget_for(case_x))
    stages["approved, no provider"] = _check_every_persona(personas, case_x)
    services.assign_provider(icb, case_x, personas["provider"])
    stages["approved, provider assigned"] = _check_every_persona(personas, case_x)
    services.change_status(personas["provider"], case_x, Status.IN_DELIVERY)
    stages["in delivery"] = _check_every_persona(personas, case_x)
    services.change_status(icb, case_x, Status.REVIEW)
    stages["review"] = _check_every_persona(personas, case_x)

    # The oracle is not vacuous: each awaited move shows up for the role that makes it, and only there.
    assert stages["referred"]["icb_a"] == {"Triage"}
    assert stages["triaged, no plan"]["practice_x"] == {"plan_written"}
    assert stages["diagnosis, no plan"]["practice_x"] == {"plan_written"}
    assert stages["triaged, plan written"]["practice_x"] == {"Diagnosis done with the plan"}
    assert stages["diagnosis, plan written"]["practice_x"] == {"Agree the action plan"}
    assert stages["plan agreed, no package"]["icb_a"] == set()  # no "approve" before there is something to approve
    assert stages["plan agreed, package submitted"]["icb_a"] == {"Approve the package"}
    assert stages["approved, no provider"]["provider"] == set()
    assert stages["approved, provider assigned"]["provider"] == {"Start delivery"}
    assert stages["approved, provider assigned"]["icb_a"] == {"Start delivery"}
    for stage in stages.values():
        for outsider in ("icb_b", "practice_y", "provider_b", "lmc", "national"):
            assert stage[outsider] == set()


def test_no_approve_before_the_plan_is_agreed_even_with_a_package_submitted(personas, triaged_x):
    icb = personas["icb_a"]
    starts, ends = this_year()
    pkg = services.build_package(icb, triaged_x, [services.LineInput("gprp-coaching", 3)], [], starts, ends)
    services.submit_package(icb, pkg)
    assert [w.what for w in _listed(icb, triaged_x)] == []
    assert not _accepted(lambda: services.approve_package(icb, pkg, "", budget_for(triaged_x)))


def test_the_practice_is_asked_for_its_health_check_until_it_is_submitted_and_again_at_review(personas, triaged_x):
    px, icb = personas["practice_x"], personas["icb_a"]
    assert HEALTH_CHECK in [w.what for w in _listed(px, triaged_x)]
    assert HEALTH_CHECK not in [w.what for w in _listed(icb, triaged_x)]  # the practice's own step
    services.save_health_check(px, triaged_x, {q: "3" for q in questionnaire().questions}, submit=True)
    assert HEALTH_CHECK not in [w.what for w in _listed(px, triaged_x)]
    triaged_x.status = Status.IN_DELIVERY  # straight to delivery: the path there is the other test's
    triaged_x.save()
    services.change_status(icb, triaged_x, Status.REVIEW)
    assert REVIEW_HEALTH_CHECK in [w.what for w in _listed(px, triaged_x)]


def test_waiting_for_me_reads_every_case_in_a_fixed_number_of_queries(personas, referral):
    icb = personas["icb_a"]
    practices = list(access.nominatable_practices(icb).order_by("code")[:12])

    def open_cases(n: int) -> None:
        for p in practices[:n]:
            if not Case.objects.filter(practice=p).open().exists():
                services.refer(icb, p, Route.ICB, referral)  # each referral waits for its triage

    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            items = services.waiting_for(icb)
        return len(ctx.captured_queries), len(items)

    open_cases(2)
    few = count()
    open_cases(12)
    many = count()
    assert many[1] >= few[1] + 10  # ten more cases, each waiting for its triage
    assert many[0] == few[0]


def test_closing_withdrawing_and_reopening_keep_the_list_and_the_rules_in_step(personas, case_x):
    """The corrections (close from any open status, reopen within the window, withdraw) at every stage they reach:
    an ended case waits for no one; a reopened one waits for exactly what its new status allows."""
    icb, px = personas["icb_a"], personas["practice_x"]
    services.triage(icb, case_x, "high", "medium", "Workforce gap the menu can address")
    services.save_plan(px, case_x, plan_goals())
    stages: dict[str, dict[str, set[str]]] = {}
    for status in (Status.TRIAGED, Status.DIAGNOSIS):
        if status == Status.DIAGNOSIS:
            services.change_status(icb, case_x, Status.DIAGNOSIS)
        services.close_case(icb, case_x, "stable", "The practice recruited two GPs.")
        stages[f"closed from {status}"] = _check_every_persona(personas, case_x)
        services.reopen_case(icb, case_x, "The practice asked for help again.")
        case_x.refresh_from_db()
        assert case_x.status == status
        stages[f"reopened at {status}"] = _check_every_persona(personas, case_x)
    services.agree_plan(px, case_x)
    starts, ends = this_year()
    pkg = services.build_package(icb, case_x, [services.LineInput("gprp-coaching", 3)], [], starts, ends)
    services.submit_package(icb, pkg)
    services.approve_package(icb, pkg, "", budget_for(case_x))
    services.close_case(icb, case_x, "support_elsewhere", "The PCN has taken the practice on.")
    stages["closed after approval"] = _check_every_persona(personas, case_x)
    services.reopen_case(icb, case_x, "The PCN scheme fell through.")
    stages["reopened after approval"] = _check_every_persona(personas, case_x)
    services.change_status(px, case_x, Status.WITHDRAWN, "We found a salaried GP ourselves.")
    stages["withdrawn"] = _check_every_persona(personas, case_x)

    assert stages["reopened at triaged"]["practice_x"] == {"Diagnosis done with the plan"}
    assert stages["reopened at diagnosis"]["practice_x"] == {"Agree the action plan"}
    assert stages["reopened after approval"]["icb_a"] == set()  # a new package must be submitted first
    for name, stage in stages.items():
        if name.startswith(("closed", "withdrawn")):
            assert all(items == set() for items in stage.values()), name


def test_group_share_items_are_listed_if_and_only_if_the_share_service_accepts_them(personas, referral):
    """A group package across an ICB border, at each stage of its shares: "group share to accept" is listed for a
    user iff ``decide_share`` accepts that user's acceptance, "share to approve" iff ``decide_icb_share`` accepts its
    approval, and the lead ICB's "approve" iff ``approve_package`` accepts it."""
    from apps.funding import services as funding

    from .test_group_shares import cross_border_case

    world = cross_border_case(personas, referral)
    case, icb = world["case"], personas["icb_a"]
    users = {**{n: personas[n] for n in PERSONAS}, **{k: world[k] for k in ("lead_user", "other_user", "other_icb")}}
    starts, ends = this_year()
    lines = [services.LineInput("gprp-change-management", 4)]
    pkg = services.build_package(
        icb, case, lines, [(case.practice.code, None), (world["other"].code, None)], starts, ends
    )
    assert world["other"].icb is not None
    their_budget = max(funding.budgets_for(world["other"].icb), key=lambda b: b.headroom_pence)

    def oracle(user: Any) -> set[str]:
        out = set()
        if _accepted(lambda: services.decide_share(user, pkg, True)):
            out.add("accept_share")
        if _accepted(lambda: services.decide_icb_share(user, pkg, True, "", their_budget)):
            out.add("approve_share")
        if _accepted(lambda: services.approve_package(user, pkg, "", budget_for(case))):
            out.add("Approve the package")
        return out

    def check() -> dict[str, set[str]]:
        seen = {}
        for name, user in users.items():
            steps = {"accept_share", "approve_share", "Approve the package"}
            listed = {w.step for w in services.waiting_for(user) if w.step in steps and (w.case in (None, case))}
            assert listed == oracle(user), (name, listed)
            seen[name] = listed
        return seen

    stages = {"draft": check()}
    services.submit_package(icb, pkg)
    stages["submitted"] = check()
    services.decide_share(world["other_user"], pkg, True)
    stages["accepted"] = check()
    services.decide_icb_share(world["other_icb"], pkg, True, "", their_budget)
    stages["approved across the border"] = check()

    assert all(items == set() for items in stages["draft"].values())
    assert stages["submitted"]["other_user"] == {"accept_share"}
    assert stages["submitted"]["other_icb"] == set()  # its practice accepts first
    assert stages["accepted"]["other_icb"] == {"approve_share"}
    assert stages["accepted"]["icb_a"] == set()
    assert stages["approved across the border"]["icb_a"] == {"Approve the package"}
    for stage in stages.values():
        for outsider in ("icb_b", "practice_y", "provider", "provider_b", "lmc", "national", "practice_x"):
            assert stage[outsider] == set(), outsider
