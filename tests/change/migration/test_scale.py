"""Migration at scale with flat memory: ``migrate`` reads its selection a page at a time, records
every instance as an item of the operation in the transaction that migrated it, returns counts
(the ids are read from the items on demand), and undo reads the same items."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.change.migration._support import deploy_pair, live_rows, start, task_ids

from midflight import Engine, ProcessDefinition
from midflight.engine import _migration
from midflight.model import ProcessBuilder
from midflight.store import StoreTransaction


def simple(task: str) -> ProcessBuilder:
    return ProcessBuilder("p").start_event("s").user_task(task, assignee="joe").end_event("e")


@pytest.fixture
def pair(engine: Engine) -> tuple[ProcessDefinition, ProcessDefinition]:
    return deploy_pair(engine, simple("a").build(), simple("a2").build())


def rename_plan(engine: Engine, v1: ProcessDefinition, v2: ProcessDefinition) -> Any:
    return engine.migration_plan(v1.id, v2.id).map("a", "a2").build()


def migrated_marks(engine: Engine, pid: str) -> list[dict[str, Any]]:
    return [h.data or {} for h in engine.history(pid) if h.event == "process.migrated"]


def spy(
    monkeypatch: pytest.MonkeyPatch, name: str, calls: list[dict[str, Any]]
) -> Callable[..., Any]:
    original = getattr(StoreTransaction, name)

    def recorded(self: StoreTransaction, *args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(StoreTransaction, name, recorded)
    return original


def test_the_selection_is_read_and_migrated_a_page_at_a_time(
    engine: Engine,
    pair: tuple[ProcessDefinition, ProcessDefinition],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    v1, v2 = pair
    ids = sorted(start(engine, v1) for _ in range(10))
    monkeypatch.setattr(_migration, "PAGE_SIZE", 4)
    pages: list[dict[str, Any]] = []
    spy(monkeypatch, "list_process_instance_ids", pages)
    named = [ids[9], ids[0]]

    result = engine.migrate(rename_plan(engine, v1, v2), named, {"definition_id": v1.id})

    # the query is read by keyset pagination, 4 ids a page: ids 1-4, 5-8 and 9 (the named
    # ones are left out of the query's pages)
    assert [(p["limit"], p["after"]) for p in pages] == [(4, None), (4, ids[4]), (4, ids[8])]
    assert (result.migrated_count, result.skipped_count) == (10, 0)
    assert sorted(result.migrated[:2]) == sorted(named)  # the named instances come first
    assert sorted(result.migrated) == ids
    for pid in ids:
        assert engine.process_instance(pid).definition_id == v2.id
        assert task_ids(engine, pid) == ["a2"]
        [mark] = migrated_marks(engine, pid)
        assert mark["operation_id"] == result.operation_id and "setwise" in mark
    # every instance is an item of the operation (the items, too, are read 4 a page); the
    # operation's record keeps counts, not ids
    items = list(engine.operation_items(result.operation_id))
    assert [i.process_instance_id for i in items] == result.migrated
    assert {i.state for i in items} == {"DONE"}
    data = engine.operation(result.operation_id)["data"]
    assert (data["migrated"], data["skipped"]) == (10, 0)
    assert "process_instance_ids" not in data


def test_the_result_holds_counts_and_reads_ids_and_reasons_from_the_items(
    engine: Engine, pair: tuple[ProcessDefinition, ProcessDefinition]
) -> None:
    v1, v2 = pair
    ids = [start(engine, v1) for _ in range(4)]
    engine.cancel_process_instance(ids[1])

    result = engine.migrate(rename_plan(engine, v1, v2), ids)

    assert (result.migrated_count, result.skipped_count) == (3, 1)
    assert not result._lists.read  # no id lists until asked
    assert str(result.migrated_count) in repr(result) and ids[0] not in repr(result)
    assert sorted(result.migrated) == sorted(ids[:1] + ids[2:])
    assert result.skipped == {ids[1]: f"process instance '{ids[1]}' has ended (CANCELED)"}
    assert result.warnings == {}
    [skipped] = engine.operation_items(result.operation_id, "SKIPPED")
    assert (skipped.process_instance_id, skipped.reason) == (ids[1], result.skipped[ids[1]])
    operation = engine.operation(result.operation_id)
    assert operation["state"] == "COMPLETED_WITH_SKIPS"


def test_undo_of_a_direct_migration_reads_its_items(
    engine: Engine,
    pair: tuple[ProcessDefinition, ProcessDefinition],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    v1, v2 = pair
    ids = [start(engine, v1, {"n": n}) for n in range(5)]
    before = {pid: live_rows(engine, pid) for pid in ids}
    result = engine.migrate(rename_plan(engine, v1, v2), ids)
    monkeypatch.setattr(_migration, "PAGE_SIZE", 2)  # undo reads the items 2 a page
    pages: list[dict[str, Any]] = []
    spy(monkeypatch, "list_operation_items", pages)

    outcome = engine.undo(result.operation_id)

    assert outcome == {pid: "restored" for pid in ids}
    assert [p["after_position"] for p in pages] == [None, 1, 3]
    for pid in ids:
        assert live_rows(engine, pid) == before[pid]
    assert engine.operation(result.operation_id)["state"] == "UNDONE"


def test_a_set_wise_step_that_fails_leaves_nothing_and_its_instances_go_one_by_one(
    engine: Engine,
    pair: tuple[ProcessDefinition, ProcessDefinition],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    v1, v2 = pair
    ids = [start(engine, v1) for _ in range(3)]
    original = StoreTransaction.update_where

    def concurrent(self: StoreTransaction, table: str, *args: Any, **kwargs: Any) -> int:
        changed = original(self, table, *args, **kwargs)
        # another engine moved an instance meanwhile: the set's instance update misses one
        return changed - 1 if table == "process_instances" else changed

    monkeypatch.setattr(StoreTransaction, "update_where", concurrent)

    result = engine.migrate(rename_plan(engine, v1, v2), ids)

    # the set-wise transaction rolled back whole (its history events and items with it);
    # each instance then migrated on its own, once
    assert sorted(result.migrated) == sorted(ids)
    items = list(engine.operation_items(result.operation_id))
    assert sorted(i.process_instance_id for i in items) == sorted(ids)
    for pid in ids:
        [mark] = migrated_marks(engine, pid)
        assert "setwise" not in mark and "snapshot" in mark
        assert task_ids(engine, pid) == ["a2"]


def test_a_batch_is_created_from_a_query_read_a_page_at_a_time(
    engine: Engine,
    pair: tuple[ProcessDefinition, ProcessDefinition],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    v1, v2 = pair
    ids = sorted(start(engine, v1) for _ in range(5))
    monkeypatch.setattr(_migration, "PAGE_SIZE", 2)

    batch = engine.migrate_async(
        rename_plan(engine, v1, v2), query={"definition_id": v1.id}, start=False
    )

    assert (batch.total, batch.pending) == (5, 5)
    assert [i.process_instance_id for i in engine.operation_items(batch.id)] == ids
    done = engine.resume_batch(batch.id, wait=True)
    assert (done.state, done.done) == ("COMPLETED", 5)
    assert {engine.process_instance(pid).definition_id for pid in ids} == {v2.id}
