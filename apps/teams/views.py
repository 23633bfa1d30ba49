"""Team administration pages: the team, inviting someone, one member, accepting an invitation.

Views parse (``forms``), authorise (``policy``), call a service and render; the rules live in ``policy`` and
``services``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from apps.accounts.http import user_of
from apps.accounts.models import Role, TeamRole
from apps.practices.models import ICB
from apps.teams import policy, services
from apps.teams.forms import (
    PasswordsForm,
    TeamRoleForm,
    error_list,
    example_practice_code,
    offer_value,
    parse_invite,
)


def team(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if not policy.can_administer_team(user):
        raise PermissionDenied
    members = policy.members_visible_to(user).select_related("icb", "practice").order_by("-is_active", "last_name")
    invitations = policy.invitations_visible_to(user).select_related("icb", "practice", "invited_by")[:100]
    context = {
        "members": [(m, policy.can_manage_member(user, m)) for m in members],
        "invitations": invitations,
        "role_labels": dict(Role.choices),
    }
    return render(request, "accounts/team.jinja", context)


def invite(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if not policy.can_administer_team(user):
        raise PermissionDenied
    errors: dict[str, str] = {}
    if request.method == "POST":
        data, errors = parse_invite(user, request.POST)
        if data is not None:
            try:
                inv, _ = services.invite(user, data)
            except services.TeamError as exc:
                # the service names its input ("role"); the form's field for it is "kind"
                errors[{"role": "kind"}.get(exc.field, exc.field) or "email"] = exc.message
            else:
                messages.success(request, f"Invitation sent to {inv.email}. The link works once, for 7 days.")
                return redirect("teams:team")
    offers = policy.invitation_offers(user)
    needs_icb = policy.chooses_icb_when_inviting(user)
    context = {
        "errors": errors,
        "error_items": error_list(errors),
        "values": request.POST if request.method == "POST" else {},
        "offers": [(offer_value(o.role, o.team_role), o.label) for o in offers],
        "needs_icb": needs_icb,
        "needs_practice": policy.invites_within_own_icb(user),
        "icbs": ICB.objects.order_by("name").values_list("code", "name") if needs_icb else [],
        "providers": policy.commissioned_providers(user),
        "practice_example": example_practice_code(user),
    }
    return render(request, "accounts/invite.jinja", context, status=400 if errors else 200)


def member(request: HttpRequest, pk: int) -> HttpResponse:
    """GET shows the member and what may be changed; POST changes the team role, deactivates or reactivates."""
    user = user_of(request)
    if not policy.can_administer_team(user):
        raise PermissionDenied
    target = policy.get_member_for(user, pk)
    errors: dict[str, str] = {}
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "role":
                role = TeamRoleForm(request.POST)
                role.is_valid()  # one box: the service says what is wrong with it, on "team_role"
                services.change_team_role(user, target, role.cleaned_data.get("team_role", ""))
                done = f"{target.get_full_name() or target.username} is now a {target.get_team_role_display().lower()}."
            elif action == "deactivate":
                services.deactivate(user, target)
                done = f"{target.get_full_name() or target.username} is deactivated: they are signed out everywhere."
            elif action == "reactivate":
                services.reactivate(user, target)
                done = f"{target.get_full_name() or target.username} can sign in again."
            else:
                raise services.TeamError("Choose what to change.", "team_role")
        except services.TeamError as exc:
            target.refresh_from_db()
            errors[exc.field or "team_role"] = exc.message
        else:
            messages.success(request, done)
            return redirect("teams:team")
    context = {
        "member": target,
        "errors": errors,
        "error_items": error_list(errors),
        "team_roles": TeamRole.choices,
    }
    return render(request, "accounts/member.jinja", context, status=400 if errors else 200)


@require_POST
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    if not policy.can_administer_team(user):
        raise PermissionDenied
    inv = policy.get_invitation_for(user, pk)
    try:
        services.withdraw_invitation(user, inv)
    except services.TeamError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The invitation to {inv.email} is withdrawn: its link no longer works.")
    return redirect("teams:team")


@login_not_required
@sensitive_post_parameters("password1", "password2")
def accept(request: HttpRequest, token: str) -> HttpResponse:
    """The invitation link: choose a password to create the account, then you are signed in."""
    inv = services.pending_invitation(token)
    if inv is None:
        return render(request, "accounts/accept_gone.jinja", {}, status=404)
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = PasswordsForm(request.POST)
        form.is_valid()  # two free boxes: the service judges the password and the match
        d = form.cleaned_data
        try:
            new_user = services.accept_invitation(token, d.get("password1", ""), d.get("password2", ""))
        except services.TeamError as exc:
            errors[exc.field or "password1"] = exc.message
        else:
            login(request, new_user, backend="apps.accounts.backends.ModelBackend")
            messages.success(request, "Your account is ready. You are signed in.")
            return redirect("core:home")
    context = {"invitation": inv, "errors": errors, "error_items": error_list(errors), "token": token}
    response = render(request, "accounts/accept.jinja", context, status=400 if errors else 200)
    # The page's address is the secret link: keep it out of caches. The site's Referrer-Policy (same-origin) already
    # keeps it from other sites; "no-referrer" would make the browser send "Origin: null", which CSRF refuses.
    response["Cache-Control"] = "no-store"
    return response
