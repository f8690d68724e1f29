"""Model families: how a chat job calls each kind of model Azure OpenAI serves (docs/design.md §4).

A `ModelProfile` says which API surface a chat job uses, which token parameter it sends, whether
sampling parameters (`temperature`) are accepted, which reasoning efforts, and whether runs default
to background mode. The table below maps model names to profiles; ARM's deployment capabilities,
read by discovery, refine it; Azure's own refusals teach the app the rest at run time
(`learn_from_refusal`).

Sources (late 2026):
- MicrosoftDocs/azure-ai-docs `articles/ai-foundry/openai/how-to/reasoning.md`: the reasoning
  families, `max_completion_tokens`, the unsupported sampling parameters, reasoning efforts.
- The same repository's model tables and `api-version-lifecycle.md`: o-series on 2025-04-01-preview
  and v1, the gpt-5 family on v1 only; the v1 API (`/openai/v1/...`, deployment name in `model`).
- The same how-to's per-model effort lists (January 2026): gpt-5-pro high only, gpt-5.1-codex*
  with none, gpt-5.1-codex-max with xhigh, gpt-5.1-chat medium only, o1-mini none; gpt-5-chat
  is not a reasoning model (stanfordnlp/dspy#9032).
- Azure's 400 `OperationNotSupported` for chat on Responses-only models (vanna-ai/vanna#967,
  langchain-ai/langchain-azure#228).

To support a new family, add a row to `FAMILIES` (most specific pattern first) and a test in
tests/unit/test_families.py; models the table does not know run with the classic profile and
learn from Azure's first refusal.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, replace
from typing import Any, Final, Literal

from shared import constants as c

Api = Literal["classic", "v1", "responses", "none"]
TokenParameter = Literal["max_tokens", "max_completion_tokens", "max_output_tokens"]

O_SERIES_EFFORTS: Final = ("low", "medium", "high")
GPT5_EFFORTS: Final = ("minimal", "low", "medium", "high")
GPT51_EFFORTS: Final = ("none", "low", "medium", "high")
# Sampling parameters reasoning models refuse (reasoning.md).
SAMPLING: Final = ("temperature", "top_p", "presence_penalty", "frequency_penalty")


@dataclass(frozen=True)
class ModelProfile:
    """How a chat job calls a model. `api` "classic" follows AZURE_OPENAI_API_VERSION; "none" means
    the model has no chat surface (images, audio, realtime, embeddings)."""

    api: Api = "classic"
    token_parameter: TokenParameter = "max_tokens"
    sampling: bool = True
    reasoning: bool = False
    efforts: tuple[str, ...] = ()
    background: bool = False  # long-running: chat jobs default to background mode
    kind: str = "chat"  # chat, embedding, image, audio, realtime

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"efforts": list(self.efforts)}

    @classmethod
    def from_dict(cls, data: object) -> ModelProfile | None:
        """A stored profile, or None when it cannot be read (then the table decides)."""
        if not isinstance(data, dict) or "api" not in data:
            return None  # no stored profile (a hand-made definition, or one from before them)
        try:
            values = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
            values["efforts"] = tuple(str(e) for e in values.get("efforts") or ())
            profile = cls(**values)
        except TypeError:
            return None
        if profile.api not in ("classic", "v1", "responses", "none"):
            return None
        return profile


CLASSIC: Final = ModelProfile()
REASONING: Final = ModelProfile(
    api="v1", token_parameter="max_completion_tokens", sampling=False, reasoning=True
)
RESPONSES: Final = ModelProfile(
    api="responses", token_parameter="max_output_tokens", sampling=False, reasoning=True
)
NO_CHAT: Final = ModelProfile(api="none", sampling=False)
CODEX: Final = replace(RESPONSES, efforts=O_SERIES_EFFORTS)

# (pattern searched in the model name, profile, why) — the first match wins: specific names first.
FAMILIES: Final[tuple[tuple[str, ModelProfile, str], ...]] = (
    (r"embedding", replace(NO_CHAT, kind="embedding"), "embeddings only"),
    (r"dall-e|gpt-image|^sora", replace(NO_CHAT, kind="image"), "image generation only"),
    (r"whisper|tts|transcribe", replace(NO_CHAT, kind="audio"), "audio only"),
    (r"realtime", replace(NO_CHAT, kind="realtime"), "realtime audio only"),
    (r"^gpt-5-pro", replace(RESPONSES, efforts=("high",), background=True), "gpt-5-pro"),
    (r"^o3-pro", replace(RESPONSES, efforts=O_SERIES_EFFORTS, background=True), "o3-pro"),
    (r"^gpt-5\.1-codex-max", replace(RESPONSES, efforts=(*GPT51_EFFORTS, "xhigh")), "codex max"),
    (r"^gpt-5\.1-codex", replace(RESPONSES, efforts=GPT51_EFFORTS), "gpt-5.1-codex, -mini"),
    (r"^(gpt-5(\.[0-9]+)?-codex|codex-mini)", CODEX, "codex"),
    (r"^gpt-5-chat", replace(CLASSIC, api="v1"), "gpt-5-chat: not a reasoning model"),
    (r"^gpt-5\.[0-9]+-chat", replace(REASONING, efforts=("medium",)), "gpt-5.1-chat and later"),
    (r"^gpt-5\.[0-9]+", replace(REASONING, efforts=GPT51_EFFORTS), "gpt-5.1 and later"),
    (r"^gpt-5(?![0-9.])", replace(REASONING, efforts=GPT5_EFFORTS), "gpt-5, -mini, -nano"),
    (r"^o1-mini", REASONING, "o1-mini: no reasoning effort"),
    (r"^o[134](?![0-9])", replace(REASONING, efforts=O_SERIES_EFFORTS), "o-series"),
)


def profile_for_model(model_name: str | None) -> ModelProfile:
    """The table's profile for a model name (case-insensitive), classic when unknown."""
    name = (model_name or "").strip().lower()
    for pattern, profile, _ in FAMILIES:
        if re.search(pattern, name):
            return profile
    return CLASSIC


def _flag(capabilities: dict[str, Any], *names: str) -> bool | None:
    """A capability flag as ARM spells it ("true"/"false" strings), read case-insensitively;
    None when ARM did not say."""
    folded = {str(k).lower(): v for k, v in capabilities.items()}
    for name in names:
        value = folded.get(name.lower())
        if value is not None:
            return str(value).strip().lower() == "true"
    return None


def profile_for_deployment(model_name: str | None, capabilities: dict[str, Any]) -> ModelProfile:
    """The table's profile, refined by what ARM says the deployment can do: no chat flag but a
    responses flag means the Responses API; neither (nor embeddings) means no chat surface."""
    profile = profile_for_model(model_name)
    if not capabilities or profile.api == "none":
        return profile
    chat = _flag(capabilities, "chatCompletion", "chat_completion")
    responses = _flag(capabilities, "responses")
    if chat is False and responses:
        tokens: TokenParameter = "max_output_tokens"
        return replace(profile, api="responses", token_parameter=tokens)
    if chat is False and responses is not True and _flag(capabilities, "completion") is not True:
        return replace(profile, api="none", kind=_kind(capabilities))
    return profile


def _kind(capabilities: dict[str, Any]) -> str:
    for flag, kind in (("embeddings", "embedding"), ("imageGenerations", "image")):
        if _flag(capabilities, flag):
            return kind
    return "audio" if _flag(capabilities, "audio", "realtime") else "other"


@dataclass(frozen=True)
class Lesson:
    """What one refusal taught: the profile to retry with, and Azure's words for why."""

    profile: ModelProfile
    reason: str


_API_VERSION_REFUSAL = re.compile(
    r"Model (?P<model>\S+) is enabled only for api versions", re.IGNORECASE
)
_UNRECOGNIZED_MCT = re.compile(r"Unrecognized request argument supplied: max_completion_tokens")


def learn_from_refusal(
    profile: ModelProfile, code: str | None, param: str | None, message: str | None
) -> Lesson | None:
    """The profile a chat job should have used, from Azure's 400 to this one; None when the
    refusal teaches nothing about the model (then it is answered as any other 400)."""
    said = f"Azure answered {code or 'a 400'}" + (f" for {param}" if param else "")
    text = message or ""
    if code in ("unsupported_parameter", "unsupported_value") and param in (
        "max_tokens",
        *SAMPLING,
        "logprobs",
        "logit_bias",
    ):
        learned = replace(REASONING, efforts=profile.efforts or O_SERIES_EFFORTS)
        return Lesson(learned, f"{said}: a reasoning model") if learned != profile else None
    if _UNRECOGNIZED_MCT.search(text) and profile.token_parameter == "max_completion_tokens":
        return Lesson(replace(profile, token_parameter="max_tokens"), f"{said}: {text[:120]}")
    if code == "OperationNotSupported" and profile.api != "responses":
        learned = replace(profile, api="responses", token_parameter="max_output_tokens")
        return Lesson(learned, f"{said}: the model runs on the Responses API only")
    newer = _API_VERSION_REFUSAL.search(text)
    if newer and profile.api == "classic":
        # The refusal names the model: its family says the rest (o-series and gpt-5 are the
        # models that answer this, and they are reasoning models).
        family = profile_for_model(newer["model"])
        learned = family if family.api != "classic" else replace(profile, api="v1")
        return Lesson(learned, f"{said}: {text[:120]}")
    return None


class LearnedProfiles:
    """Profiles Azure's refusals taught this process, per deployment (bounded, most recent)."""

    def __init__(self, most: int = c.LEARNED_PROFILES_MAX) -> None:
        self._most = most
        self._lock = threading.Lock()
        self._known: OrderedDict[str, Lesson] = OrderedDict()

    def get(self, deployment: str) -> Lesson | None:
        with self._lock:
            return self._known.get(deployment)

    def remember(self, deployment: str, lesson: Lesson) -> None:
        with self._lock:
            self._known[deployment] = lesson
            self._known.move_to_end(deployment)
            while len(self._known) > self._most:
                self._known.popitem(last=False)
