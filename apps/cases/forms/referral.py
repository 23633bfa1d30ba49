"""The referral's input, read the same way by the self-referral page, the nomination page and the API."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from analytics.menu.offers import load_menu
from apps.cases.models import Urgency
from apps.cases.services import TRIED_CHOICES, ReferralInput
from apps.practices.models import Practice

MIN_CONCERNS = 10  # a sentence: enough for the ICB team to know what the call is about


def help_headings() -> list[str]:
    """The menu of support's headings, in menu order: what a referrer may ask for."""
    return list(dict.fromkeys(o.heading for o in load_menu()))


class ReferralForm(forms.Form):
    """What is wrong, what was tried, what would help, how urgent: the service checks the same rules again."""

    concerns = forms.CharField(
        max_length=5000,
        min_length=MIN_CONCERNS,
        error_messages={
            "required": "Say what is wrong in a sentence or two (at least 10 characters).",
            "min_length": "Say what is wrong in a sentence or two (at least 10 characters).",
            "max_length": "Keep what is wrong under 5,000 characters: the rest can go in a note.",
        },
    )
    tried = forms.MultipleChoiceField(
        choices=list(TRIED_CHOICES.items()),
        required=False,
        error_messages={"invalid_choice": "Choose what has been tried from the list."},
    )
    help_wanted = forms.MultipleChoiceField(
        required=False, error_messages={"invalid_choice": "Choose the kinds of help from the menu of support."}
    )
    urgency = forms.ChoiceField(
        choices=Urgency.choices,
        error_messages={"required": "Choose how urgent this is.", "invalid_choice": "Choose how urgent this is."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["help_wanted"].choices = [(h, h) for h in help_headings()]  # type: ignore[attr-defined]

    def referral(self) -> ReferralInput:
        """The valid input as the service takes it (call after ``is_valid()``)."""
        d = self.cleaned_data
        return ReferralInput(d["concerns"], d["tried"], d["help_wanted"], d["urgency"])


class NominationForm(ReferralForm):
    """A nomination names the practice (by ODS code, one the user may nominate) and, for the ICB team, the route."""

    practice = forms.CharField(
        max_length=10,
        error_messages={"required": "Enter the ODS code of an open practice in your ICB, for example A12345."},
    )
    # The route the page's hidden field claims (the watch list, when the team came from it); the policy decides
    # which route the user may claim (``policy.nomination_route``), so any text reads here.
    route = forms.CharField(required=False, strip=True)
    field_order = ["practice", "concerns", "tried", "help_wanted", "urgency"]

    def __init__(self, *args: Any, practices: QuerySet[Practice], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.practices = practices

    def clean_practice(self) -> Practice:
        code = self.cleaned_data["practice"].strip().upper()
        practice = self.practices.filter(code=code).first()
        if practice is None:
            raise forms.ValidationError("Enter the ODS code of an open practice in your ICB, for example A12345.")
        return practice
