"""Event subprocesses, interrupting and non-interrupting, started by message, timer, signal,
error, escalation and conditional start events, at process level and inside subprocesses.

Their start-event subscriptions belong to the enclosing scope: they exist while the scope is
active (an interrupting one that fired removes its siblings' subscriptions) and go with it.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.conformance.harness import (
    Advance,
    Clock,
    CompleteJob,
    CompleteTask,
    Correlate,
    Expect,
    Scenario,
    Start,
    ThrowError,
    run_scenario,
)
from tests.conformance.test_boundary_events import Live, Refused, Signalled, set_vars

from midflight import Engine
from midflight.model import ProcessBuilder


def _process_esp(*, interrupting: bool = True, **start: Any) -> Any:
    """p: work (user task); event subprocess esp started by ``start`` runs handle (user task)."""
    return (
        ProcessBuilder("p")
        .start_event("s")
        .user_task("work")
        .end_event("done")
        .event_sub_process("esp")
        .start_event("esp_start", interrupting=interrupting, **start)
        .user_task("handle")
        .end_event("esp_end")
        .sub_process_done()
        .build()
    )


def _inner_esp(*, interrupting: bool = True, **start: Any) -> Any:
    """p: fork -> sub { inner (user task); esp { handle } } -> after_sub, and outer (user task)
    in parallel outside the subprocess."""
    return (
        ProcessBuilder("p")
        .start_event("s")
        .parallel_gateway("fork")
        .sub_process("sub")
        .start_event("sub_s")
        .user_task("inner")
        .end_event("sub_e")
        .event_sub_process("esp")
        .start_event("esp_start", interrupting=interrupting, **start)
        .user_task("handle")
        .end_event("esp_end")
        .sub_process_done()
        .sub_process_done()
        .user_task("after_sub")
        .end_event("done")
        .move_to("fork")
        .user_task("outer")
        .end_event("outer_done")
        .build()
    )


def _throwing(throw: dict[str, Any], *, interrupting: bool = True, **start: Any) -> Any:
    """p: step (user task) -> throw event ``raise`` -> finish; an event subprocess catches."""
    return (
        ProcessBuilder("p")
        .start_event("s")
        .user_task("step")
        .intermediate_throw_event("raise", **throw)
        .user_task("finish")
        .end_event("done")
        .event_sub_process("esp")
        .start_event("esp_start", interrupting=interrupting, **start)
        .user_task("handle")
        .end_event("esp_end")
        .sub_process_done()
        .build()
    )


_C7_MESSAGE_ESP = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    id="defs_c7_esp" targetNamespace="http://example.com/bpmn">
  <bpmn:process id="c7_esp" isExecutable="true" camunda:historyTimeToLive="P30D">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review"/>
    <bpmn:userTask id="review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="done"/>
    <bpmn:endEvent id="done"/>
    <bpmn:subProcess id="on_update" triggeredByEvent="true">
      <bpmn:startEvent id="update_received" isInterrupting="false">
        <bpmn:messageEventDefinition messageRef="msg_update"/>
      </bpmn:startEvent>
      <bpmn:sequenceFlow id="f3" sourceRef="update_received" targetRef="record"/>
      <bpmn:serviceTask id="record" camunda:type="external" camunda:topic="record"/>
      <bpmn:sequenceFlow id="f4" sourceRef="record" targetRef="recorded"/>
      <bpmn:endEvent id="recorded"/>
    </bpmn:subProcess>
    <bpmn:subProcess id="on_withdraw" triggeredByEvent="true">
      <bpmn:startEvent id="withdrawn">
        <bpmn:messageEventDefinition messageRef="msg_withdraw"/>
      </bpmn:startEvent>
      <bpmn:sequenceFlow id="f5" sourceRef="withdrawn" targetRef="close"/>
      <bpmn:endEvent id="close"/>
    </bpmn:subProcess>
  </bpmn:process>
  <bpmn:message id="msg_update" name="ApplicationUpdated"/>
  <bpmn:message id="msg_withdraw" name="ApplicationWithdrawn"/>
</bpmn:definitions>
"""

_C8_TIMER_ESP = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    id="defs_c8_esp" targetNamespace="http://example.com/bpmn">
  <bpmn:process id="c8_esp" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait_payment"/>
    <bpmn:receiveTask id="wait_payment" messageRef="msg_paid"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait_payment" targetRef="done"/>
    <bpmn:endEvent id="done"/>
    <bpmn:subProcess id="reminders" triggeredByEvent="true">
      <bpmn:startEvent id="every_day" isInterrupting="false">
        <bpmn:timerEventDefinition>
          <bpmn:timeCycle xsi:type="bpmn:tFormalExpression">R/P1D</bpmn:timeCycle>
        </bpmn:timerEventDefinition>
      </bpmn:startEvent>
      <bpmn:sequenceFlow id="f3" sourceRef="every_day" targetRef="remind"/>
      <bpmn:serviceTask id="remind">
        <bpmn:extensionElements><zeebe:taskDefinition type="remind"/></bpmn:extensionElements>
      </bpmn:serviceTask>
      <bpmn:sequenceFlow id="f4" sourceRef="remind" targetRef="reminded"/>
      <bpmn:endEvent id="reminded"/>
    </bpmn:subProcess>
    <bpmn:subProcess id="expiry" triggeredByEvent="true">
      <bpmn:startEvent id="after_a_week">
        <bpmn:timerEventDefinition>
          <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">=expiry</bpmn:timeDuration>
        </bpmn:timerEventDefinition>
      </bpmn:startEvent>
      <bpmn:sequenceFlow id="f5" sourceRef="after_a_week" targetRef="expired"/>
      <bpmn:endEvent id="expired"/>
    </bpmn:subProcess>
  </bpmn:process>
  <bpmn:message id="msg_paid" name="paid">
    <bpmn:extensionElements><zeebe:subscription correlationKey="=invoice"/></bpmn:extensionElements>
  </bpmn:message>
</bpmn:definitions>
"""

SCENARIOS = [
    # -- message -------------------------------------------------------------------------------
    Scenario(
        "interrupting message event subprocess ends the process's work",
        [_process_esp(message="abort")],
        [
            Start(),
            Live(subscriptions=[("message", "esp_start")]),
            Correlate("abort", variables={"why": "customer"}),
            Expect(tree="p\n  esp\n    handle", tasks=["handle"], variables={"why": "customer"}),
            Live(subscriptions=[]),
            Refused(Correlate("abort")),
            CompleteTask("handle"),
            Expect(
                state="COMPLETED",
                history=[
                    ("element.terminated", "work"),
                    ("element.activated", "esp"),
                    ("element.completed", "esp_start"),
                    ("element.completed", "esp"),
                    ("process.completed", "p"),
                ],
            ),
        ],
    ),
    Scenario(
        "non-interrupting message event subprocess runs once per message beside the work",
        [_process_esp(message="note", interrupting=False)],
        [
            Start(),
            Correlate("note"),
            Correlate("note"),
            Expect(tree="p\n  esp\n    handle\n  esp\n    handle\n  work"),
            Live(subscriptions=[("message", "esp_start")]),
            CompleteTask("work"),
            Expect(state="ACTIVE", tree="p\n  esp\n    handle\n  esp\n    handle"),
            Live(subscriptions=[("message", "esp_start")]),
            CompleteTask("handle", all=True),
            Expect(state="COMPLETED"),
        ],
    ),
    Scenario(
        "process-level event subprocess subscriptions go when the process completes",
        [_process_esp(message="note", interrupting=False)],
        [
            Start(),
            CompleteTask("work"),
            Expect(state="COMPLETED"),
            Live(subscriptions=[]),
            Refused(Correlate("note")),
        ],
    ),
    Scenario(
        "message event subprocess with a correlation key matches only its own instance",
        [_process_esp(message="update", correlation_key="=caseId", interrupting=False)],
        [
            Start(variables={"caseId": "c1"}, alias="one"),
            Start(variables={"caseId": "c2"}, alias="two"),
            Correlate("update", "c2"),
            Expect(instance="one", tree="p\n  work"),
            Expect(instance="two", tree="p\n  esp\n    handle\n  work"),
        ],
    ),
    Scenario(
        "Camunda 7: non-interrupting update subprocess, then an interrupting withdrawal",
        [_C7_MESSAGE_ESP],
        [
            Start(),
            Correlate("ApplicationUpdated"),
            Expect(tree="c7_esp\n  on_update\n    record\n  review"),
            Correlate("ApplicationWithdrawn"),
            Expect(
                state="COMPLETED",
                history=[
                    ("element.terminated", "record"),
                    ("element.terminated", "on_update"),
                    ("element.completed", "on_withdraw"),
                ],
            ),
            Expect(
                history=[("element.terminated", "review"), ("element.completed", "on_withdraw")]
            ),
        ],
    ),
    # -- timer ---------------------------------------------------------------------------------
    Scenario(
        "interrupting timer event subprocess",
        [_process_esp(timer_duration="PT2H")],
        [
            Start(),
            Live(timers=["esp_start"]),
            Advance(hours=1, fired=0),
            Advance(hours=1, fired=1),
            Expect(tree="p\n  esp\n    handle"),
            Live(timers=[]),
        ],
    ),
    Scenario(
        "non-interrupting timer cycle event subprocess fires R2 times beside the work",
        [_process_esp(timer_cycle="R2/PT1H", interrupting=False)],
        [
            Start(),
            Advance(hours=1, fired=1),
            Advance(hours=1, fired=1),
            Advance(hours=1, fired=0),
            Expect(tree="p\n  esp\n    handle\n  esp\n    handle\n  work"),
        ],
    ),
    Scenario(
        "timer event subprocess never fires once the process has completed",
        [_process_esp(timer_duration="PT1H")],
        [
            Start(),
            CompleteTask("work"),
            Live(timers=[]),
            Advance(hours=2, fired=0),
            Expect(state="COMPLETED"),
        ],
    ),
    Scenario(
        "Camunda 8: daily reminder cycle beside a receive task, interrupting expiry from FEEL",
        [_C8_TIMER_ESP],
        [
            Start(variables={"invoice": "inv-9", "expiry": "PT60H"}),
            Live(subscriptions=[("message", "wait_payment")], timers=["after_a_week", "every_day"]),
            Advance(days=1, fired=1),
            CompleteJob("remind"),
            Advance(days=1, fired=1),
            Expect(tree="c8_esp\n  reminders\n    remind\n  wait_payment"),
            Advance(hours=12, fired=1),
            Expect(
                state="COMPLETED",
                history=[
                    ("element.terminated", "remind"),
                    ("element.terminated", "reminders"),
                    ("element.completed", "expiry"),
                ],
            ),
            Live(subscriptions=[], timers=[]),
        ],
    ),
    # -- signal --------------------------------------------------------------------------------
    Scenario(
        "interrupting signal event subprocess",
        [_process_esp(signal="shutdown")],
        [
            Start(alias="one"),
            Start(alias="two"),
            Signalled("shutdown", reached=2),
            Expect(instance="one", tree="p\n  esp\n    handle"),
            Expect(instance="two", tree="p\n  esp\n    handle"),
            Signalled("shutdown", reached=0),
        ],
    ),
    Scenario(
        "non-interrupting signal event subprocess keeps listening",
        [_process_esp(signal="tick", interrupting=False)],
        [
            Start(),
            Signalled("tick", reached=1),
            Signalled("tick", reached=1),
            Expect(tree="p\n  esp\n    handle\n  esp\n    handle\n  work"),
        ],
    ),
    # -- error ---------------------------------------------------------------------------------
    Scenario(
        "error event subprocess catches an error end event thrown in the process",
        [
            ProcessBuilder("p")
            .start_event("s")
            .parallel_gateway("fork")
            .user_task("check")
            .end_event("reject", error="REJECTED")
            .move_to("fork")
            .user_task("other")
            .end_event("other_done")
            .event_sub_process("esp")
            .start_event("esp_start", error="REJECTED")
            .user_task("handle")
            .end_event("esp_end")
            .sub_process_done()
            .build()
        ],
        [
            Start(),
            CompleteTask("check"),
            Expect(tree="p\n  esp\n    handle", tasks=["handle"]),
            Expect(history=[("error.caught", "p"), ("element.terminated", "other")]),
        ],
    ),
    Scenario(
        "error event subprocess catches a worker's error and gets its variables",
        [
            ProcessBuilder("p")
            .start_event("s")
            .service_task("work", job_type="work")
            .end_event("done")
            .event_sub_process("esp")
            .start_event("esp_start", error=True)
            .user_task("handle")
            .end_event("esp_end")
            .sub_process_done()
            .build()
        ],
        [
            Start(),
            ThrowError("work", "ANY", {"detail": "broken"}),
            Expect(tree="p\n  esp\n    handle", variables={"detail": "broken"}, incidents=[]),
        ],
    ),
    Scenario(
        "error event subprocess inside a subprocess; the subprocess then goes on normally",
        [
            ProcessBuilder("p")
            .start_event("s")
            .sub_process("sub")
            .start_event("sub_s")
            .service_task("work", job_type="work")
            .end_event("sub_e")
            .event_sub_process("esp")
            .start_event("esp_start", error="E")
            .user_task("handle")
            .end_event("esp_end")
            .sub_process_done()
            .sub_process_done()
            .user_task("after_sub")
            .end_event("done")
            .boundary_event("outer", attached_to="sub", error="E")
            .end_event("outer_end")
            .build()
        ],
        [
            Start(),
            ThrowError("work", "E"),
            Expect(tree="p\n  sub\n    esp\n      handle"),  # the nearest catcher wins
            CompleteTask("handle"),
            Expect(tree="p\n  after_sub"),
        ],
    ),
    # -- escalation ----------------------------------------------------------------------------
    Scenario(
        "interrupting escalation event subprocess ends the thrower's path",
        [_throwing({"escalation": "ESC"}, escalation="ESC")],
        [
            Start(),
            CompleteTask("step"),
            Expect(tree="p\n  esp\n    handle"),
            Expect(history=[("escalation.caught", "p"), ("element.terminated", "raise")]),
        ],
    ),
    Scenario(
        "non-interrupting escalation event subprocess: the thrower goes on",
        [_throwing({"escalation": "ESC"}, escalation="ESC", interrupting=False)],
        [
            Start(),
            CompleteTask("step"),
            Expect(tree="p\n  esp\n    handle\n  finish"),
            CompleteTask("finish"),
            Expect(state="ACTIVE", tree="p\n  esp\n    handle"),
            CompleteTask("handle"),
            Expect(state="COMPLETED"),
        ],
    ),
    Scenario(
        "catch-all escalation event subprocess catches any code",
        [_throwing({"escalation": "SOMETHING"}, escalation=True, interrupting=False)],
        [
            Start(),
            CompleteTask("step"),
            Expect(tree="p\n  esp\n    handle\n  finish"),
        ],
    ),
    # -- conditional ---------------------------------------------------------------------------
    Scenario(
        "interrupting conditional event subprocess starts when its condition becomes true",
        [_process_esp(conditional="=risk > 7")],
        [
            Start(variables={"risk": 1}),
            Live(subscriptions=[("conditional", "esp_start")]),
            set_vars(risk=5),
            Expect(tree="p\n  work"),
            set_vars(risk=9),
            Expect(tree="p\n  esp\n    handle"),
            Live(subscriptions=[]),
        ],
    ),
    Scenario(
        "non-interrupting conditional event subprocess fires each time its condition becomes true",
        [_process_esp(conditional="=flagged = true", interrupting=False)],
        [
            Start(variables={"flagged": False}),
            set_vars(flagged=True),
            Expect(tree="p\n  esp\n    handle\n  work"),
            Live(subscriptions=[("conditional", "esp_start")]),
            set_vars(flagged=True, other=1),  # still true: no new trigger
            Expect(tree="p\n  esp\n    handle\n  work"),
            set_vars(flagged=False),
            set_vars(flagged=True),
            Expect(tree="p\n  esp\n    handle\n  esp\n    handle\n  work"),
        ],
    ),
    Scenario(
        "conditional event subprocess whose condition holds when the process starts",
        [_process_esp(conditional='=priority = "high"')],
        [
            Start(variables={"priority": "high"}),
            Expect(tree="p\n  esp\n    handle"),
            Expect(history=[("element.terminated", "work"), ("element.activated", "esp")]),
        ],
    ),
    Scenario(
        "conditional event subprocess in a subprocess is evaluated when the subprocess starts",
        [_inner_esp(conditional="=ready = true", interrupting=False)],
        [
            Start(variables={"ready": True}),
            Expect(tree="p\n  outer\n  sub\n    esp\n      handle\n    inner"),
        ],
    ),
    Scenario(
        "timers due together: one whose instance ended meanwhile is skipped, not an error",
        [
            ProcessBuilder("p")
            .start_event("s")
            .user_task("work")
            .end_event("done")
            .boundary_event(
                "late", attached_to="work", timer_duration="PT2H", cancel_activity=False
            )
            .end_event("late_end")
            .event_sub_process("esp")
            .start_event("esp_start", timer_duration="PT1H")
            .end_event("esp_end")
            .sub_process_done()
            .build()
        ],
        [
            Start(),
            Live(timers=["esp_start", "late"]),
            Advance(hours=3, fired=1),
            Expect(state="COMPLETED"),
            Live(timers=[]),
        ],
    ),
    # -- inside subprocesses -------------------------------------------------------------------
    Scenario(
        "interrupting message event subprocess inside a subprocess ends only that subprocess",
        [_inner_esp(message="redo")],
        [
            Start(),
            Live(subscriptions=[("message", "esp_start")]),
            Correlate("redo"),
            Expect(tree="p\n  outer\n  sub\n    esp\n      handle"),
            CompleteTask("handle"),
            Expect(tree="p\n  after_sub\n  outer"),
        ],
    ),
    Scenario(
        "inner event subprocess subscriptions go when the subprocess completes",
        [_inner_esp(message="redo", interrupting=False)],
        [
            Start(),
            CompleteTask("inner"),
            Expect(tree="p\n  after_sub\n  outer"),
            Live(subscriptions=[]),
            Refused(Correlate("redo")),
        ],
    ),
    Scenario(
        "non-interrupting timer event subprocess inside a subprocess",
        [_inner_esp(timer_cycle="R/PT30M", interrupting=False)],
        [
            Start(),
            Advance(minutes=30, fired=1),
            Expect(tree="p\n  outer\n  sub\n    esp\n      handle\n    inner"),
            CompleteTask("inner"),
            Expect(tree="p\n  outer\n  sub\n    esp\n      handle"),  # the sub waits for it
            Live(timers=["esp_start"]),
            CompleteTask("handle"),
            Expect(tree="p\n  after_sub\n  outer"),
            Live(timers=[]),
            Advance(hours=2, fired=0),
        ],
    ),
    Scenario(
        "signal event subprocess inside a subprocess only while the subprocess runs",
        [_inner_esp(signal="review_again", interrupting=False)],
        [
            Start(),
            Signalled("review_again", reached=1),
            Expect(tree="p\n  outer\n  sub\n    esp\n      handle\n    inner"),
            CompleteTask("handle"),
            CompleteTask("inner"),
            Signalled("review_again", reached=0),
        ],
    ),
    Scenario(
        "an interrupting event subprocess removes the other event subprocesses' subscriptions",
        [
            ProcessBuilder("p")
            .start_event("s")
            .user_task("work")
            .end_event("done")
            .event_sub_process("on_abort")
            .start_event("abort", message="abort")
            .user_task("cleanup")
            .end_event("abort_end")
            .sub_process_done()
            .event_sub_process("on_ping")
            .start_event("ping", signal="ping", interrupting=False)
            .end_event("ping_end")
            .sub_process_done()
            .build()
        ],
        [
            Start(),
            Live(subscriptions=[("message", "abort"), ("signal", "ping")]),
            Correlate("abort"),
            Live(subscriptions=[]),
            Signalled("ping", reached=0),
            Expect(tree="p\n  on_abort\n    cleanup"),
        ],
    ),
    Scenario(
        "error thrown in a nested subprocess reaches the process-level error event subprocess",
        [
            ProcessBuilder("p")
            .start_event("s")
            .sub_process("outer_sub")
            .start_event("os")
            .sub_process("inner_sub")
            .start_event("is")
            .user_task("deep")
            .end_event("boom", error="DEEP")
            .sub_process_done()
            .end_event("oe")
            .sub_process_done()
            .end_event("done")
            .event_sub_process("esp")
            .start_event("esp_start", error="DEEP")
            .user_task("handle")
            .end_event("esp_end")
            .sub_process_done()
            .build()
        ],
        [
            Start(),
            CompleteTask("deep"),
            Expect(tree="p\n  esp\n    handle"),
            Expect(
                history=[
                    ("error.caught", "p"),
                    ("element.terminated", "inner_sub"),
                    ("element.terminated", "outer_sub"),
                ]
            ),
        ],
    ),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_scenario(engine: Engine, clock: Clock, scenario: Scenario) -> None:
    run_scenario(engine, clock, scenario)
