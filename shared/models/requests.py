"""What Polysync sends: the flat JSON parameters of each run, and the route parameters
(docs/design.md §3). Inbound numbers may be JSON numbers or numeric strings; booleans are never
taken for numbers; unknown fields are ignored; a blank string counts as absent."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from shared import constants as c
from shared.errors import InvalidDeploymentName, InvalidRequest


def _no_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    return value


def blank_to_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


MaxTokens = Annotated[int, Field(ge=1, le=c.MAX_TOKENS_CEILING), BeforeValidator(_no_bool)]
Temperature = Annotated[float, Field(ge=0, le=2, allow_inf_nan=False), BeforeValidator(_no_bool)]
OptionalText = Annotated[str | None, BeforeValidator(blank_to_none)]
# A reasoning effort as Azure spells them (docs/contract.md); which ones a model takes is the
# model profile's business (`shared.families`).
Effort = Literal["none", "minimal", "low", "medium", "high", "xhigh"]


def _flag(value: object) -> object:
    """true/false, as a JSON boolean or the strings "true"/"false" (any case)."""
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


Flag = Annotated[bool, BeforeValidator(_flag)]


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    """One entry per problem, naming the field; never echoing the value (it may be a prompt)."""
    return [
        {
            "field": ".".join(str(p) for p in err["loc"]) or "body",
            # pydantic prefixes a validator's own message with "Value error, ": not ours to say
            "problem": err["msg"].removeprefix("Value error, "),
        }
        for err in exc.errors()
    ]


# A JSON body's structure, scanned before it is parsed: a string (skipped whole), or one of the
# bytes that open a container, a key or another element.
_STRUCTURE = re.compile(rb'[\[{:,"]')
_STRING_REST = re.compile(rb'(?:[^"\\]++|\\.)*+"', re.DOTALL)
_UTF8_BOM = b"\xef\xbb\xbf"


def parse_json_object(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or InvalidRequest.

    RFC 8259 JSON between systems is UTF-8 (a UTF-8 byte order mark is ignored); anything else is
    refused before it is parsed. So is a body with more than `MAX_JSON_ELEMENTS` containers,
    keys and elements, counted in one pass over the bytes: parsing never builds more objects
    than that, whatever the body's size (docs/design.md §3)."""
    body = body.removeprefix(_UTF8_BOM)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest(
            "The request body is not UTF-8: send JSON encoded as UTF-8 (RFC 8259).",
            details=[{"field": "body", "problem": "not UTF-8"}],
        ) from None
    _check_structure(body)
    try:
        data = json.loads(text, parse_constant=not_a_json_constant)
    except ValueError:
        raise _not_json() from None
    except RecursionError:
        raise InvalidRequest(
            "The request body is nested too deeply to read; parameters are flat values.",
            details=[{"field": "body", "problem": "nested too deeply"}],
        ) from None
    if not isinstance(data, dict):
        raise InvalidRequest(
            "The request body must be a JSON object of parameters.",
            details=[{"field": "body", "problem": f"a JSON {type(data).__name__}, not an object"}],
        )
    return data


def _check_structure(body: bytes) -> None:
    """At most `MAX_JSON_ELEMENTS` structural bytes outside strings (each string is skipped with
    one C-speed match, so the loop runs at most about twice that many times)."""
    count, position = 0, 0
    while (found := _STRUCTURE.search(body, position)) is not None:
        if found.group() == b'"':
            rest = _STRING_REST.match(body, found.end())
            if rest is None:
                raise _not_json()
            position = rest.end()
            continue
        count += 1
        if count > c.MAX_JSON_ELEMENTS:
            raise InvalidRequest(
                f"The request body has more than {c.MAX_JSON_ELEMENTS} JSON containers, keys and "
                "elements; parameters are a flat object.",
                details=[{"field": "body", "problem": "too many JSON elements"}],
            )
        position = found.end()


def not_a_json_constant(name: str) -> Any:
    """`json.loads`'s `parse_constant`: RFC 8259 has no `NaN` or `Infinity`, and neither do the
    app's answers."""
    raise ValueError(f"{name} is not JSON")


def _not_json() -> InvalidRequest:
    return InvalidRequest(
        "The request body is not valid JSON.",
        details=[{"field": "body", "problem": "not valid JSON"}],
    )


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


RequiredText = Annotated[str, AfterValidator(_not_blank)]
# Azure's file ids and batch settings are checked here, so a typo is a clear 400 (or, in a job
# attribute, a clear InvalidJobDefinition) instead of a call to Azure. Blank counts as absent.
FileId = Annotated[
    Annotated[str, StringConstraints(pattern=r"^file-[A-Za-z0-9_-]{1,128}$")] | None,
    BeforeValidator(blank_to_none),
]
BatchEndpoint = Annotated[
    Annotated[str, StringConstraints(pattern=r"^/[a-z0-9_./-]{1,100}$")] | None,
    BeforeValidator(blank_to_none),
]
CompletionWindow = Annotated[
    Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,3}[hd]$")] | None,
    BeforeValidator(blank_to_none),
]


class RunRequest(BaseModel):
    """The flat JSON parameters of a run; unknown fields are ignored (docs/design.md §3)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)  # built on first use

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Self:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            details = validation_details(exc)
            fields = ", ".join(sorted({d["field"] for d in details}))
            raise InvalidRequest(f"Invalid parameters: {fields}.", details=details) from None


class ChatRunRequest(RunRequest):
    """The parameters of an Azure OpenAI Chat Completion run (docs/design.md §4)."""

    user_prompt: RequiredText
    system_prompt: OptionalText = None
    max_tokens: MaxTokens | None = None
    temperature: Temperature | None = None
    reasoning_effort: Effort | None = None
    background: Flag | None = None


class EmbeddingRunRequest(RunRequest):
    """The parameters of an Azure OpenAI Embedding run (docs/design.md §5)."""

    input: RequiredText


class BatchRunRequest(RunRequest):
    """The parameters of an Azure OpenAI Batch Job run (docs/design.md §6): each overrides its job
    attribute."""

    input_file_id: FileId = None
    endpoint: BatchEndpoint = None
    completion_window: CompletionWindow = None


# --- route parameters ----------------------------------------------------------------------

DEPLOYMENT_NAME_PATTERN = rf"[A-Za-z0-9._-]{{1,{c.DEPLOYMENT_NAME_MAX_LEN}}}"
_DEPLOYMENT_NAME = re.compile(DEPLOYMENT_NAME_PATTERN)


def validate_deployment_name(value: str, *, allow_batch_suffix: bool = False) -> str:
    """The deployment name of a route parameter (letters, digits, `-`, `_`, `.`, at most 64),
    with the `::batch` suffix stripped where allowed; InvalidDeploymentName otherwise."""
    name = value
    if allow_batch_suffix and name.endswith(c.BATCH_SUFFIX):
        name = name[: -len(c.BATCH_SUFFIX)]
    if not _DEPLOYMENT_NAME.fullmatch(name) or name in {".", ".."}:
        raise InvalidDeploymentName(
            "The deployment name must be 1 to 64 letters, digits, '-', '_' or '.'"
            + (" (optionally followed by '::batch')." if allow_batch_suffix else ".")
        )
    return name
