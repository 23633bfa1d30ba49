"""The signed-in user is read with their ICB and practice in one query (apps/accounts/backends.py): the header of
every page names them, which cost a second query on nearly every request."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.backends import ModelBackend
from apps.accounts.models import User
from apps.accounts.oidc import Backend as OidcBackend

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("backend", [ModelBackend, OidcBackend])
def test_the_user_comes_with_their_icb_and_practice_in_one_query(personas, backend):
    for name in ("icb_a", "practice_x"):
        with CaptureQueriesContext(connection) as ctx:
            user = backend().get_user(personas[name].pk)
            label = user.scope_label
        assert len(ctx.captured_queries) == 1, [q["sql"] for q in ctx.captured_queries]
        assert label == personas[name].scope_label != "England"


def test_an_ICB_users_page_reads_no_ICB_row_for_the_header(client_for):
    client = client_for("icb_a")
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/cases/", secure=True)
    assert response.status_code == 200
    alone = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith('SELECT "practices_icb"."id"')]
    assert alone == []
    assert b"North East and North Cumbria" in response.content or b"QHM" in response.content


def test_an_inactive_user_is_not_signed_in_by_the_password_backend(personas):
    user = personas["icb_a"]
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert ModelBackend().get_user(user.pk) is None
    assert ModelBackend().get_user(10**9) is None
    assert OidcBackend().get_user(user.pk) is None
