"""Soundness warnings: a migration that leaves tokens that can never complete (here a parallel
join waiting for a branch no token can reach any more) is carried out and reported, as a
modification is, in the dry run, the result, the history and the items of a batch."""

from __future__ import annotations

import pytest
from tests.change.migration._support import deploy_pair, start
from tests.change.migration.test_migrate_gateways import fork_join

from midflight import Engine, ProcessDefinition
from midflight.model import ProcessBuilder

STUCK = (
    "parallel gateway 'join' in the process needs a token over flow 'c_in', which no "
    "remaining token can reach: the instance cannot complete"
)


def rerouted() -> ProcessBuilder:
    """fork -> a -> join; fork -> b -> end (b no longer joins); fork -> c -> join."""
    return (
        ProcessBuilder("p")
        .start_event("s")
        .parallel_gateway("fork")
        .flow_id("to_a")
        .user_task("a")
        .flow_id("a_in")
        .parallel_gateway("join")
        .end_event("e")
        .move_to("fork")
        .flow_id("to_b")
        .user_task("b")
        .end_event("b_end")
        .move_to("fork")
        .flow_id("to_c")
        .user_task("c")
        .flow_id("c_in")
        .connect_to("join")
    )


@pytest.fixture
def pair(engine: Engine) -> tuple[ProcessDefinition, ProcessDefinition]:
    return deploy_pair(engine, fork_join().build(), rerouted().build())


def test_one_instance_is_migrated_and_warned_about(
    engine: Engine, pair: tuple[ProcessDefinition, ProcessDefinition]
) -> None:
    v1, v2 = pair
    pid = start(engine, v1)  # tokens at a and b
    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().build()

    [report] = engine.validate_migration(plan, [pid]).instances
    result = engine.migrate(plan, [pid])

    assert report.can_migrate and report.warnings == [STUCK]
    assert "warnings" not in report.outcome
    assert result.migrated == [pid] and result.warnings == {pid: [STUCK]}
    assert engine.process_instance(pid).definition_id == v2.id
    [mark] = [h.data or {} for h in engine.history(pid) if h.event == "process.migrated"]
    assert mark["warnings"] == [STUCK]


def test_instances_migrated_set_wise_are_each_warned_about(
    engine: Engine, pair: tuple[ProcessDefinition, ProcessDefinition]
) -> None:
    v1, v2 = pair
    ids = [start(engine, v1) for _ in range(3)]
    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().build()

    result = engine.migrate(plan, ids)

    assert result.warnings == {pid: [STUCK] for pid in ids}
    for pid in ids:
        [mark] = [h.data or {} for h in engine.history(pid) if h.event == "process.migrated"]
        assert "setwise" in mark and mark["warnings"] == [STUCK]


def test_a_batch_keeps_each_instance_warnings_with_its_item(
    engine: Engine, pair: tuple[ProcessDefinition, ProcessDefinition]
) -> None:
    v1, v2 = pair
    ids = [start(engine, v1) for _ in range(3)]
    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().build()

    batch = engine.wait_batch(engine.migrate_async(plan, ids, batch_size=2).id, 30)

    assert (batch.state, batch.done) == ("COMPLETED", 3)
    items = list(engine.operation_items(batch.id))
    assert sorted(i.process_instance_id for i in items) == sorted(ids)
    assert {(i.state, i.reason, i.warnings) for i in items} == {("DONE", None, (STUCK,))}
