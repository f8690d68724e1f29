"""`make bench-concurrency`: how many synchronous chat runs one instance serves at once, and what
each costs in memory, to choose Flex Consumption's `perInstanceConcurrency` and
`PYTHON_THREADPOOL_THREAD_COUNT` (infra/main.bicep; docs/operations.md#concurrency).

The app's handlers are synchronous: a run holds one worker thread for its whole call to Azure
OpenAI, so an instance with N threads serves N runs at once, and its throughput is N / latency
whatever its CPU, until memory or CPU runs out. For each simulator latency (`--latencies`, 2 s
and 30 s: a short and a long completion) and each thread count (`--threads`, 16, 32, 64), this
runs `python -m bench.load --duration-s` in a fresh process, with that many callers keeping that
many runs in flight for `--duration-s` (default: 20 s, and two latencies when longer), and reports
runs/s (and the N / latency it should be), p95, CPU time per run, the RSS with the runs in
flight, and the memory per concurrent run (CPU and memory are upper bounds: the process also
holds each run's caller and simulator threads).

PASS/FAIL: every configuration passed bench/load.py's checks (every run answered, one token, one
upstream call per run, no pool warnings) and reached at least 80% of N / latency.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench._stack import ROOT, check_lines, finish

LEAST_EFFICIENCY = 0.8  # runs/s at least this share of threads / latency


def duration_for(latency_s: float, duration_s: float | None) -> float:
    return duration_s if duration_s is not None else max(20.0, 2 * latency_s)


def measure(latency_s: float, threads: int, duration_s: float) -> dict[str, Any]:
    """One configuration in a fresh interpreter (its own RSS), through bench/load.py."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "load.json"
        command = [
            sys.executable,
            "-m",
            "bench.load",
            "--latency-s",
            f"{latency_s:g}",
            "--clients",
            str(threads),
            "--duration-s",
            f"{duration_s:g}",
            "--rounds",
            "1",
            "--json",
            str(out),
        ]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        if not out.exists():
            raise SystemExit(f"bench: {' '.join(command[2:])} failed:\n{done.stdout}{done.stderr}")
        report: dict[str, Any] = json.loads(out.read_text())
    (only,) = report["round_results"]
    ideal = threads / latency_s
    return {
        "latency_s": latency_s,
        "threads": threads,
        "duration_s": duration_s,
        "runs": only["runs"],
        "runs_per_s": only["runs_per_s"],
        "ideal_runs_per_s": ideal,
        "efficiency": only["runs_per_s"] / ideal,
        "p95_ms": only["p95_ms"],
        "cpu_ms_per_run": only["cpu_ms_per_run"],
        "idle_rss_mib": report["idle_rss_mib"],
        "in_flight_rss_mib": report["in_flight_rss_mib"],
        "mib_per_concurrent_run": report["mib_per_concurrent_run"],
        "load_passed": report["passed"],
        "failed_checks": [c["check"] for c in report["checks"] if not c["passed"]],
    }


def render(results: list[dict[str, Any]], checks: list[tuple[str, bool]]) -> str:
    lines = [
        "Concurrent chat runs on one process (the local host, synchronous handlers, one thread "
        f"per run in flight); nproc {os.cpu_count()}",
        "",
        f"{'latency s':>9}{'threads':>8}{'secs':>6}{'runs':>6}{'runs/s':>8}{'N/lat':>7}"
        f"{'eff':>6}{'p95 ms':>9}{'CPU ms':>8}{'idle MiB':>10}{'busy MiB':>10}{'MiB/run':>9}",
    ]
    for r in results:
        lines.append(
            f"{r['latency_s']:>9g}{r['threads']:>8}{r['duration_s']:>6g}{r['runs']:>6}"
            f"{r['runs_per_s']:>8.2f}{r['ideal_runs_per_s']:>7.2f}{r['efficiency']:>6.0%}"
            f"{r['p95_ms']:>9.0f}{r['cpu_ms_per_run']:>8.1f}{r['idle_rss_mib']:>10.1f}"
            f"{r['in_flight_rss_mib']:>10.1f}"
            f"{r['mib_per_concurrent_run']:>9.2f}"
        )
    lines += [
        "",
        "N/lat = threads / latency, the most runs/s that many threads can serve; eff = runs/s "
        "over it;",
        "CPU ms = the process's CPU time per run; idle = RSS after warm-up, busy = highest RSS",
        "with every thread's run in flight, MiB/run = (busy - idle) / threads (CPU and memory",
        "are upper bounds: the process also holds each run's caller and simulator threads).",
        "",
        "Checks:",
        *check_lines(checks),
    ]
    return "\n".join(lines)


def numbers(text: str, kind: type[float] | type[int]) -> list[Any]:
    try:
        values = [kind(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list") from None
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: give positive numbers")
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.concurrency", description=__doc__)
    parser.add_argument("--latencies", type=lambda s: numbers(s, float), default=[2.0, 30.0])
    parser.add_argument("--threads", type=lambda s: numbers(s, int), default=[16, 32, 64])
    parser.add_argument("--duration-s", type=float, default=None, help="seconds per configuration")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the numbers here")
    args = parser.parse_args(argv)
    results = []
    for latency in args.latencies:
        for threads in args.threads:
            duration = duration_for(latency, args.duration_s)
            print(
                f"measuring {threads} threads at {latency:g} s for {duration:g} s ...", flush=True
            )
            results.append(measure(latency, threads, duration))
    checks = [
        (
            f"{r['threads']} threads at {r['latency_s']:g} s: bench/load.py's checks passed"
            + (f" (failed: {'; '.join(r['failed_checks'])})" if r["failed_checks"] else ""),
            bool(r["load_passed"]),
        )
        for r in results
    ] + [
        (
            f"{r['threads']} threads at {r['latency_s']:g} s: runs/s {r['runs_per_s']:.2f} >= "
            f"{LEAST_EFFICIENCY:.0%} of {r['ideal_runs_per_s']:.2f}",
            r["efficiency"] >= LEAST_EFFICIENCY,
        )
        for r in results
    ]
    report = {"nproc": os.cpu_count(), "results": results}
    return finish(report, render(results, checks), args.json, all(ok for _, ok in checks))


if __name__ == "__main__":
    sys.exit(main())
