"""Practice-manager development: networks, meetings and posts; coaching offers, slots, requests and bookings;
peer reviews with their development goals."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.cases.models import SupportOffer
from apps.delivery.models.faculty import FacultyMember
from apps.practices.models import ICB, PCN, Practice, SubICB

# --- Practice-manager networks ----------------------------------------------------------------------------------


class Footprint(models.TextChoices):
    PCN = "pcn", "Primary care network"
    PLACE = "place", "Place (sub-ICB location)"
    ICB = "icb", "Integrated care board"


class Network(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    footprint = models.CharField(max_length=5, choices=Footprint.choices)
    icb = models.ForeignKey(ICB, on_delete=models.PROTECT, related_name="pm_networks")
    sub_icb = models.ForeignKey(SubICB, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    pcn = models.ForeignKey(PCN, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(footprint="pcn") & Q(pcn__isnull=False))
                | (Q(footprint="place") & Q(sub_icb__isnull=False))
                | Q(footprint="icb"),
                name="network_footprint_named",
            )
        ]

    def __str__(self) -> str:
        return self.name


class NetworkMembership(models.Model):
    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="network_memberships")
    joined_at = models.DateTimeField(default=timezone.now)
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["joined_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["network", "user"], condition=Q(left_at__isnull=True), name="one_live_membership"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in network {self.network_id}"


class Meeting(models.Model):
    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="meetings")
    title = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    minutes = models.PositiveIntegerField(default=90)
    location = models.CharField(max_length=200)
    agenda = models.TextField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    attendees = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="meetings_attended", blank=True)
    attendance_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["starts_at"]

    def __str__(self) -> str:
        return self.title

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.minutes)


class Tag(models.Model):
    slug = models.SlugField(max_length=40, unique=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Post(models.Model):
    """A "ways of managing workload" post: what worked, shared with the network."""

    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="posts")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=200)
    body = models.TextField()
    tags = models.ManyToManyField(Tag, related_name="posts", blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.title


# --- Coaching ---------------------------------------------------------------------------------------------------


class CoachingOffer(models.Model):
    """A coach's published offer, e.g. three 90-minute sessions for a practice manager."""

    coach = models.ForeignKey(FacultyMember, on_delete=models.PROTECT, related_name="coaching_offers")
    offer = models.ForeignKey(SupportOffer, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=200)
    description = models.TextField()
    sessions = models.PositiveSmallIntegerField(default=3)
    minutes = models.PositiveSmallIntegerField(default=90)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class Slot(models.Model):
    coaching_offer = models.ForeignKey(CoachingOffer, on_delete=models.CASCADE, related_name="slots")
    starts_at = models.DateTimeField()
    location = models.CharField(max_length=200, default="Video call")

    class Meta:
        ordering = ["starts_at"]
        constraints = [models.UniqueConstraint(fields=["coaching_offer", "starts_at"], name="uniq_offer_slot_time")]

    def __str__(self) -> str:
        return f"{self.coaching_offer_id} at {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.coaching_offer.minutes)


class CoachingRequest(models.Model):
    class State(models.TextChoices):
        REQUESTED = "requested", "Requested"
        BOOKED = "booked", "All sessions booked"
        WITHDRAWN = "withdrawn", "Withdrawn"

    coaching_offer = models.ForeignKey(CoachingOffer, on_delete=models.PROTECT, related_name="requests")
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    goals = models.TextField(help_text="What the practice manager wants from the coaching")
    state = models.CharField(max_length=10, choices=State.choices, default=State.REQUESTED)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Coaching request {self.pk}"


class Booking(models.Model):
    """A slot taken by a request. A live booking holds its slot alone (unique constraint + row lock)."""

    request = models.ForeignKey(CoachingRequest, on_delete=models.CASCADE, related_name="bookings")
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="bookings")
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    booked_at = models.DateTimeField(default=timezone.now)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["slot__starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["slot"], condition=Q(cancelled_at__isnull=True), name="one_live_booking")
        ]

    def __str__(self) -> str:
        return f"Booking of slot {self.slot_id} for request {self.request_id}"


# --- Peer review ------------------------------------------------------------------------------------------------


class PeerReview(models.Model):
    """A practice manager's peer review by a peer (or a faculty member), ending in a development plan."""

    subject = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="peer_reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews_given")
    network = models.ForeignKey(Network, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    held_on = models.DateField()
    strengths = models.TextField()
    to_develop = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-held_on", "-pk"]

    def __str__(self) -> str:
        return f"Peer review of {self.subject_id} on {self.held_on}"


class DevelopmentGoal(models.Model):
    review = models.ForeignKey(PeerReview, on_delete=models.CASCADE, related_name="goals")
    goal = models.CharField(max_length=300)
    actions = models.TextField()
    due = models.DateField()
    done = models.BooleanField(default=False)

    class Meta:
        ordering = ["due", "pk"]

    def __str__(self) -> str:
        return self.goal
