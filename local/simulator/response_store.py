"""The Responses API's stored responses and the states a background one goes through.

A synchronous response is answered in its final state (completed, or incomplete when
``max_output_tokens`` or the content filter cut it short). A background one is answered
``queued``, then reads ``in_progress`` after ``step_s`` seconds and its final state after twice
that (``step_s`` 0: final at its first read). ``set_status()`` pins any response to any status;
``cancel()`` cancels a background one still queued or in progress and returns an ended one as it
is. Responses created with ``store: false`` are answered but never kept.

The response object follows Azure's samples (MicrosoftDocs/azure-ai-docs
``articles/ai-foundry/openai/how-to/responses.md`` and ``reasoning.md``) and the openai SDK's
``Response`` type: id, object, created_at, status, background, completed_at, error,
incomplete_details, the request's echo, output and usage.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from local.simulator.batch_store import DEFAULT_BATCH_STEP_S, checked_step_s, one_of
from local.simulator.errors import Reject, invalid_request
from local.simulator.state import State

ResponseStatus = Literal["queued", "in_progress", "completed", "incomplete", "failed", "cancelled"]
IncompleteReason = Literal["max_output_tokens", "content_filter"]
RESPONSE_STATUSES: tuple[ResponseStatus, ...] = get_args(ResponseStatus)
INCOMPLETE_REASONS: tuple[IncompleteReason, ...] = get_args(IncompleteReason)
ENDED_STATUSES = frozenset(("completed", "incomplete", "failed", "cancelled"))
DEFAULT_RESPONSE_STEP_S = DEFAULT_BATCH_STEP_S
RESPONSE_ID_PREFIX = "resp_"
RESPONSE_STORE_MAX = 10_000  # responses kept; the oldest go first
SIMULATED_FAILURE = "Simulated response failure."
CANNOT_CANCEL_SYNCHRONOUS = "Cannot cancel a synchronous response."


def item_id(prefix: str) -> str:
    """An id like Azure's (resp_, msg_, rs_ and 50 hex digits)."""
    return prefix + (uuid.uuid4().hex + uuid.uuid4().hex)[:50]


def response_not_found(response_id: str) -> Reject:
    """The 404 for a response id nobody stored."""
    return invalid_request(f"Response with id '{response_id}' not found.", None, status=404)


@dataclass(frozen=True)
class Outcome:
    """What the model produced: the final status, output and usage."""

    status: Literal["completed", "incomplete"]
    output: list[dict[str, Any]]
    usage: dict[str, Any]
    incomplete_reason: IncompleteReason | None = None


@dataclass
class StoredResponse:
    id: str
    started: float  # clock reading at creation
    step_s: float  # the schedule's step, as set when the response was created
    background: bool
    echo: dict[str, Any]  # the request's fields the response object repeats
    outcome: Outcome
    pinned: ResponseStatus | None = None  # set_status() or cancel() froze it
    pinned_at: float | None = None
    incomplete_reason: IncompleteReason | None = None  # a pin's reason
    error: dict[str, Any] | None = None

    @property
    def created_at(self) -> int:
        return int(self.started)


class ResponseStore:
    """The stored responses (oldest first) and the step new background ones get; guarded by the
    state's lock."""

    def __init__(self, state: State, step_s: float) -> None:
        self._state = state
        self._responses: OrderedDict[str, StoredResponse] = OrderedDict()
        self.step_s = step_s
        self._initial_step_s = self.step_s

    @property
    def step_s(self) -> float:
        return self._step_s

    @step_s.setter
    def step_s(self, value: float) -> None:
        self._step_s = checked_step_s(value, "response_step_s")

    def reset(self) -> None:
        """Forget every response; restore the constructor's step."""
        with self._state.lock:
            self._responses.clear()
        self.step_s = self._initial_step_s

    def create(
        self, echo: dict[str, Any], outcome: Outcome, *, background: bool, store: bool
    ) -> dict[str, Any]:
        """A new response as answered when created (background: queued); kept when ``store``."""
        with self._state.lock:
            now = self._state.clock()
            created = StoredResponse(
                item_id(RESPONSE_ID_PREFIX), now, self._step_s, background, echo, outcome
            )
            if store:
                self._responses[created.id] = created
                while len(self._responses) > RESPONSE_STORE_MAX:
                    self._responses.popitem(last=False)
            return _json(created, "queued" if background else outcome.status)

    def exists(self, response_id: str) -> bool:
        with self._state.lock:
            return response_id in self._responses

    def get(self, response_id: str) -> dict[str, Any] | None:
        with self._state.lock:
            stored = self._responses.get(response_id)
            if stored is None:
                return None
            return _json(stored, _status(stored, self._state.clock()))

    def listing(self) -> list[dict[str, Any]]:
        """The response objects as they would be answered now, oldest first."""
        with self._state.lock:
            now = self._state.clock()
            return [_json(r, _status(r, now)) for r in self._responses.values()]

    def delete(self, response_id: str) -> bool:
        with self._state.lock:
            return self._responses.pop(response_id, None) is not None

    def set_status(self, response_id: str, status: str, reason: str | None = None) -> None:
        """Pin a response to a status (failed: with an error; incomplete: with ``reason``, else
        the one it had, else max_output_tokens). KeyError for an unknown response, ValueError
        for an unknown status or reason."""
        checked = cast(ResponseStatus, one_of("status", status, RESPONSE_STATUSES))
        if reason is not None:
            one_of("reason", reason, INCOMPLETE_REASONS)
            if checked != "incomplete":
                raise ValueError("reason goes only with status incomplete")
        with self._state.lock:
            stored = self._responses[response_id]
            self._pin_locked(stored, checked, self._state.clock())
            stored.error = None
            stored.incomplete_reason = None
            if checked == "failed":
                stored.error = {"code": "server_error", "message": SIMULATED_FAILURE}
            elif checked == "incomplete":
                given = cast(IncompleteReason | None, reason)
                stored.incomplete_reason = (
                    given or stored.outcome.incomplete_reason or "max_output_tokens"
                )

    def cancel(self, response_id: str) -> dict[str, Any] | None:
        """Cancel a background response (None for an unknown one); one that has ended comes
        back as it is. Reject for a synchronous response."""
        with self._state.lock:
            stored = self._responses.get(response_id)
            if stored is None:
                return None
            if not stored.background:
                raise invalid_request(CANNOT_CANCEL_SYNCHRONOUS, None)
            now = self._state.clock()
            if _status(stored, now) not in ENDED_STATUSES:
                self._pin_locked(stored, "cancelled", now)
            return _json(stored, _status(stored, now))

    @staticmethod
    def _pin_locked(stored: StoredResponse, status: ResponseStatus, now: float) -> None:
        stored.pinned, stored.pinned_at = status, now


def _status(stored: StoredResponse, now: float) -> ResponseStatus:
    if stored.pinned is not None:
        return stored.pinned
    if not stored.background:
        return stored.outcome.status
    elapsed = now - stored.started
    if elapsed >= 2 * stored.step_s:
        return stored.outcome.status
    return "in_progress" if elapsed >= stored.step_s else "queued"


def _completed_at(stored: StoredResponse) -> int:
    if stored.pinned is not None and stored.pinned_at is not None:
        return int(stored.pinned_at)
    if stored.background:
        return int(stored.started + 2 * stored.step_s)
    return stored.created_at


def _json(stored: StoredResponse, status: ResponseStatus) -> dict[str, Any]:
    produced = status in ("completed", "incomplete")
    reason = stored.incomplete_reason or stored.outcome.incomplete_reason or "max_output_tokens"
    return {
        "id": stored.id,
        "object": "response",
        "created_at": stored.created_at,
        "status": status,
        "background": stored.background,
        "completed_at": _completed_at(stored) if status == "completed" else None,
        "error": dict(stored.error) if status == "failed" and stored.error else None,
        "incomplete_details": {"reason": reason} if status == "incomplete" else None,
        **stored.echo,
        "output": list(stored.outcome.output) if produced else [],
        "usage": dict(stored.outcome.usage) if produced else None,
    }
