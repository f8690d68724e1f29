"""`python -m local.stack`, as `make run` starts it: however the stack ends -- a stop signal
(the terminal closing is SIGHUP) or an error -- Azurite, the simulator and the local host stop
with it, and their ports are free for the next `make run`."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from local import stack as local_stack
from local.azurite import Azurite
from local.simulator import DEFAULT_DEPLOYMENTS, DEPLOYMENTS_FILE_ENV, Simulator
from tests.helpers import ROOT

HOST = "127.0.0.1"
READY = "Local stack is ready"
START_TIMEOUT_S = 120.0  # Azurite, the app's import and a discovery, on a busy 2-core machine
STOP_TIMEOUT_S = 30.0
POLL_S = 0.05
AZURITE_PID = re.compile(r"Azurite table service on \S+ \(pid (\d+),")
DISCOVERY_LINE = re.compile(
    r"discovery at start: HTTP 200, 5 deployments, \d+ created, 0 updated, 0 unchanged, "
    r"0 retired, 0 unretired"
)


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((HOST, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def is_listening(port: int) -> bool:
    try:
        socket.create_connection((HOST, port), timeout=1).close()
    except OSError:
        return False
    return True


def is_free(port: int) -> bool:
    """Whether a new server could bind the port (as the stack's own start-up check binds it)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def wait_until(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_S)
    return True


# Starts the command after it with SIGHUP's default disposition: a test run under nohup (a CI
# runner's, say) would otherwise hand its ignored hang-up to the stack, which keeps it ignored
# on purpose (test_under_nohup_a_hang_up_leaves_the_stack_running).
DEFAULT_HANGUP = [
    sys.executable,
    "-c",
    "import os, signal, sys; signal.signal(signal.SIGHUP, signal.SIG_DFL); "
    "os.execvp(sys.argv[1], sys.argv[1:])",
]


class RunningStack:
    """A `python -m local.stack` child process and what it has printed so far."""

    def __init__(self, location: Path, launcher: list[str]) -> None:
        self.azurite_port, self.sim_port, self.app_port = free_ports(3)
        env = dict(os.environ)
        env.pop(DEPLOYMENTS_FILE_ENV, None)
        self.process = subprocess.Popen(
            [*(launcher or DEFAULT_HANGUP), sys.executable, "-m", "local.stack"]
            + ["--port", str(self.app_port), "--sim-port", str(self.sim_port)]
            + ["--azurite-port", str(self.azurite_port), "--azurite-location", str(location)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # signals meant for pytest do not reach it
        )
        self._lines: list[str] = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.azurite_pid: int | None = None

    @property
    def ports(self) -> tuple[int, int, int]:
        return self.azurite_port, self.sim_port, self.app_port

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.append(line)
            if READY in line:
                self._ready.set()
        self._ready.set()  # the stack exited: nothing more will come

    def output(self) -> str:
        return "".join(self._lines)

    def wait_ready(self) -> None:
        self._ready.wait(START_TIMEOUT_S)
        output = self.output()
        assert READY in output, f"the stack did not get ready:\n{output}"
        found = AZURITE_PID.search(output)
        assert found is not None, output
        self.azurite_pid = int(found.group(1))

    def stopped(self) -> int:
        """The stack's exit code, once it has exited and said all it had to say."""
        try:
            code = self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the stack did not stop:\n{self.output()}") from None
        self._reader.join(STOP_TIMEOUT_S)
        return code

    def close(self) -> None:
        """Kill the stack and its Azurite if a failed test left them running; close the pipe."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.azurite_pid is not None and is_alive(self.azurite_pid):
            os.kill(self.azurite_pid, signal.SIGKILL)
        self._reader.join(STOP_TIMEOUT_S)
        assert self.process.stdout is not None
        self.process.stdout.close()


@pytest.fixture
def start_stack(tmp_path: Path) -> Iterator[Callable[[list[str]], RunningStack]]:
    """Starts the stack (through `launcher`, e.g. nohup) and waits until it is ready."""
    started: list[RunningStack] = []

    def start(launcher: list[str]) -> RunningStack:
        running = RunningStack(tmp_path / "azurite", launcher)
        started.append(running)
        running.wait_ready()
        return running

    yield start
    for running in started:
        running.close()


@pytest.fixture
def running_stack(start_stack: Callable[[list[str]], RunningStack]) -> RunningStack:
    return start_stack([])


def test_make_run_serves_a_reasoning_and_a_responses_only_deployment_by_default() -> None:
    served = local_stack._deployments(None)
    assert [d.name for d in served] == [
        *(d.name for d in DEFAULT_DEPLOYMENTS),
        "gpt-5-mini",
        "gpt-5-codex",
    ]
    reasoning, responses_only = served[-2].family, served[-1].family
    assert reasoning.reasoning and reasoning.chat and reasoning.responses
    assert responses_only.responses and not responses_only.chat
    args = local_stack._parse_args([])
    assert (args.batch_step_s, args.response_step_s) == (2.0, 2.0)
    assert local_stack._parse_args(["--response-step-s", "0"]).response_step_s == 0.0
    with Simulator(served) as sim:
        stack = local_stack.Stack(
            app_url="http://127.0.0.1:7071",
            simulator=sim,
            azurite_port=10002,
            azurite_location=ROOT / ".azurite",
        )
        banner, sim_url = local_stack._banner(stack), sim.url
    assert f"curl -s -X POST {sim_url}/openai/v1/responses" in banner
    assert '"model": "gpt-5-codex", "input": "Say hello", "background": true' in banner
    assert "  gpt-5-mini -> gpt-5-mini (2025-08-07)" in banner


@pytest.mark.parametrize(
    "signum", [signal.SIGHUP, signal.SIGTERM, signal.SIGINT], ids=lambda signum: signum.name
)
def test_a_stop_signal_stops_azurite_the_simulator_and_the_host(
    running_stack: RunningStack, signum: signal.Signals
) -> None:
    azurite_pid = running_stack.azurite_pid
    assert azurite_pid is not None and is_alive(azurite_pid)
    assert all(is_listening(port) for port in running_stack.ports)
    assert DISCOVERY_LINE.search(running_stack.output()), running_stack.output()

    running_stack.process.send_signal(signum)

    assert running_stack.stopped() == 0, running_stack.output()
    output = running_stack.output()
    assert f"stopped ({signum.name})" in output
    assert "Azurite stopped" in output
    # The stack waited for Azurite, its child: had it left it running, Azurite would still be
    # alive (handed to init) and holding its port.
    assert wait_until(lambda: not is_alive(azurite_pid), STOP_TIMEOUT_S)
    assert [port for port in running_stack.ports if not is_free(port)] == []


def test_under_nohup_a_hang_up_leaves_the_stack_running(
    start_stack: Callable[[list[str]], RunningStack],
) -> None:
    running = start_stack(["nohup"])  # SIGHUP ignored from the start: meant to outlive a terminal

    running.process.send_signal(signal.SIGHUP)
    running.process.send_signal(signal.SIGTERM)  # handled after the hang-up, had it stopped us

    assert running.stopped() == 0, running.output()
    assert "stopped (SIGTERM)" in running.output()
    azurite_pid = running.azurite_pid
    assert azurite_pid is not None
    assert wait_until(lambda: not is_alive(azurite_pid), STOP_TIMEOUT_S)


def test_an_error_after_azurite_started_stops_it_and_the_simulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[Azurite] = []

    class RecordedAzurite(Azurite):
        def spawn(self) -> None:
            super().spawn()
            started.append(self)

    def failing_app(port: int, stack: object) -> None:
        raise RuntimeError("the app failed to load")

    monkeypatch.setattr(local_stack, "Azurite", RecordedAzurite)
    monkeypatch.setattr(local_stack, "_apply_settings", lambda settings: None)
    monkeypatch.setattr(local_stack, "_start_app", failing_app)
    azurite_port, sim_port, app_port = free_ports(3)
    args = local_stack._parse_args(
        ["--port", str(app_port), "--sim-port", str(sim_port)]
        + ["--azurite-port", str(azurite_port), "--azurite-location", str(tmp_path)]
    )
    handlers = {signum: signal.getsignal(signum) for signum in local_stack.STOP_SIGNALS}
    try:
        with pytest.raises(RuntimeError, match="the app failed to load"):
            local_stack._run(args, list(DEFAULT_DEPLOYMENTS))
    finally:
        for signum, handler in handlers.items():  # the stack ignores them while it stops
            signal.signal(signum, handler)

    [azurite] = started
    assert azurite.process is None
    assert is_free(azurite_port) and is_free(sim_port)
