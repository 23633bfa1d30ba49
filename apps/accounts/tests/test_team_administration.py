"""Team administration: who invites whom, single-use expiring invitations accepted by setting a password, role
changes, deactivation that ends every credential, and the audit trail of each membership change."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Invitation, Role, TeamRole, User
from apps.core.models import AuditRecord
from apps.pages.testing import ICB_A, ICB_B
from apps.practices.models import ICB, Practice, PracticeStatus
from apps.teams import policy, services

pytestmark = pytest.mark.django_db
LINK = re.compile(r"/accounts/invitation/([\w-]+)/")
GOOD_PASSWORD = "Kettle-harbour-2041"


def post_invite(client, capture, **fields):
    with capture(execute=True):
        return client.post(reverse("teams:invite"), fields)


def link_token(message) -> str:
    found = LINK.search(message.body)
    assert found, message.body
    return found.group(1)


def other_icb_a_practice(personas) -> Practice:
    return (
        Practice.objects.filter(icb__code=ICB_A, status=PracticeStatus.ACTIVE)
        .exclude(pk=personas["practice_x"].practice_id)
        .order_by("code")
        .first()
    )


def test_createsuperuser_gives_a_national_administrator(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", GOOD_PASSWORD)
    call_command("createsuperuser", "--noinput", "--username", "admin", "--email", "admin@example.org")
    admin = User.objects.get(username="admin")
    assert (admin.role, admin.team_role, admin.is_superuser) == (Role.NATIONAL, TeamRole.LEAD, True)
    assert policy.invitation_offers(admin)[0].role == Role.ICB


def test_national_invites_an_icb_lead_who_accepts_by_setting_a_password(
    client_for, personas, django_capture_on_commit_callbacks
):
    client = client_for("national")
    response = post_invite(
        client,
        django_capture_on_commit_callbacks,
        email="Ada.Lead@NHS.net",
        first_name="Ada",
        last_name="Lead",
        kind="icb:lead",
        icb=ICB_B,
    )
    assert response.status_code == 302
    inv = Invitation.objects.get()
    assert (inv.email, inv.role, inv.team_role, inv.icb.code) == ("ada.lead@nhs.net", Role.ICB, TeamRole.LEAD, ICB_B)
    assert inv.token_sha256 and len(mail.outbox) == 1 and mail.outbox[0].to == ["ada.lead@nhs.net"]
    token = link_token(mail.outbox[0])
    assert token not in inv.token_sha256  # only the digest is stored

    anon = client_for("anonymous")
    page = anon.get(reverse("teams:accept", args=[token]))
    assert page.status_code == 200 and "Ada" in page.content.decode()
    response = anon.post(
        reverse("teams:accept", args=[token]), {"password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD}
    )
    assert response.status_code == 302
    ada = User.objects.get(username="ada.lead@nhs.net")
    assert (ada.role, ada.icb.code, ada.team_role, ada.check_password(GOOD_PASSWORD)) == (
        Role.ICB,
        ICB_B,
        TeamRole.LEAD,
        True,
    )
    assert anon.get(reverse("teams:team")).status_code == 200  # signed in, and leads the ICB B team
    # single use: the link no longer works, and nothing more is created
    anon.logout()
    assert anon.get(reverse("teams:accept", args=[token])).status_code == 404
    again = anon.post(reverse("teams:accept", args=[token]), {"password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD})
    assert again.status_code == 404 and User.objects.filter(email="ada.lead@nhs.net").count() == 1


def test_a_weak_or_mismatched_password_is_refused_with_the_validators_words(personas):
    inv, token = services.invite(
        personas["icb_a"], services.InviteInput("new@nhs.net", "New", "Person", Role.ICB, TeamRole.MEMBER)
    )
    for p1, p2, words in (
        ("password", "password", "too common"),
        ("1234567890123", "1234567890123", "entirely numeric"),
        (GOOD_PASSWORD, GOOD_PASSWORD + "x", "do not match"),
        ("", "", "Enter a password"),
    ):
        with pytest.raises(services.TeamError, match=words):
            services.accept_invitation(token, p1, p2)
    assert not User.objects.filter(username="new@nhs.net").exists()
    inv.refresh_from_db()
    assert inv.status == "pending"


def test_the_accept_page_shows_password_errors_in_the_error_summary(client, personas):
    _, token = services.invite(
        personas["icb_a"], services.InviteInput("new@nhs.net", "New", "Person", Role.ICB, TeamRole.MEMBER)
    )
    response = client.post(reverse("teams:accept", args=[token]), {"password1": "short", "password2": "short"})
    body = response.content.decode()
    assert response.status_code == 400
    assert 'class="nhsuk-error-summary"' in body and 'href="#password1"' in body and "too short" in body


def test_an_expired_or_withdrawn_invitation_cannot_be_accepted(personas):
    lead = personas["icb_a"]
    old, old_token = services.invite(
        lead, services.InviteInput("old@nhs.net", "Old", "Link", Role.ICB, TeamRole.MEMBER)
    )
    Invitation.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(services.TeamError, match="expired"):
        services.accept_invitation(old_token, GOOD_PASSWORD, GOOD_PASSWORD)
    gone, gone_token = services.invite(
        lead, services.InviteInput("w@nhs.net", "With", "Drawn", Role.ICB, TeamRole.MEMBER)
    )
    services.withdraw_invitation(lead, gone)
    with pytest.raises(services.TeamError):
        services.accept_invitation(gone_token, GOOD_PASSWORD, GOOD_PASSWORD)
    assert not User.objects.filter(username__in=["old@nhs.net", "w@nhs.net"]).exists()
    # an expired invitation no longer blocks a new one for the same person
    services.invite(lead, services.InviteInput("old@nhs.net", "Old", "Link", Role.ICB, TeamRole.MEMBER))


def test_an_icb_lead_invites_only_within_its_icb_and_commissioned_providers(personas):
    from apps.delivery.models import ProviderOrganisation

    lead = personas["icb_a"]
    icb_b = ICB.objects.get(code=ICB_B)
    theirs = personas["practice_y"].practice
    ours = other_icb_a_practice(personas)
    covering = ProviderOrganisation.objects.create(name="North coaching", kind="faculty")
    covering.icbs.set([lead.icb])
    elsewhere = ProviderOrganisation.objects.create(name="South coaching", kind="faculty")
    elsewhere.icbs.set([icb_b])

    def refusal(role, team_role=TeamRole.MEMBER, icb=None, practice=None, org=""):
        return policy.invitation_refusal(lead, role, team_role, icb, practice, org)

    assert refusal(Role.ICB, icb=lead.icb) is None
    assert refusal(Role.ICB, icb=icb_b) == "You can invite only to your own ICB's team."
    assert refusal(Role.PRACTICE, practice=ours) is None
    assert refusal(Role.PRACTICE, practice=theirs) == "That practice is not in your ICB."
    assert refusal(Role.PROVIDER, org="North coaching") is None
    assert refusal(Role.PROVIDER, org="South coaching") == "Choose a provider organisation that covers your ICB."
    assert refusal(Role.NATIONAL) == "You cannot invite someone to that role."
    assert refusal(Role.LMC, icb=lead.icb) == "You cannot invite someone to that role."
    # a member (not a lead) of the same team invites nobody
    member = User.objects.create_user(username="member-a", role=Role.ICB, icb=lead.icb)
    assert policy.invitation_offers(member) == []
    with pytest.raises(services.TeamError):
        services.invite(member, services.InviteInput("x@nhs.net", "X", "Y", Role.ICB, TeamRole.MEMBER, icb=lead.icb))


def test_the_invite_page_refuses_a_practice_in_another_icb_and_shows_every_error(client_for, personas):
    client = client_for("icb_a")
    response = client.post(
        reverse("teams:invite"),
        {
            "email": "not-an-email",
            "first_name": "",
            "last_name": "Y",
            "kind": "practice:member",
            "practice": personas["practice_y"].practice.code,
        },
    )
    body = response.content.decode()
    assert response.status_code == 400 and not Invitation.objects.exists()
    assert 'href="#first_name"' in body and 'href="#practice"' in body and "is in your ICB" in body


def test_a_practice_first_user_leads_it_and_invites_colleagues_of_the_same_practice(personas):
    lead = personas["icb_a"]
    practice = other_icb_a_practice(personas)
    inv, token = services.invite(
        lead, services.InviteInput("pm@nhs.net", "Pat", "Manager", Role.PRACTICE, TeamRole.MEMBER, practice=practice)
    )
    assert inv.team_role == TeamRole.LEAD  # nobody leads that practice yet
    pm = services.accept_invitation(token, GOOD_PASSWORD, GOOD_PASSWORD)
    assert pm.team_role == TeamRole.LEAD and policy.can_administer_team(pm)
    colleague, _ = services.invite(
        pm, services.InviteInput("rx@nhs.net", "Rae", "Reception", Role.PRACTICE, TeamRole.MEMBER, practice=practice)
    )
    assert (colleague.practice_id, colleague.team_role) == (practice.pk, TeamRole.MEMBER)
    # the second practice user the ICB invites is a member: the practice has a lead
    second, _ = services.invite(
        lead, services.InviteInput("gp@nhs.net", "Gail", "Partner", Role.PRACTICE, TeamRole.MEMBER, practice=practice)
    )
    assert second.team_role == TeamRole.MEMBER
    # a practice lead invites only to its own practice, and only practice colleagues
    assert policy.invitation_refusal(pm, Role.PRACTICE, TeamRole.MEMBER, None, personas["practice_x"].practice, "") == (
        "You can invite only colleagues at your own practice."
    )
    assert policy.invitation_refusal(pm, Role.ICB, TeamRole.MEMBER, lead.icb, None, "") is not None


def test_one_waiting_invitation_per_person_and_none_for_an_existing_account(personas):
    lead = personas["icb_a"]
    services.invite(lead, services.InviteInput("twice@nhs.net", "T", "W", Role.ICB, TeamRole.MEMBER))
    with pytest.raises(services.TeamError, match="already has an invitation"):
        services.invite(lead, services.InviteInput("TWICE@nhs.net", "T", "W", Role.ICB, TeamRole.MEMBER))
    User.objects.filter(pk=personas["icb_b"].pk).update(email="taken@nhs.net")
    with pytest.raises(services.TeamError, match="already has an account"):
        services.invite(lead, services.InviteInput("taken@nhs.net", "T", "W", Role.ICB, TeamRole.MEMBER))


def test_deactivation_ends_sessions_api_tokens_and_the_calendar_feed_and_keeps_the_account(client, personas):
    from apps.api.models import ApiToken
    from apps.api.services import create_api_token
    from apps.delivery.models import CalendarToken

    lead = personas["icb_a"]
    mate = User.objects.create_user(username="mate", password=GOOD_PASSWORD, role=Role.ICB, icb=lead.icb)
    token, raw = create_api_token(mate, "script")
    CalendarToken.objects.create(user=mate)
    client.force_login(mate)
    assert client.get(reverse("core:home")).status_code == 200
    assert client.get("/api/v1/practices", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200

    services.deactivate(lead, mate)

    mate.refresh_from_db()
    assert mate.is_active is False and User.objects.filter(pk=mate.pk).exists()
    assert client.get(reverse("core:home")).status_code == 302  # the session is gone: back to sign-in
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert not CalendarToken.objects.filter(user=mate).exists()
    assert client.post(reverse("accounts:login"), {"username": "mate", "password": GOOD_PASSWORD}).status_code == 200

    services.reactivate(lead, mate)
    assert client.post(reverse("accounts:login"), {"username": "mate", "password": GOOD_PASSWORD}).status_code == 302
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None  # old tokens stay ended


def test_who_may_manage_whom(personas):
    lead_a, lead_b = personas["icb_a"], personas["icb_b"]
    mate = User.objects.create_user(username="mate", role=Role.ICB, icb=lead_a.icb)
    assert policy.can_manage_member(lead_a, mate)
    assert policy.can_manage_member(personas["national"], mate)
    assert not policy.can_manage_member(lead_b, mate)
    assert not policy.can_manage_member(lead_a, lead_a)  # never oneself
    assert not policy.can_manage_member(lead_a, personas["practice_x"])
    assert not policy.can_manage_member(personas["practice_x"], mate)
    with pytest.raises(services.TeamError):
        services.deactivate(lead_b, mate)
    with pytest.raises(services.TeamError):
        services.change_team_role(lead_a, lead_a, TeamRole.MEMBER)


def test_the_member_page_changes_the_team_role_and_another_icb_lead_cannot_see_it(client_for, personas):
    mate = User.objects.create_user(username="mate", role=Role.ICB, icb=personas["icb_a"].icb)
    url = reverse("teams:member", args=[mate.pk])
    assert client_for("icb_b").get(url).status_code == 404
    response = client_for("icb_a").post(url, {"action": "role", "team_role": "lead"})
    assert response.status_code == 302
    mate.refresh_from_db()
    assert mate.team_role == TeamRole.LEAD
    again = client_for("icb_a").post(url, {"action": "role", "team_role": "lead"})
    assert again.status_code == 400 and "already" in again.content.decode()


def test_every_membership_change_is_audited_with_the_actor(personas):
    lead = personas["icb_a"]

    def last(model: str, pk) -> AuditRecord:
        return AuditRecord.objects.filter(model=model, object_pk=str(pk)).latest("pk")

    inv, token = services.invite(lead, services.InviteInput("audit@nhs.net", "Au", "Dit", Role.ICB, TeamRole.MEMBER))
    sent = last("accounts.Invitation", inv.pk)
    assert (sent.action, sent.actor_id) == ("create", lead.pk)
    assert sent.changes["token_sha256"] == [None, "(secret, changed)"]

    user = services.accept_invitation(token, GOOD_PASSWORD, GOOD_PASSWORD)
    created = AuditRecord.objects.get(model="accounts.User", object_pk=str(user.pk), action="create")
    assert created.actor == f"audit@nhs.net (invitation {inv.pk})"
    accepted = last("accounts.Invitation", inv.pk)
    assert accepted.action == "update" and "accepted_at" in accepted.changes

    with_lead = {"actor_id": lead.pk, "model": "accounts.User", "object_pk": str(user.pk), "action": "update"}
    services.change_team_role(lead, user, TeamRole.LEAD)
    assert AuditRecord.objects.filter(**with_lead).latest("pk").changes["team_role"] == ["member", "lead"]
    services.deactivate(lead, user)
    assert AuditRecord.objects.filter(**with_lead).latest("pk").changes["is_active"] == [True, False]
    services.reactivate(lead, user)
    assert AuditRecord.objects.filter(**with_lead).latest("pk").changes["is_active"] == [False, True]


def test_the_team_page_lists_the_team_and_its_invitations(client_for, personas):
    services.invite(personas["icb_a"], services.InviteInput("w8@nhs.net", "Wai", "Ting", Role.ICB, TeamRole.MEMBER))
    body = client_for("icb_a").get(reverse("teams:team")).content.decode()
    assert "w8@nhs.net" in body and "Waiting" in body and "Withdraw" in body
    assert "w8@nhs.net" not in client_for("icb_b").get(reverse("teams:team")).content.decode()
    assert client_for("provider").get(reverse("teams:team")).status_code == 403


def test_a_mail_server_failure_after_the_commit_leaves_the_invitation_waiting(personas, monkeypatch, caplog):
    import smtplib

    def refuse(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("gone")

    monkeypatch.setattr(services, "send_mail", refuse)
    inv, _ = services.invite(
        personas["icb_a"], services.InviteInput("m@nhs.net", "Mail", "Down", Role.ICB, TeamRole.MEMBER)
    )
    services._send_invitation(inv, "raw")  # what the commit hook runs
    assert Invitation.objects.get(pk=inv.pk).status == "pending"
    assert "could not be sent" in caplog.text
