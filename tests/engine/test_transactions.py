"""Several commands in one transaction: ``engine.transaction()``."""

from __future__ import annotations

import pytest

from midflight.engine import Engine
from midflight.errors import NotFoundError
from midflight.model.builder import ProcessBuilder

from ._support import deploy_one


@pytest.fixture
def review(engine: Engine) -> Engine:
    deploy_one(
        engine, ProcessBuilder("review").start_event("s").user_task("t").end_event("e").build()
    )
    return engine


def test_commands_in_one_transaction_land_together_and_a_failed_one_changes_nothing(
    review: Engine,
) -> None:
    engine = review
    with engine.transaction():
        first = engine.start_process("review").id
        (task,) = engine.user_tasks(process_instance_id=first)  # reads see the writes so far
        engine.complete_user_task(task.id)
        with pytest.raises(NotFoundError):
            engine.complete_user_task(task.id)  # its savepoint is rolled back, nothing else
        second = engine.start_process("review").id

    assert engine.process_instance(first).state == "COMPLETED"
    assert engine.process_instance(second).state == "ACTIVE"
    assert [t.process_instance_id for t in engine.user_tasks()] == [second]


def test_a_transaction_that_raises_leaves_nothing_of_its_commands(review: Engine) -> None:
    engine = review
    started: list[str] = []
    with pytest.raises(RuntimeError), engine.transaction():
        started.append(engine.start_process("review").id)
        with engine.transaction():  # a nested one joins the outer one
            started.append(engine.start_process("review").id)
        raise RuntimeError("abort")

    assert len(started) == 2
    for pid in started:
        with pytest.raises(NotFoundError):
            engine.process_instance(pid)
    assert engine.user_tasks() == []
