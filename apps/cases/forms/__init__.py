"""Reading the case app's input: Django forms where a form fits, typed parse functions where it does not (the plan
grid, the package builder). Pages and the API use the same ones; the services check the rules again."""

from apps.cases.forms.casework import (
    DecisionForm,
    MoveForm,
    NoteForm,
    NotificationSettingsForm,
    ProviderForm,
    ReopenForm,
    ShareForm,
    TriageForm,
)
from apps.cases.forms.health_check import HealthCheckForm
from apps.cases.forms.package import ParsedPackage, ParsedVariation, parse_group, parse_package, parse_variation
from apps.cases.forms.plan import MAX_PLAN_ROWS, PLAN_ROWS, ParsedPlan, parse_plan
from apps.cases.forms.referral import NominationForm, ReferralForm, help_headings

__all__ = [
    "MAX_PLAN_ROWS",
    "PLAN_ROWS",
    "DecisionForm",
    "HealthCheckForm",
    "MoveForm",
    "NominationForm",
    "NoteForm",
    "NotificationSettingsForm",
    "ParsedPackage",
    "ParsedPlan",
    "ParsedVariation",
    "ProviderForm",
    "ReferralForm",
    "ReopenForm",
    "ShareForm",
    "TriageForm",
    "help_headings",
    "parse_group",
    "parse_package",
    "parse_plan",
    "parse_variation",
]
