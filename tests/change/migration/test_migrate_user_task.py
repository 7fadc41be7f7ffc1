"""Migrating instances waiting in user tasks: same id, renamed, followed by new steps."""

from __future__ import annotations

import pytest
from tests.change.migration._support import (
    assert_tree,
    assert_well_formed,
    complete_task,
    deploy_pair,
    instance_id,
    live_rows,
    start,
    task_ids,
)

from midflight import Engine
from midflight.change.migration import MigrationPlanValidationError
from midflight.model import ProcessBuilder


def linear(*tasks: str, key: str = "p") -> ProcessBuilder:
    builder = ProcessBuilder(key).start_event("s")
    for task in tasks:
        builder = builder.user_task(task, candidate_groups="clerks")
    return builder.end_event("e")


def test_a_waiting_user_task_keeps_its_ids_assignee_and_dates(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, linear("a", "b").build(), linear("a", "x", "b").build())
    pid = start(engine, v1)
    [task] = engine.user_tasks(pid)
    engine.claim(task.id, "joe")
    element = instance_id(engine, pid, "a")

    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().build()
    result = engine.migrate(plan, [pid])

    assert result.migrated == [pid] and result.skipped == {}
    [after] = engine.user_tasks(pid)
    assert (after.id, after.element_instance_id, after.assignee) == (task.id, element, "joe")
    assert after.created_at == task.created_at and after.candidate_groups == ["clerks"]
    assert after.definition_id == v2.id
    assert engine.process_instance(pid).definition_id == v2.id
    assert_well_formed(engine, pid)
    # the instance goes on along the target's flows: x is new after a
    complete_task(engine, pid, "a")
    assert task_ids(engine, pid) == ["x"]
    complete_task(engine, pid, "x")
    complete_task(engine, pid, "b")
    assert engine.process_instance(pid).state == "COMPLETED"


def test_a_renamed_activity_is_mapped_by_hand(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, linear("review", "ship").build(), linear("check", "ship").build())
    pid = start(engine, v1)
    [task] = engine.user_tasks(pid)
    element = instance_id(engine, pid, "review")

    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().map("review", "check").build()
    engine.migrate(plan, [pid])

    assert_tree(engine, pid, "p\n  check")
    assert instance_id(engine, pid, "check") == element
    [after] = engine.user_tasks(pid)
    assert (after.id, after.element_id) == (task.id, "check")
    assert_well_formed(engine, pid)
    complete_task(engine, pid, "check")
    assert task_ids(engine, pid) == ["ship"]


def test_map_equal_activities_leaves_a_renamed_activity_unmapped(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, linear("review").build(), linear("check").build())
    pid = start(engine, v1)
    before = live_rows(engine, pid)
    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().build()
    assert plan.target_of("review") is None

    result = engine.migrate(plan, [pid])

    assert result.migrated == []
    assert "review" in result.skipped[pid] and "no mapping" in result.skipped[pid]
    assert live_rows(engine, pid) == before


def test_a_user_task_cannot_become_a_service_task(engine: Engine) -> None:
    v2_model = ProcessBuilder("p").start_event("s").service_task("a", job_type="t").end_event("e")
    v1, v2 = deploy_pair(engine, linear("a").build(), v2_model.build())
    with pytest.raises(MigrationPlanValidationError) as caught:
        engine.migration_plan(v1.id, v2.id).map("a", "a").build()
    assert "userTask" in str(caught.value) and "serviceTask" in str(caught.value)


def test_parallel_user_tasks_each_keep_their_task(engine: Engine) -> None:
    def model(extra: bool) -> ProcessBuilder:
        b = ProcessBuilder("p").start_event("s").parallel_gateway("fork")
        b = b.user_task("a").parallel_gateway("join").end_event("e")
        b = b.move_to("fork").user_task("b").connect_to("join")
        if extra:
            b = b.move_to("fork").user_task("c").connect_to("join")
        return b

    v1, v2 = deploy_pair(engine, model(False).build(), model(True).build())
    pid = start(engine, v1)
    tasks = {t.element_id: t.id for t in engine.user_tasks(pid)}
    complete_task(engine, pid, "a")  # one token waits at the join

    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().build()
    engine.migrate(plan, [pid])

    assert {t.element_id: t.id for t in engine.user_tasks(pid)} == {"b": tasks["b"]}
    assert_well_formed(engine, pid)
