"""Validation is a dry run: each instance's report says exactly what migrating would keep,
create, remove and re-point, and nothing changes."""

from __future__ import annotations

from tests.change.migration._support import (
    deploy_pair,
    history_events,
    instance_id,
    live_rows,
    start,
)

from midflight import Engine
from midflight.model import ProcessBuilder


def v1_model() -> ProcessBuilder:
    """a in subprocess ``old`` with a message boundary event; b, c in parallel."""
    return (
        ProcessBuilder("p")
        .start_event("s")
        .parallel_gateway("fork")
        .sub_process("old")
        .start_event("os")
        .user_task("a")
        .end_event("oe")
        .sub_process_done()
        .parallel_gateway("join")
        .end_event("e")
        .move_to("fork")
        .user_task("b")
        .flow_id("b_in")
        .connect_to("join")
        .boundary_event("nudge", attached_to="old", message="nudge", correlation_key="=k")
        .end_event("ne")
    )


def v2_model() -> ProcessBuilder:
    """``old`` is gone; a moves into a new subprocess ``new`` with a timer; b is renamed c."""
    return (
        ProcessBuilder("p")
        .start_event("s")
        .parallel_gateway("fork")
        .sub_process("new")
        .start_event("ns")
        .user_task("a")
        .end_event("ne2")
        .sub_process_done()
        .parallel_gateway("join")
        .end_event("e")
        .move_to("fork")
        .user_task("c")
        .flow_id("b_in")
        .connect_to("join")
        .boundary_event("deadline", attached_to="new", timer_duration="P1D")
        .end_event("de")
    )


def test_the_report_says_what_would_happen_and_nothing_changes(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, v1_model().build(), v2_model().build())
    pid = start(engine, v1, {"k": "1"})
    ids = {e: instance_id(engine, pid, e) for e in ("old", "a", "b")}
    rows, events = live_rows(engine, pid), history_events(engine, pid)
    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().map("a", "a").map("b", "c")

    report = engine.validate_migration(plan.build(), [pid])

    assert report.can_migrate_all and report.plan_problems == []
    [instance] = report.instances
    assert (instance.process_instance_id, instance.can_migrate, instance.problems) == (
        pid,
        True,
        [],
    )
    outcome = instance.outcome
    assert outcome["repointed"] == {ids["a"]: "a", ids["b"]: "c"}
    assert len(outcome["created"]) == 1  # the instance of ``new``
    assert outcome["removed"] == [ids["old"]]
    assert len(outcome["subscriptions_added"]) == 1  # the deadline timer of ``new``
    assert len(outcome["subscriptions_removed"]) == 1  # the nudge subscription of ``old``
    assert outcome["variables_set"] == [] and outcome["variables_removed"] == []
    # nothing changed: rows, history, definition
    assert live_rows(engine, pid) == rows
    assert history_events(engine, pid) == events
    assert engine.process_instance(pid).definition_id == v1.id
    assert engine.operation  # no operation was recorded for a dry run
    assert engine.batches() == []


def test_the_report_covers_instances_that_can_and_cannot_migrate(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, v1_model().build(), v2_model().build())
    at_a = start(engine, v1, {"k": "1"})
    at_a_only = start(engine, v1, {"k": "2"})
    engine.complete_user_task(engine.user_tasks(at_a_only, element_id="b")[0].id)
    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().map("a", "a").build()

    report = engine.validate_migration(plan, [at_a, at_a_only])

    assert not report.can_migrate_all
    by_id = {r.process_instance_id: r for r in report.instances}
    assert not by_id[at_a].can_migrate and "'b'" in by_id[at_a].problems[0]
    assert by_id[at_a].outcome == {}
    assert by_id[at_a_only].can_migrate


def test_instances_are_selected_by_query(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, v1_model().build(), v2_model().build())
    first, second = start(engine, v1, {"k": "1"}), start(engine, v1, {"k": "2"})
    engine.complete_user_task(engine.user_tasks(second, element_id="b")[0].id)
    start(engine, v2, {"k": "3"})  # of the target: never selected
    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().map("a", "a").build()

    everyone = engine.validate_migration(plan, query={})
    waiting_in_b = engine.validate_migration(plan, query={"element_id": "b"})

    assert sorted(r.process_instance_id for r in everyone.instances) == sorted([first, second])
    assert [r.process_instance_id for r in waiting_in_b.instances] == [first]
