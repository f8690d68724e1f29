"""A TCP proxy that can make a service vanish mid-conversation, while the service itself (and its
data) stays up: the test's stand-in for a storage outage at an exact point."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable

CHUNK = 65536


class TcpProxy:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`upstream_port`.

    `cut_when(data)` sees every chunk a client sends; when it returns True the proxy goes down
    before forwarding that chunk: every connection is closed and new ones are closed at once,
    until `up()`. `blackhole()` instead accepts connections and never answers (a storage account
    behind a firewall that drops packets). `accepted` counts the connections clients opened.
    """

    def __init__(
        self, upstream_port: int, cut_when: Callable[[bytes], bool] = lambda data: False
    ) -> None:
        self.upstream_port = upstream_port
        self.cut_when = cut_when
        self.accepted = 0
        self._down = threading.Event()
        self._blackholed = threading.Event()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._listener.close()
        self._close_all()

    @property
    def is_down(self) -> bool:
        return self._down.is_set()

    def up(self) -> None:
        self._down.clear()
        self._blackholed.clear()

    def blackhole(self) -> None:
        self._blackholed.set()
        self._close_all()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.accepted += 1
            if self._down.is_set():
                client.close()
                continue
            if self._blackholed.is_set():
                with self._lock:
                    self._sockets.add(client)  # held open, never read, never answered
                continue
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self._lock:
                self._sockets |= {client, upstream}
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, from_client: bool) -> None:
        while True:
            try:
                data = source.recv(CHUNK)
            except OSError:
                data = b""
            if from_client and data and not self._down.is_set() and self.cut_when(data):
                self._down.set()
                self._close_all()
                return
            if not data or self._down.is_set():
                for sock in (source, target):
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                return
            try:
                target.sendall(data)
            except OSError:
                return

    def _close_all(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
