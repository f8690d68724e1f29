"""The answer models are the contract: every error body the app can send is an `ErrorAnswer`, and
keys exist only in the states the contract gives them."""

from __future__ import annotations

import json

import pytest

from shared import errors
from shared.models.answers import BatchAnswer, ErrorAnswer, SyncStatusAnswer
from shared.web import error_body, error_response


def _leaves(cls: type[errors.AppError]) -> list[type[errors.AppError]]:
    """The error classes the app raises: every class of the tree with no subclass."""
    subclasses = cls.__subclasses__()
    return [leaf for sub in subclasses for leaf in _leaves(sub)] if subclasses else [cls]


ERROR_CLASSES = _leaves(errors.AppError)


def _raise(cls: type[errors.AppError]) -> errors.AppError:
    if issubclass(cls, errors.BatchEnded):
        return cls("ended", [{"code": "x", "message": "y"}])
    if issubclass(cls, errors.ResponseEnded):
        return cls("ended", {"code": "server_error", "message": "boom"})
    if cls is errors.JobNotRegistered:
        return cls("not registered", hint="run discovery")
    if issubclass(cls, errors.UpstreamError):
        return cls("azure said no", upstream_status=400, request_id="req-1", upstream_code="e")
    return cls("bad", details=[{"field": "f", "problem": "p"}])


def test_every_error_class_is_in_the_status_table():
    # an error class added to the tree without a status would answer 500 whatever it means
    assert [cls for cls in ERROR_CLASSES if cls not in errors.HTTP_STATUS] == []


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_every_error_body_is_an_error_answer(cls):
    error = _raise(cls)
    error.run_id = "gpt-4o#sync#Failed"
    response = error_response(error)
    body = json.loads(response.get_body())
    assert response.status_code == errors.HTTP_STATUS[cls]
    assert ErrorAnswer.model_validate(body).to_json() == body
    assert body["status"] == "Failed" and body["run_id"] == "gpt-4o#sync#Failed"


def test_an_error_that_carries_its_runs_answer_is_answered_with_it():
    answer = SyncStatusAnswer(run_id="d#sync#Failed", status="Failed", deployment="d")
    error = errors.RunFailed("failed")
    error.answer = answer.to_json()
    assert error_body(error) == {
        "run_id": "d#sync#Failed",
        "status": "Failed",
        "deployment": "d",
        "mode": "sync",
    }


def test_a_running_batch_has_a_status_link_and_no_error_and_nulls_stay():
    answer = BatchAnswer.model_validate(
        {name: None for name in BatchAnswer.model_fields}
        | {"mode": "batch", "status_query_url": "https://x/s"}
        | {"status": "Running", "batch_status": "validating"}
    )
    body = answer.to_json()
    assert "error" not in body and body["statusQueryUrl"] == "https://x/s"
    assert body["output_file_id"] is None and body["mode"] == "batch"
    answer.status_query_url = None
    assert "statusQueryUrl" not in answer.to_json()
