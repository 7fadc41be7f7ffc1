"""The audit trail of a migration and its undo: one ``process.migrated`` event per instance
(source, target, mapping, operator, annotation), the instance's earlier history intact, and an
undo that restores every live row exactly, or refuses and says what happened since."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from tests.change.migration._support import (
    assert_well_formed,
    deploy_pair,
    history_events,
    live_rows,
    start,
    task_ids,
)
from tests.conformance.harness import Clock

from midflight import Engine, NotFoundError, ProcessEngineError
from midflight.model import ProcessBuilder


def v1_model() -> ProcessBuilder:
    return (
        ProcessBuilder("p")
        .start_event("s")
        .sub_process("old")
        .start_event("os")
        .user_task("a", assignee="=owner")
        .end_event("oe")
        .sub_process_done()
        .user_task("b")
        .end_event("e")
        .boundary_event("ping", attached_to="old", message="ping", correlation_key="=k")
        .end_event("pe")
        .boundary_event("late", attached_to="a", timer_duration="PT1H")
        .end_event("le")
    )


def v2_model() -> ProcessBuilder:
    return (
        ProcessBuilder("p")
        .start_event("s")
        .sub_process("new")
        .start_event("ns")
        .user_task("a2", assignee="=owner")
        .end_event("ne")
        .sub_process_done()
        .user_task("b")
        .end_event("e")
        .boundary_event("pong", attached_to="new", message="pong", correlation_key="=k")
        .end_event("pe")
        .boundary_event("late", attached_to="a2", timer_duration="PT3H")
        .end_event("le")
    )


def rename_owner(variables: dict[str, Any]) -> dict[str, Any]:
    out = dict(variables)
    out["assignee"] = out.pop("owner")
    return out


def full_plan(engine: Engine, v1: str, v2: str) -> Any:
    return (
        engine.migration_plan(v1, v2)
        .map("a", "a2")
        .map("late", "late")
        .timers("reset")
        .transform(rename_owner)
        .set_variables({"round": 2}, scope="new")
        .annotate("OPS-7: move reviews into the new subprocess")
        .build()
    )


def test_each_instance_records_its_migration_and_keeps_its_history(
    engine: Engine, clock: Clock
) -> None:
    v1, v2 = deploy_pair(engine, v1_model().build(), v2_model().build())
    pid = start(engine, v1, {"owner": "ann", "k": "1"})
    earlier = [(h.id, h.event, h.element_id) for h in engine.history(pid)]
    clock.advance(timedelta(minutes=5))

    result = engine.migrate(full_plan(engine, v1.id, v2.id), [pid], operator="operations")

    history = engine.history(pid)
    assert [(h.id, h.event, h.element_id) for h in history[: len(earlier)]] == earlier
    [mark] = [h for h in history if h.event == "process.migrated"]
    assert mark.timestamp == clock.now
    data = mark.data or {}
    assert data["operation_id"] == result.operation_id
    assert (data["source_definition_id"], data["target_definition_id"]) == (v1.id, v2.id)
    assert data["mapping"] == {"a": "a2", "late": "late"}
    assert data["operator"] == "operations"
    assert data["annotation"] == "OPS-7: move reviews into the new subprocess"
    assert ("element.migrated", "a2") in [(h.event, h.element_id) for h in history]
    operation = engine.operation(result.operation_id)
    assert (operation["kind"], operation["state"]) == ("migration", "COMPLETED")


def test_undo_restores_every_live_row_exactly(engine: Engine, clock: Clock) -> None:
    v1, v2 = deploy_pair(engine, v1_model().build(), v2_model().build())
    pid = start(engine, v1, {"owner": "ann", "k": "1"})
    clock.advance(timedelta(minutes=20))
    before = live_rows(engine, pid)

    result = engine.migrate(full_plan(engine, v1.id, v2.id), [pid])
    migrated = live_rows(engine, pid)
    assert migrated != before
    assert_well_formed(engine, pid)

    assert engine.undo(result.operation_id) == {pid: "restored"}

    assert live_rows(engine, pid) == before
    assert history_events(engine, pid)[-1] == "operation.undone"
    assert engine.operation(result.operation_id)["state"] == "UNDONE"
    # and the instance runs on in v1: the old boundary subscription and timer are back
    engine.correlate_message("ping", "1")
    assert task_ids(engine, pid) == []
    assert engine.process_instance(pid).state == "COMPLETED"
    with pytest.raises(ProcessEngineError, match="undone already"):
        engine.undo(result.operation_id)


def test_undo_of_a_set_wise_migration_restores_every_instance(engine: Engine) -> None:
    def simple(task: str) -> ProcessBuilder:
        return ProcessBuilder("p").start_event("s").user_task(task, assignee="joe").end_event("e")

    v1, v2 = deploy_pair(engine, simple("a").build(), simple("a2").build())
    ids = [start(engine, v1, {"n": n}) for n in range(6)]
    before = {pid: live_rows(engine, pid) for pid in ids}
    plan = engine.migration_plan(v1.id, v2.id).map("a", "a2").annotate("rename").build()

    result = engine.migrate(plan, ids, operator="ops")

    assert sorted(result.migrated) == sorted(ids)
    for pid in ids:
        marks = [h for h in engine.history(pid) if h.event == "process.migrated"]
        assert len(marks) == 1
        data = marks[0].data or {}
        assert (data["mapping"], data["operator"], data["annotation"]) == (
            {"a": "a2"},
            "ops",
            "rename",
        )
        assert task_ids(engine, pid) == ["a2"]
        assert_well_formed(engine, pid)

    outcome = engine.undo(result.operation_id)

    assert outcome == {pid: "restored" for pid in ids}
    for pid in ids:
        assert live_rows(engine, pid) == before[pid]


def test_undo_refuses_an_instance_that_moved_on_and_says_what_changed(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, v1_model().build(), v2_model().build())
    pid = start(engine, v1, {"owner": "ann", "k": "1"})
    result = engine.migrate(full_plan(engine, v1.id, v2.id), [pid])
    engine.complete_user_task(engine.user_tasks(pid)[0].id)
    after = live_rows(engine, pid)

    with pytest.raises(ProcessEngineError) as caught:
        engine.undo(result.operation_id)

    message = str(caught.value)
    assert "moved on since the operation" in message
    assert "task.completed" in message and pid in message
    assert live_rows(engine, pid) == after
    assert engine.operation(result.operation_id)["state"] == "COMPLETED"


def test_undo_of_an_unknown_operation(engine: Engine) -> None:
    with pytest.raises(NotFoundError, match="no operation 'nope'"):
        engine.undo("nope")
