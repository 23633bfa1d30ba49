"""Reading the team forms. Each returns the typed input for a service, or the errors by field, all at once.

The invitation is a typed parse function (what it asks depends on who invites); a member's new team role and the
new account's passwords are small Django forms whose values the services judge (``change_team_role``,
``accept_invitation``), so the page and any other caller are held to the same rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

from apps.accounts.models import User
from apps.practices.models import ICB, Practice
from apps.teams import policy
from apps.teams.services import InviteInput

FIELD_ORDER = ("email", "first_name", "last_name", "kind", "icb", "practice", "organisation")


def offer_value(role: str, team_role: str) -> str:
    return f"{role}:{team_role}"


def example_practice_code(actor: User) -> str:
    """An ODS code to show as an example: one of the practices ``actor`` may invite for (never another ICB's)."""
    return policy.invitable_practices(actor).order_by("code").values_list("code", flat=True).first() or ""


def parse_invite(actor: User, post: Mapping[str, Any]) -> tuple[InviteInput | None, dict[str, str]]:
    """The invitation form: who (email and names), as what (``kind``) and where (ICB, practice or provider)."""
    errors: dict[str, str] = {}
    email = str(post.get("email", "")).strip()
    first, last = str(post.get("first_name", "")).strip(), str(post.get("last_name", "")).strip()
    if not email:
        errors["email"] = "Enter their email address."
    if not first:
        errors["first_name"] = "Enter their first name."
    if not last:
        errors["last_name"] = "Enter their last name."
    offers = {offer_value(o.role, o.team_role): o for o in policy.invitation_offers(actor)}
    offer = offers.get(str(post.get("kind", "")))
    icb = practice = None
    organisation = ""
    if offer is None:
        errors["kind"] = "Choose what they join as."
    elif policy.joins_icb_team(offer.role):
        if policy.invites_within_own_icb(actor):
            icb = actor.icb
        else:
            code = str(post.get("icb", "")).strip().upper()
            icb = ICB.objects.filter(code=code).first() if code.isascii() and len(code) <= 10 else None
            if icb is None:
                errors["icb"] = "Choose the ICB whose team they lead."
    elif policy.joins_practice(offer.role):
        code = str(post.get("practice", "")).strip().upper()
        if policy.invites_within_own_practice(actor):
            practice = actor.practice
        elif not code:
            example = example_practice_code(actor)
            errors["practice"] = "Enter the practice's ODS code" + (f", for example {example}." if example else ".")
        else:
            practice = Practice.objects.filter(code=code).first() if code.isascii() and len(code) <= 10 else None
            if practice is None or not policy.invitable_practices(actor).filter(pk=practice.pk).exists():
                errors["practice"] = f"No practice with the ODS code {code[:10]} is in your ICB."
    elif policy.joins_provider(offer.role):
        organisation = str(post.get("organisation", "")).strip()
        if organisation not in policy.commissioned_providers(actor):
            errors["organisation"] = "Choose a provider organisation that covers your ICB."
    if errors or offer is None:
        return None, errors
    data = InviteInput(email, first, last, offer.role, offer.team_role, icb, practice, organisation)
    return data, {}


class TeamRoleForm(forms.Form):
    """A member's new team role (lead or member): the service refuses anything else, on ``team_role``."""

    team_role = forms.CharField(required=False, max_length=40)


class PasswordsForm(forms.Form):
    """The password chosen on accepting an invitation, typed twice; kept exactly as typed (spaces count in a
    password), judged by the service with the site's password validators."""

    password1 = forms.CharField(required=False, strip=False)
    password2 = forms.CharField(required=False, strip=False)


def error_list(errors: Mapping[str, str]) -> list[dict[str, str]]:
    """The NHS.UK error summary's items, in the order the fields appear, each linking to its field."""
    order = {name: i for i, name in enumerate((*FIELD_ORDER, "password1", "password2", "team_role"))}
    return [
        {"text": msg, "href": f"#{field or 'main-form'}"}
        for field, msg in sorted(errors.items(), key=lambda kv: order.get(kv[0], 99))
    ]
