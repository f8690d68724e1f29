"""What a model's family refuses, with Azure's bodies, and how a reasoning model spends tokens.

Chat Completions (``check_chat``): reasoning models refuse ``max_tokens``, sampling parameters
other than their defaults, log probabilities and a ``reasoning_effort`` their family does not
take; classic models refuse ``reasoning_effort`` on every api-version (it is not in the
2024-10-21 GA spec, and gpt-4o answers "Unrecognized request argument supplied: reasoning_effort"
on newer ones too: Budibase/budibase#17211, AAswordman/Operit#1048), and ``max_completion_tokens``
before 2024-09-01-preview (openai/openai-python#1724). The classic path refuses o-series and gpt-5
models on an api-version older than their family's (``check_api_version``). Responses
(``check_responses``): the same rules, worded for ``reasoning.effort`` and ``max_output_tokens``.
docs/development.md lists every body with its source.
"""

from __future__ import annotations

import json
from typing import Any

from local.simulator.errors import Reject, azure_error, invalid_request, shown
from local.simulator.families import MAX_COMPLETION_TOKENS_API_VERSION, Family, older_than
from local.simulator.inference import json_type
from local.simulator.models import Deployment

SAMPLING_DEFAULTS: dict[str, int] = {
    "temperature": 1,
    "top_p": 1,
    "presence_penalty": 0,
    "frequency_penalty": 0,
}
LOGPROB_PARAMETERS = ("logprobs", "top_logprobs", "logit_bias")
API_VERSION_TOO_OLD = "Model {model} is enabled only for api versions {version} and later"
UNRECOGNIZED = "Unrecognized request argument supplied: {name}"
UNSUPPORTED_PARAMETER = "Unsupported parameter: '{name}' is not supported with this model."
USE_MAX_COMPLETION_TOKENS = " Use 'max_completion_tokens' instead."
UNSUPPORTED_DEFAULT_ONLY = (
    "Unsupported value: '{name}' does not support {value} with this model. Only the default "
    "({default}) value is supported."
)
UNSUPPORTED_EFFORT = (
    "Unsupported value: '{name}' does not support {value} with this model. Supported values "
    "are: {supported}."
)
MOVED_IN_RESPONSES = (
    "Unsupported parameter: '{name}'. In the Responses API, this parameter has moved to "
    "'{moved}'. Try again with the new parameter. See the API documentation for more "
    "information: https://platform.openai.com/docs/api-reference/responses/create."
)
MOVED_PARAMETERS = {
    "reasoning_effort": "reasoning.effort",
    "max_tokens": "max_output_tokens",
    "max_completion_tokens": "max_output_tokens",
}
# Reasoning tokens per effort: factor x (REASONING_BASE_TOKENS + prompt tokens); none thinks not.
EFFORT_FACTORS = {"none": 0, "minimal": 1, "low": 2, "medium": 4, "high": 8, "xhigh": 16}
REASONING_BASE_TOKENS = 16


def unsupported_parameter(name: str, extra: str = "") -> Reject:
    message = UNSUPPORTED_PARAMETER.format(name=name) + extra
    return invalid_request(message, name, "unsupported_parameter")


def check_api_version(deployment: Deployment, api_version: str | None) -> None:
    """The classic path's gate: a model enabled only from some api-version on."""
    version = deployment.family.min_classic_api_version
    if version is not None and older_than(api_version, version):
        message = API_VERSION_TOO_OLD.format(model=deployment.model, version=version)
        raise Reject(azure_error(400, "BadRequest", message))


def check_chat(deployment: Deployment, payload: dict[str, Any], api_version: str | None) -> str:
    """Refuse what the model does not take on Chat Completions; the reasoning effort it runs
    with ("" for a classic model). ``api_version`` is None on the v1 path."""
    family = deployment.family
    if not family.reasoning:
        if payload.get("reasoning_effort") is not None:
            raise invalid_request(UNRECOGNIZED.format(name="reasoning_effort"), None)
        too_old = older_than(api_version, MAX_COMPLETION_TOKENS_API_VERSION)
        if too_old and payload.get("max_completion_tokens") is not None:
            raise invalid_request(UNRECOGNIZED.format(name="max_completion_tokens"), None)
        return ""
    if payload.get("max_tokens") is not None:
        raise unsupported_parameter("max_tokens", USE_MAX_COMPLETION_TOKENS)
    _check_sampling(family, payload, default_only=not family.legacy_sampling_error)
    return _effort(family, payload.get("reasoning_effort"), "reasoning_effort")


def check_responses(deployment: Deployment, payload: dict[str, Any]) -> str:
    """Refuse what the model does not take on the Responses API; the reasoning effort it runs
    with ("" for a classic model)."""
    for name, moved in MOVED_PARAMETERS.items():
        if payload.get(name) is not None:
            message = MOVED_IN_RESPONSES.format(name=name, moved=moved)
            raise invalid_request(message, name, "unsupported_parameter")
    family = deployment.family
    reasoning = payload.get("reasoning")
    if reasoning is not None and not isinstance(reasoning, dict):
        message = (
            f"Invalid type for 'reasoning': expected an object, but got {json_type(reasoning)}"
        )
        raise invalid_request(message + " instead.", "reasoning")
    effort = (reasoning or {}).get("effort")
    if not family.reasoning:
        if effort is not None:
            raise unsupported_parameter("reasoning.effort")
        return ""
    _check_sampling(family, payload, default_only=False, names=("temperature", "top_p"))
    return _effort(family, effort, "reasoning.effort")


def _check_sampling(
    family: Family,
    payload: dict[str, Any],
    *,
    default_only: bool,
    names: tuple[str, ...] = tuple(SAMPLING_DEFAULTS),
) -> None:
    for name in names:
        value, default = payload.get(name), SAMPLING_DEFAULTS[name]
        if value is None or value == default:
            continue
        if not default_only:
            raise unsupported_parameter(name)
        message = UNSUPPORTED_DEFAULT_ONLY.format(name=name, value=shown(value), default=default)
        raise invalid_request(message, name, "unsupported_value")
    for name in LOGPROB_PARAMETERS:
        if payload.get(name) not in (None, False):
            raise unsupported_parameter(name)


def _effort(family: Family, effort: Any, name: str) -> str:
    if effort is None:
        return family.default_effort or ""
    if not family.efforts:  # o1-mini
        raise unsupported_parameter(name)
    if effort not in family.efforts:
        supported = _listed([f"'{value}'" for value in family.efforts])
        message = UNSUPPORTED_EFFORT.format(name=name, value=_quoted(effort), supported=supported)
        raise invalid_request(message, name, "unsupported_value")
    return str(effort)


def reasoning_tokens(effort: str, prompt_tokens: int) -> int:
    """The hidden tokens a reasoning model spends: deterministic, growing with the prompt and
    the effort (none: 0)."""
    return EFFORT_FACTORS.get(effort, 0) * (REASONING_BASE_TOKENS + prompt_tokens)


def spend(limit: int | None, reasoning: int, words: list[str]) -> tuple[int, list[str], bool]:
    """Fit reasoning, then the visible words, into ``limit`` tokens (None = no limit): the
    reasoning tokens spent, the words shown, and whether the limit cut the answer short. A
    limit the reasoning uses up leaves no visible output, as Azure answers then."""
    if limit is None:
        return reasoning, words, False
    if reasoning >= limit:
        return limit, [], True
    shown = words[: limit - reasoning]
    return reasoning, shown, len(shown) < len(words)


def _quoted(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else json.dumps(value)


def _listed(items: list[str]) -> str:
    """'a', 'a' and 'b', 'a', 'b', and 'c' (OpenAI's lists)."""
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + ", and " + items[-1]
