"""The invocation context the Functions host hands a function that takes `context`, as the local
host and the tests build it: its trace context is the caller's `traceparent` and `tracestate`
(the real host gives its own invocation's, a child of the caller's)."""

from __future__ import annotations

import inspect
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import azure.functions as func
from azure.functions._abc import RetryContext, TraceContext


class LocalTraceContext(TraceContext):
    def __init__(self, trace_parent: str, trace_state: str) -> None:
        self._parent, self._state = trace_parent, trace_state

    @property
    def trace_parent(self) -> str:
        return self._parent

    @property
    def trace_state(self) -> str:
        return self._state

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class LocalContext(func.Context):
    def __init__(self, function_name: str, trace_context: LocalTraceContext) -> None:
        self._name, self._trace = function_name, trace_context
        self._id = str(uuid.uuid4())

    @property
    def invocation_id(self) -> str:
        return self._id

    @property
    def thread_local_storage(self) -> Any:
        return threading.local

    @property
    def function_name(self) -> str:
        return self._name

    @property
    def function_directory(self) -> str:
        return ""

    @property
    def trace_context(self) -> TraceContext:
        return self._trace

    @property
    def retry_context(self) -> RetryContext:
        raise NotImplementedError("the local host has no retry policies")


def takes_context(function: Callable[..., Any]) -> bool:
    """Whether the worker passes the function a `context` (it has a parameter of that name)."""
    return "context" in inspect.signature(function).parameters


def invocation_context(
    function_name: str, headers: Mapping[str, str] | None = None
) -> LocalContext:
    """The context of one invocation, with the trace context of the caller's headers, if any."""
    found = {k.lower(): v for k, v in (headers or {}).items()}
    trace = LocalTraceContext(found.get("traceparent", ""), found.get("tracestate", ""))
    return LocalContext(function_name, trace)
