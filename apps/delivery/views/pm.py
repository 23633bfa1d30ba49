"""Practice-manager development pages: networks, meetings, posts, coaching offers and bookings, peer reviews."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from apps.accounts.http import user_of
from apps.accounts.models import User
from apps.core.forms import typed
from apps.delivery import networks as svc
from apps.delivery import policy
from apps.delivery import policy as access
from apps.delivery.errors import DeliveryError
from apps.delivery.forms.networks import (
    AttendanceForm,
    BookForm,
    CancelBookingForm,
    CoachingRequestForm,
    GoalDoneForm,
    MeetingForm,
    PeerReviewForm,
    PostForm,
    SlotsForm,
)
from apps.delivery.models import Booking, CoachingRequest, DevelopmentGoal, Slot, Tag
from apps.delivery.views.common import page_errors, refuse

# --- Networks ---------------------------------------------------------------------------------------------------


@access.require(access.can_see_networks)
def network_list(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
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
    user = user_of(request)
    net = access.get_network_for(user, pk)
    errors: dict[str, str] = {}
    action = request.POST.get("action") if request.method == "POST" else None
    form = PostForm(request.POST if action == "post" else None)
    if request.method == "POST":
        try:
            if action == "join":
                svc.join_network(user, net)
                messages.success(request, f"You have joined {net.name}.")
            elif action == "leave":
                svc.leave_network(user, net)
                messages.success(request, f"You have left {net.name}.")
            elif action == "post":
                form.is_valid()  # three free-text boxes: every value reads; the service judges them
                d = form.cleaned_data
                svc.share_post(user, net, d.get("title", ""), d.get("body", ""), d.get("tags", ""))
                messages.success(request, "Thank you for sharing what worked.")
            else:
                raise DeliveryError("Choose an action.")
        except DeliveryError as e:
            if action != "post":
                errors = {"": e.message}
            else:
                refuse(form, e)
                # The share form (and its boxes) is on the page only for members.
                errors = page_errors(form, list(form.fields) if svc.is_member(user, net) else ())
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
        "post_data": typed(form),
        "errors": errors,
    }
    return render(request, "delivery/network.jinja", ctx, status=400 if errors else 200)


@access.require(access.can_see_networks)
def new_meeting(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    net = access.get_network_for(user, pk)
    if not access.can_run_network(user, net):
        raise PermissionDenied
    errors: dict[str, str] = {}
    form = MeetingForm(request.POST if request.method == "POST" else None, initial={"minutes": "90"})
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                m = svc.schedule_meeting(
                    user, net, d["title"], d["starts_at"], d["minutes"], d["location"], d["agenda"]
                )
            except DeliveryError as e:
                refuse(form, e)
            else:
                messages.success(request, "Meeting scheduled.")
                return redirect("delivery:meeting", pk=m.pk)
        errors = page_errors(form, list(form.fields))
    return render(
        request,
        "delivery/new_meeting.jinja",
        {"net": net, "data": typed(form), "errors": errors},
        status=400 if errors else 200,
    )


@access.require(access.can_see_networks)
def meeting(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    m = access.get_meeting_for(user, pk)
    errors: dict[str, str] = {}
    can_run = access.can_run_network(user, m.network)
    started = m.starts_at <= timezone.now()
    if request.method == "POST":
        if not can_run:
            raise PermissionDenied
        form = AttendanceForm(request.POST)
        if form.is_valid():
            try:
                svc.record_attendance(user, m, list(form.cleaned_data["attended"]))
            except DeliveryError as e:
                refuse(form, e)
            else:
                messages.success(request, "Attendance recorded.")
                return redirect("delivery:meeting", pk=m.pk)
        errors = page_errors(form, ("attended",) if started else ())
    ctx = {
        "m": m,
        "can_run": can_run,
        "started": started,
        "members": m.network.memberships.filter(left_at__isnull=True).select_related("user__practice"),
        "attended": set(m.attendees.values_list("pk", flat=True)),
        "attendees": m.attendees.select_related("practice"),
        "errors": errors,
    }
    return render(request, "delivery/meeting.jinja", ctx, status=400 if errors else 200)


# --- Coaching ---------------------------------------------------------------------------------------------------


@access.require(access.can_see_coaching)
def coaching(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
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
    user = user_of(request)
    offer = access.get_coaching_offer_for(user, pk)
    errors: dict[str, str] = {}
    action = request.POST.get("action") if request.method == "POST" else None
    asked = CoachingRequestForm(request.POST if action == "request" else None)
    slots = SlotsForm(request.POST if action == "slots" else None, initial={"location": "Video call"})
    if request.method == "POST":
        if action == "slots" and not access.can_publish_slots(user, offer):
            raise PermissionDenied
        form: CoachingRequestForm | SlotsForm | None = None
        try:
            if action == "request":
                form = asked
                form.is_valid()  # one free-text box: every value reads; the service judges it
                req = svc.request_coaching(user, offer, form.cleaned_data.get("goals", ""))
                messages.success(request, "Request sent. Now choose your sessions.")
                return redirect("delivery:coaching_request", pk=req.pk)
            if action == "slots":
                form = slots
                if form.is_valid():
                    made = svc.publish_slots(user, offer, form.cleaned_data["slots"], form.cleaned_data["location"])
                    messages.success(request, f"{made} new slot{'s' if made != 1 else ''} published.")
                    return redirect("delivery:coaching_offer", pk=offer.pk)
            else:
                raise DeliveryError("Choose an action.")
        except DeliveryError as e:
            if form is None:
                errors = {"": e.message}
            else:
                refuse(form, e)
        if form is not None:
            shown = ("goals",) if action == "request" else ("slots", "location")
            errors = page_errors(form, shown if _offers_form(user, offer, action) else ())
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
        "asked": typed(asked),
        "slots": typed(slots),
        "errors": errors,
    }
    return render(request, "delivery/coaching_offer.jinja", ctx, status=400 if errors else 200)


def _offers_form(user: User, offer: Any, action: str | None) -> bool:
    """Whether the coaching offer page shows the form for ``action`` to this user (so its errors can link to it)."""
    if action == "slots":
        return access.can_publish_slots(user, offer)
    has_open = CoachingRequest.objects.filter(
        coaching_offer=offer, practice_id=user.practice_id, state=CoachingRequest.State.REQUESTED
    ).exists()
    return access.can_book_coaching(user) and not (policy.is_practice_manager(user) and has_open)


@access.require(access.can_see_coaching)
def coaching_request(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    req = access.get_coaching_request_for(user, pk)
    errors: dict[str, str] = {}
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "book":
                book = BookForm(request.POST)
                if not book.is_valid():
                    raise DeliveryError("Choose a time.")
                slot = Slot.objects.filter(pk=book.cleaned_data["slot"], coaching_offer=req.coaching_offer).first()
                if slot is None:
                    raise DeliveryError("Choose a time.")
                svc.book_slot(user, req, slot)
                messages.success(request, f"Booked: {timezone.localtime(slot.starts_at):%A %d %B %Y at %H:%M}.")
            elif action == "cancel":
                cancel = CancelBookingForm(request.POST)
                b = get_object_or_404(
                    Booking, pk=cancel.cleaned_data["booking"] if cancel.is_valid() else 0, request=req
                )
                svc.cancel_booking(user, b)
                messages.success(request, "Booking cancelled.")
            else:
                raise DeliveryError("Choose an action.")
        except DeliveryError as e:
            errors = {"": e.message}  # a choice of time or booking: the summary says what to do
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
        "errors": errors,
    }
    return render(request, "delivery/coaching_request.jinja", ctx, status=400 if errors else 200)


# --- Peer review ------------------------------------------------------------------------------------------------


def _peers(user: User) -> list[User]:
    """Who a user may record a review of: fellow members of their networks (practice), or practice users who asked
    for their coaching (coach)."""
    if policy.is_practice_manager(user):
        nets = user.network_memberships.filter(left_at__isnull=True).values("network_id")
        qs = (
            policy.practice_managers()
            .filter(network_memberships__network_id__in=nets, network_memberships__left_at__isnull=True)
            .exclude(pk=user.pk)
        )
    else:
        practices = access.coaching_requests_visible_to(user).values("practice_id")
        qs = policy.practice_managers().filter(practice_id__in=practices)
    return list(qs.select_related("practice").distinct().order_by("last_name"))


@access.require(access.can_use_peer_review)
def peer_reviews(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    peers = _peers(user)
    errors: dict[str, str] = {}
    form = PeerReviewForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                subject = next((p for p in peers if p.pk == d["subject"]), None)
                if subject is None:
                    raise DeliveryError("Choose the practice manager you reviewed.", field="subject")
                goals = [svc.GoalInput(g, a, due) for g, a, due in form.goal_rows()]
                review = svc.record_peer_review(user, subject, d["held_on"], d["strengths"], d["to_develop"], goals)
            except DeliveryError as e:
                refuse(form, e)
            else:
                messages.success(request, "Peer review and development plan recorded.")
                return redirect("delivery:peer_review", pk=review.pk)
        errors = page_errors(form, list(form.fields) if peers else ())
    ctx = {
        "reviews": access.peer_reviews_visible_to(user).select_related("subject__practice", "reviewer"),
        "peers": peers,
        "data": typed(form),
        "goal_rows": form.typed_rows(),
        "errors": errors,
    }
    return render(request, "delivery/peer_reviews.jinja", ctx, status=400 if errors else 200)


@access.require(access.can_use_peer_review)
def peer_review(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    review = access.get_peer_review_for(user, pk)
    if request.method == "POST":
        form = GoalDoneForm(request.POST)
        pk_goal = form.cleaned_data["goal"] if form.is_valid() else 0
        goal = get_object_or_404(DevelopmentGoal, pk=pk_goal, review=review)
        try:
            svc.mark_goal(user, goal, form.cleaned_data["done"])
        except DeliveryError as e:
            messages.error(request, str(e))
        return redirect("delivery:peer_review", pk=review.pk)
    ctx = {"review": review, "goals": review.goals.all(), "is_subject": review.subject_id == user.pk}
    return render(request, "delivery/peer_review.jinja", ctx)
