"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.pool import NullPool

from midflight.store import Store
from midflight.store.schema import metadata

POSTGRES_URL_ENV = "MIDFLIGHT_TEST_POSTGRES_URL"


def _postgres_base() -> str:
    base = os.environ.get(POSTGRES_URL_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_URL_ENV} is not set; PostgreSQL tests skipped")
    return base


def _schema_url(base: str, schema: str) -> str:
    url = sqlalchemy.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def _postgres_schema() -> Iterator[tuple[sqlalchemy.Engine, str]]:
    """One migrated schema for the whole run; tests empty it instead of creating their own
    (creating ~40 tables and indexes per test cost most of the PostgreSQL run)."""
    base = _postgres_base()
    schema = f"mf_{uuid.uuid4().hex}"
    admin = sqlalchemy.create_engine(base, poolclass=NullPool)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = _schema_url(base, schema)
    Store(url).dispose()  # brings the schema to the head revision
    engine = sqlalchemy.create_engine(url, poolclass=NullPool)
    try:
        yield engine, url
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL of an empty database (at the head schema), once per backend.

    ``sqlite``: a file in the test's tmp dir. ``postgres``: a schema in the database at
    $MIDFLIGHT_TEST_POSTGRES_URL (skipped when unset), first on the search path of every
    connection made from the URL, shared by the run and emptied before each test. Dispose of
    stores before the test ends so that no connection is left inside it.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'midflight.db'}"
        return
    engine, url = request.getfixturevalue("_postgres_schema")
    tables = ", ".join(f'"{t}"' for t in metadata.tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY")
    yield url


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database with no tables at all, once per backend (for schema tests)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    base = _postgres_base()
    schema = f"mf_{uuid.uuid4().hex}"
    admin = sqlalchemy.create_engine(base, poolclass=NullPool)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield _schema_url(base, schema)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
