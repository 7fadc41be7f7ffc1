"""Jobs: activation and leases, completion, failure with retries and backoff, incidents,
business errors, and job workers (sync and async)."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta

import pytest

from midflight.engine import ActivatedJob, Engine
from midflight.errors import BpmnError, NotFoundError
from midflight.model.builder import ProcessBuilder

from ._support import Clock, deploy_one, events, leaf, trail, tree_shape


def _one_task(engine: Engine, *, retries: int | None = None) -> None:
    options = {} if retries is None else {"retries": retries}
    model = (
        ProcessBuilder("p")
        .start_event("s")
        .service_task("work", job_type="work", **options)
        .end_event("e")
        .build()
    )
    deploy_one(engine, model)


def _job_events(engine: Engine, pid: str) -> list[tuple[str, dict[str, object] | None]]:
    return [(e.event, e.data) for e in engine.history(pid) if e.event.startswith("job.")]


def test_activate_locks_jobs_for_a_worker(engine: Engine, clock: Clock) -> None:
    _one_task(engine, retries=5)
    pids = [engine.start_process("p", {"n": i}).id for i in range(3)]

    first = engine.activate_jobs("work", "w1", max_jobs=2, lock_seconds=60)
    second = engine.activate_jobs("work", "w2", max_jobs=10)
    third = engine.activate_jobs("work", "w3")

    assert len(first) == 2 and len(second) == 1 and third == []
    jobs = first + second
    assert {j.process_instance_id for j in jobs} == set(pids)
    assert len({j.id for j in jobs}) == 3
    assert all(j.retries == 5 and j.type == "work" and j.element_id == "work" for j in jobs)
    assert [j.worker for j in jobs] == ["w1", "w1", "w2"]
    assert first[0].lock_expires_at == clock.now + timedelta(seconds=60)
    assert second[0].lock_expires_at == clock.now + timedelta(seconds=300)
    assert {j.variables["n"] for j in jobs} == {0, 1, 2}


def test_complete_job_moves_the_instance_on(engine: Engine) -> None:
    _one_task(engine)
    pid = engine.start_process("p").id
    (job,) = engine.activate_jobs("work", "w1")

    engine.complete_job(job.id, {"result": "done"})

    assert engine.process_instance(pid).state == "COMPLETED"
    assert engine.variables(pid) == {"result": "done"}
    assert _job_events(engine, pid) == [
        ("job.created", {"job_id": job.id, "kind": "TASK", "type": "work"}),
        ("job.completed", {"job_id": job.id, "worker": "w1"}),
    ]
    with pytest.raises(NotFoundError):
        engine.complete_job(job.id)
    assert engine.activate_jobs("work", "w1") == []


def test_an_expired_lease_returns_the_job_to_the_pool(engine: Engine, clock: Clock) -> None:
    _one_task(engine)
    pid = engine.start_process("p").id
    (job,) = engine.activate_jobs("work", "slow", lock_seconds=30)

    clock.advance(seconds=29)
    assert engine.activate_jobs("work", "fast") == []
    clock.advance(seconds=2)
    (again,) = engine.activate_jobs("work", "fast", lock_seconds=30)

    assert again.id == job.id
    assert again.worker == "fast"
    assert again.lock_expires_at == clock.now + timedelta(seconds=30)
    engine.complete_job(again.id)
    assert engine.process_instance(pid).state == "COMPLETED"


def test_fail_with_retries_left_makes_the_job_activatable_again(engine: Engine) -> None:
    _one_task(engine)
    pid = engine.start_process("p").id
    (job,) = engine.activate_jobs("work", "w")

    engine.fail_job(job.id, "database down", retries=2)

    (retry,) = engine.activate_jobs("work", "w")
    assert (retry.id, retry.retries) == (job.id, 2)
    assert engine.incidents(pid) == []
    assert ("job.failed", {"job_id": job.id, "message": "database down", "retries": 2}) in (
        _job_events(engine, pid)
    )
    assert tree_shape(engine, pid) == ("p", (leaf("work"),))


def test_retry_backoff_delays_the_next_activation(engine: Engine, clock: Clock) -> None:
    _one_task(engine)
    engine.start_process("p")
    (job,) = engine.activate_jobs("work", "w")

    engine.fail_job(job.id, "try later", retries=1, retry_backoff_seconds=60)

    assert engine.activate_jobs("work", "w") == []
    clock.advance(seconds=59)
    assert engine.activate_jobs("work", "w") == []
    clock.advance(seconds=1)
    (retry,) = engine.activate_jobs("work", "w")
    assert (retry.id, retry.retries) == (job.id, 1)


def test_no_retries_left_opens_an_incident_and_resolving_retries(
    engine: Engine, clock: Clock
) -> None:
    _one_task(engine)
    pid = engine.start_process("p").id
    (job,) = engine.activate_jobs("work", "w")

    engine.fail_job(job.id, "card declined", retries=0)

    (incident,) = engine.incidents(pid)
    assert (incident.type, incident.element_id, incident.job_id) == (
        "JOB_NO_RETRIES",
        "work",
        job.id,
    )
    assert incident.message == "card declined"
    assert incident.created_at == clock.now
    assert engine.activate_jobs("work", "w") == []
    assert tree_shape(engine, pid) == ("p", (leaf("work"),))

    engine.resolve_incident(incident.id)

    assert engine.incidents(pid) == []
    (retry,) = engine.activate_jobs("work", "w")
    assert (retry.id, retry.retries) == (job.id, 1)
    engine.complete_job(retry.id)
    assert engine.process_instance(pid).state == "COMPLETED"
    assert [e.event for e in engine.history(pid) if e.event.startswith("incident.")] == [
        "incident.created",
        "incident.resolved",
    ]
    with pytest.raises(NotFoundError):
        engine.resolve_incident(incident.id)


def test_incidents_are_listed_across_instances(engine: Engine) -> None:
    _one_task(engine)
    a = engine.start_process("p").id
    b = engine.start_process("p").id
    for job in engine.activate_jobs("work", "w"):
        engine.fail_job(job.id, "boom", retries=0)

    assert {i.process_instance_id for i in engine.incidents()} == {a, b}
    assert [i.process_instance_id for i in engine.incidents(a)] == [a]


def test_uncaught_business_error_is_an_incident(engine: Engine) -> None:
    _one_task(engine)
    pid = engine.start_process("p").id
    (job,) = engine.activate_jobs("work", "w")

    engine.throw_error(job.id, "NO_STOCK", "item 7 is sold out")

    (incident,) = engine.incidents(pid)
    assert (incident.type, incident.element_id, incident.job_id) == (
        "UNHANDLED_ERROR",
        "work",
        job.id,
    )
    assert "NO_STOCK" in incident.message and "item 7 is sold out" in incident.message
    assert engine.process_instance(pid).state == "ACTIVE"
    assert tree_shape(engine, pid) == ("p", (leaf("work"),))
    assert engine.activate_jobs("work", "w") == []
    (thrown,) = events(engine, pid, "job.error_thrown")
    assert thrown.data == {
        "job_id": job.id,
        "error_code": "NO_STOCK",
        "message": "item 7 is sold out",
    }

    engine.resolve_incident(incident.id)  # the job gets another attempt

    (retry,) = engine.activate_jobs("work", "w")
    assert retry.id == job.id
    engine.complete_job(retry.id)
    assert engine.process_instance(pid).state == "COMPLETED"


def test_business_error_caught_by_a_boundary_event(engine: Engine) -> None:
    model = (
        ProcessBuilder("p")
        .start_event("s")
        .service_task("reserve", job_type="reserve")
        .end_event("reserved")
        .boundary_event("no_stock", attached_to="reserve", error="NO_STOCK")
        .output_mapping("backorder_qty", "=missing")
        .user_task("backorder")
        .build()
    )
    deploy_one(engine, model)
    pid = engine.start_process("p").id
    (job,) = engine.activate_jobs("reserve", "w")

    engine.throw_error(job.id, "NO_STOCK", "sold out", {"missing": 7})

    assert engine.incidents(pid) == []
    assert tree_shape(engine, pid) == ("p", (leaf("backorder"),))
    assert "reserve" in trail(engine, pid, "element.terminated")
    # The error's variables are local to the catching event (Zeebe); its mapping brings them out.
    assert engine.variables(pid) == {"backorder_qty": 7}
    with pytest.raises(NotFoundError):
        engine.complete_job(job.id)


def test_sync_worker_completes_jobs_with_its_result(engine: Engine) -> None:
    _one_task(engine)
    pids = [engine.start_process("p", {"x": i}).id for i in range(3)]
    seen: list[ActivatedJob] = []

    @engine.worker("work")
    def double(job: ActivatedJob) -> dict[str, int]:
        seen.append(job)
        return {"y": job.variables["x"] * 2}

    handled = engine.run_workers(until_idle=True, worker_name="doubler")

    assert handled == 3
    assert {j.worker for j in seen} == {"doubler"}
    for i, pid in enumerate(pids):
        assert engine.process_instance(pid).state == "COMPLETED"
        assert engine.variables(pid) == {"x": i, "y": 2 * i}


def test_async_worker_is_awaited(engine: Engine) -> None:
    _one_task(engine)
    pid = engine.start_process("p", {"x": 20}).id

    @engine.worker("work")
    async def add(job: ActivatedJob) -> dict[str, int]:
        await asyncio.sleep(0)
        return {"y": job.variables["x"] + 1}

    assert engine.run_workers(until_idle=True) == 1
    assert engine.variables(pid) == {"x": 20, "y": 21}
    assert engine.process_instance(pid).state == "COMPLETED"


def test_a_worker_returning_nothing_completes_the_job(engine: Engine) -> None:
    _one_task(engine)
    pid = engine.start_process("p").id
    engine.worker("work")(lambda job: None)

    engine.run_workers(until_idle=True)

    assert engine.process_instance(pid).state == "COMPLETED"


def test_a_failing_worker_uses_up_retries_then_opens_an_incident(
    engine: Engine, clock: Clock
) -> None:
    _one_task(engine, retries=2)
    pid = engine.start_process("p").id
    calls: list[int] = []

    @engine.worker("work")
    def broken(job: ActivatedJob) -> None:
        calls.append(job.retries)
        raise RuntimeError("service unavailable")

    engine.run_workers(until_idle=True)
    assert calls == [2]  # the failed attempt waits out its backoff
    clock.advance(seconds=5)
    engine.run_workers(until_idle=True)

    assert calls == [2, 1]
    (incident,) = engine.incidents(pid)
    assert incident.type == "JOB_NO_RETRIES"
    assert "RuntimeError: service unavailable" in incident.message
    failures = [e.data for e in events(engine, pid, "job.failed") if e.data]
    assert [f["retries"] for f in failures] == [1, 0]


def test_a_worker_raising_bpmn_error_throws_it(engine: Engine) -> None:
    _one_task(engine)
    pid = engine.start_process("p").id

    @engine.worker("work")
    def refuse(job: ActivatedJob) -> None:
        raise BpmnError("REJECTED", "not allowed")

    engine.run_workers(until_idle=True)

    (incident,) = engine.incidents(pid)
    assert incident.type == "UNHANDLED_ERROR"
    assert "REJECTED" in incident.message
    assert [e.data["error_code"] for e in events(engine, pid, "job.error_thrown") if e.data] == [
        "REJECTED"
    ]


def test_run_workers_serves_until_stopped(engine: Engine) -> None:
    _one_task(engine)
    done = threading.Event()

    @engine.worker("work")
    def handle(job: ActivatedJob) -> dict[str, bool]:
        done.set()
        return {"handled": True}

    stop = threading.Event()
    server = threading.Thread(
        target=engine.run_workers, kwargs={"stop": stop, "poll_interval": 0.02}, daemon=True
    )
    server.start()
    try:
        time.sleep(0.05)  # the worker is idle, polling
        pid = engine.start_process("p").id
        assert done.wait(10)
        deadline = time.monotonic() + 10
        while engine.process_instance(pid).state != "COMPLETED" and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        server.join(10)
    assert not server.is_alive()
    assert engine.process_instance(pid).state == "COMPLETED"
    assert engine.variables(pid) == {"handled": True}
