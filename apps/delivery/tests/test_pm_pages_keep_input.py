"""The practice-manager development pages read every write through a form: refused input comes back in its boxes
as typed, with each message in the error summary and beside its own field."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Role, User
from apps.delivery import networks as svc
from apps.delivery.models import PeerReview

from .test_networks_and_coaching import icb_net, offer

pytestmark = pytest.mark.django_db
__all__ = ["icb_net", "offer"]  # fixtures, shared with the services' tests


def _value(html: str, field: str) -> str:
    """The value of the input (or the text of the textarea) named ``field``."""
    found = re.search(rf'<input[^>]*name="{field}"[^>]*value="([^"]*)"', html) or re.search(
        rf'<textarea[^>]*name="{field}"[^>]*>\s*([^<]*)</textarea>', html
    )
    assert found, f"no box named {field}"
    return found.group(1).strip()


def _tag(html: str, field: str) -> str:
    found = re.search(rf'<input[^>]*name="{field}"[^>]*>', html)
    assert found, f"no box named {field}"
    return found.group(0)


def _linked(html: str, field: str) -> bool:
    return f'href="#{field}"' in html


def test_a_refused_meeting_keeps_what_was_typed_and_names_the_wrong_box(client_for, personas, icb_net):
    client = client_for("icb_a")
    data = {"title": "Winter planning", "starts_at": "next tuesday", "minutes": "1.5", "location": "Room 4"}
    response = client.post(reverse("delivery:new_meeting", args=[icb_net.pk]), data)
    html = response.content.decode()
    assert response.status_code == 400
    assert _linked(html, "starts_at") and _linked(html, "minutes")
    assert _value(html, "title") == "Winter planning"
    assert _value(html, "starts_at") == "next tuesday"
    assert _value(html, "minutes") == "1.5"
    assert _value(html, "location") == "Room 4"
    assert not icb_net.meetings.exists()
    # An empty form offers the usual 90 minutes.
    empty = client.get(reverse("delivery:new_meeting", args=[icb_net.pk])).content.decode()
    assert _value(empty, "minutes") == "90"


def test_a_refused_post_keeps_its_text_beside_the_message(client_for, personas, icb_net):
    svc.join_network(personas["practice_x"], icb_net)
    client = client_for("practice_x")
    data = {"action": "post", "title": "Care navigation", "body": "Short", "tags": "bad tag!"}
    response = client.post(reverse("delivery:network", args=[icb_net.pk]), data)
    html = response.content.decode()
    assert response.status_code == 400
    assert "There is a problem" in html
    assert _value(html, "title") == "Care navigation"
    assert _value(html, "body") == "Short"
    assert _value(html, "tags") == "bad tag!"
    assert not icb_net.posts.exists()


def test_refused_slots_keep_the_lines_and_the_place_typed(client_for, personas, offer):
    client = client_for("provider")
    data = {"action": "slots", "slots": "2027-01-14 10:00\nsoon", "location": "Room 2, Leeds"}
    response = client.post(reverse("delivery:coaching_offer", args=[offer.pk]), data)
    html = response.content.decode()
    assert response.status_code == 400
    assert _linked(html, "slots")
    assert "“soon” is not a date and time" in html
    assert _value(html, "slots").splitlines() == ["2027-01-14 10:00", "soon"]
    assert _value(html, "location") == "Room 2, Leeds"  # not put back to the default "Video call"
    assert not offer.slots.exists()
    empty = client.get(reverse("delivery:coaching_offer", args=[offer.pk])).content.decode()
    assert _value(empty, "location") == "Video call"


def test_a_refused_peer_review_shows_a_goal_rows_error_beside_that_row(client_for, personas, icb_net):
    px = personas["practice_x"]
    peer = User.objects.create_user("t-peer", password="x-test-password-1", role=Role.PRACTICE, practice=px.practice)
    svc.join_network(px, icb_net)
    svc.join_network(peer, icb_net)
    held = (timezone.localdate() - timedelta(days=1)).isoformat()
    data = {
        "subject": str(peer.pk),
        "held_on": held,
        "strengths": "Calm",
        "to_develop": "Delegation",
        "goal-0": "Delegate the rota",
        "actions-0": "Train the deputy",
        "due-0": "2027-02-28",
        "goal-1": "Second goal",
        "due-1": "2027-02-30",
    }
    response = client_for("practice_x").post(reverse("delivery:peer_reviews"), data)
    html = response.content.decode()
    assert response.status_code == 400
    assert _linked(html, "due-1") and not _linked(html, "due-0")
    # The message stands beside its own row's box (the rows are numbered from 0, as their names are).
    assert "nhsuk-input--error" in _tag(html, "due-1")
    assert "nhsuk-input--error" not in _tag(html, "due-0")
    assert _value(html, "goal-0") == "Delegate the rota"
    assert _value(html, "due-0") == "2027-02-28"
    assert _value(html, "due-1") == "2027-02-30"
    assert _value(html, "goal-1") == "Second goal"
    assert _value(html, "held_on") == held
    assert f'value="{peer.pk}" selected' in html
    assert not PeerReview.objects.filter(subject=peer).exists()


def _checked(html: str, name: str) -> list[str]:
    """The values of the ticked checkboxes named ``name``."""
    return [
        value
        for tag in re.findall(rf'<input[^>]*name="{name}"[^>]*>', html)
        if " checked" in tag
        for value in re.findall(r'value="([^"]*)"', tag)
    ]


def test_a_refused_faculty_member_keeps_every_box_and_tick(client_for, personas, org):
    from apps.practices.models import ICB

    icb = ICB.objects.get(pk=personas["icb_a"].icb_id)
    data = {
        "name": "Dr Ada Lane",
        "organisation": str(org.pk),
        "role": "coach",
        "capacity": "lots",
        "joined_on": "2026-04-01",
        "offers": ["gpdp-pm-coaching"],
        "icbs": [str(icb.pk)],
        "new_member": "1",
    }
    response = client_for("icb_a").post(reverse("delivery:faculty"), data)
    html = response.content.decode()
    assert response.status_code == 400
    assert _linked(html, "capacity")
    assert _value(html, "name") == "Dr Ada Lane"
    assert _value(html, "capacity") == "lots"
    assert _checked(html, "offers") == ["gpdp-pm-coaching"]
    assert _checked(html, "icbs") == [str(icb.pk)]
    assert _checked(html, "new_member") == ["1"]
    assert _checked(html, "role") == ["coach"]


def test_a_refused_session_plan_keeps_what_was_typed(client_for, personas, approved_x, coach):
    from apps.cases.models import Package
    from apps.delivery import services

    line = approved_x.packages.get(state=Package.State.APPROVED).lines.get()
    services.assign_work(personas["icb_a"], line, member=coach)
    url = reverse("delivery:plan_session", args=[approved_x.pk])
    client = client_for("icb_a")
    assert _value(client.get(url).content.decode(), "hours") == "1.5"  # the usual length, offered
    response = client.post(url, {"title": "Coaching 3", "starts_at": "Thursday", "hours": "2.5", "assignment": "x"})
    html = response.content.decode()
    assert response.status_code == 400
    assert _linked(html, "starts_at")
    assert _value(html, "title") == "Coaching 3"
    assert _value(html, "starts_at") == "Thursday"
    assert _value(html, "hours") == "2.5"
    assert not approved_x.sessions.exists()
