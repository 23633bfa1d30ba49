"""Who sees a case: its ICB team, the practice, the assigned provider; national sees counts; confidential notes."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.cases import notify, services
from apps.cases import policy as access
from apps.cases.models import Notification, NotificationKind

pytestmark = pytest.mark.django_db


def test_only_the_icb_the_practice_and_the_assigned_provider_see_a_case(personas, triaged_x):
    seers = {name for name, u in personas.items() if access.cases_visible_to(u).filter(pk=triaged_x.pk).exists()}
    assert seers == {"icb_a", "practice_x"}
    services.assign_provider(personas["icb_a"], triaged_x, personas["provider"])
    seers = {name for name, u in personas.items() if access.cases_visible_to(u).filter(pk=triaged_x.pk).exists()}
    assert seers == {"icb_a", "practice_x", "provider"}


def test_practice_confidential_notes_are_hidden_from_the_provider(client_for, personas, triaged_x):
    services.assign_provider(personas["icb_a"], triaged_x, personas["provider"])
    services.add_note(personas["practice_x"], triaged_x, "Partner dispute, please keep this between us", True)
    services.add_note(personas["icb_a"], triaged_x, "Coaching to start in January")
    provider_page = client_for("provider").get(reverse("cases:detail", args=[triaged_x.pk])).content.decode()
    assert "Coaching to start in January" in provider_page and "Partner dispute" not in provider_page
    icb_page = client_for("icb_a").get(reverse("cases:detail", args=[triaged_x.pk])).content.decode()
    assert "Partner dispute" in icb_page
    with pytest.raises(services.CaseError, match="practice-confidential"):
        services.add_note(personas["provider"], triaged_x, "x", True)


def test_the_national_view_counts_cases_and_names_no_practice(client_for, triaged_x):
    page = client_for("national").get(reverse("cases:queue")).content.decode()
    assert "Support cases by ICB" in page
    assert triaged_x.practice.display_name not in page and triaged_x.ref not in page


def test_another_icb_gets_not_found_for_a_case(client_for, triaged_x):
    assert client_for("icb_b").get(reverse("cases:detail", args=[triaged_x.pk])).status_code == 404
    assert client_for("practice_y").get(reverse("cases:plan", args=[triaged_x.pk])).status_code == 404


def test_a_user_can_turn_a_kind_of_notification_off(personas, referral):
    px = personas["practice_x"]
    notify.set_enabled_kinds(px, {k for k in NotificationKind.values if k != NotificationKind.NOMINATED})
    services.refer(personas["lmc"], px.practice, "lmc", referral)
    assert not Notification.objects.filter(user=px, kind=NotificationKind.NOMINATED).exists()


def test_waiting_for_me_lists_what_each_role_must_do(client_for, personas, case_x):
    page = client_for("icb_a").get(reverse("cases:notifications")).content.decode()
    assert "Triage this referral" in page and case_x.ref in page
