"""The one refusal convention: a service's DomainError reaches a page's error summary and the API the same way."""

from __future__ import annotations

from django import forms

from apps.cases.services import CaseError
from apps.core.errors import DomainError
from apps.core.forms import add_refusal, form_errors
from apps.delivery.services import DeliveryError
from apps.funding.services.ledger import InsufficientFunds
from apps.teams.services import TeamError


class _Hours(forms.Form):
    hours = forms.DecimalField(max_value=12)
    notes = forms.CharField()


def test_every_domain_refusal_is_a_domain_error() -> None:
    for kind in (CaseError, DeliveryError, TeamError, InsufficientFunds):
        assert issubclass(kind, DomainError), kind


def test_a_refusal_keys_its_message_by_field_or_by_nothing() -> None:
    assert DeliveryError("Too many hours", "hours").as_errors() == {"hours": "Too many hours"}
    assert CaseError("The plan is not agreed").as_errors() == {"": "The plan is not agreed"}


def test_form_errors_lists_every_field_at_once_in_form_order() -> None:
    form = _Hours(data={"hours": "13"})
    assert not form.is_valid()
    errors = form_errors(form)
    assert list(errors) == ["hours", "notes"]
    assert "12" in errors["hours"]


def test_a_services_refusal_lands_on_its_field_or_on_the_form() -> None:
    form = _Hours(data={"hours": "2", "notes": "ok"})
    assert form.is_valid()
    add_refusal(form, DeliveryError("No session on a closed case", "case"))
    add_refusal(form, DeliveryError("Hours do not add up", "hours"))
    assert form_errors(form) == {"hours": "Hours do not add up", "": "No session on a closed case"}
