"""Fixtures of the engine-core suite: an Engine on every backend, with a clock tests move."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from midflight.engine import Engine

START = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)


class Clock:
    """A controllable engine clock: ``Engine(url, clock=clock)``; tests call ``advance``."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta | None = None, **parts: float) -> datetime:
        """Move time forward by ``delta`` or by ``timedelta(**parts)``; returns the new now."""
        self.now += delta if delta is not None else timedelta(**parts)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine(store_url: str, clock: Clock) -> Iterator[Engine]:
    """An Engine on an empty database, once on SQLite and once on PostgreSQL."""
    eng = Engine(store_url, clock=clock)
    try:
        yield eng
    finally:
        eng.close()
