"""What a chat run sends for each model profile, and the adjustments it lists."""

from __future__ import annotations

from shared.families import CLASSIC, profile_for_model
from shared.models.requests import ChatRunRequest
from shared.registry.entity import ChatAttributes
from shared.runs.chat_plan import KnownProfile, plan_chat

ASK = ChatRunRequest.parse(
    {"user_prompt": "u", "system_prompt": "s", "max_tokens": 300, "temperature": 0.2}
)


def plan(
    model: str | None,
    params: ChatRunRequest = ASK,
    v1: bool = False,
    attributes: dict[str, str] | None = None,
):
    profile = profile_for_model(model) if model else CLASSIC
    known = KnownProfile(profile, f"{model}'s model family" if model else None)
    job = ChatAttributes.model_validate(attributes or {})
    return plan_chat(params, job, known, v1_setting=v1)


def test_a_classic_model_gets_the_seeds_exact_body_and_no_adjustment():
    chat = plan("gpt-4o")
    assert (chat.surface, chat.adjustments) == ("classic", [])
    assert chat.body == {
        "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
        "max_tokens": 300,
        "temperature": 0.2,
    }


def test_a_reasoning_model_gets_max_completion_tokens_no_temperature_on_v1():
    chat = plan("gpt-5-mini")
    assert chat.surface == "v1"
    assert chat.body == {
        "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
        "max_completion_tokens": 300,
    }
    assert [(a.parameter, a.action, a.to) for a in chat.adjustments] == [
        ("api", "switched", "v1"),
        ("max_tokens", "renamed", "max_completion_tokens"),
        ("temperature", "dropped", None),
    ]


def test_on_the_v1_setting_a_reasoning_model_needs_no_api_switch():
    assert [a.parameter for a in plan("o4-mini", v1=True).adjustments] == [
        "max_tokens",
        "temperature",
    ]


def test_a_responses_only_model_gets_the_responses_body():
    chat = plan("gpt-5-codex", ASK.model_copy(update={"reasoning_effort": "high"}))
    assert chat.surface == "responses"
    assert chat.body == {
        "input": "u",
        "instructions": "s",
        "max_output_tokens": 300,
        "reasoning": {"effort": "high"},
    }
    assert [(a.parameter, a.action, a.to) for a in chat.adjustments] == [
        ("api", "switched", "responses"),
        ("max_tokens", "renamed", "max_output_tokens"),
        ("temperature", "dropped", None),
    ]


def test_the_effort_goes_to_reasoning_models_that_take_it_and_is_dropped_otherwise():
    asked = ChatRunRequest.parse({"user_prompt": "u", "reasoning_effort": "minimal"})
    assert plan("gpt-5-mini", asked).body["reasoning_effort"] == "minimal"
    for model in ("gpt-5.1", "gpt-4o"):  # gpt-5.1 takes none, not minimal; gpt-4o takes none
        chat = plan(model, asked)
        assert "reasoning_effort" not in chat.body
        assert [(a.parameter, a.action) for a in chat.adjustments][-1] == (
            "reasoning_effort",
            "dropped",
        )


def test_the_attribute_effort_applies_and_the_body_wins():
    chat = plan(
        "o4-mini",
        ChatRunRequest.parse({"user_prompt": "u"}),
        attributes={"OpenAI Reasoning Effort": "low"},
    )
    assert chat.body["reasoning_effort"] == "low"
    overridden = ChatRunRequest.parse({"user_prompt": "u", "reasoning_effort": "high"})
    assert (
        plan("o4-mini", overridden, attributes={"OpenAI Reasoning Effort": "low"}).body[
            "reasoning_effort"
        ]
        == "high"
    )


def test_background_runs_on_the_responses_api_and_pro_models_default_to_it():
    chat = plan("gpt-4o", ChatRunRequest.parse({"user_prompt": "u", "background": "true"}))
    assert (chat.surface, chat.body["background"]) == ("responses", True)
    assert chat.adjustments[0].reason == "background runs use the Responses API"
    assert plan("gpt-5-pro", ChatRunRequest.parse({"user_prompt": "u"})).background
    off = plan(
        "gpt-5-pro",
        ChatRunRequest.parse({"user_prompt": "u"}),
        attributes={"OpenAI Background": "false"},
    )
    assert not off.background and "background" not in off.body
