"""Load over real HTTP: 200 chat runs from 32 concurrent Polysync-like callers through the local
host (function keys enforced), the simulator answering after a realistic latency.

What must hold under concurrency: every run answers, the managed-identity token is asked for
once, every run makes exactly one upstream call (no retries), no connection pool overflows
(urllib3 logs "Connection pool is full, discarding connection" when one does) and the app opens
no more connections to Azure OpenAI than there are concurrent runs.

Nothing here is timed and memory is not measured: `make bench-load` (bench/load.py) reports
throughput, latency and RSS.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests

from local.simulator import Deployment
from tests.integration.conftest import FUNCTION_KEY, TIMEOUT

pytestmark = pytest.mark.integration

RUNS = 200
CLIENTS = 32
LATENCY_S = 0.1
DEPLOYMENT = "gpt-4o"
POOL_FULL = "Connection pool is full, discarding connection"
NEW_CONNECTION = "Starting new HTTP connection"


@pytest.fixture
def client_sessions() -> Iterator[dict[int, requests.Session]]:
    """One requests.Session per client thread, all closed at the end (no ResourceWarning)."""
    sessions: dict[int, requests.Session] = {}
    yield sessions
    for session in sessions.values():
        session.close()


def connections_opened(records: list[logging.LogRecord]) -> Counter[int]:
    """Connections urllib3 opened in this process (any pool: the app's, azure-core's for the
    token and the registry, the test's callers), by port."""
    return Counter(
        int(str(record.args[-1]))
        for record in records
        if record.getMessage().startswith(NEW_CONNECTION) and isinstance(record.args, tuple)
    )


def test_200_chat_runs_from_32_concurrent_clients(
    host, sim, azurite, client_sessions: dict[int, requests.Session], caplog
):
    sim.latency_s = LATENCY_S  # the `sim` fixture puts it back after the test
    # DEBUG on urllib3: "Starting new HTTP connection (n): host:port" for each connection
    # opened, and the WARNING "Connection pool is full" when a pool has to drop one.
    caplog.set_level(logging.DEBUG, logger="urllib3")
    url = f"{host.url}/api/chat/{DEPLOYMENT}"
    sessions_lock = threading.Lock()
    # The callers send their first runs together, as Polysync's workers do after a lull.
    start = threading.Barrier(CLIENTS)

    def session() -> requests.Session:
        with sessions_lock:
            own = client_sessions.get(threading.get_ident())
            first = own is None
            if own is None:
                own = client_sessions[threading.get_ident()] = requests.Session()
                own.headers["x-functions-key"] = FUNCTION_KEY
        if first:
            start.wait(timeout=TIMEOUT)
        return own

    def run(index: int) -> tuple[int, dict[str, object]]:
        response = session().post(url, json={"user_prompt": f"Load run {index}"}, timeout=TIMEOUT)
        return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        answers = list(pool.map(run, range(RUNS)))

    failed = [(status, body) for status, body in answers if status != 200]
    assert failed == [], f"{len(failed)} of {RUNS} runs failed, e.g. {failed[:3]}"
    assert all(body["status"] == "Success" for _, body in answers)
    assert {body["run_id"] for _, body in answers} == {f"{DEPLOYMENT}#sync#Success"}
    assert len(client_sessions) == CLIENTS  # the load really came from 32 callers

    assert len(sim.token_requests()) == 1
    calls = sim.requests()
    assert len(calls) == RUNS  # one upstream call per run: nothing was retried
    assert sorted(call.json()["messages"][-1]["content"] for call in calls) == sorted(
        f"Load run {index}" for index in range(RUNS)
    )

    opened = connections_opened(caplog.records)
    sim_port = urlsplit(sim.url).port
    assert sim_port is not None
    targets = {sim_port: "simulator", azurite.port: "Azurite (registry)", host.port: "local host"}
    by_target = {targets.get(port, str(port)): count for port, count in opened.items()}
    pool_full = [r.getMessage() for r in caplog.records if r.getMessage().startswith(POOL_FULL)]
    assert pool_full == [], (
        f"{len(pool_full)} connection(s) discarded by a full pool ({sorted(set(pool_full))}); "
        f"connections opened by target: {by_target}"
    )
    # At most one connection per concurrent run from the app's session, plus the one
    # azure-identity opens for the token: a pool that drops connections reopens them per run.
    assert 1 <= opened[sim_port] <= CLIENTS + 1, by_target
    # The 32 first runs share one registry read (one connection to storage), not one each.
    assert opened[azurite.port] == 1, by_target


def test_32_concurrent_runs_of_32_jobs_read_the_registry_without_overflowing_its_pool(
    host, sim, azurite, caplog
):
    """Cold cache, a different job per run: 32 registry reads at once, which the Table client's
    pool (azure-core's default holds 10) must take without discarding connections."""
    names = [f"job-{index:02d}" for index in range(CLIENTS)]
    sim.set_deployments(Deployment(name, "gpt-4o") for name in names)
    sim.latency_s = LATENCY_S
    caplog.set_level(logging.DEBUG, logger="urllib3")
    start = threading.Barrier(CLIENTS)

    def run(name: str) -> int:
        with requests.Session() as session:
            start.wait(timeout=TIMEOUT)
            response = session.post(
                f"{host.url}/api/chat/{name}",
                json={"user_prompt": "Hello"},
                headers={"x-functions-key": FUNCTION_KEY},
                timeout=TIMEOUT,
            )
            return response.status_code

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        assert list(pool.map(run, names)) == [200] * CLIENTS
    pool_full = [r.getMessage() for r in caplog.records if r.getMessage().startswith(POOL_FULL)]
    assert pool_full == []
    assert connections_opened(caplog.records)[azurite.port] <= CLIENTS
