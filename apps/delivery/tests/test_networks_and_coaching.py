"""Practice-manager networks, posts and search, coaching bookings (no double booking), peer review."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.delivery import networks as svc
from apps.delivery import policy as access
from apps.delivery.models import Booking, CoachingOffer, CoachingRequest, Network, Session, Slot
from apps.delivery.services import DeliveryError

pytestmark = pytest.mark.django_db


@pytest.fixture
def icb_net(personas):
    return Network.objects.create(
        name="ICB A managers", footprint="icb", icb=personas["icb_a"].icb, created_by=personas["icb_a"]
    )


@pytest.fixture
def pcn_net(personas):
    pcn = personas["practice_x"].practice.pcn
    return Network.objects.create(
        name="PCN managers", footprint="pcn", pcn=pcn, icb=personas["icb_a"].icb, created_by=personas["icb_a"]
    )


@pytest.fixture
def offer(coach):
    from apps.cases.models import SupportOffer

    return CoachingOffer.objects.create(
        coach=coach,
        offer=SupportOffer.objects.get(code="gpdp-pm-coaching"),
        title="PM coaching",
        description="Three sessions",
    )


@pytest.fixture
def slots(personas, offer):
    base = timezone.now().replace(microsecond=0) + timedelta(days=3)
    svc.publish_slots(personas["provider"], offer, [base + timedelta(days=i) for i in range(4)])
    return list(offer.slots.order_by("starts_at"))


def test_a_practice_manager_joins_a_network_on_their_footprint_and_can_leave(personas, icb_net, pcn_net):
    px = personas["practice_x"]
    svc.join_network(px, icb_net)
    svc.join_network(px, pcn_net)
    with pytest.raises(DeliveryError, match="already a member"):
        svc.join_network(px, icb_net)
    svc.leave_network(px, icb_net)
    assert not svc.is_member(px, icb_net)
    svc.join_network(px, icb_net)  # re-joining after leaving is fine
    assert svc.is_member(px, icb_net)


def test_networks_outside_the_footprint_are_invisible_and_cannot_be_joined(personas, icb_net, pcn_net):
    py = personas["practice_y"]
    assert not access.networks_visible_to(py).filter(pk__in=[icb_net.pk, pcn_net.pk]).exists()
    with pytest.raises(DeliveryError, match="own footprint"):
        svc.join_network(py, icb_net)
    with pytest.raises(DeliveryError, match="own footprint"):
        svc.join_network(personas["icb_a"], icb_net)  # the ICB team sees networks but does not join them
    assert access.networks_visible_to(personas["lmc"]).filter(pk=icb_net.pk).exists()


def test_members_share_what_worked_and_anyone_in_the_footprint_finds_it_by_word_or_tag(personas, icb_net, pcn_net):
    px = personas["practice_x"]
    with pytest.raises(DeliveryError, match="Join the network"):
        svc.share_post(px, icb_net, "Care navigation", "We trained reception in care navigation.", "telephony")
    svc.join_network(px, icb_net)
    svc.join_network(px, pcn_net)
    svc.share_post(
        px,
        icb_net,
        "Care navigation works",
        "We trained reception in care navigation and queues fell.",
        "telephony, Reception",
    )
    svc.share_post(
        px, pcn_net, "Shared rota template", "One rota template across the PCN for locums and ARRS staff.", "rota"
    )
    # the demo networks' posts are in the footprint too: look only at these two networks' posts
    ours = {"Care navigation works", "Shared rota template"}
    assert {p.title for p in svc.search_posts(px, "queues fell")} & ours == {"Care navigation works"}
    assert {p.title for p in svc.search_posts(px, tag="reception")} & ours == {"Care navigation works"}
    assert {p.title for p in svc.search_posts(px, "")} >= ours  # across both networks
    assert not {p.title for p in svc.search_posts(personas["practice_y"], "queues")} & ours


def test_bad_tags_and_short_posts_are_refused(personas, icb_net):
    svc.join_network(personas["practice_x"], icb_net)
    with pytest.raises(DeliveryError, match="letters, numbers and hyphens"):
        svc.share_post(
            personas["practice_x"], icb_net, "A good title", "Long enough body text for the post.", "bad_tag!"
        )
    with pytest.raises(DeliveryError, match="at least 20"):
        svc.share_post(personas["practice_x"], icb_net, "A good title", "Too short", "")
    assert not icb_net.posts.exists()


def test_meetings_are_scheduled_in_the_future_and_attendance_is_of_members_only(personas, icb_net):
    px = personas["practice_x"]
    with pytest.raises(DeliveryError, match="in the future"):
        svc.schedule_meeting(
            personas["icb_a"], icb_net, "Past", timezone.now() - timedelta(days=1), 60, "Room", "Agenda items"
        )
    m = svc.schedule_meeting(
        personas["icb_a"], icb_net, "Winter", timezone.now() + timedelta(days=1), 60, "Room", "Agenda items"
    )
    svc.join_network(px, icb_net)
    with pytest.raises(DeliveryError, match="once the meeting has started"):
        svc.record_attendance(personas["icb_a"], m, [px.pk])
    m.starts_at = timezone.now() - timedelta(hours=2)
    m.save()
    with pytest.raises(DeliveryError, match="Only members"):
        svc.record_attendance(personas["icb_a"], m, [personas["practice_y"].pk])
    svc.record_attendance(personas["icb_a"], m, [px.pk])
    assert list(m.attendees.all()) == [px]


def test_booking_coaching_makes_planned_sessions_up_to_the_offers_number(personas, offer, slots):
    px = personas["practice_x"]
    req = svc.request_coaching(px, offer, "Help me delegate and plan the year.")
    for slot in slots[:3]:
        svc.book_slot(px, req, slot)
    req.refresh_from_db()
    assert req.state == CoachingRequest.State.BOOKED
    sessions = Session.objects.filter(booking__request=req).order_by("starts_at")
    assert [s.title for s in sessions] == [f"PM coaching: session {i} of 3" for i in (1, 2, 3)]
    assert all(s.planned_hours == 1.5 and s.member == offer.coach for s in sessions)
    with pytest.raises(DeliveryError, match="not open for booking"):
        svc.book_slot(px, req, slots[3])


def test_a_slot_cannot_be_booked_twice(personas, offer, slots, approved_x):
    px = personas["practice_x"]
    other = approved_x.practice.users.exclude(pk=px.pk).first() or px
    req1 = svc.request_coaching(px, offer, "Help me delegate and plan the year.")
    svc.book_slot(px, req1, slots[0])
    req2 = CoachingRequest.objects.create(
        coaching_offer=offer, practice=px.practice, requested_by=other, goals="Another manager"
    )
    with pytest.raises(DeliveryError, match="just been booked by someone else"):
        svc.book_slot(px, req2, slots[0])
    assert Booking.objects.filter(slot=slots[0]).count() == 1
    # and the database holds the rule even if the service's check were bypassed
    with pytest.raises(IntegrityError), transaction.atomic():
        Booking.objects.create(request=req2, slot=slots[0], booked_by=px)


def test_cancelling_a_booking_frees_the_slot_and_cancels_its_session(personas, offer, slots):
    px = personas["practice_x"]
    req = svc.request_coaching(px, offer, "Help me delegate and plan the year.")
    b = svc.book_slot(px, req, slots[0])
    assert slots[0] not in svc.free_slots(offer)
    svc.cancel_booking(px, b)
    assert slots[0] in svc.free_slots(offer)
    assert Session.objects.get(booking=b).state == Session.State.CANCELLED
    svc.book_slot(px, req, slots[0])


def test_coaching_requests_are_refused_outside_the_coachs_icbs_and_without_goals(personas, offer):
    with pytest.raises(DeliveryError, match="does not cover your ICB"):
        svc.request_coaching(personas["practice_y"], offer, "Help me delegate and plan the year.")
    with pytest.raises(DeliveryError, match="at least 10"):
        svc.request_coaching(personas["practice_x"], offer, "help")
    with pytest.raises(DeliveryError, match="Practice managers"):
        svc.request_coaching(personas["icb_a"], offer, "Help me delegate and plan the year.")


def test_only_the_coach_publishes_slots_in_the_future(personas, offer):
    with pytest.raises(DeliveryError, match="publish their own"):
        svc.publish_slots(personas["icb_a"], offer, [timezone.now() + timedelta(days=1)])
    with pytest.raises(DeliveryError, match="in the future"):
        svc.publish_slots(personas["provider"], offer, [timezone.now() - timedelta(days=1)])
    when = timezone.now() + timedelta(days=1)
    assert svc.publish_slots(personas["provider"], offer, [when, when]) == 1
    assert Slot.objects.filter(coaching_offer=offer).count() == 1


def test_a_peer_review_records_a_development_plan_the_subject_ticks_off(personas, icb_net):
    from apps.accounts.models import Role, User

    px = personas["practice_x"]
    peer = User.objects.create_user("t-peer", password="x-test-password-1", role=Role.PRACTICE, practice=px.practice)
    svc.join_network(px, icb_net)
    svc.join_network(peer, icb_net)
    held = timezone.localdate() - timedelta(days=1)
    with pytest.raises(DeliveryError, match="at least one goal"):
        svc.record_peer_review(peer, px, held, "Calm under pressure", "Delegation", [], network=icb_net)
    review = svc.record_peer_review(
        peer,
        px,
        held,
        "Calm under pressure",
        "Delegation",
        [svc.GoalInput("Delegate the rota", "Train the deputy", held + timedelta(days=60))],
        network=icb_net,
    )
    goal = review.goals.get()
    with pytest.raises(DeliveryError, match="their own goals"):
        svc.mark_goal(peer, goal, True)
    assert svc.mark_goal(px, goal, True).done
    assert access.peer_reviews_visible_to(px).filter(pk=review.pk).exists()
    assert not access.peer_reviews_visible_to(personas["practice_y"]).filter(pk=review.pk).exists()
