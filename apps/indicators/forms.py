"""The watch-list decision form: what the ICB team decided about a practice, and why."""

from __future__ import annotations

from django import forms

CHOOSE = "Choose what to do"


class WatchDecisionForm(forms.Form):
    """An ICB team's decision on one practice (add, remove, rate, review). The rationale and the rating are judged by
    the service (``apps.indicators.services``), which says what is missing in words; the form only reads the input."""

    action = forms.ChoiceField(error_messages={"required": CHOOSE, "invalid_choice": CHOOSE})
    rationale = forms.CharField(required=False, max_length=4000)
    rating = forms.CharField(required=False, max_length=40)

    def __init__(self, *args: object, actions: list[str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["action"].choices = [(a, a) for a in actions]  # type: ignore[attr-defined]
