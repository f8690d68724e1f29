"""The model-family table, ARM capabilities read defensively, and what one refusal teaches."""

from __future__ import annotations

import pytest

from shared.families import (
    CLASSIC,
    ModelProfile,
    learn_from_refusal,
    profile_for_deployment,
    profile_for_model,
)


@pytest.mark.parametrize(
    ("model", "api", "tokens", "sampling", "efforts"),
    [
        ("gpt-4o", "classic", "max_tokens", True, ()),
        ("gpt-4.1-mini", "classic", "max_tokens", True, ()),
        ("o4-mini", "v1", "max_completion_tokens", False, ("low", "medium", "high")),
        ("o1", "v1", "max_completion_tokens", False, ("low", "medium", "high")),
        ("gpt-5-mini", "v1", "max_completion_tokens", False, ("minimal", "low", "medium", "high")),
        ("gpt-5.1", "v1", "max_completion_tokens", False, ("none", "low", "medium", "high")),
        ("gpt-5-codex", "responses", "max_output_tokens", False, ("low", "medium", "high")),
        (
            "gpt-5.1-codex-max",
            "responses",
            "max_output_tokens",
            False,
            ("none", "low", "medium", "high", "xhigh"),
        ),
        (
            "gpt-5.1-codex-mini",
            "responses",
            "max_output_tokens",
            False,
            ("none", "low", "medium", "high"),
        ),
        ("gpt-5-chat", "v1", "max_tokens", True, ()),
        ("gpt-5.1-chat", "v1", "max_completion_tokens", False, ("medium",)),
        ("o1-mini", "v1", "max_completion_tokens", False, ()),
        ("o3-pro", "responses", "max_output_tokens", False, ("low", "medium", "high")),
        ("gpt-5-pro", "responses", "max_output_tokens", False, ("high",)),
        ("dall-e-3", "none", "max_tokens", False, ()),
        ("whisper", "none", "max_tokens", False, ()),
        ("gpt-4o-transcribe", "none", "max_tokens", False, ()),
        ("gpt-realtime", "none", "max_tokens", False, ()),
        ("text-embedding-3-large", "none", "max_tokens", False, ()),
        ("my-fine-tune", "classic", "max_tokens", True, ()),
    ],
)
def test_the_family_table(model, api, tokens, sampling, efforts):
    profile = profile_for_model(model)
    assert (profile.api, profile.token_parameter, profile.sampling, profile.efforts) == (
        api,
        tokens,
        sampling,
        efforts,
    )


def test_pro_models_default_to_background():
    assert profile_for_model("gpt-5-pro").background and profile_for_model("o3-pro").background
    assert not profile_for_model("gpt-5-codex").background


@pytest.mark.parametrize(
    ("model", "capabilities", "api"),
    [
        ("gpt-4o", {"chatCompletion": "true", "responses": "true"}, "classic"),
        ("new-coder", {"chatCompletion": "false", "responses": "true"}, "responses"),
        ("new-coder", {"ChatCompletion": "False", "RESPONSES": "TRUE"}, "responses"),
        ("new-art", {"chatCompletion": "false", "imageGenerations": "true"}, "none"),
        ("gpt-4o", {}, "classic"),
        ("gpt-4o", {"unknownFlag": "true"}, "classic"),
    ],
)
def test_arm_capabilities_refine_the_table(model, capabilities, api):
    assert profile_for_deployment(model, capabilities).api == api


def test_a_stored_profile_round_trips_and_garbage_is_none():
    profile = profile_for_model("gpt-5-mini")
    assert ModelProfile.from_dict(profile.as_dict()) == profile
    assert ModelProfile.from_dict({"api": "teleport"}) is None
    assert ModelProfile.from_dict("nope") is None
    assert ModelProfile.from_dict({}) is None  # no stored profile: the table decides


@pytest.mark.parametrize(
    ("code", "param", "message", "api", "tokens", "sampling"),
    [
        (
            "unsupported_parameter",
            "max_tokens",
            "Use 'max_completion_tokens'",
            "v1",
            "max_completion_tokens",
            False,
        ),
        (
            "unsupported_value",
            "temperature",
            "Only the default (1)",
            "v1",
            "max_completion_tokens",
            False,
        ),
        (
            "OperationNotSupported",
            None,
            "The chatCompletion operation does not work",
            "responses",
            "max_output_tokens",
            True,
        ),
        (
            "BadRequest",
            None,
            "Model o3-mini is enabled only for api versions 2024-12-01-preview and later",
            "v1",
            "max_completion_tokens",
            False,
        ),
        (
            "BadRequest",
            None,
            "Model new-thing is enabled only for api versions 2025-01-01 and later",
            "v1",
            "max_tokens",
            True,
        ),
    ],
)
def test_one_refusal_teaches_the_whole_profile(code, param, message, api, tokens, sampling):
    lesson = learn_from_refusal(CLASSIC, code, param, message)
    assert lesson is not None
    assert (lesson.profile.api, lesson.profile.token_parameter, lesson.profile.sampling) == (
        api,
        tokens,
        sampling,
    )
    assert code in lesson.reason


def test_the_reverse_refusal_teaches_max_tokens():
    reasoning = profile_for_model("o4-mini")
    lesson = learn_from_refusal(
        reasoning, None, None, "Unrecognized request argument supplied: max_completion_tokens"
    )
    assert lesson is not None and lesson.profile.token_parameter == "max_tokens"


@pytest.mark.parametrize(
    ("code", "param", "message"),
    [
        ("content_filter", None, "The response was filtered"),
        ("invalid_request_error", "messages", "messages is too long"),
        (None, None, None),
    ],
)
def test_other_refusals_teach_nothing(code, param, message):
    assert learn_from_refusal(CLASSIC, code, param, message) is None
