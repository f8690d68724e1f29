"""Chat completions, with a simulated content filter.

    POST /openai/deployments/{deployment}/chat/completions?api-version=...
    POST /openai/v1/chat/completions   (no api-version; the deployment is the body's `model`)

The reply never echoes the prompt: it says which deployment answered and how many words the last
user message had. A message containing ``[[filter-prompt]]`` is rejected by the content filter
(HTTP 400); one containing ``[[filter-completion]]`` yields an empty, filtered completion. What a
model refuses follows its family (reasoning.py); a reasoning model spends reasoning tokens before
the visible ones, both within ``max_completion_tokens``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from local.simulator.errors import Reject, invalid_request
from local.simulator.inference import (
    OPENAI_DEPLOYMENT_PATH,
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
from local.simulator.reasoning import check_api_version, check_chat, reasoning_tokens, spend
from local.simulator.responses import Response, json_response
from local.simulator.routing import Guard, Route, route
from local.simulator.state import State

PROMPT_FILTER_MARKER = "[[filter-prompt]]"
COMPLETION_FILTER_MARKER = "[[filter-completion]]"
CHAT_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
SYSTEM_FINGERPRINT = "fp_sim"
PROMPT_FILTERED = (
    "The response was filtered due to the prompt triggering Azure OpenAI's content "
    "management policy. Please modify your prompt and retry. To learn more about our "
    "content filtering policies please read our documentation: "
    "https://go.microsoft.com/fwlink/?linkid=2198766"
)


class Chat:
    def __init__(self, state: State, guard: Guard, v1_guard: Guard) -> None:
        self._state = state
        self._guard = guard
        self._v1_guard = v1_guard

    def routes(self) -> tuple[Route, ...]:
        path = OPENAI_DEPLOYMENT_PATH + r"/chat/completions"
        return (
            route("POST", path, self.create, self._guard),
            route("POST", V1_PATH + r"/chat/completions", self.create_v1, self._v1_guard),
        )

    def create(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        """The classic path (also what a batch line runs, with its batch's api-version)."""
        deployment = deployment_for(self._state, params["deployment"], operation="chatCompletion")
        api_version = request.query.get("api-version")
        check_api_version(deployment, api_version)
        return _answer(deployment, json_body(request), api_version)

    def create_v1(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        payload = json_body(request)
        deployment = deployment_for(self._state, payload.get("model"), operation="chatCompletion")
        return _answer(deployment, payload, None)


def _answer(deployment: Deployment, payload: dict[str, Any], api_version: str | None) -> Response:
    messages = _validated_messages(payload)
    limit = _completion_limit(payload)
    effort = check_chat(deployment, payload, api_version)
    texts = [content_text(message.get("content")) for message in messages]
    if any(PROMPT_FILTER_MARKER in text for text in texts):
        raise Reject(prompt_filtered())
    prompt_tokens = sum(count_words(text) + TOKENS_PER_MESSAGE for text in texts)
    thinking = reasoning_tokens(effort, prompt_tokens) if deployment.family.reasoning else 0
    if any(COMPLETION_FILTER_MARKER in text for text in texts):
        reasoning, words, _ = spend(limit, thinking, [])
        finish_reason = "content_filter"
    else:
        user_texts = [t for m, t in zip(messages, texts, strict=True) if m["role"] == "user"]
        reasoning, words, cut = spend(
            limit, thinking, reply_words(deployment, user_texts[-1] if user_texts else None)
        )
        finish_reason = "length" if cut else "stop"
    usage = _usage(prompt_tokens, reasoning, len(words))
    body = _chat_body(deployment, " ".join(words), finish_reason, usage)
    return success(deployment, body, usage["total_tokens"])


def _validated_messages(payload: dict[str, Any]) -> list[dict[str, Any]]:
    if "messages" not in payload:
        raise invalid_request("Missing required parameter: 'messages'.", "messages")
    messages = payload["messages"]
    if not isinstance(messages, list):
        message = f"Invalid type for 'messages': expected an array, but got {json_type(messages)}"
        raise invalid_request(message + " instead.", "messages")
    if not messages:
        raise invalid_request("[] is too short - 'messages'", "messages")
    for index, item in enumerate(messages):
        where = f"'messages[{index}]"
        if not isinstance(item, dict):
            message = f"Invalid type for {where}': expected an object, but got {json_type(item)}"
            raise invalid_request(message + " instead.", "messages")
        if "role" not in item:
            raise invalid_request(f"Missing required parameter: {where}.role'.", "messages")
        if item["role"] not in CHAT_ROLES:
            message = f"Invalid value for {where}.role': {item['role']!r}. Supported values are: "
            raise invalid_request(message + ", ".join(map(repr, CHAT_ROLES)) + ".", "messages")
        # An assistant turn that only carries tool calls legitimately has no content.
        if "content" not in item and not item.get("tool_calls"):
            raise invalid_request(f"Missing required parameter: {where}.content'.", "messages")
        if not isinstance(item.get("content"), str | list | None):
            message = f"Invalid type for {where}.content': expected a string or an array"
            raise invalid_request(message + ".", "messages")
    return messages


def _completion_limit(payload: dict[str, Any]) -> int | None:
    """Validate temperature and token limits; return the completion token limit, if any."""
    numeric_param(payload, "temperature", low=0, high=2)
    limits: list[int | None] = [
        numeric_param(payload, name, low=1, integer=True)
        for name in ("max_completion_tokens", "max_tokens")
    ]
    return next((limit for limit in limits if limit is not None), None)


def _safe_filter_results(*detected: str) -> dict[str, Any]:
    results: dict[str, Any] = {
        category: {"filtered": False, "severity": "safe"}
        for category in ("hate", "self_harm", "sexual", "violence")
    }
    results.update({name: {"filtered": False, "detected": False} for name in detected})
    return results


def prompt_filtered() -> Response:
    """Azure's 400 for a prompt the content filter rejects."""
    results = _safe_filter_results("jailbreak")
    results["hate"] = {"filtered": True, "severity": "high"}
    error = {
        "message": PROMPT_FILTERED,
        "type": None,
        "param": "prompt",
        "code": "content_filter",
        "status": 400,
        "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_result": results},
    }
    return json_response(400, {"error": error})


def _usage(prompt_tokens: int, reasoning: int, visible: int) -> dict[str, Any]:
    completion_tokens = reasoning + visible
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }


def _chat_body(
    deployment: Deployment, content: str, finish_reason: str, usage: dict[str, Any]
) -> dict[str, Any]:
    choice_filter = _safe_filter_results("protected_material_code", "protected_material_text")
    if finish_reason == "content_filter":
        choice_filter["violence"] = {"filtered": True, "severity": "medium"}
    return {
        "id": "chatcmpl-" + uuid.uuid4().hex[:29],
        "object": "chat.completion",
        "created": int(time.time()),
        "model": deployment.model_label,
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "prompt_filter_results": [
            {"prompt_index": 0, "content_filter_results": _safe_filter_results("jailbreak")}
        ],
        "choices": [
            {
                "index": 0,
                "finish_reason": finish_reason,
                "logprobs": None,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "content_filter_results": choice_filter,
            }
        ],
        "usage": usage,
    }
