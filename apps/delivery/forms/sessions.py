"""Assignment and session forms: who delivers a line, planning a session, logging one.

Logging a session is the write the page and the API share: both read their input into :func:`log_input` (the page
through :class:`SessionLogForm`, the API from its JSON body), so the two doors refuse the same input the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

from apps.core.fields import (
    FlagField,
    IdField,
    LocalDateTimeField,
    WholeNumberField,
    number_field,
    text_field,
)
from apps.delivery import services
from apps.delivery.errors import DeliveryError
from apps.delivery.models import ATTENDEE_ROLES
from apps.delivery.services import amendments

OUTCOMES = (("delivered", "Delivered"), ("cancelled", "Cancelled"))
CHOOSE_WHO = "Choose who delivers this line."


class AssignForm(forms.Form):
    """Who delivers a package line: ``m-<id>`` a faculty member, ``o-<id>`` an organisation as a whole."""

    line = IdField("Choose the line to assign.")
    who = text_field(required=True, message=CHOOSE_WHO)
    hours = number_field("the hours", required=False)

    def clean_who(self) -> tuple[str, int]:
        """``("m", member id)`` or ``("o", organisation id)``."""
        raw = str(self.cleaned_data["who"]).strip()
        kind, _, rest = raw.partition("-")
        pk = IdField(CHOOSE_WHO).clean(rest) if kind in ("m", "o") and rest else None
        if pk is None:
            raise forms.ValidationError(CHOOSE_WHO)
        return kind, pk


class PlanSessionForm(forms.Form):
    """A session planned on one of the case's assignments."""

    title = text_field()
    starts_at = LocalDateTimeField("when it starts")
    hours = number_field("the hours")
    assignment = IdField("Choose the line this session delivers.")


def log_input(
    outcome: str,
    hours: float | None,
    attendees: Mapping[str, int] | None,
    notes: str,
    cancelled_reason: str,
    sign_off: bool,
) -> services.LogInput:
    """What the provider says happened, as the service's input; refuses (naming the field) what cannot be read as a
    log at all. The service then judges the log itself (hours in range, someone attended, a note of what was
    covered, a reason for a cancellation)."""
    if outcome not in ("delivered", "cancelled"):
        raise DeliveryError("Say whether the session was delivered or cancelled.", field="outcome")
    delivered = outcome == "delivered"
    if delivered and hours is None:
        raise DeliveryError("Enter the hours delivered.", field="hours")
    return services.LogInput(
        delivered=delivered,
        hours=hours if delivered else None,
        attendees=dict(attendees or {}),
        notes=notes,
        cancelled_reason=cancelled_reason,
        sign_off=sign_off,
    )


class SessionLogForm(forms.Form):
    """The session page's log: outcome, hours, attendees by role (``att-<role>``), notes, a cancellation's reason."""

    outcome = forms.ChoiceField(
        choices=OUTCOMES,
        error_messages={
            "required": "Say whether the session was delivered or cancelled.",
            "invalid_choice": "Say whether the session was delivered or cancelled.",
        },
    )
    hours = number_field("the hours delivered", required=False)
    notes = text_field()
    reason = text_field()
    sign_off = FlagField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for role, label in ATTENDEE_ROLES.items():
            self.fields[f"att-{role}"] = WholeNumberField(f"{label}: enter a whole number.")

    def clean(self) -> dict[str, Any]:
        d = super().clean() or {}
        if self.errors:
            return d
        attendees = {role: d[f"att-{role}"] for role in ATTENDEE_ROLES if d.get(f"att-{role}") is not None}
        try:
            d["log"] = log_input(d["outcome"], d["hours"], attendees, d["notes"], d["reason"], d["sign_off"])
        except DeliveryError as e:
            self.add_error(e.field if e.field in self.fields else None, e.message)
        return d


def explanation(text: str, message: str) -> str:
    """A required explanation (a reason, a note): refused with the service's own words when too short."""
    if amendments.too_short(text):
        raise forms.ValidationError(message)
    return text


class AmendSessionForm(SessionLogForm):
    """An amendment of a signed-off log: the log's own fields, and why it is amended."""

    amend_reason = text_field()

    def clean_amend_reason(self) -> str:
        return explanation(self.cleaned_data["amend_reason"], amendments.AMEND_REASON)


class DisputeSessionForm(forms.Form):
    """The practice's dispute of a signed-off log: what is wrong with it."""

    dispute_reason = text_field()

    def clean_dispute_reason(self) -> str:
        return explanation(self.cleaned_data["dispute_reason"], amendments.DISPUTE_REASON)


RESOLUTIONS = (
    ("upheld", "The log stands: the session took place as logged"),
    ("amend", "The dispute is accepted: the provider must amend the log"),
    ("not_delivered", "The dispute is accepted: the session was not delivered"),
)


class ResolveDisputeForm(forms.Form):
    """The ICB team's answer to a dispute (``decision``: a :class:`DisputeResolution.Outcome`) and its note."""

    decision = forms.ChoiceField(
        choices=RESOLUTIONS,
        error_messages={
            "required": "Choose how the dispute is resolved.",
            "invalid_choice": "Choose how the dispute is resolved.",
        },
    )
    decision_note = text_field()

    def clean_decision_note(self) -> str:
        return explanation(self.cleaned_data["decision_note"], amendments.DECISION_NOTE)
