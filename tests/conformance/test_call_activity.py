"""Call activities: binding, variable mappings in both dialects, and the child's lifecycle tied
to its caller (the child's completion resumes the parent; ending the caller cancels the child)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from tests.conformance.harness import (
    Advance,
    Cancel,
    Clock,
    CompleteTask,
    Custom,
    Expect,
    Scenario,
    Start,
    ThrowError,
    run_scenario,
)

from midflight import Engine, ProcessInstance
from midflight.model import Definitions, ProcessBuilder

_BPMN_NS = 'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'


def c8(body: str) -> str:
    return (
        f'<bpmn:definitions {_BPMN_NS} xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
        f'id="defs" targetNamespace="urn:midflight:test">{body}</bpmn:definitions>'
    )


def c7(body: str) -> str:
    return (
        f'<bpmn:definitions {_BPMN_NS} xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        f'id="defs" targetNamespace="urn:midflight:test">{body}</bpmn:definitions>'
    )


def caller(call_activity: str, *, dialect: str = "c8") -> str:
    """A parent process ``p``: start -> ``call_activity`` (id ``call``) -> user task ``after``."""
    wrap = c8 if dialect == "c8" else c7
    return wrap(
        '<bpmn:process id="p" isExecutable="true">'
        '<bpmn:startEvent id="s"/>'
        f"{call_activity}"
        '<bpmn:userTask id="after"/>'
        '<bpmn:endEvent id="e"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="call"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="after"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="e"/>'
        "</bpmn:process>"
    )


def child(task: str = "work", *, version_tag: str | None = None, key: str = "child") -> Definitions:
    return (
        ProcessBuilder(key, version_tag=version_tag)
        .start_event("cs")
        .user_task(task)
        .end_event("ce")
        .build()
    )


# ----------------------------------------------------------------------------------------------
# checks on the called instance
# ----------------------------------------------------------------------------------------------
def children_of(engine: Engine, pid: str, key: str = "child") -> list[ProcessInstance]:
    return [i for i in engine.process_instances(key=key) if i.parent_process_instance_id == pid]


def expect_child(
    *,
    state: str | None = None,
    version: int | None = None,
    variables: Mapping[str, Any] | None = None,
    lacks: tuple[str, ...] = (),
    count: int = 1,
    key: str = "child",
) -> Custom:
    def check(engine: Engine, pid: str) -> None:
        found = children_of(engine, pid, key)
        assert len(found) == count, f"{len(found)} child instances, expected {count}"
        for instance in found:
            if state is not None:
                assert instance.state == state, instance.state
            if version is not None:
                assert instance.definition_version == version
            seen = engine.variables(instance.id)
            for name, value in (variables or {}).items():
                assert seen.get(name, "<missing>") == value, f"child {name}: {seen}"
            leaked = set(lacks) & set(seen)
            assert not leaked, f"child received {sorted(leaked)}"

    return Custom(check)


def root_lacks(*names: str) -> Custom:
    def check(engine: Engine, pid: str) -> None:
        present = set(engine.variables(pid)) & set(names)
        assert not present, f"{sorted(present)} reached the parent"

    return Custom(check)


def complete_child_task(element_id: str, compute: Any) -> Custom:
    """Complete every open ``element_id`` task with ``compute(variables of its instance)``."""

    def act(engine: Engine, pid: str) -> None:
        tasks = [t for t in engine.user_tasks() if t.element_id == element_id]
        assert tasks, f"no open '{element_id}' task"
        for task in tasks:
            values = engine.variables(task.process_instance_id, task.element_instance_id)
            engine.complete_user_task(task.id, compute(values))

    return Custom(act)


def incident_mentions(*parts: str) -> Custom:
    def check(engine: Engine, pid: str) -> None:
        [incident] = engine.incidents(pid)
        for part in parts:
            assert part in incident.message, f"{part!r} not in {incident.message!r}"

    return Custom(check)


def deploy_child_and_resolve(engine: Engine, pid: str) -> None:
    engine.deploy(child())
    [incident] = engine.incidents(pid)
    engine.resolve_incident(incident.id)


# ----------------------------------------------------------------------------------------------
# models
# ----------------------------------------------------------------------------------------------
C8_DEFAULT = caller(
    '<bpmn:callActivity id="call"><bpmn:extensionElements>'
    '<zeebe:calledElement processId="child"/>'
    "</bpmn:extensionElements></bpmn:callActivity>"
)

C8_MAPPED = caller(
    '<bpmn:callActivity id="call"><bpmn:extensionElements>'
    '<zeebe:calledElement processId="child" propagateAllParentVariables="false" '
    'propagateAllChildVariables="false"/>'
    '<zeebe:ioMapping><zeebe:input source="=amount * 2" target="total"/>'
    '<zeebe:output source="=result" target="outcome"/></zeebe:ioMapping>'
    "</bpmn:extensionElements></bpmn:callActivity>"
)

C8_OUTPUT_MAPPING_ONLY = caller(
    '<bpmn:callActivity id="call"><bpmn:extensionElements>'
    '<zeebe:calledElement processId="child"/>'
    '<zeebe:ioMapping><zeebe:output source="=result" target="outcome"/></zeebe:ioMapping>'
    "</bpmn:extensionElements></bpmn:callActivity>"
)

C8_VERSION_TAG = caller(
    '<bpmn:callActivity id="call"><bpmn:extensionElements>'
    '<zeebe:calledElement processId="child" bindingType="versionTag" versionTag="1.0"/>'
    "</bpmn:extensionElements></bpmn:callActivity>"
)

C8_EXPRESSION = caller(
    '<bpmn:callActivity id="call"><bpmn:extensionElements>'
    '<zeebe:calledElement processId="=target"/>'
    "</bpmn:extensionElements></bpmn:callActivity>"
)

C8_MISSING = caller(
    '<bpmn:callActivity id="call"><bpmn:extensionElements>'
    '<zeebe:calledElement processId="child"/>'
    "</bpmn:extensionElements></bpmn:callActivity>"
)

C7_VERSION = caller(
    '<bpmn:callActivity id="call" calledElement="child" camunda:calledElementBinding="version" '
    'camunda:calledElementVersion="1"/>',
    dialect="c7",
)

C7_MAPPED = caller(
    '<bpmn:callActivity id="call" calledElement="child"><bpmn:extensionElements>'
    '<camunda:in source="amount" target="total"/>'
    '<camunda:in sourceExpression="${amount + 1}" target="next"/>'
    '<camunda:out source="result" target="outcome"/>'
    "</bpmn:extensionElements></bpmn:callActivity>",
    dialect="c7",
)

C7_ALL = caller(
    '<bpmn:callActivity id="call" calledElement="child"><bpmn:extensionElements>'
    '<camunda:in variables="all"/><camunda:in source="amount" target="total"/>'
    '<camunda:out variables="all"/>'
    "</bpmn:extensionElements></bpmn:callActivity>",
    dialect="c7",
)

C7_NOTHING = caller('<bpmn:callActivity id="call" calledElement="child"/>', dialect="c7")

C7_BUSINESS_KEY = caller(
    '<bpmn:callActivity id="call" calledElement="child"><bpmn:extensionElements>'
    '<camunda:in businessKey="${orderId}"/>'
    "</bpmn:extensionElements></bpmn:callActivity>",
    dialect="c7",
)

TIMER_ON_CALL = (
    ProcessBuilder("p")
    .start_event("s")
    .call_activity("call", process_id="child")
    .end_event("e")
    .boundary_event("late", attached_to="call", timer_duration="PT1H")
    .user_task("escalated")
    .end_event("e2")
    .build()
)

ERROR_ON_CALL = (
    ProcessBuilder("p")
    .start_event("s")
    .call_activity("call", process_id="child")
    .end_event("e")
    .boundary_event("failed", attached_to="call", error="REJECTED")
    .user_task("handle")
    .end_event("e2")
    .build()
)

CHILD_WITH_JOB = (
    ProcessBuilder("child")
    .start_event("cs")
    .service_task("check", job_type="check")
    .end_event("ce")
    .build()
)

MI_CALL = (
    ProcessBuilder("p")
    .start_event("s")
    .call_activity("call", process_id="child")
    .multi_instance(
        collection="=items", element="item", output_collection="results", output_element="=result"
    )
    .user_task("after")
    .end_event("e")
    .build()
)

NESTED_CALLER = (
    ProcessBuilder("p")
    .start_event("s")
    .call_activity("call", process_id="middle")
    .user_task("after")
    .end_event("e")
    .build()
)
MIDDLE = (
    ProcessBuilder("middle")
    .start_event("ms")
    .call_activity("inner_call", process_id="child")
    .end_event("me")
    .build()
)


SCENARIOS = [
    Scenario(
        "the child's completion resumes the parent; all variables go in and come back (C8)",
        [C8_DEFAULT, child()],
        [
            Start(variables={"x": 1}),
            Expect(tree="p\n  call"),
            expect_child(state="ACTIVE", variables={"x": 1}),
            CompleteTask("work", {"y": 2}),
            expect_child(state="COMPLETED"),
            Expect(
                tree="p\n  after",
                variables={"x": 1, "y": 2},
                history=[("element.completed", "call"), ("element.activated", "after")],
            ),
        ],
    ),
    Scenario(
        "binding latest calls the newest deployed version",
        [C8_DEFAULT, child("v1_task"), child("v2_task")],
        [
            Start(),
            expect_child(version=2),
            CompleteTask("v2_task"),
            Expect(tree="p\n  after"),
        ],
    ),
    Scenario(
        "binding version (C7) calls the pinned version, not the latest",
        [C7_VERSION, child("v1_task"), child("v2_task")],
        [
            Start(),
            expect_child(version=1),
            CompleteTask("v1_task"),
            Expect(tree="p\n  after"),
        ],
    ),
    Scenario(
        "binding versionTag (C8) calls the version carrying that tag",
        [C8_VERSION_TAG, child("tagged", version_tag="1.0"), child("newer", version_tag="2.0")],
        [
            Start(),
            expect_child(version=1),
            CompleteTask("tagged"),
            Expect(tree="p\n  after"),
        ],
    ),
    Scenario(
        "the called process id may be an expression",
        [C8_EXPRESSION, child(key="other")],
        [
            Start(variables={"target": "other"}),
            expect_child(state="ACTIVE", key="other"),
            CompleteTask("work"),
            Expect(tree="p\n  after"),
        ],
    ),
    Scenario(
        "a called process that is not deployed is an incident; deploying it and resolving retries",
        [C8_MISSING],
        [
            Start(),
            Expect(tree="p\n  call", incidents=["CALLED_ELEMENT"]),
            incident_mentions("'child'", "not deployed"),
            Custom(deploy_child_and_resolve),
            Expect(incidents=[]),
            expect_child(state="ACTIVE"),
            CompleteTask("work"),
            Expect(tree="p\n  after"),
        ],
    ),
    Scenario(
        "C8 without propagation passes only the input mappings and maps outputs from the child",
        [C8_MAPPED, child()],
        [
            Start(variables={"amount": 5, "secret": "s"}),
            expect_child(variables={"total": 10}, lacks=("amount", "secret")),
            CompleteTask("work", {"result": "ok", "junk": 1}),
            Expect(tree="p\n  after", variables={"outcome": "ok"}),
            root_lacks("result", "junk", "total"),
        ],
    ),
    Scenario(
        "C8 output mappings decide what reaches the parent even when all child variables propagate",
        [C8_OUTPUT_MAPPING_ONLY, child()],
        [
            Start(variables={"amount": 5}),
            expect_child(variables={"amount": 5}),
            CompleteTask("work", {"result": "ok", "junk": 1}),
            Expect(tree="p\n  after", variables={"outcome": "ok", "amount": 5}),
            root_lacks("result", "junk"),
        ],
    ),
    Scenario(
        "C7 camunda:in / camunda:out pass only the mapped variables",
        [C7_MAPPED, child()],
        [
            Start(variables={"amount": 5, "secret": "s"}),
            expect_child(variables={"total": 5, "next": 6}, lacks=("amount", "secret")),
            CompleteTask("work", {"result": "ok", "junk": 1}),
            Expect(tree="p\n  after", variables={"outcome": "ok", "amount": 5}),
            root_lacks("result", "junk"),
        ],
    ),
    Scenario(
        'C7 variables="all" passes every variable in (plus the mapped ones) and out',
        [C7_ALL, child()],
        [
            Start(variables={"amount": 5, "secret": "s"}),
            expect_child(variables={"amount": 5, "secret": "s", "total": 5}),
            CompleteTask("work", {"result": "ok"}),
            Expect(tree="p\n  after", variables={"result": "ok", "total": 5}),
        ],
    ),
    Scenario(
        "C7 without camunda:in / camunda:out nothing crosses the boundary",
        [C7_NOTHING, child()],
        [
            Start(variables={"amount": 5}),
            expect_child(lacks=("amount",)),
            CompleteTask("work", {"result": "ok"}),
            Expect(tree="p\n  after"),
            root_lacks("result"),
        ],
    ),
    Scenario(
        "C7 camunda:in businessKey gives the child its business key",
        [C7_BUSINESS_KEY, child()],
        [
            Start(variables={"orderId": "order-9"}),
            Custom(lambda e, pid: _assert_business_key(e, pid, "order-9")),
        ],
    ),
    Scenario(
        "cancelling the parent cancels the child",
        [C8_DEFAULT, child()],
        [
            Start(),
            Cancel(),
            Expect(state="CANCELED"),
            expect_child(state="CANCELED"),
        ],
    ),
    Scenario(
        "an interrupting boundary timer on the call activity cancels the child",
        [TIMER_ON_CALL, child()],
        [
            Start(),
            Advance(hours=2, fired=1),
            Expect(tree="p\n  escalated"),
            expect_child(state="CANCELED"),
        ],
    ),
    Scenario(
        "an error the child does not catch is caught by a boundary event on the call activity",
        [ERROR_ON_CALL, CHILD_WITH_JOB],
        [
            Start(),
            ThrowError("check", "REJECTED"),
            Expect(
                tree="p\n  handle",
                history=[("element.terminated", "call"), ("element.completed", "failed")],
            ),
            expect_child(state="CANCELED"),
        ],
    ),
    Scenario(
        "multi-instance call activity: one child per item, outputs collected in item order",
        [MI_CALL, child()],
        [
            Start(variables={"items": ["a", "b", "c"]}),
            Expect(tree="p\n  call#multiInstanceBody\n    call\n    call\n    call"),
            expect_child(count=3, state="ACTIVE"),
            complete_child_task("work", lambda v: {"result": v["item"].upper()}),
            Expect(tree="p\n  after", variables={"results": ["A", "B", "C"]}),
            root_lacks("result", "item"),
        ],
    ),
    Scenario(
        "a call chain completes bottom-up and cancels top-down",
        [NESTED_CALLER, MIDDLE, child()],
        [
            Start(),
            expect_child(state="ACTIVE", key="middle"),
            Custom(lambda e, pid: _assert_grandchild(e, pid, "ACTIVE")),
            Cancel(),
            expect_child(state="CANCELED", key="middle"),
            Custom(lambda e, pid: _assert_grandchild(e, pid, "CANCELED")),
        ],
    ),
    Scenario(
        "a call chain: the grandchild's completion resumes the middle, which resumes the top",
        [NESTED_CALLER, MIDDLE, child()],
        [
            Start(),
            CompleteTask("work", {"deep": True}),
            expect_child(state="COMPLETED", key="middle"),
            Expect(tree="p\n  after", variables={"deep": True}),
        ],
    ),
]


def _assert_business_key(engine: Engine, pid: str, expected: str) -> None:
    [instance] = children_of(engine, pid)
    assert instance.business_key == expected


def _assert_grandchild(engine: Engine, pid: str, state: str) -> None:
    [middle] = children_of(engine, pid, "middle")
    [grandchild] = children_of(engine, middle.id)
    assert grandchild.state == state


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_scenario(engine: Engine, clock: Clock, scenario: Scenario) -> None:
    run_scenario(engine, clock, scenario)
