"""The tests' view of the app's telemetry: the pipeline the app configures, with the SDK's
in-memory span exporter and metric reader beside its OTLP exporters (which send to a loopback
OTLP receiver). OpenTelemetry's providers are set once per process, so the pipeline is the
session's; a test turns telemetry on for the app with the `telemetry` fixture (the app setting
`OTEL_EXPORTER_OTLP_ENDPOINT`), and every other test runs with it off."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    HistogramDataPoint,
    InMemoryMetricReader,
    NumberDataPoint,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from local.otlp import TelemetryReceiver
from shared.settings import load_settings
from shared.telemetry import names as n
from shared.telemetry import pipeline


@dataclass(frozen=True)
class Point:
    """One metric point: a counter's value, or a histogram's count and sum."""

    attributes: dict[str, Any]
    value: float  # a counter's sum, or a histogram's sum
    count: int | None = None  # a histogram's count


@dataclass
class Telemetry:
    receiver: TelemetryReceiver
    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader

    def clear(self) -> None:
        self.exporter.clear()
        self.points()  # delta temporality: collecting drains what earlier tests recorded

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def span(self, name: str) -> ReadableSpan:
        (found,) = [span for span in self.spans() if span.name == name]
        return found

    def points(self) -> dict[str, list[Point]]:
        """The app's metric points recorded since the last call, by metric name."""
        data = self.reader.get_metrics_data()
        found: dict[str, list[Point]] = {}
        for resource_metrics in data.resource_metrics if data else ():
            for scope in resource_metrics.scope_metrics:
                if scope.scope.name != n.INSTRUMENTATION_SCOPE:
                    continue
                for metric in scope.metrics:
                    for point in metric.data.data_points:
                        attributes = dict(point.attributes or {})
                        if isinstance(point, HistogramDataPoint):
                            if point.count:
                                found.setdefault(metric.name, []).append(
                                    Point(attributes, point.sum, point.count)
                                )
                        elif isinstance(point, NumberDataPoint) and point.value:
                            found.setdefault(metric.name, []).append(Point(attributes, point.value))
        return found


DELTA: dict[type, AggregationTemporality] = {
    Counter: AggregationTemporality.DELTA,
    Histogram: AggregationTemporality.DELTA,
}


def session_pipeline(monkeypatch: Any) -> Iterator[Telemetry]:
    """Configure the app's pipeline for the session: OTLP to a loopback receiver, plus the
    in-memory exporter and reader. Fails if something configured telemetry before."""
    receiver = TelemetryReceiver().start()
    exporter = InMemorySpanExporter()
    reader = InMemoryMetricReader(preferred_temporality=DELTA)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    settings = load_settings({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url})
    configured = pipeline.configure_once(
        settings, span_processors=[SimpleSpanProcessor(exporter)], metric_readers=[reader]
    )
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT")
    assert configured, "telemetry was configured before the session's pipeline"
    try:
        yield Telemetry(receiver, exporter, reader)
    finally:
        provider = trace.get_tracer_provider()
        meter_provider = metrics.get_meter_provider()
        if isinstance(provider, TracerProvider):
            provider.shutdown()
        if isinstance(meter_provider, MeterProvider):
            meter_provider.shutdown()
        receiver.stop()
