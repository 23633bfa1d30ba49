"""Sign-in security: lockout after repeated failures (django-axes), and passwords never reach the logs."""

from __future__ import annotations

import logging

import pytest
from django.conf import settings
from django.urls import reverse

pytestmark = pytest.mark.django_db

PASSWORD = "x-test-password-1"  # apps.pages.testing personas' password
WRONG = "Wrong-Secret-Attempt-42"


def _sign_in(client, username: str, password: str, address: str = "127.0.0.1"):
    return client.post(reverse("accounts:login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def test_repeated_failures_lock_the_username_from_that_address_with_a_clear_message(client, personas):
    username = personas["icb_a"].username
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _sign_in(client, username, WRONG).status_code == 200  # the form again, with its error
    locked = _sign_in(client, username, WRONG)
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Signing in is paused" in page and "Too many failed sign-in attempts" in page
    assert f"{settings.AXES_COOLOFF_TIME.seconds // 60} minutes" in page
    # Locked means locked: even the right password is refused, and the user is not signed in.
    assert _sign_in(client, username, PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session
    # Another user at the same address, and the same user elsewhere, can still sign in.
    assert _sign_in(client, personas["icb_b"].username, PASSWORD).status_code == 302
    client.logout()
    assert _sign_in(client, username, PASSWORD, address="10.9.8.7").status_code == 302


def test_a_successful_sign_in_resets_the_failure_count(client, personas):
    username = personas["lmc"].username
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _sign_in(client, username, WRONG)
    assert _sign_in(client, username, PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _sign_in(client, username, WRONG).status_code == 200


def test_passwords_never_appear_in_the_logs(client, personas, caplog):
    username = personas["practice_x"].username
    caplog.set_level(logging.DEBUG)
    for name in ("django", "django.request", "axes", "apps"):
        caplog.set_level(logging.DEBUG, logger=name)
    _sign_in(client, username, WRONG)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(client, username, WRONG)  # into the lockout, which logs the most
    _sign_in(client, personas["practice_y"].username, PASSWORD)
    everything = caplog.text + " ".join(str(r.args) + str(r.__dict__) for r in caplog.records)
    assert "AXES" in everything, "the sign-ins were logged (so this test can see what is logged)"
    assert "Locking out" in everything
    assert WRONG not in everything and PASSWORD not in everything


def test_sign_in_needs_the_csrf_token(personas):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = _sign_in(client, personas["icb_a"].username, PASSWORD)
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
