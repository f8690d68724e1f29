"""A telemetry receiver on loopback: OTLP over HTTP with protobuf (`/v1/traces`, `/v1/metrics`,
as an OpenTelemetry collector serves them) and Application Insights' ingestion (`/v2.1/track`,
what the Azure Monitor exporter posts to). The tests and the benchmark export to it; with
`python -m local.otlp` it prints a line per span it receives, to watch the local stack's
telemetry (`OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 make run`).

It keeps the newest of what it received (KEEP of each kind): the decoded spans and metric
points, the raw bodies, and each request's headers (an exporter's `OTEL_EXPORTER_OTLP_HEADERS`,
an ingestion's bearer token).
"""

from __future__ import annotations

import argparse
import gzip
import json
import ssl
import threading
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.json_format import MessageToDict  # type: ignore[import-untyped]
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from local._http import KeepAliveHandler, TrackingHTTPServer

DEFAULT_PORT = 4318  # OTLP/HTTP's registered port


@dataclass(frozen=True)
class Received:
    """One export request as it arrived."""

    path: str
    headers: dict[str, str]
    body: bytes  # decompressed


@dataclass
class ReceivedSpan:
    name: str
    kind: str
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]
    status: dict[str, Any]
    resource: dict[str, Any]


# What the receiver keeps of each kind, the newest: it may run as long as the local stack does.
KEEP = 10_000


def _recent() -> deque[Any]:
    return deque(maxlen=KEEP)


@dataclass
class Store:
    requests: deque[Received] = field(default_factory=_recent)
    spans: deque[ReceivedSpan] = field(default_factory=_recent)
    metrics: deque[dict[str, Any]] = field(default_factory=_recent)  # MessageToDict of each
    envelopes: deque[dict[str, Any]] = field(default_factory=_recent)  # Application Insights'
    lock: threading.Lock = field(default_factory=threading.Lock)


def _attributes(items: list[dict[str, Any]]) -> dict[str, Any]:
    """OTLP's key/value list as a dict of plain values."""
    found: dict[str, Any] = {}
    for item in items:
        value = item.get("value", {})
        if "arrayValue" in value:
            found[item["key"]] = [
                next(iter(v.values()), None) for v in value["arrayValue"].get("values", [])
            ]
        elif "intValue" in value:
            found[item["key"]] = int(value["intValue"])
        else:
            found[item["key"]] = next(iter(value.values()), None)
    return found


def _spans(body: bytes) -> list[ReceivedSpan]:
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    decoded = MessageToDict(request)
    spans = []
    for resource_spans in decoded.get("resourceSpans", []):
        resource = _attributes(resource_spans.get("resource", {}).get("attributes", []))
        for scope in resource_spans.get("scopeSpans", []):
            for span in scope.get("spans", []):
                spans.append(
                    ReceivedSpan(
                        name=span["name"],
                        kind=span.get("kind", ""),
                        trace_id=span.get("traceId", ""),
                        span_id=span.get("spanId", ""),
                        parent_span_id=span.get("parentSpanId", ""),
                        attributes=_attributes(span.get("attributes", [])),
                        status=span.get("status", {}),
                        resource=resource,
                    )
                )
    return spans


def _metrics(body: bytes) -> list[dict[str, Any]]:
    request = ExportMetricsServiceRequest()
    request.ParseFromString(body)
    decoded = MessageToDict(request)
    return [
        metric
        for resource_metrics in decoded.get("resourceMetrics", [])
        for scope in resource_metrics.get("scopeMetrics", [])
        for metric in scope.get("metrics", [])
    ]


def _envelopes(body: bytes) -> list[dict[str, Any]]:
    """Application Insights' ingestion body: a JSON array, or one JSON object per line."""
    text = body.decode()
    try:
        parsed = json.loads(text)
    except ValueError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return parsed if isinstance(parsed, list) else [parsed]


def _decompress(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body


class _Handler(KeepAliveHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        body = _decompress(raw, (self.headers.get("Content-Encoding") or "").lower())
        path = self.path.split("?", 1)[0]
        headers = {k.lower(): v for k, v in self.headers.items()}
        store = self.server.store
        with store.lock:
            store.requests.append(Received(path, headers, body))
        if path == "/v1/traces":
            spans = _spans(body)
            with store.lock:
                store.spans.extend(spans)
            for span in spans:
                self.server.on_span(span)
            self._answer(ExportTraceServiceResponse().SerializeToString(), "application/x-protobuf")
        elif path == "/v1/metrics":
            metrics = _metrics(body)
            with store.lock:
                store.metrics.extend(metrics)
            self._answer(
                ExportMetricsServiceResponse().SerializeToString(), "application/x-protobuf"
            )
        elif path.endswith("/track"):
            envelopes = _envelopes(body)
            with store.lock:
                store.envelopes.extend(envelopes)
            accepted = {"itemsReceived": len(envelopes), "itemsAccepted": len(envelopes)}
            self._answer(json.dumps(accepted | {"errors": []}).encode(), "application/json")
        else:
            self._answer(b"", "text/plain", status=404)

    def _answer(self, body: bytes, content_type: str, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(TrackingHTTPServer):
    store: Store
    on_span: Callable[[ReceivedSpan], None]


class TelemetryReceiver:
    """`with TelemetryReceiver() as receiver:` serves on a free loopback port (or `port`)."""

    def __init__(
        self,
        port: int = 0,
        on_span: Callable[[ReceivedSpan], None] = lambda span: None,
        tls: tuple[str, str] | None = None,
    ) -> None:
        """`tls`: a certificate and key file to serve HTTPS (an Entra token is only ever sent
        over TLS, so Application Insights' ingestion with AAD needs it)."""
        self.store = Store()
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            self._scheme = "https"
        self._server.store = self.store
        self._server.on_span = on_span
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"{self._scheme}://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> TelemetryReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.close_open_connections()
        self._server.server_close()

    def __enter__(self) -> TelemetryReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def spans(self) -> list[ReceivedSpan]:
        with self.store.lock:
            return list(self.store.spans)

    def metric_names(self) -> set[str]:
        with self.store.lock:
            return {metric["name"] for metric in self.store.metrics}

    def envelopes(self) -> list[dict[str, Any]]:
        with self.store.lock:
            return list(self.store.envelopes)

    def requests(self, path: str | None = None) -> list[Received]:
        with self.store.lock:
            return [r for r in self.store.requests if path is None or r.path == path]


def _print_span(span: ReceivedSpan) -> None:
    facts = " ".join(f"{k}={v}" for k, v in sorted(span.attributes.items()))
    print(f"{span.name} [{span.kind.removeprefix('SPAN_KIND_').lower()}] {facts}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    receiver = TelemetryReceiver(args.port, on_span=_print_span).start()
    print(f"receiving OTLP/HTTP at {receiver.url} (Ctrl-C stops)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        receiver.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
