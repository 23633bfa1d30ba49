"""The daily clock digest (issue 16 §4): one email per ICB team member per day listing the ICB's cases past their
stage clock; nothing when nothing is late, nothing to who turned it off, nothing twice on one day."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.accounts.models import Role, TeamRole, User
from apps.cases import digest, services
from apps.cases.models import OPEN, Case, NotificationKind, NotificationSetting, Route
from apps.core.models import OutboxEmail
from apps.pages.management.commands.enqueue_scheduled import SCHEDULED

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_time() -> None:
    """Every open case of the test database starts inside its clock."""
    Case.objects.filter(status__in=OPEN).update(opened_at=timezone.now(), status_changed_at=timezone.now())


def ours(mails) -> list[str]:
    """Addresses of this test's people among the emails (the test database has demo users of its own)."""
    return [m.to[0] for m in mails if m.to[0].endswith("@example.nhs.uk")]


def late_case(personas) -> Case:
    px = personas["practice_x"]
    case, _ = services.refer(px, px.practice, Route.SELF, services.ReferralInput("Partners leaving.", urgency="urgent"))
    Case.objects.filter(pk=case.pk).update(opened_at=timezone.now() - timedelta(days=14))
    return case


@pytest.fixture
def team(personas) -> list[User]:
    for name in ("icb_a", "icb_b"):
        User.objects.filter(pk=personas[name].pk).update(email=f"{name}@example.nhs.uk")
    colleague = User.objects.create_user(
        username="t-colleague", password="x-test-password-1", role=Role.ICB, icb=personas["icb_a"].icb,
        team_role=TeamRole.MEMBER, email="colleague@example.nhs.uk",
    )  # fmt: skip
    return [User.objects.get(pk=personas["icb_a"].pk), colleague]


def test_nothing_is_sent_when_no_case_is_late(on_time, team, mailoutbox):
    run = digest.send_breach_digest()
    assert run.users == 0 and not mailoutbox
    assert not OutboxEmail.objects.filter(key__startswith="breach-digest:").exists()


def test_each_member_of_the_late_icb_gets_one_email_and_other_icbs_none(on_time, team, personas, mailoutbox):
    case = late_case(personas)
    mailoutbox.clear()
    run = digest.send_breach_digest()
    assert run.sent == len(mailoutbox)
    assert sorted(ours(mailoutbox)) == ["colleague@example.nhs.uk", "icb_a@example.nhs.uk"]  # not icb_b
    body = mailoutbox[0].body
    assert case.ref in body and "Triage an urgent referral" in body and f"/cases/{case.pk}/" in body
    sent = len(mailoutbox)
    again = digest.send_breach_digest()
    assert again.sent == 0 and again.held == sent and len(mailoutbox) == sent  # one email per person per day


def test_a_member_who_turned_the_digest_off_gets_none(on_time, team, personas, mailoutbox):
    late_case(personas)
    mailoutbox.clear()
    NotificationSetting.objects.create(user=team[1], kind=NotificationKind.BREACH_DIGEST, enabled=False)
    digest.send_breach_digest()
    assert ours(mailoutbox) == ["icb_a@example.nhs.uk"]


def test_the_command_dry_run_sends_nothing_and_the_schedule_runs_the_digest(
    on_time, team, personas, mailoutbox, capsys
):
    late_case(personas)
    mailoutbox.clear()
    call_command("send_clock_digest", "--dry-run")
    assert "Would send the clock digest to " in capsys.readouterr().out
    assert not mailoutbox
    assert SCHEDULED["digest"].name == "send_clock_digest"
    call_command("enqueue_scheduled", "digest")
    assert sorted(ours(mailoutbox)) == ["colleague@example.nhs.uk", "icb_a@example.nhs.uk"]
