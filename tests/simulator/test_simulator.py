"""Smoke tests of the Azure OpenAI / managed-identity simulator over real sockets."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from azure.identity import ManagedIdentityCredential

import local.simulator.state as simulator_state
from local.simulator import COGNITIVE_SERVICES_AUDIENCE, Deployment, Fault, Simulator, cli
from tests.simulator.conftest import fetch_token

ARM_AUDIENCE = "https://management.azure.com"
ARM_API_VERSION = "2023-05-01"
ALLOWED_AUDIENCES = (
    "'https://management.core.windows.net/','https://management.core.windows.net',"
    "'https://management.azure.com/','https://management.azure.com'"
)

EMBEDDING_CAPABILITIES = {"embeddings": "true", "embeddingsMaxInputs": "2048"}

API_VERSION = "2024-10-21"
CHAT_PATH = "/openai/deployments/{}/chat/completions"
EMBEDDINGS_PATH = "/openai/deployments/{}/embeddings"
MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Say hello to the simulator please"},
]


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


@pytest.mark.parametrize(
    ("last_user_message", "counted"),
    [
        ("Hello", "1 word"),
        ("Hello there", "2 words"),
        ("", "0 words"),
        ("one two three", "3 words"),
    ],
)
def test_the_reply_counts_the_last_user_messages_words(
    sim: Simulator, session: requests.Session, last_user_message: str, counted: str
) -> None:
    messages = [
        {"role": "user", "content": "earlier words"},
        {"role": "assistant", "content": "ok"},
    ]
    messages.append({"role": "user", "content": last_user_message})
    response = session.post(
        sim.url + CHAT_PATH.format("gpt-4o"),
        params={"api-version": API_VERSION},
        headers=key_headers(sim),
        json={"messages": messages},
        timeout=5,
    )
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == (
        f"Simulated reply from gpt-4o: the last user message had {counted}."
    )


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
    # Each answer is held back by the latency; a server that handled one request at a time
    # would answer the first before reading the second, so all of them arriving while every
    # one is still pending shows they were served at once.
    clients = 16
    start = threading.Barrier(clients, timeout=10)
    with Simulator([Deployment("chat", "gpt-4o")], latency_s=1.0) as sim:

        def call() -> int:
            start.wait()
            return chat(sim, session, key_headers(sim), "chat").status_code

        with ThreadPoolExecutor(max_workers=clients) as pool:
            calls = [pool.submit(call) for _ in range(clients)]
            while len(recorded := sim.requests()) < clients:
                assert not any(c.done() for c in calls), "a request ended before all arrived"
                assert all(r.response_status is None for r in recorded), "answered too soon"
                time.sleep(0.005)
            assert all(r.response_status is None for r in recorded), "answered too soon"
            statuses = [c.result() for c in calls]
        assert statuses == [200] * clients
        assert [r.response_status for r in sim.requests()] == [200] * clients

        # Many more requests than connections in the client's pool, all answered.
        sim.clear()
        sim.latency_s = 0.05
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


def test_request_logs_keep_the_latest_requests(
    session: requests.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert simulator_state.REQUEST_LOG_MAX == 10_000
    monkeypatch.setattr(simulator_state, "REQUEST_LOG_MAX", 3)
    with Simulator() as small:
        arm_token = fetch_token(small, session, ARM_AUDIENCE)
        for index in range(5):
            chat(small, session, key_headers(small), max_tokens=index + 1)
            fetch_token(small, session, f"https://resource-{index}")
            correlation = {"x-ms-correlation-request-id": f"call-{index}"}
            list_page(session, small.arm_deployments_url, arm_token, headers=correlation)

        assert [r.json()["max_tokens"] for r in small.requests()] == [3, 4, 5]
        assert [r.query["resource"] for r in small.token_requests()] == [
            f"https://resource-{index}" for index in (2, 3, 4)
        ]
        arm_calls = [r.headers["x-ms-correlation-request-id"] for r in small.arm_requests()]
        assert arm_calls == ["call-2", "call-3", "call-4"]
        small.clear()
        assert small.requests() == small.token_requests() == small.arm_requests() == []


def test_constructor_checks_latency_like_the_setter() -> None:
    with pytest.raises(TypeError, match="latency_s must be int or float, got str"):
        Simulator(latency_s="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="latency_s must be >= 0"):
        Simulator(latency_s=-1)
    latency = Simulator(latency_s=1).latency_s
    assert latency == 1.0 and isinstance(latency, float)


def test_cli_defaults_are_the_constructors() -> None:
    args = cli.parse_args([])
    default = Simulator()
    assert (args.host, args.api_key, args.identity_header, args.latency_s) == (
        default.host,
        default.api_key,
        default.identity_header,
        default.latency_s,
    )
    assert (args.arm_page_size, args.batch_step_s, args.response_step_s) == (
        default.arm_page_size,
        default.batch_step_s,
        default.response_step_s,
    )
    assert cli.parse_args(["--response-step-s", "0.5"]).response_step_s == 0.5
    assert [d.name for d in cli.SERVED_DEPLOYMENTS] == [
        "gpt-4o",
        "gpt-4o-mini",
        "text-embedding-3-small",
        "gpt-5-mini",
        "gpt-5-codex",
    ]


def managed_identity(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> ManagedIdentityCredential:
    """The real azure-identity credential, pointed at the simulator's token endpoint (the
    environment is read when the credential is built)."""
    for name in ("MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT", "IDENTITY_SERVER_THUMBPRINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IDENTITY_ENDPOINT", sim.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", sim.identity_header)
    return ManagedIdentityCredential()


def test_managed_identity_credential(
    sim: Simulator, session: requests.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    credential = managed_identity(sim, monkeypatch)
    token = credential.get_token(COGNITIVE_SERVICES_AUDIENCE + "/.default")

    assert token.token.startswith("simtok-")
    assert sim.token_requests()[0].query["resource"] == COGNITIVE_SERVICES_AUDIENCE
    response = chat(sim, session, {"Authorization": f"Bearer {token.token}"})
    assert response.status_code == 200, response.text


# -- Azure Resource Manager ------------------------------------------------------------


def list_page(
    session: requests.Session,
    url: str,
    token: str | None,
    *,
    api_version: str | None = ARM_API_VERSION,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    """One ARM GET; `url` is used as given when `api_version` is None (a nextLink)."""
    sent = {"Authorization": f"Bearer {token}"} if token is not None else {}
    params = {"api-version": api_version} if api_version is not None else None
    return session.get(url, params=params, headers={**sent, **(headers or {})}, timeout=5)


def assert_arm_headers(response: requests.Response) -> None:
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["x-ms-ratelimit-remaining-subscription-reads"] == "249"
    for name in ("x-ms-request-id", "x-ms-correlation-request-id"):
        assert re.fullmatch(r"[0-9a-f-]{36}", response.headers[name]), name
    assert "apim-request-id" not in response.headers


def arm_error(response: requests.Response, status: int) -> tuple[str, str]:
    assert response.status_code == status, response.text
    assert_arm_headers(response)
    error = response.json()["error"]
    return error["code"], error["message"]


def test_arm_listing_follows_next_link_with_managed_identity(
    sim: Simulator, session: requests.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = managed_identity(sim, monkeypatch).get_token(ARM_AUDIENCE + "/.default").token
    assert sim.issued_tokens()[token] == ARM_AUDIENCE
    sim.arm_page_size = 1

    pages: list[dict[str, Any]] = []
    response = list_page(session, sim.arm_deployments_url, token)
    while True:
        assert response.status_code == 200, response.text
        assert_arm_headers(response)
        pages.append(response.json())
        next_link = pages[-1].get("nextLink")
        if next_link is None:
            break
        assert next_link.startswith(
            f"{sim.arm_deployments_url}?api-version={ARM_API_VERSION}&$skipToken="
        )
        response = list_page(session, next_link, token, api_version=None)

    assert len(pages) == 3
    assert [len(page["value"]) for page in pages] == [1, 1, 1]
    names = [page["value"][0]["name"] for page in pages]
    assert names == ["gpt-4o", "gpt-4o-mini", "text-embedding-3-small"]
    assert "nextLink" not in pages[-1]
    first, embedding = pages[0]["value"][0], pages[2]["value"][0]
    assert re.fullmatch(r'"[0-9a-f]+"', first.pop("etag"))
    assert first == {
        "id": (
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-local"
            "/providers/Microsoft.CognitiveServices/accounts/local-aoai/deployments/gpt-4o"
        ),
        "name": "gpt-4o",
        "type": "Microsoft.CognitiveServices/accounts/deployments",
        "sku": {"name": "GlobalStandard", "capacity": 50},
        "systemData": {"createdAt": "2025-01-10T10:00:00Z", "createdByType": "User"},
        "properties": {
            "model": {"format": "OpenAI", "name": "gpt-4o", "version": "2024-08-06"},
            "versionUpgradeOption": "OnceNewDefaultVersionAvailable",
            "capabilities": {
                "chatCompletion": "true",
                "responses": "true",
                "assistants": "true",
                "maxContextToken": "128000",
                "maxOutputToken": "16384",
            },
            "raiPolicyName": "Microsoft.DefaultV2",
            "provisioningState": "Succeeded",
        },
    }
    assert embedding["properties"]["capabilities"] == EMBEDDING_CAPABILITIES
    assert embedding["sku"] == {"name": "Standard", "capacity": 120}

    assert len(sim.arm_requests()) == 3
    assert [r.response_status for r in sim.arm_requests()] == [200, 200, 200]
    assert sim.requests() == []  # ARM is recorded apart from the data plane
    assert sim.token_requests()[0].query["resource"] == ARM_AUDIENCE


def test_arm_auth_errors(sim: Simulator, session: requests.Session) -> None:
    url = sim.arm_deployments_url

    only_key = list_page(session, url, None, headers={"api-key": sim.api_key})
    assert arm_error(only_key, 401) == (
        "AuthenticationFailed",
        "Authentication failed. The 'Authorization' header is missing.",
    )
    invalid_format = "Authentication failed. The 'Authorization' header is provided in an "
    invalid_format += "invalid format."
    for header in ("Basic dXNlcjpwYXNz", "Bearer", "Bearer two parts"):
        malformed = list_page(session, url, None, headers={"Authorization": header})
        assert arm_error(malformed, 401) == ("AuthenticationFailedInvalidHeader", invalid_format)

    unknown = list_page(session, url, "simtok-never-issued")
    assert arm_error(unknown, 401) == ("InvalidAuthenticationToken", "The access token is invalid.")

    sim.token_lifetime_s = 0  # issued already expired
    expired = list_page(session, url, fetch_token(sim, session, ARM_AUDIENCE))
    assert arm_error(expired, 401)[0] == "InvalidAuthenticationToken"
    sim.token_lifetime_s = 3600

    data_plane_token = fetch_token(sim, session)
    wrong_audience = list_page(session, url, data_plane_token)
    assert arm_error(wrong_audience, 401) == (
        "InvalidAuthenticationTokenAudience",
        "The access token has been obtained for wrong audience or resource "
        f"'{COGNITIVE_SERVICES_AUDIENCE}'. It should exactly match with one of the allowed "
        f"audiences {ALLOWED_AUDIENCES}.",
    )
    assert chat(sim, session, {"Authorization": f"Bearer {data_plane_token}"}).status_code == 200

    for audience in ("https://management.azure.com/", "https://management.core.windows.net/"):
        ok = list_page(session, url, fetch_token(sim, session, audience))
        assert ok.status_code == 200, ok.text
        assert_arm_headers(ok)
    # An ARM token is no good on the data plane either.
    arm_token = fetch_token(sim, session, ARM_AUDIENCE)
    assert chat(sim, session, {"Authorization": f"Bearer {arm_token}"}).status_code == 401

    assert len(sim.arm_requests()) == 9
    assert len(sim.requests()) == 2


def test_arm_not_found_api_version_and_skip_token(
    sim: Simulator, session: requests.Session
) -> None:
    token = fetch_token(sim, session, ARM_AUDIENCE)
    sub, rg, account = sim.subscription_id, sim.resource_group, sim.account

    def path(sub: str, rg: str, account: str) -> str:
        return (
            f"{sim.url}/subscriptions/{sub}/resourceGroups/{rg}/providers/"
            f"Microsoft.CognitiveServices/accounts/{account}/deployments"
        )

    wrong_sub = list_page(session, path("11111111-1111-1111-1111-111111111111", rg, account), token)
    assert arm_error(wrong_sub, 404) == (
        "SubscriptionNotFound",
        "The subscription '11111111-1111-1111-1111-111111111111' could not be found.",
    )
    wrong_rg = list_page(session, path(sub, "rg-other", account), token)
    assert arm_error(wrong_rg, 404) == (
        "ResourceGroupNotFound",
        "Resource group 'rg-other' could not be found.",
    )
    wrong_account = list_page(session, path(sub, rg, "other-aoai"), token)
    assert arm_error(wrong_account, 404) == (
        "ResourceNotFound",
        "The Resource 'Microsoft.CognitiveServices/accounts/other-aoai' under resource group "
        "'rg-local' was not found. For more details please go to "
        "https://aka.ms/ARMResourceNotFoundFix",
    )

    # ARM is case-insensitive, in the path's keywords and in the names alike.
    shouted = (
        f"{sim.url}/SUBSCRIPTIONS/{sub.upper()}/resourcegroups/{rg.upper()}/Providers/"
        f"microsoft.cognitiveservices/ACCOUNTS/{account.upper()}/Deployments"
    )
    listed = list_page(session, shouted, token, api_version="2024-10-01")  # any version goes
    assert listed.status_code == 200, listed.text
    assert [d["name"] for d in listed.json()["value"]] == [d.name for d in sim.deployments]
    assert "nextLink" not in listed.json()

    no_version = list_page(session, sim.arm_deployments_url, token, api_version=None)
    assert arm_error(no_version, 400) == (
        "MissingApiVersionParameter",
        "The api-version query parameter (?api-version=) is required for all requests.",
    )
    for bad in ("not-base64!", "", "b2Zmc2V0OjE"):  # the last is base64 of "offset:1"
        bad_skip = session.get(
            sim.arm_deployments_url,
            params={"api-version": ARM_API_VERSION, "$skipToken": bad},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert arm_error(bad_skip, 400)[0] == "InvalidSkipToken"

    # Any other ARM path is not found (and still answered with ARM headers).
    other = list_page(session, f"{sim.url}/subscriptions/{sub}/resourceGroups", token)
    assert other.status_code == 404
    assert_arm_headers(other)


def test_arm_listing_variants_set_over_control_api(
    sim: Simulator, session: requests.Session
) -> None:
    deployments = [
        {"name": "legacy", "model": "gpt-35-turbo", "version": "0613", "capacity": 120}
        | {"legacy_scale_settings": True},
        {"name": "no-version", "model": "gpt-4o", "omit_version": True},
        {"name": "no-model", "model": "", "provisioning_state": "Creating"},
        {"name": "ada", "model": "text-embedding-ada-002", "version": "2", "sku_name": "Standard"},
    ]
    put = session.put(sim.url + "/_sim/deployments", json=deployments)
    assert put.status_code == 200, put.text
    assert put.json()[0]["legacy_scale_settings"] is True
    assert session.put(
        sim.url + "/_sim/deployments", json=[{"name": "x", "model": "y", "omit_version": "yes"}]
    ).json()["error"]["message"] == ("omit_version must be bool, got str")

    token = fetch_token(sim, session, ARM_AUDIENCE)
    response = list_page(session, sim.arm_deployments_url, token)
    assert response.status_code == 200, response.text
    legacy, no_version, no_model, ada = response.json()["value"]

    assert "sku" not in legacy
    assert legacy["properties"]["scaleSettings"] == {"scaleType": "Manual", "capacity": 120}
    assert legacy["properties"]["model"] == {
        "format": "OpenAI",
        "name": "gpt-35-turbo",
        "version": "0613",
    }
    assert "scaleSettings" not in no_version["properties"]
    assert no_version["properties"]["model"] == {"format": "OpenAI", "name": "gpt-4o"}
    assert no_model["properties"]["model"] == {"format": "OpenAI", "version": "1"}
    assert no_model["properties"]["provisioningState"] == "Creating"
    assert ada["properties"]["capabilities"] == EMBEDDING_CAPABILITIES
    assert ada["id"].endswith("/accounts/local-aoai/deployments/ada")
    assert len({d["etag"] for d in (legacy, no_version, no_model, ada)}) == 4

    # Defaults keep the data plane as it was; a model-less deployment still chats.
    assert chat(sim, session, key_headers(sim), deployment="no-model").status_code == 200
    assert Deployment("d", "gpt-4o") == Deployment(
        "d", "gpt-4o", legacy_scale_settings=False, omit_version=False
    )
    with pytest.raises(ValueError, match="name must not be empty"):
        Deployment("", "gpt-4o")


def test_arm_fault_with_skip_fails_only_page_two(sim: Simulator, session: requests.Session) -> None:
    sim.arm_page_size = 1
    token = fetch_token(sim, session, ARM_AUDIENCE)
    sim.add_fault(Fault(status=500))  # path-less: data plane only, never ARM
    sim.add_fault(
        Fault(method="GET", path="/deployments$", skip=1, status=503, headers={"Retry-After": "1"})
    )

    first = list_page(session, sim.arm_deployments_url, token)
    assert first.status_code == 200, first.text
    next_link = first.json()["nextLink"]

    failed = list_page(session, next_link, token, api_version=None)
    assert arm_error(failed, 503) == ("503", "Simulated failure")
    assert failed.headers["Retry-After"] == "1"

    second = list_page(session, next_link, token, api_version=None)
    assert second.status_code == 200, second.text
    assert second.json()["value"][0]["name"] == "gpt-4o-mini"
    third = list_page(session, second.json()["nextLink"], token, api_version=None)
    assert [d["name"] for d in third.json()["value"]] == ["text-embedding-3-small"]

    assert [r.response_status for r in sim.arm_requests()] == [200, 503, 200, 200]
    assert [f.status for f in sim.faults()] == [500]  # the 503 fault was used up

    with pytest.raises(ValueError, match="skip must be >= 0"):
        Fault(skip=-1)
    posted = session.post(sim.url + "/_sim/faults", json={"path": "deployments$", "skip": 2})
    assert posted.status_code == 201, posted.text
    assert posted.json()["skip"] == 2


def test_arm_control_api_and_reset(sim: Simulator, session: requests.Session) -> None:
    token = fetch_token(sim, session, ARM_AUDIENCE)
    assert list_page(session, sim.arm_deployments_url, token).status_code == 200

    recorded = session.get(sim.url + "/_sim/arm-requests").json()
    assert [r["path"] for r in recorded] == [sim.arm_deployments_url.removeprefix(sim.url)]
    assert recorded[0]["query"] == {"api-version": ARM_API_VERSION}
    assert recorded[0]["response_status"] == 200
    assert session.get(sim.url + "/_sim/requests").json() == []
    assert session.delete(sim.url + "/_sim/requests").status_code == 200
    assert sim.arm_requests() == []

    sim.arm_page_size, sim.account = 2, "renamed"
    assert sim.arm_deployments_url.endswith("/accounts/renamed/deployments")
    with pytest.raises(ValueError):
        sim.arm_page_size = 0
    for name in ("account", "resource_group", "subscription_id"):
        for bad in ("", "a/b"):  # checked when set, not only when the simulator is built
            with pytest.raises(ValueError, match=f"{name} must be a non-empty path segment"):
                setattr(sim, name, bad)
    sim.reset()
    assert (sim.arm_page_size, sim.account) == (50, "local-aoai")

    with Simulator(
        subscription_id="sub-1", resource_group="rg-1", account="acct-1", arm_page_size=2
    ) as custom:
        custom_token = fetch_token(custom, session, ARM_AUDIENCE)
        page = list_page(session, custom.arm_deployments_url, custom_token).json()
        assert len(page["value"]) == 2 and "nextLink" in page
        assert page["value"][0]["id"].startswith(
            "/subscriptions/sub-1/resourceGroups/rg-1/providers/"
            "Microsoft.CognitiveServices/accounts/acct-1/deployments/"
        )
        custom.arm_page_size = 7
        custom.reset()
        assert custom.arm_page_size == 2
