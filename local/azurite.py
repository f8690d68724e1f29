"""Azurite's table service as a child process: the one way the tests, the benchmarks and the
local stack get storage (in memory, or kept in a folder)."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / "node_modules" / ".bin" / "azurite-table"
HOST = "127.0.0.1"
ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key (public, documented; not a secret).
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
POLL_S = 0.1


class AzuriteError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def connection_string(port: int) -> str:
    """The connection string of the Azurite account whose table service is on `port`."""
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
        f"TableEndpoint=http://{HOST}:{port}/{ACCOUNT};"
    )


class Azurite:
    """`start()` and `stop()` may be called again: the port stays, so a test can take storage
    away and bring it back."""

    def __init__(
        self, port: int | None = None, location: Path | None = None, *, show_errors: bool = False
    ) -> None:
        self.port = port or free_port()
        self.location = location
        self.show_errors = show_errors  # its error output on our stderr (the local stack)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def connection_string(self) -> str:
        return connection_string(self.port)

    def start(self) -> Azurite:
        """Start Azurite and wait until it listens; whatever stops the wait (a timeout, Azurite
        exiting, an interrupt) stops Azurite too."""
        self.spawn()
        try:
            self.wait_until_listening()
        except BaseException:
            self.stop()
            raise
        return self

    def spawn(self) -> None:
        """Start the Azurite process without waiting for it to listen."""
        if not BINARY.exists():
            raise AzuriteError(
                f"Azurite is not installed ({BINARY.relative_to(ROOT)} is missing): "
                "run `make run` or `make test` (they run `npm ci`), or `npm ci`."
            )
        if shutil.which("node") is None:
            raise AzuriteError("Node.js is needed for Azurite: install node (v20 or later).")
        storage = ["--location", str(self.location)] if self.location else ["--inMemoryPersistence"]
        # A session of its own: a Ctrl-C or a terminal's hang-up meant for us does not reach it
        # before we stop it (its owner must stop it: the local stack does on every way out).
        self.process = subprocess.Popen(
            [
                str(BINARY),
                "--tableHost",
                HOST,
                "--tablePort",
                str(self.port),
                *storage,
                "--skipApiVersionCheck",
                "--disableTelemetry",
                "--silent",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=None if self.show_errors else subprocess.DEVNULL,
            start_new_session=True,
        )

    def wait_until_listening(self) -> None:
        """Wait until the spawned Azurite accepts connections; AzuriteError when it exits or
        does not listen within START_TIMEOUT_S (it is left running then: stop() it)."""
        if self.process is None:
            raise AzuriteError("Azurite is not running: spawn() it first.")
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                socket.create_connection((HOST, self.port), timeout=0.5).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    code = self.process.returncode
                    self.process = None
                    raise AzuriteError(f"Azurite exited with code {code}.") from None
                time.sleep(POLL_S)
        raise AzuriteError(
            f"Azurite did not listen on {HOST}:{self.port} within {START_TIMEOUT_S:.0f} s."
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            # SIGINT is Azurite's graceful stop: it saves its data first (SIGTERM loses the
            # writes of its last seconds when it keeps data on disk).
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> Azurite:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
