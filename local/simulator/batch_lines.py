"""A batch's lines: checking the input file as Azure does while a batch is validating, answering
each request with the simulator's own chat or embeddings logic, and the output and error lines."""

from __future__ import annotations

import json
import traceback
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from local.simulator.errors import Reject, azure_error, shown
from local.simulator.models import RecordedRequest
from local.simulator.responses import JSON_TYPE
from local.simulator.routing import Handler

BATCH_REQUEST_ID_PREFIX = "batch_req_"
BATCH_MAX_TASKS = 100_000
BATCH_TASK_API_VERSION = "2024-10-21"  # a batch line's api-version when its batch had none
BATCH_REQUEST_EXPIRED = "This request could not be executed before the completion window expired."
UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class BatchTask:
    """One valid line of a batch input file."""

    line: int  # 1-based
    custom_id: str
    model: str  # body.model: the deployment that answers it
    body: dict[str, Any]


# An answered line: whether it succeeded (output file) or not (error file), and the line.
BatchResult = tuple[bool, dict[str, Any]]


def batch_error(
    code: str, message: str, *, line: int | None = None, param: str | None = None
) -> dict[str, Any]:
    return {"code": code, "message": message, "param": param, "line": line}


def jsonl(lines: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def parse_batch_input(
    content: bytes, endpoint: str, deployments: set[str]
) -> tuple[list[BatchTask], list[dict[str, Any]]]:
    """Validate a batch input file as Azure does while a batch is validating: the valid lines
    as tasks, and the problems found (each with Azure's code and its 1-based line)."""
    if content.startswith(UTF8_BOM):
        message = (
            "The input file starts with a byte order mark (BOM): save it as UTF-8 without BOM."
        )
        return [], [batch_error("invalid_json_line", message, line=1)]
    numbered = [(n, raw) for n, raw in enumerate(content.split(b"\n"), 1) if raw.strip()]
    if not numbered:
        return [], [batch_error("empty_file", "The input file is empty: it has no requests.")]
    if len(numbered) > BATCH_MAX_TASKS:
        message = f"The input file has {len(numbered):,} requests; a batch takes at most "
        return [], [batch_error("too_many_tasks", message + f"{BATCH_MAX_TASKS:,}.")]
    tasks: list[BatchTask] = []
    errors: list[dict[str, Any]] = []
    first_lines: dict[str, int] = {}  # custom_id -> the line that used it first
    model_line: tuple[str, int] | None = None  # the first line's model, and that line
    for number, raw in numbered:
        try:
            item = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            errors.append(_line_error("invalid_json_line", number, "is not valid UTF-8."))
            continue
        except ValueError as error:
            message = f"is not valid JSON: {getattr(error, 'msg', error)}."
            errors.append(_line_error("invalid_json_line", number, message))
            continue
        if not isinstance(item, dict):
            errors.append(_line_error("invalid_json_line", number, "is not a JSON object."))
            continue
        problem = _line_problem(item, endpoint, number, first_lines, model_line)
        if problem is not None:
            errors.append(problem)
            continue
        custom_id, body = item["custom_id"], item["body"]
        first_lines[custom_id] = number
        model_line = model_line or (body["model"], number)
        tasks.append(BatchTask(number, custom_id, body["model"], body))
    if model_line is not None and model_line[0] not in deployments:
        message = f"has body.model {model_line[0]!r}, which names no deployment of this resource."
        errors.append(_line_error("model_not_found", model_line[1], message, "body.model"))
    return tasks, errors


def _line_error(code: str, line: int, problem: str, param: str | None = None) -> dict[str, Any]:
    return batch_error(code, f"Line {line} {problem}", line=line, param=param)


def _line_problem(
    item: dict[str, Any],
    endpoint: str,
    number: int,
    first_lines: dict[str, int],
    model_line: tuple[str, int] | None,
) -> dict[str, Any] | None:
    """The first problem of one parsed line (None when it is a valid request)."""
    custom_id = item.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        message = f"needs 'custom_id', a non-empty string (got {shown(custom_id)})."
        return _line_error("invalid_request", number, message, "custom_id")
    if custom_id in first_lines:
        message = f"repeats the custom_id {custom_id!r} of line {first_lines[custom_id]}; "
        message += "each request needs a unique custom_id."
        return _line_error("duplicate_custom_id", number, message, "custom_id")
    if item.get("method") != "POST":
        message = f"has 'method' {shown(item.get('method'))}; it must be \"POST\"."
        return _line_error("invalid_request", number, message, "method")
    if item.get("url") != endpoint:
        message = f"has 'url' {shown(item.get('url'))}, which does not match the batch "
        message += f"endpoint {endpoint!r}."
        return _line_error("url_mismatch", number, message, "url")
    body = item.get("body")
    if not isinstance(body, dict):
        message = f"needs 'body', a JSON object (got {shown(body)})."
        return _line_error("invalid_request", number, message, "body")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        message = f"needs 'body.model', a deployment name (got {shown(model)})."
        return _line_error("invalid_request", number, message, "body.model")
    if model_line is not None and model != model_line[0]:
        message = f"has body.model {model!r}, unlike line {model_line[1]} ({model_line[0]!r}); "
        message += "every request of a batch must use the same deployment."
        return _line_error("model_mismatch", number, message, "body.model")
    return None


class TaskRunner:
    """Answers one batch line with the simulator's own chat or embeddings logic.

    A request the deployment rejects (a 4xx, e.g. the content filter or an invalid body) keeps
    its response -- status code and error body -- with ``error: null``, as OpenAI writes
    request-level failures to the error file; ``error`` is for lines no deployment answered
    (``batch_expired``). A deployment that does not exist fails the whole batch while it is
    validating (``model_not_found``); one removed since then answers 404 here.
    """

    def __init__(self, chat: Handler, embeddings: Handler) -> None:
        self._chat = chat
        self._embeddings = embeddings

    def __call__(
        self, endpoint: str, task: BatchTask, api_version: str = BATCH_TASK_API_VERSION
    ) -> BatchResult:
        handler = self._embeddings if endpoint == "/embeddings" else self._chat
        operation = "embeddings" if endpoint == "/embeddings" else "chat/completions"
        path = f"/openai/deployments/{task.model}/{operation}"
        request = RecordedRequest(
            method="POST",
            path=path,
            raw_path=quote(path),
            query={"api-version": api_version},
            headers={"content-type": JSON_TYPE},
            body=json.dumps(task.body).encode(),
        )
        try:
            response = handler(request, {"deployment": task.model})
        except Reject as reject:
            response = reject.response
        except Exception as error:  # a simulator bug: say so loudly, answer the line with a 500
            traceback.print_exc()
            response = azure_error(500, "SimulatorError", repr(error))
        answer = {
            "status_code": response.status,
            "request_id": str(uuid.uuid4()),
            "body": json.loads(response.body),
        }
        return response.status == 200, _result_line(task, answer, None)


def _result_line(
    task: BatchTask, response: dict[str, Any] | None, error: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "id": BATCH_REQUEST_ID_PREFIX + uuid.uuid4().hex,
        "custom_id": task.custom_id,
        "response": response,
        "error": error,
    }


def expired_line(task: BatchTask) -> dict[str, Any]:
    return _result_line(task, None, {"code": "batch_expired", "message": BATCH_REQUEST_EXPIRED})
