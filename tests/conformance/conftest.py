from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from tests.conformance.harness import Clock

from midflight import Engine


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def engine(store_url: str, clock: Clock) -> Iterator[Engine]:
    with Engine(store_url, clock=clock) as engine:
        yield engine
