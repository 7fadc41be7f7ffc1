"""Bad input: every wrong call is a clear error and leaves the state as it was."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from midflight.engine import Engine
from midflight.errors import (
    InvalidArgumentError,
    NotFoundError,
    ProcessEngineError,
)
from midflight.model.builder import ProcessBuilder

from ._support import Clock, deploy_one, events, snapshot

UNKNOWN = "no-such-id"


@pytest.fixture
def waiting(engine: Engine) -> str:
    """A running instance waiting at a user task and a service task; returns its id."""
    model = (
        ProcessBuilder("p")
        .start_event("s")
        .parallel_gateway("fork")
        .user_task("review")
        .move_to("fork")
        .service_task("work", job_type="work")
        .build()
    )
    deploy_one(engine, model)
    return engine.start_process("p", {"a": 1}).id


CALLS: list[tuple[str, Callable[[Engine], Any]]] = [
    ("start_process", lambda e: e.start_process(UNKNOWN)),
    ("process_instance", lambda e: e.process_instance(UNKNOWN)),
    ("activity_instance_tree", lambda e: e.activity_instance_tree(UNKNOWN)),
    ("cancel_process_instance", lambda e: e.cancel_process_instance(UNKNOWN)),
    ("variables", lambda e: e.variables(UNKNOWN)),
    ("set_variables", lambda e: e.set_variables(UNKNOWN, {"x": 1})),
    ("user_task", lambda e: e.user_task(UNKNOWN)),
    ("claim", lambda e: e.claim(UNKNOWN, "ann")),
    ("complete_user_task", lambda e: e.complete_user_task(UNKNOWN)),
    ("complete_job", lambda e: e.complete_job(UNKNOWN)),
    ("fail_job", lambda e: e.fail_job(UNKNOWN, "x", 1)),
    ("throw_error", lambda e: e.throw_error(UNKNOWN, "CODE")),
    ("resolve_incident", lambda e: e.resolve_incident(UNKNOWN)),
    ("history", lambda e: e.history(UNKNOWN)),
    ("definition", lambda e: e.definition(UNKNOWN)),
    ("suspend_definition", lambda e: e.suspend_definition(UNKNOWN)),
    ("delete_definition", lambda e: e.delete_definition(UNKNOWN)),
    ("correlate_message", lambda e: e.correlate_message(UNKNOWN, "k")),
]


def _failures(
    calls: list[tuple[str, Callable[[], Any]]], expected: type[Exception]
) -> dict[str, str]:
    """Run each call; name those that did not raise ``expected`` (with what they did instead).

    One test goes through a whole table of calls (cheaper than a database per call); the
    assert on the result still names every call that misbehaved.
    """
    failures: dict[str, str] = {}
    for name, call in calls:
        try:
            call()
        except expected as exc:
            if not str(exc):
                failures[name] = f"{type(exc).__name__} without a message"
        except Exception as exc:
            failures[name] = f"{type(exc).__name__}: {exc}"
        else:
            failures[name] = "no error"
    return failures


def test_unknown_ids_raise_not_found_and_change_nothing(engine: Engine, waiting: str) -> None:
    before = snapshot(engine, waiting)
    definitions = engine.definitions()

    calls = [(name, lambda call=call: call(engine)) for name, call in CALLS]
    assert _failures(calls, NotFoundError) == {}

    assert snapshot(engine, waiting) == before
    assert engine.definitions() == definitions


def test_a_scope_of_another_or_no_instance_is_not_found(engine: Engine, waiting: str) -> None:
    before = snapshot(engine, waiting)
    with pytest.raises(NotFoundError):
        engine.variables(waiting, scope_id=UNKNOWN)
    assert snapshot(engine, waiting) == before


BAD_VARIABLES: list[Any] = [
    {"x": object()},
    {"x": {1, 2}},
    {"x": float("nan")},
    {"x": float("inf")},
    {"x": b"bytes"},
    {"x": {1: "non-string key"}},
    {"x": [1, {"y": object()}]},
    {"": 1},
    {3: "non-string name"},
    [("x", 1)],
    "x=1",
]


def test_wrong_variable_types_are_refused_everywhere(engine: Engine, waiting: str) -> None:
    (task,) = engine.user_tasks(process_instance_id=waiting)
    (job,) = engine.activate_jobs("work", "w")
    before = snapshot(engine, waiting)

    calls: list[tuple[str, Callable[[], Any]]] = []
    for bad in BAD_VARIABLES:
        calls += [
            (f"start_process({bad!r})", lambda bad=bad: engine.start_process("p", bad)),
            (f"set_variables({bad!r})", lambda bad=bad: engine.set_variables(waiting, bad)),
            (
                f"complete_user_task({bad!r})",
                lambda bad=bad: engine.complete_user_task(task.id, bad),
            ),
            (f"complete_job({bad!r})", lambda bad=bad: engine.complete_job(job.id, bad)),
        ]
    assert _failures(calls, InvalidArgumentError) == {}

    assert [p.id for p in engine.process_instances(key="p")] == [waiting]
    assert snapshot(engine, waiting) == before
    assert engine.user_task(task.id) == task
    engine.complete_job(job.id)  # the job is still there, untouched


def test_an_error_message_names_the_bad_variable(engine: Engine, waiting: str) -> None:
    with pytest.raises(InvalidArgumentError, match=r"order\.lines\[1\]"):
        engine.set_variables(waiting, {"order": {"lines": [1, object()]}})


def test_floats_become_exact_decimals(engine: Engine, waiting: str) -> None:
    engine.set_variables(waiting, {"f": 0.1 + 0.2, "d": Decimal("0.30")})
    assert engine.variables(waiting)["f"] == Decimal("0.30000000000000004")
    assert str(engine.variables(waiting)["d"]) == "0.30"


def test_completing_a_finished_task_is_refused(engine: Engine, waiting: str) -> None:
    (task,) = engine.user_tasks(process_instance_id=waiting)
    engine.complete_user_task(task.id, {"done": True})
    before = snapshot(engine, waiting)

    with pytest.raises(NotFoundError, match="already completed"):
        engine.complete_user_task(task.id, {"done": False})

    assert snapshot(engine, waiting) == before
    assert len(events(engine, waiting, "task.completed")) == 1


def test_completing_a_finished_job_is_refused(engine: Engine, waiting: str) -> None:
    (job,) = engine.activate_jobs("work", "w")
    engine.complete_job(job.id)
    before = snapshot(engine, waiting)

    for call in (
        lambda: engine.complete_job(job.id),
        lambda: engine.fail_job(job.id, "late", 1),
        lambda: engine.throw_error(job.id, "LATE"),
    ):
        with pytest.raises(NotFoundError):
            call()

    assert snapshot(engine, waiting) == before


def test_starting_a_suspended_version_is_refused(engine: Engine, waiting: str) -> None:
    definition_id = engine.process_instance(waiting).definition_id
    engine.suspend_definition(definition_id)

    with pytest.raises(ProcessEngineError, match="suspended"):
        engine.start_process("p", {"a": 2})
    with pytest.raises(ProcessEngineError, match="suspended"):
        engine.start_process("p", version=1)

    assert [p.id for p in engine.process_instances(key="p")] == [waiting]
    assert engine.definition(definition_id).running_instances == 1


def test_commands_on_an_ended_instance_are_refused(engine: Engine, waiting: str) -> None:
    engine.cancel_process_instance(waiting)
    before = snapshot(engine, waiting)

    with pytest.raises(ProcessEngineError):
        engine.cancel_process_instance(waiting)
    with pytest.raises(ProcessEngineError, match="ended"):
        engine.activity_instance_tree(waiting)
    with pytest.raises(NotFoundError):
        engine.set_variables(waiting, {"x": 1})

    assert snapshot(engine, waiting) == before
    assert engine.process_instance(waiting).state == "CANCELED"


def test_wrong_arguments_are_refused(engine: Engine, waiting: str) -> None:
    (task,) = engine.user_tasks(process_instance_id=waiting)
    before = snapshot(engine, waiting)

    calls: list[tuple[str, Callable[[], Any]]] = [
        ("max_jobs=0", lambda: engine.activate_jobs("work", "w", max_jobs=0)),
        ("lock_seconds=0", lambda: engine.activate_jobs("work", "w", lock_seconds=0)),
        ("claim by ''", lambda: engine.claim(task.id, "")),
        ("unknown query field", lambda: engine.process_instances({"colour": "red"})),
    ]
    assert _failures(calls, InvalidArgumentError) == {}
    assert snapshot(engine, waiting) == before

    (job,) = engine.activate_jobs("work", "w")  # the bad calls locked nothing
    bad_retries: list[tuple[str, Callable[[], Any]]] = [
        (f"retries={r!r}", lambda r=r: engine.fail_job(job.id, "x", r)) for r in (-1, 1.5, "2")
    ]
    assert _failures(bad_retries, InvalidArgumentError) == {}
    assert snapshot(engine, waiting) == before
    assert events(engine, waiting, "job.failed") == []


def test_a_naive_clock_is_refused(store_url: str) -> None:
    model = ProcessBuilder("p").start_event("s").user_task("u").build()
    with Engine(store_url, clock=lambda: datetime(2030, 1, 1)) as engine:
        with pytest.raises(InvalidArgumentError, match="aware"):
            engine.deploy(model)
        assert engine.definitions() == []


def test_a_bad_database_url_is_refused() -> None:
    with pytest.raises(InvalidArgumentError):
        Engine("not a url at all")
    with pytest.raises(InvalidArgumentError):
        Engine("mysql://localhost/db")


def test_the_same_task_cannot_be_completed_twice_even_after_a_clock_move(
    engine: Engine, waiting: str, clock: Clock
) -> None:
    (task,) = engine.user_tasks(process_instance_id=waiting)
    engine.complete_user_task(task.id)
    clock.advance(days=1)
    with pytest.raises(NotFoundError):
        engine.complete_user_task(task.id)
    assert len(events(engine, waiting, "task.completed")) == 1
