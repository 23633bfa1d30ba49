"""Password reset by email: Django's views on NHS.UK pages; the same answer for any address (no user enumeration)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from apps.accounts.models import User

pytestmark = pytest.mark.django_db
LINK = re.compile(r"https?://[^/\s]+(/accounts/password-reset/[^/\s]+/[^/\s]+/)")
NEW_PASSWORD = "Kettle-harbour-2041"


@pytest.fixture
def known(personas) -> User:
    user = personas["practice_x"]
    User.objects.filter(pk=user.pk).update(email="pm-x@nhs.net")
    user.refresh_from_db()
    return user


def test_the_answer_is_the_same_for_a_known_and_an_unknown_address(client, known):
    unknown = client.post(reverse("accounts:password_reset"), {"email": "nobody@nhs.net"})
    assert mail.outbox == []
    found = client.post(reverse("accounts:password_reset"), {"email": "pm-x@nhs.net"})
    assert [m.to for m in mail.outbox] == [["pm-x@nhs.net"]]
    assert unknown.status_code == found.status_code == 302
    assert unknown["Location"] == found["Location"] == reverse("accounts:password_reset_done")


def test_a_deactivated_account_gets_no_email(client, known):
    User.objects.filter(pk=known.pk).update(is_active=False)
    client.post(reverse("accounts:password_reset"), {"email": "pm-x@nhs.net"})
    assert mail.outbox == []


def test_the_emailed_link_sets_a_new_password_once(client, known):
    client.post(reverse("accounts:password_reset"), {"email": "pm-x@nhs.net"})
    link = LINK.search(mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    assert form.status_code == 200 and "Choose a new password" in form.content.decode()
    set_url = form.redirect_chain[-1][0]
    weak = client.post(set_url, {"new_password1": "password", "new_password2": "password"})
    body = weak.content.decode()
    assert weak.status_code == 400 and 'class="nhsuk-error-summary"' in body and 'href="#id_new_password2"' in body
    done = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == reverse("accounts:password_reset_complete")
    known.refresh_from_db()
    assert known.check_password(NEW_PASSWORD)
    again = client.get(link, follow=True)
    assert "This link does not work" in again.content.decode()


def test_a_badly_typed_address_is_named_in_the_error_summary(client, personas):
    response = client.post(reverse("accounts:password_reset"), {"email": "not an email"})
    body = response.content.decode()
    assert response.status_code == 400 and 'href="#id_email"' in body and 'id="id_email"' in body
