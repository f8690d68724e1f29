"""`make bench`: what our chat run costs on top of the HTTP call itself.

Everything runs in this one process against the local simulator at zero latency, so the numbers
are the client-side cost of a call (plus the simulator's own handling, the same for every
variant). The variants, all sending the same upstream body:

1. a bare `requests.Session().post(...)` with an `api-key` header, reading `.json()`;
2. the openai SDK's `AzureOpenAI(...).chat.completions.create(...)` (the yardstick);
3. our `chat_run` as the Functions host calls it (a real `func.HttpRequest`), with the managed
   identity path: validation, registry lookup (Azurite), token (cached after the first run),
   the call, the mapping;
4. the same in `AZURE_OPENAI_AUTH=api_key` mode, apples to apples with 1 and 2;
7.-9. the SDK, and 4 with telemetry off and on (OTLP/HTTP protobuf to a loopback receiver),
   interleaved in blocks: the two telemetry ratios of issue 11.

Also: a run whose registry lookup misses the in-process cache (a real read from Azurite), the
first run after (re)configuration, and the cold start: the import time of `function_app`
against `azure.functions` alone, and `import function_app` plus the first chat run, each in a
fresh interpreter.

Nothing is asserted about time: the program only prints numbers (and writes them with
`--json PATH`). It does stop when a variant answers wrongly, so it never measures errors.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import time
import timeit
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, TypeVar
from unittest.mock import patch

import azure.functions as func
import openai
import requests
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

import function_app
from bench._stack import (
    DEPLOYMENT,
    MAX_TOKENS,
    ROOT,
    app_settings,
    azurite,
    bench_simulator,
    finish,
    seed_chat_definition,
    use_app_settings,
    versions,
    without_app_settings,
)
from local.invocation import invocation_context
from local.otlp import TelemetryReceiver
from local.simulator import DEFAULT_DEPLOYMENTS, REASONING_DEPLOYMENTS, Simulator
from shared import constants as c
from shared import wiring
from shared.telemetry.recorder import OFF, current_run
from shared.web import invocation_trace

API_VERSION = c.DEFAULT_API_VERSION
PROMPT = "What is the capital of France? Answer in one short sentence."
UPSTREAM_BODY: dict[str, Any] = {
    "messages": [{"role": "user", "content": PROMPT}],
    "max_tokens": MAX_TOKENS,
}
RUN_BODY = json.dumps({"user_prompt": PROMPT}).encode()
RUN_URL = f"http://localhost:7071/api/chat/{DEPLOYMENT}"
# The current model families, each against the openai SDK's same call on the v1 API: a reasoning
# model through Chat Completions, a Responses-only model through the Responses API.
_SERVED = {deployment.name: deployment for deployment in REASONING_DEPLOYMENTS}
FAMILIES = {"reasoning": _SERVED["gpt-5-mini"], "responses": _SERVED["gpt-5-codex"]}


IMPORT_TIMER = (
    "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
)
COLD_MODULES = ("azure.functions", "function_app")
# A new instance's first answer: import the app as the host does, then its first chat run
# (settings, clients, managed-identity token, registry read, the call), in one fresh interpreter.
COLD_RUN = """import time
started = time.perf_counter()
import azure.functions as func
import function_app
request = func.HttpRequest(
    "POST", {url!r}, headers={{}}, params={{}}, route_params={{"deployment": {deployment!r}}},
    body={body!r},
)
from local.invocation import invocation_context
response = function_app.chat_run.build().get_user_function()(
    request, invocation_context("chat_run")
)
if response.status_code != 200:
    raise SystemExit(response.get_body().decode())
print(time.perf_counter() - started)
"""
TOP_IMPORTS = 6

SDK = "sdk"
FAMILY_MAX_TOKENS = 200
A = TypeVar("A")
R = TypeVar("R")


# --- statistics ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    key: str
    label: str
    n: int
    median_us: float
    p90_us: float
    p99_us: float
    ratio_to_sdk: float | None = None

    @classmethod
    def of(cls, key: str, label: str, samples_us: list[float]) -> Stats:
        cuts = statistics.quantiles(samples_us, n=100, method="inclusive")
        return cls(key, label, len(samples_us), statistics.median(samples_us), cuts[89], cuts[98])


def with_ratios(rows: list[Stats]) -> list[Stats]:
    sdk = next(row for row in rows if row.key == SDK)
    return [replace(row, ratio_to_sdk=row.median_us / sdk.median_us) for row in rows]


def measure(
    call: Callable[[A], R],
    check: Callable[[R], None],
    prepare: Callable[[], A],
    *,
    n: int,
    warmup: int,
) -> list[float]:
    """Microseconds of `n` calls after `warmup` untimed ones. `prepare` (untimed) builds each
    call's argument; `check` (untimed) stops the program on a wrong answer."""
    for _ in range(warmup):
        check(call(prepare()))
    samples: list[float] = []
    for _ in range(n):
        argument = prepare()
        started = time.perf_counter_ns()
        result = call(argument)
        samples.append((time.perf_counter_ns() - started) / 1000)
        check(result)
    return samples


def fail(variant: str, problem: str) -> None:
    raise SystemExit(f"bench: {variant} answered wrongly: {problem}")


# --- the environment: settings and the registry (Azurite: bench._stack) -------------------


def seed_families(storage: str) -> None:
    """The families' chat definitions with their model names, as discovery writes them: a run
    reads the model's profile from the registry and makes the one right call."""
    for deployment in FAMILIES.values():
        seed_chat_definition(storage, deployment.name, ModelName=deployment.model)


# --- the variants ----------------------------------------------------------------------------


def nothing() -> None:
    return None


def bare_requests(sim: Simulator, *, n: int, warmup: int) -> list[float]:
    url = f"{sim.url}/openai/deployments/{DEPLOYMENT}/chat/completions?api-version={API_VERSION}"
    session = requests.Session()
    headers = {"api-key": sim.api_key}

    def call(_: None) -> tuple[int, Any]:
        response = session.post(url, json=UPSTREAM_BODY, headers=headers)
        return response.status_code, response.json()

    def check(result: tuple[int, Any]) -> None:
        status, data = result
        if status != 200 or not data["choices"][0]["message"]["content"]:
            fail("requests", f"HTTP {status}")

    try:
        return measure(call, check, nothing, n=n, warmup=warmup)
    finally:
        session.close()


def openai_sdk(sim: Simulator, *, n: int, warmup: int) -> list[float]:
    client = openai.AzureOpenAI(
        azure_endpoint=sim.url, api_key=sim.api_key, api_version=API_VERSION, max_retries=0
    )

    def call(_: None) -> str | None:
        completion = client.chat.completions.create(
            model=DEPLOYMENT,
            messages=[{"role": "user", "content": PROMPT}],
            max_tokens=MAX_TOKENS,
        )
        return completion.choices[0].message.content

    def check(content: str | None) -> None:
        if not content:
            fail("openai SDK", "no content")

    try:
        return measure(call, check, nothing, n=n, warmup=warmup)
    finally:
        client.close()


def openai_sdk_v1(sim: Simulator, family: str, *, n: int, warmup: int) -> list[float]:
    """The SDK on the v1 API (`OpenAI(base_url=".../openai/v1/")`): `chat.completions.create`
    with `max_completion_tokens` for the reasoning model, `responses.create` for the other."""
    client = openai.OpenAI(base_url=f"{sim.url}/openai/v1/", api_key=sim.api_key, max_retries=0)
    model = FAMILIES[family].name

    def call(_: None) -> str | None:
        if family == "responses":
            return client.responses.create(
                model=model, input=PROMPT, max_output_tokens=FAMILY_MAX_TOKENS
            ).output_text
        completion = client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": PROMPT}],
            max_completion_tokens=FAMILY_MAX_TOKENS,
        )
        return completion.choices[0].message.content

    def check(content: str | None) -> None:
        if not content:
            fail(f"openai SDK ({family})", "no content")

    try:
        return measure(call, check, nothing, n=n, warmup=warmup)
    finally:
        client.close()


ChatFunction = Callable[[func.HttpRequest], func.HttpResponse]


def family_runs(
    function: ChatFunction, sim: Simulator, family: str, *, n: int, warmup: int
) -> list[float]:
    """Our chat run on the family's deployment (api_key mode, like the SDK): discovery's profile
    in the registry, so each run makes the one right call."""
    deployment = FAMILIES[family].name
    body = json.dumps({"user_prompt": PROMPT, "max_tokens": FAMILY_MAX_TOKENS}).encode()

    def request() -> func.HttpRequest:
        return host_request(deployment, body)

    sim.clear()
    samples = measure(function, check_run(f"chat_run ({family})"), request, n=n, warmup=warmup)
    expected = "/openai/v1/responses" if family == "responses" else "/openai/v1/chat/completions"
    sent = sim.requests()
    paths = {call.raw_path for call in sent}
    if paths != {expected} or len(sent) != n + warmup:  # one call a run, to the right surface
        fail(
            f"chat_run ({family})",
            f"{len(sent)} calls to {sorted(paths)}, not one each to {expected}",
        )
    return samples


def host_request(deployment: str = DEPLOYMENT, body: bytes = RUN_BODY) -> func.HttpRequest:
    """The request as the Functions host hands it to the function (built outside the timing)."""
    return func.HttpRequest(
        "POST",
        f"http://localhost:7071/api/chat/{deployment}",
        headers={"Content-Type": "application/json"},
        params={},
        route_params={"deployment": deployment},
        body=body,
    )


def check_run(variant: str) -> Callable[[func.HttpResponse], None]:
    def check(response: func.HttpResponse) -> None:
        if response.status_code != 200:
            fail(variant, f"HTTP {response.status_code}: {response.get_body()[:300]!r}")
        body = json.loads(response.get_body())
        if body.get("status") != "Success" or not body.get("response"):
            fail(variant, f"body {body!r}")

    return check


@dataclass(frozen=True)
class OurRuns:
    hit: list[float]
    miss: list[float] | None
    first_run_ms: float
    token_requests: int  # during the first run and the cache hits


def our_runs(
    function: ChatFunction, variant: str, sim: Simulator, *, n: int, warmup: int, misses: int
) -> OurRuns:
    """Our run under the settings in `os.environ`; the first call builds the services."""
    check = check_run(variant)
    sim.clear()
    request = host_request()
    started = time.perf_counter_ns()
    first = function(request)
    first_run_ms = (time.perf_counter_ns() - started) / 1e6
    check(first)
    hit = measure(function, check, host_request, n=n, warmup=warmup)
    token_requests = len(sim.token_requests())
    miss = None
    if misses:
        # A registry miss on every run: the app's own setting, no reach into its cache. The
        # warm-up's first call rebuilds the services for the changed setting.
        with patch.dict(os.environ, {"REGISTRY_CACHE_TTL_S": "0"}):
            wiring.reset()
            miss = measure(function, check, host_request, n=misses, warmup=min(warmup, 5))
        wiring.reset()
    sent = sim.requests()[-1]
    if sent.json() != UPSTREAM_BODY:  # max_tokens comes from the registry: the read was real
        fail(variant, f"it sent {sent.json()!r}, not {UPSTREAM_BODY!r}")
    return OurRuns(hit, miss, first_run_ms, token_requests)


@dataclass(frozen=True)
class TelemetryRuns:
    sdk: list[float]
    off: list[float]
    on: list[float]
    exported_spans: int  # run spans the receiver got: proof the "on" runs were exported


def telemetry_runs(
    function: ChatFunction, sim: Simulator, *, n: int, warmup: int, rounds: int = 5
) -> TelemetryRuns:
    """The SDK, our api_key run with telemetry off, and the same with telemetry on (OTLP/HTTP
    protobuf to a receiver on loopback, the exporters' default batching and intervals),
    interleaved in `rounds` blocks so that the machine's drift hits all three alike."""
    check = check_run("chat_run (telemetry)")
    per, block_warmup = max(n // rounds, 2), max(min(warmup, 20), 1)
    sdk: list[float] = []
    off: list[float] = []
    on: list[float] = []
    with TelemetryReceiver() as receiver:
        for _ in range(rounds):
            sdk += openai_sdk(sim, n=per, warmup=block_warmup)
            os.environ.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
            wiring.reset()  # the settings are read again: telemetry off
            off += measure(function, check, host_request, n=per, warmup=block_warmup)
            os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.url
            wiring.reset()  # on: the first run configures the pipeline (once per process)
            on += measure(function, check, host_request, n=per, warmup=block_warmup)
        os.environ.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
        wiring.reset()
        provider, meter_provider = trace.get_tracer_provider(), metrics.get_meter_provider()
        if isinstance(provider, TracerProvider):
            provider.force_flush()
        exported = sum(1 for span in receiver.spans() if span.name == f"chat {DEPLOYMENT}")
        # done with telemetry in this process: stop its exporters before their receiver goes
        if isinstance(provider, TracerProvider):
            provider.shutdown()
        if isinstance(meter_provider, MeterProvider):
            meter_provider.shutdown()
    if exported < len(on):
        fail("chat_run (telemetry on)", f"{exported} run spans exported for {len(on)} runs")
    return TelemetryRuns(sdk, off, on, exported)


def off_recorder_us(calls: int = 100_000) -> float:
    """Microseconds per run of what telemetry off adds: the no-op recorders' calls one chat run
    makes (the scope, two descriptions, one attempt, the answer, the ids, the facts, the end)."""

    def one_run() -> None:
        trace_parent = invocation_trace(None, {"content-type": "application/json"})
        with OFF.run("chat_run", trace_parent) as run:
            current = current_run()
            current.describe("chat", DEPLOYMENT)
            current.describe("chat", DEPLOYMENT)
            with OFF.attempt("POST", RUN_URL, 1) as attempt:
                attempt.answered(200, "request-id")
            current.answered(model="m", response_id="r", input_tokens=1, output_tokens=2)
            current.identify("run-id", "request-id")
            current.facts(upstream_status=200, api="classic", adjusted="none")
            run.finish(200, None)

    return timeit.timeit(one_run, number=calls) / calls * 1e6


def expect_auth(sim: Simulator, variant: str, header: str) -> None:
    if any(header not in sent.headers for sent in sim.requests()):
        fail(variant, f"a call went upstream without the {header} header")


# --- cold start ------------------------------------------------------------------------------


def timed_script(script: str, env: Mapping[str, str], what: str) -> float:
    """The seconds a script run in a fresh interpreter prints as its last line."""
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"bench: {what} failed:\n{done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def import_seconds(module: str, env: Mapping[str, str]) -> float:
    return timed_script(IMPORT_TIMER.format(module=module), env, f"`import {module}`")


def import_breakdown(module: str, env: Mapping[str, str]) -> dict[str, float]:
    """Self import time (ms) per top-level package (`azure.*` per sub-package), from
    `python -X importtime`."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    totals: dict[str, float] = {}
    for line in done.stderr.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if len(fields) != 3 or not fields[0].strip().isdigit():
            continue
        name = fields[2].strip()
        parts = name.split(".")
        group = ".".join(parts[:2]) if parts[0] == "azure" and len(parts) > 1 else parts[0]
        totals[group] = totals.get(group, 0.0) + int(fields[0]) / 1000
    return totals


def cold_first_runs_ms(env: Mapping[str, str], runs: int) -> list[float]:
    """Milliseconds from a fresh interpreter's `import function_app` to its first chat run's
    answer, with the app's settings in `env`."""
    script = COLD_RUN.format(url=RUN_URL, deployment=DEPLOYMENT, body=RUN_BODY)
    timed_script(script, env, "the cold first run")  # untimed: warms the bytecode cache
    return [timed_script(script, env, "the cold first run") * 1000 for _ in range(runs)]


def cold_first_runs_with_telemetry_ms(env: Mapping[str, str], runs: int) -> dict[str, list[float]]:
    """The same with telemetry on: the first run also imports and configures the pipeline (the
    OTLP exporters, or the Azure Monitor distro, exporting to a receiver on loopback)."""
    with TelemetryReceiver() as receiver:
        connection = f"InstrumentationKey={uuid.uuid4()};IngestionEndpoint={receiver.url}/"
        modes = {
            "otlp": {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url},
            "azure_monitor": {
                "APPLICATIONINSIGHTS_CONNECTION_STRING": connection,
                "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",
            },
        }
        return {mode: cold_first_runs_ms({**env, **extra}, runs) for mode, extra in modes.items()}


@dataclass(frozen=True)
class ColdStart:
    median_ms: dict[str, float]
    runs_ms: dict[str, list[float]]
    top_imports_ms: dict[str, float]


def cold_start(env: Mapping[str, str], runs: int) -> ColdStart:
    runs_ms: dict[str, list[float]] = {}
    for module in COLD_MODULES:
        import_seconds(module, env)  # untimed: leaves the bytecode cache as a deployment has it
        runs_ms[module] = [import_seconds(module, env) * 1000 for _ in range(runs)]
    breakdowns = [import_breakdown("function_app", env) for _ in range(runs)]
    groups = {group for breakdown in breakdowns for group in breakdown}
    typical = {
        group: statistics.median(breakdown.get(group, 0.0) for breakdown in breakdowns)
        for group in groups
    }
    top = dict(sorted(typical.items(), key=lambda item: -item[1])[:TOP_IMPORTS])
    return ColdStart(
        {module: statistics.median(values) for module, values in runs_ms.items()}, runs_ms, top
    )


# --- the report ------------------------------------------------------------------------------


def render(report: dict[str, Any], rows: list[Stats], cold: ColdStart) -> str:
    width = max(len(row.label) for row in rows) + 2
    lines = [
        f"Chat run, simulator at zero latency: {report['n']} timed calls after "
        f"{report['warmup']} warm-up (microseconds)",
        "",
        f"{'variant':<{width}}{'n':>6}{'median':>10}{'p90':>10}{'p99':>10}{'x SDK':>8}",
    ]
    for row in rows:
        ratio = f"{row.ratio_to_sdk:.2f}" if row.ratio_to_sdk is not None else "-"
        lines.append(
            f"{row.label:<{width}}{row.n:>6}{row.median_us:>10.0f}{row.p90_us:>10.0f}"
            f"{row.p99_us:>10.0f}{ratio:>8}"
        )
    first = report["first_run_ms"]
    lines += [
        "",
        f"Registry cache ({c.REGISTRY_CACHE_TTL_S:.0f} s TTL): the timed runs of 3 and 4 read "
        "the cache;",
        "'registry miss' runs with REGISTRY_CACHE_TTL_S=0, so each of those runs reads Azurite.",
        f"First run after (re)configuration: aad {first['aad']:.1f} ms, api_key "
        f"{first['api_key']:.1f} ms (settings, clients, token, registry read, connections).",
        f"Managed-identity token requests during the aad runs: {report['token_requests']}.",
        "",
        f"Cold start: fresh interpreter from {ROOT}, no app settings, warm bytecode cache, "
        f"median of {len(cold.runs_ms[COLD_MODULES[0]])} runs (milliseconds)",
        "",
    ]
    base = cold.median_ms["azure.functions"]
    for module in COLD_MODULES:
        median = cold.median_ms[module]
        extra = (
            f"  (+{median - base:.0f} over azure.functions)" if module != COLD_MODULES[0] else ""
        )
        runs = ", ".join(f"{value:.0f}" for value in cold.runs_ms[module])
        lines.append(f"import {module:<18}{median:>8.0f}   runs: {runs}{extra}")
    telemetry = report["telemetry_ratio_to_sdk"]
    lines.append(
        "Telemetry, each against the SDK's runs interleaved with it (median / median): "
        f"off {telemetry['off']:.2f}, on {telemetry['on']:.2f} "
        f"({report['telemetry_exported_spans']} run spans exported over OTLP/HTTP); off, the "
        f"no-op recorders take {report['telemetry_off_recorders_us']:.1f} us of a run"
    )
    ratios = report["family_ratio_to_sdk"]
    lines.append(
        "Model families, each against the SDK's same call on the v1 API (median / median): "
        + ", ".join(f"{family} {ratio:.2f}" for family, ratio in ratios.items())
    )
    first_cold = report["cold_start_ms"]["import_and_first_run"]
    runs = ", ".join(f"{value:.0f}" for value in first_cold["runs"])
    lines.append(
        f"import function_app + first chat run (aad){first_cold['median']:>8.0f}   runs: {runs}"
    )
    for mode, cold_on in report["cold_start_ms"]["import_and_first_run_telemetry_on"].items():
        runs = ", ".join(f"{value:.0f}" for value in cold_on["runs"])
        lines.append(f"  the same, telemetry on ({mode}){cold_on['median']:>8.0f}   runs: {runs}")
    lines.append("")
    lines.append("Self import time of `import function_app` by package (-X importtime, median ms):")
    lines += [f"  {group:<24}{ms:>8.1f}" for group, ms in cold.top_imports_ms.items()]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.chat", description="Benchmark of the chat run."
    )
    parser.add_argument("--n", type=int, default=1000, help="timed calls per variant")
    parser.add_argument("--warmup", type=int, default=50, help="untimed calls first")
    parser.add_argument("--misses", type=int, help="registry-miss runs (default n/5, 0 skips)")
    parser.add_argument("--cold-runs", type=int, default=5, help="interpreters per import")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the numbers here")
    args = parser.parse_args(argv)
    if args.n < 2 or args.warmup < 0 or args.cold_runs < 1:
        parser.error("need --n >= 2, --warmup >= 0 and --cold-runs >= 1")
    if args.misses is None:
        args.misses = max(args.n // 5, 2)
    if args.misses == 1 or args.misses < 0:
        parser.error("--misses must be 0 or at least 2")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.getLogger().setLevel(logging.WARNING)  # the app logs every run at INFO
    clean = without_app_settings(os.environ)
    n, warmup = args.n, args.warmup
    chat_run = function_app.chat_run.build().get_user_function()

    def function(request: func.HttpRequest) -> func.HttpResponse:
        response: func.HttpResponse = chat_run(request, invocation_context("chat_run"))
        return response

    with (
        patch.dict(os.environ, clean, clear=True),
        bench_simulator(deployments=[*DEFAULT_DEPLOYMENTS, *REASONING_DEPLOYMENTS]) as sim,
        azurite() as azurite_server,
    ):
        storage = azurite_server.connection_string
        seed_chat_definition(storage)
        samples = {
            "requests": bare_requests(sim, n=n, warmup=warmup),
            SDK: openai_sdk(sim, n=n, warmup=warmup),
        }
        use_app_settings(app_settings(sim, storage, api_key=False))
        cold_runs_ms = cold_first_runs_ms(dict(os.environ), args.cold_runs)
        cold_telemetry_ms = cold_first_runs_with_telemetry_ms(dict(os.environ), args.cold_runs)
        aad = our_runs(function, "chat_run (aad)", sim, n=n, warmup=warmup, misses=args.misses)
        expect_auth(sim, "chat_run (aad)", "authorization")
        token_requests = aad.token_requests
        use_app_settings(app_settings(sim, storage, api_key=True))
        key = our_runs(function, "chat_run (api_key)", sim, n=n, warmup=warmup, misses=0)
        expect_auth(sim, "chat_run (api_key)", "api-key")
        telemetry = telemetry_runs(function, sim, n=n, warmup=warmup)
        seed_families(storage)
        for family in FAMILIES:
            samples[f"sdk_{family}"] = openai_sdk_v1(sim, family, n=n, warmup=warmup)
            samples[family] = family_runs(function, sim, family, n=n, warmup=warmup)

    labels = {
        "requests": "1 requests.Session().post + .json()",
        SDK: "2 openai SDK chat.completions.create",
        "aad": "3 chat_run, managed identity (aad)",
        "api_key": "4 chat_run, api_key",
        "aad_miss": "  chat_run (aad), registry miss",
        "sdk_reasoning": "5 SDK v1 chat.completions (gpt-5-mini)",
        "reasoning": "  chat_run, reasoning model on v1",
        "sdk_responses": "6 SDK v1 responses.create (gpt-5-codex)",
        "responses": "  chat_run, Responses-only model",
        "sdk_interleaved": "7 openai SDK, interleaved with 8 and 9",
        "telemetry_off": "8 chat_run api_key, telemetry off",
        "telemetry_on": "9 chat_run api_key, telemetry on (OTLP)",
    }
    samples |= {"aad": aad.hit, "api_key": key.hit}
    samples |= {
        "sdk_interleaved": telemetry.sdk,
        "telemetry_off": telemetry.off,
        "telemetry_on": telemetry.on,
    }
    sdk_interleaved = statistics.median(telemetry.sdk)
    telemetry_ratios = {
        state: statistics.median(getattr(telemetry, state)) / sdk_interleaved
        for state in ("off", "on")
    }
    if aad.miss is not None:
        samples["aad_miss"] = aad.miss
    rows = with_ratios([Stats.of(name, labels[name], values) for name, values in samples.items()])
    family_ratios = {
        family: statistics.median(samples[family]) / statistics.median(samples[f"sdk_{family}"])
        for family in FAMILIES
    }
    cold = cold_start(clean, args.cold_runs)

    report: dict[str, Any] = {
        "n": n,
        "warmup": warmup,
        "python": platform.python_version(),
        "versions": versions(
            "openai",
            "requests",
            "azure-functions",
            "azure-identity",
            "azure-data-tables",
            "pydantic",
            "opentelemetry-sdk",
            "azure-monitor-opentelemetry",
        ),
        "variants": [asdict(row) for row in rows],
        "first_run_ms": {"aad": aad.first_run_ms, "api_key": key.first_run_ms},
        "token_requests": token_requests,
        "family_ratio_to_sdk": family_ratios,
        "telemetry_ratio_to_sdk": telemetry_ratios,
        "telemetry_off_recorders_us": off_recorder_us(),
        "telemetry_exported_spans": telemetry.exported_spans,
        "cold_start_ms": {
            "median": cold.median_ms,
            "runs": cold.runs_ms,
            "function_app_self_import_by_package": cold.top_imports_ms,
            "import_and_first_run_telemetry_on": {
                mode: {"median": statistics.median(values), "runs": values}
                for mode, values in cold_telemetry_ms.items()
            },
            "import_and_first_run": {
                "median": statistics.median(cold_runs_ms),
                "runs": cold_runs_ms,
            },
        },
    }
    return finish(report, render(report, rows, cold), args.json, passed=True)


if __name__ == "__main__":
    sys.exit(main())
