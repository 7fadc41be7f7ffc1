"""Several engine processes on one PostgreSQL database: one winner per task, each job once."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from midflight.engine import Engine
from midflight.model.builder import ProcessBuilder

from . import _concurrency
from ._support import deploy_one, events

# Only the PostgreSQL backend: SQLite runs one writer at a time on one machine.
pytestmark = pytest.mark.parametrize("store_url", ["postgres"], indirect=True)

TIMEOUT = 120


def _run_in_two_processes(target: Callable[..., None], args: list[tuple[Any, ...]]) -> list[Any]:
    """Run ``target`` in two spawned OS processes that start together; their reports."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(args))
    results = ctx.Queue()
    processes = [ctx.Process(target=target, args=(*a, barrier, results), daemon=True) for a in args]
    for process in processes:
        process.start()
    try:
        reports = [results.get(timeout=TIMEOUT) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()
    for report in reports:
        assert not isinstance(report[1], str), report[1]
    assert [p.exitcode for p in processes] == [0, 0]
    return reports


def test_the_same_task_completed_from_two_processes_succeeds_once(
    engine: Engine, store_url: str
) -> None:
    model = ProcessBuilder("p").start_event("s").user_task("approve").end_event("e").build()
    deploy_one(engine, model)
    pids = [engine.start_process("p").id for _ in range(10)]
    task_ids = [engine.user_tasks(process_instance_id=pid)[0].id for pid in pids]

    reports = _run_in_two_processes(
        _concurrency.complete_tasks, [(store_url, task_ids), (store_url, task_ids)]
    )

    (pid_a, outcomes_a), (pid_b, outcomes_b) = reports
    for index, pid in enumerate(pids):
        pair = sorted([outcomes_a[index], outcomes_b[index]])
        assert pair in (["conflict", "ok"], ["not-found", "ok"]), pair
        winner = pid_a if outcomes_a[index] == "ok" else pid_b
        assert engine.process_instance(pid).state == "COMPLETED"
        (completed,) = events(engine, pid, "task.completed")
        assert completed.data is not None and completed.data["task_id"] == task_ids[index]
        assert engine.variables(pid) == {"completed_by": winner}
        assert len(events(engine, pid, "process.completed")) == 1


def test_a_command_that_waited_for_the_instance_lock_loads_what_the_holder_committed(
    engine: Engine, store_url: str
) -> None:
    # The holder completes the task, which makes a job, and keeps its transaction open; the
    # cancellation waits for the instance's row lock. Loading after the wait must see the job,
    # or the cancellation would leave it behind on an ended instance.
    model = (
        ProcessBuilder("p")
        .start_event("s")
        .user_task("review")
        .service_task("work", job_type="work")
        .end_event("e")
        .build()
    )
    deploy_one(engine, model)
    pid = engine.start_process("p").id
    (task,) = engine.user_tasks(process_instance_id=pid)
    holding, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def hold() -> None:
        try:
            with engine.transaction():
                engine.complete_user_task(task.id)
                holding.set()
                release.wait(TIMEOUT)
        except BaseException as exc:
            errors.append(exc)

    other = Engine(store_url)

    def cancel() -> None:
        try:
            other.cancel_process_instance(pid)
        except BaseException as exc:
            errors.append(exc)

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(TIMEOUT)
    waiter = threading.Thread(target=cancel)
    waiter.start()
    time.sleep(0.5)  # the cancellation now waits for the row lock
    release.set()
    holder.join(TIMEOUT)
    waiter.join(TIMEOUT)
    other.close()

    assert errors == []
    assert engine.process_instance(pid).state == "CANCELED"
    assert engine.activate_jobs("work", "w") == []  # the job ended with the instance
    assert [e.event for e in events(engine, pid, "process.canceled")] == ["process.canceled"]


def test_a_thousand_jobs_served_by_two_processes_are_each_done_once(
    engine: Engine, store_url: str
) -> None:
    model = (
        ProcessBuilder("p")
        .start_event("s")
        .service_task("work", job_type="work")
        .end_event("e")
        .build()
    )
    deploy_one(engine, model)
    pids = [engine.start_process("p").id for _ in range(1000)]

    reports = _run_in_two_processes(
        _concurrency.serve_jobs, [(store_url, "worker-a"), (store_url, "worker-b")]
    )

    handled = {name: ids for name, ids in reports}
    done_a, done_b = set(handled["worker-a"]), set(handled["worker-b"])
    assert len(done_a) == len(handled["worker-a"]) and len(done_b) == len(handled["worker-b"])
    assert done_a and done_b, "both workers should have served jobs"
    assert not done_a & done_b
    assert len(done_a | done_b) == 1000
    assert len(engine.process_instances(key="p", state="COMPLETED")) == 1000

    completions: Counter[str] = Counter()
    for pid in pids:
        history = engine.history(pid)
        (created,) = [h.data for h in history if h.event == "job.created"]
        finished = [h.data for h in history if h.event == "job.completed"]
        assert len(finished) == 1
        assert created is not None and finished[0] is not None
        job_id = finished[0]["job_id"]
        assert job_id == created["job_id"]
        assert job_id in (done_a if finished[0]["worker"] == "worker-a" else done_b)
        assert [h.event for h in history][-1] == "process.completed"
        completions[job_id] += 1
    assert set(completions.values()) == {1}
    assert set(completions) == done_a | done_b
