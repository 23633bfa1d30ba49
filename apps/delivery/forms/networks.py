"""Practice-manager development forms: network posts, meetings and attendance, coaching, peer reviews."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from apps.core.errors import DomainError
from apps.core.fields import (
    FlagField,
    IdField,
    IdsField,
    LocalDateTimeField,
    WholeNumberField,
    date_field,
    parse_local_datetime,
    text_field,
)
from apps.core.forms import typed

GOAL_ROWS = 3  # the peer review page offers three goal rows


class PostForm(forms.Form):
    """What worked, shared with a network; tags comma-separated."""

    title = text_field()
    body = text_field()
    tags = text_field()


class MeetingForm(forms.Form):
    title = text_field()
    starts_at = LocalDateTimeField("when it starts")
    minutes = WholeNumberField("Enter the length in minutes, for example 90.", required=True)
    location = text_field()
    agenda = text_field()


class AttendanceForm(forms.Form):
    attended = IdsField("Choose from the members listed.")


class CoachingRequestForm(forms.Form):
    goals = text_field()


class SlotsForm(forms.Form):
    """Coaching slots, one date and time a line."""

    slots = text_field()
    location = text_field()

    def clean_slots(self) -> list[datetime]:
        try:
            return [parse_local_datetime(x) for x in str(self.cleaned_data["slots"]).splitlines() if x.strip()]
        except DomainError as e:
            raise ValidationError(e.message) from None


class BookForm(forms.Form):
    slot = IdField("Choose a time.")


class CancelBookingForm(forms.Form):
    booking = IdField("Choose the booking to cancel.")


class PeerReviewForm(forms.Form):
    """A peer review with up to :data:`GOAL_ROWS` development goals (``goal-<n>``, ``actions-<n>``, ``due-<n>``); a
    row left wholly blank is no goal."""

    subject = IdField("Choose the practice manager you reviewed.")
    held_on = date_field("the review date")
    strengths = text_field()
    to_develop = text_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for i in range(GOAL_ROWS):
            self.fields[f"goal-{i}"] = text_field()
            self.fields[f"actions-{i}"] = text_field()
            self.fields[f"due-{i}"] = date_field("the goal's date", required=False)

    def clean(self) -> dict[str, Any]:
        d = super().clean() or {}
        for i in range(GOAL_ROWS):
            filled = str(d.get(f"goal-{i}", "")).strip() or str(d.get(f"actions-{i}", "")).strip()
            if filled and d.get(f"due-{i}") is None and f"due-{i}" not in self.errors:
                self.add_error(f"due-{i}", "Enter the goal's date as a date, for example 2027-01-31.")
        return d

    def typed_rows(self) -> list[dict[str, Any]]:
        """Each goal row's boxes as typed (``goal``, ``actions``, ``due``), to show them again."""
        shown = typed(self)
        return [{k: shown[f"{k}-{i}"] for k in ("goal", "actions", "due")} for i in range(GOAL_ROWS)]

    def goal_rows(self) -> list[tuple[str, str, Any]]:
        """(goal, actions, due) for each row with anything in it."""
        d = self.cleaned_data
        return [
            (d[f"goal-{i}"], d[f"actions-{i}"], d[f"due-{i}"])
            for i in range(GOAL_ROWS)
            if str(d[f"goal-{i}"]).strip() or str(d[f"actions-{i}"]).strip() or d[f"due-{i}"] is not None
        ]


class GoalDoneForm(forms.Form):
    goal = IdField("Choose the goal.")
    done = FlagField()
