"""Model families: what a deployment's model accepts, keyed by the model name (exact, else the
longest prefix: ``gpt-5.1-codex-max-2025`` is the codex-max family, ``gpt-4.1-mini`` gpt-4.1's).

Sources: MicrosoftDocs/azure-ai-docs ``articles/ai-foundry/openai/how-to/reasoning.md`` (January
2026) for which models take Chat Completions and which only Responses, the context and output
windows and the ``reasoning_effort`` values (minimal for gpt-5; none for gpt-5.1, gpt-5.2 and the
gpt-5.1 codex models, gpt-5.1 defaulting to it; xhigh only for gpt-5.1-codex-max; only high for
gpt-5-pro; no minimal for gpt-5-codex; none at all for o1-mini); ``responses.md`` for the models
the Responses API serves. The classic path refuses o-series and gpt-5 models before
2024-12-01-preview ("Model o4-mini is enabled only for api versions 2024-12-01-preview and
later", microsoft/semantic-kernel#12268 and others), o1-mini before 2024-09-01-preview.
gpt-5-chat is not a reasoning model (stanfordnlp/dspy#9032); gpt-35-turbo has no Responses ("The
responses operation does not work with the specified model, gpt-35-turbo"). A name no family
knows is a classic chat model; one containing "embedding" is an embedding model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["chat", "embedding", "image", "audio"]
Operation = Literal["chatCompletion", "embeddings", "responses"]

# api-versions the classic path needs (the v1 path has none).
MAX_COMPLETION_TOKENS_API_VERSION = "2024-09-01-preview"  # the first that knows the parameter
REASONING_API_VERSION = "2024-12-01-preview"  # o-series and gpt-5 models
O1_MINI_API_VERSION = "2024-09-01-preview"
EMBEDDINGS_MAX_INPUTS = 2048
EMBEDDINGS_CONTEXT = 8191
DATED = re.compile(r"\d{4}-\d{2}-\d{2}")

LMH = ("low", "medium", "high")
GPT5_EFFORTS = ("minimal", *LMH)
GPT51_EFFORTS = ("none", *LMH)


@dataclass(frozen=True)
class Family:
    """What the models of one family accept."""

    name: str
    models: tuple[str, ...]  # model names, matched exactly or as a prefix
    kind: Kind = "chat"
    chat: bool = True  # Chat Completions
    responses: bool = True  # the Responses API
    reasoning: bool = False
    efforts: tuple[str, ...] = ()  # accepted reasoning_effort values
    default_effort: str | None = None  # the effort of a request that names none
    min_classic_api_version: str | None = None  # on /openai/deployments/...; None = any
    max_context_tokens: int | None = None
    max_output_tokens: int | None = None
    assistants: bool = False  # the ARM capability
    legacy_sampling_error: bool = False  # o1: "Unsupported parameter" for temperature & co.

    def supports(self, operation: Operation) -> bool:
        if operation == "embeddings":
            return self.kind == "embedding"
        if operation == "responses":
            return self.responses
        return self.chat

    def capabilities(self) -> dict[str, str]:
        """The ARM listing's ``properties.capabilities`` (string values, as ARM gives them)."""
        if self.kind == "embedding":
            return {"embeddings": "true", "embeddingsMaxInputs": str(EMBEDDINGS_MAX_INPUTS)}
        if self.kind == "image":
            return {"imageGenerations": "true"}
        if self.kind == "audio":
            return {"audio": "true"}
        flags = {"chatCompletion": self.chat, "responses": self.responses}
        flags["assistants"] = self.assistants
        capabilities = {name: "true" for name, on in flags.items() if on}
        if self.max_context_tokens is not None:
            capabilities["maxContextToken"] = str(self.max_context_tokens)
        if self.max_output_tokens is not None:
            capabilities["maxOutputToken"] = str(self.max_output_tokens)
        return capabilities


def _classic(name: str, *models: str, context: int, output: int, responses: bool = True) -> Family:
    return Family(
        name,
        models,
        responses=responses,
        max_context_tokens=context,
        max_output_tokens=output,
        assistants=True,
    )


def _reasoning(
    name: str,
    *models: str,
    efforts: tuple[str, ...],
    default: str,
    chat: bool = True,
    context: int = 400_000,
    output: int = 128_000,
    legacy: bool = False,
) -> Family:
    return Family(
        name,
        models,
        chat=chat,
        reasoning=True,
        efforts=efforts,
        default_effort=default,
        min_classic_api_version=REASONING_API_VERSION,
        max_context_tokens=context,
        max_output_tokens=output,
        legacy_sampling_error=legacy,
    )


def _media(name: str, kind: Kind, *models: str) -> Family:
    return Family(name, models, kind=kind, chat=False, responses=False)


CLASSIC_CHAT = Family("classic-chat", ())  # a model no family names
EMBEDDING = Family(
    "embedding",
    ("text-embedding-",),
    kind="embedding",
    chat=False,
    responses=False,
    max_context_tokens=EMBEDDINGS_CONTEXT,
)

FAMILIES: tuple[Family, ...] = (
    # Classic chat models: max_tokens, temperature and the rest; no reasoning_effort.
    _classic(
        "gpt-35-turbo",
        "gpt-35-turbo",
        "gpt-3.5-turbo",
        context=16_385,
        output=4_096,
        responses=False,
    ),
    Family("gpt-4", ("gpt-4", "gpt-4-32k", "gpt-4-turbo"), responses=False, assistants=True),
    _classic("gpt-4o", "gpt-4o", context=128_000, output=16_384),
    _classic("gpt-4o-mini", "gpt-4o-mini", context=128_000, output=16_384),
    _classic("gpt-4.1", "gpt-4.1", context=1_047_576, output=32_768),
    Family(
        "gpt-5-chat",
        ("gpt-5-chat",),
        min_classic_api_version=REASONING_API_VERSION,
        max_context_tokens=128_000,
        max_output_tokens=16_384,
    ),
    # o-series reasoning models.
    Family(
        "o1-mini",
        ("o1-mini",),
        responses=False,
        reasoning=True,
        min_classic_api_version=O1_MINI_API_VERSION,
        max_context_tokens=128_000,
        max_output_tokens=65_536,
        legacy_sampling_error=True,
    ),
    _reasoning(
        "o1", "o1", efforts=LMH, default="medium", legacy=True, context=200_000, output=100_000
    ),
    _reasoning(
        "o-series",
        "o3-mini",
        "o3",
        "o4-mini",
        efforts=LMH,
        default="medium",
        context=200_000,
        output=100_000,
    ),
    _reasoning(
        "o-series-responses",
        "o3-pro",
        "codex-mini",
        efforts=LMH,
        default="medium",
        chat=False,
        context=200_000,
        output=100_000,
    ),
    # gpt-5 series reasoning models.
    _reasoning(
        "gpt-5", "gpt-5", "gpt-5-mini", "gpt-5-nano", efforts=GPT5_EFFORTS, default="medium"
    ),
    _reasoning("gpt-5.1", "gpt-5.1", "gpt-5.2", efforts=GPT51_EFFORTS, default="none"),
    _reasoning(
        "gpt-5.1-chat",
        "gpt-5.1-chat",
        "gpt-5.2-chat",
        efforts=("medium",),
        default="medium",
        context=128_000,
        output=16_384,
    ),
    _reasoning("gpt-5-pro", "gpt-5-pro", efforts=("high",), default="high", chat=False),
    _reasoning("gpt-5-codex", "gpt-5-codex", efforts=LMH, default="medium", chat=False),
    _reasoning(
        "gpt-5.1-codex",
        "gpt-5.1-codex",
        "gpt-5.1-codex-mini",
        efforts=GPT51_EFFORTS,
        default="medium",
        chat=False,
    ),
    _reasoning(
        "gpt-5.1-codex-max",
        "gpt-5.1-codex-max",
        efforts=(*GPT51_EFFORTS, "xhigh"),
        default="medium",
        chat=False,
    ),
    _reasoning("gpt-5.2-codex", "gpt-5.2-codex", efforts=LMH, default="medium", chat=False),
    # Not chat at all.
    EMBEDDING,
    _media("image", "image", "dall-e-2", "dall-e-3", "gpt-image-1"),
    _media(
        "audio",
        "audio",
        "whisper",
        "tts",
        "gpt-4o-transcribe",
        "gpt-4o-mini-transcribe",
        "gpt-4o-mini-tts",
    ),
)


def family_for(model: str) -> Family:
    """The family of a model name (case-insensitive): exact, else the longest prefix."""
    name = model.lower()
    if "embedding" in name:
        return EMBEDDING
    best: tuple[int, Family] | None = None
    for family in FAMILIES:
        for known in family.models:
            if name.startswith(known) and (best is None or len(known) > best[0]):
                best = (len(known), family)
    return CLASSIC_CHAT if best is None else best[1]


def older_than(api_version: str | None, threshold: str) -> bool:
    """Whether a classic path's api-version predates ``threshold`` (by their dates; a version
    without a date, such as "preview" or "latest", is never older)."""
    if api_version is None or DATED.match(api_version) is None:
        return False
    return api_version[:10] < threshold[:10]
