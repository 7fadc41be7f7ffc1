"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.pool import NullPool

POSTGRES_URL_ENV = "MIDFLIGHT_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL of an empty database, once per backend.

    ``sqlite``: a file in the test's tmp dir. ``postgres``: a fresh schema in the database at
    $MIDFLIGHT_TEST_POSTGRES_URL (skipped when unset), first on the search path of every
    connection made from the URL and dropped after the test. Dispose of stores before the test
    ends so that no connection is left inside it.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'midflight.db'}"
        return
    base = os.environ.get(POSTGRES_URL_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_URL_ENV} is not set; PostgreSQL tests skipped")
    schema = f"mf_{uuid.uuid4().hex}"
    admin = sqlalchemy.create_engine(base, poolclass=NullPool)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = sqlalchemy.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
