"""Discovery end to end: the simulator's ARM listing (real azure-identity ARM token) into the
registry in Azurite, through `discovery_run`, `discovery_sync`, `jobs_list` and `health_details`."""

from __future__ import annotations

import dataclasses
import json
import logging
from unittest.mock import MagicMock

import pytest

import function_app
from local.invocation import invocation_context
from local.simulator import DEFAULT_DEPLOYMENTS, Deployment, Fault
from tests.functions.helpers import invoke
from tests.helpers import ACCOUNT, RESOURCE_GROUP, SUBSCRIPTION, entities, seed_definition

pytestmark = pytest.mark.usefixtures("app_env")

LIST_PATH = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/providers/"
    f"Microsoft.CognitiveServices/accounts/{ACCOUNT}/deployments"
)
ALL_IDS = [
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4o-mini::batch",
    "gpt-4o::batch",
    "text-embedding-3-small",
]


def discover():
    return invoke("discovery_run", "POST", "discovery")


def table_state(table):
    """Every registry entity of the account with its ETag (equal ETags: not one write)."""
    return {
        external_id: (e.metadata["etag"], dict(e)) for external_id, e in entities(table).items()
    }


def test_first_sync_pages_through_arm_and_writes_the_schema(sim, registry_table):
    sim.arm_page_size = 1
    reply = discover()

    assert reply.status == 200, reply.body
    calls = sim.arm_requests()
    assert len(calls) == 3
    assert calls[0].raw_path == LIST_PATH
    assert calls[0].query == {"api-version": "2023-05-01"}
    assert [c.path for c in calls] == [LIST_PATH] * 3
    assert all("$skipToken" in c.query for c in calls[1:])
    tokens = {c.headers["authorization"].removeprefix("Bearer ") for c in calls}
    assert len(tokens) == 1
    assert sim.issued_tokens()[tokens.pop()] == sim.url  # ARM audience = the ARM endpoint

    body = reply.body
    assert body["status"] == "Success" and body["trigger"] == "http"
    assert body["deployments"] == 3
    assert body["definitions"] == {
        "Azure OpenAI Chat Completion": 2,
        "Azure OpenAI Embedding": 1,
        "Azure OpenAI Batch Job": 2,
    }
    assert (body["created"], body["updated"], body["unchanged"], body["retired"]) == (5, 0, 0, 0)

    state = table_state(registry_table)
    assert sorted(state) == ALL_IDS
    chat = state["gpt-4o"][1]
    assert chat["JobType"] == "Azure OpenAI Chat Completion"
    assert chat["Platform"] == "Azure OpenAI"
    assert chat["DeploymentName"] == "gpt-4o"
    assert (chat["ModelName"], chat["ModelVersion"], chat["ModelFormat"]) == (
        "gpt-4o",
        "2024-08-06",
        "OpenAI",
    )
    assert (chat["SkuName"], chat["SkuCapacity"]) == ("GlobalStandard", 50)
    assert chat["ProvisioningState"] == "Succeeded"
    assert chat["MonitorUrl"].endswith(f"/accounts/{ACCOUNT}/overview")
    assert json.loads(chat["Attributes"]) == {"Deployment Name": "gpt-4o"}
    assert [p["name"] for p in json.loads(chat["Parameters"])][:2] == [
        "system_prompt",
        "user_prompt",
    ]
    assert chat["Retired"] is False
    assert chat["FirstSeenAt"] == chat["LastSeenAt"]
    assert state["gpt-4o::batch"][1]["JobType"] == "Azure OpenAI Batch Job"
    assert state["gpt-4o::batch"][1]["DeploymentName"] == "gpt-4o"
    assert state["text-embedding-3-small"][1]["JobType"] == "Azure OpenAI Embedding"


def test_unchanged_resync_writes_nothing_and_admin_attributes_survive(registry_table):
    assert discover().status == 200
    entity = registry_table.get_entity(ACCOUNT, "gpt-4o")
    attributes = {
        "Deployment Name": "gpt-4o-prod",
        "OpenAI System Prompt": "Be brief.",
        "OpenAI Max Tokens": "256",
    }
    entity["Attributes"] = json.dumps(attributes)
    registry_table.update_entity(entity)
    before = table_state(registry_table)

    for _ in range(3):
        reply = discover()
        assert reply.status == 200
        assert (reply.body["created"], reply.body["updated"], reply.body["unchanged"]) == (0, 0, 5)

    after = table_state(registry_table)
    assert after == before  # same ETags: not one entity write
    assert json.loads(after["gpt-4o"][1]["Attributes"]) == attributes


def test_changed_model_version_updates_only_that_definition(sim, registry_table):
    discover()
    entity = registry_table.get_entity(ACCOUNT, "gpt-4o")
    entity["Attributes"] = json.dumps({"OpenAI Temperature": "0.1"})
    registry_table.update_entity(entity)
    before = table_state(registry_table)
    sim.set_deployments(
        [
            dataclasses.replace(d, version="2024-11-20") if d.name == "gpt-4o" else d
            for d in DEFAULT_DEPLOYMENTS
        ]
    )

    reply = discover()

    assert (reply.body["updated"], reply.body["unchanged"]) == (2, 3)
    after = table_state(registry_table)
    changed = {k for k in after if after[k][0] != before[k][0]}
    assert changed == {"gpt-4o", "gpt-4o::batch"}
    assert after["gpt-4o"][1]["ModelVersion"] == "2024-11-20"
    assert json.loads(after["gpt-4o"][1]["Attributes"]) == {"OpenAI Temperature": "0.1"}
    assert after["gpt-4o"][1]["FirstSeenAt"] == before["gpt-4o"][1]["FirstSeenAt"]


def test_vanished_deployment_is_retired_and_unretired_when_it_returns(sim, registry_table):
    discover()
    sim.set_deployments([d for d in DEFAULT_DEPLOYMENTS if d.name != "gpt-4o-mini"])

    reply = discover()

    assert reply.body["retired"] == 2
    state = table_state(registry_table)
    for external_id in ("gpt-4o-mini", "gpt-4o-mini::batch"):
        assert state[external_id][1]["Retired"] is True
        assert state[external_id][1]["RetiredAt"] is not None
    assert state["gpt-4o"][1]["Retired"] is False
    listed = invoke("jobs_list", "GET", "jobs")
    assert [j["external_id"] for j in listed.body["jobs"]] == [
        "gpt-4o",
        "gpt-4o::batch",
        "text-embedding-3-small",
    ]
    with_retired = invoke("jobs_list", "GET", "jobs", params={"include_retired": "true"})
    assert with_retired.body["count"] == 5

    sim.set_deployments(DEFAULT_DEPLOYMENTS)
    back = discover()
    assert back.body["unretired"] == 2
    state = table_state(registry_table)
    assert state["gpt-4o-mini"][1]["Retired"] is False
    assert "RetiredAt" not in state["gpt-4o-mini"][1]


def test_hand_made_definitions_without_a_deployment_are_never_retired(registry_table):
    seed_definition(registry_table, "prod-chat", Attributes={"Deployment Name": "gpt-4o"})
    discover()
    assert registry_table.get_entity(ACCOUNT, "prod-chat").get("Retired") is None


AUTH_ERROR = {
    "error": {"code": "AuthorizationFailed", "message": "The client does not have authorization"}
}


@pytest.mark.parametrize(
    ("fault", "code", "upstream_code", "hint"),
    [
        (
            Fault(
                path="deployments",
                status=401,
                times=None,
                body={
                    "error": {
                        "code": "InvalidAuthenticationTokenAudience",
                        "message": "wrong audience",
                    }
                },
            ),
            "UpstreamAuthFailed",
            "InvalidAuthenticationTokenAudience",
            "AZURE_RESOURCE_MANAGER_ENDPOINT",
        ),
        (
            Fault(path="deployments", status=403, times=None, body=AUTH_ERROR),
            "UpstreamAuthFailed",
            "AuthorizationFailed",
            "Reader",
        ),
        (
            Fault(
                path="deployments",
                status=404,
                times=None,
                body={
                    "error": {
                        "code": "ResourceGroupNotFound",
                        "message": "Resource group 'x' could not be found.",
                    }
                },
            ),
            "UpstreamNotFound",
            "ResourceGroupNotFound",
            "AZURE_RESOURCE_GROUP",
        ),
        (
            Fault(path="deployments", status=500, times=None, headers={"retry-after-ms": "1"}),
            "UpstreamUnavailable",
            "500",
            None,
        ),
        (
            Fault(
                path="deployments",
                status=200,
                times=None,
                body="<html>proxy</html>",
                content_type="text/html",
            ),
            "UpstreamBadResponse",
            None,
            None,
        ),
        (
            Fault(path="deployments", status=200, times=None, body={"values": []}),
            "UpstreamBadResponse",
            None,
            None,
        ),
        # page 2 of 3 fails: a partial listing changes nothing
        (
            Fault(
                path="deployments", skip=1, status=500, times=None, headers={"retry-after-ms": "1"}
            ),
            "UpstreamUnavailable",
            "500",
            None,
        ),
    ],
)
def test_a_failed_or_partial_listing_changes_nothing(
    sim, registry_table, fault, code, upstream_code, hint
):
    sim.arm_page_size = 1
    discover()
    # three pages that would retire 5 definitions and create 6
    sim.set_deployments([Deployment(name, "gpt-4o") for name in ("one", "two", "three")])
    before = table_state(registry_table)
    sim.add_fault(fault)

    reply = discover()

    assert reply.status == 502
    assert reply.body["status"] == "Failed"
    error = reply.body["error"]
    assert (error["code"], error.get("upstream_code")) == (code, upstream_code), error
    if hint:
        assert hint in error["hint"]
    else:
        assert "hint" not in error
    assert table_state(registry_table) == before
    stored = invoke("health_details", "GET", "health/details").body["last_discovery"]
    assert stored["status"] == "Failed"
    # the stored outcome keeps the codes, the hint and Azure's ids, never Azure's message text
    assert stored["error"] == {k: v for k, v in error.items() if k != "message"}
    assert "message" in error


def test_api_key_mode_makes_no_arm_call_and_says_why(sim, app_settings, registry_table):
    app_settings.set("AZURE_OPENAI_AUTH", "api_key")
    app_settings.set("AZURE_OPENAI_API_KEY", "sim-api-key")
    reply = discover()
    assert reply.status == 200
    assert reply.body["deployments"] == 0
    (warning,) = reply.body["warnings"]
    assert "API-key auth cannot be used for discovery" in warning
    assert "control-plane" in warning and "AAD" in warning
    assert sim.arm_requests() == [] and sim.token_requests() == []
    assert table_state(registry_table) == {}


def test_timer_and_http_trigger_do_the_same_work(registry_table, caplog):
    timer_function = function_app.discovery_sync.build().get_user_function()
    caplog.set_level(logging.WARNING)
    timer_function(MagicMock(past_due=True), invocation_context("discovery_sync"))
    assert "past due" in caplog.text
    by_timer = {k: v[1] for k, v in table_state(registry_table).items()}
    health = invoke("health_details", "GET", "health/details").body["last_discovery"]
    assert health["trigger"] == "timer" and health["created"] == 5

    by_http = discover()
    assert (by_http.body["created"], by_http.body["unchanged"]) == (0, 5)
    assert {k: v[1] for k, v in table_state(registry_table).items()} == by_timer
    health = invoke("health_details", "GET", "health/details").body["last_discovery"]
    assert health["trigger"] == "http" and health["unchanged"] == 5
    assert health == by_http.body


def test_jobs_list_filters_by_job_type_and_rejects_bad_queries(registry_table):
    discover()
    embeddings = invoke("jobs_list", "GET", "jobs", params={"job_type": "Azure OpenAI Embedding"})
    assert embeddings.status == 200
    assert [j["external_id"] for j in embeddings.body["jobs"]] == ["text-embedding-3-small"]
    job = embeddings.body["jobs"][0]
    assert job["attributes"] == {"Deployment Name": "text-embedding-3-small"}
    assert job["parameters"][0]["name"] == "input"
    for params, fields in (
        ({"job_type": "Chat"}, ["job_type"]),
        ({"include_retired": "yes"}, ["include_retired"]),
        # schemathesis found a blank value listed as `false`: only `true` or `false` are
        # (the contract's values exactly, as the OpenAPI document's enum says)
        ({"include_retired": ""}, ["include_retired"]),
        ({"include_retired": "TRUE"}, ["include_retired"]),
        ({"job_type": "Chat", "include_retired": "yes"}, ["job_type", "include_retired"]),
    ):
        bad = invoke("jobs_list", "GET", "jobs", params=params)
        assert bad.status == 400 and bad.body["error"]["code"] == "InvalidRequest"
        assert [d["field"] for d in bad.body["error"]["details"]] == fields


def test_missing_subscription_fails_with_not_configured(sim, app_settings, registry_table):
    app_settings.unset("AZURE_SUBSCRIPTION_ID")
    reply = discover()
    assert reply.status == 500
    assert reply.body["error"]["code"] == "NotConfigured"
    assert "AZURE_SUBSCRIPTION_ID" in reply.body["error"]["message"]
    assert sim.arm_requests() == []
