"""Small steps on a case: triage, a status change, a note, the provider, the package decision, notification settings.
Each form checks the input's shape; the service checks the rules (and says which field was at fault)."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.accounts.models import User
from apps.cases import policy
from apps.cases.config import triage_levels
from apps.cases.models import NotificationKind
from apps.core.formdata import posted_id
from apps.funding.models import Budget


class TriageForm(forms.Form):
    scope = forms.ChoiceField(
        error_messages={"required": "Choose the scope for support.", "invalid_choice": "Choose the scope for support."}
    )
    impact = forms.ChoiceField(
        error_messages={"required": "Choose the impact of support.", "invalid_choice": "Choose the impact of support."}
    )
    rationale = forms.CharField(
        max_length=5000,
        error_messages={"required": "Give the rationale for this triage: it is kept with your name."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scopes, impacts = triage_levels()
        self.fields["scope"].choices = [(lv.code, lv.label) for lv in scopes]  # type: ignore[attr-defined]
        self.fields["impact"].choices = [(lv.code, lv.label) for lv in impacts]  # type: ignore[attr-defined]


class MoveForm(forms.Form):
    """A plain lifecycle move; whether the reason is needed is the lifecycle's rule (the service says so)."""

    reason = forms.CharField(required=False, max_length=5000)
    why = forms.CharField(required=False, max_length=40)  # closing only: a key of lifecycle.CLOSE_REASONS


class ReopenForm(forms.Form):
    rationale = forms.CharField(
        max_length=5000,
        error_messages={"required": "Give the rationale for reopening the case: it is kept with your name."},
    )


class NoteForm(forms.Form):
    text = forms.CharField(max_length=20_000, error_messages={"required": "Write the note."})
    confidential = forms.BooleanField(required=False)


class ProviderForm(forms.Form):
    """A provider account, by id. The id is read with ``posted_id`` (a number wider than the database's integer is
    refused in words, not a server error)."""

    provider = forms.CharField(required=False)

    def clean_provider(self) -> User:
        found = (
            policy.provider_accounts(active_only=False).filter(pk=posted_id(self.cleaned_data["provider"]) or 0).first()
        )
        if found is None:
            raise forms.ValidationError("Choose a provider.")
        return found


class DecisionForm(forms.Form):
    """Approve (from one of the ICB's budgets) or refuse (with a note for the practice)."""

    decision = forms.ChoiceField(
        choices=[("approve", "Approve"), ("refuse", "Refuse")],
        error_messages={"required": "Choose approve or refuse.", "invalid_choice": "Choose approve or refuse."},
    )
    budget = forms.CharField(required=False)
    note = forms.CharField(required=False, max_length=5000)

    def __init__(self, *args: Any, budgets: list[Budget], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.budgets = budgets
        if not budgets:
            del self.fields["budget"]  # no choice on the page: the refusal is shown above the form, not at a field

    def clean_budget(self) -> Budget | None:
        chosen = self.cleaned_data["budget"]
        return next((b for b in self.budgets if str(b.pk) == chosen), None)

    def chosen_budget(self) -> Budget | None:
        return self.cleaned_data.get("budget")


class ShareForm(forms.Form):
    """A covered practice accepts its share of a group package, or declines it saying why."""

    decision = forms.ChoiceField(
        choices=[("accept", "Accept"), ("decline", "Decline")],
        error_messages={"required": "Choose accept or decline.", "invalid_choice": "Choose accept or decline."},
    )
    reason = forms.CharField(required=False, max_length=5000)


class NotificationSettingsForm(forms.Form):
    kinds = forms.MultipleChoiceField(
        choices=NotificationKind.choices,
        required=False,
        error_messages={"invalid_choice": "Choose from the kinds of notification listed."},
    )
