"""Outcome forms on a case: a follow-up snapshot, the practice survey, hours released, a package's RAG rating."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.core.fields import IdField, date_field, number_field, text_field
from apps.delivery.models import SURVEY_QUESTIONS, Rag, SnapshotKind

SCALE = [(str(n), str(n)) for n in range(1, 6)]


class SnapshotForm(forms.Form):
    kind = forms.ChoiceField(
        choices=SnapshotKind.choices,
        error_messages={"required": "Choose the follow-up.", "invalid_choice": "Choose the follow-up."},
    )


class SurveyForm(forms.Form):
    """The practice's four answers on a 1–5 scale, each checked (and each missing one named) at once."""

    kind = forms.ChoiceField(
        choices=SnapshotKind.choices,
        error_messages={"required": "Choose which survey this is.", "invalid_choice": "Choose which survey this is."},
    )
    comment = text_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for qid, text in SURVEY_QUESTIONS.items():
            message = f"Answer “{text}” on the 1–5 scale."
            self.fields[qid] = forms.ChoiceField(
                choices=SCALE, error_messages={"required": message, "invalid_choice": message}
            )

    def answers(self) -> dict[str, str]:
        return {qid: self.cleaned_data[qid] for qid in SURVEY_QUESTIONS}


class HoursReleasedForm(forms.Form):
    """Hours a plan action released over a past period; blank hours are none."""

    plan_action = IdField("Choose the action from the plan.")
    clinical = number_field("the clinical hours", required=False)
    admin = number_field("the admin hours", required=False)
    period_start = date_field("the start of the period")
    period_end = date_field("the end of the period")
    method = text_field()

    def clean_clinical(self) -> float:
        return self.cleaned_data["clinical"] or 0.0

    def clean_admin(self) -> float:
        return self.cleaned_data["admin"] or 0.0


class RatingForm(forms.Form):
    """A package's red/amber/green rating with its reason; ``package`` is the package's number on the case."""

    package = IdField("Choose the package.")
    rag = forms.ChoiceField(
        choices=Rag.choices,
        error_messages={"required": "Choose red, amber or green.", "invalid_choice": "Choose red, amber or green."},
    )
    reason = text_field()
