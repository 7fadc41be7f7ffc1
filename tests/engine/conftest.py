"""Fixtures of the engine-core suite: an Engine on every backend, with a clock tests move."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from midflight.engine import Engine

from ._support import Clock


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
