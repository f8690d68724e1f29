"""The run scope `shared.web.handle` opens around a run: telemetry decided (and its pipeline
configured, once) from the settings on the first run of the process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from shared import wiring
from shared.telemetry.recorder import RunRecorder, TraceParent


@contextmanager
def run_scope(function: str, trace: TraceParent) -> Iterator[RunRecorder]:
    with wiring.telemetry().run(function, trace) as recorder:
        yield recorder
