"""Async continuations, execution listeners and task listeners.

Async before/after: the token waits as a transition instance backed by a job, visible in
``ActivityInstance.transitions`` (rendered ``id (async before)``). Execution listeners (start,
end) are blocking jobs of the listener's type; task listeners notify on create and assignment
and block on complete.
"""

from __future__ import annotations

import itertools

import pytest
from tests.conformance.harness import (
    Advance,
    AsyncJobs,
    Cancel,
    Clock,
    CompleteJob,
    CompleteTask,
    Custom,
    Expect,
    FailJob,
    Scenario,
    Start,
    run_scenario,
)

from midflight import Engine
from midflight.model import ProcessBuilder

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


def process(*elements: str, chain: tuple[str, ...]) -> str:
    """A process ``p`` of ``elements`` joined by flows in the order of ``chain``."""
    flows = "".join(
        f'<bpmn:sequenceFlow id="f_{a}_{b}" sourceRef="{a}" targetRef="{b}"/>'
        for a, b in itertools.pairwise(chain)
    )
    return f'<bpmn:process id="p" isExecutable="true">{"".join(elements)}{flows}</bpmn:process>'


def jobs_open(job_type: str, count: int) -> Custom:
    """Exactly ``count`` jobs of ``job_type`` can be activated now (they are handed back)."""

    def check(engine: Engine, pid: str) -> None:
        jobs = engine.activate_jobs(job_type, "peek", max_jobs=100, lock_seconds=0.001)
        assert len(jobs) == count, f"{len(jobs)} '{job_type}' jobs, expected {count}"
        for job in jobs:
            engine.fail_job(job.id, "peeked", job.retries)

    return Custom(check)


def claim(element_id: str, user: str) -> Custom:
    def act(engine: Engine, pid: str) -> None:
        [task] = engine.user_tasks(pid, element_id=element_id)
        engine.claim(task.id, user)

    return Custom(act)


def listener_job_sees(job_type: str, **expected: object) -> Custom:
    """Activate the one ``job_type`` job, check its variables, and complete it."""

    def act(engine: Engine, pid: str) -> None:
        [job] = engine.activate_jobs(job_type, "conformance")
        for name, value in expected.items():
            assert job.variables.get(name) == value, job.variables
        engine.complete_job(job.id)

    return Custom(act)


def transitions(element_id: str, *directions: str) -> Custom:
    """The transition instances of ``element_id`` in the tree (anywhere), by direction."""

    def check(engine: Engine, pid: str) -> None:
        found = [
            t.direction
            for node in engine.activity_instance_tree(pid).walk()
            for t in node.transitions
            if t.element_id == element_id
        ]
        assert sorted(found) == sorted(directions), found

    return Custom(check)


# ----------------------------------------------------------------------------------------------
# models
# ----------------------------------------------------------------------------------------------
ASYNC_BEFORE_SERVICE = (
    ProcessBuilder("p")
    .start_event("s")
    .service_task("t", job_type="work", async_before=True)
    .end_event("e")
    .build()
)

ASYNC_AFTER_USER = (
    ProcessBuilder("p")
    .start_event("s")
    .user_task("t", async_after=True)
    .user_task("next")
    .end_event("e")
    .build()
)

ASYNC_BEFORE_SUBPROCESS = (
    ProcessBuilder("p")
    .start_event("s")
    .sub_process("sub", async_before=True)
    .start_event("sub_s")
    .user_task("t")
    .end_event("sub_e")
    .sub_process_done()
    .end_event("e")
    .build()
)

ASYNC_AFTER_BEFORE_JOIN = (
    ProcessBuilder("p")
    .start_event("s")
    .parallel_gateway("fork")
    .user_task("a", async_after=True)
    .parallel_gateway("join")
    .user_task("next")
    .end_event("e")
    .move_to("fork")
    .user_task("b")
    .connect_to("join")
    .build()
)

ASYNC_WITH_BOUNDARY = (
    ProcessBuilder("p")
    .start_event("s")
    .user_task("t", async_before=True)
    .end_event("e")
    .boundary_event("late", attached_to="t", timer_duration="PT1H")
    .user_task("escalated")
    .end_event("e2")
    .build()
)

C7_ASYNC_START_AND_GATEWAY = c7(
    process(
        '<bpmn:startEvent id="s" camunda:asyncBefore="true"/>',
        '<bpmn:exclusiveGateway id="xor" camunda:asyncBefore="true"/>',
        '<bpmn:userTask id="t"/>',
        '<bpmn:endEvent id="e"/>',
        chain=("s", "xor", "t", "e"),
    )
)

C7_ASYNC_MI_BODY = c7(
    process(
        '<bpmn:startEvent id="s"/>',
        '<bpmn:userTask id="t"><bpmn:multiInstanceLoopCharacteristics '
        'camunda:asyncBefore="true"><bpmn:loopCardinality>2</bpmn:loopCardinality>'
        "</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>",
        '<bpmn:endEvent id="e"/>',
        chain=("s", "t", "e"),
    )
)

C7_ASYNC_MI_INNER = c7(
    process(
        '<bpmn:startEvent id="s"/>',
        '<bpmn:userTask id="t" camunda:asyncBefore="true"><bpmn:multiInstanceLoopCharacteristics>'
        "<bpmn:loopCardinality>2</bpmn:loopCardinality>"
        "</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>",
        '<bpmn:endEvent id="e"/>',
        chain=("s", "t", "e"),
    )
)

C8_START_LISTENER = c8(
    process(
        '<bpmn:startEvent id="s"/>',
        '<bpmn:serviceTask id="t"><bpmn:extensionElements>'
        '<zeebe:taskDefinition type="work"/>'
        '<zeebe:executionListeners><zeebe:executionListener eventType="start" type="audit"/>'
        "</zeebe:executionListeners></bpmn:extensionElements></bpmn:serviceTask>",
        '<bpmn:endEvent id="e"/>',
        chain=("s", "t", "e"),
    )
)

C8_TWO_START_LISTENERS = c8(
    process(
        '<bpmn:startEvent id="s"/>',
        '<bpmn:userTask id="t"><bpmn:extensionElements><zeebe:executionListeners>'
        '<zeebe:executionListener eventType="start" type="first"/>'
        '<zeebe:executionListener eventType="start" type="second" retries="1"/>'
        "</zeebe:executionListeners></bpmn:extensionElements></bpmn:userTask>",
        '<bpmn:endEvent id="e"/>',
        chain=("s", "t", "e"),
    )
)

END_LISTENER = (
    ProcessBuilder("p")
    .start_event("s")
    .user_task("t")
    .execution_listener("end", "after-hook")
    .user_task("next")
    .end_event("e")
    .build()
)

END_LISTENER_ON_SERVICE = (
    ProcessBuilder("p")
    .start_event("s")
    .service_task("t", job_type="work")
    .execution_listener("end", "after-hook")
    .end_event("e")
    .build()
)

END_LISTENER_ON_EVENT = (
    ProcessBuilder("p")
    .start_event("s")
    .execution_listener("end", "started-hook")
    .user_task("t")
    .end_event("e")
    .build()
)

C7_LISTENERS = c7(
    process(
        '<bpmn:startEvent id="s"/>',
        '<bpmn:userTask id="t"><bpmn:extensionElements>'
        '<camunda:executionListener event="start" delegateExpression="${auditListener}"/>'
        '<camunda:taskListener event="assignment" class="org.example.OnAssign"/>'
        "</bpmn:extensionElements></bpmn:userTask>",
        '<bpmn:endEvent id="e"/>',
        chain=("s", "t", "e"),
    )
)

CREATE_LISTENER = (
    ProcessBuilder("p")
    .start_event("s")
    .user_task("t", assignee="=owner")
    .task_listener("create", "on-create")
    .task_listener("assignment", "on-assign")
    .end_event("e")
    .build()
)

C8_COMPLETING_LISTENER = c8(
    process(
        '<bpmn:startEvent id="s"/>',
        '<bpmn:userTask id="t"><bpmn:extensionElements><zeebe:userTask/>'
        '<zeebe:taskListeners><zeebe:taskListener eventType="completing" type="check"/>'
        "</zeebe:taskListeners></bpmn:extensionElements></bpmn:userTask>",
        '<bpmn:userTask id="next"/>',
        '<bpmn:endEvent id="e"/>',
        chain=("s", "t", "next", "e"),
    )
)


SCENARIOS = [
    Scenario(
        "async before: the token waits as a transition; the task's job comes after it runs",
        [ASYNC_BEFORE_SERVICE],
        [
            Start(),
            Expect(tree="p\n  t (async before)"),
            transitions("t", "before"),
            jobs_open("work", 0),
            AsyncJobs(ran=1),
            Expect(tree="p\n  t"),
            jobs_open("work", 1),
            CompleteJob("work"),
            Expect(
                state="COMPLETED",
                history=[("element.async_before", "t"), ("element.activated", "t")],
            ),
        ],
    ),
    Scenario(
        "async after: the completed task waits as a transition before leaving",
        [ASYNC_AFTER_USER],
        [
            Start(),
            CompleteTask("t"),
            Expect(tree="p\n  t (async after)", tasks=[]),
            AsyncJobs(ran=1),
            Expect(
                tree="p\n  next", history=[("element.async_after", "t"), ("element.completed", "t")]
            ),
        ],
    ),
    Scenario(
        "async before on an embedded subprocess: the scope is entered when the job runs",
        [ASYNC_BEFORE_SUBPROCESS],
        [
            Start(),
            Expect(tree="p\n  sub (async before)"),
            AsyncJobs(ran=1),
            Expect(tree="p\n  sub\n    t"),
        ],
    ),
    Scenario(
        "async after on a branch: the parallel join waits for the continuation",
        [ASYNC_AFTER_BEFORE_JOIN],
        [
            Start(),
            CompleteTask("b"),
            CompleteTask("a"),
            Expect(tree="p\n  a (async after)"),
            AsyncJobs(ran=1),
            Expect(tree="p\n  next"),
        ],
    ),
    Scenario(
        "Camunda 7 async before on the start event and on a gateway",
        [C7_ASYNC_START_AND_GATEWAY],
        [
            Start(),
            Expect(tree="p\n  s (async before)"),
            AsyncJobs(ran=1),
            Expect(tree="p\n  xor (async before)"),
            AsyncJobs(ran=1),
            Expect(tree="p\n  t"),
        ],
    ),
    Scenario(
        "Camunda 7 async before on the loop characteristics waits before the body",
        [C7_ASYNC_MI_BODY],
        [
            Start(),
            Expect(tree="p\n  t#multiInstanceBody (async before)"),
            AsyncJobs(ran=1),
            Expect(tree="p\n  t#multiInstanceBody\n    t\n    t"),
        ],
    ),
    Scenario(
        "Camunda 7 async before on a multi-instance activity waits before each inner instance",
        [C7_ASYNC_MI_INNER],
        [
            Start(),
            Expect(tree="p\n  t#multiInstanceBody\n    t (async before)\n    t (async before)"),
            AsyncJobs(ran=2),
            Expect(tree="p\n  t#multiInstanceBody\n    t\n    t", tasks=["t", "t"]),
        ],
    ),
    Scenario(
        "boundary events are armed only once the async-before continuation entered the task",
        [ASYNC_WITH_BOUNDARY],
        [
            Start(),
            Advance(hours=2, fired=0),
            AsyncJobs(ran=1),
            Expect(tree="p\n  t"),
            Advance(minutes=59, fired=0),
            Advance(minutes=2, fired=1),
            Expect(tree="p\n  escalated"),
        ],
    ),
    Scenario(
        "cancelling the instance drops its pending continuations",
        [ASYNC_BEFORE_SERVICE],
        [
            Start(),
            Cancel(),
            AsyncJobs(ran=0),
            Expect(state="CANCELED"),
        ],
    ),
    Scenario(
        "a start execution listener blocks the element until its job completes (C8)",
        [C8_START_LISTENER],
        [
            Start(),
            Expect(tree="p\n  t"),
            jobs_open("work", 0),
            CompleteJob("audit", {"audited": True}),
            jobs_open("work", 1),
            CompleteJob("work"),
            Expect(state="COMPLETED", variables={"audited": True}),
        ],
    ),
    Scenario(
        "several start listeners run one after another in model order",
        [C8_TWO_START_LISTENERS],
        [
            Start(),
            jobs_open("second", 0),
            Expect(tasks=[]),
            CompleteJob("first"),
            jobs_open("first", 0),
            Expect(tasks=[]),
            CompleteJob("second"),
            Expect(tasks=["t"]),
        ],
    ),
    Scenario(
        "a failing listener job without retries is an incident on its element",
        [C8_TWO_START_LISTENERS],
        [
            Start(),
            CompleteJob("first"),
            FailJob("second", retries=0, message="audit service down"),
            Expect(tree="p\n  t", incidents=["JOB_NO_RETRIES"], tasks=[]),
        ],
    ),
    Scenario(
        "an end execution listener runs after the task completed, before the token moves on",
        [END_LISTENER],
        [
            Start(),
            CompleteTask("t", {"approved": True}),
            Expect(tree="p\n  t", tasks=[]),
            listener_job_sees("after-hook", approved=True),
            Expect(
                tree="p\n  next",
                history=[
                    ("task.completed", "t"),
                    ("job.completed", "t"),
                    ("element.completed", "t"),
                ],
            ),
        ],
    ),
    Scenario(
        "a service task's job is done once completed, though its end listener still runs",
        [END_LISTENER_ON_SERVICE],
        [
            Start(),
            CompleteJob("work"),
            Advance(minutes=10),
            jobs_open("work", 0),
            Expect(tree="p\n  t"),
            CompleteJob("after-hook"),
            Expect(state="COMPLETED"),
        ],
    ),
    Scenario(
        "an end execution listener on the start event holds the token there",
        [END_LISTENER_ON_EVENT],
        [
            Start(),
            Expect(tree="p\n  s", tasks=[]),
            CompleteJob("started-hook"),
            Expect(tree="p\n  t"),
        ],
    ),
    Scenario(
        "Camunda 7 listeners run as jobs named by their delegate expression or class",
        [C7_LISTENERS],
        [
            Start(),
            Expect(tasks=[]),
            CompleteJob("${auditListener}"),
            Expect(tasks=["t"]),
            jobs_open("org.example.OnAssign", 0),
            claim("t", "mary"),
            CompleteJob("org.example.OnAssign"),
            CompleteTask("t"),
            Expect(state="COMPLETED"),
        ],
    ),
    Scenario(
        "create and assignment task listeners notify without holding the task",
        [CREATE_LISTENER],
        [
            Start(variables={"owner": "joe"}),
            Expect(tree="p\n  t", tasks=["t"]),
            jobs_open("on-create", 1),
            listener_job_sees("on-assign", owner="joe"),
            CompleteTask("t"),
            Expect(state="COMPLETED"),
            jobs_open("on-create", 0),
        ],
    ),
    Scenario(
        "a task created without an assignee notifies assignment listeners when claimed",
        [CREATE_LISTENER],
        [
            Start(variables={"owner": None}),
            CompleteJob("on-create"),
            jobs_open("on-assign", 0),
            claim("t", "ann"),
            jobs_open("on-assign", 1),
        ],
    ),
    Scenario(
        "a completing task listener (C8) closes the task, then holds the element until done",
        [C8_COMPLETING_LISTENER],
        [
            Start(),
            CompleteTask("t", {"decision": "ok"}),
            Expect(tree="p\n  t", tasks=[]),
            listener_job_sees("check", decision="ok"),
            Expect(
                tree="p\n  next",
                variables={"decision": "ok"},
                history=[("task.completed", "t"), ("element.completed", "t")],
            ),
        ],
    ),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_scenario(engine: Engine, clock: Clock, scenario: Scenario) -> None:
    run_scenario(engine, clock, scenario)
