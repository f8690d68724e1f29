"""Telemetry: one OpenTelemetry span per run, child spans per call to Azure and to Table storage,
and GenAI token and duration metrics (docs/operations.md#telemetry, docs/design.md §12).

Off unless `APPLICATIONINSIGHTS_CONNECTION_STRING` or `OTEL_EXPORTER_OTLP_ENDPOINT` is set; off, the
app imports no OpenTelemetry module and every recorder is a no-op. The modules:
- `names`: every span, attribute and metric name (no OpenTelemetry import);
- `recorder`: what runs and calls tell telemetry, and the no-op recorders (no import either);
- `pipeline`: the process's exporters (Azure Monitor, OTLP), configured once, on first use;
- `live`: the recorders that make spans and metric points.
No prompt, completion, embedding, key or token is ever an attribute: recorders take counts, ids,
names and error codes only.
"""
