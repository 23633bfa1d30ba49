"""Practice-manager development: peer networks, meetings, shared "ways of managing workload", coaching bookings and
peer review with a development plan.

Rules: a practice user joins a network in its footprint (its PCN, its place or its ICB) and may leave and re-join;
members, and the ICB team and LMC of the network's ICB, schedule meetings and record attendance (of members only);
members post what worked, with tags, and anyone who sees a network can search posts across all the networks they see.
A practice manager requests a coach's offer, then books the coach's published slots, up to the offer's number of
sessions; a slot holds one live booking (a unique constraint, and the slot row is locked while booking), and each
booking becomes a planned session in the coach's session log.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.accounts.models import User
from apps.cases import notify
from apps.cases.models import NotificationKind
from apps.core import audit
from apps.delivery import policy
from apps.delivery import policy as access
from apps.delivery.errors import DeliveryError
from apps.delivery.models import (
    Booking,
    CoachingOffer,
    CoachingRequest,
    DevelopmentGoal,
    Meeting,
    Network,
    NetworkMembership,
    PeerReview,
    Post,
    Session,
    Slot,
    Tag,
)

TAG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
MAX_TAGS = 6


# --- Membership -------------------------------------------------------------------------------------------------


def is_member(user: User, network: Network) -> bool:
    return network.memberships.filter(user=user, left_at__isnull=True).exists()


def join_network(user: User, network: Network) -> NetworkMembership:
    if not access.can_join_network(user, network):
        raise DeliveryError("Practice managers join the networks on their own footprint.")
    try:
        with transaction.atomic():
            if is_member(user, network):
                raise DeliveryError(f"You are already a member of {network.name}.")
            return NetworkMembership.objects.create(network=network, user=user)
    except IntegrityError:  # a double click racing itself: the unique live membership holds
        raise DeliveryError(f"You are already a member of {network.name}.") from None


def leave_network(user: User, network: Network) -> NetworkMembership:
    m = network.memberships.filter(user=user, left_at__isnull=True).first()
    if m is None:
        raise DeliveryError(f"You are not a member of {network.name}.")
    m.left_at = timezone.now()
    m.save(update_fields=["left_at"])
    return m


# --- Meetings ---------------------------------------------------------------------------------------------------


def schedule_meeting(
    user: User, network: Network, title: str, starts_at: datetime, minutes: int, location: str, agenda: str
) -> Meeting:
    if not access.can_run_network(user, network):
        raise DeliveryError("Members of the network, and its ICB team and LMC, schedule its meetings.")
    if not title.strip():
        raise DeliveryError("Give the meeting a title.")
    if not 15 <= minutes <= 480:
        raise DeliveryError("A meeting lasts between 15 minutes and 8 hours.")
    if starts_at < timezone.now():
        raise DeliveryError("A meeting is scheduled in the future.")
    if not location.strip():
        raise DeliveryError("Say where the meeting is (a room, or “video call”).")
    if len(agenda.strip()) < 5:
        raise DeliveryError("Write the agenda: what the meeting will cover.")
    return Meeting.objects.create(
        network=network,
        title=title.strip()[:200],
        starts_at=starts_at,
        minutes=minutes,
        location=location.strip()[:200],
        agenda=agenda.strip(),
        created_by=user,
    )


def record_attendance(user: User, meeting: Meeting, attendee_ids: Sequence[int]) -> Meeting:
    if not access.can_run_network(user, meeting.network):
        raise DeliveryError("Members of the network, and its ICB team and LMC, record attendance.")
    if meeting.starts_at > timezone.now():
        raise DeliveryError("Attendance is recorded once the meeting has started.")
    ids = set(attendee_ids)
    members = set(
        NetworkMembership.objects.filter(network=meeting.network, user_id__in=ids).values_list("user_id", flat=True)
    )
    if ids - members:
        raise DeliveryError("Only members of the network can be recorded as attending.")
    with transaction.atomic():
        meeting.attendees.set(list(ids))
        meeting.attendance_recorded_by = user
        meeting.save(update_fields=["attendance_recorded_by"])
    return meeting


# --- Posts ------------------------------------------------------------------------------------------------------


def parse_tags(text: str) -> list[str]:
    """Comma- or space-separated tags, lower-cased; letters, digits and hyphens, 2–40 characters."""
    tags = [t.strip().lower().lstrip("#") for t in re.split(r"[,\s]+", text) if t.strip()]
    bad = [t for t in tags if not TAG_RE.match(t)]
    if bad:
        raise DeliveryError(f"Tags use letters, numbers and hyphens (2–40 characters): {', '.join(bad)}.")
    tags = list(dict.fromkeys(tags))
    if len(tags) > MAX_TAGS:
        raise DeliveryError(f"Use at most {MAX_TAGS} tags.")
    return tags


def share_post(user: User, network: Network, title: str, body: str, tags_text: str) -> Post:
    if not (policy.is_practice_manager(user) and is_member(user, network)):
        raise DeliveryError("Join the network to share what worked.")
    if len(title.strip()) < 5:
        raise DeliveryError("Give the post a title (at least 5 characters).")
    if len(body.strip()) < 20:
        raise DeliveryError("Say what you did and what happened (at least 20 characters).")
    tags = parse_tags(tags_text)
    with transaction.atomic():
        post = Post.objects.create(network=network, author=user, title=title.strip()[:200], body=body.strip())
        post.tags.set([Tag.objects.get_or_create(slug=t)[0] for t in tags])
    return post


def search_posts(user: User, query: str = "", tag: str = "") -> QuerySet[Post]:
    """Posts in every network the user can see, matching words in the title or body and/or a tag."""
    qs = Post.objects.filter(network__in=access.networks_visible_to(user))
    for word in query.split()[:8]:
        qs = qs.filter(Q(title__icontains=word) | Q(body__icontains=word) | Q(tags__slug__iexact=word.lower()))
    if tag:
        qs = qs.filter(tags__slug=tag.lower())
    return qs.distinct().select_related("network", "author").prefetch_related("tags")


# --- Coaching ---------------------------------------------------------------------------------------------------


def publish_slots(user: User, offer: CoachingOffer, starts: Sequence[datetime], location: str = "Video call") -> int:
    """The coach publishes times; slots at a time already published are passed over. Returns how many are new."""
    if not access.can_publish_slots(user, offer):
        raise DeliveryError("Coaches publish their own slots.")
    if not starts:
        raise DeliveryError("Enter at least one date and time.")
    now = timezone.now()
    if any(s <= now for s in starts):
        raise DeliveryError("Slots are published for times in the future.")
    made = 0
    with transaction.atomic():
        for s in starts:
            _, created = Slot.objects.get_or_create(
                coaching_offer=offer, starts_at=s, defaults={"location": location.strip()[:200] or "Video call"}
            )
            made += created
    return made


def free_slots(offer: CoachingOffer) -> QuerySet[Slot]:
    taken = Booking.objects.filter(cancelled_at__isnull=True).values("slot_id")
    return offer.slots.filter(starts_at__gt=timezone.now()).exclude(pk__in=taken)


def request_coaching(user: User, offer: CoachingOffer, goals: str) -> CoachingRequest:
    if not access.can_book_coaching(user):
        raise DeliveryError("Practice managers request coaching for their practice.")
    if not access.coaching_offers_visible_to(user).filter(pk=offer.pk).exists():
        raise DeliveryError("This coach does not cover your ICB.")
    if len(goals.strip()) < 10:
        raise DeliveryError("Say what you would like from the coaching (at least 10 characters).")
    assert user.practice is not None
    if CoachingRequest.objects.filter(
        coaching_offer=offer, practice=user.practice, state=CoachingRequest.State.REQUESTED
    ).exists():
        raise DeliveryError("Your practice already has an open request for this coaching: book its sessions.")
    with transaction.atomic():
        req = CoachingRequest.objects.create(
            coaching_offer=offer, practice=user.practice, requested_by=user, goals=goals.strip()
        )
        if offer.coach.user:
            notify.notify(
                [offer.coach.user],
                NotificationKind.COACHING,
                None,
                f"{user.practice.display_name} requested “{offer.title}”.",
                actor=user,
            )
    return req


def book_slot(user: User, request: CoachingRequest, slot: Slot) -> Booking:
    """Book one slot for a request: no double booking (row lock, then the unique live-booking constraint)."""
    if not (access.can_book_coaching(user) and request.practice_id == user.practice_id):
        raise DeliveryError("Only the practice that asked for the coaching books its sessions.")
    if request.state != CoachingRequest.State.REQUESTED:
        raise DeliveryError("This request is not open for booking.")
    offer = request.coaching_offer
    if slot.coaching_offer_id != offer.pk:
        raise DeliveryError("That slot belongs to another coaching offer.")
    try:
        with transaction.atomic():
            slot = Slot.objects.select_for_update(of=("self",)).select_related("coaching_offer__coach").get(pk=slot.pk)
            if slot.starts_at <= timezone.now():
                raise DeliveryError("That slot has passed: choose another.")
            if slot.bookings.filter(cancelled_at__isnull=True).exists():
                raise DeliveryError("That slot has just been booked by someone else: choose another.")
            live = request.bookings.filter(cancelled_at__isnull=True).count()
            if live >= offer.sessions:
                raise DeliveryError(f"All {offer.sessions} sessions are booked already.")
            booking = Booking.objects.create(request=request, slot=slot, booked_by=user)
            Session.objects.create(
                practice_id=request.practice_id,
                booking=booking,
                member=offer.coach,
                title=f"{offer.title}: session {live + 1} of {offer.sessions}",
                starts_at=slot.starts_at,
                planned_hours=round(offer.minutes / 60, 2),
                created_by=user,
            )
            if live + 1 == offer.sessions:
                request.state = CoachingRequest.State.BOOKED
                request.save(update_fields=["state"])
            if offer.coach.user:
                notify.notify(
                    [offer.coach.user],
                    NotificationKind.COACHING,
                    None,
                    f"{request.practice.display_name} booked {timezone.localtime(slot.starts_at):%d %b %Y %H:%M} "
                    f"for “{offer.title}”.",
                    actor=user,
                )
    except IntegrityError:
        raise DeliveryError("That slot has just been booked by someone else: choose another.") from None
    return booking


def cancel_booking(user: User, booking: Booking) -> Booking:
    req = booking.request
    if not (access.can_book_coaching(user) and req.practice_id == user.practice_id):
        raise DeliveryError("Only the practice that booked the session cancels it.")
    with transaction.atomic():
        b = Booking.objects.select_for_update().get(pk=booking.pk)
        if b.cancelled_at:
            raise DeliveryError("This booking is already cancelled.")
        session = Session.objects.filter(booking=b).first()
        if session and session.state != Session.State.PLANNED:
            raise DeliveryError("The session has been logged: it cannot be cancelled now.")
        b.cancelled_at = timezone.now()
        b.save(update_fields=["cancelled_at"])
        if session:
            session.state, session.cancelled_reason = Session.State.CANCELLED, "Booking cancelled by the practice"
            session.logged_by, session.logged_at = user, timezone.now()
            session.save()
        if req.state == CoachingRequest.State.BOOKED:
            req.state = CoachingRequest.State.REQUESTED
            req.save(update_fields=["state"])
    return b


# --- Peer review ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoalInput:
    goal: str
    actions: str
    due: date


def record_peer_review(
    user: User,
    subject: User,
    held_on: date,
    strengths: str,
    to_develop: str,
    goals: Sequence[GoalInput],
    network: Network | None = None,
) -> PeerReview:
    """A reviewer (a peer practice manager or a faculty member) records a review of ``subject`` with their plan."""
    if not access.can_use_peer_review(user):
        raise DeliveryError("Peer reviews are recorded by a practice manager or a faculty member.")
    if not policy.is_practice_manager(subject) or subject.pk == user.pk:
        raise DeliveryError("Choose the practice manager you reviewed (not yourself).")
    if network is not None and not (
        is_member(subject, network) and (is_member(user, network) or policy.is_faculty_login(user))
    ):
        raise DeliveryError("Both of you must be members of the network named.")
    if held_on > timezone.localdate():
        raise DeliveryError("The review date cannot be in the future.")
    if len(strengths.strip()) < 5 or len(to_develop.strip()) < 5:
        raise DeliveryError("Write the strengths and what to develop.")
    if not goals:
        raise DeliveryError("Add at least one goal to the development plan.")
    for g in goals:
        if not g.goal.strip() or not g.actions.strip():
            raise DeliveryError("Each goal needs the goal and the actions towards it.")
        if g.due < held_on:
            raise DeliveryError("A goal's date must be after the review.")
    with transaction.atomic():
        review = PeerReview.objects.create(
            subject=subject,
            reviewer=user,
            network=network,
            held_on=held_on,
            strengths=strengths.strip(),
            to_develop=to_develop.strip(),
        )
        audit.bulk_create(
            DevelopmentGoal,
            [
                DevelopmentGoal(review=review, goal=g.goal.strip()[:300], actions=g.actions.strip(), due=g.due)
                for g in goals
            ],
        )
    return review


def mark_goal(user: User, goal: DevelopmentGoal, done: bool) -> DevelopmentGoal:
    if goal.review.subject_id != user.pk:
        raise DeliveryError("The practice manager marks their own goals done.")
    goal.done = done
    goal.save(update_fields=["done"])
    return goal


def upcoming_for(user: User, days: int = 60) -> tuple[list[Session], list[Meeting]]:
    """A user's sessions and meetings from today for ``days`` days (for their delivery page)."""
    now = timezone.now()
    until = now + timedelta(days=days)
    sessions = list(
        access.sessions_visible_to(user)
        .filter(starts_at__gte=now - timedelta(hours=12), starts_at__lte=until)
        .exclude(state=Session.State.CANCELLED)
        .select_related("member", "practice")
    )
    meetings = list(
        Meeting.objects.filter(network__memberships__user=user, network__memberships__left_at__isnull=True)
        .filter(starts_at__gte=now, starts_at__lte=until)
        .select_related("network")
        .distinct()
    )
    return sessions, meetings
