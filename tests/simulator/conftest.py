"""Each simulator test gets a fresh simulator of its own (not the session one the app tests
share), with the default settings."""

from collections.abc import Iterator

import pytest

from local.simulator import Simulator


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        yield simulator
