"""Embedded subprocesses: scopes the target adds are created, scopes it drops are removed,
mapped scopes keep their ids (Camunda 7's hierarchy preservation)."""

from __future__ import annotations

import pytest
from tests.change.migration._support import (
    assert_tree,
    assert_well_formed,
    complete_task,
    deploy_pair,
    instance_id,
    start,
    subscriptions,
    task_ids,
)

from midflight import Engine
from midflight.change.migration import MigrationPlanValidationError
from midflight.model import ProcessBuilder


def flat() -> ProcessBuilder:
    return ProcessBuilder("p").start_event("s").user_task("a").user_task("b").end_event("e")


def wrapped(sub: str = "sub", *, boundary: bool = False) -> ProcessBuilder:
    builder = (
        ProcessBuilder("p")
        .start_event("s")
        .sub_process(sub)
        .start_event("sub_s")
        .user_task("a")
        .end_event("sub_e")
        .sub_process_done()
        .user_task("b")
        .end_event("e")
    )
    if boundary:
        builder = (
            builder.boundary_event("stop", attached_to=sub, message="stop", correlation_key="=id")
            .user_task("stopped")
            .end_event("e2")
        )
    return builder


def test_map_equal_activities_does_not_map_a_task_whose_flow_scope_changed(
    engine: Engine,
) -> None:
    v1, v2 = deploy_pair(engine, flat().build(), wrapped().build())
    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().build()
    assert plan.target_of("a") is None and plan.target_of("b") == "b"


def test_a_task_moves_into_a_new_subprocess(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, flat().build(), wrapped(boundary=True).build())
    pid = start(engine, v1, {"id": "k1"})
    element = instance_id(engine, pid, "a")
    [task] = engine.user_tasks(pid)

    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().map("a", "a").build()
    [report] = engine.validate_migration(plan, [pid]).instances
    result = engine.migrate(plan, [pid])

    assert result.migrated == [pid]
    assert_tree(engine, pid, "p\n  sub\n    a")
    sub = instance_id(engine, pid, "sub")
    assert report.outcome["created"] and sub not in (element, pid)
    assert instance_id(engine, pid, "a") == element
    assert [t.id for t in engine.user_tasks(pid)] == [task.id]
    # the created scope subscribed to its boundary event
    assert subscriptions(engine, pid) == ["stop"]
    assert_well_formed(engine, pid)
    complete_task(engine, pid, "a")
    assert_tree(engine, pid, "p\n  b")
    assert subscriptions(engine, pid) == []


def test_the_boundary_event_of_a_created_scope_fires(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, flat().build(), wrapped(boundary=True).build())
    pid = start(engine, v1, {"id": "k1"})
    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().map("a", "a").build()
    engine.migrate(plan, [pid])

    engine.correlate_message("stop", "k1")

    assert_tree(engine, pid, "p\n  stopped")
    assert task_ids(engine, pid) == ["stopped"]
    assert_well_formed(engine, pid)


def test_a_task_moves_out_of_a_subprocess_that_the_target_drops(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, wrapped(boundary=True).build(), flat().build())
    pid = start(engine, v1, {"id": "k1"})
    sub = instance_id(engine, pid, "sub")
    engine.set_variables(sub, {"local": 1}, local=True)
    element = instance_id(engine, pid, "a")
    assert subscriptions(engine, pid) == ["stop"]

    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().map("a", "a").build()
    [report] = engine.validate_migration(plan, [pid]).instances
    engine.migrate(plan, [pid])

    assert report.outcome["removed"] == [sub]
    assert_tree(engine, pid, "p\n  a")
    assert instance_id(engine, pid, "a") == element
    assert subscriptions(engine, pid) == []  # the dropped scope's boundary subscription went
    assert "local" not in engine.variables(pid)  # and its local variables with it
    assert_well_formed(engine, pid)
    complete_task(engine, pid, "a")
    assert task_ids(engine, pid) == ["b"]


def test_a_mapped_subprocess_keeps_its_id_and_local_variables(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, wrapped().build(), wrapped("inner").build())
    pid = start(engine, v1)
    sub = instance_id(engine, pid, "sub")
    engine.set_variables(sub, {"local": 1}, local=True)

    plan = engine.migration_plan(v1.id, v2.id).map("sub", "inner").map("a", "a").build()
    engine.migrate(plan, [pid])

    assert_tree(engine, pid, "p\n  inner\n    a")
    assert instance_id(engine, pid, "inner") == sub
    assert engine.variables(pid, sub)["local"] == 1
    assert_well_formed(engine, pid)
    complete_task(engine, pid, "a")
    assert task_ids(engine, pid) == ["b"]


def test_two_tasks_moving_into_one_new_subprocess_share_one_scope_instance(
    engine: Engine,
) -> None:
    def model(wrap: bool) -> ProcessBuilder:
        b = ProcessBuilder("p").start_event("s")
        if wrap:
            b = b.sub_process("sub").start_event("sub_s")
        b = b.parallel_gateway("fork").user_task("a").parallel_gateway("join")
        b = b.move_to("fork").user_task("c").connect_to("join")
        b = b.end_event("sub_e" if wrap else "e")
        if wrap:
            b = b.sub_process_done().end_event("e")
        return b

    v1, v2 = deploy_pair(engine, model(False).build(), model(True).build())
    pid = start(engine, v1)
    plan = engine.migration_plan(v1.id, v2.id).map("a", "a").map("c", "c").build()
    engine.migrate(plan, [pid])

    assert_tree(engine, pid, "p\n  sub\n    a\n    c")
    assert_well_formed(engine, pid)
    complete_task(engine, pid, "a")
    complete_task(engine, pid, "c")
    assert engine.process_instance(pid).state == "COMPLETED"


def test_nested_subprocesses_are_created_top_down(engine: Engine) -> None:
    nested = (
        ProcessBuilder("p")
        .start_event("s")
        .sub_process("outer")
        .start_event("os")
        .sub_process("inner")
        .start_event("is")
        .user_task("a")
        .end_event("ie")
        .sub_process_done()
        .end_event("oe")
        .sub_process_done()
        .user_task("b")
        .end_event("e")
    )
    v1, v2 = deploy_pair(engine, flat().build(), nested.build())
    pid = start(engine, v1)
    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().map("a", "a").build()
    engine.migrate(plan, [pid])

    assert_tree(engine, pid, "p\n  outer\n    inner\n      a")
    assert_well_formed(engine, pid)
    complete_task(engine, pid, "a")
    assert task_ids(engine, pid) == ["b"]


def test_a_mapping_that_leaves_its_subprocess_breaks_the_hierarchy(engine: Engine) -> None:
    two = (
        ProcessBuilder("p")
        .start_event("s")
        .sub_process("one")
        .start_event("s1")
        .user_task("a")
        .end_event("e1")
        .sub_process_done()
        .sub_process("two")
        .start_event("s2")
        .user_task("b")
        .end_event("e2")
        .sub_process_done()
        .end_event("e")
    )
    v1, v2 = deploy_pair(engine, two.build(), two.build())
    with pytest.raises(MigrationPlanValidationError) as caught:
        engine.migration_plan(v1.id, v2.id).map("one", "one").map("a", "b").build()
    assert "hierarchy" in str(caught.value) and "a -> b" in str(caught.value)
