"""Call activities: the calling instance and the called instance migrate independently; the
call activity keeps its id, so the called instance still finds its way back."""

from __future__ import annotations

from tests.change.migration._support import (
    assert_tree,
    assert_well_formed,
    complete_task,
    deploy_pair,
    instance_id,
    start,
    task_ids,
)

from midflight import Engine
from midflight.model import ProcessBuilder


def parent(call: str = "call", *, after: str = "archive") -> ProcessBuilder:
    return (
        ProcessBuilder("parent")
        .start_event("s")
        .call_activity(call, process_id="child")
        .user_task(after)
        .end_event("e")
    )


def child(*, extra: bool = False) -> ProcessBuilder:
    builder = ProcessBuilder("child").start_event("cs").user_task("work")
    if extra:
        builder = builder.user_task("double_check")
    return builder.end_event("ce")


def called_instance(engine: Engine, pid: str) -> str:
    [called] = [i for i in engine.process_instances(key="child") if i.state == "ACTIVE"]
    assert called.parent_process_instance_id == pid
    return called.id


def test_the_calling_instance_migrates_while_the_called_one_runs(engine: Engine) -> None:
    engine.deploy(child().build())
    v1, v2 = deploy_pair(engine, parent().build(), parent(after="file").build())
    pid = start(engine, v1)
    call = instance_id(engine, pid, "call")
    called = called_instance(engine, pid)

    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().build()
    engine.migrate(plan, [pid])

    assert_tree(engine, pid, "parent\n  call")
    assert instance_id(engine, pid, "call") == call
    assert_well_formed(engine, pid)
    complete_task(engine, called, "work")
    assert engine.process_instance(called).state == "COMPLETED"
    assert task_ids(engine, pid) == ["file"]  # the target's path after the call


def test_a_renamed_call_activity_still_receives_its_child(engine: Engine) -> None:
    engine.deploy(child().build())
    v1, v2 = deploy_pair(engine, parent().build(), parent("invoke").build())
    pid = start(engine, v1)
    called = called_instance(engine, pid)

    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().map("call", "invoke").build()
    engine.migrate(plan, [pid])

    assert_tree(engine, pid, "parent\n  invoke")
    complete_task(engine, called, "work")
    assert task_ids(engine, pid) == ["archive"]


def test_the_called_instance_migrates_on_its_own(engine: Engine) -> None:
    [c1] = engine.deploy(child().build(), version_tag="v1")
    [p1] = engine.deploy(parent().build())
    pid = start(engine, p1)
    called = called_instance(engine, pid)
    assert engine.process_instance(called).definition_id == c1.id
    [c2] = engine.deploy(child(extra=True).build(), version_tag="v2")

    plan = engine.migration_plan(c1.id, c2.id).map_equal_activities().build()
    engine.migrate(plan, [called])

    info = engine.process_instance(called)
    assert (info.definition_id, info.parent_process_instance_id) == (c2.id, pid)
    assert engine.process_instance(pid).definition_id == p1.id
    assert_well_formed(engine, called)
    complete_task(engine, called, "work")
    complete_task(engine, called, "double_check")  # the step the child's v2 added
    assert engine.process_instance(called).state == "COMPLETED"
    assert task_ids(engine, pid) == ["archive"]
