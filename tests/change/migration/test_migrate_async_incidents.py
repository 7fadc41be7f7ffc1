"""Jobs, async continuations and incidents: they are re-pointed, never recreated; a locked job
stays with its worker; an incident stays open on the migrated element until resolved."""

from __future__ import annotations

from tests.change.migration._support import (
    assert_tree,
    assert_well_formed,
    deploy_pair,
    instance_id,
    start,
    task_ids,
)

from midflight import Engine
from midflight.model import ProcessBuilder


def service(
    task: str = "charge", *, after: str = "ship", async_before: bool = False
) -> ProcessBuilder:
    return (
        ProcessBuilder("p")
        .start_event("s")
        .service_task(task, job_type="charge", retries=1, async_before=async_before)
        .user_task(after)
        .end_event("e")
    )


def jobs(engine: Engine, pid: str) -> list[dict[str, object]]:
    with engine._store.transaction() as tx:
        return sorted(tx.load_instance_rows(pid)["jobs"], key=lambda j: str(j["id"]))


def test_a_service_task_job_is_re_pointed_not_recreated(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, service().build(), service("bill", after="notify").build())
    pid = start(engine, v1)
    [job] = jobs(engine, pid)

    plan = engine.migration_plan(v1.id, v2.id).map("charge", "bill").build()
    engine.migrate(plan, [pid])

    [after] = jobs(engine, pid)
    assert after["id"] == job["id"] and after["created_at"] == job["created_at"]
    assert (after["element_id"], after["definition_id"]) == ("bill", v2.id)
    assert_well_formed(engine, pid)
    [activated] = engine.activate_jobs("charge", "worker-1")
    assert (activated.id, activated.element_id) == (job["id"], "bill")
    engine.complete_job(activated.id)
    assert task_ids(engine, pid) == ["notify"]


def test_a_locked_job_stays_with_its_worker(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, service().build(), service(after="notify").build())
    pid = start(engine, v1)
    [activated] = engine.activate_jobs("charge", "worker-1")

    engine.migrate(engine.migration_plan(v1.id, v2.id).map_equal_activities().build(), [pid])

    [after] = jobs(engine, pid)
    assert after["worker"] == "worker-1" and after["lock_expires_at"] is not None
    assert engine.activate_jobs("charge", "worker-2") == []
    engine.complete_job(activated.id, {"paid": True})
    assert task_ids(engine, pid) == ["notify"]
    assert engine.variables(pid)["paid"] is True


def test_an_incident_moves_with_its_element_and_can_be_resolved(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, service().build(), service("bill", after="notify").build())
    pid = start(engine, v1)
    [activated] = engine.activate_jobs("charge", "worker-1")
    engine.fail_job(activated.id, "card declined", 0)
    [incident] = engine.incidents(pid)
    element = instance_id(engine, pid, "charge")

    plan = engine.migration_plan(v1.id, v2.id).map("charge", "bill").build()
    engine.migrate(plan, [pid])

    [after] = engine.incidents(pid)
    assert (after.id, after.element_instance_id) == (incident.id, element)
    assert (after.element_id, after.message) == ("bill", incident.message)
    assert_well_formed(engine, pid)
    engine.update_job_retries(activated.id, 1)
    engine.resolve_incident(incident.id)
    [again] = engine.activate_jobs("charge", "worker-1")
    engine.complete_job(again.id)
    assert engine.incidents(pid) == []
    assert task_ids(engine, pid) == ["notify"]


def test_an_async_continuation_runs_in_the_target(engine: Engine) -> None:
    v1, v2 = deploy_pair(
        engine,
        service(async_before=True).build(),
        service(async_before=True, after="notify").build(),
    )
    pid = start(engine, v1)
    assert_tree(engine, pid, "p\n  charge (async before)")
    [continuation] = jobs(engine, pid)

    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().build()
    engine.migrate(plan, [pid])

    assert_tree(engine, pid, "p\n  charge (async before)")
    [after] = jobs(engine, pid)
    assert after["id"] == continuation["id"] and after["definition_id"] == v2.id
    assert_well_formed(engine, pid)
    assert engine.execute_async_jobs() == 1
    [activated] = engine.activate_jobs("charge", "worker-1")
    engine.complete_job(activated.id)
    assert task_ids(engine, pid) == ["notify"]


def test_an_unmapped_async_continuation_is_reported_as_a_transition_instance(
    engine: Engine,
) -> None:
    v1, v2 = deploy_pair(engine, service(async_before=True).build(), service("bill").build())
    pid = start(engine, v1)
    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().build()

    [report] = engine.validate_migration(plan, [pid]).instances

    assert not report.can_migrate
    assert "transition instance" in report.problems[0] and "'charge'" in report.problems[0]
