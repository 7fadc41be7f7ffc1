"""Ad-hoc subprocesses: elements chosen by an expression on entry or by
``Engine.activate_adhoc_elements`` later; completion condition and cancelRemainingInstances;
the output collection its inner flows fill (Camunda 8.8 ``outputCollection``/``outputElement``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

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
    output: tuple[str, str] | None = None,
) -> str:
    """Process ``p``: start -> ad-hoc subprocess ``ah`` holding ``inner`` -> user task ``next``.

    ``output``: the ``(outputCollection, outputElement)`` it collects, if any."""
    attributes = "" if collection is None else f' activeElementsCollection="{collection}"'
    if output is not None:
        element = escape(output[1], {'"': "&quot;"})
        attributes += f' outputCollection="{output[0]}" outputElement="{element}"'
    zeebe = (
        f"<bpmn:extensionElements><zeebe:adHoc{attributes}/></bpmn:extensionElements>"
        if attributes
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


def tool(element_id: str, *, job: str | None = None, result: str | None = None) -> str:
    """An inner user task (or a service task with ``job``) whose local ``tool`` names it; with
    ``result`` its output mapping sets ``toolCallResult`` (the AI agent's tools do that)."""
    kind = "serviceTask" if job else "userTask"
    definition = f'<zeebe:taskDefinition type="{job}"/>' if job else ""
    output = f'<zeebe:output source="{result}" target="toolCallResult"/>' if result else ""
    return (
        f'<bpmn:{kind} id="{element_id}"><bpmn:extensionElements>{definition}<zeebe:ioMapping>'
        f'<zeebe:input source="=&quot;{element_id}&quot;" target="tool"/>{output}'
        f"</zeebe:ioMapping></bpmn:extensionElements></bpmn:{kind}>"
    )


TOOLS = tool("a") + tool("b") + tool("c")
# what each tool adds: its own local ``tool`` and the answer it was completed with
ANSWERS = ("results", "={tool: tool, answer: answer}")
COLLECTING = ad_hoc(inner=TOOLS, output=ANSWERS)


def collected_at(element_id: str, expected: list[Any]) -> Custom:
    """The output collection ``results`` as the ad-hoc scope ``element_id`` holds it."""
    return variables_at(element_id, {"results": expected})


def resolve_incident(fix: Mapping[str, Any]) -> Custom:
    """Set ``fix`` on the process instance, then resolve its one incident."""

    def act(engine: Engine, pid: str) -> None:
        engine.set_variables(pid, fix)
        [incident] = engine.incidents(pid)
        engine.resolve_incident(incident.id)

    return Custom(act)


def restart_inside_at(element_id: str) -> Callable[[Engine, str], None]:
    """Modification: cancel ``ah`` and start ``element_id`` in a new ``ah`` scope it creates."""

    def act(engine: Engine, pid: str) -> None:
        engine.modify(pid).cancel_all("ah").start_before(element_id).execute()

    return act


CHAINED_COLLECTING = (
    ProcessBuilder("p")
    .start_event("s")
    .ad_hoc_sub_process(
        "ah",
        active_elements_collection="=tools",
        output_collection="results",
        output_element="=step",
    )
    .user_task("a", inputs={"step": '="a"'})
    .user_task("b", inputs={"step": '="b"'})
    .sub_process_done()
    .user_task("next")
    .end_event("e")
    .build()
)

AGENT = Path(__file__).parents[1] / "data" / "bpmn" / "c8_ai_message_delivery_v1.bpmn"


def agent_picks(element_id: str, call_id: str, **arguments: Any) -> Custom:
    """The AI agent of seed 000/002 asks for one tool (its LLM's tool call as ``toolCall``)."""

    def act(engine: Engine, pid: str) -> None:
        [agent] = engine.activity_instance_tree(pid).instances_of("MessageDeliveryAgent")
        call = {"_meta": {"id": call_id, "name": element_id}, **arguments}
        engine.activate_adhoc_elements(agent.id, [element_id], {"toolCall": call})

    return Custom(act)


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
        "the output collection starts as an empty local list; each completed element adds its "
        "output element, evaluated in its own scope; the parent gets the list",
        [COLLECTING],
        [
            Start(variables={"tools": ["a", "b"]}),
            collected_at("ah", []),
            root_lacks("results"),
            CompleteTask("b", {"answer": 2}),
            collected_at("ah", [{"tool": "b", "answer": 2}]),
            root_lacks("results"),
            CompleteTask("a", {"answer": 1}),
            Expect(
                tree="p\n  next",
                variables={"results": [{"tool": "b", "answer": 2}, {"tool": "a", "answer": 1}]},
                history=[("element.completed", "a"), ("element.completed", "ah")],
            ),
        ],
    ),
    Scenario(
        "elements started later by the API add to it too, once per completion",
        [ad_hoc(collection=None, inner=TOOLS, output=ANSWERS)],
        [
            Start(),
            activate(["c"]),
            activate(["c"]),
            CompleteTask("c", {"answer": "x"}, all=True),
            Expect(
                tree="p\n  next",
                variables={"results": [{"tool": "c", "answer": "x"}, {"tool": "c", "answer": "x"}]},
            ),
        ],
    ),
    Scenario(
        "a flow of several elements adds its output once, when its last element completes",
        [CHAINED_COLLECTING],
        [
            Start(variables={"tools": ["a"]}),
            CompleteTask("a"),
            collected_at("ah", []),
            CompleteTask("b"),
            Expect(tree="p\n  next", variables={"results": ["b"]}),
        ],
    ),
    Scenario(
        "the completion condition sees the collection; elements it cancels add nothing",
        [ad_hoc(inner=TOOLS, output=ANSWERS, condition="=count(results) >= 2")],
        [
            Start(variables={"tools": ["a", "b", "c"]}),
            CompleteTask("a", {"answer": 1}),
            Expect(tree="p\n  ah\n    b\n    c"),
            CompleteTask("c", {"answer": 3}),
            Expect(
                tree="p\n  next",
                variables={"results": [{"tool": "a", "answer": 1}, {"tool": "c", "answer": 3}]},
                history=[("element.terminated", "b"), ("element.completed", "ah")],
            ),
        ],
    ),
    Scenario(
        "with nothing completed inside, an empty collection reaches the parent",
        [ad_hoc(inner=TOOLS, output=ANSWERS, condition="=skip")],
        [
            Start(variables={"tools": [], "skip": True}),
            Expect(tree="p\n  next", variables={"results": []}),
        ],
    ),
    Scenario(
        "a job worker tool's output mapping gives the result the output element reads "
        "(the AI agent's toolCallResults)",
        [
            ad_hoc(
                inner=tool("search", job="search", result="=hits"),
                output=(
                    "toolCallResults",
                    "={id: toolCall.id, name: tool, content: toolCallResult}",
                ),
            )
        ],
        [
            Start(variables={"tools": ["search"], "toolCall": {"id": "call-1"}}),
            CompleteJob("search", {"hits": ["doc-7"]}),
            Expect(
                tree="p\n  next",
                variables={
                    "toolCallResults": [{"id": "call-1", "name": "search", "content": ["doc-7"]}]
                },
            ),
        ],
    ),
    Scenario(
        "seed 000/002: the message delivery agent collects the result of each tool it picks",
        [AGENT.read_text()],
        [
            Start(
                variables={
                    "sender": "ann",
                    "recipient": "Joyce",
                    "message": "See you at the stables.",
                    "toolCall": {"elements": []},
                }
            ),
            CompleteTask("ConfirmPrompt"),
            agent_picks("AskForInformation", "call-1", question="Which Joyce?"),
            CompleteTask("AskForInformation", {"answer": "Joyce Miller"}),
            Expect(
                tasks=["ReviewAgentPerformance"],
                variables={
                    "toolCallResults": [
                        {
                            "id": "call-1",
                            "name": "AskForInformation",
                            "content": "Joyce Miller",
                        }
                    ]
                },
            ),
        ],
    ),
    Scenario(
        "a scope that modification made (not activated, so without the list) collects too",
        [COLLECTING],
        [
            Start(variables={"tools": []}),
            Custom(restart_inside_at("a")),
            variables_at("a", {"results": "<missing>"}),
            CompleteTask("a", {"answer": 5}),
            Expect(tree="p\n  next", variables={"results": [{"tool": "a", "answer": 5}]}),
        ],
    ),
    Scenario(
        "an output element that fails is an IO_MAPPING incident on the element; resolving it "
        "after fixing the data adds the entry and moves on",
        [ad_hoc(inner=TOOLS, output=("results", '=assert(answer, answer != null, "no answer")'))],
        [
            Start(variables={"tools": ["a"], "answer": None}),
            CompleteTask("a"),
            Expect(tree="p\n  ah\n    a", incidents=["IO_MAPPING"]),
            incident_mentions(
                "completing 'a' failed",
                "output element '=assert(answer, answer != null, \"no answer\")'",
                "ad-hoc subprocess 'ah'",
                "no answer",
            ),
            collected_at("ah", []),
            resolve_incident({"answer": 42}),
            Expect(tree="p\n  next", incidents=[], variables={"results": [42]}),
        ],
    ),
    Scenario(
        "an output element giving a value no variable can hold is an incident naming it",
        [ad_hoc(inner=TOOLS, output=("results", '=duration("P1D")'))],
        [
            Start(variables={"tools": ["a"]}),
            CompleteTask("a"),
            Expect(tree="p\n  ah\n    a", incidents=["IO_MAPPING"]),
            incident_mentions("'ah'", "datetime.timedelta(days=1)", "cannot hold"),
            collected_at("ah", []),
        ],
    ),
    Scenario(
        "an output collection that is no longer a list is an incident naming it",
        [ad_hoc(inner=TOOLS, output=ANSWERS)],
        [
            Start(variables={"tools": ["a", "b"]}),
            Custom(
                lambda engine, pid: engine.set_variables(
                    engine.activity_instance_tree(pid).instances_of("ah")[0].id,
                    {"results": "overwritten"},
                    local=True,
                )
            ),
            CompleteTask("a", {"answer": 1}),
            Expect(tree="p\n  ah\n    a\n    b", incidents=["IO_MAPPING"]),
            incident_mentions("output collection 'results'", "'overwritten'", "not a list"),
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
