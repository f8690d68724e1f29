"""The HTTP server: reads a request, records it, applies a matching fault or routes it, adds the
headers of its plane, and answers (whole, cut short or stalled, as a fault says)."""

from __future__ import annotations

import contextlib
import socket
import sys
import uuid
from dataclasses import replace
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

from local._http import KeepAliveHandler, TrackingHTTPServer
from local.simulator.arm import is_arm_path, with_arm_headers
from local.simulator.control import is_control_path
from local.simulator.errors import Reject, azure_error
from local.simulator.faults import Plane, fault_response
from local.simulator.identity import TOKEN_PATH
from local.simulator.models import RecordedRequest
from local.simulator.responses import JSON_TYPE, Response
from local.simulator.routing import Route, dispatch
from local.simulator.state import State

REGION = "Sweden Central"


class SimulatorServer(TrackingHTTPServer):
    # Idle keep-alive connections would make server_close() wait forever; stop() closes them.
    block_on_close = False

    def __init__(self, address: tuple[str, int], state: State, routes: tuple[Route, ...]) -> None:
        self.state = state
        self.routes = routes
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # the client went away (or stop() closed the socket)
        super().handle_error(request, client_address)


def plane(path: str) -> Plane:
    """Which surface a (percent-decoded) path is for."""
    if path == TOKEN_PATH:
        return "token"
    if is_control_path(path):
        return "control"
    if is_arm_path(path):
        return "arm"
    return "data"


class _Handler(KeepAliveHandler):
    server_version = "AzureOpenAISimulator/1.0"

    @property
    def _server(self) -> SimulatorServer:
        return cast(SimulatorServer, self.server)

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        if self._server.state.verbose:
            super().log_message(format, *args)

    def _dispatch(self) -> None:
        state = self._server.state
        try:
            request = self._read_request()
        except Reject as reject:  # unreadable framing: answer, then drop the connection
            self.close_connection = True
            self._send(reject.response)
            return
        request_plane = plane(request.path)
        state.record(request, request_plane)
        fault = state.faults.take(request.method, request.path, request_plane)
        if fault is not None:
            state.pause(fault.delay_s)
            if fault.drop:
                self._hang_up()
                return
        if fault is not None and fault.status is not None:
            response = fault_response(fault, request_plane)
        else:
            response = dispatch(self._server.routes, request)
        if request_plane == "data":
            state.pause(state.latency_s)
            response = _with_data_plane_headers(response)
        elif request_plane == "arm":
            response = with_arm_headers(response, request)
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
            raise Reject(azure_error(411, "411", "Length Required"))
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            raise Reject(azure_error(400, "400", "Invalid Content-Length"))
        return self.rfile.read(length)

    def _send(self, response: Response, *, cut: bool = False, stall_s: float = 0.0) -> None:
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
        self._server.state.pause(stall_s)
        with contextlib.suppress(OSError):  # the client may have given up meanwhile
            self.wfile.write(response.body[half:])

    def _hang_up(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def _with_data_plane_headers(response: Response) -> Response:
    common = {
        "content-type": JSON_TYPE,
        "apim-request-id": str(uuid.uuid4()),
        "x-ms-region": REGION,
    }
    return replace(response, headers={**common, **response.headers})
