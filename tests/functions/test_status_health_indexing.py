"""`run_status`, `health`, and what the host indexes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import azure.functions as func
import pytest

import function_app
from local.azurite import connection_string
from local.host import indexed_functions
from tests.functions.helpers import assert_failed, assert_no_call_to_azure, invoke, status
from tests.helpers import ROOT


@pytest.mark.usefixtures("app_env")
def test_success_run_id_decodes_locally(sim):
    reply = status("gpt-4o#sync#Success")
    assert reply.status == 200
    assert reply.body == {
        "run_id": "gpt-4o#sync#Success",
        "status": "Success",
        "deployment": "gpt-4o",
        "mode": "sync",
    }
    assert_no_call_to_azure(sim)


@pytest.mark.usefixtures("app_env")
def test_failed_run_id_is_422_failed(sim):
    reply = status("gpt-4o-mini#sync#Failed")
    assert reply.status == 422
    assert reply.body["status"] == "Failed"
    assert reply.body["error"]["code"] == "RunFailed"
    assert reply.body["run_id"] == "gpt-4o-mini#sync#Failed"
    assert reply.body["deployment"] == "gpt-4o-mini"
    assert reply.body["mode"] == "sync"
    assert_no_call_to_azure(sim)


@pytest.mark.parametrize(
    "run_id", ["gpt-4o", "x#sync#Maybe", "../etc#sync#Success", "batch_", "batch_a/../b", "file-1"]
)
def test_other_run_ids_are_400_invalid_run_id(run_id):
    reply = status(run_id)
    assert reply.status == 400
    assert reply.body["error"]["code"] == "InvalidRunId"


@pytest.mark.usefixtures("app_env")  # the app pointed at the simulator: a call would show
@pytest.mark.parametrize("run_id", ["gpt-4o#sync#Success", "gpt-4o#sync#Failed"])
@pytest.mark.parametrize("deployment", ["", "a/b", "x" * 65, ".."])
def test_a_malformed_deployment_query_is_400_whatever_the_run_id(sim, run_id, deployment):
    # schemathesis found `?deployment=` ignored on a synchronous run id (answered 200): it is
    # validated like a route parameter for every run id, as for a batch's
    reply = status(run_id, params={"deployment": deployment})
    assert_failed(reply, 400, "InvalidDeploymentName", None)
    assert_no_call_to_azure(sim)


def test_status_needs_no_settings():
    assert status("gpt-4o#sync#Success").status == 200


def test_health_says_only_ok_or_not_configured_from_the_settings_alone(app_env, app_settings):
    assert invoke("health", "GET", "health").body == {"status": "ok"}
    app_settings.unset("STATUS_LINK_SECRET")
    assert invoke("health", "GET", "health").body == {"status": "not_configured"}
    app_settings.set("AOAI_MAX_ATTEMPTS", "many")
    assert invoke("health", "GET", "health").body == {"status": "not_configured"}


def test_the_anonymous_health_check_reads_no_storage_and_calls_no_azure(sim, app_env, app_settings):
    # storage that accepts connections and never answers: any read would reach it
    with socket.socket() as storage:
        storage.bind(("127.0.0.1", 0))
        storage.listen()
        storage.setblocking(False)
        app_settings.set("AzureWebJobsStorage", connection_string(storage.getsockname()[1]))
        reply = invoke("health", "GET", "health")
        with pytest.raises(BlockingIOError):  # no connection is waiting: none was made
            storage.accept()
    assert (reply.status, reply.body) == (200, {"status": "ok"})
    assert_no_call_to_azure(sim)


def test_health_details_without_settings_says_what_is_missing():
    reply = invoke("health_details", "GET", "health/details")
    assert reply.status == 200
    assert reply.body["status"] == "not_configured"
    assert reply.body["missing_settings"] == [
        "AZURE_OPENAI_ACCOUNT",
        "AzureWebJobsStorage",
        "AZURE_SUBSCRIPTION_ID",
        "AZURE_RESOURCE_GROUP",
        "STATUS_LINK_SECRET",
    ]


def test_health_details_with_invalid_settings_names_them(app_settings):
    app_settings.set("AOAI_MAX_ATTEMPTS", "many")
    reply = invoke("health_details", "GET", "health/details")
    assert reply.body["status"] == "not_configured"
    assert reply.body["problem"]["code"] == "NotConfigured"
    assert "AOAI_MAX_ATTEMPTS" in reply.body["problem"]["message"]


def test_health_reveals_no_secret(app_env, app_settings):
    app_settings.set("AZURE_OPENAI_AUTH", "api_key")
    app_settings.set("AZURE_OPENAI_API_KEY", "top-secret-key")
    reply = invoke("health_details", "GET", "health/details")
    assert reply.body["status"] == "ok"
    assert reply.body["account"] == "test-aoai"
    assert reply.body["auth"] == "api_key"
    text = str(reply.body)
    for secret in (
        "top-secret-key",
        "AccountKey",
        app_env["IDENTITY_HEADER"],
        app_env["STATUS_LINK_SECRET"],
    ):
        assert secret not in text


def test_the_host_indexes_the_expected_functions_routes_and_auth_levels():
    functions = {fn.get_function_name(): fn for fn in indexed_functions(function_app.app)}
    http = {
        name: (
            fn.get_trigger().route,
            [str(m.value) for m in fn.get_trigger().methods],
            fn.get_trigger().auth_level,
        )
        for name, fn in functions.items()
        if fn.is_http_function()
    }
    assert http == {
        "chat_run": ("chat/{deployment}", ["POST"], func.AuthLevel.FUNCTION),
        "embedding_run": ("embeddings/{deployment}", ["POST"], func.AuthLevel.FUNCTION),
        "batch_run": ("batches/{deployment}", ["POST"], func.AuthLevel.FUNCTION),
        "run_status": ("status/{run_id}", ["GET"], func.AuthLevel.ANONYMOUS),
        "discovery_run": ("discovery", ["POST"], func.AuthLevel.ADMIN),
        "jobs_list": ("jobs", ["GET"], func.AuthLevel.ADMIN),
        "health": ("health", ["GET"], func.AuthLevel.ANONYMOUS),
        "health_details": ("health/details", ["GET"], func.AuthLevel.FUNCTION),
        "openapi_document": ("openapi.json", ["GET"], func.AuthLevel.ANONYMOUS),
    }
    timer = json.loads(functions["discovery_sync"].get_function_json())["bindings"]
    assert timer == [
        {
            "type": "timerTrigger",
            "direction": "IN",
            "name": "timer",
            "schedule": "%DISCOVERY_SCHEDULE%",
            "useMonitor": True,
        }
    ]


def test_importing_function_app_with_no_settings_at_all_succeeds():
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "SYSTEMROOT"}}
    result = subprocess.run(
        [sys.executable, "-c", "import function_app; print(len(function_app.app.get_functions()))"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "10"


def test_a_bad_jobs_query_is_400_before_the_app_needs_any_setting():
    """No setting at all: the query is refused for what it is, not for what the app lacks."""
    reply = invoke("jobs_list", "GET", "jobs", params={"job_type": "bogus"})
    assert (reply.status, reply.body["error"]["code"]) == (400, "InvalidRequest")
    assert reply.body["error"]["details"] == [{"field": "job_type", "problem": "unknown job type"}]
