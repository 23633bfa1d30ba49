"""Contract tests generated from the OpenAPI document (schemathesis), through the WSGI app, with a real token.

Every operation is called with generated valid and invalid inputs; each answer must be no server error, have a
documented status code and content type, match its response schema, and reject bad input with 4xx. Calls are made as
ICB A (who may call every operation but the national summary) and as the national team, so both allowed answers and
refusals are checked against the schema. Examples are few and derandomised to keep the run bounded (seconds). Tasks
are queued in the database as in production (``database_tasks``): a scenario asked for is queued, not solved here.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from apps.api.testing import openapi_document

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 6


@pytest.fixture(autouse=True)
def _keep_the_test_transaction_open() -> Iterator[None]:
    """Calls go in-process to Django's WSGI app, inside the test's transaction. Like Django's test client, the app
    must not close the database connection at the end of each request (that would end the transaction), so
    ``close_old_connections`` is unhooked while the test runs."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


# The document is read from the API object itself (the same one /api/v1/openapi.json serves) and the calls go to the
# WSGI app: schemathesis' lazy ``from_fixture`` loader does not work with pytest 9.
schema = schemathesis.openapi.from_dict(openapi_document())
schema.app = get_wsgi_application()


def test_the_served_document_is_the_one_tested(client):
    assert client.get("/api/v1/openapi.json").json() == openapi_document()


# Operations whose body carries a file: a schema cannot say which bytes are a readable spreadsheet, so schema-valid
# content may rightly be refused (400, in words); every other check still applies to them.
FILE_BODIES = {"create_caseload_upload"}
# Operations whose validity depends on the data and on today, beyond what a schema states: a cohort's line must fund
# its offer and have budget, its closing date must not be past. Schema-valid bodies are rightly refused (400, naming
# every problem); every other check still applies.
DATA_DEPENDENT = {"create_cohort"}


def _excluded(case: schemathesis.Case) -> list:  # type: ignore[type-arg]
    op = case.operation.definition.raw.get("operationId")
    return [positive_data_acceptance] if op in FILE_BODIES | DATA_DEPENDENT else []


BOUNDED = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


@schema.parametrize()
@BOUNDED
def test_api_conforms_to_its_openapi_document_as_an_icb_team(case, api_tokens, database_tasks):
    case.call_and_validate(headers={"Authorization": f"Bearer {api_tokens['icb_a']}"}, excluded_checks=_excluded(case))


@schema.parametrize()
@BOUNDED
def test_api_conforms_to_its_openapi_document_as_the_national_team(case, api_tokens, database_tasks):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {api_tokens['national']}"}, excluded_checks=_excluded(case)
    )
