"""Test helpers for the API: a bearer token per persona, and the list of operations read from the OpenAPI document."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from apps.accounts.models import User
from apps.api.main import api
from apps.api.services import create_api_token

API_ROOT = "/api/v1"


def tokens_for(personas: dict[str, User]) -> dict[str, str]:
    """One fresh token per persona (``"anonymous"`` gets none)."""
    return {name: create_api_token(user, "test")[1] for name, user in personas.items()}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document exactly as /api/v1/openapi.json serves it (JSON: string keys throughout)."""
    return json.loads(json.dumps(api.get_openapi_schema(path_params={}), cls=DjangoJSONEncoder))


def operations() -> list[tuple[str, str, str]]:
    """(operationId, method, path template) of every operation in the API's OpenAPI document."""
    schema = openapi_document()
    return [
        (op["operationId"], method.upper(), path)
        for path, methods in schema["paths"].items()
        for method, op in methods.items()
    ]
