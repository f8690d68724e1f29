"""The Responses API on the v1 paths (no api-version; the deployment is the body's ``model``);
response_store says how a response is kept and advances.

Routes (data plane):
    POST   /openai/v1/responses                       create (synchronous, or background)
    GET    /openai/v1/responses/{response_id}         retrieve
    POST   /openai/v1/responses/{response_id}/cancel  cancel a background response
    DELETE /openai/v1/responses/{response_id}         delete

The answer says which deployment answered and how many words the last user message had, like
chat's. A reasoning model's output starts with a reasoning item and spends reasoning tokens first,
both within ``max_output_tokens``; a limit too small ends the response ``incomplete``
(max_output_tokens), with no message when reasoning used it all. ``[[filter-prompt]]`` in the
input or instructions answers the content filter's 400; ``[[filter-completion]]`` ends the
response ``incomplete`` (content_filter). Models without Responses (embedding, image, audio,
Chat-only ones) answer ``400 OperationNotSupported``.
"""

from __future__ import annotations

from typing import Any

from local.simulator.chat import COMPLETION_FILTER_MARKER, PROMPT_FILTER_MARKER, prompt_filtered
from local.simulator.errors import Reject, invalid_request
from local.simulator.families import Family
from local.simulator.inference import (
    TOKENS_PER_MESSAGE,
    V1_PATH,
    content_text,
    count_words,
    deployment_for,
    json_body,
    json_type,
    numeric_param,
    reply_words,
    success,
)
from local.simulator.models import Deployment, RecordedRequest
from local.simulator.reasoning import check_responses, reasoning_tokens, spend
from local.simulator.response_store import (
    Outcome,
    ResponseStore,
    item_id,
    response_not_found,
)
from local.simulator.responses import Response, json_response
from local.simulator.routing import Guard, Route, route
from local.simulator.state import State

RESPONSES_PATH = V1_PATH + r"/responses"
RESPONSE_PATH = RESPONSES_PATH + r"/(?P<response_id>[^/]+)"
INPUT_ROLES = ("user", "assistant", "system", "developer")
MIN_OUTPUT_TOKENS = 16  # the Responses API's lower bound of max_output_tokens
METADATA_MAX_PAIRS = 16
BACKGROUND_NEEDS_STORE = "Background mode requires store=true."
NO_STREAMING = "The simulator does not stream: leave 'stream' out or false."
PREVIOUS_NOT_FOUND = "Previous response with id '{id}' not found."
INVALID_INPUT = (
    "Invalid type for 'input': expected one of a string or array of input items, but got {got} "
    "instead."
)


class Responses:
    def __init__(self, state: State, store: ResponseStore, guard: Guard) -> None:
        self._state = state
        self._store = store
        self._guard = guard

    def routes(self) -> tuple[Route, ...]:
        guard = self._guard
        return (
            route("POST", RESPONSES_PATH, self._create, guard),
            route("GET", RESPONSE_PATH, self._retrieve, guard),
            route("POST", RESPONSE_PATH + r"/cancel", self._cancel, guard),
            route("DELETE", RESPONSE_PATH, self._delete, guard),
        )

    def _create(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        payload = json_body(request)
        deployment = deployment_for(self._state, payload.get("model"), operation="responses")
        effort = check_responses(deployment, payload)
        texts, last_user = _input_texts(payload)
        instructions = payload.get("instructions")
        if not isinstance(instructions, str | None):
            got = json_type(instructions)
            message = f"Invalid type for 'instructions': expected a string, but got {got} instead."
            raise invalid_request(message, "instructions")
        limit = numeric_param(payload, "max_output_tokens", low=MIN_OUTPUT_TOKENS, integer=True)
        temperature = numeric_param(payload, "temperature", low=0, high=2)
        top_p = numeric_param(payload, "top_p", low=0, high=1)
        background = _flag(payload, "background", default=False)
        store = _flag(payload, "store", default=True)
        if _flag(payload, "stream", default=False):
            raise invalid_request(NO_STREAMING, "stream")
        if background and not store:
            raise invalid_request(BACKGROUND_NEEDS_STORE, "store")
        previous = self._previous(payload.get("previous_response_id"))
        metadata = _metadata(payload.get("metadata"))
        prompt = [*texts, instructions or ""]
        if any(PROMPT_FILTER_MARKER in text for text in prompt):
            raise Reject(prompt_filtered())
        outcome = _outcome(deployment, effort, prompt, last_user, limit)
        echo = {
            "instructions": instructions,
            "max_output_tokens": limit,
            "max_tool_calls": None,
            "metadata": metadata,
            "model": deployment.model_label,
            "parallel_tool_calls": True,
            "previous_response_id": previous,
            "prompt_cache_key": None,
            "reasoning": _reasoning_echo(deployment.family, effort),
            "safety_identifier": None,
            "service_tier": "default",
            "store": store,
            "temperature": 1.0 if temperature is None else temperature,
            "text": {"format": {"type": "text"}},
            "tool_choice": "auto",
            "tools": [],
            "top_logprobs": None,
            "top_p": 1.0 if top_p is None else top_p,
            "truncation": "disabled",
            "user": None,
            "content_filters": None,
        }
        body = self._store.create(echo, outcome, background=background, store=store)
        return success(deployment, body, outcome.usage["total_tokens"])

    def _previous(self, previous: Any) -> str | None:
        if previous is None:
            return None
        if not isinstance(previous, str) or not self._store.exists(previous):
            message = PREVIOUS_NOT_FOUND.format(id=previous)
            raise invalid_request(message, "previous_response_id", "previous_response_not_found")
        return previous

    def _retrieve(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        found = self._store.get(params["response_id"])
        if found is None:
            raise response_not_found(params["response_id"])
        return json_response(200, found)

    def _cancel(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        cancelled = self._store.cancel(params["response_id"])
        if cancelled is None:
            raise response_not_found(params["response_id"])
        return json_response(200, cancelled)

    def _delete(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        response_id = params["response_id"]
        if not self._store.delete(response_id):
            raise response_not_found(response_id)
        return json_response(200, {"id": response_id, "object": "response", "deleted": True})


def _input_texts(payload: dict[str, Any]) -> tuple[list[str], str | None]:
    """The text of each input item, and the last user message's."""
    if "input" not in payload:
        raise invalid_request("Missing required parameter: 'input'.", "input")
    value = payload["input"]
    if isinstance(value, str):
        return [value], value
    if not isinstance(value, list):
        raise invalid_request(INVALID_INPUT.format(got=json_type(value)), "input")
    texts: list[str] = []
    last_user: str | None = None
    for index, item in enumerate(value):
        where = f"input[{index}]"
        if not isinstance(item, dict):
            got = json_type(item)
            message = f"Invalid type for '{where}': expected an input item, but got {got} instead."
            raise invalid_request(message, where)
        role = item.get("role")
        if item.get("type", "message") == "message" and role not in INPUT_ROLES:
            supported = ", ".join(f"'{r}'" for r in INPUT_ROLES)
            message = f"Invalid value: {role!r}. Supported values are: {supported}."
            raise invalid_request(message, f"{where}.role")
        text = _item_text(item)
        texts.append(text)
        if role == "user":
            last_user = text
    return texts, last_user


def _item_text(item: dict[str, Any]) -> str:
    return content_text(item.get("content", item.get("output")))


def _flag(payload: dict[str, Any], name: str, *, default: bool) -> bool:
    value = payload.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        got = json_type(value)
        raise invalid_request(
            f"Invalid type for '{name}': expected a boolean, but got {got} instead.", name
        )
    return value


def _metadata(metadata: Any) -> dict[str, str]:
    if metadata is None:
        return {}
    if (
        not isinstance(metadata, dict)
        or len(metadata) > METADATA_MAX_PAIRS
        or not all(isinstance(value, str) for value in metadata.values())
    ):
        message = f"Invalid 'metadata': expected an object of at most {METADATA_MAX_PAIRS} "
        raise invalid_request(message + "string values.", "metadata")
    return dict(metadata)


def _reasoning_echo(family: Family, effort: str) -> dict[str, Any] | None:
    return {"effort": effort, "summary": None} if family.reasoning else None


def _outcome(
    deployment: Deployment, effort: str, prompt: list[str], last_user: str | None, limit: int | None
) -> Outcome:
    input_tokens = sum(count_words(text) + TOKENS_PER_MESSAGE for text in prompt if text)
    reasoning = deployment.family.reasoning
    thinking = reasoning_tokens(effort, input_tokens) if reasoning else 0
    filtered = any(COMPLETION_FILTER_MARKER in text for text in prompt)
    answer = [] if filtered else reply_words(deployment, last_user)
    spent, words, cut = spend(limit, thinking, answer)
    output: list[dict[str, Any]] = []
    if reasoning:
        output.append(
            {
                "id": item_id("rs_"),
                "type": "reasoning",
                "summary": [],
                "encrypted_content": None,
                "status": None,
            }
        )
    if words or filtered:
        text = {"type": "output_text", "text": " ".join(words), "annotations": [], "logprobs": []}
        output.append(
            {
                "id": item_id("msg_"),
                "type": "message",
                "role": "assistant",
                "status": "incomplete" if cut or filtered else "completed",
                "content": [text],
            }
        )
    output_tokens = spent + len(words)
    usage = {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": spent},
        "total_tokens": input_tokens + output_tokens,
    }
    if filtered:
        return Outcome("incomplete", output, usage, "content_filter")
    if cut:
        return Outcome("incomplete", output, usage, "max_output_tokens")
    return Outcome("completed", output, usage)
