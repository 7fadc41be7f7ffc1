"""The Store: engine setup, migrations on open, and the row operations of one transaction.

Rows are plain dicts, column name to Python value, exactly the fields of the runtime records.
Updates and deletes are guarded by ``revision`` (optimistic locking): a row whose revision moved
on since it was read raises ``ConcurrentModificationError``. SQLAlchemy errors never leave this
module: they become Midflight errors at the layer boundary, in ``Store.transaction``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    Delete,
    FromClause,
    Insert,
    Integer,
    Select,
    String,
    Table,
    Text,
    Update,
    any_,
    bindparam,
    case,
    create_engine,
    event,
    exists,
    func,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import URL, Connection, CursorResult, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError, StatementError
from sqlalchemy.pool import StaticPool

from midflight.errors import (
    ConcurrentModificationError,
    InvalidArgumentError,
    MidflightError,
    ProcessEngineError,
)
from midflight.store.schema import (
    LIVE_TABLES,
    RECORD_TABLE_ORDER,
    ExactJson,
    JsonText,
    UtcDateTime,
    element_instances,
    event_subscriptions,
    exact_json_text,
    history,
    incidents,
    jobs,
    join_tokens,
    json_dumps,
    json_loads,
    metadata,
    operation_items,
    process_definitions,
    process_instances,
    record_columns,
    utc_from_sqlite_text,
    utc_sqlite_text,
)

__all__ = ["DEFAULT_URL", "HEAD_REVISION", "Store", "StoreTransaction"]

DEFAULT_URL = "sqlite:///./midflight.db"

#: The newest migration in migrations/versions. Opening a database already at this revision
#: skips Alembic altogether (importing it alone costs ~0.2 s); a test keeps it in step.
HEAD_REVISION = "0004"

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Values of runtime enums that the queries below depend on. The store may not import
# midflight.runtime, so they are repeated here; tests/store checks that they still match.
RUNNING_INSTANCE_STATES = ("ACTIVE", "SUSPENDED")  # ProcessInstanceState
INSTANCE_SUSPENDED = "SUSPENDED"
WORKER_JOB_KINDS = ("TASK", "LISTENER")  # JobKind: the jobs workers fetch and lock
JOB_KIND_ASYNC = "ASYNC"
JOB_ACTIVATABLE = "ACTIVATABLE"  # JobState
JOB_ACTIVATED = "ACTIVATED"

# Key of the PostgreSQL advisory lock that lets one process at a time migrate a database.
_MIGRATION_LOCK_KEY = 0x4D49_4446_4C54  # "MIDFLT"
# Execution option read by the SQLite "begin" hook: a read-only transaction needs no write lock.
_READ_ONLY = "midflight_read_only"

_TABLES: dict[str, Table] = dict(metadata.tables)
_TABLE_RANK = {name: rank for rank, name in enumerate(RECORD_TABLE_ORDER)}
_by_id = itemgetter("id")
_S = TypeVar("_S", Insert, Update, Delete, Select[Any])


def _table(name: str) -> Table:
    try:
        return _TABLES[name]
    except KeyError:
        raise InvalidArgumentError(f"unknown table {name!r}") from None


def _rank(name: str) -> int:
    try:
        return _TABLE_RANK[name]
    except KeyError:
        raise InvalidArgumentError(f"{name!r} is not a table of process instance state") from None


def _statement(statements: Mapping[str, _S], table: str, verb: str) -> _S:
    try:
        return statements[table]
    except KeyError:
        _table(table)
        raise InvalidArgumentError(f"cannot {verb} rows of {table!r}") from None


# -- statements of the hot path, built once (SQLAlchemy then caches their compiled form) --------
def _update_statement(table: Table) -> Update:
    # The WHERE parameters cannot be named like columns: SQLAlchemy reserves those names for SET.
    values: dict[str, Any] = {
        c.name: bindparam(c.name, type_=c.type)
        for c in table.columns
        if c.name not in ("id", "revision")
    }
    values["revision"] = table.c.revision + 1
    return (
        table.update()
        .where(table.c.id == bindparam("_id"), table.c.revision == bindparam("_revision"))
        .values(values)
    )


def _delete_statement(table: Table) -> Delete:
    return table.delete().where(
        table.c.id == bindparam("id"), table.c.revision == bindparam("revision")
    )


def _get_statement(table: Table) -> Select[Any]:
    return select(*record_columns(table)).where(table.c.id == bindparam("id"))


_INSERT: dict[str, Insert] = {name: table.insert() for name, table in _TABLES.items()}
_UPDATE: dict[str, Update] = {
    name: _update_statement(_TABLES[name])
    for name in (*RECORD_TABLE_ORDER, "operations", "operation_items")
}
_DELETE: dict[str, Delete] = {name: _delete_statement(_TABLES[name]) for name in RECORD_TABLE_ORDER}
_GET: dict[str, Select[Any]] = {name: _get_statement(table) for name, table in _TABLES.items()}
_GET_INSTANCE_FOR_UPDATE = _GET["process_instances"].with_for_update()  # no-op on SQLite
_LOAD_LIVE: dict[str, Select[Any]] = {
    name: select(_TABLES[name]).where(
        _TABLES[name].c.process_instance_id == bindparam("process_instance_id")
    )
    for name in LIVE_TABLES
}


@lru_cache(maxsize=16)
def _find_definition_statement(
    by_version: bool, by_tag: bool, names: tuple[str, ...] | None
) -> Select[Any]:
    d = process_definitions
    conditions = [d.c.key == bindparam("key")]
    if by_version:
        conditions.append(d.c.version == bindparam("version"))
    if by_tag:
        conditions.append(d.c.version_tag == bindparam("version_tag"))
    # Without the XML: every start looks its definition up, and the model is parsed once.
    columns = [c for c in d.columns if c.name != "xml" and (names is None or c.name in names)]
    return select(*columns).where(*conditions).order_by(d.c.version.desc()).limit(1)


# The live tables other than element_instances (which a live instance always has rows in):
# one query says which of them hold rows of the instance, so loading skips the empty ones.
_SPARSE_LIVE = tuple(name for name in LIVE_TABLES if name != "element_instances")


def _has_rows(name: str, instance_id: ColumnElement[Any]) -> ColumnElement[bool]:
    return exists().where(_TABLES[name].c.process_instance_id == instance_id).label(f"has_{name}")


_LIVE_PROBE = select(*(_has_rows(name, bindparam("process_instance_id")) for name in _SPARSE_LIVE))


def _load_instance_statement(owner: str | None, probe: bool) -> Select[Any]:
    """A command's first read: the instance row, locked, with the probe in the same query if
    ``probe``. ``owner``: the instance is the one owning the row ``row_id`` of that table (a
    task, a job, an incident), found in the same query."""
    p = process_instances
    if owner is None:
        instance_id: ColumnElement[Any] = bindparam("process_instance_id")
    else:
        t = _TABLES[owner]
        owned = select(t.c.process_instance_id).where(t.c.id == bindparam("row_id"))
        instance_id = owned.scalar_subquery()
    probes = [_has_rows(name, p.c.id) for name in _SPARSE_LIVE] if probe else []
    return select(*record_columns(p), *probes).where(p.c.id == instance_id).with_for_update()


# (owner table, probe in the same query) -> statement. PostgreSQL probes after taking the lock:
# a query that waited for the row lock re-reads the row, but its subqueries keep the snapshot
# taken before the wait, and would miss the rows the lock holder committed.
_LOAD_INSTANCE = {
    (owner, probe): _load_instance_statement(owner, probe)
    for owner in (None, "user_tasks", "jobs", "incidents")
    for probe in (False, True)
}


@lru_cache(maxsize=64)
def _listing(table_name: str, columns: tuple[str, ...], limited: bool) -> Select[Any]:
    """``table`` rows whose ``columns`` equal bind parameters of the same names, oldest first.

    Built once per combination of filters, so a listing costs what a lookup by id does.
    """
    t = _TABLES[table_name]
    query = select(t).where(*(t.c[name] == bindparam(name) for name in columns))
    if (
        table_name == "user_tasks"
        and "element_id" in columns
        and "process_instance_id" not in columns
    ):
        # user_tasks has no index of its own on element_id (every task would write one more
        # entry): the live element instances' (element_id, state) index finds the instances,
        # and the tasks' process_instance_id index their tasks.
        e = element_instances
        at_element = select(e.c.process_instance_id).where(
            e.c.element_id == bindparam("element_id")
        )
        query = query.where(t.c.process_instance_id.in_(at_element))
    query = query.order_by(t.c.created_at, t.c.id)
    return query.limit(bindparam("_limit", type_=Integer)) if limited else query


def _list_rows(
    tx: StoreTransaction, table: str, filters: Mapping[str, Any], limit: int | None
) -> list[dict[str, Any]]:
    params = {name: value for name, value in filters.items() if value is not None}
    if limit is not None:
        params["_limit"] = limit
    columns = tuple(n for n in filters if n in params)
    statement = _listing(table, columns, limit is not None)
    return tx._fetch(f"listing:{table}:{columns}:{limit is not None}", statement, params)


def _update_params(row: Mapping[str, Any]) -> dict[str, Any]:
    params = dict(row)
    params["_id"] = params.pop("id")
    params["_revision"] = params.pop("revision")
    return params


def _dicts(result: CursorResult[Any]) -> list[dict[str, Any]]:
    # zip over plain tuples: several times faster than Row._asdict() on big results.
    keys = tuple(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result.fetchall()]


def _first(result: CursorResult[Any]) -> dict[str, Any] | None:
    row = result.first()
    return None if row is None else row._asdict()


def _stale(table: str, rows: Sequence[Mapping[str, Any]]) -> ConcurrentModificationError:
    ids = ", ".join(row["id"] for row in rows)
    return ConcurrentModificationError(
        f"{table} {ids}: changed or deleted by another transaction since it was read"
    )


def _packed_history(first: Sequence[Any], events: list[list[Any]]) -> dict[str, Any]:
    """The history row of one instance's consecutive events (``first`` the first of them)."""
    return {
        "id": first[0],
        "process_instance_id": first[1],
        "timestamp": first[2],
        "events": JsonText(json_dumps(events)),
    }


def _stored(table: str, rows: Sequence[Mapping[str, Any]]) -> Sequence[Mapping[str, Any]]:
    """``rows`` less the root element instances, which have no row of their own."""
    if table != "element_instances":
        return rows
    return [row for row in rows if row["parent_id"] is not None]


def _equals(table: Table, filters: Mapping[str, Any]) -> list[ColumnElement[bool]]:
    """``column = value`` for each filter that is set (None means "any")."""
    return [table.c[name] == value for name, value in filters.items() if value is not None]


class _RowPlan:
    """A driver-level statement and how to turn row dicts into its parameter tuples."""

    __slots__ = ("conversions", "getter", "sql")

    def __init__(self, sql: str, names: Sequence[str], converters: Mapping[str, Any]) -> None:
        self.sql = sql
        self.getter = itemgetter(*names)
        # (position, converter) of the parameters that need one: the rest pass as they are.
        self.conversions = [
            (i, converters[name]) for i, name in enumerate(names) if converters.get(name)
        ]

    def parameters(self, table: str, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        getter, conversions = self.getter, self.conversions
        try:
            if not conversions:
                return [getter(row) for row in rows]
            params = []
            for row in rows:
                values = list(getter(row))
                for i, convert in conversions:
                    if values[i] is not None:
                        values[i] = convert(values[i])
                params.append(values)
            return params
        except (ValueError, TypeError) as exc:
            raise InvalidArgumentError(f"cannot store a row of {table}: {exc}") from exc


_FAST_INSERTS: dict[tuple[str, str], _RowPlan] = {}


def _fast_insert_plan(dialect: Any, table: Table) -> _RowPlan:
    """The driver-level INSERT of ``table``'s record columns."""
    columns = record_columns(table)
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {table.name} ({', '.join(c.name for c in columns)}) "
        f"VALUES ({', '.join(marker for _ in columns)})"
    )
    return _RowPlan(sql, [c.name for c in columns], _converters(dialect, table))


def _converters(dialect: Any, table: Table) -> dict[str, Any]:
    return {c.name: _bind_converter(dialect, c) for c in record_columns(table)}


def _bind_converter(dialect: Any, column: ColumnElement[Any]) -> Any:
    """What turns a column's Python value into the driver's: the column type's own bind
    processing, done directly for the two types every command writes (tests/store pins them to
    SQLAlchemy's)."""
    kind = type(column.type)
    if kind is ExactJson:
        return exact_json_text
    if kind is UtcDateTime and dialect.name == "sqlite":
        return utc_sqlite_text
    # dialect_impl: the dialect's own type (a TypeDecorator's copy wraps it), whose processors
    # are the ones SQLAlchemy itself would run.
    return column.type.dialect_impl(dialect).bind_processor(dialect)


def _result_converter(dialect: Any, column: ColumnElement[Any], dbapi_type: Any) -> Any:
    kind = type(column.type)
    if kind is ExactJson:
        return json_loads
    if kind is UtcDateTime and dialect.name == "sqlite":
        return utc_from_sqlite_text
    return column.type.dialect_impl(dialect).result_processor(dialect, dbapi_type)


_FAST_GUARDED: dict[tuple[str, str, str, tuple[str, ...] | None], _RowPlan] = {}
_FAST_SELECTS: dict[tuple[str, str], list[Any]] = {}


def _select_plan(dialect: Any, statement: Select[Any]) -> list[Any]:
    """[sql, the values the statement binds itself (a LIMIT, a constant), bind names in order
    (None: named), column names, processors]."""
    compiled = statement.compile(dialect=dialect)
    order = list(compiled.positiontup or []) if dialect.positional else None
    names = [c.key for c in statement.selected_columns]
    return [str(compiled), compiled.construct_params(_check=False), order, names, None]


def _result_processors(dialect: Any, statement: Select[Any], cursor: Any) -> list[Any]:
    description = cursor.description or []
    return [
        _result_converter(dialect, column, described[1])
        for column, described in zip(statement.selected_columns, description, strict=True)
    ]


def _guarded_plan(
    dialect: Any, table: Table, kind: str, columns: tuple[str, ...] | None
) -> _RowPlan:
    """Driver-level UPDATE (of ``columns``, default all record columns) or DELETE, guarded by
    id and revision."""
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    where = f"WHERE id = {marker} AND revision = {marker}"
    converters = _converters(dialect, table)
    if kind == "delete":
        return _RowPlan(f"DELETE FROM {table.name} {where}", ("id", "revision"), converters)
    if columns is None:
        columns = tuple(name for name in converters if name not in ("id", "revision"))
    unknown = set(columns) - set(converters)
    if unknown:  # checked once: plans are cached per column set
        raise InvalidArgumentError(f"{table.name} has no columns {sorted(unknown)}")
    assignments = "".join(f"{name} = {marker}, " for name in columns)
    sql = f"UPDATE {table.name} SET {assignments}revision = revision + 1 {where}"
    return _RowPlan(sql, (*columns, "id", "revision"), converters)


class StoreTransaction:
    """The row operations of one database transaction. Obtain it from ``Store.transaction()``."""

    __slots__ = ("_conn", "_cursor", "_savepoints")

    def __init__(self, connection: Connection) -> None:
        self._conn = connection
        self._cursor: Any = None  # the driver cursor of the hot path, made on first use
        self._savepoints = 0  # SQLite: how many of this transaction's savepoints are open

    # -- the driver path: precompiled SQL on the raw cursor, for the per-command hot path -----
    def _raw(self, sql: str, params: Sequence[Any], *, many: bool = False) -> Any:
        """Run ``sql`` on the driver's cursor (SQLAlchemy's own per-statement machinery costs
        more than SQLite itself on small statements); driver errors are translated."""
        cursor = self._cursor
        if cursor is None:
            cursor = self._cursor = self._conn.connection.cursor()
        try:
            if many:
                cursor.executemany(sql, params)
            else:
                cursor.execute(sql, params)
        except self._conn.dialect.loaded_dbapi.Error as exc:
            raise _translate(DBAPIError.instance(sql, params, exc, DBAPIError)) from exc
        return cursor

    def _fetch(
        self, key: str, statement: Select[Any], params: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """Rows of a prebuilt SELECT, compiled once per dialect, through the driver."""
        dialect = self._conn.dialect
        plan = _FAST_SELECTS.get((dialect.name, key))
        if plan is None:
            plan = _FAST_SELECTS[(dialect.name, key)] = _select_plan(dialect, statement)
        sql, defaults, order, names, processors = plan
        args: Any
        if order is not None:
            args = tuple([params[n] if n in params else defaults[n] for n in order])
        else:
            args = {n: params.get(n, value) for n, value in defaults.items()}
        cursor = self._raw(sql, args)
        rows = cursor.fetchall()
        if processors is None:
            processors = plan[4] = _result_processors(dialect, statement, cursor)
        if not any(processors):  # plain columns: no conversion to apply per value
            return [dict(zip(names, row, strict=True)) for row in rows]
        return [
            {
                name: value if convert is None or value is None else convert(value)
                for name, value, convert in zip(names, row, processors, strict=True)
            }
            for row in rows
        ]

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: what happens inside is undone if the block raises."""
        conn = self._conn
        if conn.dialect.name != "sqlite":
            with conn.begin_nested():
                yield
            return
        # SQLite: SAVEPOINT and RELEASE straight to the driver, as BEGIN and COMMIT are
        # (SQLAlchemy's nested-transaction bookkeeping cost more than the command inside).
        name = f"midflight_{self._savepoints}"
        _sqlite_execute(conn, f"SAVEPOINT {name}")
        self._savepoints += 1
        try:
            yield
        except BaseException:
            if _driver(conn).in_transaction:  # an error may have ended the transaction
                _sqlite_execute(conn, f"ROLLBACK TO {name}")
                _sqlite_execute(conn, f"RELEASE {name}")
            raise
        finally:
            self._savepoints -= 1
        _sqlite_execute(conn, f"RELEASE {name}")

    @property
    def _postgres(self) -> bool:
        return self._conn.dialect.name == "postgresql"

    def _ids_param(self, ids: Sequence[str]) -> Any:
        """The value of the one parameter ``ids`` of the set-wise statements (``_in_ids``)."""
        return list(ids) if self._postgres else json.dumps(list(ids))

    # -- writes --------------------------------------------------------------------------------
    def insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            _table(table)
            self._insert_fast(table, rows)

    def _insert_fast(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """executemany through the driver with each column's own bind conversion: the same
        rows SQLAlchemy would write, without its per-row statement machinery (the hot path of
        every command: history alone is dozens of rows)."""
        dialect = self._conn.dialect
        key = (dialect.name, table)
        plan = _FAST_INSERTS.get(key)
        if plan is None:
            plan = _FAST_INSERTS[key] = _fast_insert_plan(dialect, _TABLES[table])
        self._raw(plan.sql, plan.parameters(table, rows), many=True)

    def update(
        self,
        table: str,
        rows: Sequence[Mapping[str, Any]],
        *,
        columns: Collection[str] | None = None,
    ) -> None:
        """Write ``rows``, each guarded by the ``revision`` it was read at, which goes up by one.

        ``columns``: write only these (the rows still need ``id`` and ``revision``); none at all
        only bumps the revision. Columns left alone cost no index writes.

        Raises ConcurrentModificationError if any row was changed or deleted since.
        """
        if rows:
            _statement(_UPDATE, table, "update")
            self._guarded("update", table, rows, None if columns is None else tuple(columns))

    def delete(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Delete ``rows``, each guarded by its ``revision``, like ``update``."""
        if rows:
            _statement(_DELETE, table, "delete")
            self._guarded("delete", table, rows)

    def _guarded(
        self,
        kind: str,
        table: str,
        rows: Sequence[Mapping[str, Any]],
        columns: tuple[str, ...] | None = None,
    ) -> None:
        # Driver-level executemany (as _insert_fast), every row guarded by its revision. An
        # executemany reports one total rowcount, and after it a row another transaction updated
        # once looks like one this batch updated: so several rows are first checked (and locked)
        # in one query that names a stale row exactly. Sorted, so concurrent transactions lock
        # shared rows in one order and cannot deadlock.
        dialect = self._conn.dialect
        key = (dialect.name, table, kind, columns)
        plan = _FAST_GUARDED.get(key)
        if plan is None:
            plan = _FAST_GUARDED[key] = _guarded_plan(dialect, _TABLES[table], kind, columns)
        ordered = sorted(rows, key=_by_id)
        if len(ordered) > 1:
            self._check_revisions(table, ordered)
        cursor = self._raw(plan.sql, plan.parameters(table, ordered), many=True)
        if cursor.rowcount != len(ordered):
            raise _stale(table, ordered)

    def _check_revisions(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        # An executemany reports one total rowcount, not which row missed; after it, a row that
        # another transaction updated once looks just like one this batch updated. So a batch
        # first reads its rows' revisions, locking them (PostgreSQL; on SQLite this transaction
        # holds the write lock already): one round trip that names a stale row exactly.
        t = _TABLES[table]
        query = (
            select(t.c.id, t.c.revision)
            .where(t.c.id.in_([row["id"] for row in rows]))
            .order_by(t.c.id)
            .with_for_update()
        )
        current = {id_: revision for id_, revision in self._conn.execute(query)}
        stale = [row for row in rows if current.get(row["id"]) != row["revision"]]
        if stale:
            raise _stale(table, stale)

    def insert_history(self, events: Sequence[Sequence[Any]]) -> None:
        """Append history events, each the tuple (id, process_instance_id, timestamp, event,
        element_instance_id, element_id, data) — a ``HistoryEvent``'s values, which the hot
        path passes without building a dict per event. Consecutive events of one instance are
        stored together in one row.
        (``_shared_history_statement`` writes the same packed form in SQL for set-wise
        migration: change both together.)"""
        packed = []
        first: Sequence[Any] | None = None
        group: list[list[Any]] = []
        for values in events:
            if first is None or first[1] != values[1]:
                if first is not None:
                    packed.append(_packed_history(first, group))
                first, group = values, []
            moment = values[2]
            group.append(
                [
                    values[0],
                    values[3],
                    values[4],
                    values[5],
                    values[6],
                    None if moment == first[2] else moment.isoformat(),
                ]
            )
        if first is not None:
            packed.append(_packed_history(first, group))
            self._insert_fast("history", packed)

    def apply(
        self,
        inserts: Mapping[str, Sequence[Mapping[str, Any]]],
        updates: Mapping[str, Sequence[Mapping[str, Any]]],
        deletes: Mapping[str, Sequence[Mapping[str, Any]]],
    ) -> None:
        """Write a command's changes: updates, then deletes, then inserts, tables in one order.

        The root element instance of a process instance (the one without a parent) is no row:
        the process instance row stands for it (``root_element_instance`` in the runtime), so
        rows of it are passed over.

        Updates and deletes come first because they are what can fail on a concurrent change,
        and failing before the inserts wastes less work; a fixed table order makes concurrent
        transactions lock rows in the same order.
        """
        for name in sorted(updates, key=_rank):
            self.update(name, _stored(name, updates[name]))
        for name in sorted(deletes, key=_rank):
            self.delete(name, _stored(name, deletes[name]))
        for name in sorted(inserts, key=_rank):
            self.insert(name, _stored(name, inserts[name]))

    # -- process instance state ---------------------------------------------------------------
    def get_process_instance(self, id: str) -> dict[str, Any] | None:
        found = self._fetch("get:process_instances", _GET["process_instances"], {"id": id})
        return found[0] if found else None

    def get_process_instance_for_update(self, id: str) -> dict[str, Any] | None:
        """The instance row, locked until the transaction ends (on SQLite the write transaction
        already excludes every other writer)."""
        found = self._fetch("get_for_update", _GET_INSTANCE_FOR_UPDATE, {"id": id})
        return found[0] if found else None

    def load_instance_rows(self, process_instance_id: str) -> dict[str, list[dict[str, Any]]]:
        """Every live row of the instance, by table (the instance row itself excluded)."""
        params = {"process_instance_id": process_instance_id}
        [probe] = self._fetch("live_probe", cast(Select[Any], _LIVE_PROBE), params)
        return self._live_rows(params, probe)

    def load_instance(
        self, id: str, *, owning: str | None = None
    ) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]] | None:
        """The instance row, locked until the transaction ends (on SQLite the write transaction
        already excludes every other writer), and its live rows as ``load_instance_rows``
        gives them; None if there is no such instance.

        ``owning``: ``id`` is the id of a row of this table (``user_tasks``, ``jobs`` or
        ``incidents``) and the instance is the one it belongs to; None if there is no such row.
        """
        probe_with_lock = not self._postgres
        statement = _LOAD_INSTANCE.get((owning, probe_with_lock))
        if statement is None:
            raise InvalidArgumentError(f"instances are not loaded by rows of {owning!r}")
        key = "row_id" if owning else "process_instance_id"
        found = self._fetch(f"load_instance:{owning}:{probe_with_lock}", statement, {key: id})
        if not found:
            return None
        row = found[0]
        if not probe_with_lock:
            return row, self.load_instance_rows(row["id"])
        probe = {f"has_{name}": row.pop(f"has_{name}") for name in _SPARSE_LIVE}
        return row, self._live_rows({"process_instance_id": row["id"]}, probe)

    def _live_rows(
        self, params: Mapping[str, Any], probe: Mapping[str, Any]
    ) -> dict[str, list[dict[str, Any]]]:
        return {
            name: self._fetch(f"load:{name}", statement, params)
            if name == "element_instances" or probe[f"has_{name}"]
            else []
            for name, statement in _LOAD_LIVE.items()
        }

    def get_row(self, table: str, id: str) -> dict[str, Any] | None:
        found = self._fetch(f"get:{table}", _statement(_GET, table, "get"), {"id": id})
        return found[0] if found else None

    # -- definitions --------------------------------------------------------------------------
    def insert_definition(self, row: Mapping[str, Any]) -> None:
        self._conn.execute(_INSERT["process_definitions"], row)

    def get_definition(self, id: str) -> dict[str, Any] | None:
        return _first(self._conn.execute(_GET["process_definitions"], {"id": id}))

    def find_definition(
        self,
        key: str,
        version: int | None = None,
        version_tag: str | None = None,
        *,
        columns: tuple[str, ...] | None = None,
    ) -> dict[str, Any] | None:
        """The definition of ``key`` with that version and/or tag; the latest one when neither
        is given (or the latest with the tag, when only the tag is). Its row without ``xml``
        (``get_definition`` has that), or only ``columns`` of it (a start needs two)."""
        flags = (version is not None, version_tag is not None)
        statement = _find_definition_statement(*flags, columns)
        params = {"key": key, "version": version, "version_tag": version_tag}
        found = self._fetch(f"find_definition:{flags}:{columns}", statement, params)
        return found[0] if found else None

    def find_definition_by_checksum(self, key: str, checksum: str) -> dict[str, Any] | None:
        d = process_definitions
        query = (
            select(d)
            .where(d.c.key == key, d.c.checksum == checksum)
            .order_by(d.c.version.desc())
            .limit(1)
        )
        return _first(self._conn.execute(query))

    def max_version(self, key: str) -> int:
        """The highest version deployed for ``key``; 0 when there is none."""
        d = process_definitions
        query = select(func.coalesce(func.max(d.c.version), 0)).where(d.c.key == key)
        return int(self._conn.execute(query).scalar_one())

    def list_definitions(self, key: str | None = None) -> list[dict[str, Any]]:
        """Definitions by key and version, each with ``running_instances`` (active or suspended)."""
        d, p = process_definitions, process_instances
        running = (
            select(func.count())
            .where(p.c.definition_id == d.c.id, p.c.state.in_(RUNNING_INSTANCE_STATES))
            .scalar_subquery()
        )
        query = (
            select(d, running.label("running_instances"))
            .where(*_equals(d, {"key": key}))
            .order_by(d.c.key, d.c.version)
        )
        return _dicts(self._conn.execute(query))

    def set_definition_suspended(self, id: str, suspended: bool) -> bool:
        """Returns whether the definition exists."""
        d = process_definitions
        result = self._conn.execute(d.update().where(d.c.id == id).values(suspended=suspended))
        return result.rowcount > 0

    def delete_definition(self, id: str) -> bool:
        """Returns whether the definition existed."""
        d = process_definitions
        return self._conn.execute(d.delete().where(d.c.id == id)).rowcount > 0

    def count_instances(self, definition_id: str, states: Collection[str] | None = None) -> int:
        """Instances of the definition, in any of ``states`` (all of them when None)."""
        p = process_instances
        query = select(func.count()).select_from(p).where(p.c.definition_id == definition_id)
        if states is not None:
            query = query.where(p.c.state.in_(states))
        return int(self._conn.execute(query).scalar_one())

    # -- queries ------------------------------------------------------------------------------
    def list_user_tasks(
        self,
        process_instance_id: str | None = None,
        element_id: str | None = None,
        assignee: str | None = None,
        definition_id: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        filters = {
            "process_instance_id": process_instance_id,
            "element_id": element_id,
            "assignee": assignee,
            "definition_id": definition_id,
        }
        return _list_rows(self, "user_tasks", filters, limit)

    def list_process_instances(
        self,
        definition_id: str | None = None,
        definition_key: str | None = None,
        version: int | None = None,
        element_id: str | None = None,
        state: str | None = None,
        business_key: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        columns: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Instances matching every filter given, oldest first. ``element_id``: instances with a
        live element instance of that element. ``columns``: only these (e.g. just ids)."""
        p = process_instances
        filters = {
            "definition_id": definition_id,
            "definition_key": definition_key,
            "definition_version": version,
            "state": state,
            "business_key": business_key,
        }
        query = select(*([p.c[c] for c in columns] if columns else [p])).where(*_equals(p, filters))
        if element_id is not None:
            e = element_instances
            query = query.where(
                exists().where(e.c.process_instance_id == p.c.id, e.c.element_id == element_id)
            )
        query = query.order_by(p.c.started_at, p.c.id).limit(limit).offset(offset or None)
        return _dicts(self._conn.execute(query))

    def list_process_instance_ids(
        self,
        *,
        live_only: bool = False,
        after: str | None = None,
        limit: int | None = None,
        **filters: Any,
    ) -> list[str]:
        """The ids of the instances matching ``filters`` (the filters of
        ``list_process_instances``; ``live_only``: active or suspended), in id order, as plain
        strings. ``after`` and ``limit`` page through them by id (keyset pagination), so a
        selection of millions is read a page at a time."""
        p = process_instances
        element_id = filters.pop("element_id", None)
        columns = {"version": "definition_version"}
        query = select(p.c.id).where(
            *_equals(p, {columns.get(k, k): v for k, v in filters.items()})
        )
        if live_only:
            query = query.where(p.c.state.in_(RUNNING_INSTANCE_STATES))
        if element_id is not None:
            e = element_instances
            query = query.where(
                exists().where(e.c.process_instance_id == p.c.id, e.c.element_id == element_id)
            )
        if after is not None:
            query = query.where(p.c.id > after)
        return list(self._conn.execute(query.order_by(p.c.id).limit(limit)).scalars().all())

    def list_history(self, process_instance_id: str) -> list[dict[str, Any]]:
        """The instance's history events in the order they were written."""
        h = history
        query = (
            select(h.c.timestamp, h.c.events)
            .where(h.c.process_instance_id == process_instance_id)
            .order_by(h.c.seq)
        )
        events: list[dict[str, Any]] = []
        for timestamp, packed in self._conn.execute(query):
            for id_, name, element_instance_id, element_id, data, moment in packed:
                events.append(
                    {
                        "id": id_,
                        "process_instance_id": process_instance_id,
                        "timestamp": timestamp
                        if moment is None
                        else datetime.fromisoformat(moment),
                        "event": name,
                        "element_instance_id": element_instance_id,
                        "element_id": element_id,
                        "data": data,
                    }
                )
        return events

    def list_incidents(
        self,
        process_instance_id: str | None = None,
        definition_id: str | None = None,
        element_id: str | None = None,
        type: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Open incidents (resolved ones are deleted), oldest first."""
        filters = {
            "process_instance_id": process_instance_id,
            "definition_id": definition_id,
            "element_id": element_id,
            "type": type,
        }
        return _list_rows(self, "incidents", filters, limit)

    def find_subscriptions(
        self, kind: str, name: str, correlation_key: str | None = None
    ) -> list[dict[str, Any]]:
        """Subscriptions to ``kind``/``name`` with exactly that correlation key (None: none)."""
        s = event_subscriptions
        key = (
            s.c.correlation_key.is_(None)
            if correlation_key is None
            else s.c.correlation_key == correlation_key
        )
        query = (
            select(s)
            .where(s.c.kind == kind, s.c.name == name, key)
            .order_by(s.c.created_at, s.c.id)
        )
        return _dicts(self._conn.execute(query))

    def count_rows(self, table: str, **equals: Any) -> int:
        """Rows whose columns equal the values given (``None`` matches NULL)."""
        t, conditions = _where_equal(table, equals)
        query = select(func.count()).select_from(t).where(*conditions)
        return int(self._conn.execute(query).scalar_one())

    def list_rows(self, table: str, **equals: Any) -> list[dict[str, Any]]:
        """Rows whose columns equal the values given (``None`` matches NULL), by id."""
        t, conditions = _where_equal(table, equals)
        return _dicts(self._conn.execute(select(t).where(*conditions).order_by(t.c.id)))

    # -- set-wise work on many instances ------------------------------------------------------
    def get_process_instances(
        self, ids: Sequence[str], *, columns: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """The rows of these instances (only ``columns``, if given)."""
        statement = _instances_statement(self._postgres, tuple(columns or ()))
        return _dicts(self._conn.execute(statement, {"ids": self._ids_param(ids)}))

    def migration_shapes(
        self, ids: Sequence[str], definition_id: str
    ) -> list[tuple[str | None, ...]]:
        """Those of these instances that are live instances of ``definition_id``, locked for
        this transaction (PostgreSQL FOR UPDATE; SQLite's IMMEDIATE transaction already
        serialises writers), each as ``(id, *shape)``: per table, its rows as sorted text
        (None: no rows). Elements count with their parent's element, state and whether they
        are a multi-instance activity's inner instances; jobs and subscriptions by kind and
        element; join tokens by gateway and flow; incidents by element. Instances with equal
        shapes migrate alike. Built in the database: reading the rows would cost more."""
        params = {"ids": self._ids_param(ids), "definition_id": definition_id}
        result = self._conn.execute(_shapes_statement(self._postgres), params)
        return [tuple(row) for row in result.all()]

    def insert_history_of_instances(
        self,
        process_instance_ids: Sequence[str],
        *,
        event: str,
        data: Mapping[str, Any],
        timestamp: datetime,
        id_prefix: str,
    ) -> None:
        """One ``event`` with the same ``data`` in the history of each of these instances (a
        set-wise operation's): one statement that builds the rows in the database, with the
        data encoded once. The events' ids are ``<id_prefix>.<n>``."""
        params = {
            "ids": self._ids_param(process_instance_ids),
            "id_prefix": id_prefix,
            "event": json_dumps(event),
            "data": json_dumps(data),
            "timestamp": timestamp,
        }
        self._conn.execute(_shared_history_statement(self._postgres), params)

    def update_where(
        self,
        table: str,
        values: Mapping[str, Any],
        *,
        process_instance_ids: Sequence[str],
        equals: Mapping[str, Any] | None = None,
    ) -> int:
        """Set ``values`` (and bump ``revision``) on the rows of these instances whose columns
        equal ``equals``; returns how many rows changed. One statement for any number of rows."""
        equals = equals or {}
        t = _table(table)
        unknown = (set(values) | set(equals)) - set(t.c.keys())
        if unknown:
            raise InvalidArgumentError(f"{table} has no column {', '.join(sorted(unknown))}")
        statement = _update_where_statement(self._postgres, table, tuple(values), tuple(equals))
        params = {
            "ids": self._ids_param(process_instance_ids),
            **values,
            **{f"equals_{name}": value for name, value in equals.items()},
        }
        return int(self._conn.execute(statement, params).rowcount)

    # -- operations -------------------------------------------------------------------------
    def list_operation_items(
        self,
        operation_id: str,
        state: str | None = None,
        limit: int | None = None,
        *,
        after_position: int | None = None,
        columns: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """The items of an operation (in position order), optionally of one state;
        ``after_position`` and ``limit`` page through them (keyset pagination). ``columns``:
        only these (lighter rows for a long listing)."""
        o = operation_items
        query = select(*([o.c[c] for c in columns] if columns else [o])).where(
            o.c.operation_id == operation_id
        )
        if state is not None:
            query = query.where(o.c.state == state)
        if after_position is not None:
            query = query.where(o.c.position > after_position)
        return _dicts(self._conn.execute(query.order_by(o.c.position).limit(limit)))

    def insert_operation_items(
        self,
        operation_id: str,
        process_instance_ids: Sequence[str],
        *,
        first_position: int,
        state: str,
        updated_at: datetime | None,
        reason: str | None = None,
    ) -> None:
        """Items of an operation for these instances, all in one ``state`` with one
        ``reason``, at consecutive positions from ``first_position`` (their ids are
        ``<operation_id>:<position>``): one statement that builds the rows in the database."""
        params = {
            "ids": self._ids_param(process_instance_ids),
            "operation_id": operation_id,
            "first_position": first_position,
            "state": state,
            "reason": reason,
            "updated_at": updated_at,
        }
        self._conn.execute(_items_statement(self._postgres), params)

    def count_operation_items(self, operation_id: str) -> dict[str, int]:
        """How many items of an operation are in each state."""
        o = operation_items
        query = (
            select(o.c.state, func.count())
            .where(o.c.operation_id == operation_id)
            .group_by(o.c.state)
        )
        return {str(state): int(count) for state, count in self._conn.execute(query)}

    # -- jobs ---------------------------------------------------------------------------------
    def acquire_jobs(
        self, job_type: str, worker: str, max_jobs: int, lock_seconds: float, now: datetime
    ) -> list[dict[str, Any]]:
        """Lock up to ``max_jobs`` worker jobs of ``job_type`` for ``worker`` and return them.

        A job qualifies when it is activatable and due, or when its previous lease has expired,
        and its process instance is not suspended. On PostgreSQL the candidates are taken with
        ``FOR UPDATE SKIP LOCKED``, so concurrent acquirers, in any process, get disjoint jobs.
        """
        j, c = jobs, jobs.alias("candidate")
        candidates = (
            select(c.c.id)
            .where(
                c.c.kind.in_(WORKER_JOB_KINDS),
                c.c.type == job_type,
                or_(
                    (c.c.state == JOB_ACTIVATABLE) & or_(c.c.due_at.is_(None), c.c.due_at <= now),
                    (c.c.state == JOB_ACTIVATED) & (c.c.lock_expires_at < now),
                ),
                ~_instance_suspended(c),
            )
            .limit(max_jobs)
            .with_for_update(skip_locked=True)
        )
        acquire = (
            j.update()
            .where(j.c.id.in_(candidates.scalar_subquery()))
            .values(
                state=JOB_ACTIVATED,
                worker=worker,
                lock_expires_at=now + timedelta(seconds=lock_seconds),
                revision=j.c.revision + 1,
            )
            .returning(*j.columns)
        )
        return _dicts(self._conn.execute(acquire))

    def due_jobs(self, kind: str, now: datetime, limit: int) -> list[dict[str, Any]]:
        """Activatable jobs of ``kind`` (TIMER or ASYNC) that are due, earliest first; an ASYNC
        job without ``due_at`` is due at once. Jobs of suspended instances wait.

        The rows stay locked until this transaction ends (PostgreSQL: ``FOR UPDATE SKIP
        LOCKED``, so concurrent executors list different jobs meanwhile) but are not changed.
        """
        j = jobs
        due = j.c.due_at <= now
        if kind == JOB_KIND_ASYNC:
            due = or_(due, j.c.due_at.is_(None))
        query = (
            select(j)
            .where(j.c.kind == kind, j.c.state == JOB_ACTIVATABLE, due, ~_instance_suspended(j))
            .order_by(j.c.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return _dicts(self._conn.execute(query))


# -- statements of set-wise work on many instances ----------------------------------------------
# Built once per dialect, with the instances' ids bound as ONE parameter named "ids" (a JSON
# array on SQLite, an array on PostgreSQL): thousands of ids cost neither compile time nor driver
# parameters. Their values are bound at execution: a statement built around a big value would
# keep it alive in SQLAlchemy's reference cycles until the next full garbage collection.
def _id_rows(postgres: bool) -> tuple[FromClause, ColumnElement[Any], ColumnElement[Any]]:
    """The ids as rows: (the rows, the id column, its 0-based position column)."""
    if postgres:
        rows = (
            func.unnest(bindparam("ids", type_=ARRAY(String)))
            .table_valued("value", with_ordinality="n")
            .render_derived()
        )
        return rows, rows.c.value, rows.c.n - 1
    rows = func.json_each(bindparam("ids", type_=String)).table_valued("value", "key")
    return rows, rows.c.value, rows.c.key


def _in_ids(postgres: bool, column: ColumnElement[Any]) -> ColumnElement[bool]:
    if postgres:
        return column == any_(bindparam("ids", type_=ARRAY(String)))
    rows, value, _ = _id_rows(postgres)
    return column.in_(select(value).select_from(rows))


@lru_cache(maxsize=16)
def _instances_statement(postgres: bool, columns: tuple[str, ...]) -> Select[Any]:
    p = process_instances
    selected = [p.c[c] for c in columns] if columns else [p]
    return select(*selected).where(_in_ids(postgres, p.c.id)).order_by(p.c.id)


@lru_cache(maxsize=2)
def _shapes_statement(postgres: bool) -> Select[Any]:
    p, e, parent = process_instances, element_instances, element_instances.alias("parent")

    def listed(item: ColumnElement[str], source: FromClause, table: Table) -> Any:
        mine = table.c.process_instance_id == p.c.id
        if postgres:
            return (
                select(func.aggregate_strings(item, ";").aggregate_order_by(item))
                .select_from(source)
                .where(mine)
                .scalar_subquery()
            )
        # SQLite before 3.44 has no ORDER BY inside group_concat, which concatenates in the
        # order of its input. (Were the order ever lost, equal shapes could only split into
        # more groups, never merge unequal ones.)
        rows = (
            select(item.label("item"))
            .select_from(source)
            .where(mine)
            .order_by(item)
            .correlate(p)
            .subquery()
        )
        return select(func.aggregate_strings(rows.c.item, ";")).scalar_subquery()

    def joined(*columns: ColumnElement[str]) -> ColumnElement[str]:
        out = columns[0]
        for column in columns[1:]:
            out = out + "|" + column
        return out

    many = case((e.c.loop_counter.is_(None), ""), else_="*")
    s, t = event_subscriptions, join_tokens
    shape = [
        listed(
            joined(e.c.element_id, func.coalesce(parent.c.element_id, ""), e.c.state, many),
            e.outerjoin(parent, parent.c.id == e.c.parent_id),
            e,
        ),
        listed(joined(jobs.c.kind, jobs.c.element_id), jobs, jobs),
        listed(joined(s.c.kind, s.c.element_id), s, s),
        listed(joined(t.c.element_id, t.c.flow_id), t, t),
        listed(incidents.c.element_id, incidents, incidents),
    ]
    return (
        select(p.c.id, *shape)
        .where(
            _in_ids(postgres, p.c.id),
            p.c.definition_id == bindparam("definition_id"),
            p.c.state.in_(RUNNING_INSTANCE_STATES),
        )
        .order_by(p.c.id)
        .with_for_update(of=p)
    )


@lru_cache(maxsize=2)
def _shared_history_statement(postgres: bool) -> Insert:
    rows, instance_id, position = _id_rows(postgres)
    event_id = bindparam("id_prefix", type_=String) + "." + position.cast(String)
    # The packed form of one event, as insert_history writes it: [[id, event,
    # element_instance_id, element_id, data, timestamp-if-not-the-row's]].
    events = (
        literal('[["', String)
        + event_id
        + literal('",', String)
        + bindparam("event", type_=String)
        + literal(",null,null,", String)
        + bindparam("data", type_=String)
        + literal(",null]]", String)
    )
    moment = bindparam("timestamp", type_=history.c.timestamp.type)
    return history.insert().from_select(
        ["id", "process_instance_id", "timestamp", "events"],
        select(event_id, instance_id, moment, events).select_from(rows),
    )


@lru_cache(maxsize=2)
def _items_statement(postgres: bool) -> Insert:
    o = operation_items
    rows, instance_id, offset = _id_rows(postgres)
    position = bindparam("first_position", type_=Integer) + offset
    operation = bindparam("operation_id", type_=String)
    return o.insert().from_select(
        [
            "id",
            "operation_id",
            "process_instance_id",
            "position",
            "state",
            "reason",
            "updated_at",
            "revision",
        ],
        select(
            operation + ":" + position.cast(String),
            operation,
            instance_id,
            position,
            bindparam("state", type_=String),
            bindparam("reason", type_=Text),
            bindparam("updated_at", type_=o.c.updated_at.type),
            literal(1, Integer),
        ).select_from(rows),
    )


@lru_cache(maxsize=64)
def _update_where_statement(
    postgres: bool, table: str, values: tuple[str, ...], equals: tuple[str, ...]
) -> Update:
    t = _TABLES[table]
    if postgres:
        conditions = [t.c[name] == bindparam(f"equals_{name}") for name in equals]
    else:
        # Without statistics SQLite would drive the statement by the index of an `equals`
        # column (all rows of an element, of a version) instead of the instances' ids.
        conditions = [t.c[name].concat("") == bindparam(f"equals_{name}") for name in equals]
    key = t.c.id if table == "process_instances" else t.c.process_instance_id
    return (
        t.update()
        .where(_in_ids(postgres, key), *conditions)
        .values(
            {
                **{name: bindparam(name, type_=t.c[name].type) for name in values},
                "revision": t.c.revision + 1,
            }
        )
    )


def _where_equal(table: str, equals: Mapping[str, Any]) -> tuple[Table, list[ColumnElement[bool]]]:
    t = _table(table)
    unknown = set(equals) - set(t.c.keys())
    if unknown:
        raise InvalidArgumentError(f"{table} has no column {', '.join(sorted(unknown))}")
    return t, [t.c[name] == value for name, value in equals.items()]


def _instance_suspended(job: FromClause) -> ColumnElement[bool]:
    p = process_instances
    return exists().where(p.c.id == job.c.process_instance_id, p.c.state == INSTANCE_SUSPENDED)


class Store:
    """A Midflight database: SQLite (the default, a file) or PostgreSQL.

    Opening it brings the schema up to date. ``sqlite:///:memory:`` keeps one in-memory database
    for the Store's life; use it from one thread at a time.
    """

    def __init__(self, url: str | None = None) -> None:
        try:
            parsed = make_url(url or DEFAULT_URL)
        except ArgumentError as exc:
            raise InvalidArgumentError(f"not a database URL: {url!r}") from exc
        self._engine = _create_engine(parsed)
        #: The URL in use, password hidden.
        self.url: str = parsed.render_as_string(hide_password=True)
        # Each thread keeps its connection between transactions: a pool checkout and return
        # per command cost more than a small command's whole transaction.
        self._connections: dict[tuple[int, int], _KeptConnection] = {}
        self._connections_lock = threading.Lock()
        self._checkpointer = (
            _WalCheckpointer(parsed.database)
            if parsed.get_backend_name() == "sqlite"
            and parsed.database not in (None, "", ":memory:")
            else None
        )
        try:
            self._migrate()
        except SQLAlchemyError as exc:
            self._engine.dispose()
            raise _translate(exc) from exc
        except BaseException:
            self._engine.dispose()
            raise

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._engine.dialect.name

    @contextmanager
    def transaction(self, *, read_only: bool = False) -> Iterator[StoreTransaction]:
        """One database transaction: committed when the block ends, rolled back if it raises.

        ``read_only`` lets a SQLite reader run beside a writer instead of queueing for the write
        lock; such a transaction must not write.
        """
        try:
            kept = self._kept_connection()
            if _in_transaction(kept.conn):
                # A transaction opened inside another on the same thread: its own connection.
                with self._engine.connect() as conn:
                    yield from _run_transaction(conn, read_only)
                return
            kept.last_used = time.monotonic()
            yield from _run_transaction(kept.conn, read_only)
        except SQLAlchemyError as exc:
            raise _translate(exc) from exc
        if self._checkpointer is not None and not read_only:
            self._checkpointer.note_commit()

    def _kept_connection(self) -> _KeptConnection:
        key = (os.getpid(), threading.get_ident())
        kept = self._connections.get(key)
        if kept is not None:
            conn = kept.conn
            stale = (
                self._engine.dialect.name == "postgresql"
                and time.monotonic() - kept.last_used > _IDLE_RECHECK_SECONDS
            )
            if not (conn.closed or conn.invalidated or stale):
                return kept
            # A new checkout pings the server (pool_pre_ping) after a lost or idle connection.
            if not conn.in_transaction():
                conn.close()
        kept = _KeptConnection(self._engine.connect())
        with self._connections_lock:
            self._close_connections_of_ended_threads()
            self._connections[key] = kept
        return kept

    def _close_connections_of_ended_threads(self) -> None:
        alive = {thread.ident for thread in threading.enumerate()}
        pid = os.getpid()
        for key in [k for k in self._connections if k[0] != pid or k[1] not in alive]:
            kept = self._connections.pop(key)
            if key[0] == pid:  # a parent process's connection is not ours to close
                kept.conn.close()

    def dispose(self) -> None:
        """Close every connection. The Store can still be used; it reconnects."""
        if self._checkpointer is not None:
            self._checkpointer.stop()
        with self._connections_lock:
            kept, self._connections = self._connections, {}
        pid = os.getpid()
        for (owner, _), connection in kept.items():
            if owner == pid:
                connection.conn.close()
        self._engine.dispose()

    def _migrate(self) -> None:
        # The fast path, a read, is all that an up-to-date database costs.
        with self._engine.connect() as conn:
            conn.info[_READ_ONLY] = True
            if _current_revision(conn) == HEAD_REVISION:
                return
        with self._engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Processes opening a new database together: one migrates, the others wait
                # here and then find it done. (On SQLite, BEGIN IMMEDIATE already serialises.)
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
                )
            revision = _current_revision(conn)
            if revision is None and not _table_exists(conn, "process_instances"):
                # A new, empty database: create the head schema and stamp it, as Alembic's docs
                # advise; tests/store checks the migrations build exactly this schema.
                _create_head(conn)
            elif revision != HEAD_REVISION:
                _upgrade(conn)


# A kept PostgreSQL connection idle longer than this is checked out anew, so the pool's
# pre-ping finds a connection the server dropped meanwhile (SQLite has no server to lose).
_IDLE_RECHECK_SECONDS = 30.0


class _WalCheckpointer:
    """Checkpoints a SQLite file's write-ahead log from a background thread.

    Commits append pages to the WAL; a checkpoint copies them back into the database file and
    syncs both files. SQLite runs it inside the commit that crosses ``wal_autocheckpoint``, so
    one command in every few dozen waited for two fsyncs. This thread checkpoints (PASSIVE:
    never blocking a writer) while commands go on; the connections' own autocheckpoint stays
    as a safety net at a higher mark (``_WAL_AUTOCHECKPOINT_PAGES``). The thread starts with the
    first commit and ends after a quiet spell, so an idle or forgotten Store holds no thread.
    """

    INTERVAL_SECONDS = 0.05
    QUIET_SECONDS = 2.0

    def __init__(self, path: str) -> None:
        self._path = path
        self._commits = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def note_commit(self) -> None:
        self._commits += 1
        thread = self._thread
        if thread is None or not thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._stopping.clear()
                    self._thread = threading.Thread(
                        target=self._run, name="midflight-wal-checkpoint", daemon=True
                    )
                    self._thread.start()

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
            self._stopping.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self) -> None:
        connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            # The thread starts for a commit: the first round always checkpoints.
            seen: int | None = None
            quiet = 0.0
            while not self._stopping.wait(self.INTERVAL_SECONDS):
                if self._commits == seen:
                    quiet += self.INTERVAL_SECONDS
                    if quiet >= self.QUIET_SECONDS:
                        return
                    continue
                seen, quiet = self._commits, 0.0
                # An error (another process checkpointing, say): the next round catches up.
                with suppress(sqlite3.Error):
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            connection.close()


class _KeptConnection:
    __slots__ = ("conn", "last_used")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.last_used = time.monotonic()


def _run_transaction(conn: Connection, read_only: bool) -> Iterator[StoreTransaction]:
    if conn.dialect.name != "sqlite":
        with conn.begin():
            yield StoreTransaction(conn)
        return
    # SQLite: BEGIN and COMMIT go straight to the driver, SQLAlchemy's transaction bookkeeping
    # costs more than a small command's statements. A statement sent through SQLAlchemy inside
    # opens its transaction on top, which _sqlite_on_begin joins to this one.
    driver = _driver(conn)
    _sqlite_execute(conn, "BEGIN" if read_only else "BEGIN IMMEDIATE")
    try:
        yield StoreTransaction(conn)
    except BaseException:
        _sqlite_end(conn, driver, commit=False)
        raise
    _sqlite_end(conn, driver, commit=True)


def _sqlite_end(conn: Connection, driver: Any, *, commit: bool) -> None:
    try:
        if driver.in_transaction:  # an error may have ended it already
            _sqlite_execute(conn, "COMMIT" if commit else "ROLLBACK")
    finally:
        if conn.in_transaction():
            # SQLAlchemy's own view of the transaction: the driver has none left, so ending it
            # sends nothing.
            if commit:
                conn.commit()
            else:
                conn.rollback()


def _in_transaction(conn: Connection) -> bool:
    return conn.in_transaction() or (
        conn.dialect.name == "sqlite" and bool(_driver(conn).in_transaction)
    )


def _driver(conn: Connection) -> Any:
    driver = conn.connection.driver_connection
    assert driver is not None
    return driver


def _sqlite_execute(conn: Connection, sql: str) -> None:
    try:
        _driver(conn).execute(sql)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, (), exc, DBAPIError) from exc


def _table_exists(conn: Connection, name: str) -> bool:
    # Cheaper than the inspector's catalog queries, which cost ~0.1 s each on PostgreSQL.
    if conn.dialect.name == "postgresql":
        found = conn.execute(text("SELECT to_regclass(:name)"), {"name": name}).scalar()
    else:
        found = conn.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'table' AND name = :name"),
            {"name": name},
        ).scalar()
    return found is not None


def _current_revision(conn: Connection) -> str | None:
    if not _table_exists(conn, "alembic_version"):
        return None
    revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return None if revision is None else str(revision)


def _create_head(conn: Connection) -> None:
    metadata.create_all(conn, checkfirst=False)
    conn.execute(
        text(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
            "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
        )
    )
    conn.execute(
        text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": HEAD_REVISION}
    )


def _upgrade(conn: Connection) -> None:
    # Imported here: Alembic is only needed when the schema is behind (see HEAD_REVISION).
    from alembic import command
    from alembic.config import Config

    config = Config()
    # Config values go through configparser interpolation, where "%" is special.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["connection"] = conn
    command.upgrade(config, "head")


def _create_engine(url: URL) -> Engine:
    backend = url.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url)
    if backend == "postgresql":
        if url.drivername == "postgresql":  # SQLAlchemy would pick psycopg2, not installed
            url = url.set(drivername="postgresql+psycopg")
        return create_engine(url, pool_pre_ping=True, isolation_level="READ COMMITTED")
    raise InvalidArgumentError(
        f"unsupported database {backend!r}: use sqlite:///<file> or postgresql+psycopg://..."
    )


def _sqlite_engine(url: URL) -> Engine:
    if url.database in (None, "", ":memory:"):
        # Every connection would otherwise open a new, empty in-memory database.
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        # No reset on return: every transaction ends in an explicit commit or rollback.
        engine = create_engine(
            url, connect_args={"timeout": 30}, pool_reset_on_return=None
        )  # timeout: the busy timeout, seconds
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control from the sqlite3 module (SQLAlchemy's pysqlite recipe), so that
    # _sqlite_on_begin can choose the kind of BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the writer. With WAL, NORMAL never corrupts the database; a
    # power cut may only lose the last commits, and it saves an fsync per commit.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Checkpoints are _WalCheckpointer's; a commit runs one only if the WAL grows past this.
    cursor.execute(f"PRAGMA wal_autocheckpoint={_WAL_AUTOCHECKPOINT_PAGES}")
    cursor.close()


_WAL_AUTOCHECKPOINT_PAGES = 10_000  # 40 MB with 4 KB pages


def _sqlite_on_begin(conn: Connection) -> None:
    # A deferred transaction that reads and then writes cannot wait for the write lock (its
    # snapshot may be stale), it fails at once with "database is locked". BEGIN IMMEDIATE takes
    # the write lock up front, so concurrent writers queue on the busy timeout instead.
    # The flag is taken, not read: a transaction that does not set it again writes.
    read_only = conn.info.pop(_READ_ONLY, False)
    if not _driver(conn).in_transaction:  # else: inside a Store.transaction, which began it
        _sqlite_execute(conn, "BEGIN" if read_only else "BEGIN IMMEDIATE")


# Errors that mean "another transaction got there first". PostgreSQL SQLSTATEs: serialization
# failure, deadlock, lock not available, unique violation; SQLite: busy after the timeout, and
# unique violations.
_CONFLICTS = frozenset(
    {
        "40001",
        "40P01",
        "55P03",
        "23505",
        "SQLITE_BUSY",
        "SQLITE_BUSY_SNAPSHOT",
        "SQLITE_CONSTRAINT_PRIMARYKEY",
        "SQLITE_CONSTRAINT_UNIQUE",
    }
)


def _translate(exc: SQLAlchemyError) -> MidflightError:
    """The Midflight error for a SQLAlchemy one."""
    if isinstance(exc, DBAPIError):
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "sqlite_errorname", None)
        if code in _CONFLICTS:
            return ConcurrentModificationError(f"conflict with another transaction: {exc.orig}")
        return ProcessEngineError(f"database error: {exc.orig}")
    if isinstance(exc, StatementError) and isinstance(exc.orig, (TypeError, ValueError)):
        return InvalidArgumentError(str(exc.orig))  # a value a column cannot store
    return ProcessEngineError(f"database error: {exc}")
