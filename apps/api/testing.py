"""Test helpers for the API: a bearer token per persona, and the list of operations read from the OpenAPI document."""

from __future__ import annotations

from typing import Any

from apps.accounts.models import User
from apps.api.main import api
from apps.api.services import create_api_token

API_ROOT = "/api/v1"


def tokens_for(personas: dict[str, User]) -> dict[str, str]:
    """One fresh token per persona (``"anonymous"`` gets none)."""
    return {name: create_api_token(user, "test")[1] for name, user in personas.items()}


def operations() -> list[tuple[str, str, str]]:
    """(operationId, method, path template) of every operation in the API's OpenAPI document."""
    schema: dict[str, Any] = api.get_openapi_schema(path_params={})
    return [
        (op["operationId"], method.upper(), path)
        for path, methods in schema["paths"].items()
        for method, op in methods.items()
    ]
