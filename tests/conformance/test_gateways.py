"""Exclusive, parallel and inclusive gateways: forks, merges and joins.

An inclusive join waits only for tokens that can still arrive: a branch that ends at an end
event, or decides on a path that does not lead to the join, does not hold it.
"""

from __future__ import annotations

import pytest
from tests.conformance.harness import (
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

_BPMN_NS = 'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'


def c7(body: str) -> str:
    return (
        f'<bpmn:definitions {_BPMN_NS} xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'id="defs" targetNamespace="urn:midflight:test">{body}</bpmn:definitions>'
    )


def c8(body: str) -> str:
    return (
        f'<bpmn:definitions {_BPMN_NS} xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'id="defs" targetNamespace="urn:midflight:test">{body}</bpmn:definitions>'
    )


def flow(source: str, target: str, condition: str | None = None) -> str:
    if condition is None:
        return (
            f'<bpmn:sequenceFlow id="{source}_{target}" sourceRef="{source}" targetRef="{target}"/>'
        )
    return (
        f'<bpmn:sequenceFlow id="{source}_{target}" sourceRef="{source}" targetRef="{target}">'
        f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}'
        "</bpmn:conditionExpression></bpmn:sequenceFlow>"
    )


def resolve_after(variables: dict[str, object]) -> Custom:
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
EXCLUSIVE = (
    ProcessBuilder("p")
    .start_event("s")
    .exclusive_gateway("xor", default="to_small")
    .condition("amount > 1000")
    .user_task("huge")
    .end_event("e1")
    .move_to("xor")
    .condition("amount > 100")
    .user_task("big")
    .end_event("e2")
    .move_to("xor")
    .flow_id("to_small")
    .user_task("small")
    .end_event("e3")
    .build()
)

EXCLUSIVE_NO_DEFAULT = (
    ProcessBuilder("p")
    .start_event("s")
    .exclusive_gateway("xor")
    .condition("ok = true")
    .user_task("yes")
    .end_event("e1")
    .move_to("xor")
    .condition("ok = false")
    .user_task("no")
    .end_event("e2")
    .build()
)

C7_EXCLUSIVE = c7(
    '<bpmn:process id="p" isExecutable="true">'
    '<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="xor" default="xor_low"/>'
    '<bpmn:userTask id="high"/><bpmn:userTask id="low"/>'
    '<bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>'
    + flow("s", "xor")
    + flow("xor", "high", "${score &gt;= 50 &amp;&amp; approved}")
    + flow("xor", "low")
    + flow("high", "e1")
    + flow("low", "e2")
    + "</bpmn:process>"
)

EXCLUSIVE_MERGE = (
    ProcessBuilder("p")
    .start_event("s")
    .parallel_gateway("fork")
    .task("a")
    .exclusive_gateway("merge")
    .user_task("after")
    .end_event("e")
    .move_to("fork")
    .task("b")
    .connect_to("merge")
    .build()
)

PARALLEL = (
    ProcessBuilder("p")
    .start_event("s")
    .parallel_gateway("fork")
    .user_task("a")
    .parallel_gateway("join")
    .user_task("next")
    .end_event("e")
    .move_to("fork")
    .user_task("b")
    .connect_to("join")
    .move_to("fork")
    .user_task("c")
    .connect_to("join")
    .build()
)

PARALLEL_NESTED = (
    ProcessBuilder("p")
    .start_event("s")
    .parallel_gateway("outer_fork")
    .parallel_gateway("inner_fork")
    .user_task("x")
    .parallel_gateway("inner_join")
    .parallel_gateway("outer_join")
    .user_task("next")
    .end_event("e")
    .move_to("inner_fork")
    .user_task("y")
    .connect_to("inner_join")
    .move_to("outer_fork")
    .user_task("z")
    .connect_to("outer_join")
    .build()
)


def inclusive(*, default: bool = False) -> Definitions:
    builder = (
        ProcessBuilder("p")
        .start_event("s")
        .inclusive_gateway("fork", default="to_c" if default else None)
        .condition("x > 1")
        .user_task("a")
        .inclusive_gateway("join")
        .user_task("next")
        .end_event("e")
        .move_to("fork")
        .condition("x > 2")
        .user_task("b")
        .connect_to("join")
    )
    if default:
        builder = builder.move_to("fork").flow_id("to_c").user_task("c").connect_to("join")
    return builder.build()


# fork -> a -> join ; fork -> b -> b_end (never reaches the join)
INCLUSIVE_BRANCH_ENDS = (
    ProcessBuilder("p")
    .start_event("s")
    .inclusive_gateway("fork")
    .condition("toA")
    .user_task("a")
    .inclusive_gateway("join")
    .user_task("next")
    .end_event("e")
    .move_to("fork")
    .condition("toB")
    .user_task("b")
    .end_event("b_end")
    .build()
)

# fork -> a -> join ; fork -> b -> decide (go: -> join, else -> skip_end)
INCLUSIVE_NESTED_DECISION = (
    ProcessBuilder("p")
    .start_event("s")
    .inclusive_gateway("fork")
    .condition("true")
    .user_task("a")
    .inclusive_gateway("join")
    .user_task("next")
    .end_event("e")
    .move_to("fork")
    .condition("true")
    .user_task("b")
    .exclusive_gateway("decide", default="to_skip")
    .condition("go = true")
    .connect_to("join")
    .move_to("decide")
    .flow_id("to_skip")
    .end_event("skip_end")
    .build()
)

# fork -> sub(work) -> join ; fork -> a -> join
INCLUSIVE_THROUGH_SUBPROCESS = (
    ProcessBuilder("p")
    .start_event("s")
    .inclusive_gateway("fork")
    .condition("true")
    .sub_process("sub")
    .start_event("sub_s")
    .user_task("work")
    .end_event("sub_e")
    .sub_process_done()
    .inclusive_gateway("join")
    .user_task("next")
    .end_event("e")
    .move_to("fork")
    .condition("true")
    .user_task("a")
    .connect_to("join")
    .build()
)

# fork -> pfork -> (x, y) -> pjoin -> join ; fork -> a -> join
INCLUSIVE_AFTER_PARALLEL_JOIN = (
    ProcessBuilder("p")
    .start_event("s")
    .inclusive_gateway("fork")
    .condition("true")
    .parallel_gateway("pfork")
    .user_task("x")
    .parallel_gateway("pjoin")
    .inclusive_gateway("join")
    .user_task("next")
    .end_event("e")
    .move_to("pfork")
    .user_task("y")
    .connect_to("pjoin")
    .move_to("fork")
    .condition("true")
    .user_task("a")
    .connect_to("join")
    .build()
)

# a parallel fork whose second branch never reaches the inclusive join
PARALLEL_INTO_INCLUSIVE = (
    ProcessBuilder("p")
    .start_event("s")
    .parallel_gateway("fork")
    .user_task("a")
    .inclusive_gateway("join")
    .user_task("next")
    .end_event("e")
    .move_to("fork")
    .user_task("b")
    .end_event("b_end")
    .move_to("fork")
    .user_task("c")
    .connect_to("join")
    .build()
)

C7_INCLUSIVE = c7(
    '<bpmn:process id="p" isExecutable="true">'
    '<bpmn:startEvent id="s"/>'
    '<bpmn:inclusiveGateway id="fork" default="fork_manual"/>'
    '<bpmn:userTask id="credit"/><bpmn:userTask id="fraud"/><bpmn:userTask id="manual"/>'
    '<bpmn:inclusiveGateway id="join"/><bpmn:userTask id="next"/><bpmn:endEvent id="e"/>'
    + flow("s", "fork")
    + flow("fork", "credit", "${amount &gt; 100}")
    + flow("fork", "fraud", "${country != 'DE'}")
    + flow("fork", "manual")
    + flow("credit", "join")
    + flow("fraud", "join")
    + flow("manual", "join")
    + flow("join", "next")
    + flow("next", "e")
    + "</bpmn:process>"
)

C8_INCLUSIVE_NO_DEFAULT = c8(
    '<bpmn:process id="p" isExecutable="true">'
    '<bpmn:startEvent id="s"/><bpmn:inclusiveGateway id="fork"/>'
    '<bpmn:userTask id="a"/><bpmn:userTask id="b"/>'
    '<bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>'
    + flow("s", "fork")
    + flow("fork", "a", "=x = 1")
    + flow("fork", "b", "=x = 2")
    + flow("a", "e1")
    + flow("b", "e2")
    + "</bpmn:process>"
)


SCENARIOS = [
    Scenario(
        "exclusive gateway takes the first flow whose condition holds",
        [EXCLUSIVE],
        [Start(variables={"amount": 5000}), Expect(tree="p\n  huge")],
    ),
    Scenario(
        "exclusive gateway takes a later flow when earlier conditions fail",
        [EXCLUSIVE],
        [Start(variables={"amount": 500}), Expect(tree="p\n  big")],
    ),
    Scenario(
        "exclusive gateway takes the default flow when no condition holds",
        [EXCLUSIVE],
        [
            Start(variables={"amount": 5}),
            Expect(tree="p\n  small", history=[("element.completed", "xor")]),
        ],
    ),
    Scenario(
        "exclusive gateway without a matching flow or default is an incident; resolving retries",
        [EXCLUSIVE_NO_DEFAULT],
        [
            Start(variables={"ok": None}),
            Expect(tree="p\n  xor", incidents=["CONDITION"]),
            incident_mentions("'xor'"),
            resolve_after({"ok": False}),
            Expect(tree="p\n  no", incidents=[]),
        ],
    ),
    Scenario(
        "Camunda 7 exclusive gateway with a JUEL condition and a default flow",
        [C7_EXCLUSIVE],
        [
            Start(variables={"score": 70, "approved": True}),
            Expect(tree="p\n  high"),
        ],
    ),
    Scenario(
        "Camunda 7 exclusive gateway falls back to its default flow",
        [C7_EXCLUSIVE],
        [
            Start(variables={"score": 70, "approved": False}),
            Expect(tree="p\n  low"),
        ],
    ),
    Scenario(
        "an exclusive gateway merges without joining: each token passes on",
        [EXCLUSIVE_MERGE],
        [
            Start(),
            Expect(tree="p\n  after\n  after", tasks=["after", "after"]),
            CompleteTask("after", all=True),
            Expect(state="COMPLETED"),
        ],
    ),
    Scenario(
        "parallel fork starts every branch; the join waits for all of them",
        [PARALLEL],
        [
            Start(),
            Expect(tree="p\n  a\n  b\n  c"),
            CompleteTask("a"),
            CompleteTask("c"),
            Expect(tree="p\n  b"),
            CompleteTask("b"),
            Expect(
                tree="p\n  next",
                history=[
                    ("element.completed", "b"),
                    ("element.activated", "join"),
                    ("element.completed", "join"),
                    ("element.activated", "next"),
                ],
            ),
        ],
    ),
    Scenario(
        "the parallel join fires once, not once per arriving token",
        [PARALLEL],
        [
            Start(),
            CompleteTask("a"),
            CompleteTask("b"),
            CompleteTask("c"),
            Expect(tree="p\n  next", tasks=["next"]),
            CompleteTask("next"),
            Expect(state="COMPLETED"),
        ],
    ),
    Scenario(
        "nested parallel forks and joins",
        [PARALLEL_NESTED],
        [
            Start(),
            Expect(tree="p\n  x\n  y\n  z"),
            CompleteTask("z"),
            CompleteTask("x"),
            Expect(tree="p\n  y"),
            CompleteTask("y"),
            Expect(tree="p\n  next"),
        ],
    ),
    Scenario(
        "inclusive fork takes every flow that holds; the join waits for all of them",
        [inclusive()],
        [
            Start(variables={"x": 3}),
            Expect(tree="p\n  a\n  b"),
            CompleteTask("a"),
            Expect(tree="p\n  b"),
            CompleteTask("b"),
            Expect(tree="p\n  next"),
        ],
    ),
    Scenario(
        "inclusive fork with one flow holding: the join fires after that branch alone",
        [inclusive()],
        [
            Start(variables={"x": 2}),
            Expect(tree="p\n  a"),
            CompleteTask("a"),
            Expect(tree="p\n  next"),
        ],
    ),
    Scenario(
        "inclusive fork takes its default flow only when no condition holds",
        [inclusive(default=True)],
        [
            Start(variables={"x": 0}),
            Expect(tree="p\n  c"),
            CompleteTask("c"),
            Expect(tree="p\n  next"),
        ],
    ),
    Scenario(
        "inclusive fork with no flow holding and no default is an incident",
        [C8_INCLUSIVE_NO_DEFAULT],
        [
            Start(variables={"x": 3}),
            Expect(tree="p\n  fork", incidents=["CONDITION"]),
            incident_mentions("inclusive", "'fork'"),
        ],
    ),
    Scenario(
        "Camunda 7 inclusive gateway: JUEL conditions, default ignored when one holds",
        [C7_INCLUSIVE],
        [
            Start(variables={"amount": 500, "country": "FR"}),
            Expect(tree="p\n  credit\n  fraud"),
            CompleteTask("fraud"),
            Expect(tree="p\n  credit"),
            CompleteTask("credit"),
            Expect(tree="p\n  next"),
        ],
    ),
    Scenario(
        "inclusive join does not wait for a branch that ends at an end event",
        [INCLUSIVE_BRANCH_ENDS],
        [
            Start(variables={"toA": True, "toB": True}),
            Expect(tree="p\n  a\n  b"),
            CompleteTask("a"),
            Expect(tree="p\n  b\n  next"),
            CompleteTask("b"),
            Expect(tree="p\n  next"),
            CompleteTask("next"),
            Expect(state="COMPLETED"),
        ],
    ),
    Scenario(
        "inclusive join waits for a branch that can still decide to come",
        [INCLUSIVE_NESTED_DECISION],
        [
            Start(),
            CompleteTask("a"),
            Expect(tree="p\n  b"),
            CompleteTask("b", {"go": True}),
            Expect(tree="p\n  next"),
        ],
    ),
    Scenario(
        "inclusive join fires when the last branch that could come decides to end elsewhere",
        [INCLUSIVE_NESTED_DECISION],
        [
            Start(),
            CompleteTask("a"),
            Expect(tree="p\n  b"),
            CompleteTask("b", {"go": False}),
            Expect(
                tree="p\n  next",
                history=[("element.completed", "skip_end"), ("element.activated", "join")],
            ),
        ],
    ),
    Scenario(
        "inclusive join fires when the branch that could come ends first",
        [INCLUSIVE_NESTED_DECISION],
        [
            Start(),
            CompleteTask("b", {"go": False}),
            Expect(tree="p\n  a"),
            CompleteTask("a"),
            Expect(tree="p\n  next"),
        ],
    ),
    Scenario(
        "inclusive join waits for a token inside a subprocess on its way to the join",
        [INCLUSIVE_THROUGH_SUBPROCESS],
        [
            Start(),
            Expect(tree="p\n  a\n  sub\n    work"),
            CompleteTask("a"),
            Expect(tree="p\n  sub\n    work"),
            CompleteTask("work"),
            Expect(tree="p\n  next"),
        ],
    ),
    Scenario(
        "inclusive join waits for tokens of an upstream parallel join",
        [INCLUSIVE_AFTER_PARALLEL_JOIN],
        [
            Start(),
            Expect(tree="p\n  a\n  x\n  y"),
            CompleteTask("a"),
            CompleteTask("x"),
            Expect(tree="p\n  y"),
            CompleteTask("y"),
            Expect(tree="p\n  next"),
        ],
    ),
    Scenario(
        "inclusive join after a parallel fork ignores the branch that cannot reach it",
        [PARALLEL_INTO_INCLUSIVE],
        [
            Start(),
            Expect(tree="p\n  a\n  b\n  c"),
            CompleteTask("a"),
            Expect(tree="p\n  b\n  c"),
            CompleteTask("c"),
            Expect(tree="p\n  b\n  next"),
        ],
    ),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_scenario(engine: Engine, clock: Clock, scenario: Scenario) -> None:
    run_scenario(engine, clock, scenario)
