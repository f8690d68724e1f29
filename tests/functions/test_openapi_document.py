"""`openapi_document`: the contract, served anonymously from the code, revealing no setting."""

from __future__ import annotations

import json

import pytest

from shared.openapi import document
from tests.functions.helpers import invoke


def test_the_document_is_served_without_any_setting():
    reply = invoke("openapi_document", "GET", "openapi.json")
    assert (reply.status, reply.body) == (200, document())


@pytest.mark.usefixtures("sim")
def test_the_document_reveals_no_setting(app_env, app_settings):
    app_settings.set("AZURE_OPENAI_AUTH", "api_key")
    app_settings.set("AZURE_OPENAI_API_KEY", "top-secret-key")
    app_settings.set("PUBLIC_BASE_URL", "https://gateway.example.com")
    reply = invoke("openapi_document", "GET", "openapi.json")
    assert (reply.status, reply.body) == (200, document())
    text = json.dumps(reply.body)
    for name, value in app_env.items() | {("key", "top-secret-key"), ("url", "gateway")}:
        if len(value) > 3 and name != "DISCOVERY_SCHEDULE":
            assert value not in text, name
