"""Wrong input gets a clear error and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from tests.change.migration._support import deploy_pair, live_rows, start

from midflight import Engine, InvalidArgumentError, NotFoundError
from midflight.change.migration import MigrationPlan, MigrationPlanValidationError
from midflight.model import ProcessBuilder


def order(key: str = "order", task: str = "pack") -> ProcessBuilder:
    return ProcessBuilder(key).start_event("s").user_task(task).user_task("ship").end_event("e")


def explode(variables: dict[str, Any]) -> dict[str, Any]:
    raise RuntimeError("the address service is down")


def not_json(variables: dict[str, Any]) -> dict[str, Any]:
    return {**variables, "when": {1, 2}}


@pytest.fixture
def pair(engine: Engine) -> tuple[str, str]:
    v1, v2 = deploy_pair(engine, order().build(), order(task="pick").build())
    return v1.id, v2.id


def test_a_plan_between_unrelated_definitions_leaves_active_elements_unmapped(
    engine: Engine,
) -> None:
    [orders] = engine.deploy(order().build())
    [invoices] = engine.deploy(
        ProcessBuilder("invoice").start_event("s").user_task("check").end_event("e").build()
    )
    pid = start(engine, orders)
    before = live_rows(engine, pid)
    plan = engine.migration_plan(orders.id, invoices.id).map_equal_activities().build()
    assert {i.source for i in plan.instructions} == {"s", "e"}

    [report] = engine.validate_migration(plan, [pid]).instances
    result = engine.migrate(plan, [pid])

    assert not report.can_migrate
    assert report.problems == [
        f"[pack] active instance {engine.activity_instance_tree(pid).children[0].id} of "
        "'pack' has no mapping; map 'pack' to an element of the target"
    ]
    assert result.skipped == {pid: report.problems[0]} and result.migrated == []
    assert live_rows(engine, pid) == before


def test_an_unknown_definition(engine: Engine, pair: tuple[str, str]) -> None:
    with pytest.raises(NotFoundError, match="'order:9:nope'"):
        engine.migration_plan("order:9:nope", pair[1])
    with pytest.raises(NotFoundError, match="'order:9:nope'"):
        engine.migration_plan(pair[0], "order:9:nope")
    stale = MigrationPlan("gone:1:x", pair[1], ())
    with pytest.raises(NotFoundError, match="gone:1:x"):
        engine.migrate(stale, query={})


def test_instances_of_another_definition_are_refused_before_anything_moves(
    engine: Engine, pair: tuple[str, str]
) -> None:
    [v1, v2] = engine.definitions("order")
    ours = start(engine, v1)
    theirs = start(engine, v2)
    before = live_rows(engine, ours)
    plan = engine.migration_plan(*pair).map("pack", "pick").map_equal_activities().build()

    with pytest.raises(InvalidArgumentError) as caught:
        engine.migrate(plan, [ours, theirs])
    with pytest.raises(InvalidArgumentError):
        engine.migrate_async(plan, [ours, theirs])

    assert theirs in str(caught.value) and v2.id in str(caught.value)
    assert live_rows(engine, ours) == before
    assert engine.batches() == []
    with pytest.raises(NotFoundError, match="'no-such-instance'"):
        engine.migrate(plan, [ours, "no-such-instance"])
    assert live_rows(engine, ours) == before


def test_an_empty_selection(engine: Engine, pair: tuple[str, str]) -> None:
    plan = engine.migration_plan(*pair).map("pack", "pick").build()
    for call in (
        lambda: engine.migrate(plan, []),
        lambda: engine.migrate(plan, query={"element_id": "ship"}),
        lambda: engine.migrate_async(plan, []),
        lambda: engine.validate_migration(plan, []),
    ):
        with pytest.raises(InvalidArgumentError, match="no process instances selected"):
            call()
    assert engine.batches() == []


@pytest.mark.parametrize(
    ("transform", "expected"),
    [
        (explode, "explode raised RuntimeError: the address service is down"),
        (not_json, "when"),
    ],
    ids=["raises", "not-json"],
)
def test_a_failing_transform_rolls_the_instance_back(
    engine: Engine, pair: tuple[str, str], transform: Any, expected: str
) -> None:
    pid = engine.start_process("order", {"address": "x"}, version=1).id
    before = live_rows(engine, pid)
    events = [h.id for h in engine.history(pid)]
    plan = (
        engine.migration_plan(*pair)
        .map("pack", "pick")
        .set_variables({"channel": "email"})
        .transform(transform)
        .build()
    )

    [report] = engine.validate_migration(plan, [pid]).instances
    result = engine.migrate(plan, [pid])

    assert expected in report.problems[0]
    assert result.skipped[pid] == report.problems[0]
    assert live_rows(engine, pid) == before
    assert [h.id for h in engine.history(pid)] == events


def test_an_ended_instance_is_skipped(engine: Engine, pair: tuple[str, str]) -> None:
    pid = engine.start_process("order", version=1).id
    engine.cancel_process_instance(pid)
    result = engine.migrate(engine.migration_plan(*pair).map("pack", "pick").build(), [pid])
    assert "has ended (CANCELED)" in result.skipped[pid]


def test_builder_misuse(engine: Engine, pair: tuple[str, str]) -> None:
    builder = engine.migration_plan(*pair)
    with pytest.raises(InvalidArgumentError, match="function"):
        builder.transform("not callable")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="keep, reset, keep_elapsed"):
        builder.timers("never")
    with pytest.raises(InvalidArgumentError):
        builder.set_variables({"bad": object()})
    plan = builder.map("pack", "pick").build()
    pid = engine.start_process("order", version=1).id
    with pytest.raises(InvalidArgumentError, match="batch_size"):
        engine.migrate_async(plan, [pid], batch_size=0)
    with pytest.raises(MigrationPlanValidationError):
        engine.migrate_async(MigrationPlan(pair[0], pair[1], (_bad(),)), [pid])
    assert engine.batches() == []


def _bad() -> Any:
    from midflight.change.migration import MigrationInstruction

    return MigrationInstruction("pack", "no-such-element")
