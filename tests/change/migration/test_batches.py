"""Batches: migration in the background with progress and throughput, pause/resume/cancel,
skipped instances with reasons, retry after a fix, canary mode, auto-pause on failures, undo,
and retiring the old version once its instances are gone."""

from __future__ import annotations

from typing import Any

import pytest
from tests.change.migration._support import deploy_pair, start, task_ids

from midflight import Engine, NotFoundError, ProcessEngineError
from midflight.model import ProcessBuilder


def model(*, extra: bool) -> ProcessBuilder:
    builder = ProcessBuilder("p").start_event("s").user_task("a")
    if extra:
        builder = builder.user_task("audit")
    return builder.end_event("e")


def refuse_flagged(variables: dict[str, Any]) -> dict[str, Any]:
    """A transform that cannot handle instances flagged ``legacy``."""
    if variables.get("legacy"):
        raise ValueError(f"order {variables['n']} has a legacy address format")
    return {**variables, "migrated": True}


@pytest.fixture
def pair(engine: Engine) -> tuple[str, str]:
    v1, v2 = deploy_pair(engine, model(extra=False).build(), model(extra=True).build())
    return v1.id, v2.id


def instances(engine: Engine, count: int, legacy: set[int] = frozenset()) -> list[str]:  # type: ignore[assignment]
    [v1] = engine.definitions("p")[:1]
    return [start(engine, v1, {"n": n, "legacy": n in legacy}) for n in range(count)]


def on(engine: Engine, definition_id: str) -> int:
    return len(engine.process_instances(definition_id=definition_id))


def test_a_batch_migrates_everything_and_reports_progress(
    engine: Engine, pair: tuple[str, str]
) -> None:
    ids = instances(engine, 30)
    plan = engine.migration_plan(*pair).map_equal_activities().build()

    batch = engine.migrate_async(plan, ids, batch_size=7, operator="ops")
    assert (batch.kind, batch.total) == ("batch", 30)
    done = engine.wait_batch(batch.id, timeout=60)

    assert (done.state, done.done, done.skipped, done.pending) == ("COMPLETED", 30, 0, 0)
    assert done.throughput_per_s is not None and done.throughput_per_s > 0
    assert done.data["operator"] == "ops" and done.data["batch_size"] == 7
    assert on(engine, pair[0]) == 0 and on(engine, pair[1]) == 30
    assert [b.id for b in engine.batches()] == [batch.id]
    assert engine.batch(batch.id) == done
    # every instance goes on in v2
    engine.complete_user_task(engine.user_tasks(ids[0])[0].id)
    assert task_ids(engine, ids[0]) == ["audit"]


def test_old_version_counts_drop_to_zero_so_it_can_be_deleted(
    engine: Engine, pair: tuple[str, str]
) -> None:
    ids = instances(engine, 12)
    counts = {d.id: d.running_instances for d in engine.definitions("p")}
    assert counts == {pair[0]: 12, pair[1]: 0}
    with pytest.raises(ProcessEngineError, match="12 instance"):
        engine.delete_definition(pair[0])

    batch = engine.migrate_async(engine.migration_plan(*pair).map_equal_activities().build(), ids)
    engine.wait_batch(batch.id, timeout=60)

    counts = {d.id: d.running_instances for d in engine.definitions("p")}
    assert counts == {pair[0]: 0, pair[1]: 12}
    engine.delete_definition(pair[0])
    assert [d.id for d in engine.definitions("p")] == [pair[1]]


def test_pause_resume_and_cancel(engine: Engine, pair: tuple[str, str]) -> None:
    ids = instances(engine, 10)
    plan = engine.migration_plan(*pair).map_equal_activities().build()

    batch = engine.migrate_async(plan, ids, batch_size=3, start=False)
    assert engine.pause_batch(batch.id).state == "PAUSED"
    assert engine.run_batches() == 0  # a paused batch does not run
    assert engine.batch(batch.id).pending == 10 and on(engine, pair[1]) == 0
    with pytest.raises(ProcessEngineError, match="PAUSED"):
        engine.pause_batch(batch.id)

    resumed = engine.resume_batch(batch.id, wait=True)
    assert (resumed.state, resumed.done) == ("COMPLETED", 10)
    with pytest.raises(ProcessEngineError, match="COMPLETED"):
        engine.cancel_batch(batch.id)

    more = instances(engine, 4)
    other = engine.migrate_async(plan, more, start=False)
    cancelled = engine.cancel_batch(other.id)
    assert (cancelled.state, cancelled.pending) == ("CANCELED", 4)
    with pytest.raises(ProcessEngineError, match="CANCELED"):
        engine.resume_batch(other.id)
    assert all(engine.process_instance(pid).definition_id == pair[0] for pid in more)
    with pytest.raises(NotFoundError):
        engine.batch("no-such-batch")


def test_canary_mode_pauses_after_n_instances(engine: Engine, pair: tuple[str, str]) -> None:
    ids = instances(engine, 20)
    plan = engine.migration_plan(*pair).map_equal_activities().build()

    batch = engine.migrate_async(plan, ids, batch_size=5, canary=5)
    paused = engine.wait_batch(batch.id, timeout=60)

    assert (paused.state, paused.done, paused.pending) == ("PAUSED", 5, 15)
    assert "canary" in paused.data["paused_reason"]
    assert [engine.process_instance(p).definition_id for p in ids[:5]] == [pair[1]] * 5
    assert on(engine, pair[0]) == 15
    resumed = engine.resume_batch(batch.id, wait=True)
    assert (resumed.state, resumed.done) == ("COMPLETED", 20)  # the canary pauses only once


def test_the_canary_stops_exactly_at_n_inside_a_larger_step(
    engine: Engine, pair: tuple[str, str]
) -> None:
    ids = instances(engine, 12)
    plan = engine.migration_plan(*pair).map_equal_activities().build()

    batch = engine.migrate_async(plan, ids, batch_size=10, canary=3)
    paused = engine.wait_batch(batch.id, timeout=60)

    assert (paused.state, paused.done, paused.pending) == ("PAUSED", 3, 9)


def test_skipped_instances_have_reasons_and_are_retried_after_a_fix(
    engine: Engine, pair: tuple[str, str]
) -> None:
    ids = instances(engine, 12, legacy={3, 7})
    plan = engine.migration_plan(*pair).map_equal_activities().transform(refuse_flagged).build()

    batch = engine.wait_batch(engine.migrate_async(plan, ids, batch_size=5).id, timeout=60)

    assert (batch.state, batch.done, batch.skipped) == ("COMPLETED", 10, 2)
    assert set(batch.skipped_reasons) == {ids[3], ids[7]}
    assert "order 3 has a legacy address format" in batch.skipped_reasons[ids[3]]
    assert engine.process_instance(ids[3]).definition_id == pair[0]

    for pid in (ids[3], ids[7]):  # the fix: clean the data
        engine.set_variables(pid, {"legacy": False})
    retried = engine.retry_skipped(batch.id, wait=True)

    assert (retried.state, retried.done, retried.skipped) == ("COMPLETED", 12, 0)
    assert on(engine, pair[0]) == 0
    assert engine.variables(ids[3])["migrated"] is True


def test_a_high_failure_rate_pauses_the_batch(engine: Engine, pair: tuple[str, str]) -> None:
    ids = instances(engine, 40, legacy=set(range(0, 40, 2)))
    plan = engine.migration_plan(*pair).map_equal_activities().transform(refuse_flagged).build()

    batch = engine.migrate_async(plan, ids, batch_size=10, max_failure_rate=0.25)
    paused = engine.wait_batch(batch.id, timeout=60)

    assert paused.state == "PAUSED" and paused.pending == 20
    assert (paused.done, paused.skipped) == (10, 10)
    assert "failure rate 50%" in paused.data["paused_reason"]
    for pid in ids:
        engine.set_variables(pid, {"legacy": False})
    finished = engine.retry_skipped(batch.id, wait=True)
    assert (finished.state, finished.done, finished.skipped) == ("COMPLETED", 40, 0)


def test_a_batch_is_undone(engine: Engine, pair: tuple[str, str]) -> None:
    ids = instances(engine, 8)
    plan = engine.migration_plan(*pair).map_equal_activities().build()
    batch = engine.wait_batch(engine.migrate_async(plan, ids, batch_size=3).id, timeout=60)
    engine.complete_user_task(engine.user_tasks(ids[0])[0].id)  # one moves on

    outcome = engine.undo(batch.id)

    assert outcome[ids[0]].startswith("the instance has moved on since the operation")
    assert [outcome[pid] for pid in ids[1:]] == ["restored"] * 7
    assert on(engine, pair[0]) == 7 and on(engine, pair[1]) == 1
    assert engine.operation(batch.id)["state"] == "PARTIALLY_UNDONE"
    for pid in ids[1:]:
        engine.complete_user_task(engine.user_tasks(pid)[0].id)
        assert engine.process_instance(pid).state == "COMPLETED"  # v1 has no audit step
