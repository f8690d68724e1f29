"""The process's telemetry pipeline, configured once, by the app itself, on the first invocation
that needs it (never at import time: indexing stays light and a bad setting cannot break it).

- `APPLICATIONINSIGHTS_CONNECTION_STRING` set: the Azure Monitor distro
  (`configure_azure_monitor`) exports spans and metrics to Application Insights; it reads
  `APPLICATIONINSIGHTS_AUTHENTICATION_STRING` itself to authenticate with the managed identity.
- `OTEL_EXPORTER_OTLP_ENDPOINT` set: OTLP over HTTP with protobuf, to any OpenTelemetry
  collector; the exporters, processors and readers read the standard `OTEL_*` variables
  (`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_BSP_SCHEDULE_DELAY`, `OTEL_METRIC_EXPORT_INTERVAL`, ...).
- Both set: one pipeline exporting to both.

Logs are not exported here: the Functions host already ships the worker's log records to
Application Insights, and a second handler would send each twice. The distro's automatic
instrumentations are off: this app's own spans (`shared.telemetry.live`) cover its calls, and the
requests/urllib3/azure-core ones would add a second span for each. The Functions worker must not
configure a pipeline of its own (`PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY` unset or false).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from typing import Any

from shared.settings import Settings
from shared.telemetry import names as n

logger = logging.getLogger(__name__)

# The distro's automatic instrumentations, all off (see the module's docstring).
DISTRO_INSTRUMENTATIONS = (
    "azure_sdk",
    "django",
    "fastapi",
    "flask",
    "psycopg2",
    "requests",
    "urllib",
    "urllib3",
)

_lock = threading.Lock()
_configured: list[str] = []  # the exporters the process configured, once


def configure_once(
    settings: Settings,
    *,
    span_processors: Sequence[Any] = (),
    metric_readers: Sequence[Any] = (),
) -> bool:
    """Install the process's providers from `settings`, the first time only. Returns whether
    this call configured them. `span_processors` and `metric_readers` join the pipeline beside
    the exporters (as the distro's own arguments of those names)."""
    with _lock:
        if _configured or not settings.telemetry_exporters:
            return False
        _configure(settings, list(span_processors), list(metric_readers))
        _configured.extend(settings.telemetry_exporters)
    logger.info("telemetry configured: exporting to %s", " and ".join(_configured))
    return True


def configured() -> tuple[str, ...]:
    """The exporters this process configured (empty: telemetry off, or not yet on)."""
    return tuple(_configured)


def _configure(settings: Settings, processors: list[Any], readers: list[Any]) -> None:
    if settings.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        processors.append(BatchSpanProcessor(OTLPSpanExporter()))
        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    if settings.appinsights_connection_string:
        from azure.monitor.opentelemetry import configure_azure_monitor

        # Every run, unless OTEL_TRACES_SAMPLER says otherwise: the distro's own default is a
        # rate limit (5 traces a second) that can drop runs, and users come to see each run.
        sampling = {} if os.environ.get("OTEL_TRACES_SAMPLER") else {"sampling_ratio": 1.0}
        # No log exporter (see above). The distro reads this switch from the environment only:
        # its `disable_logging` argument is overwritten by OTEL_LOGS_EXPORTER's default.
        os.environ.setdefault("OTEL_LOGS_EXPORTER", "none")
        configure_azure_monitor(
            **sampling,
            connection_string=settings.appinsights_connection_string,
            enable_live_metrics=False,
            instrumentation_options={name: {"enabled": False} for name in DISTRO_INSTRUMENTATIONS},
            span_processors=processors,
            metric_readers=readers,
        )
        return
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider

    resource = Resource.create(
        {SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME") or n.DEFAULT_SERVICE_NAME}
    )
    tracer_provider = TracerProvider(resource=resource)
    for processor in processors:
        tracer_provider.add_span_processor(processor)
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=readers, resource=resource))
