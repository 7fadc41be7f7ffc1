"""Compensation and transaction subprocesses.

Completed activities with a compensation boundary event register their handler in their scope;
a compensation throw (intermediate or end) event runs the handlers of its scope newest first
and waits until they completed. A cancel end event inside a transaction compensates what the
transaction completed, then leaves it over its cancel boundary event.
"""

from __future__ import annotations

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
from midflight.model import Definitions, ProcessBuilder

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


def started_handlers(*expected: str) -> Custom:
    """The handlers the compensation started, in the order they were started."""

    def check(engine: Engine, pid: str) -> None:
        started = [
            (h.data or {}).get("handler")
            for h in engine.history(pid)
            if h.event == "compensation.started"
        ]
        assert started == list(expected), started

    return Custom(check)


def compensable(builder: ProcessBuilder, task: str, handler: str) -> ProcessBuilder:
    """Add user task ``task`` with a compensation boundary whose handler is user task
    ``handler``; the cursor stays on ``task``."""
    return (
        builder.user_task(task)
        .boundary_event(f"{task}_comp", attached_to=task, compensate=True)
        .user_task(handler)
        .move_to(task)
    )


def booking(*, compensate: str | bool = True, end: bool = False) -> Definitions:
    """hotel -> flight -> compensation throw (or end) event ``throw`` -> after."""
    builder = compensable(ProcessBuilder("p").start_event("s"), "hotel", "undo_hotel")
    builder = compensable(builder, "flight", "undo_flight")
    if end:
        return builder.end_event("throw", compensate=compensate).build()
    return (
        builder.intermediate_throw_event("throw", compensate=compensate)
        .user_task("after")
        .end_event("e")
        .build()
    )


NOTHING_DONE = (
    ProcessBuilder("p")
    .start_event("s")
    .intermediate_throw_event("throw", compensate=True)
    .user_task("after")
    .end_event("e")
    .build()
)

PARTLY_DONE = (
    compensable(
        compensable(ProcessBuilder("p").start_event("s").parallel_gateway("fork"), "a", "undo_a")
        .intermediate_throw_event("throw", compensate=True)
        .end_event("e1")
        .move_to("fork"),
        "b",
        "undo_b",
    )
    .end_event("e2")
    .build()
)

LOOPED = (
    compensable(ProcessBuilder("p").start_event("s").exclusive_gateway("merge"), "a", "undo_a")
    .exclusive_gateway("again", default="to_throw")
    .condition("more = true")
    .connect_to("merge")
    .move_to("again")
    .flow_id("to_throw")
    .intermediate_throw_event("throw", compensate=True)
    .user_task("after")
    .end_event("e")
    .build()
)

SCOPED = (
    compensable(ProcessBuilder("p").start_event("s"), "outer", "undo_outer")
    .sub_process("sub")
    .start_event("sub_s")
    .user_task("inner")
    .boundary_event("inner_comp", attached_to="inner", compensate=True)
    .user_task("undo_inner")
    .move_to("inner")
    .intermediate_throw_event("throw", compensate=True)
    .end_event("sub_e")
    .sub_process_done()
    .user_task("after")
    .end_event("e")
    .build()
)

SERVICE_HANDLER = (
    ProcessBuilder("p")
    .start_event("s")
    .service_task("charge", job_type="charge")
    .boundary_event("charge_comp", attached_to="charge", compensate=True)
    .service_task("refund", job_type="refund")
    .move_to("charge")
    .intermediate_throw_event("throw", compensate=True)
    .end_event("e")
    .build()
)

C7_COMPENSATION = c7(
    '<bpmn:process id="p" isExecutable="true">'
    '<bpmn:startEvent id="s"/>'
    '<bpmn:serviceTask id="reserve" camunda:type="external" camunda:topic="reserve"/>'
    '<bpmn:boundaryEvent id="reserve_comp" attachedToRef="reserve">'
    "<bpmn:compensateEventDefinition/></bpmn:boundaryEvent>"
    '<bpmn:serviceTask id="release" isForCompensation="true" camunda:type="external" '
    'camunda:topic="release"/>'
    '<bpmn:intermediateThrowEvent id="throw"><bpmn:compensateEventDefinition '
    'waitForCompletion="true"/></bpmn:intermediateThrowEvent>'
    '<bpmn:userTask id="after"/><bpmn:endEvent id="e"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="reserve"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="reserve" targetRef="throw"/>'
    '<bpmn:sequenceFlow id="f3" sourceRef="throw" targetRef="after"/>'
    '<bpmn:sequenceFlow id="f4" sourceRef="after" targetRef="e"/>'
    '<bpmn:association id="a1" associationDirection="One" sourceRef="reserve_comp" '
    'targetRef="release"/>'
    "</bpmn:process>"
)


def transaction(*, parallel_work: bool = False) -> Definitions:
    """tx: book (compensable) -> decide: ok -> tx_end | cancel -> cancel_end;
    the cancel boundary leads to ``canceled``, the normal flow to ``done``."""
    builder = ProcessBuilder("p").start_event("s").transaction("tx").start_event("tx_s")
    if parallel_work:
        builder = builder.parallel_gateway("fork").user_task("paperwork").end_event("paper_end")
        builder = builder.move_to("fork")
    builder = compensable(builder, "book", "undo_book")
    return (
        builder.exclusive_gateway("decide", default="to_ok")
        .condition("cancel = true")
        .end_event("cancel_end", cancel=True)
        .move_to("decide")
        .flow_id("to_ok")
        .end_event("tx_end")
        .sub_process_done()
        .user_task("done")
        .end_event("e")
        .boundary_event("tx_canceled", attached_to="tx", cancel=True)
        .user_task("canceled")
        .end_event("e_canceled")
        .build()
    )


C7_TRANSACTION = c7(
    '<bpmn:process id="p" isExecutable="true">'
    '<bpmn:startEvent id="s"/>'
    '<bpmn:transaction id="tx">'
    '<bpmn:startEvent id="tx_s"/>'
    '<bpmn:serviceTask id="charge" camunda:type="external" camunda:topic="charge"/>'
    '<bpmn:boundaryEvent id="charge_comp" attachedToRef="charge">'
    "<bpmn:compensateEventDefinition/></bpmn:boundaryEvent>"
    '<bpmn:serviceTask id="refund" isForCompensation="true" camunda:type="external" '
    'camunda:topic="refund"/>'
    '<bpmn:endEvent id="cancel_end"><bpmn:cancelEventDefinition/></bpmn:endEvent>'
    '<bpmn:sequenceFlow id="t1" sourceRef="tx_s" targetRef="charge"/>'
    '<bpmn:sequenceFlow id="t2" sourceRef="charge" targetRef="cancel_end"/>'
    '<bpmn:association id="a1" associationDirection="One" sourceRef="charge_comp" '
    'targetRef="refund"/>'
    "</bpmn:transaction>"
    '<bpmn:boundaryEvent id="tx_canceled" attachedToRef="tx">'
    "<bpmn:cancelEventDefinition/></bpmn:boundaryEvent>"
    '<bpmn:userTask id="canceled"/><bpmn:endEvent id="e"/><bpmn:endEvent id="e2"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="tx"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="tx" targetRef="e"/>'
    '<bpmn:sequenceFlow id="f3" sourceRef="tx_canceled" targetRef="canceled"/>'
    '<bpmn:sequenceFlow id="f4" sourceRef="canceled" targetRef="e2"/>'
    "</bpmn:process>"
)


SCENARIOS = [
    Scenario(
        "a compensation throw runs the handlers of completed activities, newest first, and waits",
        [booking()],
        [
            Start(),
            CompleteTask("hotel"),
            CompleteTask("flight"),
            Expect(tree="p\n  throw\n  undo_flight\n  undo_hotel"),
            started_handlers("undo_flight", "undo_hotel"),
            CompleteTask("undo_flight"),
            Expect(tree="p\n  throw\n  undo_hotel"),
            CompleteTask("undo_hotel"),
            Expect(
                tree="p\n  after",
                history=[("element.completed", "undo_hotel"), ("element.completed", "throw")],
            ),
        ],
    ),
    Scenario(
        "compensation of one activity (activityRef) runs only its handler",
        [booking(compensate="hotel")],
        [
            Start(),
            CompleteTask("hotel"),
            CompleteTask("flight"),
            Expect(tree="p\n  throw\n  undo_hotel"),
            started_handlers("undo_hotel"),
            CompleteTask("undo_hotel"),
            Expect(tree="p\n  after"),
        ],
    ),
    Scenario(
        "a compensation end event ends the instance only after its handlers completed",
        [booking(end=True)],
        [
            Start(),
            CompleteTask("hotel"),
            CompleteTask("flight"),
            Expect(state="ACTIVE", tree="p\n  throw\n  undo_flight\n  undo_hotel"),
            CompleteTask("undo_hotel"),
            CompleteTask("undo_flight"),
            Expect(state="COMPLETED"),
        ],
    ),
    Scenario(
        "an activity still running is not compensated",
        [PARTLY_DONE],
        [
            Start(),
            CompleteTask("a"),
            Expect(tree="p\n  b\n  throw\n  undo_a"),
            started_handlers("undo_a"),
            CompleteTask("undo_a"),
            Expect(tree="p\n  b"),
            CompleteTask("b"),
            Expect(state="COMPLETED"),
        ],
    ),
    Scenario(
        "an activity completed twice is compensated twice",
        [LOOPED],
        [
            Start(),
            CompleteTask("a", {"more": True}),
            CompleteTask("a", {"more": False}),
            Expect(tree="p\n  throw\n  undo_a\n  undo_a"),
            CompleteTask("undo_a", all=True),
            Expect(tree="p\n  after"),
        ],
    ),
    Scenario(
        "with nothing to compensate the throw event passes straight on",
        [NOTHING_DONE],
        [
            Start(),
            Expect(tree="p\n  after", history=[("element.completed", "throw")]),
            started_handlers(),
        ],
    ),
    Scenario(
        "compensation thrown inside a subprocess compensates only that subprocess's activities",
        [SCOPED],
        [
            Start(),
            CompleteTask("outer"),
            CompleteTask("inner"),
            Expect(tree="p\n  sub\n    throw\n    undo_inner"),
            started_handlers("undo_inner"),
            CompleteTask("undo_inner"),
            Expect(tree="p\n  after"),
        ],
    ),
    Scenario(
        "a service task handler runs as a job of its type",
        [SERVICE_HANDLER],
        [
            Start(),
            CompleteJob("charge", {"charged": 100}),
            Expect(tree="p\n  refund\n  throw"),
            CompleteJob("refund", {"charged": 0}),
            Expect(state="COMPLETED", variables={"charged": 0}),
        ],
    ),
    Scenario(
        "Camunda 7 compensation: boundary, association, isForCompensation handler",
        [C7_COMPENSATION],
        [
            Start(),
            CompleteJob("reserve"),
            Expect(tree="p\n  release\n  throw"),
            CompleteJob("release"),
            Expect(tree="p\n  after"),
        ],
    ),
    Scenario(
        "a transaction that completes normally leaves over its flow, compensating nothing",
        [transaction()],
        [
            Start(variables={"cancel": False}),
            Expect(tree="p\n  tx\n    book"),
            CompleteTask("book"),
            Expect(tree="p\n  done"),
            started_handlers(),
        ],
    ),
    Scenario(
        "a cancel end event compensates the transaction, then leaves over the cancel boundary",
        [transaction()],
        [
            Start(variables={"cancel": True}),
            CompleteTask("book"),
            Expect(tree="p\n  tx\n    cancel_end\n    undo_book", tasks=["undo_book"]),
            CompleteTask("undo_book"),
            Expect(
                tree="p\n  canceled",
                history=[
                    ("element.completed", "undo_book"),
                    ("element.terminated", "tx"),
                    ("element.completed", "tx_canceled"),
                    ("element.activated", "canceled"),
                ],
            ),
        ],
    ),
    Scenario(
        "a cancel end event terminates the transaction's other running activities first",
        [transaction(parallel_work=True)],
        [
            Start(variables={"cancel": True}),
            Expect(tree="p\n  tx\n    book\n    paperwork"),
            CompleteTask("book"),
            Expect(
                tree="p\n  tx\n    cancel_end\n    undo_book",
                tasks=["undo_book"],
                history=[("element.terminated", "paperwork")],
            ),
            CompleteTask("undo_book"),
            Expect(tree="p\n  canceled"),
        ],
    ),
    Scenario(
        "Camunda 7 transaction: cancel end event, compensation, cancel boundary event",
        [C7_TRANSACTION],
        [
            Start(),
            CompleteJob("charge"),
            Expect(tree="p\n  tx\n    cancel_end\n    refund"),
            CompleteJob("refund"),
            Expect(tree="p\n  canceled"),
        ],
    ),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_scenario(engine: Engine, clock: Clock, scenario: Scenario) -> None:
    run_scenario(engine, clock, scenario)
