"""Embedded subprocesses as scopes: completion, terminate end events inside and at process
level, variable scopes (lookup up the tree, shadowing, propagation) and io mappings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from tests.conformance.harness import (
    Cancel,
    Clock,
    CompleteTask,
    Custom,
    Expect,
    Scenario,
    Start,
    run_scenario,
)

from midflight import Engine
from midflight.model import ProcessBuilder

_BPMN_NS = 'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'


def c7(body: str) -> str:
    return (
        f'<bpmn:definitions {_BPMN_NS} xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        f'id="defs" targetNamespace="urn:midflight:test">{body}</bpmn:definitions>'
    )


def c8(body: str) -> str:
    return (
        f'<bpmn:definitions {_BPMN_NS} xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
        f'id="defs" targetNamespace="urn:midflight:test">{body}</bpmn:definitions>'
    )


def variables_at(element_id: str, expected: Mapping[str, Any]) -> Custom:
    """Variables visible from the one live instance of ``element_id``."""

    def check(engine: Engine, pid: str) -> None:
        [instance] = engine.activity_instance_tree(pid).instances_of(element_id)
        seen = engine.variables(pid, instance.id)
        assert {k: seen.get(k, "<missing>") for k in expected} == dict(expected), seen

    return Custom(check)


def root_lacks(*names: str) -> Custom:
    def check(engine: Engine, pid: str) -> None:
        present = set(engine.variables(pid)) & set(names)
        assert not present, f"{sorted(present)} leaked into the process scope"

    return Custom(check)


def set_local(element_id: str, variables: Mapping[str, Any]) -> Custom:
    def act(engine: Engine, pid: str) -> None:
        [instance] = engine.activity_instance_tree(pid).instances_of(element_id)
        engine.set_variables(instance.id, variables, local=True)

    return Custom(act)


def resolve_after(variables: Mapping[str, Any]) -> Custom:
    def act(engine: Engine, pid: str) -> None:
        engine.set_variables(pid, variables)
        [incident] = engine.incidents(pid)
        engine.resolve_incident(incident.id)

    return Custom(act)


def incident_mentions(*parts: str) -> Custom:
    def check(engine: Engine, pid: str) -> None:
        [incident] = engine.incidents(pid)
        for part in parts:
            assert part in incident.message, f"{part!r} not in {incident.message!r}"

    return Custom(check)


# ----------------------------------------------------------------------------------------------
# models
# ----------------------------------------------------------------------------------------------
PARALLEL_INSIDE = (
    ProcessBuilder("p")
    .start_event("s")
    .sub_process("sub")
    .start_event("sub_s")
    .parallel_gateway("fork")
    .user_task("a")
    .end_event("a_end")
    .move_to("fork")
    .user_task("b")
    .end_event("b_end")
    .sub_process_done()
    .user_task("after")
    .end_event("e")
    .build()
)

TERMINATE_IN_SUB = (
    ProcessBuilder("p")
    .start_event("s")
    .sub_process("sub")
    .start_event("sub_s")
    .parallel_gateway("fork")
    .user_task("a")
    .end_event("a_end")
    .move_to("fork")
    .user_task("b")
    .end_event("kill", terminate=True)
    .sub_process_done()
    .user_task("after")
    .end_event("e")
    .build()
)

TERMINATE_AT_TOP = (
    ProcessBuilder("p")
    .start_event("s")
    .parallel_gateway("fork")
    .sub_process("sub")
    .start_event("sub_s")
    .user_task("a")
    .end_event("sub_e")
    .sub_process_done()
    .end_event("normal")
    .move_to("fork")
    .user_task("b")
    .end_event("kill", terminate=True)
    .build()
)

TERMINATE_IN_MI = (
    ProcessBuilder("p")
    .start_event("s")
    .sub_process("sub")
    .start_event("sub_s")
    .exclusive_gateway("which", default="to_work")
    .condition('item = "stop"')
    .end_event("kill", terminate=True)
    .move_to("which")
    .flow_id("to_work")
    .user_task("work")
    .end_event("sub_e")
    .sub_process_done()
    .multi_instance(collection="=items", element="item")
    .user_task("after")
    .end_event("e")
    .build()
)

C8_MAPPED_SUB = c8(
    '<bpmn:process id="p" isExecutable="true">'
    '<bpmn:startEvent id="s"/>'
    '<bpmn:subProcess id="sub"><bpmn:extensionElements><zeebe:ioMapping>'
    '<zeebe:input source="=order.total" target="total"/>'
    '<zeebe:input source="=x + 10" target="x"/>'
    '<zeebe:output source="=total * 2" target="doubled"/>'
    "</zeebe:ioMapping></bpmn:extensionElements>"
    '<bpmn:startEvent id="sub_s"/><bpmn:userTask id="t"/><bpmn:endEvent id="sub_e"/>'
    '<bpmn:sequenceFlow id="i1" sourceRef="sub_s" targetRef="t"/>'
    '<bpmn:sequenceFlow id="i2" sourceRef="t" targetRef="sub_e"/>'
    "</bpmn:subProcess>"
    '<bpmn:userTask id="after"/><bpmn:endEvent id="e"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="sub"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="after"/>'
    '<bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="e"/>'
    "</bpmn:process>"
)

C8_TASK_OUTPUT = c8(
    '<bpmn:process id="p" isExecutable="true">'
    '<bpmn:startEvent id="s"/>'
    '<bpmn:userTask id="t"><bpmn:extensionElements><zeebe:ioMapping>'
    '<zeebe:input source="=&quot;Dear &quot; + name" target="greeting"/>'
    '<zeebe:output source="=answer" target="reply"/>'
    "</zeebe:ioMapping></bpmn:extensionElements></bpmn:userTask>"
    '<bpmn:userTask id="after"/><bpmn:endEvent id="e"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="after"/>'
    '<bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="e"/>'
    "</bpmn:process>"
)

C7_IO = c7(
    '<bpmn:process id="p" isExecutable="true">'
    '<bpmn:startEvent id="s"/>'
    '<bpmn:userTask id="t"><bpmn:extensionElements><camunda:inputOutput>'
    '<camunda:inputParameter name="greeting">Hello ${name}</camunda:inputParameter>'
    '<camunda:inputParameter name="limits"><camunda:list><camunda:value>1</camunda:value>'
    "<camunda:value>2</camunda:value></camunda:list></camunda:inputParameter>"
    '<camunda:outputParameter name="reply">${answer}</camunda:outputParameter>'
    "</camunda:inputOutput></bpmn:extensionElements></bpmn:userTask>"
    '<bpmn:userTask id="after"/><bpmn:endEvent id="e"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="after"/>'
    '<bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="e"/>'
    "</bpmn:process>"
)

C7_BAD_OUTPUT = c7(
    '<bpmn:process id="p" isExecutable="true">'
    '<bpmn:startEvent id="s"/>'
    '<bpmn:subProcess id="sub"><bpmn:extensionElements><camunda:inputOutput>'
    '<camunda:outputParameter name="out">${missing}</camunda:outputParameter>'
    "</camunda:inputOutput></bpmn:extensionElements>"
    '<bpmn:startEvent id="sub_s"/><bpmn:userTask id="t"/><bpmn:endEvent id="sub_e"/>'
    '<bpmn:sequenceFlow id="i1" sourceRef="sub_s" targetRef="t"/>'
    '<bpmn:sequenceFlow id="i2" sourceRef="t" targetRef="sub_e"/>'
    "</bpmn:subProcess>"
    '<bpmn:endEvent id="e"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="sub"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="e"/>'
    "</bpmn:process>"
)

NESTED = (
    ProcessBuilder("p")
    .start_event("s")
    .sub_process("outer", inputs={"a": "=1"})
    .start_event("outer_s")
    .sub_process("inner", inputs={"b": "=a + 1"})
    .start_event("inner_s")
    .user_task("t")
    .end_event("inner_e")
    .sub_process_done()
    .end_event("outer_e")
    .sub_process_done()
    .end_event("e")
    .build()
)

SIMPLE_SUB = (
    ProcessBuilder("p")
    .start_event("s")
    .sub_process("sub")
    .start_event("sub_s")
    .user_task("t")
    .end_event("sub_e")
    .sub_process_done()
    .user_task("after")
    .end_event("e")
    .build()
)


SCENARIOS = [
    Scenario(
        "an embedded subprocess is a scope in the tree; it completes when nothing is left inside",
        [PARALLEL_INSIDE],
        [
            Start(),
            Expect(tree="p\n  sub\n    a\n    b"),
            CompleteTask("a"),
            Expect(tree="p\n  sub\n    b"),
            CompleteTask("b"),
            Expect(
                tree="p\n  after",
                history=[
                    ("element.completed", "b_end"),
                    ("element.completed", "sub"),
                    ("element.activated", "after"),
                ],
            ),
        ],
    ),
    Scenario(
        "a terminate end event inside a subprocess ends only the subprocess; the process goes on",
        [TERMINATE_IN_SUB],
        [
            Start(),
            CompleteTask("b"),
            Expect(
                tree="p\n  after",
                history=[
                    ("element.terminated", "a"),
                    ("element.completed", "kill"),
                    ("element.completed", "sub"),
                ],
            ),
        ],
    ),
    Scenario(
        "a terminate end event at process level ends every token, also inside subprocesses",
        [TERMINATE_AT_TOP],
        [
            Start(),
            Expect(tree="p\n  b\n  sub\n    a"),
            CompleteTask("b"),
            Expect(
                state="COMPLETED",
                tasks=[],
                history=[
                    ("element.terminated", "a"),
                    ("element.terminated", "sub"),
                    ("element.completed", "kill"),
                    ("process.completed", "p"),
                ],
            ),
        ],
    ),
    Scenario(
        "a terminate end event in one multi-instance inner instance ends only that instance",
        [TERMINATE_IN_MI],
        [
            Start(variables={"items": ["stop", "go"]}),
            Expect(tree="p\n  sub#multiInstanceBody\n    sub\n      work"),
            CompleteTask("work"),
            Expect(tree="p\n  after"),
        ],
    ),
    Scenario(
        "C8 io mappings: inputs are local to the subprocess, outputs reach the parent scope",
        [C8_MAPPED_SUB],
        [
            Start(variables={"order": {"total": 21}, "x": 1}),
            variables_at("t", {"total": 21, "x": 11}),
            CompleteTask("t", {"approved": True}),
            Expect(tree="p\n  after", variables={"doubled": 42, "approved": True, "x": 1}),
            root_lacks("total"),
        ],
    ),
    Scenario(
        "a variable set inside a subprocess updates the local one that shadows the outer one",
        [C8_MAPPED_SUB],
        [
            Start(variables={"order": {"total": 1}, "x": 1}),
            CompleteTask("t", {"x": 99}),
            Expect(tree="p\n  after", variables={"x": 1}),
        ],
    ),
    Scenario(
        "a variable set inside a subprocess updates the outer variable of the same name",
        [SIMPLE_SUB],
        [
            Start(variables={"count": 1}),
            CompleteTask("t", {"count": 2, "fresh": "new"}),
            Expect(tree="p\n  after", variables={"count": 2, "fresh": "new"}),
        ],
    ),
    Scenario(
        "local variables set on a subprocess scope are visible inside and vanish with it",
        [SIMPLE_SUB],
        [
            Start(variables={"count": 1}),
            set_local("sub", {"note": "scoped", "count": 5}),
            variables_at("t", {"note": "scoped", "count": 5}),
            root_lacks("note"),
            Expect(variables={"count": 1}),
            CompleteTask("t"),
            Expect(tree="p\n  after", variables={"count": 1}),
            root_lacks("note"),
        ],
    ),
    Scenario(
        "C8 task io mapping: the input is local to the task, the output maps the result",
        [C8_TASK_OUTPUT],
        [
            Start(variables={"name": "Ann"}),
            variables_at("t", {"greeting": "Dear Ann"}),
            CompleteTask("t", {"answer": "hi"}),
            Expect(tree="p\n  after", variables={"reply": "hi"}),
            root_lacks("greeting", "answer"),
        ],
    ),
    Scenario(
        "C7 camunda:inputOutput: a templated input local to the task, an output parameter",
        [C7_IO],
        [
            Start(variables={"name": "Ann"}),
            variables_at("t", {"greeting": "Hello Ann"}),
            root_lacks("greeting", "limits"),
            CompleteTask("t", {"answer": "hi"}),
            Expect(tree="p\n  after", variables={"reply": "hi"}),
        ],
    ),
    pytest.param(
        Scenario(
            "C7 camunda:list input parameter gives the task a list",
            [C7_IO],
            [
                Start(variables={"name": "Ann"}),
                variables_at("t", {"limits": ["1", "2"]}),
            ],
        ),
    ),
    Scenario(
        "C7 output parameter on an unknown variable is one incident; resolving retries completion",
        [C7_BAD_OUTPUT],
        [
            Start(),
            CompleteTask("t"),
            Expect(tree="p\n  sub", incidents=["IO_MAPPING"]),
            incident_mentions("'sub'", "missing"),
            resolve_after({"missing": "found"}),
            Expect(state="COMPLETED", variables={"out": "found"}),
        ],
    ),
    Scenario(
        "nested subprocesses: variables resolve through every enclosing scope",
        [NESTED],
        [
            Start(variables={"c": 0}),
            Expect(tree="p\n  outer\n    inner\n      t"),
            variables_at("t", {"a": 1, "b": 2, "c": 0}),
            variables_at("inner", {"a": 1, "b": 2}),
            variables_at("outer", {"a": 1, "b": "<missing>"}),
            root_lacks("a", "b"),
        ],
    ),
    Scenario(
        "cancelling terminates nested scopes innermost first",
        [NESTED],
        [
            Start(),
            Cancel(),
            Expect(
                state="CANCELED",
                history=[
                    ("element.terminated", "t"),
                    ("element.terminated", "inner"),
                    ("element.terminated", "outer"),
                    ("process.canceled", None),
                ],
            ),
        ],
    ),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_scenario(engine: Engine, clock: Clock, scenario: Scenario) -> None:
    run_scenario(engine, clock, scenario)
