"""User tasks: queries, claim and unclaim, completion."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from midflight.engine import Engine
from midflight.errors import InvalidArgumentError, NotFoundError, ProcessEngineError
from midflight.model.builder import ProcessBuilder

from ._support import deploy_one, events, leaf, tree_shape


@pytest.fixture
def two_step(engine: Engine) -> Engine:
    model = (
        ProcessBuilder("claim")
        .start_event("s")
        .user_task("check", name="Check claim", assignee="=clerk", due_date="=due")
        .user_task("pay_out", candidate_users="=payers")
        .end_event("e")
        .build()
    )
    deploy_one(engine, model)
    return engine


def test_user_tasks_are_queried_by_instance_element_and_assignee(two_step: Engine) -> None:
    engine = two_step
    due = "2030-02-01T12:00:00Z"
    a = engine.start_process("claim", {"clerk": "ann", "due": due, "payers": ["x", "y"]}).id
    b = engine.start_process("claim", {"clerk": "bob", "due": due, "payers": "x"}).id

    assert {t.process_instance_id for t in engine.user_tasks()} == {a, b}
    (task_a,) = engine.user_tasks(process_instance_id=a)
    assert engine.user_tasks(assignee="bob")[0].process_instance_id == b
    assert engine.user_tasks(assignee="carol") == []
    assert engine.user_tasks(element_id="pay_out") == []
    assert (task_a.name, task_a.element_id, task_a.assignee) == ("Check claim", "check", "ann")
    assert task_a.due_date == datetime(2030, 2, 1, 12, 0, tzinfo=UTC)
    assert engine.user_task(task_a.id) == task_a

    engine.complete_user_task(task_a.id)
    (payout,) = engine.user_tasks(element_id="pay_out")
    assert payout.process_instance_id == a
    assert payout.candidate_users == ["x", "y"]
    assert payout.assignee is None
    assert len(engine.user_tasks(process_instance_id=a, element_id="pay_out", assignee=None)) == 1


def test_tasks_at_an_element_are_found_across_instances_scopes_and_loops(engine: Engine) -> None:
    # user_tasks(element_id=...) alone goes through the element instances' index: tasks in a
    # subprocess and the inner instances of a multi-instance task are found too, and only live
    # tasks of that element, oldest first.
    model = (
        ProcessBuilder("review")
        .start_event("s")
        .sub_process("stage")
        .start_event("stage_start")
        .user_task("check")
        .multi_instance(cardinality=2)
        .end_event("stage_end")
        .sub_process_done()
        .user_task("sign")
        .end_event("e")
        .build()
    )
    deploy_one(engine, model)
    first = engine.start_process("review").id
    second = engine.start_process("review").id

    checks = engine.user_tasks(element_id="check")
    assert [t.process_instance_id for t in checks] == [first, first, second, second]
    assert engine.user_tasks(element_id="sign") == []
    assert engine.user_tasks(element_id="stage") == []  # a scope, not a task
    assert engine.user_tasks(element_id="check", process_instance_id=second) == checks[2:]

    for task in checks[:2]:
        engine.complete_user_task(task.id)
    assert [t.process_instance_id for t in engine.user_tasks(element_id="check")] == [second] * 2
    assert [t.process_instance_id for t in engine.user_tasks(element_id="sign")] == [first]


def test_claim_assigns_and_a_second_user_cannot_take_it(two_step: Engine) -> None:
    engine = two_step
    pid = engine.start_process("claim", {"clerk": None, "payers": None}).id
    (task,) = engine.user_tasks(process_instance_id=pid)
    assert task.assignee is None

    claimed = engine.claim(task.id, "ann")
    assert claimed.assignee == "ann"
    assert engine.user_task(task.id).assignee == "ann"
    assert engine.claim(task.id, "ann").assignee == "ann"  # claiming again is harmless
    with pytest.raises(ProcessEngineError, match="ann"):
        engine.claim(task.id, "bob")
    assert engine.user_task(task.id).assignee == "ann"
    assert [t.id for t in engine.user_tasks(assignee="ann")] == [task.id]

    engine.unclaim(task.id)
    assert engine.claim(task.id, "bob").assignee == "bob"
    claims = [
        (e.event, (e.data or {}).get("assignee"))
        for e in events(engine, pid, "task.claimed", "task.unclaimed")
    ]
    assert claims == [
        ("task.claimed", "ann"),
        ("task.claimed", "ann"),
        ("task.unclaimed", None),
        ("task.claimed", "bob"),
    ]


def test_complete_moves_on_and_records_the_completion(two_step: Engine) -> None:
    engine = two_step
    pid = engine.start_process("claim", {"clerk": "ann", "payers": None}).id
    (task,) = engine.user_tasks(process_instance_id=pid)

    engine.complete_user_task(task.id, {"amount": 100})

    assert tree_shape(engine, pid) == ("claim", (leaf("pay_out"),))
    (done,) = events(engine, pid, "task.completed")
    assert done.data == {"task_id": task.id, "assignee": "ann"}
    assert done.element_id == "check"
    assert engine.variables(pid)["amount"] == 100
    with pytest.raises(NotFoundError):
        engine.user_task(task.id)


def test_completing_a_finished_task_is_an_error_and_changes_nothing(two_step: Engine) -> None:
    engine = two_step
    pid = engine.start_process("claim", {"clerk": "ann", "payers": None}).id
    (task,) = engine.user_tasks(process_instance_id=pid)
    engine.complete_user_task(task.id)
    history = engine.history(pid)

    with pytest.raises(NotFoundError, match=task.id):
        engine.complete_user_task(task.id, {"late": True})
    with pytest.raises(NotFoundError):
        engine.claim(task.id, "bob")

    assert engine.history(pid) == history
    assert "late" not in engine.variables(pid)
    assert len(events(engine, pid, "task.completed")) == 1


def test_tasks_of_a_canceled_instance_are_gone(two_step: Engine) -> None:
    engine = two_step
    pid = engine.start_process("claim", {"clerk": "ann", "payers": None}).id
    (task,) = engine.user_tasks(process_instance_id=pid)
    engine.cancel_process_instance(pid)

    assert engine.user_tasks() == []
    with pytest.raises(NotFoundError):
        engine.complete_user_task(task.id)


def test_claim_needs_a_user(two_step: Engine) -> None:
    engine = two_step
    pid = engine.start_process("claim", {"clerk": None, "payers": None}).id
    (task,) = engine.user_tasks(process_instance_id=pid)
    with pytest.raises(InvalidArgumentError):
        engine.claim(task.id, "")
    assert engine.user_task(task.id).assignee is None


def test_an_invalid_due_date_is_an_incident(engine: Engine) -> None:
    model = ProcessBuilder("p").start_event("s").user_task("u", due_date="=due").build()
    deploy_one(engine, model)
    pid = engine.start_process("p", {"due": "next tuesday"}).id

    (incident,) = engine.incidents(pid)
    assert (incident.type, incident.element_id) == ("EXPRESSION", "u")
    assert engine.user_tasks(process_instance_id=pid) == []

    engine.set_variables(pid, {"due": "2030-03-01T00:00:00Z"})
    engine.resolve_incident(incident.id)
    (task,) = engine.user_tasks(process_instance_id=pid)
    assert task.due_date == datetime(2030, 3, 1, tzinfo=UTC)
    assert engine.incidents(pid) == []
