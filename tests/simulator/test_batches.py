"""The simulator's Files and Batch API (api-version 2024-10-21) over real sockets."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
import requests
from openai import AzureOpenAI

from local.simulator import Deployment, Fault, Simulator
from tests.simulator.conftest import fetch_token

API_VERSION = "2024-10-21"
PARAMS = {"api-version": API_VERSION}
FILE_NOT_FOUND = {"error": {"code": "404", "message": "File not found"}}
BATCH_NOT_FOUND = {"error": {"code": "404", "message": "Batch not found"}}
BATCH_KEYS = {
    "id",
    "object",
    "endpoint",
    "errors",
    "input_file_id",
    "completion_window",
    "status",
    "output_file_id",
    "error_file_id",
    "created_at",
    "in_progress_at",
    "expires_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
    "request_counts",
    "metadata",
}
# The "<state>_at" timestamps, besides the created_at and expires_at every batch has.
STATE_TIMESTAMPS = frozenset(
    key for key in BATCH_KEYS if key.endswith("_at") and key not in {"created_at", "expires_at"}
)
ISO_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
SIMULATED_FAILURE = {
    "code": "invalid_request",
    "message": "Simulated batch failure.",
    "param": None,
    "line": None,
}


def chat_line(
    custom_id: str,
    content: str = "Tell me a fact",
    *,
    model: str = "gpt-4o",
    url: str = "/chat/completions",
) -> dict[str, Any]:
    body = {"model": model, "messages": [{"role": "user", "content": content}]}
    return {"custom_id": custom_id, "method": "POST", "url": url, "body": body}


def jsonl(lines: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def upload(
    sim: Simulator,
    session: requests.Session,
    content: bytes,
    *,
    purpose: str | None = "batch",
    filename: str = "input.jsonl",
) -> requests.Response:
    data = {} if purpose is None else {"purpose": purpose}
    return session.post(
        sim.url + "/openai/files", params=PARAMS, data=data, files={"file": (filename, content)}
    )


def create_batch(
    sim: Simulator, session: requests.Session, file_id: str, **extra: Any
) -> requests.Response:
    payload = {"input_file_id": file_id, "endpoint": "/chat/completions"}
    payload |= {"completion_window": "24h", **extra}
    return session.post(sim.url + "/openai/batches", params=PARAMS, json=payload)


def get_batch(sim: Simulator, session: requests.Session, batch_id: str) -> dict[str, Any]:
    response = session.get(f"{sim.url}/openai/batches/{batch_id}", params=PARAMS)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == BATCH_KEYS
    return body


def start_batch(
    sim: Simulator, session: requests.Session, content: bytes, **extra: Any
) -> dict[str, Any]:
    file_id = sim.upload_file(content)
    response = create_batch(sim, session, file_id, **extra)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "validating"
    return body


def run_batch(
    sim: Simulator, session: requests.Session, content: bytes, **extra: Any
) -> dict[str, Any]:
    """Create a batch with step 0 and read it once: it has ended."""
    sim.batch_step_s = 0
    return get_batch(sim, session, start_batch(sim, session, content, **extra)["id"])


def file_lines(sim: Simulator, session: requests.Session, file_id: str) -> list[dict[str, Any]]:
    response = session.get(f"{sim.url}/openai/files/{file_id}/content", params=PARAMS)
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.content.splitlines()]


def test_upload_get_list_download_delete(sim: Simulator, key_session: requests.Session) -> None:
    content = b'{"a": 1}\r\n\n{"b": "\xc3\xa9"}\n'
    uploaded = upload(sim, key_session, content, filename="tasks.jsonl")

    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.headers["apim-request-id"]
    file = uploaded.json()
    assert re.fullmatch(r"file-[0-9a-f]{32}", file["id"])
    assert abs(file.pop("created_at") - time.time()) < 5
    assert file == {
        "id": file["id"],
        "object": "file",
        "purpose": "batch",
        "filename": "tasks.jsonl",
        "bytes": len(content),
        "status": "processed",
        "status_details": None,
    }
    url = f"{sim.url}/openai/files/{file['id']}"
    assert key_session.get(url, params=PARAMS).json()["filename"] == "tasks.jsonl"
    downloaded = key_session.get(url + "/content", params=PARAMS)
    assert downloaded.status_code == 200
    assert downloaded.headers["Content-Type"] == "application/octet-stream"
    assert downloaded.content == content

    other = sim.upload_file(b"{}\n")  # the Python shortcut stores it the same way
    assert sim.file_content(other) == b"{}\n"
    listed = key_session.get(sim.url + "/openai/files", params=PARAMS).json()
    assert listed["object"] == "list"
    assert [f["id"] for f in listed["data"]] == [other, file["id"]]  # newest first
    assert [f["id"] for f in sim.files()] == [file["id"], other]

    deleted = key_session.delete(url, params=PARAMS)
    assert deleted.status_code == 200
    assert deleted.json() == {"id": file["id"], "object": "file", "deleted": True}
    for response in (
        key_session.get(url, params=PARAMS),
        key_session.get(url + "/content", params=PARAMS),
        key_session.delete(url, params=PARAMS),
    ):
        assert response.status_code == 404
        assert response.json() == FILE_NOT_FOUND
    assert [f["id"] for f in sim.files()] == [other]
    with pytest.raises(KeyError):
        sim.file_content(file["id"])


def test_upload_validation(sim: Simulator, key_session: requests.Session) -> None:
    def rejected(response: requests.Response) -> str:
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "invalidPayload"
        return str(error["message"])

    assert "'purpose' must be 'batch' (got \"fine-tune\")" in rejected(
        upload(sim, key_session, b"{}", purpose="fine-tune")
    )
    assert "'purpose' must be 'batch' (got nothing)" in rejected(
        upload(sim, key_session, b"{}", purpose=None)
    )
    no_file = key_session.post(sim.url + "/openai/files", params=PARAMS, files={"purpose": "batch"})
    assert "'file' is required" in rejected(no_file)
    as_field = key_session.post(  # a part named "file" but without a filename
        sim.url + "/openai/files",
        params=PARAMS,
        files={"purpose": (None, "batch"), "file": (None, "{}")},
    )
    assert "'file' is required" in rejected(as_field)
    url_encoded = key_session.post(
        sim.url + "/openai/files", params=PARAMS, data={"purpose": "batch", "file": "{}"}
    )
    assert "multipart/form-data" in rejected(url_encoded)
    as_json = key_session.post(sim.url + "/openai/files", params=PARAMS, json={"purpose": "batch"})
    assert "multipart/form-data" in rejected(as_json)
    assert sim.files() == []

    # No line validation at upload: that happens while a batch validates.
    assert upload(sim, key_session, b"not json\n").status_code == 200
    assert upload(sim, key_session, b"").json()["bytes"] == 0
    with pytest.raises(ValueError, match="'purpose' must be 'batch'"):
        sim.upload_file(b"{}", purpose="assistants")


def test_new_routes_need_api_version_and_credentials(
    sim: Simulator, key_session: requests.Session
) -> None:
    file_id = sim.upload_file(jsonl([chat_line("a")]))
    batch_id = start_batch(sim, key_session, jsonl([chat_line("a")]))["id"]
    routes = [
        ("POST", "/openai/files"),
        ("GET", "/openai/files"),
        ("GET", f"/openai/files/{file_id}"),
        ("GET", f"/openai/files/{file_id}/content"),
        ("DELETE", f"/openai/files/{file_id}"),
        ("POST", "/openai/batches"),
        ("GET", "/openai/batches"),
        ("GET", f"/openai/batches/{batch_id}"),
        ("POST", f"/openai/batches/{batch_id}/cancel"),
    ]
    token = fetch_token(sim, key_session)
    for method, path in routes:
        url = sim.url + path
        anonymous = requests.request(method, url, params=PARAMS, timeout=5)
        assert anonymous.status_code == 401, (method, path)
        assert anonymous.json()["error"]["code"] == "401"
        bad_bearer = requests.request(
            method, url, params=PARAMS, headers={"Authorization": "Bearer nope"}, timeout=5
        )
        assert bad_bearer.status_code == 401, (method, path)
        no_version = key_session.request(method, url)
        assert no_version.status_code == 404, (method, path)
        assert no_version.json() == {"error": {"code": "404", "message": "Resource not found"}}

    bearer = {"Authorization": f"Bearer {token}"}
    listed = requests.get(sim.url + "/openai/batches", params=PARAMS, headers=bearer, timeout=5)
    assert listed.status_code == 200, listed.text
    assert sim.file_content(file_id)  # nothing above got through to delete it


def test_create_batch_validation(sim: Simulator, key_session: requests.Session) -> None:
    file_id = sim.upload_file(jsonl([chat_line("a")]))

    def rejected(response: requests.Response) -> str:
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "invalid_request"
        return str(error["message"])

    batches = sim.url + "/openai/batches"
    for body in (b"not json", b"[1, 2]"):
        response = key_session.post(batches, params=PARAMS, data=body)
        assert "must be a JSON object" in rejected(response)
    no_file = key_session.post(batches, params=PARAMS, json={"endpoint": "/chat/completions"})
    assert "'input_file_id' is required" in rejected(no_file)
    assert "does not name an uploaded file" in rejected(create_batch(sim, key_session, "file-nope"))
    assert "'endpoint' must be one of '/chat/completions', '/embeddings', " in rejected(
        create_batch(sim, key_session, file_id, endpoint="/completions")
    )
    assert "'completion_window' must be '24h' (got \"48h\")" in rejected(
        create_batch(sim, key_session, file_id, completion_window="48h")
    )
    assert "'completion_window' must be '24h' (got nothing)" in rejected(
        create_batch(sim, key_session, file_id, completion_window=None)
    )
    assert "'metadata' must be an object" in rejected(
        create_batch(sim, key_session, file_id, metadata={"n": 1})
    )
    output_file = run_batch(sim, key_session, jsonl([chat_line("a")]))["output_file_id"]
    assert "purpose 'batch_output'" in rejected(create_batch(sim, key_session, output_file))
    assert len(sim.batches()) == 1

    for method, suffix in (("GET", ""), ("POST", "/cancel")):
        response = key_session.request(method, f"{batches}/batch_x{suffix}", params=PARAMS)
        assert response.status_code == 404
        assert response.json() == BATCH_NOT_FOUND


def test_batch_advances_with_the_clock(sim: Simulator, key_session: requests.Session) -> None:
    sim.batch_step_s = 0.25
    lines = [chat_line("first"), chat_line("second", "Another one please")]
    created = start_batch(sim, key_session, jsonl(lines), metadata={"job": "nightly"})

    assert re.fullmatch(
        r"batch_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", created["id"]
    )
    assert created["object"] == "batch"
    assert created["request_counts"] is None
    assert created["expires_at"] == created["created_at"] + 86400
    assert created["metadata"] == {"job": "nightly"}
    assert all(created[name] is None for name in STATE_TIMESTAMPS)
    seen: list[dict[str, Any]] = [created]
    deadline = time.monotonic() + 5
    while seen[-1]["status"] != "completed" and time.monotonic() < deadline:
        time.sleep(0.02)
        batch = get_batch(sim, key_session, created["id"])
        if batch["status"] != seen[-1]["status"]:
            seen.append(batch)

    assert [b["status"] for b in seen] == ["validating", "in_progress", "finalizing", "completed"]
    counts = [b["request_counts"] for b in seen]
    assert counts[0] is None
    assert counts[1] == {"total": 2, "completed": 0, "failed": 0}
    assert counts[3] == {"total": 2, "completed": 2, "failed": 0}
    done = seen[-1]
    stamps = [done[name] for name in ("created_at", "in_progress_at", "finalizing_at")]
    assert stamps + [done["completed_at"]] == sorted(stamps + [done["completed_at"]])
    assert all(isinstance(stamp, int) for stamp in stamps)
    assert seen[2]["finalizing_at"] == done["finalizing_at"]  # frozen once reached
    assert seen[1]["in_progress_at"] == done["in_progress_at"]
    assert done["failed_at"] is done["errors"] is None
    assert [line["custom_id"] for line in file_lines(sim, key_session, done["output_file_id"])] == [
        "first",
        "second",
    ]
    assert file_lines(sim, key_session, done["error_file_id"]) == []  # always there, maybe empty


def test_output_and_error_files(sim: Simulator, key_session: requests.Session) -> None:
    lines = [
        chat_line("ok-1"),
        chat_line("filtered", "Please [[filter-prompt]]"),
        chat_line("ok-2", "Count these four words"),
        {**chat_line("no-messages"), "body": {"model": "gpt-4o", "messages": []}},
    ]
    batch = run_batch(sim, key_session, jsonl(lines))

    assert batch["status"] == "completed"
    assert batch["request_counts"] == {"total": 4, "completed": 2, "failed": 2}
    assert batch["completed_at"] >= batch["finalizing_at"] >= batch["in_progress_at"]
    output = file_lines(sim, key_session, batch["output_file_id"])
    errors = file_lines(sim, key_session, batch["error_file_id"])
    assert [line["custom_id"] for line in output] == ["ok-1", "ok-2"]
    assert [line["custom_id"] for line in errors] == ["filtered", "no-messages"]
    for line in output + errors:
        assert re.fullmatch(r"batch_req_[0-9a-f]{32}", line["id"])
        assert re.fullmatch(r"[0-9a-f-]{36}", line["response"]["request_id"])
        assert line["error"] is None
    answer = output[1]["response"]
    assert answer["status_code"] == 200
    assert answer["body"]["object"] == "chat.completion"
    assert answer["body"]["model"] == "gpt-4o-2024-08-06"
    assert answer["body"]["choices"][0]["message"]["content"].endswith("had 4 words.")
    assert errors[0]["response"]["status_code"] == 400
    assert errors[0]["response"]["body"]["error"]["code"] == "content_filter"
    assert errors[1]["response"]["body"]["error"]["param"] == "messages"
    by_id = {f["id"]: f for f in sim.files()}
    assert by_id[batch["output_file_id"]]["purpose"] == "batch_output"
    assert by_id[batch["error_file_id"]]["filename"] == f"{batch['id']}_error.jsonl"

    embeddings = [
        {"custom_id": f"e{i}", "method": "POST", "url": "/embeddings"}
        | {"body": {"model": "text-embedding-3-small", "input": text, "dimensions": 4}}
        for i, text in enumerate(("alpha", "beta"))
    ]
    embedded = run_batch(sim, key_session, jsonl(embeddings), endpoint="/embeddings")
    assert embedded["request_counts"] == {"total": 2, "completed": 2, "failed": 0}
    vectors = file_lines(sim, key_session, embedded["output_file_id"])
    assert [len(v["response"]["body"]["data"][0]["embedding"]) for v in vectors] == [4, 4]

    # A chat line sent to an embedding deployment is answered (an error), not rejected.
    wrong_kind = [chat_line("x", model="text-embedding-3-small", url="/v1/chat/completions")]
    mismatched = run_batch(sim, key_session, jsonl(wrong_kind), endpoint="/v1/chat/completions")
    assert mismatched["request_counts"] == {"total": 1, "completed": 0, "failed": 1}
    (error_line,) = file_lines(sim, key_session, mismatched["error_file_id"])
    assert error_line["response"]["body"]["error"]["code"] == "OperationNotSupported"


@pytest.mark.parametrize(
    ("content", "code", "line"),
    [
        (jsonl([chat_line("a")]) + b"{not json\n", "invalid_json_line", 2),
        (jsonl([chat_line("a")]) + b"\n[1, 2]\n", "invalid_json_line", 3),
        (b"\xef\xbb\xbf" + jsonl([chat_line("a")]), "invalid_json_line", 1),
        (jsonl([chat_line("a")]) + b'{"custom_id": "\xff"}\n', "invalid_json_line", 2),
        (jsonl([chat_line("a"), chat_line("b"), chat_line("a")]), "duplicate_custom_id", 3),
        (jsonl([chat_line("a"), chat_line("b", url="/embeddings")]), "url_mismatch", 2),
        (jsonl([chat_line("a"), chat_line("b", model="gpt-4o-mini")]), "model_mismatch", 2),
        (jsonl([chat_line("a", model="no-such-deployment")]), "model_not_found", 1),
        (jsonl([{**chat_line("a"), "method": "GET"}]), "invalid_request", 1),
        (jsonl([{**chat_line("a"), "custom_id": 7}]), "invalid_request", 1),
        (jsonl([{**chat_line("a"), "body": {"messages": []}}]), "invalid_request", 1),
        (b"", "empty_file", None),
        (b"\n \n", "empty_file", None),
        (b"{}\n" * 100_001, "too_many_tasks", None),
    ],
)
def test_invalid_input_file_fails_the_batch(
    sim: Simulator, key_session: requests.Session, content: bytes, code: str, line: int | None
) -> None:
    batch = run_batch(sim, key_session, content)

    assert batch["status"] == "failed"
    assert batch["errors"]["object"] == "list"
    (error,) = batch["errors"]["data"]
    assert (error["code"], error["line"]) == (code, line)
    assert error["message"]
    assert batch["failed_at"] >= batch["created_at"]
    assert batch["in_progress_at"] is batch["output_file_id"] is batch["error_file_id"] is None
    assert batch["request_counts"] == {"total": 0, "completed": 0, "failed": 0}


def test_every_bad_line_is_reported(sim: Simulator, key_session: requests.Session) -> None:
    content = jsonl([chat_line("a")]) + b"oops\n" + jsonl([chat_line("a"), chat_line("b")])
    batch = run_batch(sim, key_session, content + b"{}\n")

    data = batch["errors"]["data"]
    assert [(e["code"], e["line"], e["param"]) for e in data] == [
        ("invalid_json_line", 2, None),
        ("duplicate_custom_id", 3, "custom_id"),
        ("invalid_request", 5, "custom_id"),
    ]
    assert data[1]["message"] == (
        "Line 3 repeats the custom_id 'a' of line 1; each request needs a unique custom_id."
    )


def test_batch_outcome_failed_and_expired(sim: Simulator, key_session: requests.Session) -> None:
    four = jsonl([chat_line(f"t{i}") for i in range(4)])
    sim.batch_step_s = 0
    sim.batch_outcome = "failed"
    created_while_failing = start_batch(sim, key_session, four)["id"]
    sim.batch_outcome = "completed"  # only batches created from now on
    failed = get_batch(sim, key_session, created_while_failing)
    assert failed["status"] == "failed"
    assert failed["errors"] == {"object": "list", "data": [SIMULATED_FAILURE]}
    assert failed["in_progress_at"] is None and failed["failed_at"] is not None

    sim.batch_outcome = "expired"
    expired = run_batch(sim, key_session, four)
    assert expired["status"] == "expired"
    assert expired["expired_at"] >= expired["in_progress_at"]
    assert expired["finalizing_at"] is expired["completed_at"] is None
    assert expired["request_counts"] == {"total": 4, "completed": 2, "failed": 0}
    output = file_lines(sim, key_session, expired["output_file_id"])
    assert [line["custom_id"] for line in output] == ["t0", "t1"]
    leftovers = file_lines(sim, key_session, expired["error_file_id"])
    assert [line["custom_id"] for line in leftovers] == ["t2", "t3"]
    assert leftovers[0]["response"] is None
    assert leftovers[0]["error"]["code"] == "batch_expired"

    with pytest.raises(ValueError, match="batch_outcome must be one of"):
        sim.batch_outcome = "cancelled"  # type: ignore[assignment]


def test_cancel(sim: Simulator, key_session: requests.Session) -> None:
    sim.batch_step_s = 0.2
    batch_id = start_batch(sim, key_session, jsonl([chat_line("a")]))["id"]
    cancel_url = f"{sim.url}/openai/batches/{batch_id}/cancel"

    cancelling = key_session.post(cancel_url, params=PARAMS)
    assert cancelling.status_code == 200, cancelling.text
    assert cancelling.json()["status"] == "cancelling"
    assert cancelling.json()["cancelling_at"] is not None
    again = key_session.post(cancel_url, params=PARAMS)
    assert again.status_code == 200
    assert again.json()["cancelling_at"] == cancelling.json()["cancelling_at"]
    time.sleep(0.25)
    cancelled = get_batch(sim, key_session, batch_id)
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancelled_at"] >= cancelled["cancelling_at"]
    assert cancelled["in_progress_at"] is None  # cancelled while validating
    assert cancelled["request_counts"] == {"total": 0, "completed": 0, "failed": 0}
    assert cancelled["output_file_id"] is None

    too_late = key_session.post(cancel_url, params=PARAMS)
    assert too_late.status_code == 400
    assert too_late.json()["error"] == {
        "code": "invalid_request",
        "message": f"Batch {batch_id} is cancelled and can no longer be cancelled.",
    }
    done = run_batch(sim, key_session, jsonl([chat_line("a")]))
    finished = key_session.post(f"{sim.url}/openai/batches/{done['id']}/cancel", params=PARAMS)
    assert finished.status_code == 400
    assert "is completed" in finished.json()["error"]["message"]


def test_set_batch_status_pins_every_status(sim: Simulator, key_session: requests.Session) -> None:
    sim.batch_step_s = 3600  # never advances on its own during the test
    batch_id = start_batch(sim, key_session, jsonl([chat_line("a"), chat_line("b")]))["id"]
    expected_stamps = {
        "validating": set(),
        "in_progress": {"in_progress_at"},
        "finalizing": {"in_progress_at", "finalizing_at"},
        "completed": {"in_progress_at", "finalizing_at", "completed_at"},
        "failed": {"failed_at"},
        "expired": {"in_progress_at", "expired_at"},
        "cancelling": {"in_progress_at", "cancelling_at"},
        "cancelled": {"in_progress_at", "cancelling_at", "cancelled_at"},
    }
    for status, stamps in expected_stamps.items():
        sim.set_batch_status(batch_id, status)
        batch = get_batch(sim, key_session, batch_id)
        assert batch["status"] == status
        assert {name for name in STATE_TIMESTAMPS if batch[name] is not None} == stamps, status
        has_files = status in ("completed", "expired", "cancelled")
        assert (batch["output_file_id"] is not None) is has_files, status
        assert (batch["error_file_id"] is not None) is has_files, status
        assert (batch["errors"] is not None) is (status == "failed"), status
        counts = batch["request_counts"]
        if status == "validating":
            assert counts is None
        elif status == "failed":
            assert batch["errors"]["data"] == [SIMULATED_FAILURE]
            assert counts == {"total": 0, "completed": 0, "failed": 0}
        elif status in ("finalizing", "completed"):
            assert counts == {"total": 2, "completed": 2, "failed": 0}, status
        elif status == "expired":
            assert counts == {"total": 2, "completed": 1, "failed": 0}
        else:
            assert counts["total"] == 2, status

    sim.set_batch_status(batch_id, "Completed")  # the azure spelling works too
    completed = get_batch(sim, key_session, batch_id)
    output = file_lines(sim, key_session, completed["output_file_id"])
    assert [line["custom_id"] for line in output] == ["a", "b"]
    bad = run_batch(sim, key_session, b"{oops\n")
    sim.set_batch_status(bad["id"], "failed")  # keeps the validation errors
    assert sim.batches()[-1]["errors"]["data"][0]["code"] == "invalid_json_line"
    with pytest.raises(KeyError):
        sim.set_batch_status("batch_unknown", "completed")
    with pytest.raises(ValueError, match="status must be one of"):
        sim.set_batch_status(batch_id, "done")


@pytest.mark.parametrize("status", ["validating", "in_progress", "finalizing", "cancelling"])
def test_a_pinned_batch_does_not_advance(
    sim: Simulator, key_session: requests.Session, status: str
) -> None:
    # With step 0 a batch is due to end at its first read, as the unpinned twin shows.
    sim.batch_step_s = 0
    content = jsonl([chat_line("a")])
    pinned = start_batch(sim, key_session, content)["id"]
    unpinned = start_batch(sim, key_session, content)["id"]
    sim.set_batch_status(pinned, status)

    first = get_batch(sim, key_session, pinned)
    assert get_batch(sim, key_session, unpinned)["status"] == "completed"
    assert first["status"] == status
    assert get_batch(sim, key_session, pinned) == first
    assert sim.batches()[0] == first


def test_pinned_batch_restarts_on_cancel(sim: Simulator, key_session: requests.Session) -> None:
    sim.batch_step_s = 0
    batch_id = start_batch(sim, key_session, jsonl([chat_line("a")]))["id"]
    sim.set_batch_status(batch_id, "in_progress")
    assert get_batch(sim, key_session, batch_id)["status"] == "in_progress"

    cancel = key_session.post(f"{sim.url}/openai/batches/{batch_id}/cancel", params=PARAMS)
    assert cancel.json()["status"] == "cancelling"
    cancelled = get_batch(sim, key_session, batch_id)
    assert cancelled["status"] == "cancelled"
    assert cancelled["request_counts"] == {"total": 1, "completed": 0, "failed": 0}
    assert file_lines(sim, key_session, cancelled["output_file_id"]) == []


def test_azure_format(sim: Simulator, key_session: requests.Session) -> None:
    batch_id = start_batch(sim, key_session, jsonl([chat_line("a")]))["id"]
    sim.set_batch_status(batch_id, "in_progress")
    unix = get_batch(sim, key_session, batch_id)

    sim.batch_format = "azure"
    azure = get_batch(sim, key_session, batch_id)
    assert azure["status"] == "InProgress"
    for name in ("created_at", "in_progress_at", "expires_at"):
        assert ISO_UTC.fullmatch(azure[name]), name
        expected = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(unix[name]))
        assert azure[name] == expected
    assert azure["completed_at"] is None
    assert azure["request_counts"] == unix["request_counts"]
    spelled = {}
    for status in ("validating", "finalizing", "completed", "failed", "expired", "cancelling"):
        sim.set_batch_status(batch_id, status)
        spelled[status] = sim.batches()[0]["status"]
    sim.set_batch_status(batch_id, "cancelled")
    spelled["cancelled"] = get_batch(sim, key_session, batch_id)["status"]
    assert list(spelled.values()) == [
        "Validating",
        "Finalizing",
        "Completed",
        "Failed",
        "Expired",
        "Cancelling",
        "Cancelled",
    ]
    assert key_session.get(sim.url + "/openai/batches", params=PARAMS).json()["data"][0][
        "status"
    ] == ("Cancelled")


def test_batch_list(sim: Simulator, key_session: requests.Session) -> None:
    empty = key_session.get(sim.url + "/openai/batches", params=PARAMS).json()
    assert empty == {
        "object": "list",
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }
    first = start_batch(sim, key_session, jsonl([chat_line("a")]))["id"]
    second = start_batch(sim, key_session, jsonl([chat_line("b")]))["id"]

    listed = key_session.get(sim.url + "/openai/batches", params=PARAMS).json()
    assert [b["id"] for b in listed["data"]] == [second, first]  # newest first
    assert (listed["first_id"], listed["last_id"], listed["has_more"]) == (second, first, False)
    assert [b["id"] for b in sim.batches()] == [first, second]


def test_control_api(sim: Simulator, key_session: requests.Session) -> None:
    batch_id = start_batch(sim, key_session, jsonl([chat_line("a")]))["id"]
    # Plain requests without key_session's api-key: the control API needs no credential.
    listed = requests.get(sim.url + "/_sim/batches")
    assert [b["id"] for b in listed.json()] == [batch_id]
    pinned = requests.put(f"{sim.url}/_sim/batches/{batch_id}", json={"status": "completed"})
    assert pinned.status_code == 200, pinned.text
    assert pinned.json()["status"] == "completed"
    assert get_batch(sim, key_session, batch_id)["request_counts"]["completed"] == 1
    unknown = requests.put(sim.url + "/_sim/batches/batch_nope", json={"status": "failed"})
    assert unknown.status_code == 404
    assert unknown.json() == BATCH_NOT_FOUND
    for body in ({"status": "done"}, {"state": "failed"}, ["failed"]):
        bad = requests.put(f"{sim.url}/_sim/batches/{batch_id}", json=body)
        assert bad.status_code == 400, body
        assert bad.json()["error"]["code"] == "BadRequest"

    settings = requests.put(
        sim.url + "/_sim/batch-settings",
        json={"step_s": 0.5, "outcome": "expired", "format": "azure"},
    )
    assert settings.status_code == 200, settings.text
    assert settings.json() == {"step_s": 0.5, "outcome": "expired", "format": "azure"}
    assert (sim.batch_step_s, sim.batch_outcome, sim.batch_format) == (0.5, "expired", "azure")
    partial = requests.put(sim.url + "/_sim/batch-settings", json={"step_s": 0})
    assert partial.json() == {"step_s": 0.0, "outcome": "expired", "format": "azure"}
    # One bad value spoils the lot: the valid "outcome" next to it is not applied either.
    for bad_value in ({"step_s": -1}, {"step_s": "1"}, {"format": "xml"}, {"n": 1}):
        bad = requests.put(
            sim.url + "/_sim/batch-settings", json={"outcome": "failed", **bad_value}
        )
        assert bad.status_code == 400, bad_value
        assert bad.json()["error"]["code"] == "BadRequest"
    for step_s, message in (
        (-1, "step_s must be a finite number >= 0"),
        ("1", "step_s must be int or float, got str"),
        (True, "step_s must be int or float, got bool"),
    ):
        bad = requests.put(sim.url + "/_sim/batch-settings", json={"step_s": step_s})
        assert bad.json()["error"]["message"] == message
    for body in ({}, {"outcome": "x"}, ["azure"]):
        assert requests.put(sim.url + "/_sim/batch-settings", json=body).status_code == 400
    assert requests.get(sim.url + "/_sim/batch-settings").json()["outcome"] == "expired"
    assert sim.requests("/_sim") == []  # control calls are not recorded


def test_settings_validation_and_reset(sim: Simulator, key_session: requests.Session) -> None:
    with pytest.raises(ValueError, match="batch_step_s must be"):
        Simulator(batch_step_s=-1)
    with pytest.raises(ValueError, match="batch_step_s must be"):
        Simulator(batch_step_s=float("inf"))
    with pytest.raises(TypeError):
        sim.batch_step_s = "2"  # type: ignore[assignment]
    with pytest.raises(ValueError, match="batch_format must be one of"):
        sim.batch_format = "xml"  # type: ignore[assignment]
    with Simulator(batch_step_s=0.5) as custom:
        custom.batch_step_s = 0
        custom.reset()
        assert custom.batch_step_s == 0.5

    start_batch(sim, key_session, jsonl([chat_line("a")]))
    sim.batch_step_s, sim.batch_outcome, sim.batch_format = 0, "failed", "azure"
    sim.reset()
    assert sim.files() == [] and sim.batches() == []
    assert (sim.batch_step_s, sim.batch_outcome, sim.batch_format) == (2.0, "completed", "openai")
    assert key_session.get(sim.url + "/openai/files", params=PARAMS).json()["data"] == []


def test_pathless_fault_hits_the_batch_routes(
    sim: Simulator, key_session: requests.Session
) -> None:
    sim.add_fault(Fault(status=503, times=2))

    assert key_session.get(sim.url + "/openai/batches", params=PARAMS).status_code == 503
    assert upload(sim, key_session, b"{}\n").status_code == 503
    assert key_session.get(sim.url + "/openai/batches", params=PARAMS).status_code == 200
    assert [r.response_status for r in sim.requests("/openai/")] == [503, 503, 200]
    assert sim.files() == []


def test_openai_sdk_round_trip(sim: Simulator) -> None:
    sim.batch_step_s = 0
    client = AzureOpenAI(
        api_key=sim.api_key, api_version=API_VERSION, azure_endpoint=sim.url, max_retries=0
    )
    uploaded = client.files.create(
        file=("tasks.jsonl", jsonl([chat_line("a"), chat_line("b")])), purpose="batch"
    )
    created = client.batches.create(
        input_file_id=uploaded.id,
        # Azure's documented endpoint; the SDK's type lists OpenAI's /v1 ones only.
        endpoint="/chat/completions",  # type: ignore[arg-type]
        completion_window="24h",
    )
    assert created.status == "validating"

    batch = client.batches.retrieve(created.id)
    assert batch.status == "completed"
    assert batch.request_counts is not None and batch.request_counts.completed == 2
    assert batch.output_file_id is not None
    output = client.files.content(batch.output_file_id).text.splitlines()
    assert [json.loads(line)["custom_id"] for line in output] == ["a", "b"]
    assert [b.id for b in client.batches.list()] == [created.id]
    client.close()


def test_lines_run_with_the_batchs_api_version(
    sim: Simulator, key_session: requests.Session
) -> None:
    sim.set_deployments([*sim.deployments, Deployment("gpt-5-mini", "gpt-5-mini", "2025-08-07")])
    content = jsonl([chat_line("only", model="gpt-5-mini")])
    sim.batch_step_s = 0

    def run(api_version: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        file_id = sim.upload_file(content)
        payload = {"input_file_id": file_id, "endpoint": "/chat/completions"}
        created = key_session.post(
            sim.url + "/openai/batches",
            params={"api-version": api_version},
            json=payload | {"completion_window": "24h"},
        )
        assert created.status_code == 200, created.text
        batch = get_batch(sim, key_session, created.json()["id"])
        assert batch["status"] == "completed"
        output = file_lines(sim, key_session, batch["output_file_id"])
        return output, file_lines(sim, key_session, batch["error_file_id"])

    output, errors = run(API_VERSION)  # 2024-10-21: too old for a reasoning model
    assert output == []
    assert errors[0]["response"]["status_code"] == 400
    assert errors[0]["response"]["body"] == {
        "error": {
            "code": "BadRequest",
            "message": "Model gpt-5-mini is enabled only for api versions 2024-12-01-preview "
            "and later",
        }
    }
    output, errors = run("2025-04-01-preview")
    assert errors == []
    usage = output[0]["response"]["body"]["usage"]
    assert usage["completion_tokens_details"]["reasoning_tokens"] > 0
