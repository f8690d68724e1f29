"""What every benchmark needs around the app: a clean environment and Azurite.

Azurite's table service runs as a child process on a free port, in memory, exactly as the tests
start it; the app's settings are removed from the environment so the developer's shell cannot
change what is measured.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from shared.settings import SETTING_NAMES

ROOT = Path(__file__).resolve().parent.parent

AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's well-known development account key (public, documented by Microsoft).
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
AZURITE_START_TIMEOUT_S = 30.0
AZURITE_STOP_TIMEOUT_S = 10.0
# Every setting the app reads: removed from the environment for the whole benchmark (and for
# any interpreter it starts), so the developer's shell cannot change what is measured.
APP_ENV_NAMES = (*SETTING_NAMES, "DISCOVERY_SCHEDULE", "AZURE_TOKEN_CREDENTIALS")


def without_app_settings(env: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in env.items() if name not in APP_ENV_NAMES}


@contextmanager
def environ(values: Mapping[str, str]) -> Iterator[None]:
    """`os.environ` is exactly `values` inside the block, and as it was after it."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def connection_string(port: int) -> str:
    """The connection string of the Azurite account whose table service is on `port`."""
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"TableEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};"
    )


@contextmanager
def azurite_port() -> Iterator[int]:
    """Azurite's table service as a child process (in memory, a free port), as the tests start
    it; yields its port and stops it whatever happens."""
    binary = ROOT / "node_modules" / ".bin" / "azurite-table"
    if shutil.which("node") is None or not binary.exists():
        raise SystemExit("bench: Azurite is not installed (Node.js and `npm ci` are needed).")
    port = free_port()
    process = subprocess.Popen(
        [
            str(binary),
            "--tableHost",
            "127.0.0.1",
            "--tablePort",
            str(port),
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--silent",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process)
        yield port
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=AZURITE_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def azurite() -> Iterator[str]:
    """Like `azurite_port`, yielding the connection string."""
    with azurite_port() as port:
        yield connection_string(port)


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + AZURITE_START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.1)
    raise SystemExit("bench: Azurite did not start.")
