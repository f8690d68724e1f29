"""No-cloud simulator of Azure OpenAI and of the App Service managed-identity token endpoint.

Tests use it in-process (``with Simulator() as sim: ...``); ``python -m local.simulator``
serves it for local runs. It speaks real HTTP on a loopback socket, so the app's HTTP
stack, credential chain and retry logic run unmodified; only the URLs change.

Data plane (Azure OpenAI; every route needs ?api-version=... and an api-key or a Bearer token):
    POST /openai/deployments/{deployment}/chat/completions?api-version=...
    POST /openai/deployments/{deployment}/embeddings?api-version=...
    POST /openai/files   (multipart/form-data: purpose=batch, file)   GET /openai/files
    GET|DELETE /openai/files/{file_id}   GET /openai/files/{file_id}/content
    POST|GET /openai/batches   GET /openai/batches/{batch_id}
    POST /openai/batches/{batch_id}/cancel
    A batch advances lazily, ``batch_step_s`` seconds per state (validating -> in_progress ->
    finalizing -> completed); leaving validating checks the input file's lines, reaching
    finalizing answers each line with the chat or embeddings logic above (``body.model`` is the
    deployment). ``batch_outcome`` makes new batches fail or expire instead, ``set_batch_status()``
    pins one, ``batch_format="azure"`` answers PascalCase statuses and ISO 8601 timestamps.
Managed identity (App Service protocol; azure-identity uses it when IDENTITY_ENDPOINT and
IDENTITY_HEADER are set):
    GET  /msi/token?api-version=2019-08-01&resource=...[&client_id=...]
Azure Resource Manager (the account's deployments, paged by ``arm_page_size`` with an absolute
``nextLink``; needs a Bearer token this simulator issued for https://management.azure.com or
https://management.core.windows.net; recorded apart, in ``arm_requests()``):
    GET  /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/
         accounts/{account}/deployments?api-version=2023-05-01[&$skipToken=...]
Control API (JSON, no auth, loopback only):
    GET|DELETE /_sim/requests   GET|POST|DELETE /_sim/faults   GET /_sim/arm-requests
    GET|PUT    /_sim/deployments   PUT /_sim/latency
    GET        /_sim/batches   PUT /_sim/batches/{batch_id} {"status": ...}
    GET|PUT    /_sim/batch-settings {"step_s": ..., "outcome": ..., "format": ...}

A chat message containing ``[[filter-prompt]]`` is rejected by the simulated content filter
(HTTP 400); one containing ``[[filter-completion]]`` yields an empty, filtered completion.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import email.policy
import hashlib
import json
import math
import os
import random
import re
import signal
import socket
import struct
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from email.parser import BytesParser
from types import NoneType
from typing import Any, Literal, Self, cast, get_args
from urllib.parse import parse_qs, quote, unquote, urlsplit

from local._http import KeepAliveHandler, TrackingHTTPServer

COGNITIVE_SERVICES_AUDIENCE = "https://cognitiveservices.azure.com"
IDENTITY_API_VERSION = "2019-08-01"
TOKEN_PATH = "/msi/token"
CONTROL_PREFIX = "/_sim"
OPENAI_DEPLOYMENT_PATH = r"/openai/deployments/(?P<deployment>[^/]+)"
FILES_PATH = r"/openai/files"
FILE_PATH = FILES_PATH + r"/(?P<file_id>[^/]+)"
BATCHES_PATH = r"/openai/batches"
BATCH_PATH = BATCHES_PATH + r"/(?P<batch_id>[^/]+)"
TOKEN_PREFIX = "simtok-"
DEFAULT_CLIENT_ID = "5e1f0000-5e1f-4000-8000-000000000001"
REGION = "Sweden Central"
SYSTEM_FINGERPRINT = "fp_sim"
JSON_TYPE = "application/json"
TEXT_TYPE = "text/plain; charset=utf-8"
BINARY_TYPE = "application/octet-stream"

PROMPT_FILTER_MARKER = "[[filter-prompt]]"
COMPLETION_FILTER_MARKER = "[[filter-completion]]"
CHAT_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
TOKENS_PER_MESSAGE = 4
EMBEDDING_DECIMALS = 8
ENCODING_FORMATS = ("float", "base64")
# Azure quota: one unit of deployment capacity is 1,000 tokens and 6 requests per minute.
TOKENS_PER_CAPACITY_UNIT = 1000
REQUESTS_PER_CAPACITY_UNIT = 6
DATED_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}")

REQUEST_LOG_MAX = 10_000  # recorded requests kept per log (data plane, token, ARM)
STOP_JOIN_TIMEOUT_S = 5.0
SHUTDOWN_POLL_S = 0.05  # how long stop() waits for the accept loop to notice
DEFAULT_HOST = "127.0.0.1"
DEFAULT_CLI_PORT = 7072
DEFAULT_API_KEY = "sim-api-key"
DEFAULT_IDENTITY_HEADER = "sim-identity-header"
DEPLOYMENTS_FILE_ENV = "SIM_DEPLOYMENTS_FILE"

# -- Azure Resource Manager ---------------------------------------------------------------
ARM_PREFIX = "/subscriptions"  # a path under it is an ARM request (case-insensitive)
ARM_API_VERSION = "2023-05-01"
ARM_DEPLOYMENTS_PATH = (
    r"(?i)/subscriptions/(?P<subscription>[^/]+)/resourceGroups/(?P<resource_group>[^/]+)"
    r"/providers/Microsoft\.CognitiveServices/accounts/(?P<account>[^/]+)/deployments"
)
# Token audiences ARM accepts, compared without a trailing slash and case-insensitively.
ARM_AUDIENCES = ("https://management.core.windows.net", "https://management.azure.com")
DEFAULT_SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
DEFAULT_RESOURCE_GROUP = "rg-local"
DEFAULT_ACCOUNT = "local-aoai"
DEFAULT_ARM_PAGE_SIZE = 50
ARM_DEPLOYMENT_TYPE = "Microsoft.CognitiveServices/accounts/deployments"
ARM_CREATED_AT = "2025-01-10T10:00:00Z"
ARM_READS_REMAINING = "249"
SKIP_TOKEN_PARAM = "$skipToken"
SKIP_TOKEN_PREFIX = "sim-offset:"

BEARER_REJECTED = (
    "Unauthorized. Access token is missing, invalid, audience is incorrect "
    "(https://cognitiveservices.azure.com), or have expired."
)
KEY_REJECTED = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
    "provide a valid key for an active subscription and use a correct regional API "
    "endpoint for your resource."
)
DEPLOYMENT_NOT_FOUND = (
    "The API deployment for this resource does not exist. If you created the deployment "
    "within the last 5 minutes, please wait a moment and try again."
)
OPERATION_NOT_SUPPORTED = (
    "The {operation} operation does not work with the specified model, {model}. Please "
    "choose different model and try again. You can learn more about which models can be "
    "used with each operation here: https://go.microsoft.com/fwlink/?linkid=2197993."
)
PROMPT_FILTERED = (
    "The response was filtered due to the prompt triggering Azure OpenAI's content "
    "management policy. Please modify your prompt and retry. To learn more about our "
    "content filtering policies please read our documentation: "
    "https://go.microsoft.com/fwlink/?linkid=2198766"
)
INVALID_JSON = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
    "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
    "sent was not valid JSON.)"
)
INVALID_INPUT = (
    "'$.input' is invalid. Please check the API reference: "
    "https://platform.openai.com/docs/api-reference."
)
ARM_AUTH_MISSING = "Authentication failed. The 'Authorization' header is missing."
ARM_AUTH_INVALID_HEADER = (
    "Authentication failed. The 'Authorization' header is provided in an invalid format."
)
ARM_TOKEN_INVALID = "The access token is invalid."
ARM_WRONG_AUDIENCE = (
    "The access token has been obtained for wrong audience or resource '{audience}'. It should "
    "exactly match with one of the allowed audiences 'https://management.core.windows.net/',"
    "'https://management.core.windows.net','https://management.azure.com/',"
    "'https://management.azure.com'."
)
ARM_MISSING_API_VERSION = (
    "The api-version query parameter (?api-version=) is required for all requests."
)
ARM_SUBSCRIPTION_NOT_FOUND = "The subscription '{subscription}' could not be found."
ARM_RESOURCE_GROUP_NOT_FOUND = "Resource group '{resource_group}' could not be found."
ARM_ACCOUNT_NOT_FOUND = (
    "The Resource 'Microsoft.CognitiveServices/accounts/{account}' under resource group "
    "'{resource_group}' was not found. For more details please go to "
    "https://aka.ms/ARMResourceNotFoundFix"
)
ARM_INVALID_SKIP_TOKEN = "The skip token '{token}' is not valid."

# -- Files and Batch API ------------------------------------------------------------------
FILE_ID_PREFIX = "file-"
BATCH_ID_PREFIX = "batch_"
BATCH_REQUEST_ID_PREFIX = "batch_req_"
PURPOSE_BATCH = "batch"  # the only purpose an upload may have
PURPOSE_BATCH_OUTPUT = "batch_output"  # output and error files of a batch
DEFAULT_UPLOAD_NAME = "input.jsonl"
BATCH_ENDPOINTS = ("/chat/completions", "/embeddings", "/v1/chat/completions")
BATCH_COMPLETION_WINDOW = "24h"
BATCH_WINDOW_S = 86_400  # expires_at = created_at + this
BATCH_MAX_TASKS = 100_000
BATCH_METADATA_MAX_PAIRS = 16
DEFAULT_BATCH_STEP_S = 2.0
BATCH_TASK_API_VERSION = "2024-10-21"  # what a batch line's request is run with
ISO_UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
FILE_NOT_FOUND = "File not found"
BATCH_NOT_FOUND = "Batch not found"
UPLOAD_NOT_MULTIPART = (
    "The request must be multipart/form-data with the form fields 'purpose' and 'file'."
)
UPLOAD_BAD_PURPOSE = (
    "The form field 'purpose' must be 'batch' (got {purpose}); this simulator stores batch "
    "input files only."
)
UPLOAD_MISSING_FILE = (
    "The form field 'file' is required: send the file as a multipart/form-data part named "
    "'file' with a filename."
)
SIMULATED_BATCH_FAILURE = "Simulated batch failure."
BATCH_REQUEST_EXPIRED = "This request could not be executed before the completion window expired."
UTF8_BOM = b"\xef\xbb\xbf"

RATE_LIMITED = (
    "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version "
    "2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. "
    "Please retry after 1 second."
)

Plane = Literal["data", "token", "arm", "control"]
BatchStatus = Literal[
    "validating",
    "in_progress",
    "finalizing",
    "completed",
    "failed",
    "expired",
    "cancelling",
    "cancelled",
]
BatchOutcome = Literal["completed", "failed", "expired"]  # how new batches end
BatchFormat = Literal["openai", "azure"]  # lowercase + Unix ints, or PascalCase + ISO 8601
BATCH_STATUSES: tuple[BatchStatus, ...] = get_args(BatchStatus)
BATCH_OUTCOMES: tuple[BatchOutcome, ...] = get_args(BatchOutcome)
BATCH_FORMATS: tuple[BatchFormat, ...] = get_args(BatchFormat)
TERMINAL_BATCH_STATUSES: frozenset[BatchStatus] = frozenset(
    ("completed", "failed", "expired", "cancelled")
)
AZURE_BATCH_STATUSES: dict[BatchStatus, str] = {
    status: "".join(word.capitalize() for word in status.split("_")) for status in BATCH_STATUSES
}
BATCH_TIMESTAMPS = (
    "created_at",
    "in_progress_at",
    "expires_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
)
# The timestamps (besides created_at and expires_at) a batch pinned to a status shows.
PINNED_TIMESTAMPS: dict[BatchStatus, tuple[str, ...]] = {
    "validating": (),
    "in_progress": ("in_progress_at",),
    "finalizing": ("in_progress_at", "finalizing_at"),
    "completed": ("in_progress_at", "finalizing_at", "completed_at"),
    "failed": ("failed_at",),
    "expired": ("in_progress_at", "expired_at"),
    "cancelling": ("in_progress_at", "cancelling_at"),
    "cancelled": ("in_progress_at", "cancelling_at", "cancelled_at"),
}
FaultBody = bytes | str | dict[str, Any] | list[Any] | None

DEPLOYMENT_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(("name", "model", "version", "sku_name", "provisioning_state"), (str,)),
    **dict.fromkeys(("capacity", "dimensions"), (int,)),
    **dict.fromkeys(("legacy_scale_settings", "omit_version"), (bool,)),
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


def _check_type(name: str, value: object, *types: type) -> None:
    # bool is an int subclass; JSON true must not pass as a count.
    if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
        expected = " or ".join(t.__name__ for t in types)
        raise TypeError(f"{name} must be {expected}, got {type(value).__name__}")


def _check_fields(obj: object, expected: dict[str, tuple[type, ...]]) -> None:
    for name, types in expected.items():
        _check_type(name, getattr(obj, name), *types)


@dataclass(frozen=True)
class Deployment:
    """A model deployment the simulated account serves.

    The last three fields only shape its ARM listing entry, so that readers of ARM can be
    tested against the variants Azure returns; ``model=""`` lists it without a model name.
    """

    name: str  # deployment name (what the data plane addresses)
    model: str  # model family name, e.g. "gpt-4o"; "" = no model name in the ARM listing
    version: str = "1"
    sku_name: str = "Standard"
    capacity: int = 10
    dimensions: int = 1536  # embedding vector length, used for embedding models
    legacy_scale_settings: bool = False  # ARM: no sku, properties.scaleSettings instead
    omit_version: bool = False  # ARM: no properties.model.version
    provisioning_state: str = "Succeeded"  # ARM: properties.provisioningState

    def __post_init__(self) -> None:
        _check_fields(self, DEPLOYMENT_FIELD_TYPES)
        if not self.name:
            raise ValueError("name must not be empty")
        if self.capacity < 0 or self.dimensions < 1:
            raise ValueError("capacity must be >= 0 and dimensions >= 1")

    @property
    def is_embedding(self) -> bool:
        return "embedding" in self.model.lower()

    @property
    def model_label(self) -> str:
        """The ``model`` field of a chat answer, e.g. ``gpt-4o-2024-08-06``."""
        dated = DATED_VERSION.fullmatch(self.version) is not None
        return f"{self.model}-{self.version}" if dated else self.model


DEFAULT_DEPLOYMENTS: tuple[Deployment, ...] = (
    Deployment("gpt-4o", "gpt-4o", "2024-08-06", "GlobalStandard", 50),
    Deployment("gpt-4o-mini", "gpt-4o-mini", "2024-07-18", "Standard", 30),
    Deployment(
        "text-embedding-3-small", "text-embedding-3-small", "1", "Standard", 120, dimensions=1536
    ),
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
            _check_type(f"header {name!r}", value, str)
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


def _dataclass_from_dict(cls: type[Any], data: Any) -> Any:
    if not isinstance(data, dict):
        raise TypeError(f"a {cls.__name__} must be a JSON object")
    unknown = sorted(set(data) - {f.name for f in fields(cls)})
    if unknown:
        raise ValueError(f"unknown {cls.__name__} field(s): {', '.join(unknown)}")
    return cls(**data)


@dataclass(frozen=True)
class _IssuedToken:
    audience: str
    expires_at: float


@dataclass(frozen=True)
class _StoredFile:
    id: str
    filename: str
    purpose: str
    content: bytes
    created_at: int  # Unix seconds

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "purpose": self.purpose,
            "filename": self.filename,
            "bytes": len(self.content),
            "created_at": self.created_at,
            "status": "processed",
            "status_details": None,
        }


@dataclass(frozen=True)
class _BatchTask:
    """One valid line of a batch input file."""

    line: int  # 1-based
    custom_id: str
    model: str  # body.model: the deployment that answers it
    body: dict[str, Any]


# An answered line: whether it succeeded (output file) or not (error file), and the line.
_BatchResult = tuple[bool, dict[str, Any]]


@dataclass
class _Batch:
    """A batch and the states it has reached so far (see Simulator._advance_locked)."""

    id: str
    endpoint: str
    input_file_id: str
    completion_window: str
    metadata: dict[str, str] | None
    content: bytes  # the input file as it was when the batch was created
    outcome: BatchOutcome
    step_s: float  # the schedule's step, as set when the batch was created
    started: float  # clock reading at creation; state k is reached at started + k * step_s
    status: BatchStatus = "validating"
    timestamps: dict[str, int] = field(default_factory=dict)  # "<state>_at" -> Unix seconds
    errors: list[dict[str, Any]] | None = None  # errors.data once failed
    request_counts: dict[str, int] | None = None
    validation_errors: list[dict[str, Any]] | None = None  # None until validated
    tasks: list[_BatchTask] = field(default_factory=list)  # the valid lines, once validated
    results: list[_BatchResult] = field(default_factory=list)  # answers to tasks[:len(...)]
    output_file_id: str | None = None
    error_file_id: str | None = None
    cancel_started: float | None = None  # clock reading of the cancel request
    pinned: bool = False  # set_batch_status() froze it


@dataclass(frozen=True)
class _Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names


class _Reject(Exception):
    """Raised by validation to answer with ``response`` instead of continuing."""

    def __init__(self, response: _Response) -> None:
        super().__init__(response.status)
        self.response = response


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> _Response:
    extra = {name.lower(): value for name, value in (headers or {}).items()}
    return _Response(status, json.dumps(payload).encode(), {"content-type": JSON_TYPE, **extra})


def _azure_error(status: int, code: str, message: str) -> _Response:
    return _json(status, {"error": {"code": code, "message": message}})


def _identity_error(status: int, message: str) -> _Response:
    return _json(status, {"statusCode": status, "message": message})


def _invalid_request(message: str, param: str | None) -> _Reject:
    error = {"message": message, "type": "invalid_request_error", "param": param, "code": None}
    return _Reject(_json(400, {"error": error}))


def _resource_not_found() -> _Response:
    return _azure_error(404, "404", "Resource not found")


def _not_found(message: str) -> _Reject:
    """A 404 for an unknown file or batch, worded like Azure's."""
    return _Reject(_azure_error(404, "404", message))


class Simulator:
    """Azure OpenAI + managed-identity simulator serving HTTP from a daemon thread.

    It records the requests it receives in three logs (``requests()``, ``token_requests()``,
    ``arm_requests()``), each keeping the latest ``REQUEST_LOG_MAX`` (10,000) requests.
    """

    def __init__(
        self,
        deployments: Iterable[Deployment] = DEFAULT_DEPLOYMENTS,
        *,
        api_key: str = DEFAULT_API_KEY,
        identity_header: str = DEFAULT_IDENTITY_HEADER,
        host: str = DEFAULT_HOST,
        port: int = 0,
        token_lifetime_s: int = 3600,
        latency_s: float = 0.0,
        verbose: bool = False,
        subscription_id: str = DEFAULT_SUBSCRIPTION_ID,
        resource_group: str = DEFAULT_RESOURCE_GROUP,
        account: str = DEFAULT_ACCOUNT,
        arm_page_size: int = DEFAULT_ARM_PAGE_SIZE,
        batch_step_s: float = DEFAULT_BATCH_STEP_S,
    ) -> None:
        for name, value in (
            ("subscription_id", subscription_id),
            ("resource_group", resource_group),
            ("account", account),
        ):
            _check_type(name, value, str)
            if not value or "/" in value:
                raise ValueError(f"{name} must be a non-empty path segment")
        self.api_key = api_key
        self.identity_header = identity_header
        self.host = host
        self.port = port
        self.token_lifetime_s = token_lifetime_s
        self.verbose = verbose
        self._initial_deployments = _unique(deployments)
        self.latency_s = latency_s  # the setter checks it
        self._initial_latency_s = self.latency_s
        # ARM: which account the management plane lists (settable; reset() restores them).
        self.subscription_id = subscription_id
        self.resource_group = resource_group
        self.account = account
        self.arm_page_size = arm_page_size
        self._initial_arm = (subscription_id, resource_group, account, arm_page_size)
        # Batches: seconds per state, how new ones end, which answer variant (settable;
        # reset() restores them). The clock gives real Unix seconds for the timestamps.
        self.batch_step_s = batch_step_s
        self._initial_batch_step_s = self.batch_step_s
        self.batch_outcome = "completed"
        self.batch_format = "openai"
        self._clock: Callable[[], float] = time.time
        # Re-entrant: a batch reaching finalizing runs its lines through the chat and
        # embeddings handlers while holding it, and they look deployments up under it too.
        self._lock = threading.RLock()
        self._deployments = self._initial_deployments
        self._tokens: dict[str, _IssuedToken] = {}
        # Bounded, so a long-running simulator does not grow without end: the oldest go first.
        self._requests: deque[RecordedRequest] = deque(maxlen=REQUEST_LOG_MAX)
        self._token_requests: deque[RecordedRequest] = deque(maxlen=REQUEST_LOG_MAX)
        self._arm_requests: deque[RecordedRequest] = deque(maxlen=REQUEST_LOG_MAX)
        self._faults: list[Fault] = []
        self._files: dict[str, _StoredFile] = {}
        self._batches: dict[str, _Batch] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> Self:
        """Bind (port 0 = a free port) and serve from a daemon thread."""
        if self._server is not None:
            raise RuntimeError("simulator already running")
        self._stopping = threading.Event()
        self._server = _Server((self.host, self.port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_S},
            name="aoai-simulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()  # wakes handlers sleeping in delays
        server.shutdown()
        server.close_open_connections()
        server.server_close()
        thread.join(STOP_JOIN_TIMEOUT_S)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("simulator is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def identity_endpoint(self) -> str:
        return self.url + TOKEN_PATH

    @property
    def arm_deployments_url(self) -> str:
        """The ARM deployments listing of the configured account, without the query."""
        return (
            f"{self.url}/subscriptions/{self.subscription_id}/resourceGroups/"
            f"{self.resource_group}/providers/Microsoft.CognitiveServices/accounts/"
            f"{self.account}/deployments"
        )

    # -- state -------------------------------------------------------------------------

    @property
    def latency_s(self) -> float:
        return self._latency_s

    @latency_s.setter
    def latency_s(self, value: float) -> None:
        _check_type("latency_s", value, int, float)
        if value < 0:
            raise ValueError("latency_s must be >= 0")
        self._latency_s = float(value)

    @property
    def arm_page_size(self) -> int:
        """How many deployments one ARM listing page holds."""
        return self._arm_page_size

    @arm_page_size.setter
    def arm_page_size(self, value: int) -> None:
        _check_type("arm_page_size", value, int)
        if value < 1:
            raise ValueError("arm_page_size must be >= 1")
        self._arm_page_size = value

    @property
    def deployments(self) -> list[Deployment]:
        with self._lock:
            return list(self._deployments)

    @deployments.setter
    def deployments(self, value: Iterable[Deployment]) -> None:
        self.set_deployments(value)

    def set_deployments(self, deployments: Iterable[Deployment]) -> None:
        checked = _unique(deployments)
        with self._lock:
            self._deployments = checked

    def requests(self, path_contains: str | None = None) -> list[RecordedRequest]:
        """Recorded data-plane requests (not token, not control), oldest first; the latest
        ``REQUEST_LOG_MAX`` of them."""
        with self._lock:
            recorded = list(self._requests)
        return [r for r in recorded if path_contains is None or path_contains in r.path]

    def token_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._token_requests)

    def arm_requests(self, path_contains: str | None = None) -> list[RecordedRequest]:
        """Recorded ARM (management-plane) requests, oldest first."""
        with self._lock:
            recorded = list(self._arm_requests)
        return [r for r in recorded if path_contains is None or path_contains in r.path]

    def issued_tokens(self) -> dict[str, str]:
        """Unexpired tokens this simulator issued, mapped to their audience."""
        now = time.time()
        with self._lock:
            return {t: i.audience for t, i in self._tokens.items() if i.expires_at > now}

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._token_requests.clear()
            self._arm_requests.clear()

    def add_fault(self, fault: Fault) -> None:
        """Queue a fault. A copy is stored, so the caller's object is never mutated."""
        with self._lock:
            self._faults.append(replace(fault))

    def faults(self) -> list[Fault]:
        with self._lock:
            return [replace(fault) for fault in self._faults]

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def reset(self) -> None:
        """Forget requests, faults, files and batches; restore the constructor's deployments,
        latency, ARM settings (subscription, resource group, account, page size) and batch step,
        and the default batch outcome and format."""
        self.clear()
        self.clear_faults()
        with self._lock:
            self._files.clear()
            self._batches.clear()
        self.batch_step_s = self._initial_batch_step_s
        self.batch_outcome = "completed"
        self.batch_format = "openai"
        self.latency_s = self._initial_latency_s
        self.set_deployments(self._initial_deployments)
        (
            self.subscription_id,
            self.resource_group,
            self.account,
            self.arm_page_size,
        ) = self._initial_arm

    # -- Files and Batch API -----------------------------------------------------------

    @property
    def batch_step_s(self) -> float:
        """Seconds a batch spends in each state; 0 = terminal at its first read. A batch keeps
        the step that was set when it was created."""
        return self._batch_step_s

    @batch_step_s.setter
    def batch_step_s(self, value: float) -> None:
        self._batch_step_s = _checked_step_s(value)

    @property
    def batch_outcome(self) -> BatchOutcome:
        """How batches created from now on end: completed, failed (after validating) or
        expired (after in_progress)."""
        return self._batch_outcome

    @batch_outcome.setter
    def batch_outcome(self, value: BatchOutcome) -> None:
        self._batch_outcome = cast(BatchOutcome, _one_of("batch_outcome", value, BATCH_OUTCOMES))

    @property
    def batch_format(self) -> BatchFormat:
        """How batches are answered: "openai" (lowercase statuses, Unix-int timestamps) or
        "azure" (PascalCase statuses, ISO 8601 UTC timestamps)."""
        return self._batch_format

    @batch_format.setter
    def batch_format(self, value: BatchFormat) -> None:
        self._batch_format = cast(BatchFormat, _one_of("batch_format", value, BATCH_FORMATS))

    def upload_file(
        self, content: bytes, filename: str = DEFAULT_UPLOAD_NAME, purpose: str = PURPOSE_BATCH
    ) -> str:
        """Store a file as POST /openai/files does; return its id."""
        return str(self._upload(content, filename, purpose)["id"])

    def files(self) -> list[dict[str, Any]]:
        """The file objects (uploads and batch output/error files), oldest first."""
        with self._lock:
            return [stored.to_json() for stored in self._files.values()]

    def file_content(self, file_id: str) -> bytes:
        """A file's bytes; KeyError for an unknown id."""
        stored = self._stored(file_id)
        if stored is None:
            raise KeyError(file_id)
        return stored.content

    def batches(self) -> list[dict[str, Any]]:
        """The batch objects as they would be answered now, oldest first."""
        with self._lock:
            now = self._clock()
            return [self._batch_json_locked(batch, now) for batch in self._batches.values()]

    def set_batch_status(self, batch_id: str, status: str) -> None:
        """Pin a batch to a status (lowercase or PascalCase), with the timestamps, counts,
        errors and files that go with it; it stops advancing (a cancel request restarts the
        clock). KeyError for an unknown batch, ValueError for an unknown status."""
        checked = _batch_status(status)
        with self._lock:
            if batch_id not in self._batches:
                raise KeyError(batch_id)
            self._pin_locked(self._batches[batch_id], checked, self._clock())

    def _upload(self, content: bytes, filename: str, purpose: str) -> dict[str, Any]:
        _check_type("content", content, bytes)
        _check_type("filename", filename, str)
        if purpose != PURPOSE_BATCH:
            raise ValueError(UPLOAD_BAD_PURPOSE.format(purpose=_shown(purpose)))
        if not filename:
            raise ValueError(UPLOAD_MISSING_FILE)
        with self._lock:
            return self._store_file_locked(content, filename, purpose, int(self._clock())).to_json()

    def _store_file_locked(
        self, content: bytes, filename: str, purpose: str, created_at: int
    ) -> _StoredFile:
        stored = _StoredFile(
            FILE_ID_PREFIX + uuid.uuid4().hex, filename, purpose, content, created_at
        )
        self._files[stored.id] = stored
        return stored

    def _stored(self, file_id: str) -> _StoredFile | None:
        """A stored file (immutable, so safe to read without the lock); None if unknown."""
        with self._lock:
            return self._files.get(file_id)

    def _delete_file(self, file_id: str) -> bool:
        with self._lock:
            return self._files.pop(file_id, None) is not None

    def _create_batch(
        self, input_file_id: str, endpoint: str, metadata: dict[str, str] | None
    ) -> dict[str, Any]:
        """Create a batch (the caller validated the fields); raise _Reject for a bad file."""
        with self._lock:
            stored = self._files.get(input_file_id)
            if stored is None:
                message = f"'input_file_id' {input_file_id!r} does not name an uploaded file."
                raise _Reject(_azure_error(400, "invalid_request", message))
            if stored.purpose != PURPOSE_BATCH:
                message = (
                    f"'input_file_id' {input_file_id!r} names a file with purpose "
                    f"{stored.purpose!r}; a batch needs a file uploaded with purpose 'batch'."
                )
                raise _Reject(_azure_error(400, "invalid_request", message))
            now = self._clock()
            batch = _Batch(
                id=BATCH_ID_PREFIX + str(uuid.uuid4()),
                endpoint=endpoint,
                input_file_id=input_file_id,
                completion_window=BATCH_COMPLETION_WINDOW,
                metadata=metadata,
                content=stored.content,
                outcome=self._batch_outcome,
                step_s=self._batch_step_s,
                started=now,
            )
            batch.timestamps["created_at"] = int(now)
            batch.timestamps["expires_at"] = int(now) + BATCH_WINDOW_S
            self._batches[batch.id] = batch
            return self._batch_json_locked(batch, now, advance=False)

    def _batch_json(self, batch_id: str) -> dict[str, Any] | None:
        with self._lock:
            batch = self._batches.get(batch_id)
            return None if batch is None else self._batch_json_locked(batch, self._clock())

    def _cancel_batch(self, batch_id: str) -> dict[str, Any] | None:
        """Ask a batch to cancel (None for an unknown one); _Reject when it has ended."""
        with self._lock:
            batch = self._batches.get(batch_id)
            if batch is None:
                return None
            now = self._clock()
            self._advance_locked(batch, now)
            if batch.status in TERMINAL_BATCH_STATUSES:
                message = f"Batch {batch_id} is {batch.status} and can no longer be cancelled."
                raise _Reject(_azure_error(400, "invalid_request", message))
            if batch.status != "cancelling":
                # An explicit cancel outranks a pin: the batch is cancelled one step later.
                batch.pinned = False
                batch.cancel_started = now
                if batch.request_counts is None:
                    batch.request_counts = _request_counts(len(batch.tasks))
                self._enter_locked(batch, "cancelling", now)
            return self._batch_json_locked(batch, now, advance=False)

    def _batch_json_locked(
        self, batch: _Batch, now: float, *, advance: bool = True
    ) -> dict[str, Any]:
        if advance:
            self._advance_locked(batch, now)
        azure = self._batch_format == "azure"
        timestamps: dict[str, Any] = {name: batch.timestamps.get(name) for name in BATCH_TIMESTAMPS}
        if azure:
            timestamps = {name: _iso_utc(value) for name, value in timestamps.items()}
        errors = None
        if batch.errors is not None:
            errors = {"object": "list", "data": [dict(error) for error in batch.errors]}
        counts = batch.request_counts
        return {
            "id": batch.id,
            "object": "batch",
            "endpoint": batch.endpoint,
            "errors": errors,
            "input_file_id": batch.input_file_id,
            "completion_window": batch.completion_window,
            "status": AZURE_BATCH_STATUSES[batch.status] if azure else batch.status,
            "output_file_id": batch.output_file_id,
            "error_file_id": batch.error_file_id,
            **timestamps,
            "request_counts": None if counts is None else dict(counts),
            "metadata": None if batch.metadata is None else dict(batch.metadata),
        }

    def _advance_locked(self, batch: _Batch, now: float) -> None:
        """Move a batch through the states it has reached by ``now``, freezing each state's
        timestamp at its scheduled time (started + k * step_s)."""
        while not batch.pinned:
            status = batch.status
            if status == "cancelling":
                due = cast(float, batch.cancel_started) + batch.step_s
                if now < due:
                    return
                self._end_locked(batch, "cancelled", due)
                continue
            step = {"validating": 1, "in_progress": 2, "finalizing": 3}.get(status)
            if step is None:  # terminal
                return
            due = batch.started + step * batch.step_s
            if now < due:
                return
            if status == "validating":
                errors = self._validate_locked(batch)
                if errors or batch.outcome == "failed":
                    self._fail_locked(batch, errors or [_simulated_failure()], due)
                else:
                    batch.request_counts = _request_counts(len(batch.tasks))
                    self._enter_locked(batch, "in_progress", due)
            elif status == "in_progress":
                if batch.outcome == "expired":
                    self._end_locked(batch, "expired", due)
                else:
                    self._finalize_locked(batch, due)
            else:
                self._end_locked(batch, "completed", due)

    def _enter_locked(self, batch: _Batch, status: BatchStatus, at: float) -> None:
        batch.status = status
        if status != "validating":  # created_at stands for it
            batch.timestamps.setdefault(f"{status}_at", int(at))

    def _validate_locked(self, batch: _Batch) -> list[dict[str, Any]]:
        """Check the input file's lines once; keep the valid ones as the batch's tasks."""
        if batch.validation_errors is None:
            deployments = {deployment.name for deployment in self._deployments}
            batch.tasks, batch.validation_errors = _parse_batch_input(
                batch.content, batch.endpoint, deployments
            )
        return batch.validation_errors

    def _fail_locked(self, batch: _Batch, errors: list[dict[str, Any]], at: float) -> None:
        batch.errors = errors
        batch.request_counts = _request_counts(0)  # nothing was accepted
        self._enter_locked(batch, "failed", at)

    def _run_locked(self, batch: _Batch, count: int) -> list[_BatchResult]:
        """Answer the first ``count`` tasks (those not answered yet); return their results."""
        for task in batch.tasks[len(batch.results) : count]:
            batch.results.append(_run_batch_task(self, batch.endpoint, task))
        return batch.results[:count]

    def _finalize_locked(self, batch: _Batch, at: float) -> None:
        # By finalizing every request has been answered; the files are written at the end.
        results = self._run_locked(batch, len(batch.tasks))
        batch.request_counts = _request_counts(len(batch.tasks), results)
        self._enter_locked(batch, "finalizing", at)

    def _end_locked(self, batch: _Batch, status: BatchStatus, at: float) -> None:
        """Enter completed, expired or cancelled, writing the output and error files.

        An expired batch answered the first half of its requests; the rest go to the error
        file as ``batch_expired``. A cancelled batch returns the work it had done (answers
        exist from finalizing on) and has no files when it never got past validating.
        """
        total = len(batch.tasks)
        done = {"completed": total, "expired": total // 2}.get(status, len(batch.results))
        results = self._run_locked(batch, done)
        batch.request_counts = _request_counts(total, results)
        output = [line for ok, line in results if ok]
        failed = [line for ok, line in results if not ok]
        if status == "expired":
            failed += [_expired_line(task) for task in batch.tasks[done:]]
        if batch.validation_errors is not None:
            stamp = int(at)
            name = f"{batch.id}_output.jsonl"
            output_file = self._store_file_locked(_jsonl(output), name, PURPOSE_BATCH_OUTPUT, stamp)
            name = f"{batch.id}_error.jsonl"
            error_file = self._store_file_locked(_jsonl(failed), name, PURPOSE_BATCH_OUTPUT, stamp)
            batch.output_file_id, batch.error_file_id = output_file.id, error_file.id
        self._enter_locked(batch, status, at)

    def _pin_locked(self, batch: _Batch, status: BatchStatus, now: float) -> None:
        self._advance_locked(batch, now)
        batch.pinned = True
        if batch.status == status:
            return
        batch.cancel_started = None
        kept = {"created_at", "expires_at", *PINNED_TIMESTAMPS[status]}
        batch.timestamps = {k: v for k, v in batch.timestamps.items() if k in kept}
        batch.errors = batch.output_file_id = batch.error_file_id = None
        batch.request_counts = None
        if "finalizing_at" not in kept:  # pinned to before any request was answered
            batch.results.clear()
        errors = [] if status == "validating" else self._validate_locked(batch)
        if status != "validating":
            batch.request_counts = _request_counts(len(batch.tasks))
        for name in PINNED_TIMESTAMPS[status][:-1]:  # the states it went through
            batch.timestamps.setdefault(name, int(now))
        if status == "failed":
            self._fail_locked(batch, errors or [_simulated_failure()], now)
        elif status == "finalizing":
            self._finalize_locked(batch, now)
        elif status in ("completed", "expired", "cancelled"):
            self._end_locked(batch, status, now)
        else:
            self._enter_locked(batch, status, now)

    # -- used by the request handlers --------------------------------------------------

    def _record(self, request: RecordedRequest, plane: Plane) -> None:
        with self._lock:
            if plane == "data":
                self._requests.append(request)
            elif plane == "token":
                self._token_requests.append(request)
            elif plane == "arm":
                self._arm_requests.append(request)

    def _take_fault(self, request: RecordedRequest, plane: Plane) -> Fault | None:
        if plane == "control":
            return None
        with self._lock:
            for fault in self._faults:
                if fault.matches(request.method, request.path, data_plane=plane == "data"):
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times == 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    def _find_deployment(self, name: str) -> Deployment | None:
        with self._lock:
            return next((d for d in self._deployments if d.name == name), None)

    def _issue_token(self, resource: str) -> tuple[str, int]:
        token = TOKEN_PREFIX + uuid.uuid4().hex
        now = time.time()
        expires_at = int(now) + self.token_lifetime_s
        with self._lock:
            self._tokens = {t: i for t, i in self._tokens.items() if i.expires_at > now}
            self._tokens[token] = _IssuedToken(resource.rstrip("/"), expires_at)
        return token, expires_at

    def _token_audience(self, token: str) -> str | None:
        """The audience of an unexpired token this simulator issued (None otherwise)."""
        with self._lock:
            issued = self._tokens.get(token)
        if issued is None or issued.expires_at <= time.time():
            return None
        return issued.audience

    def _authorize_openai(self, request: RecordedRequest) -> None:
        key = request.headers.get("api-key")
        authorization = request.headers.get("authorization")
        # Azure checks an api-key first and asks for one when no credential is sent at all.
        if key is not None or authorization is None:
            if key != self.api_key:
                raise _Reject(_azure_error(401, "401", KEY_REJECTED))
            return
        scheme, _, token = authorization.partition(" ")
        is_bearer = scheme.lower() == "bearer"
        if not is_bearer or self._token_audience(token.strip()) != COGNITIVE_SERVICES_AUDIENCE:
            raise _Reject(_json(401, {"statusCode": 401, "message": BEARER_REJECTED}))

    def _authorize_arm(self, request: RecordedRequest) -> None:
        # ARM knows only Entra ID tokens: an api-key header counts for nothing.
        authorization = request.headers.get("authorization")
        if authorization is None:
            raise _Reject(_azure_error(401, "AuthenticationFailed", ARM_AUTH_MISSING))
        parts = authorization.split()
        if len(parts) != 2 or parts[0].lower() != "bearer":
            code = "AuthenticationFailedInvalidHeader"
            raise _Reject(_azure_error(401, code, ARM_AUTH_INVALID_HEADER))
        audience = self._token_audience(parts[1])
        if audience is None:
            raise _Reject(_azure_error(401, "InvalidAuthenticationToken", ARM_TOKEN_INVALID))
        # The app asks for `{AZURE_RESOURCE_MANAGER_ENDPOINT}/.default`; pointed at the
        # simulator, that is this server's own URL, which it accepts like ARM's own audiences.
        if audience.rstrip("/").lower() not in (*ARM_AUDIENCES, self.url.lower()):
            message = ARM_WRONG_AUDIENCE.format(audience=audience)
            raise _Reject(_azure_error(401, "InvalidAuthenticationTokenAudience", message))


def _unique(deployments: Iterable[Deployment]) -> tuple[Deployment, ...]:
    checked = tuple(deployments)
    for deployment in checked:
        _check_type("deployment", deployment, Deployment)
    names = [d.name for d in checked]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate deployment names in {names}")
    return checked


# -- HTTP plumbing ---------------------------------------------------------------------


class _Server(TrackingHTTPServer):
    # Idle keep-alive connections would make server_close() wait forever; stop() closes them.
    block_on_close = False

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        self.simulator = simulator
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # the client went away (or stop() closed the socket)
        super().handle_error(request, client_address)


class _Handler(KeepAliveHandler):
    server_version = "AzureOpenAISimulator/1.0"

    @property
    def _simulator(self) -> Simulator:
        return cast(_Server, self.server).simulator

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        if self._simulator.verbose:
            super().log_message(format, *args)

    def _dispatch(self) -> None:
        sim = self._simulator
        try:
            request = self._read_request()
        except _Reject as reject:  # unreadable framing: answer, then drop the connection
            self.close_connection = True
            self._send(reject.response)
            return
        plane = _plane(request.path)
        sim._record(request, plane)
        fault = sim._take_fault(request, plane)
        if fault is not None:
            sim._pause(fault.delay_s)
            if fault.drop:
                self._hang_up()
                return
        if fault is not None and fault.status is not None:
            response = _fault_response(fault, plane)
        else:
            response = _handle(sim, request)
        if plane == "data":
            sim._pause(sim.latency_s)
            response = _with_data_plane_headers(response)
        elif plane == "arm":
            response = _with_arm_headers(response, request)
        request.response_status, request.response_headers = response.status, response.headers
        self._send(
            response,
            cut=fault is not None and fault.cut,
            stall_s=fault.stall_s if fault is not None else 0.0,
        )

    def _read_request(self) -> RecordedRequest:
        split = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        return RecordedRequest(
            method=self.command,
            path=unquote(split.path),
            raw_path=split.path,
            query=query,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=self._read_body(),
        )

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding"):
            raise _Reject(_azure_error(411, "411", "Length Required"))
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            raise _Reject(_azure_error(400, "400", "Invalid Content-Length"))
        return self.rfile.read(length)

    def _send(self, response: _Response, *, cut: bool = False, stall_s: float = 0.0) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            if name != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if not cut and not stall_s:
            self.wfile.write(response.body)
            return
        half = len(response.body) // 2
        self.wfile.write(response.body[:half])
        self.wfile.flush()
        if cut:
            self._hang_up()
            return
        self._simulator._pause(stall_s)
        with contextlib.suppress(OSError):  # the client may have given up meanwhile
            self.wfile.write(response.body[half:])

    def _hang_up(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def _plane(path: str) -> Plane:
    if path == TOKEN_PATH:
        return "token"
    if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
        return "control"
    if path.lower() == ARM_PREFIX or path.lower().startswith(ARM_PREFIX + "/"):
        return "arm"
    return "data"


def _handle(sim: Simulator, request: RecordedRequest) -> _Response:
    for route in ROUTES:
        match = route.pattern.fullmatch(request.raw_path)
        if match is None or route.method != request.method:
            continue
        params = {name: unquote(value) for name, value in match.groupdict().items()}
        try:
            if route.guard is not None:
                route.guard(sim, request)
            return route.handler(sim, request, params)
        except _Reject as reject:
            return reject.response
        except Exception as error:  # a simulator bug: say so loudly, keep serving
            traceback.print_exc()
            return _azure_error(500, "SimulatorError", repr(error))
    return _resource_not_found()


def _with_data_plane_headers(response: _Response) -> _Response:
    common = {
        "content-type": JSON_TYPE,
        "apim-request-id": str(uuid.uuid4()),
        "x-ms-region": REGION,
    }
    return replace(response, headers={**common, **response.headers})


def _with_arm_headers(response: _Response, request: RecordedRequest) -> _Response:
    common = {
        "content-type": JSON_TYPE,
        "x-ms-request-id": str(uuid.uuid4()),
        # ARM echoes the caller's correlation id and makes one up otherwise.
        "x-ms-correlation-request-id": request.headers.get("x-ms-correlation-request-id")
        or str(uuid.uuid4()),
        "x-ms-ratelimit-remaining-subscription-reads": ARM_READS_REMAINING,
    }
    return replace(response, headers={**common, **response.headers})


def _fault_response(fault: Fault, plane: Plane) -> _Response:
    status = cast(int, fault.status)
    body, content_type = _fault_body(fault.body, status, plane)
    headers = {
        "content-type": fault.content_type or content_type,
        **({} if plane == "arm" else {"apim-request-id": str(uuid.uuid4())}),
        **{name.lower(): value for name, value in fault.headers.items()},
    }
    return _Response(status, body, headers)


def _fault_body(body: FaultBody, status: int, plane: Plane) -> tuple[bytes, str]:
    if body is None:
        # The default 429 text is the data plane's; ARM gets the plain one.
        message = RATE_LIMITED if status == 429 and plane != "arm" else "Simulated failure"
        body = {"error": {"code": str(status), "message": message}}
    if isinstance(body, bytes):
        return body, BINARY_TYPE
    if isinstance(body, str):
        return body.encode(), TEXT_TYPE
    return json.dumps(body).encode(), JSON_TYPE


# -- managed identity ------------------------------------------------------------------


def _token_endpoint(sim: Simulator, request: RecordedRequest, params: dict[str, str]) -> _Response:
    if request.headers.get("x-identity-header") != sim.identity_header:
        return _identity_error(401, "X-IDENTITY-HEADER is missing or does not match.")
    if request.query.get("api-version") != IDENTITY_API_VERSION:
        return _identity_error(400, f"api-version must be {IDENTITY_API_VERSION}.")
    resource = request.query.get("resource")
    if not resource:
        return _identity_error(400, "The 'resource' query parameter is required.")
    token, expires_on = sim._issue_token(resource)
    return _json(
        200,
        {
            "access_token": token,
            # App Service sends expires_on as a string of epoch seconds.
            "expires_on": str(expires_on),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": request.query.get("client_id") or DEFAULT_CLIENT_ID,
        },
    )


# -- Azure OpenAI data plane -----------------------------------------------------------


def _openai_guard(sim: Simulator, request: RecordedRequest) -> None:
    # Without api-version the gateway cannot route the call, so it answers 404 before auth.
    if not request.query.get("api-version"):
        raise _Reject(_resource_not_found())
    sim._authorize_openai(request)


def _deployment(sim: Simulator, name: str, *, operation: str, embedding: bool) -> Deployment:
    deployment = sim._find_deployment(name)
    if deployment is None:
        raise _Reject(_azure_error(404, "DeploymentNotFound", DEPLOYMENT_NOT_FOUND))
    if deployment.is_embedding != embedding:
        message = OPERATION_NOT_SUPPORTED.format(operation=operation, model=deployment.model)
        raise _Reject(_azure_error(400, "OperationNotSupported", message))
    return deployment


def _json_body(request: RecordedRequest) -> dict[str, Any]:
    try:
        payload = request.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise _invalid_request(INVALID_JSON, None)
    return payload


def _json_type(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a decimal", str: "a string"}
    names |= {list: "an array", dict: "an object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _success(deployment: Deployment, payload: dict[str, Any], tokens: int) -> _Response:
    remaining_requests = deployment.capacity * REQUESTS_PER_CAPACITY_UNIT - 1
    remaining_tokens = deployment.capacity * TOKENS_PER_CAPACITY_UNIT - tokens
    headers = {
        "x-ms-deployment-name": deployment.name,
        "x-ratelimit-remaining-requests": str(max(0, remaining_requests)),
        "x-ratelimit-remaining-tokens": str(max(0, remaining_tokens)),
    }
    return _json(200, payload, headers)


def _count_words(text: str) -> int:
    return len(text.split())


def _chat_completions(
    sim: Simulator, request: RecordedRequest, params: dict[str, str]
) -> _Response:
    deployment = _deployment(sim, params["deployment"], operation="chatCompletion", embedding=False)
    payload = _json_body(request)
    messages = _validated_messages(payload)
    limit = _completion_limit(payload)
    texts = [_content_text(message.get("content")) for message in messages]
    if any(PROMPT_FILTER_MARKER in text for text in texts):
        raise _Reject(_prompt_filtered())
    prompt_tokens = sum(_count_words(text) + TOKENS_PER_MESSAGE for text in texts)
    if any(COMPLETION_FILTER_MARKER in text for text in texts):
        words: list[str] = []
        finish_reason = "content_filter"
    else:
        user_texts = [t for m, t in zip(messages, texts, strict=True) if m["role"] == "user"]
        last_user_words = _count_words(user_texts[-1]) if user_texts else 0
        reply = f"Simulated reply from {deployment.name}: the last user message had "
        words = (reply + f"{last_user_words} words.").split()
        finish_reason = "length" if limit is not None and limit < len(words) else "stop"
        words = words[:limit]
    body = _chat_body(deployment, " ".join(words), finish_reason, prompt_tokens, len(words))
    return _success(deployment, body, prompt_tokens + len(words))


def _validated_messages(payload: dict[str, Any]) -> list[dict[str, Any]]:
    if "messages" not in payload:
        raise _invalid_request("Missing required parameter: 'messages'.", "messages")
    messages = payload["messages"]
    if not isinstance(messages, list):
        message = f"Invalid type for 'messages': expected an array, but got {_json_type(messages)}"
        raise _invalid_request(message + " instead.", "messages")
    if not messages:
        raise _invalid_request("[] is too short - 'messages'", "messages")
    for index, item in enumerate(messages):
        where = f"'messages[{index}]"
        if not isinstance(item, dict):
            message = f"Invalid type for {where}': expected an object, but got {_json_type(item)}"
            raise _invalid_request(message + " instead.", "messages")
        if "role" not in item:
            raise _invalid_request(f"Missing required parameter: {where}.role'.", "messages")
        if item["role"] not in CHAT_ROLES:
            message = f"Invalid value for {where}.role': {item['role']!r}. Supported values are: "
            raise _invalid_request(message + ", ".join(map(repr, CHAT_ROLES)) + ".", "messages")
        # An assistant turn that only carries tool calls legitimately has no content.
        if "content" not in item and not item.get("tool_calls"):
            raise _invalid_request(f"Missing required parameter: {where}.content'.", "messages")
        if not isinstance(item.get("content"), str | list | None):
            message = f"Invalid type for {where}.content': expected a string or an array"
            raise _invalid_request(message + ".", "messages")
    return messages


def _completion_limit(payload: dict[str, Any]) -> int | None:
    """Validate temperature and token limits; return the completion token limit, if any."""
    _numeric_param(payload, "temperature", low=0, high=2)
    limits: list[int | None] = [
        _numeric_param(payload, name, low=1, integer=True)
        for name in ("max_completion_tokens", "max_tokens")
    ]
    return next((limit for limit in limits if limit is not None), None)


def _numeric_param(
    payload: dict[str, Any], name: str, *, low: int, high: int | None = None, integer: bool = False
) -> Any:
    """Validate an optional number, worded like the OpenAI API; return it (or None)."""
    value = payload.get(name)
    if value is None:
        return None
    kind = "integer" if integer else "decimal"
    if isinstance(value, bool) or not isinstance(value, int if integer else int | float):
        expected = "an integer" if integer else "a decimal"
        message = f"Invalid type for '{name}': expected {expected}, but got {_json_type(value)}"
        raise _invalid_request(message + " instead.", name)
    if value < low:
        bound = f"below minimum value. Expected a value >= {low}"
    elif high is not None and value > high:
        bound = f"above maximum value. Expected a value <= {high}"
    else:
        return value
    raise _invalid_request(f"Invalid '{name}': {kind} {bound}, but got {value} instead.", name)


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # multimodal parts: count only the text ones
        parts = [p.get("text") for p in content if isinstance(p, dict)]
        return " ".join(p for p in parts if isinstance(p, str))
    return ""


def _safe_filter_results(*detected: str) -> dict[str, Any]:
    results: dict[str, Any] = {
        category: {"filtered": False, "severity": "safe"}
        for category in ("hate", "self_harm", "sexual", "violence")
    }
    results.update({name: {"filtered": False, "detected": False} for name in detected})
    return results


def _prompt_filtered() -> _Response:
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
    return _json(400, {"error": error})


def _chat_body(
    deployment: Deployment,
    content: str,
    finish_reason: str,
    prompt_tokens: int,
    completion_tokens: int,
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
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    }


def _embeddings(sim: Simulator, request: RecordedRequest, params: dict[str, str]) -> _Response:
    deployment = _deployment(sim, params["deployment"], operation="embeddings", embedding=True)
    payload = _json_body(request)
    inputs = _validated_inputs(payload)
    full = deployment.dimensions
    dimensions = _numeric_param(payload, "dimensions", low=1, high=full, integer=True) or full
    encoding = payload.get("encoding_format") or "float"
    if encoding not in ENCODING_FORMATS:
        message = f"Invalid value for 'encoding_format': {encoding!r}. Supported: float, base64."
        raise _invalid_request(message, "encoding_format")
    data = [
        {
            "object": "embedding",
            "index": index,
            "embedding": _encoded(_vector(text, full, dimensions), encoding),
        }
        for index, text in enumerate(inputs)
    ]
    tokens = sum(max(1, _count_words(text)) for text in inputs)
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    body = {"object": "list", "model": deployment.model, "data": data, "usage": usage}
    return _success(deployment, body, tokens)


def _validated_inputs(payload: dict[str, Any]) -> list[str]:
    if "input" not in payload:
        raise _invalid_request("Missing required parameter: 'input'.", "input")
    value = payload["input"]
    inputs = [value] if isinstance(value, str) else value
    if not isinstance(inputs, list) or not inputs:
        raise _invalid_request(INVALID_INPUT, "input")
    if not all(isinstance(text, str) and text for text in inputs):
        raise _invalid_request(INVALID_INPUT, "input")
    return inputs


def _vector(text: str, full_dimensions: int, dimensions: int) -> list[float]:
    # Like text-embedding-3, a shortened vector is the renormalised prefix of the full one.
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
    rng = random.Random(seed)
    raw = [rng.gauss(0.0, 1.0) for _ in range(full_dimensions)][:dimensions]
    norm = math.sqrt(sum(value * value for value in raw)) or 1.0
    return [round(value / norm, EMBEDDING_DECIMALS) for value in raw]


def _encoded(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "float":
        return vector
    # The openai SDK asks for base64 by default: little-endian float32, base64-encoded.
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


# -- Files and Batch API ---------------------------------------------------------------


def _checked_step_s(value: float, name: str = "batch_step_s") -> float:
    """A batch step (seconds per state) as a float; TypeError/ValueError when invalid."""
    _check_type(name, value, int, float)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0")
    return float(value)


def _one_of(name: str, value: Any, allowed: tuple[str, ...]) -> Any:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _batch_status(value: str) -> BatchStatus:
    """A status in either format (``in_progress`` or ``InProgress``), as the lowercase one."""
    pascal = {name: status for status, name in AZURE_BATCH_STATUSES.items()}
    if isinstance(value, str) and value in pascal:
        return pascal[value]
    return cast(BatchStatus, _one_of("status", value, BATCH_STATUSES))


def _shown(value: object) -> str:
    """A client's value in a message: its JSON form, or "nothing" when it sent none."""
    return "nothing" if value is None else json.dumps(value)


def _iso_utc(timestamp: int | None) -> str | None:
    return None if timestamp is None else time.strftime(ISO_UTC_FORMAT, time.gmtime(timestamp))


def _request_counts(total: int, results: list[_BatchResult] | None = None) -> dict[str, int]:
    completed = sum(1 for ok, _ in results or [] if ok)
    return {"total": total, "completed": completed, "failed": len(results or []) - completed}


def _batch_error(
    code: str, message: str, *, line: int | None = None, param: str | None = None
) -> dict[str, Any]:
    return {"code": code, "message": message, "param": param, "line": line}


def _simulated_failure() -> dict[str, Any]:
    return _batch_error("invalid_request", SIMULATED_BATCH_FAILURE)


def _jsonl(lines: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def _parse_batch_input(
    content: bytes, endpoint: str, deployments: set[str]
) -> tuple[list[_BatchTask], list[dict[str, Any]]]:
    """Validate a batch input file as Azure does while a batch is validating: the valid lines
    as tasks, and the problems found (each with Azure's code and its 1-based line)."""
    if content.startswith(UTF8_BOM):
        message = (
            "The input file starts with a byte order mark (BOM): save it as UTF-8 without BOM."
        )
        return [], [_batch_error("invalid_json_line", message, line=1)]
    numbered = [(n, raw) for n, raw in enumerate(content.split(b"\n"), 1) if raw.strip()]
    if not numbered:
        return [], [_batch_error("empty_file", "The input file is empty: it has no requests.")]
    if len(numbered) > BATCH_MAX_TASKS:
        message = f"The input file has {len(numbered):,} requests; a batch takes at most "
        return [], [_batch_error("too_many_tasks", message + f"{BATCH_MAX_TASKS:,}.")]
    tasks: list[_BatchTask] = []
    errors: list[dict[str, Any]] = []
    first_lines: dict[str, int] = {}  # custom_id -> the line that used it first
    model_line: tuple[str, int] | None = None  # the first line's model, and that line
    for number, raw in numbered:
        try:
            item = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            errors.append(_line_error("invalid_json_line", number, "is not valid UTF-8."))
            continue
        except ValueError as error:
            message = f"is not valid JSON: {getattr(error, 'msg', error)}."
            errors.append(_line_error("invalid_json_line", number, message))
            continue
        if not isinstance(item, dict):
            errors.append(_line_error("invalid_json_line", number, "is not a JSON object."))
            continue
        problem = _batch_line_problem(item, endpoint, number, first_lines, model_line)
        if problem is not None:
            errors.append(problem)
            continue
        custom_id, body = item["custom_id"], item["body"]
        first_lines[custom_id] = number
        model_line = model_line or (body["model"], number)
        tasks.append(_BatchTask(number, custom_id, body["model"], body))
    if model_line is not None and model_line[0] not in deployments:
        message = f"has body.model {model_line[0]!r}, which names no deployment of this resource."
        errors.append(_line_error("model_not_found", model_line[1], message, "body.model"))
    return tasks, errors


def _line_error(code: str, line: int, problem: str, param: str | None = None) -> dict[str, Any]:
    return _batch_error(code, f"Line {line} {problem}", line=line, param=param)


def _batch_line_problem(
    item: dict[str, Any],
    endpoint: str,
    number: int,
    first_lines: dict[str, int],
    model_line: tuple[str, int] | None,
) -> dict[str, Any] | None:
    """The first problem of one parsed line (None when it is a valid request)."""
    custom_id = item.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        message = f"needs 'custom_id', a non-empty string (got {_shown(custom_id)})."
        return _line_error("invalid_request", number, message, "custom_id")
    if custom_id in first_lines:
        message = f"repeats the custom_id {custom_id!r} of line {first_lines[custom_id]}; "
        message += "each request needs a unique custom_id."
        return _line_error("duplicate_custom_id", number, message, "custom_id")
    if item.get("method") != "POST":
        message = f"has 'method' {_shown(item.get('method'))}; it must be \"POST\"."
        return _line_error("invalid_request", number, message, "method")
    if item.get("url") != endpoint:
        message = f"has 'url' {_shown(item.get('url'))}, which does not match the batch "
        message += f"endpoint {endpoint!r}."
        return _line_error("url_mismatch", number, message, "url")
    body = item.get("body")
    if not isinstance(body, dict):
        message = f"needs 'body', a JSON object (got {_shown(body)})."
        return _line_error("invalid_request", number, message, "body")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        message = f"needs 'body.model', a deployment name (got {_shown(model)})."
        return _line_error("invalid_request", number, message, "body.model")
    if model_line is not None and model != model_line[0]:
        message = f"has body.model {model!r}, unlike line {model_line[1]} ({model_line[0]!r}); "
        message += "every request of a batch must use the same deployment."
        return _line_error("model_mismatch", number, message, "body.model")
    return None


def _run_batch_task(sim: Simulator, endpoint: str, task: _BatchTask) -> _BatchResult:
    """Answer one batch line with the simulator's own chat or embeddings logic.

    A request the deployment rejects (a 4xx, e.g. the content filter or an invalid body) keeps
    its response -- status code and error body -- with ``error: null``, as OpenAI writes
    request-level failures to the error file; ``error`` is for lines no deployment answered
    (``batch_expired``). A deployment that does not exist fails the whole batch while it is
    validating (``model_not_found``); one removed since then answers 404 here.
    """
    handler = _embeddings if endpoint == "/embeddings" else _chat_completions
    operation = "embeddings" if endpoint == "/embeddings" else "chat/completions"
    path = f"/openai/deployments/{task.model}/{operation}"
    request = RecordedRequest(
        method="POST",
        path=path,
        raw_path=quote(path),
        query={"api-version": BATCH_TASK_API_VERSION},
        headers={"content-type": JSON_TYPE},
        body=json.dumps(task.body).encode(),
    )
    try:
        response = handler(sim, request, {"deployment": task.model})
    except _Reject as reject:
        response = reject.response
    except Exception as error:  # a simulator bug: say so loudly, answer the line with a 500
        traceback.print_exc()
        response = _azure_error(500, "SimulatorError", repr(error))
    answer = {
        "status_code": response.status,
        "request_id": str(uuid.uuid4()),
        "body": json.loads(response.body),
    }
    return response.status == 200, _batch_line(task, answer, None)


def _batch_line(
    task: _BatchTask, response: dict[str, Any] | None, error: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "id": BATCH_REQUEST_ID_PREFIX + uuid.uuid4().hex,
        "custom_id": task.custom_id,
        "response": response,
        "error": error,
    }


def _expired_line(task: _BatchTask) -> dict[str, Any]:
    return _batch_line(task, None, {"code": "batch_expired", "message": BATCH_REQUEST_EXPIRED})


def _multipart_form(request: RecordedRequest) -> dict[str, tuple[str | None, bytes]]:
    """The parts of a multipart/form-data body by field name: (filename, bytes)."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise _Reject(_azure_error(400, "invalidPayload", UPLOAD_NOT_MULTIPART))
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
    if not message.is_multipart():
        raise _Reject(_azure_error(400, "invalidPayload", UPLOAD_NOT_MULTIPART))
    form: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and name not in form:
            form[name] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    return form


def _upload_file(sim: Simulator, request: RecordedRequest, params: dict[str, str]) -> _Response:
    form = _multipart_form(request)
    purpose = form.get("purpose")
    purpose_text = None if purpose is None else purpose[1].decode("utf-8", "replace").strip()
    if purpose_text != PURPOSE_BATCH:
        message = UPLOAD_BAD_PURPOSE.format(purpose=_shown(purpose_text))
        raise _Reject(_azure_error(400, "invalidPayload", message))
    filename, content = form.get("file") or (None, b"")
    if not filename:
        raise _Reject(_azure_error(400, "invalidPayload", UPLOAD_MISSING_FILE))
    return _json(200, sim._upload(content, filename, PURPOSE_BATCH))


def _get_file(sim: Simulator, request: RecordedRequest, params: dict[str, str]) -> _Response:
    stored = sim._stored(params["file_id"])
    if stored is None:
        raise _not_found(FILE_NOT_FOUND)
    return _json(200, stored.to_json())


def _get_file_content(
    sim: Simulator, request: RecordedRequest, params: dict[str, str]
) -> _Response:
    stored = sim._stored(params["file_id"])
    if stored is None:
        raise _not_found(FILE_NOT_FOUND)
    return _Response(200, stored.content, {"content-type": BINARY_TYPE})


def _list_files(sim: Simulator, request: RecordedRequest, params: dict[str, str]) -> _Response:
    purpose = request.query.get("purpose")
    files = [f for f in reversed(sim.files()) if purpose is None or f["purpose"] == purpose]
    return _json(200, {"object": "list", "data": files})


def _delete_file(sim: Simulator, request: RecordedRequest, params: dict[str, str]) -> _Response:
    if not sim._delete_file(params["file_id"]):
        raise _not_found(FILE_NOT_FOUND)
    return _json(200, {"id": params["file_id"], "object": "file", "deleted": True})


def _create_batch(sim: Simulator, request: RecordedRequest, params: dict[str, str]) -> _Response:
    try:
        payload = request.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        message = "The request body must be a JSON object with 'input_file_id', 'endpoint' and "
        raise _Reject(_azure_error(400, "invalid_request", message + "'completion_window'."))
    input_file_id = payload.get("input_file_id")
    if not isinstance(input_file_id, str) or not input_file_id:
        message = "'input_file_id' is required: the id of a file uploaded with purpose 'batch' "
        message += f"(got {_shown(input_file_id)})."
        raise _Reject(_azure_error(400, "invalid_request", message))
    endpoint = payload.get("endpoint")
    if endpoint not in BATCH_ENDPOINTS:
        allowed = ", ".join(f"'{e}'" for e in BATCH_ENDPOINTS)
        message = f"'endpoint' must be one of {allowed} (got {_shown(endpoint)})."
        raise _Reject(_azure_error(400, "invalid_request", message))
    window = payload.get("completion_window")
    if window != BATCH_COMPLETION_WINDOW:
        message = f"'completion_window' must be '{BATCH_COMPLETION_WINDOW}' (got {_shown(window)})."
        raise _Reject(_azure_error(400, "invalid_request", message))
    metadata = payload.get("metadata")
    if metadata is not None and (
        not isinstance(metadata, dict)
        or len(metadata) > BATCH_METADATA_MAX_PAIRS
        or not all(isinstance(value, str) for value in metadata.values())
    ):
        message = f"'metadata' must be an object of at most {BATCH_METADATA_MAX_PAIRS} string "
        message += f"values (got {_shown(metadata)})."
        raise _Reject(_azure_error(400, "invalid_request", message))
    return _json(200, sim._create_batch(input_file_id, cast(str, endpoint), metadata))


def _get_batch(sim: Simulator, request: RecordedRequest, params: dict[str, str]) -> _Response:
    batch = sim._batch_json(params["batch_id"])
    if batch is None:
        raise _not_found(BATCH_NOT_FOUND)
    return _json(200, batch)


def _list_batches(sim: Simulator, request: RecordedRequest, params: dict[str, str]) -> _Response:
    batches = list(reversed(sim.batches()))  # newest first, as the service lists them
    first_id = batches[0]["id"] if batches else None
    last_id = batches[-1]["id"] if batches else None
    body = {"object": "list", "data": batches, "first_id": first_id, "last_id": last_id}
    return _json(200, body | {"has_more": False})


def _cancel_batch(sim: Simulator, request: RecordedRequest, params: dict[str, str]) -> _Response:
    batch = sim._cancel_batch(params["batch_id"])
    if batch is None:
        raise _not_found(BATCH_NOT_FOUND)
    return _json(200, batch)


# -- Azure Resource Manager ------------------------------------------------------------


def _query_param(request: RecordedRequest, name: str) -> str | None:
    # ARM treats query parameter names case-insensitively ($skiptoken, Api-Version).
    wanted = name.lower()
    return next((v for k, v in request.query.items() if k.lower() == wanted), None)


def _arm_guard(sim: Simulator, request: RecordedRequest) -> None:
    # Authentication comes first: ARM answers 401 before looking at anything else.
    sim._authorize_arm(request)
    if not _query_param(request, "api-version"):
        raise _Reject(_azure_error(400, "MissingApiVersionParameter", ARM_MISSING_API_VERSION))


def _skip_token(offset: int) -> str:
    # Opaque to clients; url-safe base64 without padding needs no escaping in a nextLink.
    raw = (SKIP_TOKEN_PREFIX + str(offset)).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _skip_offset(token: str | None) -> int:
    if token is None:
        return 0
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
        match = re.fullmatch(re.escape(SKIP_TOKEN_PREFIX) + r"([0-9]{1,9})", raw.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        match = None
    if not token or match is None:
        message = ARM_INVALID_SKIP_TOKEN.format(token=token)
        raise _Reject(_azure_error(400, "InvalidSkipToken", message))
    return int(match.group(1))


def _arm_deployment(sim: Simulator, deployment: Deployment) -> dict[str, Any]:
    model: dict[str, Any] = {"format": "OpenAI"}
    if deployment.model:
        model["name"] = deployment.model
    if not deployment.omit_version:
        model["version"] = deployment.version
    properties: dict[str, Any] = {"model": model}
    if deployment.legacy_scale_settings:
        properties["scaleSettings"] = {"scaleType": "Manual", "capacity": deployment.capacity}
    capability = "embeddings" if deployment.is_embedding else "chatCompletion"
    properties |= {
        "versionUpgradeOption": "OnceNewDefaultVersionAvailable",
        "capabilities": {capability: "true"},
        "raiPolicyName": "Microsoft.DefaultV2",
        "provisioningState": deployment.provisioning_state,
    }
    account_id = (
        f"/subscriptions/{sim.subscription_id}/resourceGroups/{sim.resource_group}"
        f"/providers/Microsoft.CognitiveServices/accounts/{sim.account}"
    )
    entry: dict[str, Any] = {
        "id": f"{account_id}/deployments/{deployment.name}",
        "name": deployment.name,
        "type": ARM_DEPLOYMENT_TYPE,
    }
    if not deployment.legacy_scale_settings:
        entry["sku"] = {"name": deployment.sku_name, "capacity": deployment.capacity}
    # The etag changes whenever the deployment does, like ARM's.
    digest = hashlib.sha256(json.dumps(asdict(deployment), sort_keys=True).encode()).hexdigest()
    entry |= {
        "systemData": {"createdAt": ARM_CREATED_AT, "createdByType": "User"},
        "etag": f'"{digest[:32]}"',
        "properties": properties,
    }
    return entry


def _arm_next_link(sim: Simulator, request: RecordedRequest, offset: int) -> str:
    # Absolute, on the host the client called (what a client checks nextLink against), with
    # the caller's api-version.
    host = request.headers.get("host") or urlsplit(sim.url).netloc
    api_version = quote(_query_param(request, "api-version") or ARM_API_VERSION, safe="")
    query = f"api-version={api_version}&{SKIP_TOKEN_PARAM}={_skip_token(offset)}"
    return f"http://{host}{request.raw_path}?{query}"


def _arm_list_deployments(
    sim: Simulator, request: RecordedRequest, params: dict[str, str]
) -> _Response:
    subscription, resource_group = params["subscription"], params["resource_group"]
    account = params["account"]
    if subscription.lower() != sim.subscription_id.lower():
        message = ARM_SUBSCRIPTION_NOT_FOUND.format(subscription=subscription)
        raise _Reject(_azure_error(404, "SubscriptionNotFound", message))
    if resource_group.lower() != sim.resource_group.lower():
        message = ARM_RESOURCE_GROUP_NOT_FOUND.format(resource_group=resource_group)
        raise _Reject(_azure_error(404, "ResourceGroupNotFound", message))
    if account.lower() != sim.account.lower():
        message = ARM_ACCOUNT_NOT_FOUND.format(account=account, resource_group=resource_group)
        raise _Reject(_azure_error(404, "ResourceNotFound", message))
    offset = _skip_offset(_query_param(request, SKIP_TOKEN_PARAM))
    deployments, page_size = sim.deployments, sim.arm_page_size
    page = deployments[offset : offset + page_size]
    body: dict[str, Any] = {"value": [_arm_deployment(sim, d) for d in page]}
    if offset + page_size < len(deployments):
        body["nextLink"] = _arm_next_link(sim, request, offset + page_size)
    return _json(200, body)


# -- control API -----------------------------------------------------------------------


def _control_body(request: RecordedRequest) -> Any:
    try:
        return request.json()
    except ValueError as error:
        raise _Reject(_azure_error(400, "BadRequest", f"invalid JSON: {error}")) from error


@contextlib.contextmanager
def _invalid_as_bad_request() -> Iterator[None]:
    try:
        yield
    except (TypeError, ValueError) as error:
        raise _Reject(_azure_error(400, "BadRequest", str(error))) from error


def _fault_to_json(fault: Fault) -> dict[str, Any]:
    data = asdict(fault)
    if isinstance(fault.body, bytes):
        data["body"] = fault.body.decode("utf-8", "replace")
    return data


def _get_requests(sim: Simulator, request: RecordedRequest, params: dict[str, str]) -> _Response:
    return _json(200, [recorded.to_json() for recorded in sim.requests()])


def _get_arm_requests(
    sim: Simulator, request: RecordedRequest, params: dict[str, str]
) -> _Response:
    return _json(200, [recorded.to_json() for recorded in sim.arm_requests()])


def _delete_requests(sim: Simulator, request: RecordedRequest, params: dict[str, str]) -> _Response:
    sim.clear()
    return _json(200, {"cleared": True})


def _get_faults(sim: Simulator, request: RecordedRequest, params: dict[str, str]) -> _Response:
    return _json(200, [_fault_to_json(fault) for fault in sim.faults()])


def _post_fault(sim: Simulator, request: RecordedRequest, params: dict[str, str]) -> _Response:
    data = _control_body(request)
    with _invalid_as_bad_request():
        fault = fault_from_dict(data)
    sim.add_fault(fault)
    return _json(201, _fault_to_json(fault))


def _delete_faults(sim: Simulator, request: RecordedRequest, params: dict[str, str]) -> _Response:
    sim.clear_faults()
    return _json(200, {"cleared": True})


def _get_deployments(sim: Simulator, request: RecordedRequest, params: dict[str, str]) -> _Response:
    return _json(200, [asdict(deployment) for deployment in sim.deployments])


def _put_deployments(sim: Simulator, request: RecordedRequest, params: dict[str, str]) -> _Response:
    data = _control_body(request)
    if not isinstance(data, list):
        raise _Reject(_azure_error(400, "BadRequest", "expected a JSON list of deployments"))
    with _invalid_as_bad_request():
        sim.set_deployments(deployment_from_dict(item) for item in data)
    return _get_deployments(sim, request, params)


def _put_latency(sim: Simulator, request: RecordedRequest, params: dict[str, str]) -> _Response:
    data = _control_body(request)
    if not isinstance(data, dict) or "latency_s" not in data:
        raise _Reject(_azure_error(400, "BadRequest", 'expected {"latency_s": <seconds>}'))
    with _invalid_as_bad_request():
        sim.latency_s = data["latency_s"]
    return _json(200, {"latency_s": sim.latency_s})


def _get_sim_batches(sim: Simulator, request: RecordedRequest, params: dict[str, str]) -> _Response:
    return _json(200, sim.batches())


def _put_sim_batch(sim: Simulator, request: RecordedRequest, params: dict[str, str]) -> _Response:
    data = _control_body(request)
    if not isinstance(data, dict) or set(data) != {"status"}:
        raise _Reject(_azure_error(400, "BadRequest", 'expected {"status": <batch status>}'))
    with _invalid_as_bad_request():
        status = _batch_status(data["status"])
    try:
        sim.set_batch_status(params["batch_id"], status)
    except KeyError as error:
        raise _not_found(BATCH_NOT_FOUND) from error
    return _json(200, sim._batch_json(params["batch_id"]))


def _batch_settings(sim: Simulator) -> dict[str, Any]:
    return {"step_s": sim.batch_step_s, "outcome": sim.batch_outcome, "format": sim.batch_format}


def _get_batch_settings(
    sim: Simulator, request: RecordedRequest, params: dict[str, str]
) -> _Response:
    return _json(200, _batch_settings(sim))


def _put_batch_settings(
    sim: Simulator, request: RecordedRequest, params: dict[str, str]
) -> _Response:
    data = _control_body(request)
    names = ("step_s", "outcome", "format")
    if not isinstance(data, dict) or not data or not set(data) <= set(names):
        expected = 'expected an object with any of "step_s", "outcome", "format"'
        raise _Reject(_azure_error(400, "BadRequest", expected))
    with _invalid_as_bad_request():
        # All checked before any is applied, so a bad value changes nothing.
        step_s = _checked_step_s(data.get("step_s", sim.batch_step_s), "step_s")
        outcome = _one_of("outcome", data.get("outcome", sim.batch_outcome), BATCH_OUTCOMES)
        format_ = _one_of("format", data.get("format", sim.batch_format), BATCH_FORMATS)
    sim.batch_step_s, sim.batch_outcome, sim.batch_format = step_s, outcome, format_
    return _json(200, _batch_settings(sim))


# -- route table -----------------------------------------------------------------------

RouteHandler = Callable[[Simulator, RecordedRequest, dict[str, str]], _Response]
RouteGuard = Callable[[Simulator, RecordedRequest], None]


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]  # full-matched against the raw (still percent-encoded) path
    handler: RouteHandler  # receives the named groups, percent-decoded
    guard: RouteGuard | None = None  # checks run before the handler (api-version, auth)


def _row(
    method: str, pattern: str, handler: RouteHandler, guard: RouteGuard | None = None
) -> _Route:
    return _Route(method, re.compile(pattern), handler, guard)


# New surfaces are new rows, each with its plane's guard: the data plane's _openai_guard
# (api-key or a cognitiveservices token; /openai/deployments, /openai/files, /openai/batches:
# a path-less Fault hits them all) or the
# management plane's _arm_guard (a Bearer token for an ARM audience, then api-version). ARM
# patterns carry (?i): ARM matches its path segments case-insensitively. _plane() decides
# which list records a request and which headers every answer gets (ARM: paths under
# /subscriptions/).
ROUTES: tuple[_Route, ...] = (
    _row("GET", re.escape(TOKEN_PATH), _token_endpoint),
    _row("POST", OPENAI_DEPLOYMENT_PATH + r"/chat/completions", _chat_completions, _openai_guard),
    _row("POST", OPENAI_DEPLOYMENT_PATH + r"/embeddings", _embeddings, _openai_guard),
    _row("POST", FILES_PATH, _upload_file, _openai_guard),
    _row("GET", FILES_PATH, _list_files, _openai_guard),
    _row("GET", FILE_PATH, _get_file, _openai_guard),
    _row("GET", FILE_PATH + r"/content", _get_file_content, _openai_guard),
    _row("DELETE", FILE_PATH, _delete_file, _openai_guard),
    _row("POST", BATCHES_PATH, _create_batch, _openai_guard),
    _row("GET", BATCHES_PATH, _list_batches, _openai_guard),
    _row("GET", BATCH_PATH, _get_batch, _openai_guard),
    _row("POST", BATCH_PATH + r"/cancel", _cancel_batch, _openai_guard),
    _row("GET", ARM_DEPLOYMENTS_PATH, _arm_list_deployments, _arm_guard),
    _row("GET", r"/_sim/requests", _get_requests),
    _row("GET", r"/_sim/arm-requests", _get_arm_requests),
    _row("DELETE", r"/_sim/requests", _delete_requests),
    _row("GET", r"/_sim/faults", _get_faults),
    _row("POST", r"/_sim/faults", _post_fault),
    _row("DELETE", r"/_sim/faults", _delete_faults),
    _row("GET", r"/_sim/deployments", _get_deployments),
    _row("PUT", r"/_sim/deployments", _put_deployments),
    _row("PUT", r"/_sim/latency", _put_latency),
    _row("GET", r"/_sim/batches", _get_sim_batches),
    _row("PUT", r"/_sim/batches/(?P<batch_id>[^/]+)", _put_sim_batch),
    _row("GET", r"/_sim/batch-settings", _get_batch_settings),
    _row("PUT", r"/_sim/batch-settings", _put_batch_settings),
)


# -- CLI -------------------------------------------------------------------------------


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m local.simulator",
        description="Serve a simulated Azure OpenAI + managed-identity endpoint.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_CLI_PORT)
    parser.add_argument(
        "--deployments",
        default=os.environ.get(DEPLOYMENTS_FILE_ENV),
        metavar="FILE.json",
        help=f"JSON list of deployments (default: ${DEPLOYMENTS_FILE_ENV}, else built-ins)",
    )
    parser.add_argument("--latency-s", type=float, default=0.0)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--identity-header", default=DEFAULT_IDENTITY_HEADER)
    parser.add_argument("--subscription-id", default=DEFAULT_SUBSCRIPTION_ID)
    parser.add_argument("--resource-group", default=DEFAULT_RESOURCE_GROUP)
    parser.add_argument("--account", default=DEFAULT_ACCOUNT, help="for ARM listing")
    parser.add_argument("--arm-page-size", type=int, default=DEFAULT_ARM_PAGE_SIZE)
    parser.add_argument(
        "--batch-step-s",
        type=float,
        default=DEFAULT_BATCH_STEP_S,
        help="seconds a batch spends in each state (0 = done at its first read)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGINT (Ctrl-C) or SIGTERM."""
    args = _parse_args(argv)
    try:
        deployments = load_deployments(args.deployments) if args.deployments else None
    except (OSError, TypeError, ValueError) as error:
        print(f"cannot load deployments from {args.deployments}: {error}", file=sys.stderr)
        return 2
    simulator = Simulator(
        DEFAULT_DEPLOYMENTS if deployments is None else deployments,
        api_key=args.api_key,
        identity_header=args.identity_header,
        host=args.host,
        port=args.port,
        latency_s=args.latency_s,
        verbose=args.verbose,
        subscription_id=args.subscription_id,
        resource_group=args.resource_group,
        account=args.account,
        arm_page_size=args.arm_page_size,
        batch_step_s=args.batch_step_s,
    ).start()
    print(f"Azure OpenAI simulator: {simulator.url}", flush=True)
    print(f"Identity endpoint:      {simulator.identity_endpoint}", flush=True)
    print(f"ARM deployments:        {simulator.arm_deployments_url}", flush=True)
    print(f"Deployments:            {', '.join(d.name for d in simulator.deployments)}", flush=True)
    done = threading.Event()
    # Explicit handlers: a shell starting us in the background (make run &) ignores SIGINT.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    try:
        while not done.wait(1.0):
            pass
    finally:
        simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
