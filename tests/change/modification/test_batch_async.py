"""Batch modification of many instances in the background (``modify_many(...).execute_async``)."""

from __future__ import annotations

from midflight import Engine

from ._support import at_decline, deploy, live_rows, task_ids


def test_an_async_batch_moves_every_token_and_can_be_undone(engine: Engine) -> None:
    deploy(engine, "example1")
    pids = [at_decline(engine) for _ in range(7)]
    before = {pid: live_rows(engine, pid) for pid in pids}
    definition_id = engine.process_instance(pids[0]).definition_id

    batch = (
        engine.modify_many(definition_id)
        .start_before("acceptLoanApplication")
        .cancel_all("declineLoanApplication")
        .process_instances(ids=pids)
        .execute_async(batch_size=3)
    )
    batch = engine.wait_batch(batch.id, timeout=60)

    assert (batch.state, batch.total, batch.done, batch.skipped) == ("COMPLETED", 7, 7, 0)
    for pid in pids:
        assert [t.element_id for t in engine.user_tasks(process_instance_id=pid)] == [
            "acceptLoanApplication"
        ]
    outcome = engine.undo(batch.id)
    assert set(outcome.values()) == {"restored"}
    assert {pid: live_rows(engine, pid) for pid in pids} == before
    assert all(task_ids(engine, pid) for pid in pids)


def test_an_async_batch_skips_instances_it_cannot_modify_with_the_reason(engine: Engine) -> None:
    deploy(engine, "example1")
    good = at_decline(engine)
    ended = at_decline(engine)
    engine.cancel_process_instance(ended)
    definition_id = engine.process_instance(good).definition_id

    batch = (
        engine.modify_many(definition_id)
        .start_before("acceptLoanApplication")
        .cancel_all("declineLoanApplication")
        .process_instances(ids=[good, ended])
        .execute_async()
    )
    batch = engine.wait_batch(batch.id, timeout=60)

    assert (batch.done, batch.skipped) == (1, 1)
    assert "ended" in batch.skipped_reasons[ended]
