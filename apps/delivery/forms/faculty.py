"""Faculty forms: adding a member, an apprentice's stage, a declared conflict of interest."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.core.fields import ChoicesField, FlagField, IdField, IdsField, date_field, number_field, text_field
from apps.delivery import services
from apps.delivery.models import Accreditation, MemberRole, Stage

CHOOSE = "Choose from the lists given."


class MemberForm(forms.Form):
    """A new faculty member (``services.add_member``): the form reads the fields, the service judges the member."""

    name = text_field(required=True, message="Enter the member's name.", max_length=200)
    organisation = IdField("Choose the member's organisation.")
    role = forms.ChoiceField(
        choices=MemberRole.choices, error_messages={"required": "Choose the member's role.", "invalid_choice": CHOOSE}
    )
    capacity = number_field("the capacity", required=False)
    joined_on = date_field("the date they joined")
    offers = ChoicesField(required=False)
    icbs = IdsField(CHOOSE)
    email = text_field()
    accreditation = forms.ChoiceField(
        choices=Accreditation.choices,
        required=False,
        error_messages={"invalid_choice": "Choose the accreditation status."},
    )
    accredited_on = date_field("the accreditation date", required=False)
    expires = date_field("the expiry date", required=False)
    supervisor = IdField(CHOOSE, required=False)
    new_member = FlagField()

    def member_input(self) -> services.MemberInput:
        """The cleaned form as the service's input (call after ``is_valid()``)."""
        d: dict[str, Any] = self.cleaned_data
        return services.MemberInput(
            name=d["name"],
            organisation_id=d["organisation"],
            role=d["role"],
            capacity_hours_per_month=d["capacity"] if d["capacity"] is not None else 0.0,
            joined_on=d["joined_on"],
            offer_codes=d["offers"],
            icb_ids=d["icbs"],
            email=d["email"],
            accreditation=d["accreditation"] or Accreditation.IN_TRAINING,
            accredited_on=d["accredited_on"],
            accreditation_expires=d["expires"],
            supervisor_id=d["supervisor"],
            new_member=d["new_member"],
        )


class StageForm(forms.Form):
    """An apprentice's next (or previous) stage on the route, with a note."""

    stage = forms.ChoiceField(
        choices=Stage.choices, error_messages={"required": "Choose a stage.", "invalid_choice": "Choose a stage."}
    )
    note = text_field()


class ConflictForm(forms.Form):
    """A declared interest in a practice or PCN, named by its code."""

    where = text_field(required=True, message="Enter the practice or PCN code.")
    description = text_field()

    def clean_where(self) -> str:
        return str(self.cleaned_data["where"]).strip().upper()
