"""The store on SQLite and PostgreSQL (set MIDFLIGHT_TEST_POSTGRES_URL for the latter)."""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import alembic.command
import pytest
import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from midflight.errors import ConcurrentModificationError, InvalidArgumentError
from midflight.runtime.state import (
    RECORD_TABLES,
    ElementInstance,
    EventSubscription,
    HistoryEvent,
    Incident,
    Job,
    JobKind,
    JobState,
    JoinToken,
    ProcessInstanceRecord,
    ProcessInstanceState,
    Record,
    UserTask,
    Variable,
)
from midflight.store import Store
from midflight.store import _store as store_module
from midflight.store.schema import (
    UtcDateTime,
    json_dumps,
    json_loads,
    metadata,
    utc_from_sqlite_text,
    utc_sqlite_text,
)

NOW = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store(store_url)
    yield opened
    opened.dispose()


# -- row builders ---------------------------------------------------------------------------------
def instance(id: str = "pi-1", **fields: Any) -> ProcessInstanceRecord:
    values: dict[str, Any] = {
        "definition_id": "order:1",
        "definition_key": "order",
        "definition_version": 1,
        "business_key": None,
        "state": "ACTIVE",
        "started_at": NOW,
    }
    return ProcessInstanceRecord(id=id, **(values | fields))


def element(id: str, element_id: str, pi: str = "pi-1", **fields: Any) -> ElementInstance:
    values: dict[str, Any] = {
        "parent_id": pi,
        "element_type": "userTask",
        "state": "ACTIVE",
        "started_at": NOW,
    }
    return ElementInstance(
        id=id, process_instance_id=pi, element_id=element_id, **(values | fields)
    )


def job(id: str, pi: str = "pi-1", **fields: Any) -> Job:
    values: dict[str, Any] = {
        "element_instance_id": "ei-1",
        "element_id": "task",
        "definition_id": "order:1",
        "kind": "TASK",
        "type": "mail",
        "state": "ACTIVATABLE",
        "retries": 3,
        "created_at": NOW,
    }
    return Job(id=id, process_instance_id=pi, **(values | fields))


def user_task(id: str, pi: str = "pi-1", **fields: Any) -> UserTask:
    values: dict[str, Any] = {
        "element_instance_id": "ei-1",
        "element_id": "review",
        "definition_id": "order:1",
        "name": "Review",
        "created_at": NOW,
    }
    return UserTask(id=id, process_instance_id=pi, **(values | fields))


def definition(key: str, version: int, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": f"{key}:{version}",
        "key": key,
        "version": version,
        "version_tag": None,
        "name": key.title(),
        "resource_name": f"{key}.bpmn",
        "xml": "<definitions/>",
        "checksum": f"sum-{version}",
        "suspended": False,
        "deployed_at": NOW,
        "deployment_id": f"dep-{version}",
    }
    return values | fields


def insert(store: Store, *records: Any) -> None:
    with store.transaction() as tx:
        for record in records:
            tx.insert(record.TABLE, [record.row()])


def found(row: dict[str, Any] | None) -> dict[str, Any]:
    assert row is not None
    return row


def assert_same(loaded: Any, expected: Any) -> None:
    """Equal, and of the same types all the way down (so 1.10 stays Decimal("1.10"))."""
    assert type(loaded) is type(expected), (loaded, expected)
    if isinstance(expected, Decimal):
        assert str(loaded) == str(expected)
    elif isinstance(expected, dict):
        assert list(loaded) == list(expected)
        for key in expected:
            assert_same(loaded[key], expected[key])
    elif isinstance(expected, list):
        assert len(loaded) == len(expected)
        for got, want in zip(loaded, expected, strict=True):
            assert_same(got, want)
    else:
        assert loaded == expected


# -- schema and migrations ------------------------------------------------------------------------
def test_tables_have_one_column_per_record_field() -> None:
    classes: tuple[type[Record], ...] = RECORD_TABLES
    for cls in classes:
        columns = [c.name for c in metadata.tables[cls.TABLE].columns]
        assert dataclasses.is_dataclass(cls)
        assert columns == [f.name for f in dataclasses.fields(cls)], cls


def test_history_rows_round_trip_every_history_event_field(store: Store) -> None:
    # History rows pack a command's events; what goes in as HistoryEvent rows comes back.
    events = [
        HistoryEvent(
            id=f"h-{n}",
            process_instance_id="pi-1",
            timestamp=NOW,
            event=f"e{n}",
            element_instance_id=None if n == 0 else f"ei-{n}",
            element_id="task",
            data={"n": n, "amount": Decimal("1.10")},
        )
        for n in range(3)
    ]
    with store.transaction() as tx:
        tx.insert_history([e.values() for e in events])
    with store.transaction() as tx:
        loaded = tx.list_history("pi-1")
    assert loaded == [e.row() for e in events]


def test_query_constants_match_runtime_enums() -> None:
    assert set(store_module.RUNNING_INSTANCE_STATES) == {
        ProcessInstanceState.ACTIVE,
        ProcessInstanceState.SUSPENDED,
    }
    assert store_module.INSTANCE_SUSPENDED == ProcessInstanceState.SUSPENDED
    assert set(store_module.WORKER_JOB_KINDS) == {JobKind.TASK, JobKind.LISTENER}
    assert store_module.JOB_KIND_ASYNC == JobKind.ASYNC
    assert store_module.JOB_ACTIVATABLE == JobState.ACTIVATABLE
    assert store_module.JOB_ACTIVATED == JobState.ACTIVATED


def test_head_revision_is_the_newest_migration() -> None:
    config = Config()
    config.set_main_option("script_location", str(store_module.MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_current_head() == store_module.HEAD_REVISION


def test_migrations_create_the_schema(fresh_store_url: str) -> None:
    # A new database gets the head schema directly; here the Alembic migrations run from
    # scratch instead, and must build exactly that schema.
    engine = sqlalchemy.create_engine(fresh_store_url)
    try:
        with engine.begin() as conn:
            store_module._upgrade(conn)
        with engine.connect() as conn:
            tables = set(sqlalchemy.inspect(conn).get_table_names())
            assert tables == set(metadata.tables) | {"alembic_version"}
            # The hand-written migration and schema.py describe the same database.
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
            assert store_module._current_revision(conn) == store_module.HEAD_REVISION
    finally:
        engine.dispose()


def _sqlite_ddl(url: str) -> dict[str, str]:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            found = conn.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL"
            ).fetchall()
    finally:
        engine.dispose()
    # Whitespace and quoting differ between the two ways of writing the same DDL.
    return {
        name: re.sub(r"\(\s+", "(", re.sub(r"\s+\)", ")", " ".join(sql.replace('"', "").split())))
        for name, sql in found
    }


def test_sqlite_migrations_build_the_same_storage_as_a_new_database(tmp_path: Path) -> None:
    # compare_metadata does not see SQLite storage options (WITHOUT ROWID, partial indexes):
    # the DDL itself must match.
    migrated, created = f"sqlite:///{tmp_path / 'migrated.db'}", f"sqlite:///{tmp_path / 'new.db'}"
    engine = sqlalchemy.create_engine(migrated)
    with engine.begin() as conn:
        store_module._upgrade(conn)
    engine.dispose()
    Store(created).dispose()
    ddl = _sqlite_ddl(created)
    assert _sqlite_ddl(migrated) == ddl
    assert ddl["user_tasks"].endswith("WITHOUT ROWID")
    assert ddl["ix_user_tasks_assignee"].endswith("WHERE assignee IS NOT NULL")
    assert "ix_variables_scope_id" not in ddl


def test_upgrading_a_database_keeps_its_rows(fresh_store_url: str) -> None:
    # A database of the previous revision, with live rows, upgraded on open.
    config = Config()
    config.set_main_option("script_location", str(store_module.MIGRATIONS_DIR))
    engine = sqlalchemy.create_engine(fresh_store_url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        alembic.command.upgrade(config, "0002")
        conn.execute(
            metadata.tables["process_instances"].insert(),
            [instance(id="pi-1", business_key="order-1").row(), instance(id="pi-2").row()],
        )
        conn.execute(
            metadata.tables["user_tasks"].insert(), [user_task("task-1", assignee="ann").row()]
        )
    engine.dispose()

    store = Store(fresh_store_url)
    try:
        with store.transaction() as tx:
            assert tx.get_process_instance("pi-1")["business_key"] == "order-1"  # type: ignore[index]
            assert tx.get_process_instance("pi-2") is not None
            assert [t["id"] for t in tx.list_user_tasks(assignee="ann")] == ["task-1"]
            assert [p["id"] for p in tx.list_process_instances(business_key="order-1")] == ["pi-1"]
    finally:
        store.dispose()


def test_upgrading_drops_the_root_element_rows_and_downgrading_brings_them_back(
    fresh_store_url: str,
) -> None:
    # 0004: the instance row stands for the root element instance, which loses its own row.
    config = Config()
    config.set_main_option("script_location", str(store_module.MIGRATIONS_DIR))
    engine = sqlalchemy.create_engine(fresh_store_url)
    rows = "SELECT id, parent_id, element_id, element_type FROM element_instances ORDER BY id"
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            alembic.command.upgrade(config, "0003")
            conn.execute(
                metadata.tables["process_instances"].insert(),
                [instance().row(), instance(id="pi-2", state="COMPLETED").row()],
            )
            conn.execute(
                metadata.tables["element_instances"].insert(),
                [
                    element("pi-1", "order", parent_id=None, element_type="process").row(),
                    element("ei-1", "review").row(),
                ],
            )
            alembic.command.upgrade(config, "0004")
            assert conn.execute(sqlalchemy.text(rows)).all() == [
                ("ei-1", "pi-1", "review", "userTask")
            ]
            alembic.command.downgrade(config, "0003")
            # the live instance gets its root back; the completed one had none
            assert conn.execute(sqlalchemy.text(rows)).all() == [
                ("ei-1", "pi-1", "review", "userTask"),
                ("pi-1", None, "order", "process"),
            ]
    finally:
        engine.dispose()


def test_a_new_database_gets_the_head_schema(fresh_store_url: str) -> None:
    Store(fresh_store_url).dispose()
    engine = sqlalchemy.create_engine(fresh_store_url)
    try:
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
            assert store_module._current_revision(conn) == store_module.HEAD_REVISION
    finally:
        engine.dispose()


def test_reopening_skips_migrations(
    store: Store, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("migrations ran on an up-to-date database")

    monkeypatch.setattr(alembic.command, "upgrade", fail)
    Store(store_url).dispose()


def test_default_url_is_a_file_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = Store()
    try:
        insert(store, instance())
    finally:
        store.dispose()
    assert (tmp_path / "midflight.db").exists()


def test_in_memory_database_lasts_as_long_as_the_store() -> None:
    store = Store("sqlite:///:memory:")
    insert(store, instance())
    with store.transaction() as tx:
        assert tx.get_process_instance("pi-1") is not None


def test_unsupported_url_is_refused() -> None:
    with pytest.raises(InvalidArgumentError):
        Store("mysql://localhost/db")


# -- values -------------------------------------------------------------------------------------
JSON_VALUES = [
    Decimal("1.10"),
    Decimal("-0.000001"),
    Decimal("12345678901234567890.123456789012345678"),
    Decimal("1E+2"),
    10**30,
    -7,
    'text with "quotes", ünïcödé and \x00',
    True,
    None,
    [],
    {"b": 1, "a": [Decimal("2.50"), {"x": None, "y": False}], "c": {"d": [[1, 2], "3"]}},
]


@pytest.mark.parametrize("value", JSON_VALUES, ids=repr)
def test_json_keeps_decimals_exact(value: Any) -> None:
    assert_same(json_loads(json_dumps(value)), value)


@pytest.mark.parametrize("value", [0, -1, 7, 2**63, -(10**30), True, False])
def test_json_of_an_int_is_the_encoders_text(value: int) -> None:
    # ints take a short cut past the encoder; bools (ints too) must not
    assert json_dumps(value) == json.dumps(value)
    assert json_loads(json_dumps(value)) == value and type(json_loads(json_dumps(value))) is type(
        value
    )


def test_json_conversions() -> None:
    assert_same(json_loads(json_dumps(1.5)), Decimal("1.5"))
    assert_same(json_loads(json_dumps((1, 2))), [1, 2])
    moment = datetime(2025, 1, 2, 3, 4, tzinfo=UTC)
    assert json_loads(json_dumps({"at": moment, "on": date(2025, 1, 2), "n": Decimal("1.0")})) == {
        "at": "2025-01-02T03:04:00+00:00",
        "on": "2025-01-02",
        "n": Decimal("1.0"),
    }
    assert json_loads(json_dumps({1: Decimal("2.0"), None: 1})) == {"1": Decimal("2.0"), "null": 1}


@pytest.mark.parametrize(
    "value", [float("nan"), Decimal("NaN"), [Decimal("Infinity")], {1, 2}, {(1, 2): 3}], ids=repr
)
def test_json_refuses_what_it_cannot_store(value: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        json_dumps([Decimal("1.5"), value])


def test_rows_round_trip(store: Store) -> None:
    berlin = timezone(timedelta(hours=2))
    values: dict[str, Any] = {f"v{i}": v for i, v in enumerate(JSON_VALUES)}
    records: list[Any] = [
        instance(started_at=datetime(2025, 1, 2, 5, 4, 5, 678901, tzinfo=berlin)),
        element("ei-1", "review", loop_counter=2, entered_by_flow="f1"),
        *(Variable(id=f"var-{name}", process_instance_id="pi-1", scope_id="pi-1", name=name,
                   value=value) for name, value in values.items()),
        user_task("task-1", candidate_groups=["a", "b"], candidate_users=[], due_date=NOW,
                  priority=50),
        job("job-1", payload={"headers": {"x": Decimal("0.1")}, "at": NOW}),
        EventSubscription(id="sub-1", process_instance_id="pi-1", element_instance_id="ei-1",
                          element_id="msg", definition_id="order:1", kind="message",
                          name="paid", correlation_key="k-1", created_at=NOW),
        Incident(id="inc-1", process_instance_id="pi-1", element_instance_id="ei-1",
                 element_id="task", definition_id="order:1", type="JOB_NO_RETRIES",
                 message="boom", created_at=NOW, job_id="job-1"),
        JoinToken(id="jt-1", process_instance_id="pi-1", scope_id="pi-1", element_id="join",
                  flow_id="f2"),
    ]  # fmt: skip
    insert(store, *records)

    with store.transaction() as tx:
        loaded_instance = tx.get_process_instance("pi-1")
        rows = tx.load_instance_rows("pi-1")
    assert loaded_instance is not None
    assert loaded_instance["started_at"] == NOW
    assert loaded_instance["started_at"].tzinfo is UTC
    assert ProcessInstanceRecord(**loaded_instance).row() == records[0].row()

    assert set(rows) == {
        "element_instances",
        "variables",
        "user_tasks",
        "jobs",
        "event_subscriptions",
        "incidents",
        "join_tokens",
    }
    by_id = {row["id"]: row for table_rows in rows.values() for row in table_rows}
    assert len(by_id) == len(records) - 1
    for record in records[1:]:
        loaded = type(record)(**by_id[record.id]).row()
        expected = record.row()
        if isinstance(record, Job):
            expected["payload"]["at"] = NOW.isoformat()  # datetimes inside JSON become strings
        assert_same(loaded, expected)


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(InvalidArgumentError, match="naive"), store.transaction() as tx:
        tx.insert("process_instances", [instance(started_at=datetime(2025, 1, 1)).row()])


# -- optimistic locking ---------------------------------------------------------------------------
def test_update_bumps_revision(store: Store) -> None:
    insert(store, instance(), instance("pi-2"))
    with store.transaction() as tx:
        tx.update(
            "process_instances",
            [
                instance("pi-2", state="COMPLETED", ended_at=NOW).row(),
                instance(business_key="b").row(),
            ],
        )
    with store.transaction() as tx:
        first, second = (
            tx.get_row("process_instances", "pi-1"),
            tx.get_row("process_instances", "pi-2"),
        )
    assert first is not None and second is not None
    assert (first["business_key"], first["revision"]) == ("b", 2)
    assert (second["state"], second["ended_at"], second["revision"]) == ("COMPLETED", NOW, 2)


def test_update_of_chosen_columns_leaves_the_others(store: Store) -> None:
    insert(store, instance(business_key="b"))
    with store.transaction() as tx:
        # A revision bump alone: the other values sent are not written.
        tx.update("process_instances", [instance(state="COMPLETED").row()], columns=())
        tx.update(
            "process_instances",
            [instance(state="SUSPENDED", business_key="x", revision=2).row()],
            columns=["state"],
        )
    with store.transaction() as tx:
        row = tx.get_row("process_instances", "pi-1")
    assert row is not None
    assert (row["state"], row["business_key"], row["revision"]) == ("SUSPENDED", "b", 3)
    with pytest.raises(ConcurrentModificationError), store.transaction() as tx:
        tx.update("process_instances", [instance(revision=1).row()], columns=())
    with pytest.raises(InvalidArgumentError, match="no columns"), store.transaction() as tx:
        tx.update("process_instances", [instance(revision=3).row()], columns=["colour"])


@pytest.mark.parametrize(
    "moment",
    [
        NOW,
        datetime(2025, 6, 1, 0, 0, 0, tzinfo=UTC),  # no microseconds
        datetime(2025, 6, 1, 2, 30, 0, 5, tzinfo=timezone(timedelta(hours=2, minutes=30))),
        datetime(5, 1, 1, 12, 0, tzinfo=UTC),  # a year below 1000
    ],
)
def test_sqlite_datetime_text_is_sqlalchemys(moment: datetime) -> None:
    # The hot path writes and reads datetimes without SQLAlchemy: the same text both ways.
    dialect = sqlalchemy.create_engine("sqlite://").dialect
    column = UtcDateTime()
    bind = column.dialect_impl(dialect).bind_processor(dialect)
    result = column.dialect_impl(dialect).result_processor(dialect, None)
    assert bind is not None and result is not None
    assert utc_sqlite_text(moment) == bind(moment)
    assert utc_from_sqlite_text(utc_sqlite_text(moment)) == result(bind(moment)) == moment
    with pytest.raises(ValueError, match="naive"):
        utc_sqlite_text(moment.replace(tzinfo=None))


def test_stale_update_raises_and_changes_nothing(store: Store) -> None:
    insert(store, instance(), instance("pi-2"))
    with store.transaction() as tx:
        tx.update("process_instances", [instance(business_key="first").row()])
    # pi-1 is at revision 2 now; a batch with its stale revision 1 fails as a whole.
    with (
        pytest.raises(ConcurrentModificationError, match="process_instances pi-1:"),
        store.transaction() as tx,
    ):
        tx.update(
            "process_instances",
            [instance(business_key="late").row(), instance("pi-2", business_key="x").row()],
        )
    with (
        pytest.raises(ConcurrentModificationError, match="process_instances pi-1:"),
        store.transaction() as tx,
    ):
        tx.update("process_instances", [instance("pi-2", business_key="x").row()])
        tx.update("process_instances", [instance(business_key="late").row()])
    with store.transaction() as tx:
        rows = {r["id"]: r for r in tx.list_process_instances()}
    assert (rows["pi-1"]["business_key"], rows["pi-1"]["revision"]) == ("first", 2)
    assert (rows["pi-2"]["business_key"], rows["pi-2"]["revision"]) == (None, 1)


def test_stale_delete_raises_and_changes_nothing(store: Store) -> None:
    insert(store, instance(), job("job-1"), job("job-2"))
    with store.transaction() as tx:
        tx.update("jobs", [job("job-1", retries=2).row()])
    with (
        pytest.raises(ConcurrentModificationError, match="jobs job-1:"),
        store.transaction() as tx,
    ):
        tx.delete("jobs", [job("job-2").row(), job("job-1").row()])
    with pytest.raises(ConcurrentModificationError, match="jobs job-9:"), store.transaction() as tx:
        tx.delete("jobs", [job("job-9").row()])
    with store.transaction() as tx:
        assert tx.count_rows("jobs") == 2


def test_apply_writes_a_change_set(store: Store) -> None:
    insert(store, instance(), element("ei-1", "review"), job("job-1"))
    bumped = dataclasses.replace(instance(), business_key="b")
    with store.transaction() as tx:
        tx.apply(
            inserts={"element_instances": [element("ei-2", "ship").row()]},
            updates={"process_instances": [bumped.row()]},
            deletes={
                "element_instances": [element("ei-1", "review").row()],
                "jobs": [job("job-1").row()],
            },
        )
        tx.insert_history(
            [
                HistoryEvent(
                    id=f"h-{i}", process_instance_id="pi-1", timestamp=NOW, event=name
                ).values()
                for i, name in enumerate(["element.terminated", "element.activated"])
            ]
        )
    with store.transaction() as tx:
        rows = tx.load_instance_rows("pi-1")
        assert [r["id"] for r in rows["element_instances"]] == ["ei-2"]
        assert rows["jobs"] == []
        assert tx.get_process_instance("pi-1") == dataclasses.replace(bumped, revision=2).row()
        assert [h["event"] for h in tx.list_history("pi-1")] == [
            "element.terminated",
            "element.activated",
        ]


def test_apply_refuses_unknown_tables(store: Store) -> None:
    with pytest.raises(InvalidArgumentError), store.transaction() as tx:
        tx.apply(inserts={}, updates={"nonsense": [instance().row()]}, deletes={})
    with pytest.raises(InvalidArgumentError), store.transaction() as tx:
        tx.update("history", [{"id": "h-1", "revision": 1}])


def test_a_failing_transaction_is_rolled_back(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.insert("process_instances", [instance().row()])
        raise RuntimeError("abort")
    with store.transaction() as tx:
        assert tx.get_process_instance("pi-1") is None


def test_statements_of_both_paths_share_one_transaction(store: Store) -> None:
    # Hot-path rows go through the driver, others through SQLAlchemy: one transaction either
    # way, and a savepoint inside undoes only its own part.
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.insert("process_instances", [instance().row()])
        tx.insert_definition(definition("order", 1))
        raise RuntimeError("abort")
    with store.transaction(read_only=True) as tx:
        assert tx.get_process_instance("pi-1") is None
        assert tx.find_definition("order") is None

    with store.transaction() as tx:
        tx.insert_definition(definition("order", 1))
        with pytest.raises(RuntimeError), tx.savepoint():
            tx.insert("process_instances", [instance("pi-2").row()])
            raise RuntimeError("undo the savepoint")
        tx.insert("process_instances", [instance().row()])
    with store.transaction() as tx:
        assert found(tx.find_definition("order"))["id"] == "order:1"
        assert tx.get_process_instance("pi-1") is not None
        assert tx.get_process_instance("pi-2") is None
        # A transaction opened inside another on the same thread is a separate one.
        with store.transaction(read_only=True) as inner:
            assert inner.get_process_instance("pi-1") is not None


def test_savepoints_nest_and_each_undoes_only_its_own_part(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert("process_instances", [instance("pi-1").row()])
        with tx.savepoint():
            tx.insert("process_instances", [instance("pi-2").row()])
            with pytest.raises(RuntimeError), tx.savepoint():
                tx.insert("process_instances", [instance("pi-3").row()])
                raise RuntimeError("undo the inner savepoint")
            with tx.savepoint():
                tx.insert("process_instances", [instance("pi-4").row()])
        with pytest.raises(RuntimeError), tx.savepoint():
            tx.insert("process_instances", [instance("pi-5").row()])
            with tx.savepoint():
                tx.insert("process_instances", [instance("pi-6").row()])
            raise RuntimeError("undo the outer savepoint, the released inner one with it")
    with store.transaction(read_only=True) as tx:
        kept = [p for p in ("pi-1", "pi-2", "pi-3", "pi-4", "pi-5", "pi-6")
                if tx.get_process_instance(p) is not None]  # fmt: skip
    assert kept == ["pi-1", "pi-2", "pi-4"]


def test_a_store_serves_several_threads(store: Store) -> None:
    # Each thread keeps its own connection between transactions.
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(20):
                with store.transaction() as tx:
                    tx.insert("process_instances", [instance(f"pi-{n}-{i}").row()])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with store.transaction(read_only=True) as tx:
        assert tx.count_rows("process_instances") == 80


def test_sqlite_wal_is_checkpointed_in_the_background(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module._WalCheckpointer, "INTERVAL_SECONDS", 0.01)
    monkeypatch.setattr(store_module._WalCheckpointer, "QUIET_SECONDS", 0.2)
    path = tmp_path / "wal.db"
    store = Store(f"sqlite:///{path}")
    checkpointer = store._checkpointer
    assert checkpointer is not None
    try:
        for i in range(50):
            with store.transaction() as tx:
                tx.insert("process_instances", [instance(f"pi-{i}").row()])
        thread = checkpointer._thread
        assert thread is not None and thread.is_alive()
        # Checkpointed: the rows are in the database file itself, not only in the log.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _rows_in_main_file(path) < 50:
            time.sleep(0.02)
        assert _rows_in_main_file(path) == 50
        thread.join(timeout=5)  # a quiet spell ends the thread; the next commit starts one
        assert not thread.is_alive()
        with store.transaction() as tx:
            tx.insert("process_instances", [instance("pi-last").row()])
        assert checkpointer._thread is not None and checkpointer._thread.is_alive()
    finally:
        store.dispose()
    assert checkpointer._thread is None


def _rows_in_main_file(path: Path) -> int:
    # A copy of the database file alone (no -wal) holds only what was checkpointed.
    copy = path.with_name("copy.db")
    copy.write_bytes(path.read_bytes())
    engine = sqlalchemy.create_engine(f"sqlite:///{copy}")
    try:
        with engine.connect() as conn:
            query = "SELECT count(*) FROM process_instances"
            return int(conn.exec_driver_sql(query).scalar_one())
    except sqlalchemy.exc.OperationalError:
        return 0  # not even the schema checkpointed yet
    finally:
        engine.dispose()
        copy.unlink()


def test_in_memory_and_postgresql_stores_have_no_checkpointer(store_url: str) -> None:
    for url in (store_url, "sqlite:///:memory:"):
        store = Store(url)
        try:
            assert (store._checkpointer is not None) == (
                url.startswith("sqlite") and ":memory:" not in url
            )
        finally:
            store.dispose()


def test_sqlite_writers_queue_instead_of_failing(tmp_path: Path) -> None:
    # Both writers read first and then write with the revision they were given. Deferred SQLite
    # transactions would fail the second with "database is locked"; BEGIN IMMEDIATE makes it wait
    # for the first, and then the revision check rejects it.
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    stores = [Store(url), Store(url)]
    insert(stores[0], instance())
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def write(store: Store, name: str) -> None:
        barrier.wait()
        try:
            with store.transaction() as tx:
                tx.get_process_instance("pi-1")
                time.sleep(0.2)
                tx.update("process_instances", [instance(business_key=name).row()])
            outcomes.append("ok")
        except ConcurrentModificationError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=write, args=(s, f"w{i}")) for i, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 1
    assert next(o for o in outcomes if o != "ok").startswith("process_instances pi-1:")
    with stores[1].transaction(read_only=True) as tx:
        row = tx.get_process_instance("pi-1")
    assert row is not None and row["revision"] == 2
    for store in stores:
        store.dispose()


def test_duplicate_keys_are_conflicts(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert_definition(definition("order", 1))
    with pytest.raises(ConcurrentModificationError), store.transaction() as tx:
        tx.insert_definition(definition("order", 1, id="other"))


# -- definitions and queries ----------------------------------------------------------------------
def test_definitions(store: Store) -> None:
    with store.transaction() as tx:
        assert tx.max_version("order") == 0
        assert tx.find_definition("order") is None
        tx.insert_definition(definition("order", 1, version_tag="v1"))
        tx.insert_definition(definition("order", 2, version_tag="v1"))
        tx.insert_definition(definition("order", 3, checksum="sum-1"))
        tx.insert_definition(definition("invoice", 1))
        states = ["ACTIVE", "SUSPENDED", "COMPLETED", "CANCELED"]
        for i, state in enumerate(states):
            tx.insert("process_instances", [instance(f"pi-{i}", state=state).row()])

    with store.transaction() as tx:
        assert tx.max_version("order") == 3
        assert found(tx.find_definition("order"))["id"] == "order:3"
        assert "xml" not in found(tx.find_definition("order"))  # get_definition has it
        assert found(tx.get_definition("order:3"))["xml"]
        assert found(tx.find_definition("order", version=1))["id"] == "order:1"
        assert found(tx.find_definition("order", version_tag="v1"))["id"] == "order:2"
        assert tx.find_definition("order", version=3, version_tag="v1") is None
        assert found(tx.find_definition_by_checksum("order", "sum-1"))["id"] == "order:3"
        assert tx.find_definition_by_checksum("order", "nope") is None
        assert found(tx.get_definition("order:2"))["deployed_at"] == NOW
        listed = tx.list_definitions()
        assert [(d["id"], d["running_instances"]) for d in listed] == [
            ("invoice:1", 0),
            ("order:1", 2),
            ("order:2", 0),
            ("order:3", 0),
        ]
        assert [d["id"] for d in tx.list_definitions("invoice")] == ["invoice:1"]
        assert tx.count_instances("order:1", ["COMPLETED", "CANCELED"]) == 2
        assert tx.count_instances("order:1") == 4
        assert tx.set_definition_suspended("order:2", True)
        assert not tx.set_definition_suspended("missing", True)
        assert found(tx.get_definition("order:2"))["suspended"] is True
        assert tx.delete_definition("invoice:1")
        assert not tx.delete_definition("invoice:1")
        assert tx.get_definition("invoice:1") is None


def test_queries(store: Store) -> None:
    later = NOW + timedelta(minutes=1)
    insert(
        store,
        instance("pi-1", business_key="b-1"),
        instance("pi-2", state="SUSPENDED", started_at=later, definition_id="order:2",
                 definition_version=2),
        instance("pi-3", state="COMPLETED", started_at=later + timedelta(minutes=1)),
        element("ei-1", "review", pi="pi-1"),
        element("ei-2", "ship", pi="pi-2"),
        element("ei-3", "approve", pi="pi-2"),
        user_task("task-1", pi="pi-1", assignee="ann"),
        user_task("task-2", pi="pi-2", element_id="approve", definition_id="order:2",
                  element_instance_id="ei-3", created_at=later),
        EventSubscription(id="sub-1", process_instance_id="pi-1", element_instance_id="ei-1",
                          element_id="msg", definition_id="order:1", kind="message",
                          name="paid", correlation_key=None, created_at=NOW),
        EventSubscription(id="sub-2", process_instance_id="pi-2", element_instance_id="ei-2",
                          element_id="msg", definition_id="order:2", kind="message",
                          name="paid", correlation_key="k", created_at=NOW),
        Incident(id="inc-1", process_instance_id="pi-2", element_instance_id="ei-2",
                 element_id="ship", definition_id="order:2", type="EXPRESSION",
                 message="bad", created_at=NOW),
    )  # fmt: skip

    def ids(rows: list[dict[str, Any]]) -> list[str]:
        return [row["id"] for row in rows]

    with store.transaction(read_only=True) as tx:
        assert ids(tx.list_user_tasks()) == ["task-1", "task-2"]
        assert ids(tx.list_user_tasks(assignee="ann")) == ["task-1"]
        assert ids(tx.list_user_tasks(element_id="approve", definition_id="order:2")) == ["task-2"]
        assert ids(tx.list_user_tasks(process_instance_id="pi-2", limit=1)) == ["task-2"]
        assert ids(tx.list_process_instances()) == ["pi-1", "pi-2", "pi-3"]
        assert ids(tx.list_process_instances(limit=2, offset=1)) == ["pi-2", "pi-3"]
        assert ids(tx.list_process_instances(element_id="ship")) == ["pi-2"]
        assert ids(tx.list_process_instances(definition_key="order", version=1)) == ["pi-1", "pi-3"]
        assert ids(tx.list_process_instances(definition_id="order:1", state="COMPLETED")) == [
            "pi-3"
        ]
        assert ids(tx.list_process_instances(business_key="b-1")) == ["pi-1"]
        assert ids(tx.list_incidents()) == ["inc-1"]
        assert ids(tx.list_incidents(process_instance_id="pi-1")) == []
        assert ids(tx.find_subscriptions("message", "paid")) == ["sub-1"]
        assert ids(tx.find_subscriptions("message", "paid", "k")) == ["sub-2"]
        assert ids(tx.find_subscriptions("signal", "paid")) == []
        assert tx.count_rows("user_tasks", assignee=None) == 1
        assert tx.count_rows("process_instances", definition_key="order", state="ACTIVE") == 1
        assert found(tx.get_row("user_tasks", "task-1"))["assignee"] == "ann"
        assert tx.get_row("user_tasks", "missing") is None
        with pytest.raises(InvalidArgumentError):
            tx.count_rows("user_tasks", colour="red")


# -- jobs -----------------------------------------------------------------------------------------
def test_acquire_jobs(store: Store) -> None:
    insert(
        store,
        instance(),
        instance("pi-s", state="SUSPENDED"),
        job("due", due_at=NOW),
        job("no-due-date"),
        job("listener", kind="LISTENER"),
        job("later", due_at=NOW + timedelta(seconds=1)),
        job("other-type", type="sms"),
        job("timer", kind="TIMER", type="timer", due_at=NOW),
        job("failed", state="FAILED"),
        job("suspended", pi="pi-s"),
    )
    with store.transaction() as tx:
        acquired = tx.acquire_jobs("mail", "w1", 10, 30, NOW)
    assert sorted(j["id"] for j in acquired) == ["due", "listener", "no-due-date"]
    assert all(j["state"] == "ACTIVATED" and j["worker"] == "w1" for j in acquired)
    assert all(j["lock_expires_at"] == NOW + timedelta(seconds=30) for j in acquired)
    assert all(j["revision"] == 2 for j in acquired)

    with store.transaction() as tx:
        # "later" has become due; the leased jobs are not free yet.
        assert [
            j["id"] for j in tx.acquire_jobs("mail", "w2", 10, 30, NOW + timedelta(seconds=10))
        ] == ["later"]
    with store.transaction() as tx:
        # The leases taken at NOW for 30 s have expired 31 s later: those jobs are back.
        again = tx.acquire_jobs("mail", "w3", 10, 30, NOW + timedelta(seconds=31))
    assert sorted(j["id"] for j in again) == ["due", "listener", "no-due-date"]
    assert {j["worker"] for j in again} == {"w3"}


def test_acquire_jobs_respects_max_jobs_and_leases(store: Store) -> None:
    insert(store, instance(), *(job(f"job-{i}") for i in range(5)))
    with store.transaction() as tx:
        first = tx.acquire_jobs("mail", "w1", 3, 30, NOW)
    with store.transaction() as tx:
        second = tx.acquire_jobs("mail", "w2", 3, 30, NOW + timedelta(seconds=10))
    with store.transaction() as tx:
        assert tx.acquire_jobs("mail", "w3", 3, 30, NOW + timedelta(seconds=20)) == []
    assert len(first) == 3 and len(second) == 2
    assert {j["id"] for j in first}.isdisjoint(j["id"] for j in second)


def test_concurrent_acquirers_never_share_a_job(store_url: str, store: Store) -> None:
    insert(store, instance(), *(job(f"job-{i:03}") for i in range(200)))
    stores = [store, Store(store_url)]  # two stores: as if two engine processes
    barrier = threading.Barrier(len(stores))
    taken: dict[str, list[str]] = {}

    def work(worker: Store, name: str) -> None:
        barrier.wait()
        mine = taken.setdefault(name, [])
        while True:
            with worker.transaction() as tx:
                batch = tx.acquire_jobs("mail", name, 7, 30, NOW)
            if not batch:
                return
            mine.extend(j["id"] for j in batch)

    threads = [threading.Thread(target=work, args=(s, f"w{i}")) for i, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stores[1].dispose()
    everything = [job_id for ids in taken.values() for job_id in ids]
    assert len(everything) == 200
    assert len(set(everything)) == 200
    with store.transaction() as tx:
        assert tx.count_rows("jobs", state="ACTIVATABLE") == 0


def test_due_jobs(store: Store) -> None:
    insert(
        store,
        instance(),
        instance("pi-s", state="SUSPENDED"),
        job("timer-late", kind="TIMER", type="timer", due_at=NOW - timedelta(minutes=1)),
        job("timer-due", kind="TIMER", type="timer", due_at=NOW),
        job("timer-future", kind="TIMER", type="timer", due_at=NOW + timedelta(seconds=1)),
        job("timer-suspended", pi="pi-s", kind="TIMER", type="timer", due_at=NOW),
        job("timer-failed", kind="TIMER", type="timer", due_at=NOW, state="FAILED"),
        job("async-now", kind="ASYNC", type="async-before"),
        job("async-retry", kind="ASYNC", type="async-after", due_at=NOW + timedelta(hours=1)),
    )
    with store.transaction() as tx:
        assert [j["id"] for j in tx.due_jobs("TIMER", NOW, 10)] == ["timer-late", "timer-due"]
        assert [j["id"] for j in tx.due_jobs("TIMER", NOW, 1)] == ["timer-late"]
        assert [j["id"] for j in tx.due_jobs("ASYNC", NOW, 10)] == ["async-now"]
        # Listed, not changed.
        assert found(tx.get_row("jobs", "timer-due"))["revision"] == 1


def test_due_jobs_skip_rows_locked_by_another_executor(store_url: str, store: Store) -> None:
    if store.dialect != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite runs one writer at a time")
    insert(store, instance(), *(job(f"t-{i}", kind="TIMER", due_at=NOW) for i in range(4)))
    other = Store(store_url)
    try:
        with store.transaction() as first, other.transaction() as second:
            mine = first.due_jobs("TIMER", NOW, 3)
            theirs = second.due_jobs("TIMER", NOW, 3)
    finally:
        other.dispose()
    assert len(mine) == 3
    assert [j["id"] for j in theirs] == sorted(
        {f"t-{i}" for i in range(4)} - {j["id"] for j in mine}
    )
