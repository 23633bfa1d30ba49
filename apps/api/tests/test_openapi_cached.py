"""The OpenAPI document is built once per process (it depends on the code alone) and then read back per request."""

from __future__ import annotations

import json

import ninja.main

from apps.api.main import Api, api


def test_the_document_is_built_once_and_each_caller_gets_its_own_copy(monkeypatch, client):
    built = []
    real = ninja.main.get_schema

    def counting(**kwargs):
        built.append(kwargs["path_prefix"])
        return real(**kwargs)

    monkeypatch.setattr(ninja.main, "get_schema", counting)
    monkeypatch.setattr(Api, "_openapi_text", {})
    first = client.get("/api/v1/openapi.json")
    second = client.get("/api/v1/openapi.json")
    assert first.status_code == second.status_code == 200
    assert json.loads(first.content) == json.loads(second.content)
    assert built == ["/api/v1/"], built
    mine = api.get_openapi_schema(path_params={})
    mine["info"]["title"] = "changed by a caller"
    assert json.loads(client.get("/api/v1/openapi.json").content)["info"]["title"] == "GP Resilience API"
