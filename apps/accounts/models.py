"""Users and their roles. A user's role and scope (ICB or practice) decide what they may see: see ``access``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models


class Role(models.TextChoices):
    NATIONAL = "national", "National programme team"
    ICB = "icb", "ICB primary-care team"
    PRACTICE = "practice", "Practice (partner or practice manager)"
    PROVIDER = "provider", "Provider or coach"
    LMC = "lmc", "Local medical committee"


class TeamRole(models.TextChoices):
    """A user's place in their own team (an ICB team, a practice): a lead also runs the team's membership."""

    LEAD = "lead", "Team lead (invites and manages the team)"
    MEMBER = "member", "Team member"


class UserManager(DjangoUserManager["User"]):
    def create_superuser(
        self, username: str, email: str | None = None, password: str | None = None, **extra_fields: Any
    ) -> User:
        """``manage.py createsuperuser`` makes a national administrator: the default role (practice) needs a
        practice, which the database constraint ``practice_user_has_practice`` rightly refuses without one."""
        extra_fields.setdefault("role", Role.NATIONAL)
        extra_fields.setdefault("team_role", TeamRole.LEAD)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.PRACTICE)
    team_role = models.CharField(
        max_length=10,
        choices=TeamRole.choices,
        default=TeamRole.MEMBER,
        help_text="A lead of an ICB team or a practice invites colleagues and manages the team",
    )
    icb = models.ForeignKey(
        "practices.ICB",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
        help_text="For ICB and LMC users: the ICB they work in",
    )
    practice = models.ForeignKey(
        "practices.Practice",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
        help_text="For practice users: their practice",
    )
    organisation = models.CharField(max_length=200, blank=True, help_text="Provider or LMC name")

    objects = UserManager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(role="icb") | models.Q(icb__isnull=False), name="icb_user_has_icb"
            ),
            models.CheckConstraint(
                condition=~models.Q(role="practice") | models.Q(practice__isnull=False),
                name="practice_user_has_practice",
            ),
        ]

    @property
    def is_team_lead(self) -> bool:
        return self.is_active and self.team_role == TeamRole.LEAD

    @property
    def role_label(self) -> str:
        return Role(self.role).label

    @property
    def scope_label(self) -> str:
        if self.role == Role.ICB and self.icb:
            return self.icb.short_name
        if self.role == Role.PRACTICE and self.practice:
            return self.practice.display_name
        if self.role == Role.LMC and self.icb:
            return f"{self.organisation or 'LMC'} · {self.icb.short_name}"
        if self.role == Role.PROVIDER:
            return self.organisation or "Provider"
        return "England"


class Invitation(models.Model):
    """An invitation to join as one role and scope. Only a SHA-256 digest of its secret link is stored; the link is
    sent once, by email. Single-use: accepting it (by setting a password) creates the account and closes it."""

    email = models.EmailField(max_length=150, help_text="Also the new account's username")
    first_name = models.CharField(max_length=150)
    last_name = models.CharField(max_length=150)
    role = models.CharField(max_length=10, choices=Role.choices)
    team_role = models.CharField(max_length=10, choices=TeamRole.choices, default=TeamRole.MEMBER)
    icb = models.ForeignKey("practices.ICB", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    practice = models.ForeignKey(
        "practices.Practice", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    organisation = models.CharField(max_length=200, blank=True, help_text="For provider users: their organisation")
    token_sha256 = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="invitations_sent")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="invitation", help_text="Once accepted"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(role="icb") | models.Q(icb__isnull=False), name="icb_invitation_has_icb"
            ),
            models.CheckConstraint(
                condition=~models.Q(role="practice") | models.Q(practice__isnull=False),
                name="practice_invitation_has_practice",
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation for {self.email}"

    @property
    def status(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "withdrawn"
        from django.utils import timezone

        return "expired" if self.expires_at <= timezone.now() else "pending"
