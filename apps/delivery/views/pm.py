"""Practice-manager development pages: networks, meetings, posts, coaching offers and bookings, peer reviews."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from apps.accounts.models import Role, User
from apps.core.formdata import posted_id, posted_whole
from apps.delivery import networks as svc
from apps.delivery import policy
from apps.delivery import policy as access
from apps.delivery.models import Booking, CoachingRequest, DevelopmentGoal, Slot, Tag
from apps.delivery.services import DeliveryError
from apps.delivery.views.delivery import parse_date, parse_local_datetime


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


# --- Networks ---------------------------------------------------------------------------------------------------


@access.require(access.can_see_networks)
def network_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    q = request.GET.get("q", "").strip()[:200]
    tag = request.GET.get("tag", "").strip()[:40]
    nets = (
        access.networks_visible_to(user)
        .select_related("icb", "sub_icb", "pcn")
        .annotate(n=Count("memberships", filter=Q(memberships__left_at__isnull=True)))
    )
    mine = set(user.network_memberships.filter(left_at__isnull=True).values_list("network_id", flat=True))
    searched = bool(q or tag)
    results = svc.search_posts(user, q, tag)[:50] if searched else []
    tags = (
        Tag.objects.filter(posts__network__in=access.networks_visible_to(user))
        .annotate(n=Count("posts"))
        .order_by("-n", "slug")[:20]
    )
    ctx = {"networks": nets, "mine": mine, "q": q, "tag": tag, "results": results, "searched": searched, "tags": tags}
    return render(request, "delivery/networks.jinja", ctx)


@access.require(access.can_see_networks)
def network(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    net = access.get_network_for(user, pk)
    error = ""
    post_data = {"title": "", "body": "", "tags": ""}
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "join":
                svc.join_network(user, net)
                messages.success(request, f"You have joined {net.name}.")
            elif action == "leave":
                svc.leave_network(user, net)
                messages.success(request, f"You have left {net.name}.")
            elif action == "post":
                post_data = {k: request.POST.get(k, "") for k in post_data}
                svc.share_post(user, net, post_data["title"], post_data["body"], post_data["tags"])
                messages.success(request, "Thank you for sharing what worked.")
            else:
                raise DeliveryError("Choose an action.")
        except DeliveryError as e:
            error = str(e)
        else:
            return redirect("delivery:network", pk=net.pk)
    now = timezone.now()
    ctx = {
        "net": net,
        "member": svc.is_member(user, net),
        "can_join": access.can_join_network(user, net),
        "can_run": access.can_run_network(user, net),
        "members": net.memberships.filter(left_at__isnull=True).select_related("user__practice"),
        "upcoming": net.meetings.filter(starts_at__gte=now),
        "past": net.meetings.filter(starts_at__lt=now).order_by("-starts_at").annotate(n=Count("attendees")),
        "posts": net.posts.select_related("author__practice").prefetch_related("tags"),
        "post_data": post_data,
        "error": error,
    }
    return render(request, "delivery/network.jinja", ctx, status=400 if error else 200)


@access.require(access.can_see_networks)
def new_meeting(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    net = access.get_network_for(user, pk)
    if not access.can_run_network(user, net):
        raise PermissionDenied
    error = ""
    data = {"title": "", "starts_at": "", "minutes": "90", "location": "", "agenda": ""}
    if request.method == "POST":
        data = {k: request.POST.get(k, "") for k in data}
        try:
            minutes = posted_whole(data["minutes"])
            if minutes is None:
                raise DeliveryError("Enter the length in minutes, for example 90.")
            m = svc.schedule_meeting(
                user,
                net,
                data["title"],
                parse_local_datetime(data["starts_at"]),
                minutes,
                data["location"],
                data["agenda"],
            )
        except DeliveryError as e:
            error = str(e)
        else:
            messages.success(request, "Meeting scheduled.")
            return redirect("delivery:meeting", pk=m.pk)
    return render(
        request, "delivery/new_meeting.jinja", {"net": net, "data": data, "error": error}, status=400 if error else 200
    )


@access.require(access.can_see_networks)
def meeting(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    m = access.get_meeting_for(user, pk)
    error = ""
    can_run = access.can_run_network(user, m.network)
    if request.method == "POST":
        if not can_run:
            raise PermissionDenied
        ids = [posted_id(x) for x in request.POST.getlist("attended")]
        try:
            if None in ids:
                raise DeliveryError("Choose from the members listed.")
            svc.record_attendance(user, m, [i for i in ids if i is not None])
        except DeliveryError as e:
            error = str(e)
        else:
            messages.success(request, "Attendance recorded.")
            return redirect("delivery:meeting", pk=m.pk)
    ctx = {
        "m": m,
        "can_run": can_run,
        "started": m.starts_at <= timezone.now(),
        "members": m.network.memberships.filter(left_at__isnull=True).select_related("user__practice"),
        "attended": set(m.attendees.values_list("pk", flat=True)),
        "attendees": m.attendees.select_related("practice"),
        "error": error,
    }
    return render(request, "delivery/meeting.jinja", ctx, status=400 if error else 200)


# --- Coaching ---------------------------------------------------------------------------------------------------


@access.require(access.can_see_coaching)
def coaching(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    offers = access.coaching_offers_visible_to(user).select_related("coach", "offer").distinct()
    ctx = {
        "offers": [(o, svc.free_slots(o).count()) for o in offers],
        "requests": access.coaching_requests_visible_to(user)
        .select_related("coaching_offer__coach", "practice")
        .annotate(n=Count("bookings", filter=Q(bookings__cancelled_at__isnull=True))),
    }
    return render(request, "delivery/coaching.jinja", ctx)


@access.require(access.can_see_coaching)
def coaching_offer(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    offer = access.get_coaching_offer_for(user, pk)
    error = ""
    goals = ""
    slots_text = ""
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "request":
                goals = request.POST.get("goals", "")
                req = svc.request_coaching(user, offer, goals)
                messages.success(request, "Request sent. Now choose your sessions.")
                return redirect("delivery:coaching_request", pk=req.pk)
            if action == "slots":
                if not access.can_publish_slots(user, offer):
                    raise PermissionDenied
                slots_text = request.POST.get("slots", "")
                lines = [x for x in slots_text.splitlines() if x.strip()]
                made = svc.publish_slots(
                    user, offer, [parse_local_datetime(x) for x in lines], request.POST.get("location", "")
                )
                messages.success(request, f"{made} new slot{'s' if made != 1 else ''} published.")
                return redirect("delivery:coaching_offer", pk=offer.pk)
            raise DeliveryError("Choose an action.")
        except DeliveryError as e:
            error = str(e)
    open_request = None
    if policy.is_practice_manager(user):
        open_request = CoachingRequest.objects.filter(
            coaching_offer=offer, practice_id=user.practice_id, state=CoachingRequest.State.REQUESTED
        ).first()
    ctx = {
        "offer": offer,
        "free": svc.free_slots(offer),
        "all_slots": offer.slots.filter(starts_at__gte=timezone.now()).prefetch_related("bookings")
        if access.can_publish_slots(user, offer)
        else [],
        "can_request": access.can_book_coaching(user),
        "can_publish": access.can_publish_slots(user, offer),
        "open_request": open_request,
        "goals": goals,
        "slots_text": slots_text,
        "error": error,
    }
    return render(request, "delivery/coaching_offer.jinja", ctx, status=400 if error else 200)


@access.require(access.can_see_coaching)
def coaching_request(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    req = access.get_coaching_request_for(user, pk)
    error = ""
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "book":
                slot = Slot.objects.filter(
                    pk=posted_id(request.POST.get("slot")) or 0, coaching_offer=req.coaching_offer
                ).first()
                if slot is None:
                    raise DeliveryError("Choose a time.")
                svc.book_slot(user, req, slot)
                messages.success(request, f"Booked: {timezone.localtime(slot.starts_at):%A %d %B %Y at %H:%M}.")
            elif action == "cancel":
                b = get_object_or_404(Booking, pk=posted_id(request.POST.get("booking")) or 0, request=req)
                svc.cancel_booking(user, b)
                messages.success(request, "Booking cancelled.")
            else:
                raise DeliveryError("Choose an action.")
        except DeliveryError as e:
            error = str(e)
        else:
            return redirect("delivery:coaching_request", pk=req.pk)
    bookings = req.bookings.select_related("slot").order_by("slot__starts_at")
    live = [b for b in bookings if b.cancelled_at is None]
    ctx = {
        "req": req,
        "offer": req.coaching_offer,
        "bookings": bookings,
        "live": len(live),
        "free": svc.free_slots(req.coaching_offer),
        "can_book": access.can_book_coaching(user) and req.state == CoachingRequest.State.REQUESTED,
        "is_practice": policy.is_practice_manager(user),
        "error": error,
    }
    return render(request, "delivery/coaching_request.jinja", ctx, status=400 if error else 200)


# --- Peer review ------------------------------------------------------------------------------------------------


def _peers(user: User) -> list[User]:
    """Who a user may record a review of: fellow members of their networks (practice), or practice users who asked
    for their coaching (coach)."""
    if policy.is_practice_manager(user):
        nets = user.network_memberships.filter(left_at__isnull=True).values("network_id")
        qs = User.objects.filter(
            network_memberships__network_id__in=nets, network_memberships__left_at__isnull=True
        ).exclude(pk=user.pk)
    else:
        practices = access.coaching_requests_visible_to(user).values("practice_id")
        qs = User.objects.filter(role=Role.PRACTICE, practice_id__in=practices)
    return list(
        qs.filter(role=Role.PRACTICE, is_active=True).select_related("practice").distinct().order_by("last_name")
    )


@access.require(access.can_use_peer_review)
def peer_reviews(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    peers = _peers(user)
    error = ""
    data: dict[str, Any] = {"subject": "", "held_on": "", "strengths": "", "to_develop": ""}
    goal_rows = [{"goal": "", "actions": "", "due": ""} for _ in range(3)]
    if request.method == "POST":
        data = {k: request.POST.get(k, "") for k in data}
        goal_rows = [{k: request.POST.get(f"{k}-{i}", "") for k in ("goal", "actions", "due")} for i in range(3)]
        try:
            subject = next((p for p in peers if str(p.pk) == data["subject"]), None)
            if subject is None:
                raise DeliveryError("Choose the practice manager you reviewed.")
            goals = [
                svc.GoalInput(g["goal"], g["actions"], parse_date(g["due"], "the goal's date"))
                for g in goal_rows
                if g["goal"].strip() or g["actions"].strip() or g["due"].strip()
            ]
            review = svc.record_peer_review(
                user,
                subject,
                parse_date(data["held_on"], "the review date"),
                data["strengths"],
                data["to_develop"],
                goals,
            )
        except DeliveryError as e:
            error = str(e)
        else:
            messages.success(request, "Peer review and development plan recorded.")
            return redirect("delivery:peer_review", pk=review.pk)
    ctx = {
        "reviews": access.peer_reviews_visible_to(user).select_related("subject__practice", "reviewer"),
        "peers": peers,
        "data": data,
        "goal_rows": goal_rows,
        "error": error,
    }
    return render(request, "delivery/peer_reviews.jinja", ctx, status=400 if error else 200)


@access.require(access.can_use_peer_review)
def peer_review(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    review = access.get_peer_review_for(user, pk)
    if request.method == "POST":
        goal = get_object_or_404(DevelopmentGoal, pk=posted_id(request.POST.get("goal")) or 0, review=review)
        try:
            svc.mark_goal(user, goal, request.POST.get("done") == "1")
        except DeliveryError as e:
            messages.error(request, str(e))
        return redirect("delivery:peer_review", pk=review.pk)
    ctx = {"review": review, "goals": review.goals.all(), "is_subject": review.subject_id == user.pk}
    return render(request, "delivery/peer_review.jinja", ctx)
