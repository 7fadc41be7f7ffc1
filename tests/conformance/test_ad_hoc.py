"""Ad-hoc subprocesses: elements chosen by an expression on entry or by
``Engine.activate_adhoc_elements`` later; completion condition and cancelRemainingInstances;
the output collection its inner flows fill (Camunda 8.8 ``outputCollection``/``outputElement``);
each activation's own variables (an AI agent's parallel tool calls)."""

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


def activate(element_ids: list[Any], variables: Mapping[str, Any] | None = None) -> Custom:
    """``activate_adhoc_elements`` on the one live ``ah`` instance (entries: element ids or
    ``{"element_id": ..., "variables": ...}``)."""

    def act(engine: Engine, pid: str) -> None:
        [scope] = engine.activity_instance_tree(pid).instances_of("ah")
        started = engine.activate_adhoc_elements(scope.id, element_ids, variables)
        assert len(started) == len(element_ids)

    return Custom(act)


def refused(element_ids: Any, *parts: str, variables: Mapping[str, Any] | None = None) -> Custom:
    """Activating ``element_ids`` is refused with a message naming ``parts``; nothing changes."""

    def act(engine: Engine, pid: str) -> None:
        before = engine.activity_instance_tree(pid)
        history = [h.id for h in engine.history(pid)]
        [scope] = before.instances_of("ah")
        with pytest.raises(InvalidArgumentError) as caught:
            engine.activate_adhoc_elements(scope.id, element_ids, variables)
        for part in parts:
            assert part in str(caught.value), str(caught.value)
        assert engine.activity_instance_tree(pid) == before
        assert [h.id for h in engine.history(pid)] == history

    return Custom(act)


def variables_at(element_id: str, expected: Mapping[str, Any]) -> Custom:
    def check(engine: Engine, pid: str) -> None:
        [instance] = engine.activity_instance_tree(pid).instances_of(element_id)
        seen = engine.variables(pid, instance.id)
        assert {k: seen.get(k, "<missing>") for k in expected} == dict(expected), seen

    return Custom(check)


def each_sees(element_id: str, *expected: Mapping[str, Any]) -> Custom:
    """The instances of ``element_id`` see these variables, one mapping each, in any order."""

    def check(engine: Engine, pid: str) -> None:
        instances = engine.activity_instance_tree(pid).instances_of(element_id)
        seen = [engine.variables(pid, i.id) for i in instances]
        found = [{k: v.get(k, "<missing>") for k in expected[0]} for v in seen]
        assert sorted(found, key=repr) == sorted(expected, key=repr), found

    return Custom(check)


def complete_jobs(job_type: str, result: Callable[[Mapping[str, Any]], dict[str, Any]]) -> Custom:
    """Complete every open job of ``job_type``, each with ``result(the variables it sees)`` (a
    worker answering each tool call from its own input), the highest ``toolCall`` id first."""

    def act(engine: Engine, pid: str) -> None:
        jobs = engine.activate_jobs(job_type, "worker", max_jobs=10)
        assert jobs, f"no open '{job_type}' job"
        jobs.sort(key=lambda job: repr(job.variables.get("toolCall")), reverse=True)
        for job in jobs:
            engine.complete_job(job.id, result(job.variables))

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


def collected(name: str, *entries: Any) -> Custom:
    """The process instance's ``name`` holds ``entries``, in any order (parallel tool calls
    complete in any order)."""

    def check(engine: Engine, pid: str) -> None:
        found = engine.variables(pid).get(name)
        assert isinstance(found, list), found
        assert sorted(found, key=repr) == sorted(entries, key=repr), found

    return Custom(check)


def call(call_id: str, element_id: str = "search", **arguments: Any) -> dict[str, Any]:
    """One activation entry: ``element_id`` with its own ``toolCall``."""
    return {"element_id": element_id, "variables": {"toolCall": {"id": call_id, **arguments}}}


def service(element_id: str, job: str) -> str:
    """An inner service task of job type ``job`` without mappings."""
    return (
        f'<bpmn:serviceTask id="{element_id}"><bpmn:extensionElements>'
        f'<zeebe:taskDefinition type="{job}"/></bpmn:extensionElements></bpmn:serviceTask>'
    )


TOOL_RESULTS = ("toolCallResults", "={id: toolCall.id, content: toolCallResult}")
#: an agent's tool: a search job whose output mapping gives ``toolCallResult``
SEARCH = ad_hoc(
    collection=None, inner=tool("search", job="search", result="=hits"), output=TOOL_RESULTS
)
#: a tool whose worker writes ``toolCallResult`` itself (no mappings)
LOOKUP = ad_hoc(collection=None, inner=service("lookup", "lookup"), output=TOOL_RESULTS)
#: a tool that is a flow of two jobs: fetch a page, then summarize it
FETCH_AND_SUMMARIZE = ad_hoc(
    collection=None,
    inner=service("fetch", "fetch")
    + service("summarize", "summarize")
    + '<bpmn:sequenceFlow id="fs" sourceRef="fetch" targetRef="summarize"/>',
    output=TOOL_RESULTS,
)
#: the search tool with a catch-all error boundary event ending its path
SEARCH_OR_ERROR = ad_hoc(
    collection=None,
    inner=tool("search", job="search", result="=hits")
    + '<bpmn:boundaryEvent id="failed" attachedToRef="search"><bpmn:errorEventDefinition/>'
    "</bpmn:boundaryEvent>",
    output=TOOL_RESULTS,
)


def answer_query(variables: Mapping[str, Any]) -> dict[str, Any]:
    """A search worker: answers the query of the tool call it sees."""
    return {"hits": [f"about {variables['toolCall']['query']}"]}


def search_fails_for(call_id: str, message: str) -> Callable[[Engine, str], None]:
    """The search worker throws a BPMN error for ``call_id``'s job, with the message as its
    ``toolCallResult``; the other jobs are handed back."""

    def act(engine: Engine, pid: str) -> None:
        for job in engine.activate_jobs("search", "worker", max_jobs=10):
            if job.variables["toolCall"]["id"] == call_id:
                engine.throw_error(job.id, "DOWN", message, {"toolCallResult": message})
            else:
                engine.fail_job(job.id, "not now", retries=job.retries)

    return act


def fix_tool_call_and_resolve(engine: Engine, pid: str) -> None:
    """Give the failed search tool's own toolCall a query, then resolve its incident."""
    [search] = engine.activity_instance_tree(pid).instances_of("search")
    engine.set_variables(search.id, {"toolCall": {"id": "call-1", "query": "horses"}}, local=True)
    [incident] = engine.incidents(pid)
    engine.resolve_incident(incident.id)


def agent_calls(*calls: dict[str, Any]) -> Custom:
    """The agent of seed 000/002 asks for several tools at once, each with its own call."""

    def act(engine: Engine, pid: str) -> None:
        [agent] = engine.activity_instance_tree(pid).instances_of("MessageDeliveryAgent")
        engine.activate_adhoc_elements(agent.id, list(calls))

    return Custom(act)


def agent_call(call_id: str, element_id: str, **arguments: Any) -> dict[str, Any]:
    meta = {"_meta": {"id": call_id, "name": element_id}}
    return {"element_id": element_id, "variables": {"toolCall": {**meta, **arguments}}}


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
        "an empty choice waits; activate_adhoc_elements starts elements, the activation's "
        "variables local to the element it starts",
        [ad_hoc()],
        [
            Start(variables={"tools": []}),
            Expect(tree="p\n  ah", tasks=[]),
            activate(["c"], {"hint": "use c"}),
            Expect(tree="p\n  ah\n    c"),
            variables_at("c", {"hint": "use c"}),
            variables_at("ah", {"hint": "<missing>"}),
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
        "a service task inside runs as a job; without an output collection its result "
        "propagates (to the process) and fulfils the completion condition",
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
            root_lacks("answer", "tool"),  # what the tools produced stayed with them
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
        "two tool calls started together each see their own toolCall, and each result is "
        "collected with its own call",
        [SEARCH],
        [
            Start(),
            activate([call("call-1", query="horses"), call("call-2", query="hawks")]),
            Expect(tree="p\n  ah\n    search\n    search"),
            each_sees(
                "search",
                {"toolCall": {"id": "call-1", "query": "horses"}},
                {"toolCall": {"id": "call-2", "query": "hawks"}},
            ),
            variables_at("ah", {"toolCall": "<missing>"}),
            complete_jobs("search", answer_query),  # call-2 answers first
            Expect(
                tree="p\n  next",
                variables={
                    "toolCallResults": [
                        {"id": "call-2", "content": ["about hawks"]},
                        {"id": "call-1", "content": ["about horses"]},
                    ]
                },
            ),
            root_lacks("toolCall", "toolCallResult", "hits"),
        ],
    ),
    Scenario(
        "a later activation does not overwrite the toolCall of one still running",
        [SEARCH],
        [
            Start(),
            activate(["search"], {"toolCall": {"id": "call-1", "query": "horses"}}),
            activate(["search"], {"toolCall": {"id": "call-2", "query": "hawks"}}),
            each_sees(
                "search",
                {"toolCall": {"id": "call-1", "query": "horses"}},
                {"toolCall": {"id": "call-2", "query": "hawks"}},
            ),
            complete_jobs("search", answer_query),
            Expect(tree="p\n  next"),
            collected(
                "toolCallResults",
                {"id": "call-1", "content": ["about horses"]},
                {"id": "call-2", "content": ["about hawks"]},
            ),
        ],
    ),
    Scenario(
        "an entry's own variables go on top of the variables shared by the activation",
        [SEARCH],
        [
            Start(),
            activate([call("call-1"), "search"], {"toolCall": {"id": "shared"}, "round": 3}),
            each_sees(
                "search",
                {"toolCall": {"id": "call-1"}, "round": 3},
                {"toolCall": {"id": "shared"}, "round": 3},
            ),
            variables_at("ah", {"toolCall": "<missing>", "round": "<missing>"}),
        ],
    ),
    Scenario(
        "what a worker writes without output mappings stays with its activation too",
        [LOOKUP],
        [
            Start(variables={"toolCallResult": "stale"}),
            activate([call("call-1", element_id="lookup"), call("call-2", element_id="lookup")]),
            complete_jobs(
                "lookup", lambda seen: {"toolCallResult": f"found for {seen['toolCall']['id']}"}
            ),
            Expect(tree="p\n  next", variables={"toolCallResult": "stale"}),  # untouched
            collected(
                "toolCallResults",
                {"id": "call-1", "content": "found for call-1"},
                {"id": "call-2", "content": "found for call-2"},
            ),
        ],
    ),
    Scenario(
        "a tool that is a flow hands its activation's variables and results on along the flow",
        [FETCH_AND_SUMMARIZE],
        [
            Start(),
            activate(
                [
                    call("call-1", element_id="fetch", url="u1"),
                    call("call-2", element_id="fetch", url="u2"),
                ]
            ),
            complete_jobs("fetch", lambda seen: {"page": f"page {seen['toolCall']['url']}"}),
            Expect(tree="p\n  ah\n    summarize\n    summarize"),
            root_lacks("page", "toolCall"),
            complete_jobs(
                "summarize",
                lambda seen: {"toolCallResult": f"{seen['toolCall']['id']}: {seen['page']}"},
            ),
            Expect(tree="p\n  next"),
            collected(
                "toolCallResults",
                {"id": "call-1", "content": "call-1: page u1"},
                {"id": "call-2", "content": "call-2: page u2"},
            ),
        ],
    ),
    Scenario(
        "a tool's boundary event goes on with its activation: an error's result reaches its call",
        [SEARCH_OR_ERROR],
        [
            Start(),
            activate([call("call-1", query="horses"), call("call-2", query="hawks")]),
            Custom(search_fails_for("call-1", "search is down")),
            complete_jobs("search", answer_query),
            Expect(tree="p\n  next"),
            collected(
                "toolCallResults",
                {"id": "call-1", "content": "search is down"},
                {"id": "call-2", "content": ["about hawks"]},
            ),
            root_lacks("toolCallResult"),
        ],
    ),
    Scenario(
        "seed 000/002: two tools the agent calls at once each answer their own call",
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
            agent_calls(
                agent_call("call-1", "AskForInformation", question="Which Joyce?"),
                agent_call("call-2", "SendEmail", to="joyce@example.org", subject="Hi", body="..."),
            ),
            variables_at(
                "AskForInformation", {"question": "Which Joyce?", "toolCallResult": "<missing>"}
            ),
            CompleteJob("io.camunda:email:1", {"response": "email sent"}),
            CompleteTask("AskForInformation", {"answer": "Joyce Miller"}),
            Expect(
                tasks=["ReviewAgentPerformance"],
                variables={
                    "toolCall": {"elements": []},  # the process's own, untouched
                    "toolCallResults": [
                        {"id": "call-2", "name": "SendEmail", "content": "email sent"},
                        {"id": "call-1", "name": "AskForInformation", "content": "Joyce Miller"},
                    ],
                },
            ),
            root_lacks("toolCallResult", "answer", "response"),
        ],
    ),
    Scenario(
        "a tool whose input mapping fails keeps its activation's variables; resolving the "
        "incident maps them again and runs the tool",
        [
            ad_hoc(
                collection=None,
                inner='<bpmn:serviceTask id="search"><bpmn:extensionElements>'
                '<zeebe:taskDefinition type="search"/><zeebe:ioMapping>'
                '<zeebe:input source="=assert(toolCall.query, toolCall.query != null, '
                '&quot;no query&quot;)" target="query"/>'
                '<zeebe:output source="=hits" target="toolCallResult"/>'
                "</zeebe:ioMapping></bpmn:extensionElements></bpmn:serviceTask>",
                output=TOOL_RESULTS,
            )
        ],
        [
            Start(),
            activate([call("call-1")]),
            Expect(tree="p\n  ah\n    search", incidents=["EXPRESSION"]),
            incident_mentions("opening 'search' failed", "no query"),
            Custom(fix_tool_call_and_resolve),
            variables_at(
                "search", {"query": "horses", "toolCall": {"id": "call-1", "query": "horses"}}
            ),
            complete_jobs("search", answer_query),
            Expect(tree="p\n  next", incidents=[]),
            collected("toolCallResults", {"id": "call-1", "content": ["about horses"]}),
        ],
    ),
    Scenario(
        "activate_adhoc_elements refuses a malformed list of activations, naming the bad entry",
        [SEARCH],
        [
            Start(),
            refused("search", "element_ids must be a list"),
            refused([], "at least one element"),
            refused([42], "element_ids[0] 42"),
            refused(["search", {"variables": {}}], "element_ids[1]", "'element_id'"),
            refused([{"element_id": "search", "vars": {}}], "element_ids[0]", "'vars'"),
            refused([{"element_id": "search", "variables": ["x"]}], "element_ids[0]", "dict"),
            refused([call("call-1", bad={1, 2})], "element_ids[0]", "toolCall.bad", "set"),
            refused(["search"], "'when'", variables={"when": object()}),
            refused([call("call-1"), {"element_id": "ghost"}], "'ghost'", "choose from search"),
            Expect(tree="p\n  ah", tasks=[]),
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
