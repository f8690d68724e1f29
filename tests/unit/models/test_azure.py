"""Azure's batch answer in its documented variants: timestamps, casing, errors, counts."""

from datetime import UTC, datetime

import pytest

from shared.models.azure import Batch, iso_utc

CREATED = datetime(2026, 11, 26, 0, 9, 55, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        (1795651795, CREATED),
        (1795651795.0, CREATED),
        ("1795651795", CREATED),
        ("1795651795.0", CREATED),
        (" 1795651795 ", CREATED),
        ("2026-11-26T00:09:55Z", CREATED),
        ("2026-11-26T00:09:55+00:00", CREATED),
        ("2026-11-26T00:09:55", CREATED),
        ("2026-11-26T01:09:55+01:00", CREATED),
        (None, None),
        ("", None),
        ("yesterday", None),
        (True, None),
        (10**20, None),
        ({"at": 1}, None),
    ],
)
def test_batch_timestamps_in_every_documented_form(raw, parsed):
    batch = Batch.model_validate({"id": "batch_1", "status": "completed", "created_at": raw})
    assert batch.created_at == parsed


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("validating", "validating"),
        ("Validating", "validating"),
        ("in_progress", "in_progress"),
        ("InProgress", "in_progress"),
        ("IN_PROGRESS", "in_progress"),
        ("Finalizing", "finalizing"),
        ("completed", "completed"),
        ("Completed", "completed"),
        ("Failed", "failed"),
        ("expired", "expired"),
        ("Cancelling", "cancelling"),
        ("cancelled", "cancelled"),
        ("Paused", "paused"),
    ],
)
def test_batch_status_in_any_casing(status, state):
    assert Batch.model_validate({"id": "batch_1", "status": status}).state == state


@pytest.mark.parametrize(
    "raw",
    [1795651795, "2026-11-26T00:09:55Z", "2026-11-26T01:09:55+01:00", "2026-11-25T19:09:55-05:00"],
)
def test_times_are_answered_in_utc(raw):
    batch = Batch.model_validate({"id": "b", "status": "completed", "created_at": raw})
    assert iso_utc(batch.created_at) == "2026-11-26T00:09:55Z"
    assert iso_utc(None) is None


def test_batch_errors_and_counts_in_their_shapes():
    listed = {"object": "list", "data": [{"code": "invalid_json_line", "line": 2}]}
    assert Batch.model_validate({"id": "b", "status": "failed", "errors": listed}).errors == [
        {"code": "invalid_json_line", "line": 2}
    ]
    bare = Batch.model_validate({"id": "b", "status": "failed", "errors": [{"code": "x"}]})
    assert bare.errors == [{"code": "x"}]
    empty = Batch.model_validate({"id": "b", "status": "validating", "errors": None})
    assert empty.errors == [] and empty.request_counts is None
    counted = Batch.model_validate(
        {"id": "b", "status": "completed", "request_counts": {"total": 3, "completed": 2}}
    )
    assert counted.request_counts is not None
    assert (counted.request_counts.total, counted.request_counts.failed) == (3, None)


def test_ended_at_is_the_time_of_the_terminal_state():
    failed = Batch.model_validate({"id": "b", "status": "failed", "failed_at": 1795651795})
    assert failed.ended_at == CREATED
    running = Batch.model_validate({"id": "b", "status": "in_progress"})
    assert running.ended_at is None
