"""Gateways: tokens waiting at a join move with it (the arrived branch still counts), and an
event-based gateway's waiting subscriptions follow the target's events."""

from __future__ import annotations

from datetime import timedelta

from tests.change.migration._support import (
    assert_tree,
    assert_well_formed,
    complete_task,
    deploy_pair,
    start,
    subscriptions,
    task_ids,
    timers,
)
from tests.conformance.harness import Clock

from midflight import Engine
from midflight.model import ProcessBuilder


def fork_join(
    *, join: str = "join", after: str | None = None, kind: str = "parallel"
) -> ProcessBuilder:
    """fork -> a, b -> join (-> after) -> end; flows into the join are ``a_in`` and ``b_in``."""
    builder = ProcessBuilder("p").start_event("s")
    inclusive = kind == "inclusive"
    builder = builder.inclusive_gateway("fork") if inclusive else builder.parallel_gateway("fork")
    if inclusive:
        builder = builder.condition("=true")
    builder = builder.flow_id("to_a").user_task("a").flow_id("a_in")
    builder = (
        builder.parallel_gateway(join) if kind == "parallel" else builder.inclusive_gateway(join)
    )
    if after is not None:
        builder = builder.user_task(after)
    builder = builder.end_event("e")
    builder = builder.move_to("fork").flow_id("to_b")
    if inclusive:
        builder = builder.condition("=true")
    return builder.user_task("b").flow_id("b_in").connect_to(join)


def test_a_join_with_one_branch_arrived_fires_when_the_other_arrives(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, fork_join().build(), fork_join(after="c").build())
    pid = start(engine, v1)
    complete_task(engine, pid, "a")  # a's token waits at the join
    assert_tree(engine, pid, "p\n  b")

    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().build()
    engine.migrate(plan, [pid])

    assert_well_formed(engine, pid)
    complete_task(engine, pid, "b")
    assert task_ids(engine, pid) == ["c"]  # the join fired: a's arrival was kept


def test_a_renamed_join_keeps_its_arrived_token(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, fork_join().build(), fork_join(join="merge", after="c").build())
    pid = start(engine, v1)
    complete_task(engine, pid, "a")

    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().map("join", "merge").build()
    engine.migrate(plan, [pid])

    with engine._store.transaction() as tx:
        [token] = tx.load_instance_rows(pid)["join_tokens"]
    assert (token["element_id"], token["flow_id"]) == ("merge", "a_in")
    complete_task(engine, pid, "b")
    assert task_ids(engine, pid) == ["c"]


def test_an_inclusive_join_with_one_branch_arrived(engine: Engine) -> None:
    v1, v2 = deploy_pair(
        engine, fork_join(kind="inclusive").build(), fork_join(kind="inclusive", after="c").build()
    )
    pid = start(engine, v1)
    complete_task(engine, pid, "b")

    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().build()
    engine.migrate(plan, [pid])

    assert_well_formed(engine, pid)
    complete_task(engine, pid, "a")
    assert task_ids(engine, pid) == ["c"]


def test_a_token_over_a_flow_the_target_join_lacks_cannot_migrate(engine: Engine) -> None:
    renamed_flows = (
        ProcessBuilder("p")
        .start_event("s")
        .parallel_gateway("fork")
        .user_task("a")
        .flow_id("a_in_v2")
        .parallel_gateway("join")
        .end_event("e")
        .move_to("fork")
        .user_task("b")
        .flow_id("b_in")
        .connect_to("join")
    )
    v1, v2 = deploy_pair(engine, fork_join().build(), renamed_flows.build())
    pid = start(engine, v1)
    complete_task(engine, pid, "a")

    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().build()
    [report] = engine.validate_migration(plan, [pid]).instances
    result = engine.migrate(plan, [pid])

    assert not report.can_migrate
    assert "a_in" in report.problems[0] and "join" in report.problems[0]
    assert result.skipped[pid] == report.problems[0]
    assert engine.process_instance(pid).definition_id == v1.id


def event_gateway(*, extra: bool = False) -> ProcessBuilder:
    builder = (
        ProcessBuilder("p")
        .start_event("s")
        .event_based_gateway("choose")
        .intermediate_catch_event("paid", message="paid", correlation_key="=orderId")
        .user_task("ship")
        .end_event("e1")
        .move_to("choose")
        .intermediate_catch_event("timeout", timer_duration="PT1H")
        .user_task("remind")
        .end_event("e2")
    )
    if extra:
        builder = (
            builder.move_to("choose")
            .intermediate_catch_event("cancelled", message="cancelled", correlation_key="=orderId")
            .user_task("refund")
            .end_event("e3")
        )
    return builder


def test_an_event_based_gateway_subscribes_to_the_event_the_target_adds(
    engine: Engine, clock: Clock
) -> None:
    v1, v2 = deploy_pair(engine, event_gateway().build(), event_gateway(extra=True).build())
    pid = start(engine, v1, {"orderId": "o-1"})
    assert subscriptions(engine, pid) == ["paid"]
    due = timers(engine, pid)["timeout"]

    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().build()
    engine.migrate(plan, [pid])

    assert_tree(engine, pid, "p\n  choose")
    assert subscriptions(engine, pid) == ["cancelled", "paid"]
    assert timers(engine, pid) == {"timeout": due}
    assert_well_formed(engine, pid)
    engine.correlate_message("cancelled", "o-1")
    assert task_ids(engine, pid) == ["refund"]
    assert subscriptions(engine, pid) == [] and timers(engine, pid) == {}
    clock.advance(timedelta(hours=2))
    assert engine.fire_due_timers() == 0


def test_an_event_based_gateway_drops_the_event_the_target_removes(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, event_gateway(extra=True).build(), event_gateway().build())
    pid = start(engine, v1, {"orderId": "o-1"})

    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().build()
    engine.migrate(plan, [pid])

    assert subscriptions(engine, pid) == ["paid"]
    assert_well_formed(engine, pid)
    engine.correlate_message("paid", "o-1")
    assert task_ids(engine, pid) == ["ship"]
