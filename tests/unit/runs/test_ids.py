"""The run-id codec and the status links (statusQueryUrl)."""

import pytest

from shared import errors
from shared.runs.ids import BatchRun, SyncRun, parse_run_id, status_query_url
from shared.web import RequestOrigin


def test_status_query_url_carries_key_and_deployment_encoded():
    caller = RequestOrigin("https://app.azurewebsites.net", "a+b/c==")
    assert status_query_url(caller, "batch_1", "gpt-4o", None) == (
        "https://app.azurewebsites.net/api/status/batch_1?deployment=gpt-4o&code=a%2Bb%2Fc%3D%3D"
    )
    assert status_query_url(RequestOrigin("http://h:1"), "batch_1", None, None) == (
        "http://h:1/api/status/batch_1"
    )


def test_public_base_url_replaces_the_origin():
    caller = RequestOrigin("http://internal:80", "k")
    assert status_query_url(caller, "batch_1", None, "https://api.example.com/aoai/") == (
        "https://api.example.com/aoai/api/status/batch_1?code=k"
    )


def test_behind_a_gateway_a_header_key_is_not_copied_into_the_url():
    # API Management typically adds the backend's function key as a header: it must not go
    # back to the gateway's clients.
    injected = RequestOrigin("http://internal:80", "backend-key", key_in_header=True)
    assert status_query_url(injected, "batch_1", "d", "https://api.example.com") == (
        "https://api.example.com/api/status/batch_1?deployment=d"
    )
    assert status_query_url(injected, "batch_1", "d", None) == (
        "http://internal:80/api/status/batch_1?deployment=d&code=backend-key"
    )


@pytest.mark.parametrize(
    ("run_id", "deployment", "outcome"),
    [("gpt-4o#sync#Success", "gpt-4o", "Success"), ("a.b_c-d#sync#Failed", "a.b_c-d", "Failed")],
)
def test_sync_run_ids_decode(run_id, deployment, outcome):
    run = parse_run_id(run_id)
    assert isinstance(run, SyncRun)
    assert (run.deployment, run.outcome, run.run_id) == (deployment, outcome, run_id)


@pytest.mark.parametrize(
    "run_id", ["batch_6caaf24d-54a5-46be-b1b7-518884fcbdde", "batch_abc", "batch_A_1-2"]
)
def test_batch_ids_are_batch_runs(run_id):
    assert parse_run_id(run_id) == BatchRun(run_id)


@pytest.mark.parametrize(
    "run_id",
    [
        "",
        "gpt-4o",
        "gpt-4o#sync#Running",
        "gpt-4o#sync#success",
        "../x#sync#Success",
        "#sync#Success",
        "x" * 65 + "#sync#Success",
        "gpt-4o#async#Success",
        "gpt-4o#sync#Success#",
        "..#sync#Success",
        ".#sync#Failed",
        "batch_",
        "batch_../x",
        "batch_a/b",
        "batch_a b",
        "batch_" + "a" * 129,
        "Batch_abc",
        "batch_abc\n",
    ],
)
def test_other_run_ids_are_invalid(run_id):
    with pytest.raises(errors.InvalidRunId):
        parse_run_id(run_id)
