"""Fixtures of the migration suite: an Engine on every backend with a clock tests move."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

pytest.register_assert_rewrite("tests.change.migration._support")

from tests.conformance.harness import Clock  # noqa: E402

from midflight import Engine  # noqa: E402


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def engine(store_url: str, clock: Clock) -> Iterator[Engine]:
    """An Engine on an empty database (a file for SQLite, so batch threads can share it), once
    on SQLite and once on PostgreSQL."""
    with Engine(store_url, clock=clock) as engine:
        yield engine
