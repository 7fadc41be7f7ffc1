"""Helpers of the migration suite: model pairs, trees as text, live rows and a well-formedness
check of an instance against the model of its (new) definition."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conformance.harness import render_ids
from tests.engine._support import instance_rows

from midflight import ActivityInstance, Engine, ProcessDefinition
from midflight.model import Definitions

DATA = Path(__file__).parents[2] / "data" / "bpmn"
AGENT_V1 = DATA / "c8_ai_message_delivery_v1.bpmn"
AGENT_V2 = DATA / "c8_ai_message_delivery_v2.bpmn"


def deploy_pair(
    engine: Engine, v1: str | Path | Definitions, v2: str | Path | Definitions
) -> tuple[ProcessDefinition, ProcessDefinition]:
    """Deploy two versions of one process, tagged v1 and v2; returns (source, target)."""
    [source] = engine.deploy(v1, version_tag="v1")
    [target] = engine.deploy(v2, version_tag="v2")
    assert source.key == target.key and target.version == source.version + 1
    return source, target


def start(
    engine: Engine, definition: ProcessDefinition, variables: dict[str, Any] | None = None
) -> str:
    """Start an instance of exactly this version; returns its id."""
    return engine.start_process(definition.key, variables, version=definition.version).id


def dedent(text: str) -> str:
    rows = [r for r in text.splitlines() if r.strip()]
    indent = min(len(r) - len(r.lstrip()) for r in rows)
    return "\n".join(r[indent:].rstrip() for r in rows)


def tree(engine: Engine, pid: str) -> str:
    """The activity-instance tree of ``pid`` as indented element ids."""
    return render_ids(engine.activity_instance_tree(pid))


def assert_tree(engine: Engine, pid: str, expected: str) -> None:
    assert tree(engine, pid) == dedent(expected)


def only(tree_: ActivityInstance, element_id: str) -> ActivityInstance:
    [found] = tree_.instances_of(element_id)
    return found


def instance_id(engine: Engine, pid: str, element_id: str) -> str:
    return only(engine.activity_instance_tree(pid), element_id).id


def task_ids(engine: Engine, pid: str) -> list[str]:
    return sorted(t.element_id for t in engine.user_tasks(process_instance_id=pid))


def complete_task(engine: Engine, pid: str, element_id: str, variables: Any = None) -> None:
    [task] = [t for t in engine.user_tasks(process_instance_id=pid) if t.element_id == element_id]
    engine.complete_user_task(task.id, variables)


def complete_job(engine: Engine, job_type: str, variables: Any = None, count: int = 1) -> None:
    jobs = engine.activate_jobs(job_type, "migration-tests", max_jobs=count)
    assert len(jobs) == count, f"{len(jobs)} '{job_type}' jobs, wanted {count}"
    for job in jobs:
        engine.complete_job(job.id, variables)


def live_rows(engine: Engine, pid: str) -> dict[str, Any]:
    """Every live row of the instance, the instance row too (its revision left out: every
    command bumps it), each table sorted by id, revisions of rows too."""
    instance, rows = instance_rows(engine, pid)
    instance = {k: v for k, v in instance.items() if k != "revision"}
    return {
        "process_instance": instance,
        **{
            table: sorted(
                ({k: v for k, v in r.items() if k != "revision"} for r in found),
                key=lambda r: str(r["id"]),
            )
            for table, found in rows.items()
        },
    }


def timers(engine: Engine, pid: str) -> dict[str, Any]:
    """catch element id -> due date of the instance's timer jobs."""
    with engine._store.transaction() as tx:
        jobs = tx.load_instance_rows(pid)["jobs"]
    return {
        str((j["payload"] or {}).get("catch", j["element_id"])): j["due_at"]
        for j in jobs
        if j["kind"] == "TIMER"
    }


def subscriptions(engine: Engine, pid: str) -> list[str]:
    """element ids of the instance's event subscriptions (message, signal, conditional)."""
    with engine._store.transaction() as tx:
        subs = tx.load_instance_rows(pid)["event_subscriptions"]
    return sorted(s["element_id"] for s in subs)


def malformations(engine: Engine, pid: str) -> list[str]:
    """What is wrong with the instance's live rows against the model of its definition: an
    element instance whose parent is not an instance of its element's flow scope, an element
    the model lacks, tasks/jobs/subscriptions/incidents on instances that are gone or of
    another element or definition, variables on scopes that are gone. Empty when well formed."""
    record, rows = instance_rows(engine, pid)
    with engine._store.transaction() as tx:
        process = engine._deployed_process(tx, record["definition_id"]).process
    problems: list[str] = []
    elements = {e["id"]: e for e in rows["element_instances"]}
    if record["state"] not in ("ACTIVE", "SUSPENDED"):
        leftovers = {t: len(r) for t, r in rows.items() if r}
        return [f"ended instance keeps live rows {leftovers}"] if leftovers else []
    root = elements.get(pid)
    if root is None or root["element_id"] != process.id:
        problems.append(f"root instance is {root and root['element_id']}, not {process.id}")
    for e in elements.values():
        if e["id"] == pid:
            continue
        if not process.has_node(e["element_id"]):
            problems.append(f"{e['id']}: element '{e['element_id']}' is not in the model")
            continue
        if process.node(e["element_id"]).type.value != e["element_type"]:
            problems.append(f"{e['id']}: type {e['element_type']} of '{e['element_id']}'")
        parent = elements.get(e["parent_id"])
        scope = process.flow_scope_id(e["element_id"])
        if parent is None:
            problems.append(f"{e['id']} ({e['element_id']}): parent {e['parent_id']} is gone")
        elif parent["element_id"] != scope:
            problems.append(
                f"{e['id']} ({e['element_id']}) lies in {parent['element_id']}, "
                f"not in its flow scope {scope}"
            )
    definition = record["definition_id"]
    for table in ("user_tasks", "jobs", "event_subscriptions", "incidents"):
        for r in rows[table]:
            owner = elements.get(r["element_instance_id"])
            if owner is None:
                problems.append(f"{table} {r['id']} on a gone instance {r['element_instance_id']}")
            if r["definition_id"] != definition:
                problems.append(f"{table} {r['id']} of definition {r['definition_id']}")
            if not process.has_node(r["element_id"]) and r["element_id"] != process.id:
                problems.append(f"{table} {r['id']} of unknown element '{r['element_id']}'")
            if (
                table in ("user_tasks", "incidents")
                and owner is not None
                and owner["element_id"] != r["element_id"]
            ):
                problems.append(f"{table} {r['id']} of '{r['element_id']}' on {owner}")
    for v in rows["variables"]:
        if v["scope_id"] not in elements:
            problems.append(f"variable {v['name']} on a gone scope {v['scope_id']}")
    for token in rows["join_tokens"]:
        if token["scope_id"] not in elements or not process.has_node(token["element_id"]):
            problems.append(f"join token {token} is stale")
    return problems


def assert_well_formed(engine: Engine, pid: str) -> None:
    problems = malformations(engine, pid)
    assert not problems, "\n".join(problems)


def history_events(engine: Engine, pid: str) -> list[str]:
    return [h.event for h in engine.history(pid)]
