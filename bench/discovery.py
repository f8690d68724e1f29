"""`make bench-discovery`: what a discovery sync costs in ARM and Table storage requests.

The account has 1,000 deployments (900 chat: gpt-4o and gpt-4o-mini variants, 100 embedding
models), listed by the simulator's ARM in 10 pages of 100, so discovery defines
900 * 2 + 100 = 1,900 jobs. `discovery_run` runs as the Functions host calls it (a real
`func.HttpRequest`, `POST /api/discovery`) with the managed-identity settings, pointed at the
simulator (data plane, identity endpoint and ARM) and at Azurite. Three syncs, in order:

1. the first sync, into an empty table;
2. a re-sync with nothing changed;
3. a re-sync after 10 deployments changed (a new model version, else a new capacity).

Storage requests are counted by a small reverse proxy in front of Azurite (the app's
`AzureWebJobsStorage` points at it): it forwards every request unchanged (path, headers and body,
so SharedKey signatures still verify) and classifies it by method and path.

Nothing is asserted about time: the program prints numbers (and writes them with `--json PATH`)
and PASS/FAIL for request counts and outcome counts; it exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import math
import os
import platform
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from unittest.mock import patch
from urllib.parse import unquote, urlsplit

import azure.functions as func
from azure.data.tables import TableClient

import function_app
from bench._stack import (
    ACCOUNT,
    app_settings,
    azurite,
    bench_simulator,
    check_lines,
    finish,
    use_app_settings,
    versions,
    without_app_settings,
)
from local.azurite import connection_string
from local.invocation import invocation_context
from local.simulator import Deployment, Simulator
from shared import constants as c
from shared import wiring
from shared.models.answers import SyncCounts

RUN_URL = "http://localhost:7071/api/discovery"

CHAT_DEPLOYMENTS = 900
EMBEDDING_DEPLOYMENTS = 100
ARM_PAGE_SIZE = 100
CHANGED_DEPLOYMENTS = 10  # one on each ARM page
# (model, version, sku, capacity): the chat deployments cycle through these...
CHAT_MODELS = (
    ("gpt-4o", "2024-08-06", "GlobalStandard", 50),
    ("gpt-4o", "2024-05-13", "Standard", 30),
    ("gpt-4o-mini", "2024-07-18", "GlobalStandard", 100),
    ("gpt-4o-mini", "2024-07-18", "Standard", 20),
)
# ... and the embedding ones through these (with the vector length).
EMBEDDING_MODELS = (
    ("text-embedding-3-small", "1", "Standard", 120, 1536),
    ("text-embedding-3-large", "1", "Standard", 120, 3072),
    ("text-embedding-ada-002", "2", "Standard", 120, 1536),
)
# The change of scenario 3: the next version of the model where there is one, else +10 capacity.
UPGRADES = {("gpt-4o", "2024-05-13"): "2024-08-06", ("gpt-4o", "2024-08-06"): "2024-11-20"}

# Storage request kinds, as the proxy classifies them.
CREATE_TABLE = "create_table"  # POST /{account}/Tables (201, or 409 when it exists)
TRANSACTION = "transaction"  # POST /{account}/$batch (an entity group transaction)
QUERY = "query"  # GET /{account}/{table}()?$filter=... (one per page)
ENTITY_READ = "entity_read"  # GET /{account}/{table}(PartitionKey=...,RowKey=...)
ENTITY_WRITE = "entity_write"  # one definition: PUT/MERGE/PATCH/DELETE, or POST /{table}
OUTCOME_WRITE = "outcome_write"  # the same, on the sync-outcome entity (PartitionKey _discovery)
OTHER = "other"
KINDS = (CREATE_TABLE, TRANSACTION, QUERY, ENTITY_READ, ENTITY_WRITE, OUTCOME_WRITE, OTHER)
WRITE_KINDS = (CREATE_TABLE, TRANSACTION, ENTITY_WRITE, OUTCOME_WRITE)
DEFINITION_WRITE_KINDS = (TRANSACTION, ENTITY_WRITE)

ENTITY_KEYS = re.compile(r"\(PartitionKey='(?P<pk>(?:[^']|'')*)',RowKey='(?:[^']|'')*'\)$")
# The operations of a transaction: one request line per part of its multipart changeset.
BATCH_OPERATION = re.compile(rb"^(?:POST|PUT|MERGE|PATCH|DELETE) https?://", re.MULTILINE)
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
PROXY_IDLE_TIMEOUT_S = 60.0
UPSTREAM_TIMEOUT_S = 30.0


# --- the counting proxy in front of Azurite --------------------------------------------------


def classify(method: str, raw_path: str) -> str:
    """The kind of a Table storage request."""
    path = unquote(urlsplit(raw_path).path).rstrip("/")
    segments = path.split("/")  # ["", account, resource]
    resource = segments[2] if len(segments) == 3 else ""
    keys = ENTITY_KEYS.search(resource)
    partition = keys.group("pk").replace("''", "'") if keys else None
    write = method in {"PUT", "MERGE", "PATCH", "DELETE"}
    if method == "POST" and resource == "Tables":
        return CREATE_TABLE
    if method == "POST" and resource == "$batch":
        return TRANSACTION
    if method == "GET" and keys is None and resource.endswith("()"):
        return QUERY
    if method == "GET" and keys is not None:
        return ENTITY_READ
    if (write and keys is not None) or (method == "POST" and "(" not in resource and resource):
        return OUTCOME_WRITE if partition == c.DISCOVERY_OUTCOME_PARTITION else ENTITY_WRITE
    return OTHER


@dataclass
class StorageTally:
    """The storage requests of one scenario."""

    requests: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    transaction_operations: int = 0  # entity operations inside the transactions
    upstream_ms: float = 0.0  # time spent waiting on Azurite, measured at the proxy
    statuses: dict[str, int] = field(default_factory=dict)  # "kind status" -> count
    unexpected: list[str] = field(default_factory=list)  # failed requests other than a 409

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    @property
    def writes(self) -> int:
        return sum(self.requests[kind] for kind in WRITE_KINDS)

    @property
    def definition_writes(self) -> int:
        return sum(self.requests[kind] for kind in DEFINITION_WRITE_KINDS)


class CountingProxy:
    """A reverse proxy on a free loopback port forwarding to Azurite, counting requests."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._lock = threading.Lock()
        self._tally = StorageTally()
        self._server = _ProxyServer(("127.0.0.1", 0), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="storage-proxy", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def take(self) -> StorageTally:
        """The requests counted since the last call (and start counting anew)."""
        with self._lock:
            tally, self._tally = self._tally, StorageTally()
        return tally

    def record(self, method: str, path: str, body: bytes, status: int, elapsed_ms: float) -> None:
        kind = classify(method, path)
        with self._lock:
            tally = self._tally
            tally.requests[kind] += 1
            tally.upstream_ms += elapsed_ms
            label = f"{kind} {status}"
            tally.statuses[label] = tally.statuses.get(label, 0) + 1
            if kind == TRANSACTION:
                tally.transaction_operations += len(BATCH_OPERATION.findall(body))
            if status >= 400 and not (kind == CREATE_TABLE and status == 409):
                tally.unexpected.append(f"{method} {unquote(path)[:120]} -> {status}")


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], proxy: CountingProxy) -> None:
        self.proxy = proxy
        super().__init__(address, _ProxyHandler)


class _ProxyHandler(BaseHTTPRequestHandler):
    """Forwards each request on a keep-alive connection of its own to Azurite: the request
    line's path, every end-to-end header (Host too) and the body exactly as received."""

    protocol_version = "HTTP/1.1"
    timeout = PROXY_IDLE_TIMEOUT_S
    server: _ProxyServer
    _upstream: http.client.HTTPConnection | None = None

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        return None

    def finish(self) -> None:
        if self._upstream is not None:
            self._upstream.close()
        super().finish()

    def _read_body(self) -> bytes:
        # azure-data-tables always sends a Content-Length (never a chunked body).
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send_upstream(self, body: bytes) -> http.client.HTTPResponse:
        for attempt in (1, 2):
            reused = self._upstream is not None
            if self._upstream is None:
                self._upstream = http.client.HTTPConnection(
                    "127.0.0.1", self.server.proxy.upstream_port, timeout=UPSTREAM_TIMEOUT_S
                )
            connection = self._upstream
            try:
                connection.putrequest(
                    self.command, self.path, skip_host=True, skip_accept_encoding=True
                )
                for name, value in self.headers.items():
                    if name.lower() not in HOP_BY_HOP:
                        connection.putheader(name, value)
                connection.endheaders(body or None)
                return connection.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # Azurite closed an idle keep-alive connection before reading the request.
                connection.close()
                self._upstream = None
                if not reused or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _forward(self) -> None:
        body = self._read_body()
        started = time.perf_counter_ns()
        response = self._send_upstream(body)
        data = response.read()
        elapsed_ms = (time.perf_counter_ns() - started) / 1e6
        self.server.proxy.record(self.command, self.path, body, response.status, elapsed_ms)
        self.send_response_only(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        if response.will_close:
            self._upstream = None
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_MERGE = do_DELETE = _forward


# --- the account's deployments ---------------------------------------------------------------


def fleet() -> list[Deployment]:
    """1,000 deployments: every tenth one serves an embedding model, the others chat models."""
    deployments: list[Deployment] = []
    chat = embedding = 0
    for index in range(CHAT_DEPLOYMENTS + EMBEDDING_DEPLOYMENTS):
        if index % 10 == 9 and embedding < EMBEDDING_DEPLOYMENTS:
            model, version, sku, capacity, dimensions = EMBEDDING_MODELS[
                embedding % len(EMBEDDING_MODELS)
            ]
            embedding += 1
        else:
            model, version, sku, capacity = CHAT_MODELS[chat % len(CHAT_MODELS)]
            dimensions = 1536
            chat += 1
        name = f"team{index // 10:03d}-{model}-{index % 10}"
        deployments.append(Deployment(name, model, version, sku, capacity, dimensions=dimensions))
    return deployments


def changed_indexes() -> list[int]:
    """One per ARM page; two of them (x09) are embedding deployments, the others chat ones."""
    return [
        page * ARM_PAGE_SIZE + (9 if page in (4, 9) else page)
        for page in range(CHANGED_DEPLOYMENTS)
    ]


def changed(deployment: Deployment) -> Deployment:
    version = UPGRADES.get((deployment.model, deployment.version))
    if version is not None:
        return replace(deployment, version=version)
    return replace(deployment, capacity=deployment.capacity + 10)


def definitions_of(deployment: Deployment) -> int:
    return 1 if deployment.is_embedding else 2  # embedding; else chat + batch


# --- the scenarios ---------------------------------------------------------------------------


def host_request() -> func.HttpRequest:
    """`POST /api/discovery` as the Functions host hands it to the function."""
    return func.HttpRequest("POST", RUN_URL, headers={}, params={}, route_params={}, body=b"")


DiscoveryFunction = Callable[[func.HttpRequest], func.HttpResponse]


class Expected(SyncCounts):
    """The sync's counts, and the most transactions it may take."""

    max_transactions: int = 0


COUNTS = tuple(SyncCounts.model_fields)


@dataclass
class Scenario:
    key: str
    label: str
    wall_ms: float
    outcome_duration_ms: int
    arm_requests: int
    token_requests: int
    storage: StorageTally
    outcome: dict[str, Any]
    checks: list[tuple[str, bool]] = field(default_factory=list)

    @property
    def implied_writes(self) -> int:
        """Entity writes the outcome implies: every created, updated, retired or unretired
        definition."""
        return sum(int(self.outcome[name]) for name in COUNTS if name != "unchanged")

    @property
    def passed(self) -> bool:
        return all(ok for _, ok in self.checks)


def run_scenario(
    key: str,
    label: str,
    function: DiscoveryFunction,
    sim: Simulator,
    proxy: CountingProxy,
    expected: Expected,
) -> Scenario:
    sim.clear()
    proxy.take()
    request = host_request()
    started = time.perf_counter_ns()
    response = function(request)
    wall_ms = (time.perf_counter_ns() - started) / 1e6
    storage = proxy.take()
    outcome = json.loads(response.get_body())
    if response.status_code != 200 or outcome.get("status") != "Success":
        raise SystemExit(
            f"bench: {label}: HTTP {response.status_code}: {json.dumps(outcome)[:600]}"
        )
    scenario = Scenario(
        key,
        label,
        wall_ms,
        int(outcome["duration_ms"]),
        len(sim.arm_requests()),
        len(sim.token_requests()),
        storage,
        outcome,
    )
    definitions = sum(outcome["definitions"].values())
    checks = scenario.checks
    checks.append(
        (f"ARM requests = {expected_pages()} pages", scenario.arm_requests == expected_pages())
    )
    checks.append(
        (f"deployments = {len(sim.deployments)}", outcome["deployments"] == len(sim.deployments))
    )
    checks.append(
        (f"definitions = {expected_definitions()}", definitions == expected_definitions())
    )
    for name in COUNTS:
        want = getattr(expected, name)
        checks.append((f"{name} = {want}", outcome[name] == want))
    checks.append(("no warnings", not outcome["warnings"]))
    checks.append(
        (
            "storage answered every request (no 403/4xx/5xx but create-table's 409)",
            not storage.unexpected,
        )
    )
    checks.append(
        (
            f"definition write requests {storage.definition_writes} <= "
            f"{expected.max_transactions} (ceil(writes / {c.TRANSACTION_MAX_OPERATIONS}), "
            "one partition)",
            storage.definition_writes <= expected.max_transactions,
        )
    )
    checks.append(
        (
            f"operations in transactions = {scenario.implied_writes} "
            "(created + updated + retired + unretired)",
            storage.transaction_operations == scenario.implied_writes,
        )
    )
    return scenario


def expected_pages() -> int:
    return math.ceil((CHAT_DEPLOYMENTS + EMBEDDING_DEPLOYMENTS) / ARM_PAGE_SIZE)


def expected_definitions() -> int:
    return CHAT_DEPLOYMENTS * 2 + EMBEDDING_DEPLOYMENTS


def verify_table(storage: str, table_name: str, wanted: list[Deployment]) -> list[tuple[str, bool]]:
    """Read the registry straight from Azurite (not through the proxy): every definition is
    there, live, with the model version and capacity of its deployment."""
    with TableClient.from_connection_string(storage, table_name=table_name) as table:
        entities = list(table.query_entities("PartitionKey eq @pk", parameters={"pk": ACCOUNT}))
    by_name = {d.name: d for d in wanted}
    matches = all(
        entity.get("Retired") is False
        and entity["DeploymentName"] in by_name
        and entity.get("ModelVersion") == by_name[entity["DeploymentName"]].version
        and entity.get("SkuCapacity") == by_name[entity["DeploymentName"]].capacity
        for entity in entities
    )
    return [
        (
            f"registry holds {expected_definitions()} definitions",
            len(entities) == expected_definitions(),
        ),
        ("each matches its deployment (version, capacity), none retired", matches),
    ]


# --- the report ------------------------------------------------------------------------------


def _count(kind: str) -> Callable[[Scenario], str]:
    return lambda s: str(s.storage.requests[kind])


TABLE_ROWS: tuple[tuple[str, Callable[[Scenario], str]], ...] = (
    ("wall time (ms)", lambda s: f"{s.wall_ms:.0f}"),
    ("  outcome duration_ms (app's own)", lambda s: str(s.outcome_duration_ms)),
    ("ARM requests", lambda s: str(s.arm_requests)),
    ("managed-identity token requests", lambda s: str(s.token_requests)),
    ("time waiting on Azurite (ms, proxy)", lambda s: f"{s.storage.upstream_ms:.0f}"),
    ("storage requests, total", lambda s: str(s.storage.total)),
    ("  reads: queries (pages)", _count(QUERY)),
    ("  reads: single entity", _count(ENTITY_READ)),
    ("  writes: transactions ($batch)", _count(TRANSACTION)),
    ("  writes: single definition", _count(ENTITY_WRITE)),
    ("  writes: sync-outcome record", _count(OUTCOME_WRITE)),
    ("  writes: create table (201/409)", _count(CREATE_TABLE)),
    ("  other", _count(OTHER)),
    ("write requests, total", lambda s: str(s.storage.writes)),
    ("  of them definition writes", lambda s: str(s.storage.definition_writes)),
    ("operations inside transactions", lambda s: str(s.storage.transaction_operations)),
    ("outcome: created", lambda s: str(s.outcome["created"])),
    ("outcome: updated", lambda s: str(s.outcome["updated"])),
    ("outcome: unchanged", lambda s: str(s.outcome["unchanged"])),
    ("outcome: retired / unretired", lambda s: f"{s.outcome['retired']}/{s.outcome['unretired']}"),
    ("entity writes implied by the outcome", lambda s: str(s.implied_writes)),
)


def render(
    report: dict[str, Any],
    scenarios: list[Scenario],
    final: list[tuple[str, bool]],
    targets: list[tuple[str, bool]],
) -> str:
    lines = [
        f"Discovery: {report['deployments']} deployments ({CHAT_DEPLOYMENTS} chat, "
        f"{EMBEDDING_DEPLOYMENTS} embedding) in ARM pages of {ARM_PAGE_SIZE} -> "
        f"{expected_definitions()} job definitions; simulator at zero latency, Azurite in memory",
        f"(storage requests counted by a forwarding proxy in front of Azurite; Python "
        f"{report['python']}, azure-data-tables {report['versions']['azure-data-tables']})",
        "",
    ]
    width = 38
    lines.append(f"{'':<{width}}" + "".join(f"{s.key:>12}" for s in scenarios))
    for label, value in TABLE_ROWS:
        lines.append(f"{label:<{width}}" + "".join(f"{value(s):>12}" for s in scenarios))
    lines.append("")
    lines.append(
        "Storage answers: "
        + "; ".join(
            f"{s.key}: " + ", ".join(f"{k}x{v}" for k, v in sorted(s.storage.statuses.items()))
            for s in scenarios
        )
    )
    lines.append("")
    for s in scenarios:
        lines.append(f"{s.key}: {s.label}")
        lines += check_lines(s.checks)
        lines += [f"        unexpected: {problem}" for problem in s.storage.unexpected[:5]]
    lines.append("registry, read straight from Azurite after the last sync")
    lines += check_lines(final)
    lines.append("")
    lines.append("Targets")
    lines += check_lines(targets)
    lines.append(
        "  (not definition writes, in every sync: the sync-outcome upsert, PartitionKey "
        f"{c.DISCOVERY_OUTCOME_PARTITION}, and the two create-table calls, 409 once the table "
        "exists)"
    )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.discovery", description="Benchmark of the discovery sync."
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the numbers here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.getLogger().setLevel(logging.WARNING)  # the app logs every sync at INFO
    clean = without_app_settings(os.environ)
    discovery_run = function_app.discovery_run.build().get_user_function()

    def function(request: func.HttpRequest) -> func.HttpResponse:
        response: func.HttpResponse = discovery_run(request, invocation_context("discovery_run"))
        return response

    deployments = fleet()
    changes = changed_indexes()
    after = [changed(d) if i in changes else d for i, d in enumerate(deployments)]
    updated = sum(definitions_of(deployments[i]) for i in changes)
    total = expected_definitions()
    first_limit = math.ceil(total / c.TRANSACTION_MAX_OPERATIONS)

    with (
        patch.dict(os.environ, clean, clear=True),
        bench_simulator(deployments=deployments, arm_page_size=ARM_PAGE_SIZE) as sim,
        azurite() as azurite_server,
        CountingProxy(azurite_server.port) as proxy,
    ):
        use_app_settings(app_settings(sim, connection_string(proxy.port)))
        wiring.services()  # untimed: settings and clients (no request is sent building them)
        first = run_scenario(
            "first",
            "first sync, empty table",
            function,
            sim,
            proxy,
            Expected(created=total, max_transactions=first_limit),
        )
        unchanged = run_scenario(
            "unchanged",
            "re-sync, nothing changed",
            function,
            sim,
            proxy,
            Expected(unchanged=total, max_transactions=0),
        )
        sim.set_deployments(after)
        embeddings = sum(deployments[i].is_embedding for i in changes)
        upgrades = sum(after[i].version != deployments[i].version for i in changes)
        changed_run = run_scenario(
            "changed",
            f"re-sync, {len(changes)} deployments changed ({len(changes) - embeddings} chat, "
            f"{embeddings} embedding; {upgrades} new model version, "
            f"{len(changes) - upgrades} new capacity)",
            function,
            sim,
            proxy,
            Expected(
                updated=updated,
                unchanged=total - updated,
                max_transactions=math.ceil(updated / c.TRANSACTION_MAX_OPERATIONS),
            ),
        )
        final = verify_table(
            azurite_server.connection_string, c.DEFAULT_JOB_DEFINITIONS_TABLE, after
        )

    scenarios = [first, unchanged, changed_run]
    targets = [
        (
            "unchanged re-sync makes no definition writes "
            f"(transactions + single-entity writes = {unchanged.storage.definition_writes})",
            unchanged.storage.definition_writes == 0,
        ),
        (
            f"first sync: definition writes {first.storage.definition_writes} <= "
            f"ceil({total}/{c.TRANSACTION_MAX_OPERATIONS}) = {first_limit}",
            first.storage.definition_writes <= first_limit,
        ),
        (
            f"outcome counts: created {total}; unchanged {total}; updated {updated} "
            f"(2 per changed chat deployment, 1 per embedding one)",
            first.outcome["created"] == total
            and unchanged.outcome["unchanged"] == total
            and changed_run.outcome["updated"] == updated,
        ),
    ]
    report: dict[str, Any] = {
        "python": platform.python_version(),
        "versions": versions(
            "azure-functions", "azure-identity", "azure-data-tables", "azure-core", "requests"
        ),
        "deployments": len(deployments),
        "chat_deployments": CHAT_DEPLOYMENTS,
        "embedding_deployments": EMBEDDING_DEPLOYMENTS,
        "arm_page_size": ARM_PAGE_SIZE,
        "definitions": total,
        "changed_deployments": [deployments[i].name for i in changes],
        "scenarios": [
            {
                "key": s.key,
                "label": s.label,
                "wall_ms": round(s.wall_ms, 1),
                "outcome_duration_ms": s.outcome_duration_ms,
                "arm_requests": s.arm_requests,
                "token_requests": s.token_requests,
                "storage_requests": s.storage.requests,
                "storage_requests_total": s.storage.total,
                "storage_upstream_ms": round(s.storage.upstream_ms, 1),
                "storage_write_requests": s.storage.writes,
                "storage_definition_write_requests": s.storage.definition_writes,
                "transaction_operations": s.storage.transaction_operations,
                "storage_statuses": s.storage.statuses,
                "outcome": {name: s.outcome[name] for name in COUNTS},
                "implied_entity_writes": s.implied_writes,
                "checks": [{"check": name, "passed": ok} for name, ok in s.checks],
            }
            for s in scenarios
        ],
        "registry_checks": [{"check": name, "passed": ok} for name, ok in final],
        "targets": [{"check": name, "passed": ok} for name, ok in targets],
    }
    passed = all(s.passed for s in scenarios) and all(ok for _, ok in (*final, *targets))
    return finish(report, render(report, scenarios, final, targets), args.json, passed)


if __name__ == "__main__":
    sys.exit(main())
