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
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests

from bench.load import NEW_CONNECTION, POOL_FULL, send_runs
from local.simulator import Deployment
from tests.helpers import FUNCTION_KEY, TIMEOUT

pytestmark = pytest.mark.integration

RUNS = 200
CLIENTS = 32
LATENCY_S = 0.1
DEPLOYMENT = "gpt-4o"


def connections_opened(records: list[logging.LogRecord]) -> Counter[int]:
    """Connections urllib3 opened in this process (any pool: the app's, azure-core's for the
    token and the registry, the test's callers), by port."""
    return Counter(
        int(str(record.args[-1]))
        for record in records
        if record.getMessage().startswith(NEW_CONNECTION) and isinstance(record.args, tuple)
    )


def test_200_chat_runs_from_32_concurrent_clients(host, sim, azurite, caplog):
    sim.latency_s = LATENCY_S  # the `sim` fixture puts it back after the test
    # DEBUG on urllib3: "Starting new HTTP connection (n): host:port" for each connection
    # opened, and the WARNING "Connection pool is full" when a pool has to drop one.
    caplog.set_level(logging.DEBUG, logger="urllib3")
    # 32 callers, each with a session of its own, whose first runs go together (a barrier of
    # 32 threads, as Polysync's workers after a lull); the same code as `make bench-load`.
    answers, _ = send_runs(f"{host.url}/api/chat/{DEPLOYMENT}", RUNS, CLIENTS, FUNCTION_KEY)

    failed = [(a.status, a.body) for a in answers if not a.ok]
    assert failed == [], f"{len(failed)} of {RUNS} runs failed, e.g. {failed[:3]}"
    assert len(answers) == RUNS

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
