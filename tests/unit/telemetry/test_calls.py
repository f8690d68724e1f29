"""Span names never carry an id: each path's ids are templated out, whatever the API."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from shared.telemetry.calls import expected_answer, table_template, url_template, without_query


@pytest.mark.parametrize(
    ("path", "template"),
    [
        (
            "/openai/deployments/gpt-4o/chat/completions",
            "/openai/deployments/{deployment}/chat/completions",
        ),
        (
            "/openai/deployments/my%20deployment/embeddings",
            "/openai/deployments/{deployment}/embeddings",
        ),
        ("/openai/v1/chat/completions", "/openai/v1/chat/completions"),
        ("/openai/v1/responses", "/openai/v1/responses"),
        ("/openai/v1/responses/resp_abc123", "/openai/v1/responses/{response_id}"),
        ("/openai/batches", "/openai/batches"),
        ("/openai/batches/batch_6f1c", "/openai/batches/{batch_id}"),
        (
            "/subscriptions/0000/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/"
            "accounts/my-aoai/deployments",
            "/subscriptions/{subscription_id}/resourceGroups/{resource_group}/providers/"
            "Microsoft.CognitiveServices/accounts/{account}/deployments",
        ),
    ],
)
def test_url_template(path: str, template: str) -> None:
    assert url_template(path) == template


@pytest.mark.parametrize(
    ("path", "template"),
    [
        (
            "/JobDefinitions(PartitionKey='my-aoai',RowKey='gpt-4o')",
            "/JobDefinitions()",
        ),
        ("/devstoreaccount1/Jobs1()", "/devstoreaccount1/Jobs1()"),
        ("/$batch", "/$batch"),
        ("/Tables", "/Tables"),
    ],
)
def test_table_template_drops_the_entity_keys(path: str, template: str) -> None:
    assert table_template(path) == template


def test_a_url_loses_its_query_and_fragment() -> None:
    url = "https://acct.table.core.windows.net/T()?sv=2024&sig=secret#frag"
    assert without_query(urlsplit(url)) == "https://acct.table.core.windows.net/T()"


@pytest.mark.parametrize(
    ("method", "path", "status", "expected"),
    [
        ("GET", "/JobDefinitions()", 404, True),  # no such definition: an answer
        ("POST", "/devstoreaccount1/Tables", 409, True),  # the table exists already
        ("GET", "/JobDefinitions()", 403, False),
        ("POST", "/$batch", 409, False),
        ("PUT", "/JobDefinitions()", 404, False),
        ("GET", "/JobDefinitions()", 503, False),
    ],
)
def test_only_the_registrys_normal_answers_are_not_errors(
    method: str, path: str, status: int, expected: bool
) -> None:
    assert expected_answer(method, path, status) is expected
