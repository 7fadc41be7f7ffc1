"""Properties over random instance states of one model pair (Hypothesis, derandomized, modest):
migration never leaves a malformed tree, and undo restores the exact state.

Random instances are driven to random wait states by completing tasks, correlating a message
and letting timers fire; two instances get the same steps, so they have the same shape and the
engine may move them set-wise, while a single one moves one by one."""

from __future__ import annotations

import contextlib
import uuid
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.change.migration._support import live_rows, malformations
from tests.conformance.harness import Clock

from midflight import Engine, NotFoundError
from midflight.model import ProcessBuilder


def v1_model() -> ProcessBuilder:
    return (
        ProcessBuilder("p")
        .start_event("s")
        .parallel_gateway("fork")
        .sub_process("review_sub")
        .start_event("rs")
        .user_task("review")
        .end_event("re")
        .sub_process_done()
        .flow_id("from_review")
        .parallel_gateway("join")
        .user_task("final")
        .end_event("e")
        .move_to("fork")
        .user_task("approve")
        .multi_instance(collection="=approvers", element="approver")
        .flow_id("from_approve")
        .connect_to("join")
        .move_to("fork")
        .intermediate_catch_event("paid", message="paid", correlation_key="=k")
        .flow_id("from_paid")
        .connect_to("join")
        .boundary_event(
            "slow", attached_to="review_sub", timer_duration="PT1H", cancel_activity=False
        )
        .user_task("remind")
        .end_event("re2")
    )


def v2_model() -> ProcessBuilder:
    """review gains a check step, the subprocess a message boundary event, the slow timer a
    longer duration; final moves into a new subprocess ``closing``."""
    return (
        ProcessBuilder("p")
        .start_event("s")
        .parallel_gateway("fork")
        .sub_process("review_sub")
        .start_event("rs")
        .user_task("review")
        .user_task("check")
        .end_event("re")
        .sub_process_done()
        .flow_id("from_review")
        .parallel_gateway("join")
        .sub_process("closing")
        .start_event("cs")
        .user_task("final")
        .end_event("ce")
        .sub_process_done()
        .end_event("e")
        .move_to("fork")
        .user_task("approve")
        .multi_instance(collection="=approvers", element="approver")
        .flow_id("from_approve")
        .connect_to("join")
        .move_to("fork")
        .intermediate_catch_event("paid", message="paid", correlation_key="=k")
        .flow_id("from_paid")
        .connect_to("join")
        .boundary_event(
            "slow", attached_to="review_sub", timer_duration="PT2H", cancel_activity=False
        )
        .user_task("remind")
        .end_event("re2")
        .boundary_event("abort", attached_to="review_sub", message="abort", correlation_key="=k")
        .end_event("ae")
    )


STEPS = st.lists(
    st.tuples(st.sampled_from(["task", "task", "task", "message", "timer"]), st.integers(0, 7)),
    max_size=7,
)


def drive(engine: Engine, clock: Clock, pids: list[str], steps: list[tuple[str, int]]) -> None:
    """Apply the same steps to every instance of ``pids``."""
    for kind, n in steps:
        if kind == "timer":
            clock.advance(timedelta(minutes=61))
            engine.fire_due_timers()
            continue
        for pid in pids:
            if engine.process_instance(pid).state != "ACTIVE":
                continue
            if kind == "message":
                with contextlib.suppress(NotFoundError):  # nothing waits for it (any more)
                    engine.correlate_message("paid", engine.variables(pid)["k"])
                continue
            tasks = sorted(engine.user_tasks(pid), key=lambda t: (t.element_id, t.created_at, t.id))
            if tasks:
                engine.complete_user_task(tasks[n % len(tasks)].id)


@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS, together=st.booleans())
def test_migration_keeps_trees_well_formed_and_undo_restores_them(
    engine: Engine, clock: Clock, steps: list[tuple[str, int]], together: bool
) -> None:
    definitions = {d.version: d for d in engine.definitions("p")}
    if not definitions:
        engine.deploy(v1_model().build(), version_tag="v1")
        engine.deploy(v2_model().build(), version_tag="v2")
        definitions = {d.version: d for d in engine.definitions("p")}
    v1, v2 = definitions[1], definitions[2]
    pids = []
    for _ in range(2 if together else 1):
        key = uuid.uuid4().hex
        pid = engine.start_process("p", {"approvers": ["ann", "bob"], "k": key}, version=1).id
        pids.append(pid)
    drive(engine, clock, pids, steps)
    live = [p for p in pids if engine.process_instance(p).state == "ACTIVE"]
    if not live:
        return
    before: dict[str, Any] = {pid: live_rows(engine, pid) for pid in live}
    plan = (
        engine.migration_plan(v1.id, v2.id)
        .map_equal_activities()
        .map("final", "final")
        .timers("keep_elapsed")
        .build()
    )

    result = engine.migrate(plan, live)

    assert not set(result.migrated) & set(result.skipped)
    assert set(result.migrated) | set(result.skipped) == set(live)
    for pid in live:
        assert malformations(engine, pid) == [], (steps, pid)
        expected = v2.id if pid in result.migrated else v1.id
        assert engine.process_instance(pid).definition_id == expected
        if pid in result.skipped:
            assert live_rows(engine, pid) == before[pid]
    if result.migrated:
        outcome = engine.undo(result.operation_id)
        assert outcome == {pid: "restored" for pid in result.migrated}
        for pid in result.migrated:
            assert live_rows(engine, pid) == before[pid], steps
