"""Ad-hoc subprocesses: elements chosen by an expression on entry or by
``Engine.activate_adhoc_elements`` later; completion condition and cancelRemainingInstances."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from tests.conformance.harness import (
    Clock,
    CompleteJob,
    CompleteTask,
    Custom,
    Expect,
    Scenario,
    Start,
    run_scenario,
)

from midflight import Engine
from midflight.errors import InvalidArgumentError
from midflight.model import ProcessBuilder

_BPMN_NS = 'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'


def c8(body: str) -> str:
    return (
        f'<bpmn:definitions {_BPMN_NS} xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'id="defs" targetNamespace="urn:midflight:test">{body}</bpmn:definitions>'
    )


def ad_hoc(
    *,
    collection: str | None = "=tools",
    condition: str | None = None,
    cancel_remaining: bool = True,
    inner: str = '<bpmn:userTask id="a"/><bpmn:userTask id="b"/><bpmn:userTask id="c"/>',
    extra: str = "",
) -> str:
    """Process ``p``: start -> ad-hoc subprocess ``ah`` holding ``inner`` -> user task ``next``."""
    zeebe = (
        f'<bpmn:extensionElements><zeebe:adHoc activeElementsCollection="{collection}"/>'
        "</bpmn:extensionElements>"
        if collection is not None
        else ""
    )
    completion = (
        '<bpmn:completionCondition xsi:type="bpmn:tFormalExpression">'
        f"{condition}</bpmn:completionCondition>"
        if condition is not None
        else ""
    )
    cancel = "" if cancel_remaining else ' cancelRemainingInstances="false"'
    return c8(
        '<bpmn:process id="p" isExecutable="true">'
        '<bpmn:startEvent id="s"/>'
        f'<bpmn:adHocSubProcess id="ah"{cancel}>{zeebe}{inner}{completion}'
        "</bpmn:adHocSubProcess>"
        f'<bpmn:userTask id="next"/>{extra}'
        '<bpmn:endEvent id="e"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="ah"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="ah" targetRef="next"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="next" targetRef="e"/>'
        "</bpmn:process>"
    )


def activate(element_ids: list[str], variables: Mapping[str, Any] | None = None) -> Custom:
    """``activate_adhoc_elements`` on the one live ``ah`` instance."""

    def act(engine: Engine, pid: str) -> None:
        [scope] = engine.activity_instance_tree(pid).instances_of("ah")
        started = engine.activate_adhoc_elements(scope.id, element_ids, variables)
        assert len(started) == len(element_ids)

    return Custom(act)


def refused(element_ids: list[str], *parts: str) -> Custom:
    """Activating ``element_ids`` is refused with a message naming ``parts``; nothing changes."""

    def act(engine: Engine, pid: str) -> None:
        before = engine.activity_instance_tree(pid)
        [scope] = before.instances_of("ah")
        with pytest.raises(InvalidArgumentError) as caught:
            engine.activate_adhoc_elements(scope.id, element_ids)
        for part in parts:
            assert part in str(caught.value), str(caught.value)
        assert engine.activity_instance_tree(pid) == before

    return Custom(act)


def variables_at(element_id: str, expected: Mapping[str, Any]) -> Custom:
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


def incident_mentions(*parts: str) -> Custom:
    def check(engine: Engine, pid: str) -> None:
        [incident] = engine.incidents(pid)
        for part in parts:
            assert part in incident.message, f"{part!r} not in {incident.message!r}"

    return Custom(check)


CHAINED = (
    ProcessBuilder("p")
    .start_event("s")
    .ad_hoc_sub_process("ah", active_elements_collection="=tools")
    .user_task("a")
    .user_task("b")
    .sub_process_done()
    .user_task("next")
    .end_event("e")
    .build()
)

WITH_SERVICE = ad_hoc(
    inner='<bpmn:serviceTask id="search"><bpmn:extensionElements>'
    '<zeebe:taskDefinition type="search"/></bpmn:extensionElements></bpmn:serviceTask>'
    '<bpmn:userTask id="a"/>',
    condition="=answer != null",
)


SCENARIOS = [
    Scenario(
        "elements named by the active-elements expression start on entry; it completes after them",
        [ad_hoc()],
        [
            Start(variables={"tools": ["a", "b"]}),
            Expect(tree="p\n  ah\n    a\n    b", tasks=["a", "b"]),
            CompleteTask("a"),
            Expect(tree="p\n  ah\n    b"),
            CompleteTask("b"),
            Expect(
                tree="p\n  next", history=[("element.completed", "b"), ("element.completed", "ah")]
            ),
        ],
    ),
    Scenario(
        "an empty choice waits; activate_adhoc_elements starts elements with scope variables",
        [ad_hoc()],
        [
            Start(variables={"tools": []}),
            Expect(tree="p\n  ah", tasks=[]),
            activate(["c"], {"hint": "use c"}),
            Expect(tree="p\n  ah\n    c"),
            variables_at("c", {"hint": "use c"}),
            root_lacks("hint"),
            CompleteTask("c"),
            Expect(tree="p\n  next"),
        ],
    ),
    Scenario(
        "without an active-elements expression the subprocess waits for the API",
        [ad_hoc(collection=None)],
        [
            Start(),
            Expect(tree="p\n  ah"),
            activate(["a", "b"]),
            Expect(tree="p\n  ah\n    a\n    b"),
        ],
    ),
    Scenario(
        "an element can be activated several times, in parallel",
        [ad_hoc(collection=None)],
        [
            Start(),
            activate(["a"]),
            activate(["a"]),
            Expect(tree="p\n  ah\n    a\n    a"),
            CompleteTask("a", all=True),
            Expect(tree="p\n  next"),
        ],
    ),
    Scenario(
        "the completion condition completes it and cancels the remaining instances",
        [ad_hoc(condition="=done")],
        [
            Start(variables={"tools": ["a", "b"], "done": False}),
            CompleteTask("a", {"done": True}),
            Expect(
                tree="p\n  next",
                history=[
                    ("element.completed", "a"),
                    ("element.terminated", "b"),
                    ("element.completed", "ah"),
                ],
            ),
        ],
    ),
    Scenario(
        "cancelRemainingInstances=false: a fulfilled condition waits for the running elements",
        [ad_hoc(condition="=done", cancel_remaining=False)],
        [
            Start(variables={"tools": ["a", "b"], "done": False}),
            CompleteTask("a", {"done": True}),
            Expect(tree="p\n  ah\n    b"),
            CompleteTask("b"),
            Expect(tree="p\n  next", history=[("element.completed", "b")]),
        ],
    ),
    Scenario(
        "a condition that does not hold keeps it active after its elements completed",
        [ad_hoc(condition="=done")],
        [
            Start(variables={"tools": ["a"], "done": False}),
            CompleteTask("a"),
            Expect(tree="p\n  ah"),
            activate(["b"]),
            CompleteTask("b", {"done": True}),
            Expect(tree="p\n  next"),
        ],
    ),
    Scenario(
        "a completion condition that holds on entry with nothing chosen completes at once",
        [ad_hoc(condition="=skip")],
        [
            Start(variables={"tools": [], "skip": True}),
            Expect(tree="p\n  next"),
        ],
    ),
    Scenario(
        "a sequence flow inside the ad-hoc subprocess runs the chosen element's successor",
        [CHAINED],
        [
            Start(variables={"tools": ["a"]}),
            Expect(tree="p\n  ah\n    a"),
            CompleteTask("a"),
            Expect(tree="p\n  ah\n    b"),
            CompleteTask("b"),
            Expect(tree="p\n  next"),
        ],
    ),
    Scenario(
        "a service task inside runs as a job; its result fulfils the completion condition",
        [WITH_SERVICE],
        [
            Start(variables={"tools": ["search", "a"], "answer": None}),
            Expect(tree="p\n  ah\n    a\n    search"),
            CompleteJob("search", {"answer": 42}),
            Expect(
                tree="p\n  next", variables={"answer": 42}, history=[("element.terminated", "a")]
            ),
        ],
    ),
    Scenario(
        "an active-elements expression that is not a list is an incident naming the value",
        [ad_hoc()],
        [
            Start(variables={"tools": "a"}),
            Expect(tree="p\n  ah", incidents=["EXPRESSION"]),
            incident_mentions("'a'", "not a list"),
        ],
    ),
    Scenario(
        "an active element id that is not an inner element is an incident naming it",
        [ad_hoc()],
        [
            Start(variables={"tools": ["a", "nope"]}),
            Expect(incidents=["EXPRESSION"]),
            incident_mentions("'nope'", "a, b, c"),
        ],
    ),
    Scenario(
        "activate_adhoc_elements refuses ids of elements that are not inside it",
        [ad_hoc(collection=None)],
        [
            Start(),
            refused(["next"], "'next'", "ah"),
            refused(["a", "ghost"], "'ghost'"),
            Expect(tree="p\n  ah", tasks=[]),
        ],
    ),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_scenario(engine: Engine, clock: Clock, scenario: Scenario) -> None:
    run_scenario(engine, clock, scenario)
