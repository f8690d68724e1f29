"""What a chat run sends, and where (docs/design.md §4): the model's profile decides the API
surface (classic, v1, Responses), the token parameter, whether sampling parameters and a reasoning
effort go along; each change to what the run asked for is listed as an adjustment."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from shared.families import CLASSIC, LearnedProfiles, ModelProfile, profile_for_model
from shared.models.answers import Adjustment
from shared.models.requests import ChatRunRequest
from shared.registry.entity import ChatAttributes, JobDefinition

Surface = Literal["classic", "v1", "responses"]


@dataclass(frozen=True)
class KnownProfile:
    """A deployment's model profile and why the app believes it (None: nothing says so)."""

    profile: ModelProfile
    reason: str | None


def known_profile(
    deployment: str, definition: JobDefinition | None, learned: LearnedProfiles
) -> KnownProfile:
    """What Azure taught this process, else what discovery recorded, else the family table's
    entry for the registry's model name, else the classic profile."""
    lesson = learned.get(deployment)
    if lesson is not None:
        return KnownProfile(lesson.profile, lesson.reason)
    if definition is not None and definition.profile is not None:
        model = definition.model_name or deployment
        return KnownProfile(definition.profile, f"the registry's profile of {model}")
    if definition is not None and definition.model_name:
        profile = profile_for_model(definition.model_name)
        return KnownProfile(profile, f"{definition.model_name}'s model family")
    return KnownProfile(CLASSIC, None)


@dataclass
class ChatPlan:
    surface: Surface
    body: dict[str, Any]
    background: bool
    adjustments: list[Adjustment] = field(default_factory=list)


def plan_chat(
    params: ChatRunRequest,
    attributes: ChatAttributes,
    known: KnownProfile,
    *,
    v1_setting: bool,
) -> ChatPlan:
    """The call a chat run makes for its (governed) parameters and the model's profile."""
    profile, why = known.profile, known.reason or "the model's profile"
    background = _first(params.background, attributes.background, profile.background)
    surface: Surface = "v1" if v1_setting else "classic"
    plan = ChatPlan(surface, {}, background)
    if profile.api == "responses" or background:
        plan.surface = "responses"
        because = why if profile.api == "responses" else "background runs use the Responses API"
        plan.adjustments.append(_switched("responses", because))
    elif profile.api == "v1" and not v1_setting:
        plan.surface = "v1"
        plan.adjustments.append(_switched("v1", f"{why}: the model runs on the v1 API"))
    if plan.surface == "responses":
        plan.body = _responses_body(params, attributes)
    else:
        plan.body = chat_request_body(params, attributes)
    _apply_profile(plan, profile, why, _first(params.reasoning_effort, attributes.reasoning_effort))
    return plan


def chat_request_body(params: ChatRunRequest, attributes: ChatAttributes) -> dict[str, Any]:
    """The Chat Completions body: exactly `messages`, plus `max_tokens` / `temperature` when
    resolved. Each value comes from the request body, else the job attribute, else is left out."""
    system_prompt = params.system_prompt or attributes.system_prompt
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    messages.append({"role": "user", "content": params.user_prompt})
    body: dict[str, Any] = {"messages": messages}
    max_tokens = _first(params.max_tokens, attributes.max_tokens)
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    temperature = _first(params.temperature, attributes.temperature)
    if temperature is not None:
        body["temperature"] = temperature
    return body


def _responses_body(params: ChatRunRequest, attributes: ChatAttributes) -> dict[str, Any]:
    """The Responses body: `input` (the user prompt), `instructions` (the system prompt), and the
    same optional values as a Chat Completions body."""
    chat = chat_request_body(params, attributes)
    system = [m["content"] for m in chat["messages"] if m["role"] == "system"]
    body: dict[str, Any] = {"input": params.user_prompt}
    if system:
        body["instructions"] = system[0]
    return body | {k: v for k, v in chat.items() if k != "messages"}


def _apply_profile(plan: ChatPlan, profile: ModelProfile, why: str, effort: str | None) -> None:
    body = plan.body
    wanted = "max_output_tokens" if plan.surface == "responses" else profile.token_parameter
    if "max_tokens" in body and wanted != "max_tokens":
        body[wanted] = body.pop("max_tokens")
        plan.adjustments.append(
            Adjustment(parameter="max_tokens", action="renamed", to=wanted, reason=why)
        )
    if "temperature" in body and not profile.sampling:
        del body["temperature"]
        reason = f"{why}: only the default temperature is supported"
        plan.adjustments.append(
            Adjustment(parameter="temperature", action="dropped", reason=reason)
        )
    if (
        effort is not None
        and profile.reasoning
        and (not profile.efforts or effort in profile.efforts)
    ):
        if plan.surface == "responses":
            body["reasoning"] = {"effort": effort}
        else:
            body["reasoning_effort"] = effort
    elif effort is not None:
        takes = ", ".join(profile.efforts)
        reason = (
            f"{why}: the model takes the reasoning efforts {takes}"
            if takes
            else f"{why}: the model takes no reasoning effort"
        )
        plan.adjustments.append(
            Adjustment(parameter="reasoning_effort", action="dropped", reason=reason)
        )
    if plan.background:
        body["background"] = True


def called(
    deployment: str, model: str | None, api: str, request_id: str | None, monitor_url: str | None
) -> dict[str, Any]:
    """What every chat answer says it called (`CalledTail`), whichever API answered."""
    return {
        "deployment": deployment,
        "model": model,
        "api": api,
        "request_id": request_id,
        "monitor_url": monitor_url,
    }


def adjusted(adjustments: list[Adjustment]) -> str:
    """The adjustments as a run's log line shows them: `parameter:action,...`, or `none`."""
    return ",".join(f"{a.parameter}:{a.action}" for a in adjustments) or "none"


def _switched(to: str, reason: str) -> Adjustment:
    return Adjustment(parameter="api", action="switched", to=to, reason=reason)


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)
