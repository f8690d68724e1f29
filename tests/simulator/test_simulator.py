"""Smoke tests of the Azure OpenAI / managed-identity simulator over real sockets."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

from local.simulator import COGNITIVE_SERVICES_AUDIENCE, Deployment, Fault, Simulator

API_VERSION = "2024-10-21"
CHAT_PATH = "/openai/deployments/{}/chat/completions"
EMBEDDINGS_PATH = "/openai/deployments/{}/embeddings"
MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Say hello to the simulator please"},
]


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        yield simulator


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as pooled:
        pooled.mount("http://", HTTPAdapter(pool_connections=4, pool_maxsize=32))
        yield pooled


def fetch_token(sim: Simulator, session: requests.Session) -> str:
    response = session.get(
        sim.identity_endpoint,
        params={"api-version": "2019-08-01", "resource": COGNITIVE_SERVICES_AUDIENCE},
        headers={"X-IDENTITY-HEADER": sim.identity_header},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_on"], str) and body["expires_on"].isdigit()
    return str(body["access_token"])


def chat(
    sim: Simulator,
    session: requests.Session,
    headers: dict[str, str],
    deployment: str = "gpt-4o",
    **extra: Any,
) -> requests.Response:
    return session.post(
        sim.url + CHAT_PATH.format(deployment),
        params={"api-version": API_VERSION},
        headers=headers,
        json={"messages": MESSAGES, **extra},
        timeout=5,
    )


def key_headers(sim: Simulator) -> dict[str, str]:
    return {"api-key": sim.api_key}


def test_bearer_token_chat(sim: Simulator, session: requests.Session) -> None:
    token = fetch_token(sim, session)
    response = chat(sim, session, {"Authorization": f"Bearer {token}"})

    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["x-ms-region"] == "Sweden Central"
    assert response.headers["x-ms-deployment-name"] == "gpt-4o"
    assert response.headers["apim-request-id"]
    assert int(response.headers["x-ratelimit-remaining-tokens"]) > 0
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == "gpt-4o-2024-08-06"
    choice = body["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    assert "simulator" not in choice["message"]["content"]  # never echoes the prompt
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert sim.issued_tokens()[token] == COGNITIVE_SERVICES_AUDIENCE
    assert len(sim.token_requests()) == 1
    (recorded,) = sim.requests("chat")
    assert recorded.json()["messages"] == MESSAGES
    assert recorded.response_status == 200
    assert recorded.response_headers["apim-request-id"] == response.headers["apim-request-id"]


def test_bad_credentials_are_rejected(sim: Simulator, session: requests.Session) -> None:
    bad_bearer = chat(sim, session, {"Authorization": "Bearer not-a-simulator-token"})
    assert bad_bearer.status_code == 401
    assert bad_bearer.json()["statusCode"] == 401

    bad_key = chat(sim, session, {"api-key": "wrong"})
    assert bad_key.status_code == 401
    assert bad_key.json()["error"]["code"] == "401"


def test_api_key_chat_and_max_tokens(sim: Simulator, session: requests.Session) -> None:
    response = chat(sim, session, key_headers(sim), deployment="gpt-4o-mini", max_tokens=2)

    assert response.status_code == 200, response.text
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "length"
    assert len(choice["message"]["content"].split()) == 2


def test_unknown_deployment_and_missing_api_version(
    sim: Simulator, session: requests.Session
) -> None:
    unknown = chat(sim, session, key_headers(sim), deployment="nope")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "DeploymentNotFound"
    assert unknown.headers["apim-request-id"]

    no_version = session.post(sim.url + CHAT_PATH.format("gpt-4o"), json={"messages": MESSAGES})
    assert no_version.status_code == 404
    assert no_version.json() == {"error": {"code": "404", "message": "Resource not found"}}


def test_429_fault_applies_once(sim: Simulator, session: requests.Session) -> None:
    sim.add_fault(
        Fault(method="POST", path="/chat/completions", status=429, headers={"retry-after-ms": "10"})
    )

    throttled = chat(sim, session, key_headers(sim))
    assert throttled.status_code == 429
    assert throttled.headers["retry-after-ms"] == "10"
    assert "rate limit" in throttled.json()["error"]["message"]
    assert chat(sim, session, key_headers(sim)).status_code == 200


def test_drop_fault_raises_connection_error(sim: Simulator, session: requests.Session) -> None:
    assert chat(sim, session, key_headers(sim)).status_code == 200  # warm a pooled connection
    sim.add_fault(Fault(drop=True))

    with pytest.raises(requests.exceptions.ConnectionError):
        chat(sim, session, key_headers(sim))
    assert chat(sim, session, key_headers(sim)).status_code == 200


def test_cut_fault_raises_chunked_encoding_error(sim: Simulator, session: requests.Session) -> None:
    sim.add_fault(Fault(cut=True))

    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        chat(sim, session, key_headers(sim))
    assert chat(sim, session, key_headers(sim)).status_code == 200


def test_delay_fault_causes_read_timeout(sim: Simulator, session: requests.Session) -> None:
    sim.add_fault(Fault(delay_s=2.0))

    with pytest.raises(requests.exceptions.ReadTimeout):
        session.post(
            sim.url + CHAT_PATH.format("gpt-4o"),
            params={"api-version": API_VERSION},
            headers=key_headers(sim),
            json={"messages": MESSAGES},
            timeout=0.2,
        )


def test_content_filter_markers(sim: Simulator, session: requests.Session) -> None:
    blocked = session.post(
        sim.url + CHAT_PATH.format("gpt-4o"),
        params={"api-version": API_VERSION},
        headers=key_headers(sim),
        json={"messages": [{"role": "user", "content": "hi [[filter-prompt]]"}]},
    )
    assert blocked.status_code == 400
    assert blocked.json()["error"]["code"] == "content_filter"

    filtered = session.post(
        sim.url + CHAT_PATH.format("gpt-4o"),
        params={"api-version": API_VERSION},
        headers=key_headers(sim),
        json={"messages": [{"role": "user", "content": "hi [[filter-completion]]"}]},
    )
    assert filtered.status_code == 200
    assert filtered.json()["choices"][0]["finish_reason"] == "content_filter"


def test_embeddings_are_deterministic(sim: Simulator, session: requests.Session) -> None:
    def embed(texts: list[str]) -> list[list[float]]:
        response = session.post(
            sim.url + EMBEDDINGS_PATH.format("text-embedding-3-small"),
            params={"api-version": API_VERSION},
            headers=key_headers(sim),
            json={"input": texts},
        )
        assert response.status_code == 200, response.text
        return [item["embedding"] for item in response.json()["data"]]

    first, second = embed(["alpha", "beta"])
    assert len(first) == 1536
    assert abs(sum(v * v for v in first) - 1.0) < 1e-5
    assert embed(["alpha"]) == [first]
    assert first != second

    wrong_model = session.post(
        sim.url + EMBEDDINGS_PATH.format("gpt-4o"),
        params={"api-version": API_VERSION},
        headers=key_headers(sim),
        json={"input": "alpha"},
    )
    assert wrong_model.status_code == 400
    assert wrong_model.json()["error"]["code"] == "OperationNotSupported"


def test_concurrent_clients(session: requests.Session) -> None:
    with Simulator([Deployment("chat", "gpt-4o")], latency_s=0.05) as sim:
        with ThreadPoolExecutor(max_workers=32) as pool:
            statuses = list(
                pool.map(
                    lambda _: chat(sim, session, key_headers(sim), "chat").status_code, range(128)
                )
            )
        assert statuses == [200] * 128
        assert len(sim.requests()) == 128


def test_control_api(sim: Simulator, session: requests.Session) -> None:
    added = session.post(
        sim.url + "/_sim/faults",
        json={"status": 503, "body": "<html/>", "content_type": "text/html"},
    )
    assert added.status_code == 201, added.text
    proxy_page = chat(sim, session, key_headers(sim))
    assert proxy_page.status_code == 503
    assert proxy_page.headers["Content-Type"] == "text/html"
    assert proxy_page.text == "<html/>"

    deployments = [{"name": "only", "model": "gpt-4o-mini", "version": "2024-07-18"}]
    assert session.put(sim.url + "/_sim/deployments", json=deployments).status_code == 200
    assert [d.name for d in sim.deployments] == ["only"]
    assert session.put(sim.url + "/_sim/latency", json={"latency_s": 0.01}).status_code == 200
    assert sim.latency_s == 0.01

    recorded = session.get(sim.url + "/_sim/requests").json()
    assert [r["path"] for r in recorded] == [CHAT_PATH.format("gpt-4o")]
    assert session.delete(sim.url + "/_sim/requests").status_code == 200
    assert sim.requests() == []

    sim.reset()
    assert sim.latency_s == 0.0
    assert [d.name for d in sim.deployments][0] == "gpt-4o"


def test_managed_identity_credential(
    sim: Simulator, session: requests.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT", "IDENTITY_SERVER_THUMBPRINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IDENTITY_ENDPOINT", sim.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", sim.identity_header)
    from azure.identity import ManagedIdentityCredential

    credential = ManagedIdentityCredential()
    token = credential.get_token(COGNITIVE_SERVICES_AUDIENCE + "/.default")

    assert token.token.startswith("simtok-")
    assert sim.token_requests()[0].query["resource"] == COGNITIVE_SERVICES_AUDIENCE
    response = chat(sim, session, {"Authorization": f"Bearer {token.token}"})
    assert response.status_code == 200, response.text
