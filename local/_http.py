"""HTTP server plumbing shared by the local host (local.host) and the simulator."""

from __future__ import annotations

import contextlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REQUEST_QUEUE_SIZE = 128


class TrackingHTTPServer(ThreadingHTTPServer):
    """A thread per connection, with the open connections tracked so that a stop can close
    them: keep-alive connections would otherwise keep being served after shutdown()."""

    daemon_threads = True
    request_queue_size = REQUEST_QUEUE_SIZE

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self._open: set[Any] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        with self._open_lock:
            open_sockets = list(self._open)
        for sock in open_sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class KeepAliveHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 (keep-alive) with Nagle off: headers and body go out in two writes, and with
    Nagle on a keep-alive client's delayed ACK stalls every answer by ~40 ms."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
