"""`make bench-load`: chat runs under concurrent load through the local host, in rounds.

Each round sends `--runs` (200) `POST /api/chat/gpt-4o` runs from `--clients` (32) concurrent
callers, each a thread with its own `requests.Session` sending the function key (the host
enforces keys, as Azure does); the callers send their first runs together. The app is served by
`local.host.LocalHost` in this process, the simulator answers every data-plane call after
`--latency-s` (0.1 s), and the registry is Azurite: empty, as in tests/integration/test_load.py
(the deployment has no definition yet, so each registry read answers 404), or with the chat
definition of the deployment with `--with-definition`. Managed-identity settings: the token comes
from the simulator's identity endpoint.

Per round: throughput (runs/s over the round's wall time), p50/p95/max of a run's latency as its
caller sees it, token and data-plane requests, registry reads, connections opened by target,
urllib3 "Connection pool is full" warnings, and this process's RSS after the round (after a
`gc.collect()`; from /proc/self/statm). The process hosts the app, the simulator and the callers,
so its RSS is the app's plus a constant share for the other two; the simulator's record of the
round's requests is cleared after each round so it does not grow. Peak RSS is `ru_maxrss`.

With `--duration-s D` a round lasts D seconds instead of `--runs` runs: each of the `--clients`
callers sends runs back to back and starts none after D (so `--clients` runs are in flight all
round long, as in a Flex Consumption instance whose thread pool and per-instance concurrency are
`--clients`); a few sequential runs (without latency) warm the app up first, and the round
reports the RSS sampled while the runs are in flight against the idle RSS after the warm-up: the
memory one concurrent run costs (an upper bound: the process also holds each run's caller thread
and the simulator's thread that answers it). `--rounds` may then be 1. `make bench-concurrency`
(bench/concurrency.py) runs it at 16, 32 and 64 callers with the simulator's latency at 2 s and
30 s.

Nothing is asserted about time: the program prints numbers (and writes them with `--json PATH`)
and PASS/FAIL for every run answered, one token request, one upstream call per run, no pool
warnings, connections to the simulator bounded, and RSS flat from round 2 to the last round
(growth at most `--rss-growth-mib`, 10 MiB); it exits 1 when a check fails. urllib3's DEBUG
records are counted (not printed) to see connections and requests, which costs a little time.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import platform
import resource
import statistics
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from unittest.mock import patch
from urllib.parse import urlsplit

import requests

import function_app
from bench._stack import (
    DEPLOYMENT,
    app_settings,
    azurite,
    bench_simulator,
    check_lines,
    finish,
    seed_chat_definition,
    use_app_settings,
    versions,
    without_app_settings,
)
from local.host import HostKeys, LocalHost
from local.simulator import Simulator

RUN_ID = f"{DEPLOYMENT}#sync#Success"
FUNCTION_KEY = "bench-function-key"
MASTER_KEY = "bench-master-key"
TIMEOUT_S = 60.0
WARMUP_RUNS = 3  # sequential runs before a --duration-s round: the app's lazy imports, the token
MIB = 1024 * 1024
POOL_FULL = "Connection pool is full, discarding connection"
NEW_CONNECTION = "Starting new HTTP connection"
REQUEST_LINE = '%s://%s:%s "%s %s %s" %s %s'  # urllib3's DEBUG record of each request


# --- what urllib3 says: connections opened, requests sent, pool overflows ------------------


@dataclass
class UrllibEvents:
    new_connections: Counter[int] = field(default_factory=Counter)  # by port
    requests: Counter[tuple[int, str]] = field(default_factory=Counter)  # by (port, method)
    pool_full: list[str] = field(default_factory=list)


class UrllibCounter(logging.Handler):
    """Counts urllib3's records from every thread of the process (every pool: the app's
    session, azure-core's for the token and the registry, the callers'); prints nothing."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self._events = UrllibEvents()
        self._events_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        with self._events_lock:
            if record.msg == REQUEST_LINE and len(args) == 8:
                self._events.requests[(int(str(args[2])), str(args[3]))] += 1
            elif isinstance(record.msg, str) and record.msg.startswith(NEW_CONNECTION) and args:
                self._events.new_connections[int(str(args[-1]))] += 1
            elif isinstance(record.msg, str) and record.msg.startswith(POOL_FULL):
                self._events.pool_full.append(record.getMessage())

    def take(self) -> UrllibEvents:
        """The events since the last call."""
        with self._events_lock:
            events, self._events = self._events, UrllibEvents()
        return events


def count_urllib3() -> UrllibCounter:
    counter = UrllibCounter()
    logger = logging.getLogger("urllib3")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # counted here, not printed
    logger.addHandler(counter)
    return counter


# --- memory ----------------------------------------------------------------------------------


def current_rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def cpu_seconds() -> float:
    """User and system CPU time of this process (every thread: the app's, the callers', the
    simulator's)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


# --- one round -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    seconds: float

    @property
    def ok(self) -> bool:
        return (
            self.status == 200
            and self.body.get("status") == "Success"
            and self.body.get("run_id") == RUN_ID
        )


@dataclass(frozen=True)
class Round:
    index: int
    runs: int
    ok: int
    wall_s: float
    runs_per_s: float
    p50_ms: float
    p95_ms: float
    max_ms: float
    token_requests: int
    data_plane_requests: int
    registry_reads: int
    connections_opened: dict[str, int]
    pool_full_warnings: int
    pool_full_messages: list[str]
    rss_mib: float
    peak_rss_mib: float
    failures: list[str]
    in_flight_rss_mib: float = 0.0  # the highest RSS sampled while the round's runs ran
    cpu_ms_per_run: float = 0.0  # this process's CPU time over the round, per run


def send_runs(
    url: str, runs: int, clients: int, key: str = FUNCTION_KEY
) -> tuple[list[Answer], float]:
    """`runs` chat runs from `clients` threads, each with a Session of its own sending the
    function key `key`; the callers' first runs go together. The answers, and the wall time of
    the whole round."""
    sessions: dict[int, requests.Session] = {}
    sessions_lock = threading.Lock()
    start = threading.Barrier(min(clients, runs))

    def session() -> requests.Session:
        with sessions_lock:
            own = sessions.get(threading.get_ident())
            first = own is None
            if own is None:
                own = sessions[threading.get_ident()] = requests.Session()
                own.headers["x-functions-key"] = key
        if first:
            start.wait(timeout=TIMEOUT_S)
        return own

    def run(index: int) -> Answer:
        caller = session()
        started = time.perf_counter()
        response = caller.post(url, json={"user_prompt": f"Load run {index}"}, timeout=TIMEOUT_S)
        try:
            body = response.json()
        except ValueError:
            body = {"text": response.text[:200]}
        seconds = time.perf_counter() - started
        return Answer(response.status_code, body if isinstance(body, dict) else {}, seconds)

    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=clients, thread_name_prefix="caller") as pool:
            answers = list(pool.map(run, range(runs)))
        return answers, time.perf_counter() - started
    finally:
        for own in sessions.values():
            own.close()


def send_for(url: str, clients: int, duration_s: float, key: str = FUNCTION_KEY) -> list[Answer]:
    """`clients` callers, each with its own Session, sending runs back to back until
    `duration_s` has passed (a run under way then completes); every answer."""
    deadline = time.monotonic() + duration_s
    answers: list[Answer] = []
    answers_lock = threading.Lock()

    def caller(index: int) -> None:
        with requests.Session() as own:
            own.headers["x-functions-key"] = key
            sent = 0
            while time.monotonic() < deadline:
                started = time.perf_counter()
                body = {"user_prompt": f"Load run {index}.{sent}"}
                response = own.post(url, json=body, timeout=TIMEOUT_S + duration_s)
                try:
                    answer = response.json()
                except ValueError:
                    answer = {"text": response.text[:200]}
                seconds = time.perf_counter() - started
                with answers_lock:
                    answers.append(
                        Answer(
                            response.status_code,
                            answer if isinstance(answer, dict) else {},
                            seconds,
                        )
                    )
                sent += 1

    with ThreadPoolExecutor(max_workers=clients, thread_name_prefix="caller") as pool:
        list(pool.map(caller, range(clients)))
    return answers


class RssSampler:
    """The highest RSS of this process, sampled every `interval_s` while in the `with` block."""

    def __init__(self, interval_s: float = 0.2) -> None:
        self.interval_s = interval_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.peak = max(self.peak, current_rss_bytes())

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_round(
    index: int,
    url: str,
    sim: Simulator,
    urllib3_events: UrllibCounter,
    ports: dict[int, str],
    *,
    runs: int,
    clients: int,
    duration_s: float = 0.0,
) -> Round:
    sim.clear()
    urllib3_events.take()
    cpu_before = cpu_seconds()
    with RssSampler() as rss:
        if duration_s:
            started = time.perf_counter()
            answers = send_for(url, clients, duration_s)
            wall_s, runs = time.perf_counter() - started, len(answers)
        else:
            answers, wall_s = send_runs(url, runs, clients)
    cpu_s = cpu_seconds() - cpu_before
    events = urllib3_events.take()
    token_requests = len(sim.token_requests())
    data_plane = len(sim.requests())
    sim.clear()  # the simulator keeps every request it received: not the app's memory
    gc.collect()
    cuts = statistics.quantiles([a.seconds * 1000 for a in answers], n=100, method="inclusive")
    storage_port = next(port for port, name in ports.items() if name == "azurite")
    return Round(
        index=index,
        runs=runs,
        ok=sum(a.ok for a in answers),
        wall_s=wall_s,
        runs_per_s=runs / wall_s,
        p50_ms=cuts[49],
        p95_ms=cuts[94],
        max_ms=max(a.seconds for a in answers) * 1000,
        token_requests=token_requests,
        data_plane_requests=data_plane,
        registry_reads=events.requests[(storage_port, "GET")],
        connections_opened={
            ports.get(port, str(port)): count for port, count in events.new_connections.items()
        },
        pool_full_warnings=len(events.pool_full),
        pool_full_messages=sorted(set(events.pool_full)),
        rss_mib=current_rss_bytes() / MIB,
        peak_rss_mib=peak_rss_bytes() / MIB,
        failures=[f"HTTP {a.status}: {json.dumps(a.body)[:200]}" for a in answers if not a.ok][:3],
        in_flight_rss_mib=rss.peak / MIB,
        cpu_ms_per_run=cpu_s * 1000 / max(runs, 1),
    )


# --- the environment -------------------------------------------------------------------------


# --- the report ------------------------------------------------------------------------------


def render(report: dict[str, Any], rounds: list[Round], checks: list[tuple[str, bool]]) -> str:
    size = f"{report['duration_s']:g} s" if report["duration_s"] else f"{report['runs']} runs"
    lines = [
        f"Chat runs under load: {report['rounds']} rounds of {size} from "
        f"{report['clients']} concurrent callers through the local host (function keys "
        f"enforced), simulator latency {report['latency_s']} s, registry {report['registry']}; "
        f"nproc {report['nproc']}, Python {report['python']}",
        "",
        f"RSS before round 1 (stack up, app not yet configured): {report['rss_start_mib']:.1f} MiB",
        *(
            [
                f"Idle RSS after {WARMUP_RUNS} sequential warm-up runs: "
                f"{report['idle_rss_mib']:.1f} MiB; while {report['clients']} runs were in flight: "
                f"{report['in_flight_rss_mib']:.1f} MiB, so {report['mib_per_concurrent_run']:.2f} "
                "MiB per concurrent run (an upper bound: with the caller's and simulator's threads)"
            ]
            if report["duration_s"]
            else []
        ),
        "",
        f"{'round':>5}{'ok':>6}{'wall s':>8}{'runs/s':>8}{'p50 ms':>8}{'p95 ms':>8}"
        f"{'max ms':>8}{'token':>7}{'upstr':>7}{'reg rd':>7}{'pool!':>7}{'RSS MiB':>9}"
        f"{'peak':>8}",
    ]
    for r in rounds:
        lines.append(
            f"{r.index:>5}{r.ok:>6}{r.wall_s:>8.2f}{r.runs_per_s:>8.1f}{r.p50_ms:>8.1f}"
            f"{r.p95_ms:>8.1f}{r.max_ms:>8.1f}{r.token_requests:>7}{r.data_plane_requests:>7}"
            f"{r.registry_reads:>7}{r.pool_full_warnings:>7}{r.rss_mib:>9.1f}"
            f"{r.peak_rss_mib:>8.1f}"
        )
    lines += [
        "",
        "token = managed-identity token requests, upstr = data-plane requests the simulator got,",
        "reg rd = registry reads (GETs to Azurite; one External Id, so 1 would do: the cache",
        "is cold in round 1 and then fresh for 60 s), pool! = urllib3 'Connection pool is full'.",
        "",
        "Connections opened per round, by target:",
    ]
    lines += [f"  round {r.index}: {r.connections_opened}" for r in rounds]
    messages = sorted({m for r in rounds for m in r.pool_full_messages})
    if messages:
        lines += ["", "urllib3 pool warnings:"] + [f"  {m}" for m in messages]
    failures = [f for r in rounds for f in r.failures]
    if failures:
        lines += ["", "Failed runs (first few per round):"] + [f"  {f}" for f in failures]
    lines += [
        "",
        f"Peak RSS (ru_maxrss): {report['peak_rss_mib']:.1f} MiB"
        + (
            f"; RSS growth from round 2 to round {len(rounds)}: {report['rss_growth_mib']:+.2f} MiB"
            if len(rounds) >= 3
            else ""
        ),
        "",
        "Checks:",
    ]
    lines += check_lines(checks)
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description="Chat runs under concurrent load, in rounds."
    )
    parser.add_argument("--runs", type=int, default=200, help="runs per round")
    parser.add_argument("--clients", type=int, default=32, help="concurrent callers")
    parser.add_argument("--latency-s", type=float, default=0.1, help="simulator latency")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (at least 3)")
    parser.add_argument(
        "--rss-growth-mib", type=float, default=10.0, help="allowed RSS growth, round 2 to last"
    )
    parser.add_argument(
        "--with-definition",
        action="store_true",
        help="seed the deployment's chat definition (default: empty registry, as the test)",
    )
    parser.add_argument(
        "--duration-s",
        type=float,
        default=0.0,
        help="rounds of this many seconds of back-to-back runs per caller, instead of --runs; "
        "reports the memory per concurrent run (default: off)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the numbers here")
    args = parser.parse_args(argv)
    least_rounds = 1 if args.duration_s else 3
    if args.runs < 2 or args.clients < 1 or args.latency_s < 0 or args.rounds < least_rounds:
        parser.error(
            "need --runs >= 2, --clients >= 1, --latency-s >= 0 and --rounds >= 3 "
            "(>= 1 with --duration-s)"
        )
    if args.duration_s < 0:
        parser.error("need --duration-s >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.getLogger().setLevel(logging.WARNING)  # the app logs every run at INFO
    urllib3_events = count_urllib3()
    clean = without_app_settings(os.environ)
    keys = HostKeys(function_keys=frozenset({FUNCTION_KEY}), master_key=MASTER_KEY)
    rounds: list[Round] = []

    with (
        patch.dict(os.environ, clean, clear=True),
        # with --duration-s the warm-up runs without latency; the round then gets it
        bench_simulator(latency_s=0.0 if args.duration_s else args.latency_s) as sim,
        azurite() as azurite_server,
        LocalHost(function_app.app, port=0, keys=keys, log=lambda line: None) as host,
    ):
        storage, storage_port = azurite_server.connection_string, azurite_server.port
        if args.with_definition:
            seed_chat_definition(storage)
        use_app_settings(app_settings(sim, storage))
        sim_port = urlsplit(sim.url).port
        ports = {storage_port: "azurite", host.port: "local host"}
        if sim_port is not None:
            ports[sim_port] = "simulator"
        url = f"{host.url}/api/chat/{DEPLOYMENT}"
        gc.collect()
        rss_start = idle_rss = current_rss_bytes()
        warmup_tokens = 0
        if args.duration_s:
            warmup, _ = send_runs(url, WARMUP_RUNS, 1)
            if not all(answer.ok for answer in warmup):
                raise SystemExit(f"bench: the warm-up runs failed: {warmup[0]}")
            warmup_tokens = len(sim.token_requests())
            sim.clear()
            sim.latency_s = args.latency_s
            urllib3_events.take()
            gc.collect()
            idle_rss = current_rss_bytes()
        for index in range(1, args.rounds + 1):
            rounds.append(
                run_round(
                    index,
                    url,
                    sim,
                    urllib3_events,
                    ports,
                    runs=args.runs,
                    clients=args.clients,
                    duration_s=args.duration_s,
                )
            )

    total_runs = sum(r.runs for r in rounds)
    answered = sum(r.ok for r in rounds)
    tokens = warmup_tokens + sum(r.token_requests for r in rounds)
    upstream = sum(r.data_plane_requests for r in rounds)
    pool_full = sum(r.pool_full_warnings for r in rounds)
    sim_connections = sum(r.connections_opened.get("simulator", 0) for r in rounds)
    growth_mib = rounds[-1].rss_mib - rounds[1].rss_mib if len(rounds) >= 3 else 0.0
    in_flight_mib = max(r.in_flight_rss_mib for r in rounds)
    per_run_mib = (in_flight_mib - idle_rss / MIB) / args.clients
    checks = [
        (
            f"every run answered 200 Success {RUN_ID} ({answered}/{total_runs})",
            answered == total_runs,
        ),
        (f"exactly 1 managed-identity token request ({tokens})", tokens == 1),
        (
            f"one upstream call per run, no retries ({upstream}/{total_runs})",
            upstream == total_runs,
        ),
        (f"0 urllib3 'Connection pool is full' warnings ({pool_full})", pool_full == 0),
        (
            f"connections opened to the simulator <= clients + 1 for the token "
            f"({sim_connections} <= {args.clients + 1})",
            sim_connections <= args.clients + 1,
        ),
    ]
    if len(rounds) >= 3:
        checks.append(
            (
                f"RSS flat: growth from round 2 to round {args.rounds} <= "
                f"{args.rss_growth_mib:g} MiB ({growth_mib:+.2f} MiB)",
                growth_mib <= args.rss_growth_mib,
            )
        )
    passed = all(ok for _, ok in checks)
    report: dict[str, Any] = {
        "runs": args.runs,
        "clients": args.clients,
        "latency_s": args.latency_s,
        "rounds": args.rounds,
        "duration_s": args.duration_s,
        "registry": "chat definition seeded" if args.with_definition else "empty",
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "versions": versions(
            "requests", "urllib3", "azure-functions", "azure-identity", "azure-data-tables"
        ),
        "rss_start_mib": rss_start / MIB,
        "peak_rss_mib": peak_rss_bytes() / MIB,
        "rss_growth_mib": growth_mib,
        "idle_rss_mib": idle_rss / MIB,
        "in_flight_rss_mib": in_flight_mib,
        "mib_per_concurrent_run": per_run_mib,
        "round_results": [asdict(r) for r in rounds],
        "checks": [{"check": name, "passed": ok} for name, ok in checks],
    }
    return finish(report, render(report, rounds, checks), args.json, passed)


if __name__ == "__main__":
    sys.exit(main())
