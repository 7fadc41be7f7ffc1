"""Boundary events: the target's new ones subscribe on migration and fire afterwards; ones it
drops lose their subscription or timer; mapped ones keep theirs (re-pointed, same ids)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.change.migration._support import (
    assert_tree,
    assert_well_formed,
    deploy_pair,
    start,
    subscriptions,
    task_ids,
    timers,
)
from tests.conformance.harness import Clock

from midflight import Engine, NotFoundError
from midflight.model import ProcessBuilder


def waiting(boundary: dict[str, object] | None = None, *, bid: str = "b") -> ProcessBuilder:
    """``a`` (a user task) with an optional boundary event ``bid`` leading to ``after_b``."""
    builder = ProcessBuilder("p").start_event("s").user_task("a").user_task("next").end_event("e")
    if boundary is not None:
        builder = (
            builder.boundary_event(bid, attached_to="a", **boundary)  # type: ignore[arg-type]
            .user_task("after_b")
            .end_event("e_b")
        )
    return builder


TIMER = {"timer_duration": "PT1H"}
MESSAGE = {"message": "cancelOrder", "correlation_key": "=orderId"}


def test_an_added_timer_boundary_event_fires_after_migration(engine: Engine, clock: Clock) -> None:
    v1, v2 = deploy_pair(engine, waiting().build(), waiting(TIMER).build())
    pid = start(engine, v1)
    clock.advance(timedelta(minutes=30))  # started 30 minutes before the migration

    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().build()
    [report] = engine.validate_migration(plan, [pid]).instances
    engine.migrate(plan, [pid])

    assert len(report.outcome["subscriptions_added"]) == 1
    # a new boundary timer starts counting at the migration
    assert timers(engine, pid) == {"b": clock.now + timedelta(hours=1)}
    assert_well_formed(engine, pid)
    clock.advance(timedelta(minutes=59))
    assert engine.fire_due_timers() == 0
    clock.advance(timedelta(minutes=1))
    assert engine.fire_due_timers() == 1
    assert_tree(engine, pid, "p\n  after_b")


def test_an_added_message_boundary_event_fires_after_migration(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, waiting().build(), waiting(MESSAGE).build())
    pid = start(engine, v1, {"orderId": "o-1"})

    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().build()
    engine.migrate(plan, [pid])

    assert subscriptions(engine, pid) == ["b"]
    assert_well_formed(engine, pid)
    engine.correlate_message("cancelOrder", "o-1")
    assert_tree(engine, pid, "p\n  after_b")


def test_a_removed_timer_boundary_event_loses_its_timer(engine: Engine, clock: Clock) -> None:
    v1, v2 = deploy_pair(engine, waiting(TIMER).build(), waiting().build())
    pid = start(engine, v1)
    assert set(timers(engine, pid)) == {"b"}

    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().build()
    [report] = engine.validate_migration(plan, [pid]).instances
    engine.migrate(plan, [pid])

    assert len(report.outcome["subscriptions_removed"]) == 1
    assert timers(engine, pid) == {}
    assert_well_formed(engine, pid)
    clock.advance(timedelta(hours=2))
    assert engine.fire_due_timers() == 0
    assert_tree(engine, pid, "p\n  a")


def test_a_removed_message_boundary_event_loses_its_subscription(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, waiting(MESSAGE).build(), waiting().build())
    pid = start(engine, v1, {"orderId": "o-1"})

    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().build()
    engine.migrate(plan, [pid])

    assert subscriptions(engine, pid) == []
    with pytest.raises(NotFoundError):
        engine.correlate_message("cancelOrder", "o-1")
    assert_tree(engine, pid, "p\n  a")
    assert_well_formed(engine, pid)


def test_a_mapped_boundary_timer_keeps_its_job(engine: Engine, clock: Clock) -> None:
    v1, v2 = deploy_pair(engine, waiting(TIMER).build(), waiting(TIMER, bid="b2").build())
    pid = start(engine, v1)
    with engine._store.transaction() as tx:
        [job] = tx.load_instance_rows(pid)["jobs"]

    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().map("b", "b2").build()
    engine.migrate(plan, [pid])

    with engine._store.transaction() as tx:
        [after] = tx.load_instance_rows(pid)["jobs"]
    assert after["id"] == job["id"] and after["due_at"] == job["due_at"]
    assert after["payload"]["catch"] == "b2"
    assert_well_formed(engine, pid)
    clock.advance(timedelta(hours=1))
    assert engine.fire_due_timers() == 1
    assert_tree(engine, pid, "p\n  after_b")


def test_a_boundary_event_the_plan_leaves_unmapped_is_subscribed_anew(
    engine: Engine,
) -> None:
    v1, v2 = deploy_pair(engine, waiting(MESSAGE).build(), waiting(MESSAGE, bid="b2").build())
    pid = start(engine, v1, {"orderId": "o-1"})
    with engine._store.transaction() as tx:
        [sub] = tx.load_instance_rows(pid)["event_subscriptions"]

    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().build()
    engine.migrate(plan, [pid])

    with engine._store.transaction() as tx:
        [after] = tx.load_instance_rows(pid)["event_subscriptions"]
    assert after["element_id"] == "b2" and after["id"] != sub["id"]
    engine.correlate_message("cancelOrder", "o-1")
    assert_tree(engine, pid, "p\n  after_b")


@pytest.mark.parametrize("update", [False, True], ids=["keep-trigger", "update-trigger"])
def test_a_mapped_message_boundary_event_keeps_or_updates_its_trigger(
    engine: Engine, update: bool
) -> None:
    renamed = {"message": "orderCancelled", "correlation_key": "=orderId"}
    v1, v2 = deploy_pair(engine, waiting(MESSAGE).build(), waiting(renamed).build())
    pid = start(engine, v1, {"orderId": "o-1"})
    with engine._store.transaction() as tx:
        [sub] = tx.load_instance_rows(pid)["event_subscriptions"]

    plan = (
        engine.migration_plan(v1.id, v2.id)
        .map_equal_activities()
        .map("b", "b", update_event_trigger=update)
        .build()
    )
    engine.migrate(plan, [pid])

    with engine._store.transaction() as tx:
        [after] = tx.load_instance_rows(pid)["event_subscriptions"]
    assert after["id"] == sub["id"]
    # Camunda 7: without updateEventTrigger the subscription keeps waiting for the old name
    assert after["name"] == ("orderCancelled" if update else "cancelOrder")
    engine.correlate_message(after["name"], "o-1")
    assert_tree(engine, pid, "p\n  after_b")
    assert task_ids(engine, pid) == ["after_b"]


def test_a_non_interrupting_boundary_path_already_taken_is_migrated(engine: Engine) -> None:
    msg = {"message": "remind", "correlation_key": "=orderId", "cancel_activity": False}
    v1, v2 = deploy_pair(engine, waiting(msg).build(), waiting(msg).build())
    pid = start(engine, v1, {"orderId": "o-1"})
    engine.correlate_message("remind", "o-1")
    assert_tree(engine, pid, "p\n  a\n  after_b")

    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().build()
    engine.migrate(plan, [pid])

    assert_tree(engine, pid, "p\n  a\n  after_b")
    assert subscriptions(engine, pid) == ["b"]
    assert task_ids(engine, pid) == ["a", "after_b"]
    assert_well_formed(engine, pid)
