"""Closing a case from any open status with a listed reason, and reopening it within the window: each an attributed
move on the timeline, the money released on closure, the window and the practice's other open case respected."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from apps.cases import lifecycle, services
from apps.cases.models import OPEN, Case, CaseEvent, Route, Status
from apps.funding.models import Commitment

from .conftest import budget_for, this_year

pytestmark = pytest.mark.django_db


def _approved(personas, agreed_x: Case) -> Case:
    icb = personas["icb_a"]
    starts, ends = this_year()
    pkg = services.build_package(icb, agreed_x, [services.LineInput("gprp-coaching", 4)], [], starts, ends)
    services.submit_package(icb, pkg)
    services.approve_package(icb, pkg, "Panel approved", budget_for(agreed_x))
    agreed_x.refresh_from_db()
    return agreed_x


def test_the_icb_team_may_close_from_every_open_status_and_only_the_icb_team():
    for status in OPEN:
        t = lifecycle.find(status, Status.CLOSED)
        assert t is not None and t.roles == {"icb"} and t.needs_reason and not t.via, status


def test_closing_needs_a_listed_reason_and_words_and_records_both(personas, triaged_x):
    icb = personas["icb_a"]
    with pytest.raises(services.CaseError) as e:
        services.close_case(icb, triaged_x, "", "The practice recruited two GPs.")
    assert e.value.field == "why"
    with pytest.raises(services.CaseError) as e:
        services.close_case(icb, triaged_x, "stable", "ok")
    assert e.value.field == "reason"
    with pytest.raises(services.CaseError, match="is for"):
        services.close_case(personas["practice_x"], triaged_x, "stable", "The practice recruited two GPs.")
    triaged_x.refresh_from_db()
    assert triaged_x.status == Status.TRIAGED
    services.close_case(icb, triaged_x, "stable", "The practice recruited two GPs.")
    triaged_x.refresh_from_db()
    ev = triaged_x.events.filter(kind=CaseEvent.Kind.STATUS).last()
    assert triaged_x.status == Status.CLOSED
    assert (ev.by, ev.from_status, ev.to_status) == (icb, Status.TRIAGED, Status.CLOSED)
    assert ev.reason == f"{lifecycle.CLOSE_REASONS['stable']}: The practice recruited two GPs."


def test_closing_after_approval_releases_the_money_and_reopening_returns_to_plan_agreed(personas, agreed_x):
    icb = personas["icb_a"]
    case = _approved(personas, agreed_x)
    ref = case.packages.get().commitment_ref
    assert Commitment.objects.get(reference=ref).status == Commitment.Status.OPEN
    services.close_case(icb, case, "support_elsewhere", "The PCN has taken the practice on.")
    assert Commitment.objects.get(reference=ref).status != Commitment.Status.OPEN
    with pytest.raises(services.CaseError) as e:
        services.reopen_case(icb, case, "  ")
    assert e.value.field == "rationale"
    services.reopen_case(icb, case, "The PCN scheme fell through; the practice asked again.")
    case.refresh_from_db()
    assert case.status == Status.PLAN_AGREED
    ev = case.events.filter(kind=CaseEvent.Kind.STATUS).last()
    assert (ev.by, ev.from_status, ev.to_status) == (icb, Status.CLOSED, Status.PLAN_AGREED)
    assert "fell through" in ev.reason
    assert Commitment.objects.get(reference=ref).status != Commitment.Status.OPEN  # not silently committed again


def test_a_case_closed_before_money_reopens_where_it_was(personas, triaged_x):
    icb = personas["icb_a"]
    services.close_case(icb, triaged_x, "no_engagement", "No reply to three letters and two calls.")
    with pytest.raises(services.CaseError, match="ICB team"):
        services.reopen_case(personas["practice_x"], triaged_x, "We are ready to take part now.")
    services.reopen_case(icb, triaged_x, "The practice manager came back to us.")
    triaged_x.refresh_from_db()
    assert triaged_x.status == Status.TRIAGED


def test_reopening_is_refused_after_the_window_which_is_configurable(personas, triaged_x):
    icb = personas["icb_a"]
    services.close_case(icb, triaged_x, "goals_met", "Both goals met and the rota is full.")
    Case.objects.filter(pk=triaged_x.pk).update(status_changed_at=timezone.now() - timedelta(days=91))
    with pytest.raises(services.CaseError, match="more than 90 days"):
        services.reopen_case(icb, triaged_x, "The rota gap is back.")
    with override_settings(CASE_REOPEN_WINDOW_DAYS=120):
        services.reopen_case(icb, triaged_x, "The rota gap is back.")
    triaged_x.refresh_from_db()
    assert triaged_x.status == Status.TRIAGED


def test_reopening_is_refused_while_the_practice_has_another_open_case(personas, triaged_x, referral):
    icb = personas["icb_a"]
    services.close_case(icb, triaged_x, "goals_met", "Both goals met and the rota is full.")
    services.refer(icb, triaged_x.practice, Route.ICB, referral)
    with pytest.raises(services.CaseError, match="another open case"):
        services.reopen_case(icb, triaged_x, "The rota gap is back.")
    triaged_x.refresh_from_db()
    assert triaged_x.status == Status.CLOSED


def test_declined_and_withdrawn_cases_do_not_reopen(personas, triaged_x):
    services.change_status(personas["practice_x"], triaged_x, Status.WITHDRAWN, "We recruited after all.")
    with pytest.raises(services.CaseError, match="only a closed case"):
        services.reopen_case(personas["icb_a"], triaged_x, "Changed our minds.")


def test_the_pages_close_with_a_listed_reason_and_reopen_with_a_rationale(client_for, personas, triaged_x):
    icb = client_for("icb_a")
    close = reverse("cases:move", args=[triaged_x.pk, "closed"])
    page = icb.get(close).content.decode()
    assert all(label in page for label in lifecycle.CLOSE_REASONS.values())
    refused = icb.post(close, {"reason": "Nothing more to do here."})
    assert refused.status_code == 400 and 'href="#why"' in refused.content.decode()
    assert icb.post(close, {"why": "stable", "reason": "Nothing more to do here."}).status_code == 302
    detail = icb.get(reverse("cases:detail", args=[triaged_x.pk])).content.decode()
    assert "Reopen the case" in detail and "can be reopened until" in detail
    practice_detail = client_for("practice_x").get(reverse("cases:detail", args=[triaged_x.pk])).content.decode()
    assert "Reopen the case" not in practice_detail
    reopen = reverse("cases:reopen", args=[triaged_x.pk])
    assert client_for("practice_x").post(reopen, {"rationale": "Please reopen."}).status_code == 403
    icb = client_for("icb_a")  # one client, signed in as each persona in turn
    refused = icb.post(reopen, {"rationale": ""})
    assert refused.status_code == 400 and 'href="#rationale"' in refused.content.decode()
    assert icb.post(reopen, {"rationale": "The practice asked again."}).status_code == 302
    triaged_x.refresh_from_db()
    assert triaged_x.status == Status.TRIAGED
