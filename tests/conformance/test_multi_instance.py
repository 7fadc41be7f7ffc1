"""Multi-instance (parallel and sequential) and the standard loop.

The body ``<id>#multiInstanceBody`` is an element instance of its own whose children are the
inner instances. ``loopCounter`` counts from 1 in Camunda 8 (``zeebe:``) models and from 0 in
Camunda 7 and plain BPMN models, each engine's habit.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
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
    run_scenario,
)

from midflight import Engine
from midflight.model import Definitions, ProcessBuilder

BODY = "#multiInstanceBody"
_BPMN_NS = 'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'


def c8(body: str) -> str:
    """A Camunda 8 (``zeebe:``) document holding ``body``."""
    return (
        f'<bpmn:definitions {_BPMN_NS} xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
        f'id="defs" targetNamespace="urn:midflight:test">{body}</bpmn:definitions>'
    )


def c7(body: str) -> str:
    """A Camunda 7 (``camunda:``) document holding ``body``."""
    return (
        f'<bpmn:definitions {_BPMN_NS} xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        f'id="defs" targetNamespace="urn:midflight:test">{body}</bpmn:definitions>'
    )


def flows(*ids: str) -> str:
    """Sequence flows joining ``ids`` one after the other."""
    return "".join(
        f'<bpmn:sequenceFlow id="f_{a}_{b}" sourceRef="{a}" targetRef="{b}"/>'
        for a, b in itertools.pairwise(ids)
    )


# ----------------------------------------------------------------------------------------------
# checks and actions beyond the harness
# ----------------------------------------------------------------------------------------------
def inner_variables(element_id: str, expected: Sequence[Mapping[str, Any]]) -> Custom:
    """The named variables seen from each live instance of ``element_id``, by loop counter."""

    def check(engine: Engine, pid: str) -> None:
        tree = engine.activity_instance_tree(pid)
        found = sorted(tree.instances_of(element_id), key=lambda a: a.loop_counter or 0)
        seen = [
            {name: engine.variables(pid, a.id).get(name, "<missing>") for name in wanted}
            for a, wanted in zip(found, expected, strict=False)
        ]
        assert len(found) == len(expected), f"{len(found)} instances of {element_id}"
        assert seen == [dict(e) for e in expected], seen

    return Custom(check)


def complete_task_at(element_id: str, loop_counter: int, variables: Mapping[str, Any]) -> Custom:
    """Complete the user task of the inner instance with this (internal, 0-based) counter."""

    def act(engine: Engine, pid: str) -> None:
        tree = engine.activity_instance_tree(pid)
        [inner] = [a for a in tree.instances_of(element_id) if a.loop_counter == loop_counter]
        [task] = [t for t in engine.user_tasks(pid) if t.element_instance_id == inner.id]
        engine.complete_user_task(task.id, variables)

    return Custom(act)


def root_lacks(*names: str) -> Custom:
    def check(engine: Engine, pid: str) -> None:
        present = set(engine.variables(pid)) & set(names)
        assert not present, f"{sorted(present)} leaked into the process scope"

    return Custom(check)


def incident_mentions(*parts: str) -> Custom:
    def check(engine: Engine, pid: str) -> None:
        [incident] = engine.incidents(pid)
        for part in parts:
            assert part in incident.message, f"{part!r} not in {incident.message!r}"

    return Custom(check)


def fix_and_resolve(variables: Mapping[str, Any]) -> Custom:
    def act(engine: Engine, pid: str) -> None:
        engine.set_variables(pid, variables)
        [incident] = engine.incidents(pid)
        engine.resolve_incident(incident.id)

    return Custom(act)


def complete_jobs_with(job_type: str, compute: Any) -> Custom:
    """Activate every job of ``job_type`` and complete each with ``compute(job.variables)``."""

    def act(engine: Engine, pid: str) -> None:
        jobs = engine.activate_jobs(job_type, "conformance", max_jobs=100)
        assert jobs, f"no '{job_type}' jobs"
        for job in reversed(jobs):
            engine.complete_job(job.id, compute(job.variables))

    return Custom(act)


# ----------------------------------------------------------------------------------------------
# models
# ----------------------------------------------------------------------------------------------
def mi_task(**multi: Any) -> Definitions:
    return (
        ProcessBuilder("p")
        .start_event("s")
        .user_task("t")
        .multi_instance(**multi)
        .user_task("next")
        .end_event("e")
        .build()
    )


C8_SEQUENTIAL_XML = c8(
    '<bpmn:process id="p" isExecutable="true">'
    '<bpmn:startEvent id="s"/>'
    '<bpmn:userTask id="t"><bpmn:multiInstanceLoopCharacteristics isSequential="true">'
    "<bpmn:extensionElements>"
    '<zeebe:loopCharacteristics inputCollection="=items" inputElement="item" '
    'outputCollection="answers" outputElement="=answer"/>'
    "</bpmn:extensionElements>"
    "</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>"
    '<bpmn:userTask id="next"/>'
    '<bpmn:endEvent id="e"/>' + flows("s", "t", "next", "e") + "</bpmn:process>"
)

C7_PARALLEL_XML = c7(
    '<bpmn:process id="p" isExecutable="true">'
    '<bpmn:startEvent id="s"/>'
    '<bpmn:userTask id="t" camunda:assignee="${item}">'
    '<bpmn:multiInstanceLoopCharacteristics camunda:collection="${items}" '
    'camunda:elementVariable="item">'
    "<bpmn:completionCondition>${nrOfCompletedInstances == 2}</bpmn:completionCondition>"
    "</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>"
    '<bpmn:userTask id="next"/>'
    '<bpmn:endEvent id="e"/>' + flows("s", "t", "next", "e") + "</bpmn:process>"
)

C7_CARDINALITY_XML = c7(
    '<bpmn:process id="p" isExecutable="true">'
    '<bpmn:startEvent id="s"/>'
    '<bpmn:userTask id="t"><bpmn:multiInstanceLoopCharacteristics isSequential="true">'
    "<bpmn:loopCardinality>${n}</bpmn:loopCardinality>"
    "</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>"
    '<bpmn:endEvent id="e"/>' + flows("s", "t", "e") + "</bpmn:process>"
)

PLAIN_XML = (
    f'<bpmn:definitions {_BPMN_NS} id="defs" targetNamespace="urn:midflight:test">'
    '<bpmn:process id="p" isExecutable="true">'
    '<bpmn:startEvent id="s"/>'
    '<bpmn:userTask id="t"><bpmn:multiInstanceLoopCharacteristics>'
    "<bpmn:loopCardinality>2</bpmn:loopCardinality>"
    "</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>"
    '<bpmn:endEvent id="e"/>' + flows("s", "t", "e") + "</bpmn:process></bpmn:definitions>"
)

C7_STANDARD_LOOP_XML = c7(
    '<bpmn:process id="p" isExecutable="true">'
    '<bpmn:startEvent id="s"/>'
    '<bpmn:userTask id="t"><bpmn:standardLoopCharacteristics>'
    "<bpmn:loopCondition>${count &lt; 3}</bpmn:loopCondition>"
    "</bpmn:standardLoopCharacteristics></bpmn:userTask>"
    '<bpmn:userTask id="next"/>'
    '<bpmn:endEvent id="e"/>' + flows("s", "t", "next", "e") + "</bpmn:process>"
)

MI_SUBPROCESS = (
    ProcessBuilder("p")
    .start_event("s")
    .sub_process("sub")
    .start_event("sub_s")
    .user_task("pack")
    .end_event("sub_e")
    .sub_process_done()
    .multi_instance(collection="=orders", element="order")
    .end_event("e")
    .build()
)

NESTED_MI = (
    ProcessBuilder("p")
    .start_event("s")
    .sub_process("outer")
    .start_event("outer_s")
    .user_task("inner")
    .multi_instance(cardinality=2, sequential=True)
    .end_event("outer_e")
    .sub_process_done()
    .multi_instance(cardinality=2)
    .end_event("e")
    .build()
)

MI_TIMER_BOUNDARY = (
    ProcessBuilder("p")
    .start_event("s")
    .user_task("t")
    .multi_instance(cardinality=3)
    .end_event("e")
    .boundary_event("late", attached_to="t", timer_duration="PT1H")
    .user_task("escalated")
    .end_event("e2")
    .build()
)

MI_SERVICE = (
    ProcessBuilder("p")
    .start_event("s")
    .service_task("double", job_type="double")
    .multi_instance(
        collection="=numbers",
        element="n",
        output_collection="doubled",
        output_element="=result",
    )
    .user_task("next")
    .end_event("e")
    .build()
)


SCENARIOS = [
    Scenario(
        "parallel cardinality: a body with one inner instance each, loopCounter from 1 (C8)",
        [mi_task(cardinality=3)],
        [
            Start(),
            Expect(tree=f"p\n  t{BODY}\n    t\n    t\n    t", tasks=["t", "t", "t"]),
            inner_variables("t", [{"loopCounter": 1}, {"loopCounter": 2}, {"loopCounter": 3}]),
            inner_variables(
                f"t{BODY}",
                [{"nrOfInstances": 3, "nrOfActiveInstances": 3, "nrOfCompletedInstances": 0}],
            ),
            complete_task_at("t", 1, {}),
            inner_variables(
                f"t{BODY}",
                [{"nrOfInstances": 3, "nrOfActiveInstances": 2, "nrOfCompletedInstances": 1}],
            ),
            CompleteTask("t", all=True),
            Expect(tree="p\n  next", tasks=["next"]),
        ],
    ),
    Scenario(
        "the body is an element instance of its own: activated first, completed last",
        [mi_task(cardinality=2)],
        [
            Start(),
            CompleteTask("t", all=True),
            Expect(
                history=[
                    ("element.activated", f"t{BODY}"),
                    ("element.activated", "t"),
                    ("element.activated", "t"),
                    ("element.completed", "t"),
                    ("element.completed", "t"),
                    ("element.completed", f"t{BODY}"),
                    ("element.activated", "next"),
                ]
            ),
        ],
    ),
    Scenario(
        "sequential input collection: one inner instance at a time with its element (C8 XML)",
        [C8_SEQUENTIAL_XML],
        [
            Start(variables={"items": ["a", "b", "c"]}),
            Expect(tree=f"p\n  t{BODY}\n    t"),
            inner_variables("t", [{"item": "a", "loopCounter": 1, "nrOfActiveInstances": 1}]),
            CompleteTask("t", {"answer": "A"}),
            inner_variables("t", [{"item": "b", "loopCounter": 2, "nrOfCompletedInstances": 1}]),
            CompleteTask("t", {"answer": "B"}),
            CompleteTask("t", {"answer": "C"}),
            Expect(tree="p\n  next", variables={"answers": ["A", "B", "C"]}),
            root_lacks("item", "loopCounter", "answer", "nrOfInstances"),
        ],
    ),
    Scenario(
        "parallel output collection keeps the order of the items, not of completion",
        [
            mi_task(
                collection="=items",
                element="item",
                output_collection="out",
                output_element="=answer",
            )
        ],
        [
            Start(variables={"items": ["x", "y", "z"]}),
            complete_task_at("t", 2, {"answer": "Z"}),
            complete_task_at("t", 0, {"answer": "X"}),
            inner_variables(f"t{BODY}", [{"out": ["X", None, "Z"]}]),
            complete_task_at("t", 1, {"answer": "Y"}),
            Expect(tree="p\n  next", variables={"out": ["X", "Y", "Z"], "items": ["x", "y", "z"]}),
            root_lacks("answer"),
        ],
    ),
    Scenario(
        "output element equal to the input element collects the items as the instances left them",
        [
            mi_task(
                collection="=items", element="item", output_collection="out", output_element="=item"
            )
        ],
        [
            Start(variables={"items": [1, 2]}),
            inner_variables("t", [{"item": 1}, {"item": 2}]),
            complete_task_at("t", 0, {"item": 10}),
            complete_task_at("t", 1, {}),
            Expect(tree="p\n  next", variables={"out": [10, 2]}),
        ],
    ),
    Scenario(
        "completion condition ends a parallel body early and terminates the other instances",
        [mi_task(cardinality=4, completion_condition="=nrOfCompletedInstances >= 2")],
        [
            Start(),
            complete_task_at("t", 3, {}),
            Expect(tree=f"p\n  t{BODY}\n    t\n    t\n    t"),
            complete_task_at("t", 0, {}),
            Expect(
                tree="p\n  next",
                history=[
                    ("element.completed", "t"),
                    ("element.completed", "t"),
                    ("element.terminated", "t"),
                    ("element.terminated", "t"),
                    ("element.completed", f"t{BODY}"),
                ],
            ),
        ],
    ),
    Scenario(
        "sequential completion condition stops before the collection is exhausted",
        [
            mi_task(
                collection="=items",
                element="item",
                sequential=True,
                completion_condition="=found = true",
            )
        ],
        [
            Start(variables={"items": ["a", "b", "c", "d"]}),
            CompleteTask("t", {"found": False}),
            inner_variables("t", [{"item": "b"}]),
            CompleteTask("t", {"found": True}),
            Expect(tree="p\n  next", variables={"found": True}),
        ],
    ),
    Scenario(
        "Camunda 7: JUEL collection, loopCounter from 0, completion condition on the counters",
        [C7_PARALLEL_XML],
        [
            Start(variables={"items": ["ann", "bob", "cid"]}),
            inner_variables(
                "t",
                [
                    {"item": "ann", "loopCounter": 0},
                    {"item": "bob", "loopCounter": 1},
                    {"item": "cid", "loopCounter": 2},
                ],
            ),
            Custom(lambda e, pid: _assert_assignees(e, pid, ["ann", "bob", "cid"])),
            complete_task_at("t", 1, {}),
            complete_task_at("t", 2, {}),
            Expect(tree="p\n  next", history=[("element.terminated", "t")]),
        ],
    ),
    Scenario(
        "Camunda 7: sequential loop cardinality from a JUEL expression",
        [C7_CARDINALITY_XML],
        [
            Start(variables={"n": 2}),
            inner_variables("t", [{"loopCounter": 0, "nrOfInstances": 2}]),
            CompleteTask("t"),
            inner_variables("t", [{"loopCounter": 1, "nrOfCompletedInstances": 1}]),
            CompleteTask("t"),
            Expect(state="COMPLETED"),
        ],
    ),
    Scenario(
        "a plain BPMN model (no extensions) counts loops from 0",
        [PLAIN_XML],
        [
            Start(),
            inner_variables("t", [{"loopCounter": 0}, {"loopCounter": 1}]),
        ],
    ),
    Scenario(
        "an empty input collection completes the body at once with an empty output collection",
        [
            mi_task(
                collection="=items", element="item", output_collection="out", output_element="=item"
            )
        ],
        [
            Start(variables={"items": []}),
            Expect(
                tree="p\n  next",
                variables={"out": []},
                history=[
                    ("element.activated", f"t{BODY}"),
                    ("element.completed", f"t{BODY}"),
                    ("element.activated", "next"),
                ],
            ),
        ],
    ),
    Scenario(
        "an input collection that is not a list is an incident naming expression and value",
        [mi_task(collection="=items", element="item")],
        [
            Start(variables={"items": "abc"}),
            Expect(tree=f"p\n  t{BODY}", incidents=["EXPRESSION"]),
            incident_mentions("items", "'abc'", "not a list"),
            fix_and_resolve({"items": ["a", "b"]}),
            Expect(tree=f"p\n  t{BODY}\n    t\n    t", incidents=[]),
            inner_variables("t", [{"item": "a", "nrOfInstances": 2}, {"item": "b"}]),
        ],
    ),
    Scenario(
        "a loop cardinality that is not a whole number is an incident",
        [mi_task(cardinality="=n")],
        [
            Start(variables={"n": -1}),
            Expect(tree=f"p\n  t{BODY}", incidents=["EXPRESSION"]),
            incident_mentions("n", "-1", "whole number"),
        ],
    ),
    Scenario(
        "multi-instance embedded subprocess: every inner instance is a scope with its element",
        [MI_SUBPROCESS],
        [
            Start(variables={"orders": [{"id": 7}, {"id": 8}]}),
            Expect(tree=f"p\n  sub{BODY}\n    sub\n      pack\n    sub\n      pack"),
            inner_variables(
                "pack",
                [{"order": {"id": 7}, "loopCounter": 1}, {"order": {"id": 8}, "loopCounter": 2}],
            ),
            CompleteTask("pack", all=True),
            Expect(state="COMPLETED"),
        ],
    ),
    Scenario(
        "nested multi-instance: the inner counters shadow the outer ones",
        [NESTED_MI],
        [
            Start(),
            Expect(
                tree=f"p\n  outer{BODY}\n    outer\n      inner{BODY}\n        inner\n"
                f"    outer\n      inner{BODY}\n        inner"
            ),
            inner_variables(
                "inner",
                [{"loopCounter": 1, "nrOfInstances": 2}, {"loopCounter": 1, "nrOfInstances": 2}],
            ),
            CompleteTask("inner", all=True),
            inner_variables("inner", [{"loopCounter": 2}, {"loopCounter": 2}]),
            CompleteTask("inner", all=True),
            Expect(state="COMPLETED"),
        ],
    ),
    Scenario(
        "multi-instance service task collects each job's result; no result leaks outside",
        [MI_SERVICE],
        [
            Start(variables={"numbers": [1, 2, 3]}),
            Expect(tree=f"p\n  double{BODY}\n    double\n    double\n    double"),
            complete_jobs_with("double", lambda v: {"result": v["n"] * 2}),
            Expect(tree="p\n  next", variables={"doubled": [2, 4, 6]}),
            root_lacks("result", "n"),
        ],
    ),
    Scenario(
        "an interrupting boundary event on a multi-instance activity ends body and instances",
        [MI_TIMER_BOUNDARY],
        [
            Start(),
            Advance(hours=2, fired=1),
            Expect(
                tree="p\n  escalated",
                history=[
                    ("element.terminated", "t"),
                    ("element.terminated", "t"),
                    ("element.terminated", "t"),
                    ("element.terminated", f"t{BODY}"),
                    ("element.completed", "late"),
                ],
            ),
        ],
    ),
    Scenario(
        "cancelling the instance terminates the body and every inner instance",
        [mi_task(cardinality=2)],
        [
            Start(),
            Cancel(),
            Expect(
                state="CANCELED",
                tasks=[],
                history=[("element.terminated", "t"), ("element.terminated", f"t{BODY}")],
            ),
        ],
    ),
    Scenario(
        "standard loop runs the activity again while the loop condition holds (C7)",
        [C7_STANDARD_LOOP_XML],
        [
            Start(variables={"count": 0}),
            CompleteTask("t", {"count": 1}),
            Expect(tree="p\n  t"),
            Custom(lambda e, pid: _assert_loop_counter(e, pid, "t", 1)),
            CompleteTask("t", {"count": 2}),
            Custom(lambda e, pid: _assert_loop_counter(e, pid, "t", 2)),
            CompleteTask("t", {"count": 3}),
            Expect(tree="p\n  next", variables={"count": 3}),
        ],
    ),
    Scenario(
        "standard loop stops at its loop maximum even while the condition holds",
        [
            ProcessBuilder("p")
            .start_event("s")
            .user_task("t")
            .standard_loop(condition="=true", maximum=2)
            .user_task("next")
            .end_event("e")
            .build()
        ],
        [
            Start(),
            CompleteTask("t"),
            Expect(tree="p\n  t"),
            CompleteTask("t"),
            Expect(tree="p\n  next"),
        ],
    ),
]


def _assert_assignees(engine: Engine, pid: str, expected: list[str]) -> None:
    assert sorted(t.assignee or "" for t in engine.user_tasks(pid)) == expected


def _assert_loop_counter(engine: Engine, pid: str, element_id: str, expected: int) -> None:
    [instance] = engine.activity_instance_tree(pid).instances_of(element_id)
    assert instance.loop_counter == expected


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_scenario(engine: Engine, clock: Clock, scenario: Scenario) -> None:
    run_scenario(engine, clock, scenario)
