"""The API's contract, checked over HTTP against the local server (the in-process run is apps/api/tests).

Every read operation of the OpenAPI document the server itself serves is called with generated inputs, with a real
token sent in the header over a real socket, and each answer must be no server error, a documented status and content
type, and match its schema. Reads only: the server shares the session's committed data with the other journeys, so
nothing here may write to it (the writes are contract-tested in-process, inside a rolled-back transaction).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from apps.api.testing import openapi_document

schema = schemathesis.openapi.from_dict(openapi_document()).include(method="GET")


@pytest.fixture(scope="module")
def icb_token(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    from apps.accounts.models import User
    from apps.api.models import ApiToken
    from apps.api.services import create_api_token

    with django_db_blocker.unblock():
        token, raw = create_api_token(User.objects.get(username="icb-a"), "contract over HTTP")
    try:
        yield raw
    finally:
        with django_db_blocker.unblock():
            ApiToken.objects.filter(pk=token.pk).delete()


def test_the_server_serves_the_document_under_test(server_url: str) -> None:
    with urllib.request.urlopen(f"{server_url}/api/v1/openapi.json", timeout=30) as response:
        assert json.load(response) == openapi_document()


@schema.parametrize()
@settings(max_examples=3, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_read_conforms_over_http(case: Any, server_url: str, icb_token: str) -> None:
    case.call_and_validate(base_url=server_url, headers={"Authorization": f"Bearer {icb_token}"}, timeout=30)
