"""Users and their roles. A user's role and scope (ICB or practice) decide what they may see: see ``access``."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    NATIONAL = "national", "National programme team"
    ICB = "icb", "ICB primary-care team"
    PRACTICE = "practice", "Practice (partner or practice manager)"
    PROVIDER = "provider", "Provider or coach"
    LMC = "lmc", "Local medical committee"


class User(AbstractUser):
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.PRACTICE)
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
