"""Multi-instance activities: the body and its active inner instances move together, keeping
ids, loop counters, the body's counters and each inner instance's element variable."""

from __future__ import annotations

import pytest
from tests.change.migration._support import (
    assert_tree,
    assert_well_formed,
    deploy_pair,
    start,
    task_ids,
)

from midflight import Engine
from midflight.change.migration import MigrationPlanValidationError
from midflight.model import ProcessBuilder

BODY = "#multiInstanceBody"


def reviews(
    task: str = "review", *, sequential: bool = False, after: str | None = None
) -> ProcessBuilder:
    builder = (
        ProcessBuilder("p")
        .start_event("s")
        .user_task(task)
        .multi_instance(collection="=reviewers", element="reviewer", sequential=sequential)
    )
    if after is not None:
        builder = builder.user_task(after)
    return builder.end_event("e")


REVIEWERS = {"reviewers": ["ann", "bob", "cy"]}


def inner_state(engine: Engine, pid: str, element: str) -> list[tuple[str, int | None, str]]:
    """(id, loop counter, reviewer) of every inner instance of ``element``."""
    tree = engine.activity_instance_tree(pid)
    return sorted(
        (i.id, i.loop_counter, engine.variables(pid, i.id)["reviewer"])
        for i in tree.instances_of(element)
    )


def test_three_active_inner_instances_migrate_with_their_body(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, reviews().build(), reviews(after="decide").build())
    pid = start(engine, v1, REVIEWERS)
    before = inner_state(engine, pid, "review")
    assert len(before) == 3
    tasks = sorted(t.id for t in engine.user_tasks(pid))
    body = engine.activity_instance_tree(pid).instances_of("review" + BODY)[0].id

    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().build()
    assert plan.target_of("review" + BODY) == "review" + BODY
    engine.migrate(plan, [pid])

    assert_tree(engine, pid, f"p\n  review{BODY}\n    review\n    review\n    review")
    assert inner_state(engine, pid, "review") == before
    assert engine.activity_instance_tree(pid).instances_of("review" + BODY)[0].id == body
    assert sorted(t.id for t in engine.user_tasks(pid)) == tasks
    body_vars = engine.variables(pid, body)
    assert (body_vars["nrOfInstances"], body_vars["nrOfActiveInstances"]) == (3, 3)
    assert_well_formed(engine, pid)
    for task in engine.user_tasks(pid):
        engine.complete_user_task(task.id)
    assert task_ids(engine, pid) == ["decide"]


def test_a_renamed_multi_instance_activity_maps_body_and_inner_activity(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, reviews().build(), reviews("check").build())
    pid = start(engine, v1, REVIEWERS)
    before = inner_state(engine, pid, "review")

    plan = (
        engine.migration_plan(v1.id, v2.id)
        .map("review" + BODY, "check" + BODY)
        .map("review", "check")
        .build()
    )
    engine.migrate(plan, [pid])

    assert inner_state(engine, pid, "check") == before
    assert task_ids(engine, pid) == ["check", "check", "check"]
    assert_well_formed(engine, pid)
    for task in engine.user_tasks(pid):
        engine.complete_user_task(task.id)
    assert engine.process_instance(pid).state == "COMPLETED"


def test_the_inner_activity_cannot_be_mapped_without_its_body(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, reviews().build(), reviews("check").build())
    with pytest.raises(MigrationPlanValidationError) as caught:
        engine.migration_plan(v1.id, v2.id).map("review", "check").build()
    assert "review -> check" in str(caught.value)
    assert "multi-instance body" in str(caught.value)


def test_a_sequential_multi_instance_continues_with_the_next_item(engine: Engine) -> None:
    v1, v2 = deploy_pair(
        engine, reviews(sequential=True).build(), reviews(sequential=True, after="decide").build()
    )
    pid = start(engine, v1, REVIEWERS)
    [task] = engine.user_tasks(pid)
    engine.complete_user_task(task.id)
    [(_, counter, reviewer)] = inner_state(engine, pid, "review")
    assert reviewer == "bob"

    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().build()
    engine.migrate(plan, [pid])

    assert inner_state(engine, pid, "review")[0][1:] == (counter, "bob")
    assert_well_formed(engine, pid)
    [task] = engine.user_tasks(pid)
    engine.complete_user_task(task.id)
    assert inner_state(engine, pid, "review")[0][2] == "cy"
    [task] = engine.user_tasks(pid)
    engine.complete_user_task(task.id)
    assert task_ids(engine, pid) == ["decide"]


def test_parallel_cannot_become_sequential(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, reviews().build(), reviews(sequential=True).build())
    with pytest.raises(MigrationPlanValidationError, match="sequential and parallel"):
        engine.migration_plan(v1.id, v2.id).map_equal_activities().build()
