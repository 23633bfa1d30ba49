from __future__ import annotations

import json
from typing import Any

import pytest


@pytest.fixture
def api_tokens(personas: dict[str, Any]) -> dict[str, str]:
    from apps.api.testing import tokens_for

    return tokens_for(personas)


@pytest.fixture
def api_call(client: Any, api_tokens: dict[str, str]) -> Any:
    """``api_call("icb_a", "GET", "/api/v1/practices", page=2)`` → the response, sent with that persona's token."""

    def call(persona: str, method: str, path: str, body: dict[str, Any] | None = None, **query: Any) -> Any:
        client.logout()
        headers = {"Authorization": f"Bearer {api_tokens[persona]}"} if persona != "anonymous" else {}
        if method == "GET":
            return client.get(path, query, headers=headers)
        return client.generic(
            method, path, data=json.dumps(body or {}), content_type="application/json", headers=headers
        )

    return call
