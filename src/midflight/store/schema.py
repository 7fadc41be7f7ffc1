"""The database schema: one table per runtime record, plus the deployed process definitions.

Each live-state table has one column per field of the runtime record of the same name (see
``midflight.runtime.state``; the store does not import it, a test keeps the two in step). Every
live row carries ``revision`` for optimistic locking. ``history`` adds ``seq``, an autoincrement
key that orders the audit trail; its ``id`` is a generated unique string (not indexed: the log
is read by instance, and an index on random ids would cost every insert).

Two column types carry the Python values the runtime uses:

- ``UtcDateTime`` takes and returns timezone-aware datetimes in UTC. PostgreSQL stores
  ``timestamptz``; SQLite has no time zones, so it stores naive UTC in SQLAlchemy's fixed-width
  text format, which keeps ``<=`` comparisons in SQL correct.
- ``ExactJson`` stores JSON text with ``decimal.Decimal`` kept exactly: a Decimal is written as a
  JSON number with its own digits, non-integral numbers are read back as Decimal and integral
  ones as ``int`` (so a float comes back as the Decimal of its shortest repr). Dates and
  datetimes inside a value are written as ISO 8601 strings and come back as those strings.
  NaN and infinities are refused. It is ``Text`` on PostgreSQL too: ``jsonb`` would reorder
  object keys and normalise numbers (``1E+2`` becomes ``100``), and we never query inside it.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = [
    "LIVE_TABLES",
    "RECORD_TABLE_ORDER",
    "ExactJson",
    "JsonText",
    "UtcDateTime",
    "exact_json_text",
    "json_dumps",
    "json_loads",
    "metadata",
    "record_columns",
    "utc_from_sqlite_text",
    "utc_sqlite_text",
]


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime, returned in UTC. Naive datetimes are refused: their zone is unknown."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        utc = _as_utc(value)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # SQLite: stored as naive UTC
            return value.replace(tzinfo=UTC)
        # psycopg answers in the session's zone object (e.g. ZoneInfo("Etc/UTC")).
        return value.astimezone(UTC)


def _as_utc(value: datetime) -> datetime:
    if value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: Midflight stores aware UTC datetimes")
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def utc_sqlite_text(value: datetime) -> str:
    """The text SQLite stores for an aware datetime: what ``UtcDateTime`` and SQLAlchemy's
    SQLite DATETIME write together (naive UTC, fixed width), in one step for the hot path."""
    global _last_utc_text
    last = _last_utc_text
    if last[0] is value:  # the rows of one command share its timestamp object
        return last[1]
    text = _as_utc(value).replace(tzinfo=None).isoformat(" ", "microseconds")
    _last_utc_text = (value, text)
    return text


# The last conversion, replaced as a whole (one tuple), so threads never see a mixed pair.
_last_utc_text: tuple[datetime | None, str] = (None, "")


def utc_from_sqlite_text(text: str) -> datetime:
    """The aware UTC datetime of a stored ``utc_sqlite_text``."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class _NeedsExactEncoding(Exception):
    """Raised by the fast encoder on a Decimal, which it can only write as a float or string."""


def _plain_default(value: object) -> str | int:
    if isinstance(value, Decimal):
        # A whole Decimal written without exponent ("10", "-3", not "1E+1" or "-0") has the
        # digits of its int: the C encoder can write that. FEEL arithmetic makes such values.
        if value.as_tuple().exponent == 0 and (value or not value.is_signed()):
            return int(value)
        raise _NeedsExactEncoding
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable: {value!r}")


_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False, default=_plain_default)
_DECODER = json.JSONDecoder(parse_float=Decimal)


def json_dumps(value: Any) -> str:
    """JSON text for ``value``, Decimals written with their exact digits."""
    if type(value) is int:  # most variables: the text the encoder would write, without it
        return int.__repr__(value)
    try:
        # The C encoder handles the common case; it stops at the first Decimal.
        return _ENCODER.encode(value)
    except _NeedsExactEncoding:
        parts: list[str] = []
        _encode_exact(value, parts)
        return "".join(parts)


def json_loads(text: str) -> Any:
    """The value of JSON ``text``: non-integral numbers as Decimal, integral ones as int."""
    return _DECODER.decode(text)


def _encode_exact(value: Any, out: list[str]) -> None:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} cannot be stored in JSON")
        out.append(str(value))  # always a valid JSON number, e.g. "1.10", "-3", "1E+2"
    elif isinstance(value, dict):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if i:
                out.append(",")
            out.append(_encode_key(key))
            out.append(":")
            _encode_exact(item, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode_exact(item, out)
        out.append("]")
    else:
        out.append(_ENCODER.encode(value))


def _encode_key(key: object) -> str:
    # The keys json.dumps accepts, converted the way json.dumps converts them.
    if isinstance(key, str):
        return _ENCODER.encode(key)
    if key is None or isinstance(key, (bool, int, float)):
        return _ENCODER.encode(_ENCODER.encode(key))
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


class JsonText(str):
    """JSON text encoded already, which ExactJson stores as it is."""


class ExactJson(TypeDecorator[Any]):
    """A JSON value stored as text, Decimals exact (see the module docstring). None is NULL."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else exact_json_text(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json_loads(value)


def exact_json_text(value: Any) -> str:
    """The text ``ExactJson`` stores for a value (not None)."""
    return value if isinstance(value, JsonText) else json_dumps(value)


# Explicit names keep the database in step with migrations/versions/0001_initial.py.
metadata = MetaData(
    naming_convention={"pk": "pk_%(table_name)s", "uq": "uq_%(table_name)s_%(column_0_N_name)s"}
)

_ID = String(64)  # engine-made ids are uuid-sized; 64 leaves room for imported ones
_NAME = String(255)  # BPMN element ids, names and keys


def _id(name: str, *, nullable: bool = False) -> Column[str]:
    return Column(name, _ID, nullable=nullable)


def _revision() -> Column[int]:
    return Column("revision", Integer, nullable=False)


# SQLite: rows stored in their primary key's b-tree. A table keyed by a text id otherwise keeps
# a rowid b-tree and a separate index of the ids, and every insert or delete writes both.
_CLUSTERED: dict[str, Any] = {"sqlite_with_rowid": False}


def _where_set(column: str) -> dict[str, Any]:
    """Index only the rows where ``column`` is set: most rows leave it empty (a business key, a
    task's assignee), and those would cost an index write each for nothing."""
    condition = text(f"{column} IS NOT NULL")
    return {"sqlite_where": condition, "postgresql_where": condition}


process_definitions = Table(
    "process_definitions",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("key", _NAME, nullable=False),
    Column("version", Integer, nullable=False),
    Column("version_tag", _NAME),
    Column("name", Text),
    Column("resource_name", Text),
    Column("xml", Text, nullable=False),
    Column("checksum", String(64), nullable=False),
    Column("suspended", Boolean, nullable=False, server_default=false()),
    Column("deployed_at", UtcDateTime, nullable=False),
    _id("deployment_id"),
    # Its index also serves lookups by key alone, so key gets no index of its own.
    UniqueConstraint("key", "version"),
    Index("ix_process_definitions_key_checksum", "key", "checksum"),
)

process_instances = Table(
    "process_instances",
    metadata,
    Column("id", _ID, primary_key=True),
    _id("definition_id"),
    Column("definition_key", _NAME, nullable=False),
    Column("definition_version", Integer, nullable=False),
    Column("business_key", _NAME),
    Column("state", String(32), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime),
    _id("parent_process_instance_id", nullable=True),
    _id("parent_element_instance_id", nullable=True),
    _revision(),
    Index("ix_process_instances_definition_id_state", "definition_id", "state"),
    Index("ix_process_instances_business_key", "business_key", **_where_set("business_key")),
    **_CLUSTERED,
)

element_instances = Table(
    "element_instances",
    metadata,
    Column("id", _ID, primary_key=True),
    _id("process_instance_id"),
    _id("parent_id", nullable=True),
    Column("element_id", _NAME, nullable=False),
    Column("element_type", String(64), nullable=False),
    Column("state", String(32), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("loop_counter", Integer),
    Column("entered_by_flow", _NAME),
    _revision(),
    Index("ix_element_instances_process_instance_id", "process_instance_id"),
    Index("ix_element_instances_element_id_state", "element_id", "state"),
    **_CLUSTERED,
)

variables = Table(
    "variables",
    metadata,
    Column("id", _ID, primary_key=True),
    _id("process_instance_id"),
    _id("scope_id"),
    Column("name", _NAME, nullable=False),
    Column("value", ExactJson),
    _revision(),
    Index("ix_variables_process_instance_id", "process_instance_id"),
    **_CLUSTERED,
)

user_tasks = Table(
    "user_tasks",
    metadata,
    Column("id", _ID, primary_key=True),
    _id("process_instance_id"),
    _id("element_instance_id"),
    Column("element_id", _NAME, nullable=False),
    _id("definition_id"),
    Column("name", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("assignee", _NAME),
    Column("candidate_groups", ExactJson),
    Column("candidate_users", ExactJson),
    Column("due_date", UtcDateTime),
    Column("follow_up_date", UtcDateTime),
    Column("priority", Integer),
    Column("form_key", Text),
    _revision(),
    Index("ix_user_tasks_process_instance_id", "process_instance_id"),
    Index("ix_user_tasks_assignee", "assignee", **_where_set("assignee")),
    # No index on element_id: tasks at an element are found through the element instances'
    # (element_id, state) index (StoreTransaction.list_user_tasks).
    **_CLUSTERED,
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", _ID, primary_key=True),
    _id("process_instance_id"),
    _id("element_instance_id"),
    Column("element_id", _NAME, nullable=False),
    _id("definition_id"),
    Column("kind", String(16), nullable=False),
    Column("type", _NAME, nullable=False),
    Column("state", String(16), nullable=False),
    Column("retries", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("due_at", UtcDateTime),
    Column("worker", _NAME),
    Column("lock_expires_at", UtcDateTime),
    Column("error_message", Text),
    Column("payload", ExactJson),
    _revision(),
    Index("ix_jobs_state_type_due_at", "state", "type", "due_at"),
    Index("ix_jobs_kind_state_due_at", "kind", "state", "due_at"),
    Index("ix_jobs_process_instance_id", "process_instance_id"),
    **_CLUSTERED,
)

event_subscriptions = Table(
    "event_subscriptions",
    metadata,
    Column("id", _ID, primary_key=True),
    _id("process_instance_id"),
    _id("element_instance_id"),
    Column("element_id", _NAME, nullable=False),
    _id("definition_id"),
    Column("kind", String(16), nullable=False),
    Column("name", _NAME, nullable=False),
    Column("correlation_key", _NAME),
    Column("created_at", UtcDateTime, nullable=False),
    _revision(),
    Index("ix_event_subscriptions_kind_name_correlation_key", "kind", "name", "correlation_key"),
    Index("ix_event_subscriptions_process_instance_id", "process_instance_id"),
    **_CLUSTERED,
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", _ID, primary_key=True),
    _id("process_instance_id"),
    _id("element_instance_id"),
    Column("element_id", _NAME, nullable=False),
    _id("definition_id"),
    Column("type", String(64), nullable=False),
    Column("message", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    _id("job_id", nullable=True),
    _revision(),
    Index("ix_incidents_process_instance_id", "process_instance_id"),
    **_CLUSTERED,
)

join_tokens = Table(
    "join_tokens",
    metadata,
    Column("id", _ID, primary_key=True),
    _id("process_instance_id"),
    _id("scope_id"),
    Column("element_id", _NAME, nullable=False),
    Column("flow_id", _NAME, nullable=False),
    _revision(),
    Index("ix_join_tokens_process_instance_id", "process_instance_id"),
    **_CLUSTERED,
)

history = Table(
    # One row per command and instance, holding that command's events in order (a JSON list of
    # [id, event, element_instance_id, element_id, data, timestamp-if-not-the-row's]): a command
    # writes dozens of events, and one row for them is most of the cost of persisting history.
    # StoreTransaction.insert_history/list_history pack and unpack; callers see single events.
    "history",
    metadata,
    # BIGINT on PostgreSQL (the log only grows); SQLite autoincrements only INTEGER keys.
    Column(
        "seq",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("id", _ID, nullable=False),
    _id("process_instance_id"),
    Column("timestamp", UtcDateTime, nullable=False),
    Column("events", ExactJson, nullable=False),
    Index("ix_history_process_instance_id_seq", "process_instance_id", "seq"),
)

operations = Table(
    # Modifications, migrations and batches: what was asked, by whom, and what undo needs.
    "operations",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("state", String(32), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime),
    Column("data", ExactJson),
    _revision(),
    Index("ix_operations_kind_state", "kind", "state"),
)

operation_items = Table(
    # One row per process instance an operation (a batch) covers: its cursor and skip list.
    "operation_items",
    metadata,
    Column("id", _ID, primary_key=True),
    _id("operation_id"),
    _id("process_instance_id"),
    Column("position", Integer, nullable=False),
    Column("state", String(32), nullable=False),  # PENDING, DONE, SKIPPED, UNDONE
    Column("reason", Text),
    Column("updated_at", UtcDateTime),
    _revision(),
    Index("ix_operation_items_operation_id_state_position", "operation_id", "state", "position"),
    **_CLUSTERED,
)

#: The tables holding the live rows of a process instance besides the instance itself.
LIVE_TABLES: tuple[str, ...] = (
    "element_instances",
    "variables",
    "user_tasks",
    "jobs",
    "event_subscriptions",
    "incidents",
    "join_tokens",
)

#: Every record table, in the order writes touch them (see ``StoreTransaction.apply``).
RECORD_TABLE_ORDER: tuple[str, ...] = ("process_instances", *LIVE_TABLES)


def record_columns(table: Table) -> list[Column[Any]]:
    """The columns that make up a record: all of them but ``history.seq``, a storage detail."""
    return [column for column in table.columns if column.name != "seq"]
