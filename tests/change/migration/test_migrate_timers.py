"""Timers under the three policies: ``keep`` the due date, ``reset`` it from the target's
definition at migration time, or ``keep_elapsed``: the time already waited counts against the
target's new duration. The job keeps its id under every policy."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from tests.change.migration._support import (
    assert_tree,
    assert_well_formed,
    deploy_pair,
    start,
    timers,
)
from tests.conformance.harness import Clock

from midflight import Engine
from midflight.errors import InvalidArgumentError
from midflight.model import ProcessBuilder

T0 = "2026-03-02T09:00:00+00:00"


def boundary(duration: str) -> ProcessBuilder:
    return (
        ProcessBuilder("p")
        .start_event("s")
        .user_task("a")
        .end_event("e")
        .boundary_event("late", attached_to="a", timer_duration=duration)
        .user_task("escalate")
        .end_event("e2")
    )


def catch(duration: str) -> ProcessBuilder:
    return (
        ProcessBuilder("p")
        .start_event("s")
        .intermediate_catch_event("wait", timer_duration=duration)
        .user_task("after")
        .end_event("e")
    )


def event_subprocess(duration: str) -> ProcessBuilder:
    return (
        ProcessBuilder("p")
        .start_event("s")
        .user_task("a")
        .end_event("e")
        .event_sub_process("reminder")
        .start_event("tick", timer_duration=duration, interrupting=False)
        .user_task("remind")
        .end_event("re")
        .sub_process_done()
    )


def at(hours: float) -> datetime:
    return datetime.fromisoformat(T0) + timedelta(hours=hours)


# started at 9:00 with a one-hour timer, migrated at 9:30 to a two-hour one
EXPECTED = {"keep": at(1), "reset": at(2.5), "keep_elapsed": at(2)}


@pytest.mark.parametrize("policy", list(EXPECTED))
@pytest.mark.parametrize(
    ("model", "catch_id", "fired_tree"),
    [
        (boundary, "late", "p\n  escalate"),
        (catch, "wait", "p\n  after"),
        (event_subprocess, "tick", "p\n  a\n  reminder\n    remind"),
    ],
    ids=["boundary", "catch-event", "event-subprocess"],
)
def test_timer_policy(
    engine: Engine,
    clock: Clock,
    policy: str,
    model: object,
    catch_id: str,
    fired_tree: str,
) -> None:
    build = model  # a function of the duration
    assert callable(build)
    v1, v2 = deploy_pair(engine, build("PT1H").build(), build("PT2H").build())
    pid = start(engine, v1)
    assert timers(engine, pid) == {catch_id: at(1)}
    with engine._store.transaction() as tx:
        [job] = [j for j in tx.load_instance_rows(pid)["jobs"] if j["kind"] == "TIMER"]
    clock.advance(timedelta(minutes=30))

    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().timers(policy).build()
    [report] = engine.validate_migration(plan, [pid]).instances
    assert report.outcome["timers"] == {job["id"]: EXPECTED[policy].isoformat()}
    engine.migrate(plan, [pid])

    assert timers(engine, pid) == {catch_id: EXPECTED[policy]}
    with engine._store.transaction() as tx:
        [after] = [j for j in tx.load_instance_rows(pid)["jobs"] if j["kind"] == "TIMER"]
    assert after["id"] == job["id"]
    assert_well_formed(engine, pid)
    clock.now = EXPECTED[policy] - timedelta(seconds=1)
    assert engine.fire_due_timers() == 0
    clock.now = EXPECTED[policy]
    assert engine.fire_due_timers() == 1
    assert_tree(engine, pid, fired_tree)


def test_an_instruction_overrides_the_plans_timer_policy(engine: Engine, clock: Clock) -> None:
    def two_timers(duration: str) -> ProcessBuilder:
        return (
            boundary(duration)
            .boundary_event(
                "later", attached_to="a", timer_duration=duration, cancel_activity=False
            )
            .end_event("e3")
        )

    v1, v2 = deploy_pair(engine, two_timers("PT1H").build(), two_timers("PT2H").build())
    pid = start(engine, v1)
    clock.advance(timedelta(minutes=30))

    plan = (
        engine.migration_plan(v1.id, v2.id)
        .map_equal_activities()
        .timers("keep")
        .map("later", "later", timers="keep_elapsed")
        .build()
    )
    engine.migrate(plan, [pid])

    assert timers(engine, pid) == {"late": at(1), "later": at(2)}


def test_a_timer_policy_round_trips_through_json(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, boundary("PT1H").build(), boundary("PT2H").build())
    plan = (
        engine.migration_plan(v1.id, v2.id)
        .map_equal_activities()
        .timers("reset")
        .map("late", "late", timers="keep_elapsed")
        .build()
    )
    again = type(plan).from_json(plan.to_json())
    assert again.timers == "reset"
    assert again.instruction_for("late") is not None
    assert again.instruction_for("late").timers == "keep_elapsed"  # type: ignore[union-attr]


def test_an_unknown_timer_policy_is_refused(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, boundary("PT1H").build(), boundary("PT2H").build())
    with pytest.raises(InvalidArgumentError, match="keep, reset, keep_elapsed"):
        engine.migration_plan(v1.id, v2.id).timers("restart")
    with pytest.raises(InvalidArgumentError, match="'restart'"):
        engine.migration_plan(v1.id, v2.id).map("late", "late", timers="restart").build()
