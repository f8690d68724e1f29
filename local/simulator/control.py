"""The control API (JSON, no auth, loopback only), for tests and for trying faults by hand.

Routes:
    GET|DELETE /_sim/requests   GET|POST|DELETE /_sim/faults   GET /_sim/arm-requests
    GET|PUT    /_sim/deployments   PUT /_sim/latency
    GET        /_sim/batches   PUT /_sim/batches/{batch_id} {"status": ...}
    GET|PUT    /_sim/batch-settings {"step_s": ..., "outcome": ..., "format": ...}
    GET        /_sim/responses   POST /_sim/responses/{response_id}/status {"status": ...}
    GET|PUT    /_sim/response-settings {"step_s": ...}
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from local.simulator.batch_store import (
    BATCH_FORMATS,
    BATCH_OUTCOMES,
    BatchStore,
    checked_step_s,
    one_of,
    parse_status,
)
from local.simulator.batches import BATCH_NOT_FOUND
from local.simulator.errors import Reject, azure_error, not_found
from local.simulator.faults import fault_to_json
from local.simulator.models import RecordedRequest, deployment_from_dict, fault_from_dict
from local.simulator.response_store import ResponseStore, response_not_found
from local.simulator.responses import Response, json_response
from local.simulator.routing import Route, route
from local.simulator.state import State

CONTROL_PREFIX = "/_sim"


def is_control_path(path: str) -> bool:
    return path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")


class Control:
    def __init__(self, state: State, batches: BatchStore, responses: ResponseStore) -> None:
        self._state = state
        self._batches = batches
        self._responses = responses

    def routes(self) -> tuple[Route, ...]:
        return (
            route("GET", r"/_sim/requests", self._get_requests),
            route("GET", r"/_sim/arm-requests", self._get_arm_requests),
            route("DELETE", r"/_sim/requests", self._delete_requests),
            route("GET", r"/_sim/faults", self._get_faults),
            route("POST", r"/_sim/faults", self._post_fault),
            route("DELETE", r"/_sim/faults", self._delete_faults),
            route("GET", r"/_sim/deployments", self._get_deployments),
            route("PUT", r"/_sim/deployments", self._put_deployments),
            route("PUT", r"/_sim/latency", self._put_latency),
            route("GET", r"/_sim/batches", self._get_batches),
            route("PUT", r"/_sim/batches/(?P<batch_id>[^/]+)", self._put_batch),
            route("GET", r"/_sim/batch-settings", self._get_batch_settings),
            route("PUT", r"/_sim/batch-settings", self._put_batch_settings),
            route("GET", r"/_sim/responses", self._get_responses),
            route("POST", r"/_sim/responses/(?P<response_id>[^/]+)/status", self._pin_response),
            route("GET", r"/_sim/response-settings", self._get_response_settings),
            route("PUT", r"/_sim/response-settings", self._put_response_settings),
        )

    def _get_requests(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        return json_response(200, [recorded.to_json() for recorded in self._state.requests()])

    def _get_arm_requests(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        return json_response(200, [recorded.to_json() for recorded in self._state.arm_requests()])

    def _delete_requests(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        self._state.clear_logs()
        return json_response(200, {"cleared": True})

    def _get_faults(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        return json_response(200, [fault_to_json(fault) for fault in self._state.faults.snapshot()])

    def _post_fault(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        data = _control_body(request)
        with _invalid_as_bad_request():
            fault = fault_from_dict(data)
        self._state.faults.add(fault)
        return json_response(201, fault_to_json(fault))

    def _delete_faults(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        self._state.faults.clear()
        return json_response(200, {"cleared": True})

    def _get_deployments(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        return json_response(200, [asdict(deployment) for deployment in self._state.deployments])

    def _put_deployments(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        data = _control_body(request)
        if not isinstance(data, list):
            raise Reject(azure_error(400, "BadRequest", "expected a JSON list of deployments"))
        with _invalid_as_bad_request():
            self._state.set_deployments(deployment_from_dict(item) for item in data)
        return self._get_deployments(request, params)

    def _put_latency(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        data = _control_body(request)
        if not isinstance(data, dict) or "latency_s" not in data:
            raise Reject(azure_error(400, "BadRequest", 'expected {"latency_s": <seconds>}'))
        with _invalid_as_bad_request():
            self._state.latency_s = data["latency_s"]
        return json_response(200, {"latency_s": self._state.latency_s})

    def _get_batches(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        return json_response(200, self._batches.listing())

    def _put_batch(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        data = _control_body(request)
        if not isinstance(data, dict) or set(data) != {"status"}:
            raise Reject(azure_error(400, "BadRequest", 'expected {"status": <batch status>}'))
        with _invalid_as_bad_request():
            status = parse_status(data["status"])
        try:
            self._batches.set_status(params["batch_id"], status)
        except KeyError as error:
            raise not_found(BATCH_NOT_FOUND) from error
        return json_response(200, self._batches.get(params["batch_id"]))

    def _settings(self) -> dict[str, Any]:
        batches = self._batches
        return {"step_s": batches.step_s, "outcome": batches.outcome, "format": batches.format}

    def _get_batch_settings(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        return json_response(200, self._settings())

    def _put_batch_settings(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        data = _control_body(request)
        names = ("step_s", "outcome", "format")
        if not isinstance(data, dict) or not data or not set(data) <= set(names):
            expected = 'expected an object with any of "step_s", "outcome", "format"'
            raise Reject(azure_error(400, "BadRequest", expected))
        batches = self._batches
        with _invalid_as_bad_request():
            # All checked before any is applied, so a bad value changes nothing.
            step_s = checked_step_s(data.get("step_s", batches.step_s), "step_s")
            outcome = one_of("outcome", data.get("outcome", batches.outcome), BATCH_OUTCOMES)
            format_ = one_of("format", data.get("format", batches.format), BATCH_FORMATS)
        batches.step_s, batches.outcome, batches.format = step_s, outcome, format_
        return json_response(200, self._settings())

    def _get_responses(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        return json_response(200, self._responses.listing())

    def _pin_response(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        data = _control_body(request)
        if (
            not isinstance(data, dict)
            or "status" not in data
            or not set(data) <= {"status", "reason"}
        ):
            expected = 'expected {"status": <response status>} (and "reason" for incomplete)'
            raise Reject(azure_error(400, "BadRequest", expected))
        response_id = params["response_id"]
        try:
            with _invalid_as_bad_request():
                self._responses.set_status(response_id, data["status"], data.get("reason"))
        except KeyError as error:
            raise response_not_found(response_id) from error
        return json_response(200, self._responses.get(response_id))

    def _get_response_settings(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        return json_response(200, {"step_s": self._responses.step_s})

    def _put_response_settings(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        data = _control_body(request)
        if not isinstance(data, dict) or set(data) != {"step_s"}:
            raise Reject(azure_error(400, "BadRequest", 'expected {"step_s": <seconds>}'))
        with _invalid_as_bad_request():
            self._responses.step_s = data["step_s"]
        return json_response(200, {"step_s": self._responses.step_s})


def _control_body(request: RecordedRequest) -> Any:
    try:
        return request.json()
    except ValueError as error:
        raise Reject(azure_error(400, "BadRequest", f"invalid JSON: {error}")) from error


@contextlib.contextmanager
def _invalid_as_bad_request() -> Iterator[None]:
    try:
        yield
    except (TypeError, ValueError) as error:
        raise Reject(azure_error(400, "BadRequest", str(error))) from error
