"""The health check's answers: one optional choice per question on the questionnaire's scale; submitting needs them
all. Every unanswered or bad question is named at once, each next to its question."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.cases.config import questionnaire


class HealthCheckForm(forms.Form):
    action = forms.CharField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        q = questionnaire()
        top = len(q.scale)
        scale = [(str(i), label) for i, label in enumerate(q.scale, 1)]
        for qid, question in q.questions.items():
            message = f"Answer {question.text!r} on the 1–{top} scale."
            self.fields[qid] = forms.TypedChoiceField(
                choices=scale,
                coerce=int,
                required=False,
                empty_value=None,
                error_messages={"invalid_choice": message, "required": message},
            )

    @property
    def submitting(self) -> bool:
        return self.data.get("action") == "submit"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.submitting:
            q = questionnaire()
            for qid, question in q.questions.items():
                if qid not in self.errors and data.get(qid) is None:
                    self.add_error(qid, f"Answer {question.text!r}: every question is needed to submit.")
        return data

    def answers(self) -> dict[str, str]:
        """The answers given, as the service takes them (question id → "1".."5")."""
        return {k: str(v) for k, v in self.cleaned_data.items() if k != "action" and v is not None}
