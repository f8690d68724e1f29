"""The local stack behind `make run`: Azurite, the Azure simulator and the app on the local host.

Usage: `python -m local.stack [--port 7071] [--sim-port 7072] [--azurite-port 10002]` from the
repository root. No cloud is involved: Azurite (a child process) holds the job registry in
`.azurite/`, the simulator stands in for Azure OpenAI and the managed-identity endpoint, and the
app runs unmodified against both. However the stack ends -- Ctrl-C, SIGTERM, the terminal closing
(SIGHUP), an error -- it stops all three.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import secrets
import signal
import socket
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from urllib.parse import quote

import requests
from azure.core.exceptions import AzureError
from azure.data.tables import TableServiceClient

from local import azurite
from local import host as local_host
from local import simulator as local_simulator
from local.azurite import Azurite, AzuriteError, connection_string
from local.host import DEFAULT_ROUTE_PREFIX, LocalHost, load_app
from local.simulator import Deployment, Simulator, load_deployments
from local.simulator.cli import SERVED_DEPLOYMENTS
from shared.constants import (
    ATTR_MAX_TOKENS,
    ATTR_SYSTEM_PROMPT,
    DEFAULT_JOB_DEFINITIONS_TABLE,
    REGISTRY_CACHE_TTL_S,
)

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
MAX_PORT = 65535
DEFAULT_APP_PORT = local_host.DEFAULT_PORT  # 7071, like `func start`
DEFAULT_SIM_PORT = local_simulator.DEFAULT_CLI_PORT  # 7072
DEPLOYMENTS_FILE_ENV = local_simulator.DEPLOYMENTS_FILE_ENV  # SIM_DEPLOYMENTS_FILE
AZURITE_LOCATION = ROOT / ".azurite"
DEFAULT_AZURITE_PORT = 10002
DEFAULT_BATCH_STEP_S = local_simulator.DEFAULT_BATCH_STEP_S  # a batch completes in about 6 s
DEFAULT_RESPONSE_STEP_S = local_simulator.DEFAULT_RESPONSE_STEP_S  # a background response: 4 s
DISCOVERY_TIMEOUT_S = 60.0
AZURITE_ACCOUNT = azurite.ACCOUNT

DISCOVERY_SCHEDULE = "0 0 * * * *"
JOB_TABLE = DEFAULT_JOB_DEFINITIONS_TABLE
# Settings a user may set in the environment to try other modes (api_key, tighter limits); the
# stack overwrites every other setting it sets, whatever the environment says.
USER_SETTINGS = frozenset(
    {
        "AZURE_OPENAI_AUTH",
        "AZURE_OPENAI_API_KEY",
        "RUN_DEADLINE_S",
        "MAX_REQUEST_BYTES",
        "REQUIRE_REGISTERED_JOBS",
    }
)
USER_SETTING_PREFIX = "AOAI_"

IDENTITY_HEADER_BYTES = 16  # random per run, like the secret App Service hands the app
STATUS_LINK_SECRET_BYTES = 48
# (argparse attribute, flag) of each port, in start order
PORT_FLAGS = (("azurite_port", "--azurite-port"), ("sim_port", "--sim-port"), ("port", "--port"))

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STOP_POLL_S = 0.2  # the longest a stop signal waits for the main thread to act on it
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_DATE_FORMAT = "%H:%M:%S"
QUIET_LOGGERS = ("azure",)  # the SDKs log every HTTP request and response at INFO

EXAMPLE_PROMPT = "Say hello"
EXAMPLE_MAX_TOKENS = 50
EXAMPLE_ATTRIBUTES = {ATTR_SYSTEM_PROMPT: "You are terse.", ATTR_MAX_TOKENS: "64"}
FAULT_RETRY_AFTER_MS = "500"

logger = logging.getLogger("local.stack")


class StartupError(Exception):
    """A part of the stack could not start; the message says what to do."""


class StopRequested(BaseException):
    """SIGINT, SIGTERM or SIGHUP arrived (a BaseException, like KeyboardInterrupt, so that no
    `except Exception` on the way swallows it)."""


@dataclass(frozen=True)
class Stack:
    """The running parts, for the banner."""

    app_url: str
    simulator: Simulator
    azurite_port: int
    azurite_location: Path

    @property
    def azurite_url(self) -> str:
        return f"http://{HOST}:{self.azurite_port}/{AZURITE_ACCOUNT}"


# -- command line -----------------------------------------------------------------------------


def _port(text: str) -> int:
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_PORT):
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (1-{MAX_PORT})")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds >= 0")
    return value


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m local.stack",
        description="Run the app locally against Azurite and the Azure simulator (no cloud). "
        "Ctrl-C stops everything.",
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_APP_PORT,
        help="port of the app (the local Functions host) (default: %(default)s)",
    )
    parser.add_argument(
        "--sim-port",
        type=_port,
        default=DEFAULT_SIM_PORT,
        help="port of the Azure OpenAI + managed-identity simulator (default: %(default)s)",
    )
    parser.add_argument(
        "--azurite-port",
        type=_port,
        default=DEFAULT_AZURITE_PORT,
        help="port of Azurite's table service (default: %(default)s)",
    )
    parser.add_argument(
        "--azurite-location",
        type=Path,
        default=AZURITE_LOCATION,
        metavar="DIR",
        help="folder Azurite keeps its data in (default: .azurite/)",
    )
    parser.add_argument(
        "--deployments",
        metavar="FILE",
        default=os.environ.get(DEPLOYMENTS_FILE_ENV),
        help="JSON list of simulated deployments, e.g. "
        '[{"name": "gpt-4o", "model": "gpt-4o", "version": "2024-08-06"}] '
        f"(default: ${DEPLOYMENTS_FILE_ENV}, else the simulator's built-ins)",
    )
    parser.add_argument(
        "--latency-s",
        type=_seconds,
        default=0.0,
        help="seconds the simulator waits before each Azure OpenAI answer (default: 0)",
    )
    parser.add_argument(
        "--batch-step-s",
        type=_seconds,
        default=DEFAULT_BATCH_STEP_S,
        help="seconds a simulated batch spends in each of validating, in_progress and "
        "finalizing (default: %(default)s)",
    )
    parser.add_argument(
        "--response-step-s",
        type=_seconds,
        default=DEFAULT_RESPONSE_STEP_S,
        help="seconds a simulated background response spends queued, then in_progress "
        "(default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if len({args.port, args.sim_port, args.azurite_port}) < 3:
        parser.error("--port, --sim-port and --azurite-port must differ")
    return args


def _deployments(path: str | None) -> list[Deployment]:
    """The file's deployments, else the simulator's defaults with a reasoning deployment
    (gpt-5-mini) and a Responses-only one (gpt-5-codex)."""
    return load_deployments(path) if path else list(SERVED_DEPLOYMENTS)


# -- Azurite ----------------------------------------------------------------------------------


def _check_port_free(port: int, flag: str) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as error:
            raise StartupError(
                f"port {port} ({flag}) is in use ({error.strerror}): stop what listens there "
                "(an Azurite left over? `pgrep -af azurite-table`) or choose another port: "
                f'make run ARGS="{flag} N"'
            ) from None


def _create_job_table(connection_string: str) -> None:
    try:
        service = TableServiceClient.from_connection_string(connection_string)
        service.create_table_if_not_exists(JOB_TABLE)
    except AzureError as error:
        raise StartupError(f"cannot create table {JOB_TABLE} in Azurite: {error}") from None


# -- settings ---------------------------------------------------------------------------------


def _app_settings(sim: Simulator, identity_header: str, azurite_port: int) -> dict[str, str]:
    return {
        "AZURE_OPENAI_ACCOUNT": sim.account,  # the simulated resource discovery lists
        "AZURE_OPENAI_ENDPOINT": sim.url,
        "IDENTITY_ENDPOINT": sim.identity_endpoint,
        "IDENTITY_HEADER": identity_header,
        "AzureWebJobsStorage": connection_string(azurite_port),
        "AZURE_SUBSCRIPTION_ID": sim.subscription_id,
        "AZURE_RESOURCE_GROUP": sim.resource_group,
        "AZURE_RESOURCE_MANAGER_ENDPOINT": sim.url,
        "DISCOVERY_SCHEDULE": DISCOVERY_SCHEDULE,
        "JOB_DEFINITIONS_TABLE": JOB_TABLE,
        # signs the batch status links; new at every start, so links die with the stack
        "STATUS_LINK_SECRET": secrets.token_urlsafe(STATUS_LINK_SECRET_BYTES),
    }


def _user_may_set(name: str) -> bool:
    return name in USER_SETTINGS or name.startswith(USER_SETTING_PREFIX)


def _apply_settings(settings: dict[str, str]) -> None:
    """Set the settings in os.environ; only the user-tunable ones keep a value already set."""
    for name, value in settings.items():
        if not (_user_may_set(name) and name in os.environ):
            os.environ[name] = value
    user_set = sorted(name for name in os.environ if _user_may_set(name))
    if user_set:  # names only: AZURE_OPENAI_API_KEY is a secret
        logger.info("settings taken from your environment: %s", ", ".join(user_set))


# -- signals ----------------------------------------------------------------------------------


class _StopSignals:
    """Turns a stop signal into StopRequested where the main thread is, except inside
    `deferred()`, which holds it until its end: a child process is never left started without
    the clean-up that stops it."""

    def __init__(self) -> None:
        self._deferring = False
        self._pending: str | None = None

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        _ignore_stop_signals()  # a second Ctrl-C must not cut the clean-up short
        name = signal.Signals(signum).name
        if self._deferring:
            self._pending = name
            return
        raise StopRequested(name)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False
        pending, self._pending = self._pending, None
        if pending is not None:
            raise StopRequested(pending)


_stop_signals = _StopSignals()


def _ignore_stop_signals() -> None:
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    for signum in STOP_SIGNALS:
        # `nohup make run` asks the stack to outlive its terminal: a hang-up ignored at start
        # stays ignored.
        if not (signum == signal.SIGHUP and previous[signum] == signal.SIG_IGN):
            signal.signal(signum, _stop_signals.request_stop)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# -- start-up ---------------------------------------------------------------------------------


def _start_storage(port: int, location: Path, stack: contextlib.ExitStack) -> None:
    storage = Azurite(port, location, show_errors=True)
    try:
        with _stop_signals.deferred():  # no stop between the spawn and its clean-up's registration
            storage.spawn()
            stack.callback(_stop_storage, storage)
        storage.wait_until_listening()
    except AzuriteError as error:
        raise StartupError(f"{error} (see above)") from None
    pid = storage.process.pid if storage.process else None
    logger.info("Azurite table service on %s:%d (pid %s, data in %s)", HOST, port, pid, location)


def _stop_storage(storage: Azurite) -> None:
    if storage.process is None:
        return  # it never started, or exited on its own (reported already)
    storage.stop()  # SIGINT, Azurite's graceful stop: it saves its data first
    logger.info("Azurite stopped")


def _start_simulator(
    args: argparse.Namespace,
    deployments: list[Deployment],
    identity_header: str,
    stack: contextlib.ExitStack,
) -> Simulator:
    sim = Simulator(
        deployments,
        host=HOST,
        port=args.sim_port,
        identity_header=identity_header,
        latency_s=args.latency_s,
        batch_step_s=args.batch_step_s,
        response_step_s=args.response_step_s,
    ).start()
    stack.callback(sim.stop)
    logger.info("simulator on %s", sim.url)
    return sim


def _start_app(port: int, stack: contextlib.ExitStack) -> LocalHost:
    app = load_app(str(ROOT))  # imports function_app only now that its settings are in place
    host = LocalHost(app, host=HOST, port=port, log=logging.getLogger("local.host").info)
    host.start()
    stack.callback(host.stop)
    logger.info("app on %s", host.url)
    return host


def _start(
    args: argparse.Namespace, deployments: list[Deployment], stack: contextlib.ExitStack
) -> Stack:
    """Start Azurite, the simulator, then the app; `stack` stops them in reverse order."""
    for port, flag in PORT_FLAGS:
        _check_port_free(getattr(args, port), flag)
    _start_storage(args.azurite_port, args.azurite_location, stack)
    identity_header = secrets.token_urlsafe(IDENTITY_HEADER_BYTES)
    sim = _start_simulator(args, deployments, identity_header, stack)
    _apply_settings(_app_settings(sim, identity_header, args.azurite_port))
    _create_job_table(connection_string(args.azurite_port))
    host = _start_app(args.port, stack)
    _discover(host.url)
    return Stack(
        app_url=host.url,
        simulator=sim,
        azurite_port=args.azurite_port,
        azurite_location=args.azurite_location,
    )


def _discover(app_url: str) -> None:
    """One discovery at start, through the app's own HTTP function, so /api/jobs lists real
    definitions straight away."""
    response = requests.post(f"{app_url}/api/discovery", timeout=DISCOVERY_TIMEOUT_S)
    outcome = response.json()
    logger.info(
        "discovery at start: HTTP %d, %s deployments, %s created, %s updated, %s unchanged, "
        "%s retired, %s unretired",
        response.status_code,
        outcome.get("deployments"),
        outcome.get("created"),
        outcome.get("updated"),
        outcome.get("unchanged"),
        outcome.get("retired"),
        outcome.get("unretired"),
    )


# -- banner -----------------------------------------------------------------------------------


def _chat_deployment(deployments: Sequence[Deployment]) -> str:
    chat = [d.name for d in deployments if not d.is_embedding]
    return chat[0] if chat else "<deployment>"


def _python_command() -> str:
    executable = Path(sys.executable)
    with contextlib.suppress(ValueError):
        return str(executable.relative_to(Path.cwd()))
    return str(executable)


def _curl_examples(stack: Stack, deployment: str) -> list[str]:
    api = f"{stack.app_url}/{DEFAULT_ROUTE_PREFIX}"
    sim = stack.simulator.url
    body = f'{{"user_prompt": "{EXAMPLE_PROMPT}", "max_tokens": {EXAMPLE_MAX_TOKENS}}}'
    chat = (
        f"curl -s -X POST {api}/chat/{quote(deployment, safe='')} "
        f"-H 'Content-Type: application/json' -d '{body}'"
    )
    fault = (
        f'{{"path": "chat/completions", "status": 429, '
        f'"headers": {{"retry-after-ms": "{FAULT_RETRY_AFTER_MS}"}}}}'
    )
    run_id = quote(f"{deployment}#sync#Success", safe="")
    embedding = next((d.name for d in stack.simulator.deployments if d.is_embedding), None)
    embed = (
        [
            "# an embedding run",
            f"curl -s -X POST {api}/embeddings/{quote(embedding, safe='')} "
            "-H 'Content-Type: application/json' -d '{\"input\": \"Say hello\"}'",
        ]
        if embedding
        else []
    )
    responses = _responses_example(stack)
    return [
        "# a chat run",
        chat,
        *embed,
        *responses,
        "# poll a run's status",
        f"curl -s '{api}/status/{run_id}'",
        "# a batch job: see 'A batch job, step by step' in docs/development.md",
        "# health (anonymous: ok or not_configured), and the details",
        f"curl -s {api}/health",
        f"curl -s {api}/health/details",
        "# api_key mode instead of managed identity: start the stack with",
        f"#   AZURE_OPENAI_AUTH=api_key AZURE_OPENAI_API_KEY={stack.simulator.api_key} make run",
        f"# make Azure answer the next chat call with 429 (the app waits {FAULT_RETRY_AFTER_MS} ms"
        " and retries),",
        "# then run the chat call above again; GET /_sim/requests shows what Azure received",
        f"curl -s -X POST {sim}/_sim/faults -d '{fault}'",
    ]


def _responses_example(stack: Stack) -> list[str]:
    """Azure's Responses API on the simulator itself, in background, for a Responses-only
    deployment (else any that takes Responses)."""
    served = [d for d in stack.simulator.deployments if d.family.responses]
    only = [d for d in served if not d.family.chat]
    if not served:
        return []
    sim, key = stack.simulator.url, stack.simulator.api_key
    body = f'{{"model": "{(only or served)[0].name}", "input": "Say hello", "background": true}}'
    return [
        "# the simulator's Responses API (v1, no api-version): a background response, then poll",
        f"curl -s -X POST {sim}/openai/v1/responses -H 'api-key: {key}' "
        f"-H 'Content-Type: application/json' -d '{body}'",
        f"curl -s {sim}/openai/v1/responses/<response id> -H 'api-key: {key}'",
    ]


def _attribute_example(stack: Stack, deployment: str) -> list[str]:
    attributes = ", ".join(f'"{name}": "{value}"' for name, value in EXAMPLE_ATTRIBUTES.items())
    return [
        f"# give {deployment} a job definition (PartitionKey = account, RowKey = deployment);",
        f"# the app re-reads a definition after at most {REGISTRY_CACHE_TTL_S:.0f} s",
        f"{_python_command()} - <<'EOF'",
        "import json",
        "from azure.data.tables import TableClient",
        f'conn = "{connection_string(stack.azurite_port)}"',
        f'table = TableClient.from_connection_string(conn, "{JOB_TABLE}")',
        f"attributes = {{{attributes}}}",
        f'table.upsert_entity({{"PartitionKey": "{stack.simulator.account}",',
        f'                      "RowKey": "{deployment}",',
        '                      "Attributes": json.dumps(attributes)})',
        "EOF",
    ]


def _shown_path(stack: Stack) -> str:
    location = stack.azurite_location.resolve()
    with contextlib.suppress(ValueError):
        return f"{location.relative_to(Path.cwd())}/"
    return f"{location}/"


def _banner(stack: Stack) -> str:
    deployments = stack.simulator.deployments
    deployment = _chat_deployment(deployments)
    lines = [
        "",
        "Local stack is ready (Ctrl-C stops it)",
        f"  App:       {stack.app_url}/{DEFAULT_ROUTE_PREFIX}",
        f"  Simulator: {stack.simulator.url}  (Azure OpenAI, managed identity, /_sim control API)",
        f"  Azurite:   {stack.azurite_url}  (table {JOB_TABLE}, data in {_shown_path(stack)})",
        "Simulated deployments:",
        *(f"  {d.name} -> {d.model} ({d.version})" for d in deployments),
        "Try:",
        *(f"  {line}" for line in _curl_examples(stack, deployment)),
        # flush left: a heredoc's body and its closing EOF must not be indented
        *_attribute_example(stack, deployment),
        "",
    ]
    return "\n".join(lines)


# -- main -------------------------------------------------------------------------------------


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, datefmt=LOG_DATE_FORMAT)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def _run(args: argparse.Namespace, deployments: list[Deployment]) -> None:
    """Start the stack and serve until a stop signal; everything started is stopped on exit."""
    with contextlib.ExitStack() as stack:
        try:
            print(_banner(_start(args, deployments, stack)), flush=True)
            while True:
                # A signal handler runs in the main thread, but the signal may be delivered to
                # another one (a server thread): a long sleep would hold the stop that long.
                time.sleep(STOP_POLL_S)  # until a stop signal raises StopRequested
        except StartupError as error:
            logger.error("cannot start the local stack: %s", error)
            raise
        finally:
            _ignore_stop_signals()
            logger.info("stopping the local stack")


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    _configure_logging()
    try:
        deployments = _deployments(args.deployments)
    except (OSError, TypeError, ValueError) as error:
        logger.error("cannot load deployments from %s: %s", args.deployments, error)
        return 2
    with _stop_on_signals():
        try:
            _run(args, deployments)
        except StopRequested as stop:
            logger.info("stopped (%s)", stop)
        except StartupError:
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
