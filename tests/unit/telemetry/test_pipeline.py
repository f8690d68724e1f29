"""Which settings turn telemetry on, and the recorders it runs with when they do not."""

from __future__ import annotations

import pytest

from shared.settings import load_settings
from shared.telemetry.recorder import NO_RUN, OFF, TraceParent, current_run

CONNECTION = "InstrumentationKey=00000000-0000-0000-0000-000000000000"


@pytest.mark.parametrize(
    ("env", "exporters"),
    [
        ({}, ()),
        ({"APPLICATIONINSIGHTS_CONNECTION_STRING": CONNECTION}, ("Azure Monitor",)),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, ("OTLP",)),
        (
            {
                "APPLICATIONINSIGHTS_CONNECTION_STRING": CONNECTION,
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
            },
            ("Azure Monitor", "OTLP"),
        ),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "  ", "APPLICATIONINSIGHTS_CONNECTION_STRING": ""}, ()),
    ],
)
def test_each_setting_turns_telemetry_on(env: dict[str, str], exporters: tuple[str, ...]):
    assert load_settings(env).telemetry_exporters == exporters


def test_the_connection_string_is_never_in_the_settings_repr():
    settings = load_settings({"APPLICATIONINSIGHTS_CONNECTION_STRING": CONNECTION})
    assert CONNECTION not in repr(settings)


def test_off_every_recorder_is_a_no_op_and_no_run_is_current():
    with OFF.run("chat_run", TraceParent("00-" + "1" * 32 + "-" + "2" * 16 + "-01")) as run:
        assert run is NO_RUN and current_run() is NO_RUN
        run.describe("chat", "gpt-4o")
        run.answered(model="m", input_tokens=1, output_tokens=2, finish_reasons=["stop"])
        run.finish(200, None)
        assert run.deployment is None and run.operation is None
    with OFF.attempt("POST", "https://x/openai/v1/responses", 1) as attempt:
        attempt.answered(429, "id")
    assert OFF.table_policies() == []
