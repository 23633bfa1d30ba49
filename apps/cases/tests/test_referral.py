"""Three ways in, one open case per practice, and the practice is told when someone else nominates it."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from apps.cases import services
from apps.cases.models import Case, CaseEvent, Notification, NotificationKind, Referral, Route, Status
from apps.practices.models import Practice, PracticeStatus

pytestmark = pytest.mark.django_db


def test_a_practice_self_refers_and_a_case_opens_for_its_icb(personas, referral):
    px = personas["practice_x"]
    case, created = services.refer(px, px.practice, Route.SELF, referral)
    assert created and case.status == Status.REFERRED and case.icb_id == px.practice.icb_id
    assert case.urgency == "soon"
    assert CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.OPENED, by=px).exists()
    # the ICB team hears of it; the practice does not get a "you were nominated" message for its own request
    assert Notification.objects.filter(case=case, user=personas["icb_a"], kind=NotificationKind.NEW_REFERRAL).exists()
    assert not Notification.objects.filter(case=case, kind=NotificationKind.NOMINATED).exists()


def test_a_nomination_joins_the_open_case_instead_of_making_a_duplicate(personas, case_x, referral):
    lmc = personas["lmc"]
    case, created = services.refer(lmc, case_x.practice, Route.LMC, referral)
    assert not created and case.pk == case_x.pk
    assert Case.objects.filter(practice=case_x.practice).open().count() == 1
    assert Referral.objects.filter(case=case_x).count() == 2
    assert Referral.objects.get(case=case_x, route=Route.LMC).joined_existing


def test_the_practice_is_told_when_the_lmc_nominates_it(
    personas, referral, mailoutbox, django_capture_on_commit_callbacks
):
    px = personas["practice_x"]
    px.email = "pm@example.org"
    px.save()
    with django_capture_on_commit_callbacks(execute=True):
        case, _ = services.refer(personas["lmc"], px.practice, Route.LMC, referral)
    note = Notification.objects.get(user=px, kind=NotificationKind.NOMINATED)
    assert note.case == case and "nominated" in note.message
    assert any("pm@example.org" in m.to for m in mail.outbox)
    # the email names the case, not the concerns
    body = next(m.body for m in mail.outbox if "pm@example.org" in m.to)
    assert referral.concerns not in body and case.ref in body


def test_an_lmc_cannot_nominate_a_practice_in_another_icb(personas, referral):
    py = personas["practice_y"].practice
    with pytest.raises(services.CaseError, match="own ICB"):
        services.refer(personas["lmc"], py, Route.LMC, referral)


def test_a_practice_cannot_self_refer_for_another_practice(personas, referral):
    with pytest.raises(services.CaseError, match="practice itself"):
        services.refer(personas["practice_x"], personas["practice_y"].practice, Route.SELF, referral)


def test_a_closed_practice_cannot_be_referred(personas, referral):
    closed = Practice.objects.filter(icb=personas["icb_a"].icb).exclude(status=PracticeStatus.ACTIVE).first()
    with pytest.raises(services.CaseError, match="not an open practice"):
        services.refer(personas["icb_a"], closed, Route.ICB, referral)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (services.ReferralInput("short"), "at least 10"),
        (services.ReferralInput("We cannot cope any more.", tried=["bribery"]), "Unknown choices"),
        (services.ReferralInput("We cannot cope any more.", help_wanted=["A new car"]), "Unknown kinds of help"),
        (services.ReferralInput("We cannot cope any more.", urgency="yesterday"), "how urgent"),
    ],
)
def test_bad_referrals_are_refused_and_nothing_is_saved(personas, data, message):
    px = personas["practice_x"]
    before = Case.objects.count()
    with pytest.raises(services.CaseError, match=message):
        services.refer(px, px.practice, Route.SELF, data)
    assert Case.objects.count() == before


def test_the_self_referral_form_is_prefilled_and_shows_errors_without_losing_input(client_for, personas):
    client = client_for("practice_x")
    page = client.get(reverse("cases:refer")).content.decode()
    assert personas["practice_x"].practice.display_name in page
    response = client.post(reverse("cases:refer"), {"concerns": "bad", "tried": ["locums"], "urgency": "soon"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "There is a problem" in html and 'value="locums" checked' in html
    assert not Case.objects.filter(practice=personas["practice_x"].practice).exists()
    response = client.post(
        reverse("cases:refer"),
        {"concerns": "Our only nurse has left and smears are overdue.", "tried": ["recruitment"], "urgency": "urgent"},
    )
    case = Case.objects.get(practice=personas["practice_x"].practice)
    assert response.status_code == 302 and response["Location"] == reverse("cases:detail", args=[case.pk])


def test_an_icb_user_opens_a_case_from_the_watch_list(client_for, personas):
    practice = (
        Practice.objects.filter(icb=personas["icb_a"].icb, status=PracticeStatus.ACTIVE, support_cases__isnull=True)
        .order_by("-code")
        .first()
    )
    client = client_for("icb_a")
    url = reverse("cases:nominate") + f"?from=watch-list&practice={practice.code}"
    assert practice.display_name in client.get(url).content.decode()
    response = client.post(
        url,
        {
            "practice": practice.code,
            "route": "watch_list",
            "concerns": "Top of our watch list for two reviews.",
            "urgency": "soon",
        },
    )
    assert response.status_code == 302
    assert Referral.objects.get(case__practice=practice).route == Route.WATCH_LIST


def test_an_lmc_sees_its_nominations_but_not_the_case(client_for, personas, referral):
    services.refer(personas["lmc"], personas["practice_x"].practice, Route.LMC, referral)
    page = client_for("lmc").get(reverse("cases:queue")).content.decode()
    assert personas["practice_x"].practice.display_name in page
    assert referral.concerns not in page
