"""The Simulator: one object that builds the surfaces over a shared state, serves them, and is
what tests and the local stack configure and inspect."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any, Generic, Self, TypeVar, cast, overload

from local.simulator.arm import (
    DEFAULT_ACCOUNT,
    DEFAULT_ARM_PAGE_SIZE,
    DEFAULT_RESOURCE_GROUP,
    DEFAULT_SUBSCRIPTION_ID,
    Arm,
)
from local.simulator.auth import DataPlaneGuard
from local.simulator.batch_lines import TaskRunner
from local.simulator.batch_store import (
    DEFAULT_BATCH_STEP_S,
    BatchFormat,
    BatchOutcome,
    BatchStore,
)
from local.simulator.batches import Batches
from local.simulator.chat import Chat
from local.simulator.control import Control
from local.simulator.embeddings import Embeddings
from local.simulator.files import DEFAULT_UPLOAD_NAME, PURPOSE_BATCH, Files
from local.simulator.identity import DEFAULT_IDENTITY_HEADER, TOKEN_PATH, Identity
from local.simulator.models import (
    DEFAULT_DEPLOYMENTS,
    Deployment,
    Fault,
    RecordedRequest,
)
from local.simulator.response_store import DEFAULT_RESPONSE_STEP_S, ResponseStore
from local.simulator.responses_api import Responses
from local.simulator.server import SimulatorServer
from local.simulator.state import State

DEFAULT_HOST = "127.0.0.1"
DEFAULT_API_KEY = "sim-api-key"
STOP_JOIN_TIMEOUT_S = 5.0
SHUTDOWN_POLL_S = 0.05  # how long stop() waits for the accept loop to notice

T = TypeVar("T")


class _Shared(Generic[T]):
    """An attribute of the Simulator kept in one of its parts (``owner`` names it), so that
    setting it on the Simulator changes what the surfaces see."""

    def __init__(self, owner: str) -> None:
        self.owner = owner

    def __set_name__(self, cls: type[Any], name: str) -> None:
        self.name = name

    @overload
    def __get__(self, simulator: None, cls: type[Any]) -> Self: ...

    @overload
    def __get__(self, simulator: object, cls: type[Any] | None = None) -> T: ...

    def __get__(self, simulator: object, cls: type[Any] | None = None) -> Self | T:
        if simulator is None:  # looked up on the class (help(), inspect)
            return self
        return cast(T, getattr(getattr(simulator, self.owner), self.name))

    def __set__(self, simulator: Any, value: T) -> None:
        setattr(getattr(simulator, self.owner), self.name, value)


class _BatchSetting(_Shared[T]):
    """A batch setting: ``batch_step_s`` is the store's ``step_s``."""

    def __set_name__(self, cls: type[Any], name: str) -> None:
        self.name = name.removeprefix("batch_")


class _ResponseSetting(_Shared[T]):
    """A Responses setting: ``response_step_s`` is the response store's ``step_s``."""

    def __set_name__(self, cls: type[Any], name: str) -> None:
        self.name = name.removeprefix("response_")


class Simulator:
    """Azure OpenAI + managed-identity simulator serving HTTP from a daemon thread.

    It records the requests it receives in three logs (``requests()``, ``token_requests()``,
    ``arm_requests()``), each keeping the latest ``REQUEST_LOG_MAX`` (10,000) requests.
    """

    api_key = _Shared[str]("_state")
    identity_header = _Shared[str]("_state")
    token_lifetime_s = _Shared[int]("_state")
    verbose = _Shared[bool]("_state")
    latency_s = _Shared[float]("_state")  # checked: a number >= 0
    # ARM: which account the management plane lists (reset() restores them).
    subscription_id = _Shared[str]("_state")
    resource_group = _Shared[str]("_state")
    account = _Shared[str]("_state")
    arm_page_size = _Shared[int]("_state")  # how many deployments one page holds; >= 1
    # Seconds a batch spends in each state (0 = terminal at its first read; a batch keeps the
    # step set when it was created); how batches created from now on end (completed, failed
    # after validating, expired after in_progress); how batches are answered ("openai":
    # lowercase statuses and Unix-int timestamps, "azure": PascalCase and ISO 8601 UTC).
    batch_step_s = _BatchSetting[float]("_batch_store")
    batch_outcome = _BatchSetting[BatchOutcome]("_batch_store")
    batch_format = _BatchSetting[BatchFormat]("_batch_store")
    # Seconds a background response spends queued, then in_progress (0 = final at its first
    # read; a response keeps the step set when it was created).
    response_step_s = _ResponseSetting[float]("_response_store")

    def __init__(
        self,
        deployments: Iterable[Deployment] = DEFAULT_DEPLOYMENTS,
        *,
        api_key: str = DEFAULT_API_KEY,
        identity_header: str = DEFAULT_IDENTITY_HEADER,
        host: str = DEFAULT_HOST,
        port: int = 0,
        token_lifetime_s: int = 3600,
        latency_s: float = 0.0,
        verbose: bool = False,
        subscription_id: str = DEFAULT_SUBSCRIPTION_ID,
        resource_group: str = DEFAULT_RESOURCE_GROUP,
        account: str = DEFAULT_ACCOUNT,
        arm_page_size: int = DEFAULT_ARM_PAGE_SIZE,
        batch_step_s: float = DEFAULT_BATCH_STEP_S,
        response_step_s: float = DEFAULT_RESPONSE_STEP_S,
    ) -> None:
        self.host = host
        self.port = port
        self._state = state = State(
            deployments,
            api_key=api_key,
            identity_header=identity_header,
            token_lifetime_s=token_lifetime_s,
            latency_s=latency_s,
            verbose=verbose,
            subscription_id=subscription_id,
            resource_group=resource_group,
            account=account,
            arm_page_size=arm_page_size,
        )
        self._identity = Identity(state)
        guard = DataPlaneGuard(state, self._identity)
        v1_guard = DataPlaneGuard(state, self._identity, v1=True)
        chat, embeddings = Chat(state, guard, v1_guard), Embeddings(state, guard, v1_guard)
        self._files = Files(state, guard)
        answer = TaskRunner(chat.create, embeddings.create)
        self._batch_store = BatchStore(state, self._files, answer, batch_step_s)
        self._response_store = ResponseStore(state, response_step_s)
        self._arm = Arm(state, self._identity)
        # New surfaces are new parts here, each listing its routes with its plane's guard: the
        # data plane's DataPlaneGuard (api-key or a cognitiveservices token; a path-less Fault
        # hits every data-plane route) or ARM's own (a Bearer token for an ARM audience, then
        # api-version). server.plane() decides which log records a request and which headers
        # every answer gets (ARM: paths under /subscriptions/).
        self._routes = (
            *self._identity.routes(),
            *chat.routes(),
            *embeddings.routes(),
            *self._files.routes(),
            *Batches(self._batch_store, guard).routes(),
            *Responses(state, self._response_store, v1_guard).routes(),
            *self._arm.routes(),
            *Control(state, self._batch_store, self._response_store).routes(),
        )
        self._server: SimulatorServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> Self:
        """Bind (port 0 = a free port) and serve from a daemon thread."""
        if self._server is not None:
            raise RuntimeError("simulator already running")
        self._state.stopping = threading.Event()
        self._server = SimulatorServer((self.host, self.port), self._state, self._routes)
        host, port = self._server.server_address[:2]
        self._state.server_url = f"http://{host!s}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_S},
            name="aoai-simulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._state.stopping.set()  # wakes handlers sleeping in delays
        server.shutdown()
        server.close_open_connections()
        server.server_close()
        thread.join(STOP_JOIN_TIMEOUT_S)
        self._server = self._thread = None
        self._state.server_url = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return self._state.url

    @property
    def identity_endpoint(self) -> str:
        return self.url + TOKEN_PATH

    @property
    def arm_deployments_url(self) -> str:
        """The ARM deployments listing of the configured account, without the query."""
        return self._arm.deployments_url()

    # -- deployments, logs, faults -------------------------------------------------------

    @property
    def deployments(self) -> list[Deployment]:
        return self._state.deployments

    @deployments.setter
    def deployments(self, value: Iterable[Deployment]) -> None:
        self.set_deployments(value)

    def set_deployments(self, deployments: Iterable[Deployment]) -> None:
        self._state.set_deployments(deployments)

    def requests(self, path_contains: str | None = None) -> list[RecordedRequest]:
        """Recorded data-plane requests (not token, not control), oldest first; the latest
        ``REQUEST_LOG_MAX`` of them."""
        return self._state.requests(path_contains)

    def token_requests(self) -> list[RecordedRequest]:
        return self._state.token_requests()

    def arm_requests(self, path_contains: str | None = None) -> list[RecordedRequest]:
        """Recorded ARM (management-plane) requests, oldest first."""
        return self._state.arm_requests(path_contains)

    def issued_tokens(self) -> dict[str, str]:
        """Unexpired tokens this simulator issued, mapped to their audience."""
        return self._identity.issued_tokens()

    def clear(self) -> None:
        self._state.clear_logs()

    def add_fault(self, fault: Fault) -> None:
        """Queue a fault. A copy is stored, so the caller's object is never mutated."""
        self._state.faults.add(fault)

    def faults(self) -> list[Fault]:
        return self._state.faults.snapshot()

    def clear_faults(self) -> None:
        self._state.faults.clear()

    def reset(self) -> None:
        """Forget requests, faults, files, batches and responses; restore the constructor's
        deployments, latency, ARM settings (subscription, resource group, account, page size),
        batch step and response step, and the default batch outcome and format."""
        self._state.reset()
        self._files.clear()
        self._batch_store.reset()
        self._response_store.reset()

    # -- files and batches ---------------------------------------------------------------

    def upload_file(
        self, content: bytes, filename: str = DEFAULT_UPLOAD_NAME, purpose: str = PURPOSE_BATCH
    ) -> str:
        """Store a file as POST /openai/files does; return its id."""
        return str(self._files.upload(content, filename, purpose)["id"])

    def files(self) -> list[dict[str, Any]]:
        """The file objects (uploads and batch output/error files), oldest first."""
        return self._files.listing()

    def file_content(self, file_id: str) -> bytes:
        """A file's bytes; KeyError for an unknown id."""
        stored = self._files.get(file_id)
        if stored is None:
            raise KeyError(file_id)
        return stored.content

    def batches(self) -> list[dict[str, Any]]:
        """The batch objects as they would be answered now, oldest first."""
        return self._batch_store.listing()

    def set_batch_status(self, batch_id: str, status: str) -> None:
        """Pin a batch to a status (lowercase or PascalCase), with the timestamps, counts,
        errors and files that go with it; it stops advancing (a cancel request restarts the
        clock). KeyError for an unknown batch, ValueError for an unknown status."""
        self._batch_store.set_status(batch_id, status)

    # -- responses -----------------------------------------------------------------------

    def responses(self) -> list[dict[str, Any]]:
        """The stored response objects (synchronous and background; not those created with
        ``store: false``) as they would be answered now, oldest first."""
        return self._response_store.listing()

    def set_response_status(self, response_id: str, status: str, reason: str | None = None) -> None:
        """Pin a response to a status (queued, in_progress, completed, incomplete, failed,
        cancelled); it stops advancing. ``failed`` sets ``error`` (code server_error);
        ``incomplete`` sets ``incomplete_details.reason`` to ``reason`` (max_output_tokens or
        content_filter), else to the response's own, else max_output_tokens. KeyError for an
        unknown response, ValueError for an unknown status or reason."""
        self._response_store.set_status(response_id, status, reason)
