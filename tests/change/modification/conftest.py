"""Fixtures of the modification suite: an Engine on every backend with a clock tests move."""

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
    """An Engine on an empty database, once on SQLite and once on PostgreSQL."""
    with Engine(store_url, clock=clock) as engine:
        yield engine
