"""The scenario form: what people type for a spending scenario, checked by :func:`scenarios.scenario_problems`, the
check the API's scenario operation runs too, so the page and the API accept and refuse the same input."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.accounts.models import User
from apps.targeting import scenarios


class ScenarioForm(forms.Form):
    """Name, scope, budget (or each funding line's budget, ``line_budgets``), coach hours, per-practice cap and an
    optional floor (``floor_on`` ticked), each a text box read as typed; ``cleaned_data["scenario"]`` is what
    ``scenarios.queue_checked`` takes."""

    BOXES = ("name", "scope", "budget", "line_budgets", "coach_hours", "practice_cap", "floor_on", "floor")

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        for name in self.BOXES:  # every box is text; scenario_problems reads each (the API's numbers as text too)
            self.fields[name] = forms.CharField(required=False)

    def clean(self) -> dict[str, Any]:
        d = super().clean() or {}
        errors, checked = scenarios.scenario_problems(
            self.user,
            name=d.get("name", ""),
            scope=d.get("scope", ""),
            budget_pounds=d.get("budget", ""),
            coach_hours=d.get("coach_hours", ""),
            cap_pounds=d.get("practice_cap", ""),
            floor_percent=d.get("floor", "") if d.get("floor_on") else "",
            line_budgets=d.get("line_budgets", ""),
        )
        for field, message in errors.items():
            self.add_error(field if field in self.fields else None, message)
        d["scenario"] = checked
        return d
