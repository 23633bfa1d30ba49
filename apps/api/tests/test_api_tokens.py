"""Personal API tokens: shown once, stored only as a fingerprint, named, revocable, last use recorded."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from apps.api.models import ApiToken
from apps.api.services import create_api_token, revoke_api_token, token_digest

pytestmark = pytest.mark.django_db


def test_the_token_itself_is_never_stored(personas):
    token, raw = create_api_token(personas["icb_a"], "report script")
    assert raw.startswith("gpr_") and len(raw) > 40
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert raw not in str(stored) and stored["token_sha256"] == token_digest(raw)


def test_a_revoked_token_no_longer_works(client, personas):
    token, raw = create_api_token(personas["icb_a"], "report script")
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/icbs", headers=headers).status_code == 200
    revoke_api_token(token)
    assert client.get("/api/v1/icbs", headers=headers).status_code == 401


def test_a_token_of_a_deactivated_user_no_longer_works(client, personas):
    _, raw = create_api_token(personas["lmc"], "x")
    personas["lmc"].is_active = False
    personas["lmc"].save()
    assert client.get("/api/v1/icbs", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


def test_wrong_or_malformed_tokens_are_refused_with_a_clear_message(client):
    for header in ("Bearer gpr_not-a-token", "Bearer ", "Token abc", "Bearer " + "gpr_" + "x" * 500):
        response = client.get("/api/v1/icbs", headers={"Authorization": header})
        assert response.status_code == 401
        assert "Authorization: Bearer" in response.json()["detail"]


def test_use_is_recorded(client, personas):
    token, raw = create_api_token(personas["national"], "x")
    assert token.last_used_at is None
    client.get("/api/v1/icbs", headers={"Authorization": f"Bearer {raw}"})
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_the_tokens_page_shows_a_new_token_once(client_for):
    client = client_for("icb_a")
    created = client.post(reverse("apitokens:list"), {"name": "monthly report"})
    # the page sets no-store itself; the signed-in middleware adds the rest of never-cache around it
    assert created.status_code == 200 and "no-store" in created["Cache-Control"].split(", ")
    page = created.content.decode()
    raw = re.search(r"gpr_[A-Za-z0-9_-]{40,}", page).group(0)
    assert ApiToken.objects.get(token_sha256=token_digest(raw)).name == "monthly report"
    again = client.get(reverse("apitokens:list")).content.decode()
    assert raw not in again and "monthly report" in again and raw[:10] in again


def test_a_token_needs_a_name(client_for):
    response = client_for("icb_a").post(reverse("apitokens:list"), {"name": "  "})
    assert response.status_code == 400 and "Give the token a name" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_users_revoke_their_own_tokens_only(client_for, personas):
    mine, _ = create_api_token(personas["icb_a"], "mine")
    theirs, _ = create_api_token(personas["icb_b"], "theirs")
    client = client_for("icb_a")
    assert client.post(reverse("apitokens:revoke", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("apitokens:revoke", args=[mine.pk])).status_code == 302
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.revoked_at is not None and theirs.revoked_at is None
    assert "theirs" not in client.get(reverse("apitokens:list")).content.decode()


def test_create_api_token_command_prints_the_token_once(personas):
    out = io.StringIO()
    call_command("create_api_token", personas["provider"].username, name="nightly sync", stdout=out)
    raw = out.getvalue().strip().splitlines()[-1]
    assert ApiToken.objects.get(token_sha256=token_digest(raw)).user == personas["provider"]
    with pytest.raises(CommandError, match="no user called"):
        call_command("create_api_token", "nobody", name="x")
