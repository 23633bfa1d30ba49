"""Signed-in pages are never cached, and a session ends after a working day without a request."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from apps.core.middleware import SESSION_TOUCHED

pytestmark = pytest.mark.django_db


def test_signed_in_pages_and_downloads_are_not_stored_by_caches(client_for):
    client = client_for("icb_a")
    for url, query in [(reverse("core:home"), {}), (reverse("practices:search"), {"download": "csv"})]:
        response = client.get(url, query)
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"], url


def test_api_answers_to_a_token_are_not_stored_by_caches(personas, client):
    from apps.api.services import create_api_token

    token = create_api_token(personas["icb_a"], "cache test")[1]
    response = client.get("/api/v1/icbs", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]


def test_the_public_start_page_may_be_cached(client):
    response = client.get(reverse("core:start"))
    assert response.status_code == 200 and "no-store" not in response.get("Cache-Control", "")


def _session(client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


@override_settings(SESSION_COOKIE_AGE=8 * 60 * 60)
def test_each_request_pushes_the_end_of_the_session_back(client_for):
    client = client_for("icb_a")
    client.get(reverse("core:home"))
    session = client.session
    session[SESSION_TOUCHED] = 0  # last pushed back long ago
    session.save()
    Session.objects.filter(session_key=session.session_key).update(expire_date=timezone.now() + timedelta(minutes=5))
    client.get(reverse("core:home"))
    left = _session(client).expire_date - timezone.now()
    assert timedelta(hours=7, minutes=59) < left <= timedelta(hours=8)


def test_a_session_idle_for_longer_than_the_limit_is_signed_out(client_for):
    client = client_for("icb_a")
    assert client.get(reverse("core:home")).status_code == 200
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    response = client.get(reverse("core:home"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_requests_in_quick_succession_do_not_rewrite_the_session(client_for):
    client = client_for("icb_a")
    client.get(reverse("core:home"))
    before = _session(client).expire_date
    client.get(reverse("core:home"))
    assert _session(client).expire_date == before
