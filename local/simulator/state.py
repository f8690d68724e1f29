"""What every surface shares: the deployments, the request logs, the faults, the latency, the
ARM account, the credentials, the clock, and the one lock that guards them."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable

from local.simulator.faults import FaultQueue, Plane
from local.simulator.models import Deployment, RecordedRequest, check_type, unique_deployments

REQUEST_LOG_MAX = 10_000  # recorded requests kept per log (data plane, token, ARM)


class PathSegment:
    """An attribute that is one segment of an ARM path (a subscription id, a resource group, an
    account name): checked whenever it is set, at construction or later (`sim.account = ...`)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name, self._attribute = name, "_" + name

    def __get__(self, instance: object, owner: type | None = None) -> str:
        value: str = getattr(instance, self._attribute)
        return value

    def __set__(self, instance: object, value: str) -> None:
        check_type(self._name, value, str)
        if not value or "/" in value:
            raise ValueError(f"{self._name} must be a non-empty path segment")
        setattr(instance, self._attribute, value)


class State:
    """The simulator's shared, mutable state.

    One re-entrant lock guards it, and the files and batches too: a batch reaching finalizing
    runs its lines through the chat and embeddings handlers while holding it, and they look
    deployments up under it too.
    """

    subscription_id = PathSegment()
    resource_group = PathSegment()
    account = PathSegment()

    def __init__(
        self,
        deployments: Iterable[Deployment],
        *,
        api_key: str,
        identity_header: str,
        token_lifetime_s: int,
        latency_s: float,
        verbose: bool,
        subscription_id: str,
        resource_group: str,
        account: str,
        arm_page_size: int,
    ) -> None:
        self.lock = threading.RLock()
        self.api_key = api_key
        self.identity_header = identity_header
        self.token_lifetime_s = token_lifetime_s
        self.verbose = verbose
        self.initial_deployments = unique_deployments(deployments)
        self.latency_s = latency_s  # the setter checks it
        self.initial_latency_s = self.latency_s
        # ARM: which account the management plane lists (settable; reset() restores them).
        self.subscription_id = subscription_id
        self.resource_group = resource_group
        self.account = account
        self.arm_page_size = arm_page_size
        self.initial_arm = (subscription_id, resource_group, account, arm_page_size)
        self.clock: Callable[[], float] = time.time  # real Unix seconds, for the timestamps
        self._deployments = self.initial_deployments
        # Bounded, so a long-running simulator does not grow without end: the oldest go first.
        self._requests: deque[RecordedRequest] = deque(maxlen=REQUEST_LOG_MAX)
        self._token_requests: deque[RecordedRequest] = deque(maxlen=REQUEST_LOG_MAX)
        self._arm_requests: deque[RecordedRequest] = deque(maxlen=REQUEST_LOG_MAX)
        self.faults = FaultQueue(self.lock)
        self.stopping = threading.Event()  # set by stop(): wakes handlers sleeping in delays
        self.server_url: str | None = None  # while serving

    @property
    def url(self) -> str:
        if self.server_url is None:
            raise RuntimeError("simulator is not running; call start() first")
        return self.server_url

    # -- settings the setters check ------------------------------------------------------

    @property
    def latency_s(self) -> float:
        return self._latency_s

    @latency_s.setter
    def latency_s(self, value: float) -> None:
        check_type("latency_s", value, int, float)
        if value < 0:
            raise ValueError("latency_s must be >= 0")
        self._latency_s = float(value)

    @property
    def arm_page_size(self) -> int:
        return self._arm_page_size

    @arm_page_size.setter
    def arm_page_size(self, value: int) -> None:
        check_type("arm_page_size", value, int)
        if value < 1:
            raise ValueError("arm_page_size must be >= 1")
        self._arm_page_size = value

    # -- deployments ---------------------------------------------------------------------

    @property
    def deployments(self) -> list[Deployment]:
        with self.lock:
            return list(self._deployments)

    def set_deployments(self, deployments: Iterable[Deployment]) -> None:
        checked = unique_deployments(deployments)
        with self.lock:
            self._deployments = checked

    def find_deployment(self, name: str) -> Deployment | None:
        with self.lock:
            return next((d for d in self._deployments if d.name == name), None)

    # -- request logs --------------------------------------------------------------------

    def record(self, request: RecordedRequest, plane: Plane) -> None:
        with self.lock:
            if plane == "data":
                self._requests.append(request)
            elif plane == "token":
                self._token_requests.append(request)
            elif plane == "arm":
                self._arm_requests.append(request)

    def requests(self, path_contains: str | None = None) -> list[RecordedRequest]:
        with self.lock:
            recorded = list(self._requests)
        return [r for r in recorded if path_contains is None or path_contains in r.path]

    def token_requests(self) -> list[RecordedRequest]:
        with self.lock:
            return list(self._token_requests)

    def arm_requests(self, path_contains: str | None = None) -> list[RecordedRequest]:
        with self.lock:
            recorded = list(self._arm_requests)
        return [r for r in recorded if path_contains is None or path_contains in r.path]

    def clear_logs(self) -> None:
        with self.lock:
            self._requests.clear()
            self._token_requests.clear()
            self._arm_requests.clear()

    # -- reset and pauses ----------------------------------------------------------------

    def reset(self) -> None:
        """Forget requests and faults; restore the constructor's deployments, latency and ARM
        settings."""
        self.clear_logs()
        self.faults.clear()
        self.latency_s = self.initial_latency_s
        self.set_deployments(self.initial_deployments)
        (
            self.subscription_id,
            self.resource_group,
            self.account,
            self.arm_page_size,
        ) = self.initial_arm

    def pause(self, seconds: float) -> None:
        """Sleep (a delay or the latency), cut short by stop()."""
        if seconds > 0:
            self.stopping.wait(seconds)
