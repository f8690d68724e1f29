"""What the simulator is configured with and what it records: deployments, faults, requests.

Each checks its fields when built, so a bad value from a test, a deployments file or the control
API fails with a TypeError or ValueError that names the field.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from types import NoneType
from typing import Any, cast

from local.simulator.families import DATED, Family, family_for
from local.simulator.responses import JSON_TYPE

# Each embedding model's vector length, as Azure OpenAI's model list gives it.
MODEL_DIMENSIONS = {
    "text-embedding-ada-002": 1536,
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
}
# Models whose vector length is fixed: a request naming `dimensions` is refused.
FIXED_DIMENSION_MODELS = frozenset({"text-embedding-ada-002"})
DEFAULT_DIMENSIONS = 1536  # a model this table does not know

FaultBody = bytes | str | dict[str, Any] | list[Any] | None

DEPLOYMENT_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(("name", "model", "version", "sku_name", "provisioning_state"), (str,)),
    "capacity": (int,),
    "dimensions": (int, NoneType),
    **dict.fromkeys(("legacy_scale_settings", "omit_version"), (bool,)),
    "capabilities": (dict, NoneType),
}
FAULT_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(("method", "path", "content_type"), (str, NoneType)),
    **dict.fromkeys(("times", "status"), (int, NoneType)),
    "skip": (int,),
    "delay_s": (int, float),
    "headers": (dict,),
    "body": (bytes, str, dict, list, NoneType),
    **dict.fromkeys(("drop", "cut"), (bool,)),
    "stall_s": (int, float),
}


def check_type(name: str, value: object, *types: type) -> None:
    # bool is an int subclass; JSON true must not pass as a count.
    if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
        expected = " or ".join(t.__name__ for t in types)
        raise TypeError(f"{name} must be {expected}, got {type(value).__name__}")


def _check_fields(obj: object, expected: dict[str, tuple[type, ...]]) -> None:
    for name, types in expected.items():
        check_type(name, getattr(obj, name), *types)


@dataclass(frozen=True)
class Deployment:
    """A model deployment the simulated account serves.

    The last four fields only shape its ARM listing entry, so that readers of ARM can be
    tested against the variants Azure returns; ``model=""`` lists it without a model name, and
    ``capabilities`` replaces the family's ``properties.capabilities`` (what the data plane
    accepts still follows the family). ``dimensions`` is filled in from the model
    (``MODEL_DIMENSIONS``; 1,536 for a model not in it); a model in the table keeps its own, so
    a different number is refused.
    """

    name: str  # deployment name (what the data plane addresses)
    model: str  # model family name, e.g. "gpt-4o"; "" = no model name in the ARM listing
    version: str = "1"
    sku_name: str = "Standard"
    capacity: int = 10
    dimensions: int | None = None  # embedding vector length; None = the model's
    legacy_scale_settings: bool = False  # ARM: no sku, properties.scaleSettings instead
    omit_version: bool = False  # ARM: no properties.model.version
    provisioning_state: str = "Succeeded"  # ARM: properties.provisioningState
    # ARM: properties.capabilities instead of the family's; string values, like ARM's
    capabilities: dict[str, str] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        _check_fields(self, DEPLOYMENT_FIELD_TYPES)
        for key, value in (self.capabilities or {}).items():
            check_type(f"capability {key!r}", value, str)
        if not self.name:
            raise ValueError("name must not be empty")
        own = MODEL_DIMENSIONS.get(self.model.lower())
        if self.dimensions is None:
            object.__setattr__(self, "dimensions", own or DEFAULT_DIMENSIONS)
        elif own is not None and self.dimensions != own:
            raise ValueError(
                f"{self.model} has {own} dimensions (got {self.dimensions}): leave dimensions out"
            )
        if self.capacity < 0 or self.vector_length < 1:
            raise ValueError("capacity must be >= 0 and dimensions >= 1")

    @cached_property
    def family(self) -> Family:
        """What the model accepts (local/simulator/families.py); looked up once."""
        return family_for(self.model)

    @property
    def is_embedding(self) -> bool:
        return self.family.kind == "embedding"

    @property
    def vector_length(self) -> int:
        """The full embedding vector length (``dimensions``, filled in when built)."""
        return cast(int, self.dimensions)

    @property
    def accepts_dimensions(self) -> bool:
        """Whether a request may ask for a shorter vector (text-embedding-3 and later)."""
        return self.model.lower() not in FIXED_DIMENSION_MODELS

    @property
    def model_label(self) -> str:
        """The ``model`` field of a chat answer, e.g. ``gpt-4o-2024-08-06``."""
        dated = DATED.fullmatch(self.version) is not None
        return f"{self.model}-{self.version}" if dated else self.model


DEFAULT_DEPLOYMENTS: tuple[Deployment, ...] = (
    Deployment("gpt-4o", "gpt-4o", "2024-08-06", "GlobalStandard", 50),
    Deployment("gpt-4o-mini", "gpt-4o-mini", "2024-07-18", "Standard", 30),
    Deployment("text-embedding-3-small", "text-embedding-3-small", "1", "Standard", 120),
)
# What `make run` serves besides DEFAULT_DEPLOYMENTS: a reasoning model that takes Chat
# Completions and Responses, and one that takes only Responses.
REASONING_DEPLOYMENTS: tuple[Deployment, ...] = (
    Deployment("gpt-5-mini", "gpt-5-mini", "2025-08-07", "GlobalStandard", 100),
    Deployment("gpt-5-codex", "gpt-5-codex", "2025-09-15", "GlobalStandard", 50),
)


@dataclass
class Fault:
    """One injected fault.

    Matches requests by method and path regex; lets the first ``skip`` matching requests
    through, then applies to the next ``times`` ones (None = forever). With ``path=None`` only
    data-plane requests match; the token endpoint and ARM (paths under ``/subscriptions/``)
    match only an explicit ``path``, e.g. ``Fault(method="GET", path="/deployments$",
    skip=1, status=500)`` fails the 2nd ARM listing page (the method keeps it off the data
    plane's POST /openai/deployments/...); the control API is never faulted. While a fault
    skips a request, later faults in the queue may still match it. With no ``status``,
    ``drop`` or ``cut`` the fault is pure latency (``delay_s``).
    """

    method: str | None = None  # e.g. "POST"; None = any
    path: str | None = None  # regex searched in the unquoted request path
    times: int | None = 1
    skip: int = 0  # matching requests let through before the fault starts applying
    delay_s: float = 0.0  # sleep before acting (a slow answer)
    status: int | None = None  # answer with this status instead of the normal handling
    headers: dict[str, str] = field(default_factory=dict)
    body: FaultBody = None  # dict/list -> JSON; str -> text
    content_type: str | None = None
    drop: bool = False  # close the connection before sending any byte
    cut: bool = False  # full Content-Length, about half the body, then close
    stall_s: float = 0.0  # headers and about half the body, this long a pause, then the rest

    def __post_init__(self) -> None:
        _check_fields(self, FAULT_FIELD_TYPES)
        for name, value in self.headers.items():
            check_type(f"header {name!r}", value, str)
        if self.method is not None:
            self.method = self.method.upper()
        if self.path is not None:
            try:
                re.compile(self.path)
            except re.error as error:
                raise ValueError(f"path is not a valid regex: {error}") from error
        if self.times is not None and self.times < 1:
            raise ValueError("times must be >= 1 (or None for forever)")
        if self.skip < 0:
            raise ValueError("skip must be >= 0")
        if self.delay_s < 0:
            raise ValueError("delay_s must be >= 0")
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError("status must be an HTTP status code")
        if self.stall_s < 0:
            raise ValueError("stall_s must be >= 0")
        if sum((self.drop, self.cut, self.stall_s > 0)) > 1:
            raise ValueError("drop, cut and stall_s are mutually exclusive")

    def matches(self, method: str, path: str, *, data_plane: bool) -> bool:
        if self.method is not None and self.method != method.upper():
            return False
        if self.path is None:
            return data_plane
        return re.search(self.path, path) is not None


@dataclass
class RecordedRequest:
    """A request as the simulator received it, and what it answered (once it has)."""

    method: str
    path: str  # unquoted path, e.g. "/openai/deployments/gpt-4o/chat/completions"
    raw_path: str  # as sent, still percent-encoded, without the query
    query: dict[str, str]  # first value of each parameter
    headers: dict[str, str]  # lower-cased names
    body: bytes
    response_status: int | None = None  # None while pending, or when the fault dropped it
    response_headers: dict[str, str] = field(default_factory=dict)  # lower-cased names

    def json(self) -> Any:
        return json.loads(self.body)

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly view with the body as text (for the control API)."""
        return {**asdict(self), "body": self.body.decode("utf-8", "replace")}


def deployment_from_dict(data: Any) -> Deployment:
    """Build a Deployment from its JSON form; raises TypeError/ValueError when invalid."""
    return cast(Deployment, _dataclass_from_dict(Deployment, data))


def fault_from_dict(data: Any) -> Fault:
    """Build a Fault from its JSON form; a non-string, non-container body is sent as JSON."""
    if isinstance(data, dict) and "body" in data:
        body = data["body"]
        if body is not None and not isinstance(body, str | dict | list):
            data = {**data, "body": json.dumps(body)}
            data.setdefault("content_type", JSON_TYPE)
    return cast(Fault, _dataclass_from_dict(Fault, data))


def load_deployments(path: str | os.PathLike[str]) -> list[Deployment]:
    """Read a JSON list of Deployment field objects."""
    with open(path, encoding="utf-8") as file:
        data = json.load(file)
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of deployments")
    return [deployment_from_dict(item) for item in data]


def unique_deployments(deployments: Iterable[Deployment]) -> tuple[Deployment, ...]:
    """The deployments as a tuple; TypeError for a non-Deployment, ValueError for a name used
    twice."""
    checked = tuple(deployments)
    for deployment in checked:
        check_type("deployment", deployment, Deployment)
    names = [d.name for d in checked]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate deployment names in {names}")
    return checked


def _dataclass_from_dict(cls: type[Any], data: Any) -> Any:
    if not isinstance(data, dict):
        raise TypeError(f"a {cls.__name__} must be a JSON object")
    unknown = sorted(set(data) - {f.name for f in fields(cls)})
    if unknown:
        raise ValueError(f"unknown {cls.__name__} field(s): {', '.join(unknown)}")
    return cls(**data)
