"""Properties of modification, on random states of the seed 003 models and random instructions.

* A modification never leaves a malformed instance: every element instance sits in a live,
  active parent whose element is its element's flow scope; tasks, jobs, subscriptions,
  incidents and join tokens belong to live instances; variables live on live scopes; the
  counters of a multi-instance body agree with its inner instances; no scope is left active
  with nothing inside it; an ended instance keeps no live rows.
* Undo always restores the exact prior state (every live row).
* An instruction that cannot be carried out raises one of our errors (InvalidArgumentError,
  NotFoundError, ProcessEngineError), never anything else, and changes nothing.

Hypothesis runs derandomized (the same examples every run), 15 examples per model and
property, on both backends: about 15 s on SQLite and 35 s on PostgreSQL.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from tests.change.modification._support import live_rows, model_text, variant
from tests.conformance.harness import Clock

from midflight import Engine
from midflight.errors import InvalidArgumentError, NotFoundError, ProcessEngineError
from midflight.model import MULTI_INSTANCE_BODY_SUFFIX, Process, parse_bpmn

OUR_ERRORS = (InvalidArgumentError, NotFoundError, ProcessEngineError)

#: process key -> model text
SOURCES: dict[str, str] = {
    "Loan_Application": model_text("example1"),
    "Loan_Application_Boundary": model_text("example2"),
    "Loan_Application_EventSubProcess": model_text("example3"),
    "Loan_Application_MultiInstance": model_text("example4"),
    "Loan_Application_Flat": model_text("example5"),
    "Loan_Async": variant(
        "example2",
        "Loan_Async",
        registerApplication={"camunda:asyncBefore": "true"},
        acceptLoanApplication={"camunda:asyncBefore": "true"},
    ),
    "Loan_Sequential": model_text("example4")
    .replace('id="Loan_Application_MultiInstance"', 'id="Loan_Sequential"')
    .replace('isSequential="false"', 'isSequential="true"'),
}
PROCESSES: dict[str, Process] = {
    key: parse_bpmn(source).process(key) for key, source in SOURCES.items()
}
MESSAGES = ("CancelationNotice", "CancelEvaluation")
KINDS = (
    "start_before",
    "start_after",
    "start_transition",
    "cancel_activity_instance",
    "cancel_transition_instance",
    "cancel_all",
)
SETTINGS = settings(
    derandomize=True,
    deadline=None,
    max_examples=15,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _elements(process: Process) -> list[str]:
    ids = list(process.elements)
    ids += [e + MULTI_INSTANCE_BODY_SUFFIX for e in ids if process.node(e).is_multi_instance]
    return sorted(ids)


@pytest.fixture
def deployed(store_url: str, clock: Clock) -> Iterator[Engine]:
    """An engine whose ids count up, so that sorting ids gives creation order and Hypothesis
    draws the same choices when it replays an example."""
    counter = itertools.count()
    with Engine(store_url, clock=clock, id_generator=lambda: f"id{next(counter):08d}") as engine:
        for source in SOURCES.values():
            engine.deploy(source)
        yield engine


# ----------------------------------------------------------------------------------------------
# random states and instructions
# ----------------------------------------------------------------------------------------------
def _move(engine: Engine, pid: str, data: st.DataObject) -> None:
    """One step of ordinary execution (or a modification), to reach varied states."""
    if engine.process_instance(pid).state != "ACTIVE":
        return
    step = data.draw(st.sampled_from(["task", "task", "jobs", "message", "modify"]))
    try:
        if step == "task":
            tasks = sorted(engine.user_tasks(process_instance_id=pid), key=lambda t: t.id)
            if tasks:
                task = data.draw(st.sampled_from(tasks))
                engine.complete_user_task(task.id, {"approved": data.draw(st.booleans())})
        elif step == "jobs":
            engine.execute_async_jobs()
        elif step == "message":
            engine.correlate_message(data.draw(st.sampled_from(MESSAGES)), process_instance_id=pid)
        else:
            _build(engine, pid, data).execute()
    except OUR_ERRORS:
        pass


def _pick(data: st.DataObject, good: list[str], bad: list[str]) -> str:
    """Mostly one of ``good`` (when there is one), sometimes one of ``bad``."""
    if good and data.draw(st.integers(0, 9)) > 0:
        return data.draw(st.sampled_from(good))
    return data.draw(st.sampled_from(bad + good))


def _build(engine: Engine, pid: str, data: st.DataObject) -> Any:
    key = engine.process_instance(pid).definition_key
    process = PROCESSES[key]
    rows = live_rows(engine, pid)["element_instances"]
    activities = sorted(r["id"] for r in rows if r["state"] == "ACTIVE" and r["id"] != pid)
    transitions = sorted(r["id"] for r in rows if r["state"] != "ACTIVE")
    scopes = sorted(r["id"] for r in rows if r["state"] == "ACTIVE")
    elements = _elements(process)
    running = sorted({r["element_id"] for r in rows if r["id"] != pid})
    modification = engine.modify(pid)
    kinds = [*KINDS, "start_before", "start_before", "cancel_activity_instance"]
    if not transitions:  # then mostly a bad id, so rarely
        kinds.remove("cancel_transition_instance")
        kinds.append(data.draw(st.sampled_from(["cancel_transition_instance", "cancel_all"])))
    for _ in range(data.draw(st.integers(1, 3))):
        kind = data.draw(st.sampled_from(kinds))
        if kind == "cancel_activity_instance":
            modification.cancel_activity_instance(_pick(data, activities, [pid, "nope"]))
            continue
        if kind == "cancel_transition_instance":
            modification.cancel_transition_instance(_pick(data, transitions, [*activities, "x"]))
            continue
        if kind == "cancel_all":
            modification.cancel_all(_pick(data, elements, [key, "nope"]))
            continue
        if kind == "start_transition":
            target = _pick(data, sorted(process.flows), ["nope", "acceptLoanApplication"])
        elif kind == "start_after":
            single = [e for e in elements if len(process.node(e).outgoing) == 1]
            target = _pick(data, single, elements)
        elif data.draw(st.booleans()):  # often one more instance of what runs already
            target = _pick(data, running, elements)
        else:
            target = _pick(data, elements, [key, "nope", "flow_start"])
        ancestor = None
        if data.draw(st.integers(0, 3)) == 0:
            ancestor = _pick(data, scopes, [*transitions, "x"])
        getattr(modification, kind)(target, ancestor)
        if data.draw(st.booleans()):
            modification.set_variable("approved", data.draw(st.booleans()))
        if data.draw(st.booleans()):
            modification.set_variable_local("note", data.draw(st.integers(0, 9)))
    return modification


def _state(engine: Engine, key: str, data: st.DataObject) -> str:
    pid = engine.start_process(key).id
    for _ in range(data.draw(st.integers(0, 4))):
        _move(engine, pid, data)
    return pid


# ----------------------------------------------------------------------------------------------
# the well-formedness check
# ----------------------------------------------------------------------------------------------
def check_well_formed(engine: Engine, pid: str) -> None:
    rows = live_rows(engine, pid)
    info = rows["process_instance"]
    process = PROCESSES[info["definition_key"]]
    elements = {r["id"]: r for r in rows["element_instances"]}
    if info["state"] not in ("ACTIVE", "SUSPENDED"):
        assert all(not found for table, found in rows.items() if table != "process_instance")
        return
    assert pid in elements and elements[pid]["parent_id"] is None
    children: dict[str, list[dict[str, Any]]] = {}
    for row in elements.values():
        if row["id"] == pid:
            continue
        parent = elements.get(row["parent_id"])
        assert parent is not None, f"{row['element_id']} {row['id']} has no live parent"
        assert parent["state"] == "ACTIVE", f"{row['element_id']} inside a transition instance"
        expected = process.scope_path(row["element_id"])[-1]
        assert parent["element_id"] == expected, (
            f"{row['element_id']} inside {parent['element_id']}, its flow scope is {expected}"
        )
        children.setdefault(parent["id"], []).append(row)
    scopes = ("process", "subProcess", "multiInstanceBody", "eventSubProcess")
    waiting = {r["scope_id"] for r in rows["join_tokens"]}
    for row in elements.values():
        if row["element_type"] in scopes and row["state"] == "ACTIVE":
            assert row["id"] in children or row["id"] in waiting, (
                f"empty scope {row['element_id']} {row['id']} left active"
            )
    for table in ("user_tasks", "jobs", "event_subscriptions", "incidents"):
        for row in rows[table]:
            assert row["element_instance_id"] in elements, f"{table} {row} of no live instance"
    for row in rows["user_tasks"]:
        assert elements[row["element_instance_id"]]["element_id"] == row["element_id"]
    for row in rows["join_tokens"]:
        assert row["scope_id"] in elements
    variables: dict[str, dict[str, Any]] = {}
    for row in rows["variables"]:
        assert row["scope_id"] in elements, f"variable {row['name']} on no live scope"
        variables.setdefault(row["scope_id"], {})[row["name"]] = row["value"]
    for body in elements.values():
        if not body["element_id"].endswith(MULTI_INSTANCE_BODY_SUFFIX):
            continue
        inner = children.get(body["id"], [])
        counters = variables.get(body["id"], {})
        assert counters.get("nrOfActiveInstances", 0) == len(inner), (counters, len(inner))
        loops = [r["loop_counter"] for r in inner]
        assert len(set(loops)) == len(loops), f"loop counters repeat: {loops}"
        assert all(0 <= c < counters.get("nrOfInstances", 0) for c in loops), (loops, counters)
    # the API can draw the tree
    engine.activity_instance_tree(pid)


# ----------------------------------------------------------------------------------------------
# the properties
# ----------------------------------------------------------------------------------------------
def _attempt(action: Callable[[], Any]) -> tuple[Any, BaseException | None]:
    try:
        return action(), None
    except OUR_ERRORS as exc:
        return None, exc


@pytest.mark.parametrize("key", sorted(SOURCES))
@SETTINGS
@given(data=st.data())
def test_modification_keeps_instances_well_formed_and_undo_restores_them(
    deployed: Engine, key: str, data: st.DataObject
) -> None:
    engine = deployed
    pid = _state(engine, key, data)
    check_well_formed(engine, pid)
    before = live_rows(engine, pid)
    modification = _build(engine, pid, data)
    result, error = _attempt(modification.execute)
    event("refused" if error is not None else f"modified, instance {result.state}")
    if error is not None:
        assert str(error), "an error must explain itself"
        assert live_rows(engine, pid) == before, f"a failed modification changed rows: {error}"
        return
    check_well_formed(engine, pid)
    assert engine.undo(result.operation_id) == {pid: "restored"}
    assert live_rows(engine, pid) == before
    check_well_formed(engine, pid)


@pytest.mark.parametrize("key", sorted(SOURCES))
@SETTINGS
@given(data=st.data())
def test_preview_changes_nothing_and_agrees_with_execute(
    deployed: Engine, key: str, data: st.DataObject
) -> None:
    engine = deployed
    pid = _state(engine, key, data)
    before = live_rows(engine, pid)
    modification = _build(engine, pid, data)
    preview, preview_error = _attempt(modification.preview)
    assert live_rows(engine, pid) == before
    result, error = _attempt(modification.execute)
    assert (preview_error is None) == (error is None), (preview_error, error)
    if error is None:
        assert (preview.state, len(preview.created), len(preview.cancelled)) == (
            result.state,
            len(result.created),
            len(result.cancelled),
        )
        assert len(preview.warnings) == len(result.warnings)
