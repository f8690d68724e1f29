"""Injected faults: the queue requests are matched against, and the answer a fault gives."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import asdict, replace
from typing import Any, Literal, cast

from local.simulator.models import Fault, FaultBody
from local.simulator.responses import BINARY_TYPE, JSON_TYPE, TEXT_TYPE, Response

# Which surface a request is for: it decides which log records it, which faults may match it
# and which headers every answer gets.
Plane = Literal["data", "token", "arm", "control"]

RATE_LIMITED = (
    "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version "
    "2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. "
    "Please retry after 1 second."
)


class FaultQueue:
    """Faults in the order they were added, each used up as its ``skip`` and ``times`` say."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        """Queue a fault. A copy is stored, so the caller's object is never mutated."""
        with self._lock:
            self._faults.append(replace(fault))

    def snapshot(self) -> list[Fault]:
        with self._lock:
            return [replace(fault) for fault in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str, plane: Plane) -> Fault | None:
        """The fault that applies to this request (counting it), or None."""
        if plane == "control":
            return None
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path, data_plane=plane == "data"):
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times == 0:
                            self._faults.remove(fault)
                    return fault
        return None


def fault_response(fault: Fault, plane: Plane) -> Response:
    status = cast(int, fault.status)
    body, content_type = _fault_body(fault.body, status, plane)
    headers = {
        "content-type": fault.content_type or content_type,
        **({} if plane == "arm" else {"apim-request-id": str(uuid.uuid4())}),
        **{name.lower(): value for name, value in fault.headers.items()},
    }
    return Response(status, body, headers)


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


def fault_to_json(fault: Fault) -> dict[str, Any]:
    data = asdict(fault)
    if isinstance(fault.body, bytes):
        data["body"] = fault.body.decode("utf-8", "replace")
    return data
