"""The run-id codec."""

import pytest

from shared import errors
from shared.runs.ids import BatchRun, SyncRun, parse_run_id


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
