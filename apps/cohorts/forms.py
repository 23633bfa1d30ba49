"""The cohort forms, shared by the pages and the API: each reads its input by the rules of ``apps.core.fields`` and
gives the service its typed input; the service judges what the input means (lines, offers, dates, quotas)."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from apps.cohorts.models import AttendeeRole, Mode, Rule
from apps.cohorts.services import STEPS, CohortInput
from apps.core import fields
from apps.core.errors import DomainError
from apps.core.formdata import posted_whole


def _choices(enum: Any) -> list[tuple[str, str]]:
    return list(enum.choices)


class CohortForm(forms.Form):
    offer = forms.CharField(max_length=40, error_messages={"required": "Choose the offer this cohort runs"})
    line = fields.IdField("Choose the funding line that pays for the places")
    title = fields.text_field(True, "Give the cohort a title", 200)
    description = fields.text_field(max_length=4000)
    starts_on = fields.date_field("the first day of the cohort")
    ends_on = fields.date_field("the last day of the cohort")
    closes_on = fields.date_field("the closing date for interest")
    places = fields.WholeNumberField("Give the number of places as a whole number", required=True)
    mode = forms.ChoiceField(
        choices=_choices(Mode), error_messages={"required": "Say whether it meets at a venue or online",
                                                "invalid_choice": "Say whether it meets at a venue or online"},
    )  # fmt: skip
    venue = fields.text_field(max_length=200)
    provider = fields.IdField("Choose the provider that delivers the cohort")
    cost = fields.PoundsField(what="The cost of a place", required=True,
                              error_messages={"required": "Enter the cost of a place in pounds"})  # fmt: skip
    rule = forms.ChoiceField(
        choices=_choices(Rule), error_messages={"required": "Choose how places are allocated",
                                                "invalid_choice": "Choose how places are allocated"},
    )  # fmt: skip
    eligible_icbs = fields.text_field(max_length=2000)
    quotas = fields.text_field(max_length=4000)
    practice_managers_only = fields.FlagField()

    def clean_quotas(self) -> dict[str, int]:
        out: dict[str, int] = {}
        try:
            lines = fields.code_lines(
                self.cleaned_data.get("quotas", ""), "Line {n}: give an ICB code and its places, like QHM 5"
            )
        except DomainError as e:
            raise forms.ValidationError(e.message) from None
        for n, code, raw in lines:
            places = posted_whole(raw)
            if places is None:
                raise forms.ValidationError(f"Line {n}: {raw} is not a whole number of places")
            if code in out:
                raise forms.ValidationError(f"{code} has two quotas")
            out[code] = places
        return out

    def as_input(self) -> CohortInput:
        d = self.cleaned_data
        return CohortInput(
            offer_code=d["offer"],
            line_id=d["line"],
            title=d["title"],
            description=d.get("description", ""),
            starts_on=d["starts_on"],
            ends_on=d["ends_on"],
            closes_on=d["closes_on"],
            places=d["places"],
            mode=d["mode"],
            venue=d.get("venue", ""),
            provider_id=d["provider"],
            cost_per_place_pence=d["cost"],
            rule=d["rule"],
            eligible_icbs=tuple(c for c in re.split(r"[\s,;]+", d.get("eligible_icbs", "").upper()) if c),
            practice_managers_only=d.get("practice_managers_only", False),
            quotas=d.get("quotas", {}),
        )


class InterestForm(forms.Form):
    practice = forms.CharField(max_length=10, required=False)  # an ICB team names the practice; a practice is itself
    attendee_name = fields.text_field(True, "Give the name of who will attend", 150)
    attendee_role = forms.ChoiceField(
        choices=_choices(AttendeeRole), error_messages={"required": "Say what the person attending does",
                                                        "invalid_choice": "Say what the person attending does"},
    )  # fmt: skip
    hopes = fields.text_field(max_length=2000)


class PlaceForm(forms.Form):
    """The steps on a place: accept or decline an offer, withdraw (with a reason), record attendance."""

    action = forms.ChoiceField(
        choices=[(s, s) for s in STEPS],
        error_messages={"required": "Choose what to do", "invalid_choice": "Choose what to do"},
    )
    reason = fields.text_field(max_length=300)
    attended = fields.FlagField()
    completed = fields.FlagField()
