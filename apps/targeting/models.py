"""Ripple scores stored per scoring run (so pages are fast), and saved optimiser scenarios.

The models themselves (gravity dispersal, ripple, optimiser) live in the Django-free ``analytics.targeting``; these
tables keep their results with who ran them and when.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from apps.indicators.models import ScoringRun
from apps.practices.models import ICB, Practice


class RippleScore(models.Model):
    """What one practice's closure would do to its neighbours, under the default dispersal parameters."""

    run = models.ForeignKey(ScoringRun, on_delete=models.CASCADE, related_name="ripple_scores")
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="ripple_scores")
    icb = models.ForeignKey(ICB, null=True, on_delete=models.SET_NULL, related_name="+")
    list_size = models.FloatField()
    neighbours = models.PositiveIntegerField(help_text="Open practices within reach")
    absorbed = models.FloatField(help_text="Patients the neighbours would take")
    unabsorbed = models.FloatField(help_text="Patients no neighbour within reach could take under the caps")
    crossing_neighbours = models.PositiveIntegerField(help_text="Neighbours pushed over a pressure threshold")
    patients_at_risk = models.FloatField(help_text="Patients of the neighbours pushed over a threshold")
    ripple_score = models.FloatField(help_text="patients_at_risk + unabsorbed")
    ripple_rank = models.PositiveIntegerField(help_text="1 = biggest ripple nationally")
    icb_rank = models.PositiveIntegerField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "practice"], name="uniq_ripple_run_practice")]
        indexes = [models.Index(fields=["run", "icb", "icb_rank"])]

    def __str__(self) -> str:
        return f"{self.practice_id} ripple {self.ripple_score:.0f} in run {self.run_id}"


def new_ref() -> str:
    return secrets.token_hex(5)


class Scenario(models.Model):
    """One optimiser run: inputs, result summary, chosen packages and explanations, and the greedy comparison.

    A scenario asked for on a page or through the API is saved with its inputs at once, *queued*, and solved by the
    background worker (``apps.targeting.tasks.solve_scenario``): the solve takes seconds, too long for a web request.
    ``state`` and ``progress`` say how far it has got; the result fields are filled when it is *done*.
    """

    class Scope(models.TextChoices):
        ICB = "icb", "One ICB"
        NATIONAL = "national", "England (42 ICB budgets)"

    class State(models.TextChoices):
        QUEUED = "queued", "Waiting for the background worker"
        RUNNING = "running", "Being worked out"
        DONE = "done", "Done"
        FAILED = "failed", "Could not be worked out"

    ref = models.CharField(max_length=20, unique=True, default=new_ref, editable=False)
    name = models.CharField(max_length=120)
    scope = models.CharField(max_length=10, choices=Scope.choices)
    icb = models.ForeignKey(ICB, null=True, blank=True, on_delete=models.PROTECT, related_name="scenarios")
    budget_pence = models.BigIntegerField()
    coach_hours = models.FloatField()
    practice_cap_pence = models.BigIntegerField()
    floor_share = models.FloatField(null=True, blank=True, help_text="Fairness floor: share of each ICB's budget")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="variants")
    variant = models.CharField(max_length=40, blank=True, help_text="e.g. 'budget +20%'")
    line_budgets = models.JSONField(
        default=list,
        blank=True,
        help_text="The funding lines the budget comes from, as solved: [{line, name, pence, universal, offers}] "
        "(offers by apps.funding.lines.funds_offer); empty = one budget that funds every offer",
    )
    run = models.ForeignKey(ScoringRun, null=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # Where the background solve has got to. Rows saved before scenarios ran in the background were solved at once.
    state = models.CharField(max_length=10, choices=State.choices, default=State.DONE)
    progress = models.CharField(max_length=120, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Result
    status = models.CharField(max_length=40, blank=True, default="")
    feasible = models.BooleanField(default=False)
    message = models.TextField(blank=True)
    source = models.CharField(max_length=80, blank=True)
    objective = models.FloatField(
        default=0.0, help_text="Patients protected: registered patients × risk index × the offers' effects"
    )
    bound = models.FloatField(null=True)
    gap = models.FloatField(null=True, help_text="Optimality gap against the bound (0.001 = 0.1%)")
    solve_seconds = models.FloatField(default=0.0)
    spend_pence = models.BigIntegerField(default=0)
    hours_used = models.FloatField(default=0.0)
    practices_funded = models.PositiveIntegerField(default=0)
    packages = models.PositiveIntegerField(default=0, help_text="Eligible packages the programme chose from")
    greedy_objective = models.FloatField(null=True)
    greedy_spend_pence = models.BigIntegerField(null=True)
    greedy_hours = models.FloatField(null=True)
    greedy_practices = models.PositiveIntegerField(null=True)
    binding = models.JSONField(default=list)
    icb_results = models.JSONField(default=list)
    practice_results = models.JSONField(default=list, help_text="Every candidate practice with its reason")
    line_results = models.JSONField(default=list, help_text="Each funding line's spend and patients protected")
    place_results = models.JSONField(default=list, help_text="Places bought on universal offers, per line and ICB")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Scenario {self.ref}: {self.name}"

    @property
    def pending(self) -> bool:
        """Queued or being worked out: the page shows progress and refreshes itself."""
        return self.state in (self.State.QUEUED, self.State.RUNNING)

    @property
    def gain_over_greedy(self) -> float | None:
        if not self.greedy_objective:
            return None
        return self.objective / self.greedy_objective - 1.0

    @property
    def funded_results(self) -> list[dict[str, object]]:
        return [r for r in self.practice_results if r.get("offers")]
