"""Errors and escalations: searched up the scope hierarchy, through call activities to the
calling process. The nearest catcher wins; at one level a catch event naming the code wins over
a catch-all. An uncaught error becomes an incident, never a silent end; an uncaught escalation
has no effect.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.conformance.harness import (
    Advance,
    Clock,
    CompleteJob,
    CompleteTask,
    Custom,
    Expect,
    Scenario,
    Start,
    ThrowError,
    render_ids,
    run_scenario,
)
from tests.conformance.test_boundary_events import Live, child_of

from midflight import Engine
from midflight.model import ProcessBuilder


def _nested(inner_catch: str | bool | None, outer_catch: str | bool | None, code: str) -> Any:
    """outer { inner { deep (user task) -> error end ``code`` } } with optional error
    boundaries on inner and outer."""
    b = (
        ProcessBuilder("p")
        .start_event("s")
        .sub_process("outer")
        .start_event("os")
        .sub_process("inner")
        .start_event("is")
        .user_task("deep")
        .end_event("boom", error=code)
        .sub_process_done()
        .user_task("after_inner")
        .end_event("oe")
    )
    if inner_catch is not None:
        b = b.boundary_event("inner_caught", attached_to="inner", error=inner_catch)
        b = b.user_task("handle_inner").end_event("hi_end")
    b = b.sub_process_done().user_task("after_outer").end_event("done")
    if outer_catch is not None:
        b = b.boundary_event("outer_caught", attached_to="outer", error=outer_catch)
        b = b.user_task("handle_outer").end_event("ho_end")
    return b.build()


def _child(*, throw: dict[str, Any] | None = None, end: dict[str, Any] | None = None) -> Any:
    """child: child_task (user task) -> optional throw event -> child_more -> end event."""
    b = ProcessBuilder("child").start_event("cs").user_task("child_task")
    if throw is not None:
        b = b.intermediate_throw_event("child_throw", **throw).user_task("child_more")
    return b.end_event("child_end", **(end or {})).build()


def _worker_child() -> Any:
    return (
        ProcessBuilder("child")
        .start_event("cs")
        .service_task("child_work", job_type="child-work")
        .end_event("child_end")
        .build()
    )


def _parent(**boundary: Any) -> Any:
    """parent: call child; a boundary event ``bnd`` on the call activity when given."""
    cancel = boundary.pop("cancel_activity", True)
    b = (
        ProcessBuilder("parent")
        .start_event("s")
        .call_activity("call", process_id="child")
        .user_task("next")
        .end_event("done")
    )
    if boundary:
        b = b.boundary_event("bnd", attached_to="call", cancel_activity=cancel, **boundary)
        b = b.user_task("after").end_event("after_done")
    return b.build()


def _child_state(state: str, tree: str | None = None) -> Custom:
    def check(engine: Engine, pid: str) -> None:
        [child] = child_of(engine, pid)
        assert engine.process_instance(child).state == state
        if tree is not None:
            assert render_ids(engine.activity_instance_tree(child)) == tree

    return Custom(check)


def _child_incidents(types: list[str]) -> Custom:
    def check(engine: Engine, pid: str) -> None:
        [child] = child_of(engine, pid)
        assert sorted(i.type for i in engine.incidents(child)) == types

    return Custom(check)


def _escalating_sub(
    *, code: str, inner: dict[str, Any] | None, outer: dict[str, Any] | None, end: bool = False
) -> Any:
    """outer { inner { step -> escalation throw (or end) -> finish } } with escalation
    boundaries ``inner_esc``/``outer_esc`` given as boundary options."""
    b = (
        ProcessBuilder("p")
        .start_event("s")
        .sub_process("outer")
        .start_event("os")
        .sub_process("inner")
        .start_event("is")
        .user_task("step")
    )
    if end:
        b = b.end_event("raise", escalation=code)
    else:
        b = b.intermediate_throw_event("raise", escalation=code).user_task("finish").end_event("ie")
    b = b.sub_process_done().user_task("after_inner").end_event("oe")
    if inner is not None:
        b = b.boundary_event("inner_esc", attached_to="inner", **inner)
        b = b.user_task("handle_inner").end_event("hi_end")
    b = b.sub_process_done().user_task("after_outer").end_event("done")
    if outer is not None:
        b = b.boundary_event("outer_esc", attached_to="outer", **outer)
        b = b.user_task("handle_outer").end_event("ho_end")
    return b.build()


_C8_ERRORS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
    id="defs_c8_err" targetNamespace="http://example.com/bpmn">
  <bpmn:process id="c8_err" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="charge"/>
    <bpmn:serviceTask id="charge">
      <bpmn:extensionElements><zeebe:taskDefinition type="charge"/></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="charge" targetRef="done"/>
    <bpmn:endEvent id="done"/>
    <bpmn:boundaryEvent id="unknown_error" attachedToRef="charge">
      <bpmn:errorEventDefinition id="catch_all"/>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="unknown_error" targetRef="investigate"/>
    <bpmn:userTask id="investigate"/>
    <bpmn:sequenceFlow id="f4" sourceRef="investigate" targetRef="end_investigated"/>
    <bpmn:endEvent id="end_investigated"/>
    <bpmn:boundaryEvent id="invalid_card" attachedToRef="charge">
      <bpmn:extensionElements>
        <zeebe:ioMapping><zeebe:output source="=reason" target="cardProblem"/></zeebe:ioMapping>
      </bpmn:extensionElements>
      <bpmn:errorEventDefinition errorRef="err_card"/>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f5" sourceRef="invalid_card" targetRef="other_payment"/>
    <bpmn:userTask id="other_payment"/>
    <bpmn:sequenceFlow id="f6" sourceRef="other_payment" targetRef="end_other"/>
    <bpmn:endEvent id="end_other"/>
  </bpmn:process>
  <bpmn:error id="err_card" name="Invalid card" errorCode="INVALID_CARD"/>
</bpmn:definitions>
"""

_C7_ERROR_ESP = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    id="defs_c7_err" targetNamespace="http://example.com/bpmn">
  <bpmn:process id="c7_err" isExecutable="true" camunda:historyTimeToLive="P30D">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="booking"/>
    <bpmn:subProcess id="booking">
      <bpmn:startEvent id="bs"/>
      <bpmn:sequenceFlow id="f2" sourceRef="bs" targetRef="reserve"/>
      <bpmn:serviceTask id="reserve" camunda:type="external" camunda:topic="reserve"/>
      <bpmn:sequenceFlow id="f3" sourceRef="reserve" targetRef="be"/>
      <bpmn:endEvent id="be"/>
      <bpmn:subProcess id="on_failure" triggeredByEvent="true">
        <bpmn:startEvent id="failed">
          <bpmn:errorEventDefinition errorRef="err_full" camunda:errorCodeVariable="failure"/>
        </bpmn:startEvent>
        <bpmn:sequenceFlow id="f4" sourceRef="failed" targetRef="waitlist"/>
        <bpmn:userTask id="waitlist"/>
        <bpmn:sequenceFlow id="f5" sourceRef="waitlist" targetRef="fe"/>
        <bpmn:endEvent id="fe"/>
      </bpmn:subProcess>
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="f6" sourceRef="booking" targetRef="confirm"/>
    <bpmn:userTask id="confirm"/>
    <bpmn:sequenceFlow id="f7" sourceRef="confirm" targetRef="done"/>
    <bpmn:endEvent id="done"/>
  </bpmn:process>
  <bpmn:error id="err_full" name="Fully booked" errorCode="FULL"/>
</bpmn:definitions>
"""

_C8_ESCALATION = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
    id="defs_c8_esc" targetNamespace="http://example.com/bpmn">
  <bpmn:process id="c8_esc" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="support"/>
    <bpmn:subProcess id="support">
      <bpmn:startEvent id="ss"/>
      <bpmn:sequenceFlow id="f2" sourceRef="ss" targetRef="first_level"/>
      <bpmn:userTask id="first_level"/>
      <bpmn:sequenceFlow id="f3" sourceRef="first_level" targetRef="too_hard"/>
      <bpmn:intermediateThrowEvent id="too_hard">
        <bpmn:escalationEventDefinition escalationRef="esc_l2"/>
      </bpmn:intermediateThrowEvent>
      <bpmn:sequenceFlow id="f4" sourceRef="too_hard" targetRef="wait_l2"/>
      <bpmn:userTask id="wait_l2"/>
      <bpmn:sequenceFlow id="f5" sourceRef="wait_l2" targetRef="se"/>
      <bpmn:endEvent id="se"/>
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="f6" sourceRef="support" targetRef="done"/>
    <bpmn:endEvent id="done"/>
    <bpmn:boundaryEvent id="to_l2" attachedToRef="support" cancelActivity="false">
      <bpmn:escalationEventDefinition escalationRef="esc_l2"/>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f7" sourceRef="to_l2" targetRef="second_level"/>
    <bpmn:userTask id="second_level"/>
    <bpmn:sequenceFlow id="f8" sourceRef="second_level" targetRef="l2_done"/>
    <bpmn:endEvent id="l2_done"/>
  </bpmn:process>
  <bpmn:escalation id="esc_l2" name="Level 2" escalationCode="L2"/>
</bpmn:definitions>
"""


def _incident_holds_job(engine: Engine, pid: str) -> None:
    [child] = child_of(engine, pid)
    [incident] = engine.incidents(child)
    assert incident.element_id == "child_work" and incident.job_id is not None


def _chain_states(parent_state: str, child_state: str) -> Any:
    def check(engine: Engine, pid: str) -> None:
        [parent] = child_of(engine, pid)
        [child] = child_of(engine, parent)
        assert engine.process_instance(parent).state == parent_state
        assert engine.process_instance(child).state == child_state

    return check


def _jobs_left(engine: Engine, job_type: str, count: int) -> None:
    with engine._store.transaction() as tx:
        rows = tx.list_rows("jobs", type=job_type)
    assert len(rows) == count, f"{len(rows)} '{job_type}' jobs left, expected {count}"


def _activatable(engine: Engine, job_type: str, count: int) -> None:
    jobs = engine.activate_jobs(job_type, "probe", max_jobs=10)
    assert len(jobs) == count, f"{len(jobs)} '{job_type}' jobs handed out, expected {count}"


def _incident_on(engine: Engine, pid: str, element_id: str) -> None:
    [incident] = engine.incidents(pid)
    assert incident.element_id == element_id
    assert incident.type == "UNHANDLED_ERROR"


SCENARIOS = [
    # -- errors up the scope hierarchy ---------------------------------------------------------
    Scenario(
        "error goes up two subprocess levels to the outer boundary, ending both",
        [_nested(None, "E", "E")],
        [
            Start(),
            CompleteTask("deep"),
            Expect(tree="p\n  handle_outer", tasks=["handle_outer"]),
            Expect(
                history=[
                    ("error.caught", "outer"),
                    ("element.terminated", "inner"),
                    ("element.terminated", "outer"),
                    ("element.completed", "outer_caught"),
                ]
            ),
        ],
    ),
    Scenario(
        "the nearest catcher wins: the inner boundary catches, the outer scope goes on",
        [_nested("E", "E", "E")],
        [
            Start(),
            CompleteTask("deep"),
            Expect(tree="p\n  outer\n    handle_inner"),
            CompleteTask("handle_inner"),
            Expect(tree="p\n  after_outer"),
        ],
    ),
    Scenario(
        "a catcher for another code is passed over; the outer one catches",
        [_nested("OTHER", "E", "E")],
        [
            Start(),
            CompleteTask("deep"),
            Expect(tree="p\n  handle_outer"),
        ],
    ),
    Scenario(
        "a catch-all on the inner scope catches before a matching one further out",
        [_nested(True, "E", "E")],
        [
            Start(),
            CompleteTask("deep"),
            Expect(tree="p\n  outer\n    handle_inner"),
        ],
    ),
    Scenario(
        "on one host, the boundary naming the code wins over the catch-all",
        [
            ProcessBuilder("p")
            .start_event("s")
            .service_task("work", job_type="work")
            .end_event("done")
            .boundary_event("any", attached_to="work", error=True)
            .user_task("generic")
            .end_event("generic_end")
            .boundary_event("specific", attached_to="work", error="E42")
            .user_task("special")
            .end_event("special_end")
            .build()
        ],
        [
            Start(),
            ThrowError("work", "E42"),
            Expect(tree="p\n  special"),
        ],
    ),
    Scenario(
        "Camunda 8: catch-all and specific boundaries; the specific one maps the error variables",
        [_C8_ERRORS],
        [
            Start(alias="first"),
            ThrowError("charge", "INVALID_CARD", {"reason": "expired"}),
            Expect(
                instance="first",
                tree="c8_err\n  other_payment",
                variables={"cardProblem": "expired"},
            ),
            Start(alias="second"),
            ThrowError("charge", "GATEWAY_DOWN"),
            Expect(instance="second", tree="c8_err\n  investigate"),
        ],
    ),
    Scenario(
        "error in one parallel branch ends the other branch and its subscriptions",
        [
            ProcessBuilder("p")
            .start_event("s")
            .sub_process("sub")
            .start_event("ss")
            .parallel_gateway("fork")
            .service_task("check", job_type="check")
            .end_event("ok")
            .move_to("fork")
            .user_task("paperwork")
            .end_event("pw_end")
            .boundary_event(
                "reminder", attached_to="paperwork", timer_duration="PT1H", cancel_activity=False
            )
            .end_event("reminded")
            .move_to("fork")
            .receive_task("wait_docs", message="docs")
            .end_event("docs_end")
            .sub_process_done()
            .end_event("done")
            .boundary_event("failed", attached_to="sub", error="FAIL")
            .user_task("handle")
            .end_event("handled")
            .build()
        ],
        [
            Start(),
            Live(subscriptions=[("message", "wait_docs")], timers=["reminder"]),
            ThrowError("check", "FAIL"),
            Expect(tree="p\n  handle", tasks=["handle"]),
            Live(subscriptions=[], timers=[]),
        ],
    ),
    Scenario(
        "error thrown inside an error event subprocess goes to the enclosing scope",
        [
            ProcessBuilder("p")
            .start_event("s")
            .sub_process("sub")
            .start_event("ss")
            .service_task("work", job_type="work")
            .end_event("se")
            .event_sub_process("esp")
            .start_event("esp_start", error=True)
            .user_task("triage")
            .end_event("rethrow", error="FATAL")
            .sub_process_done()
            .sub_process_done()
            .end_event("done")
            .boundary_event("fatal", attached_to="sub", error="FATAL")
            .user_task("give_up")
            .end_event("gave_up")
            .build()
        ],
        [
            Start(),
            ThrowError("work", "MINOR"),
            Expect(tree="p\n  sub\n    esp\n      triage"),
            CompleteTask("triage"),
            Expect(tree="p\n  give_up"),
        ],
    ),
    Scenario(
        "Camunda 7: error event subprocess inside a subprocess sets errorCodeVariable",
        [_C7_ERROR_ESP],
        [
            Start(),
            ThrowError("reserve", "FULL"),
            Expect(
                tree="c7_err\n  booking\n    on_failure\n      waitlist",
                variables={"failure": "FULL"},
            ),
            CompleteTask("waitlist"),
            Expect(tree="c7_err\n  confirm"),
        ],
    ),
    Scenario(
        "error from one inner instance ends the whole multi-instance activity",
        [
            ProcessBuilder("p")
            .start_event("s")
            .service_task("ship", job_type="ship")
            .multi_instance(collection="=parcels", element="parcel")
            .end_event("done")
            .boundary_event("lost", attached_to="ship", error="LOST")
            .user_task("claim")
            .end_event("claimed")
            .build()
        ],
        [
            Start(variables={"parcels": [1, 2, 3]}),
            CompleteJob("ship"),
            ThrowError("ship", "LOST"),
            Expect(tree="p\n  claim"),
            Custom(lambda e, pid: _jobs_left(e, "ship", 0)),
        ],
    ),
    # -- errors across call activities ---------------------------------------------------------
    Scenario(
        "error end event in a called process is caught on the call activity; the child ends",
        [_child(end={"error": "CHILD_FAILED"}), _parent(error="CHILD_FAILED")],
        [
            Start("parent"),
            CompleteTask("child_task"),
            Expect(tree="parent\n  after", tasks=["after"]),
            _child_state("CANCELED"),
        ],
    ),
    Scenario(
        "a worker's error in a called process reaches the parent's error event subprocess",
        [
            _worker_child(),
            ProcessBuilder("parent")
            .start_event("s")
            .call_activity("call", process_id="child")
            .user_task("next")
            .end_event("done")
            .event_sub_process("esp")
            .start_event("esp_start", error="BROKEN")
            .user_task("handle")
            .end_event("esp_end")
            .sub_process_done()
            .build(),
        ],
        [
            Start("parent"),
            ThrowError("child-work", "BROKEN", {"detail": "x"}),
            Expect(tree="parent\n  esp\n    handle", variables={"detail": "x"}),
            _child_state("CANCELED"),
        ],
    ),
    Scenario(
        "error in a called process caught by neither: an incident where it was thrown",
        [_child(end={"error": "NOBODY"}), _parent()],
        [
            Start("parent"),
            CompleteTask("child_task"),
            Expect(state="ACTIVE", tree="parent\n  call", incidents=[]),
            _child_state("ACTIVE", "child\n  child_end"),
            _child_incidents(["UNHANDLED_ERROR"]),
        ],
    ),
    Scenario(
        "a worker's error uncaught in child and parent: an incident on the job, which is held",
        [_worker_child(), _parent(error="OTHER")],
        [
            Start("parent"),
            ThrowError("child-work", "NOBODY"),
            Expect(state="ACTIVE", tree="parent\n  call", incidents=[]),
            _child_state("ACTIVE", "child\n  child_work"),
            _child_incidents(["UNHANDLED_ERROR"]),
            Custom(_incident_holds_job),
            Advance(hours=1),  # past the worker's lock: the failed job is not handed out again
            Custom(lambda e, pid: _activatable(e, "child-work", 0)),
        ],
    ),
    Scenario(
        "error passes through two call levels to a boundary in the top process",
        [
            _child(end={"error": "DEEP"}),
            _parent(),
            ProcessBuilder("top")
            .start_event("ts")
            .call_activity("call_parent", process_id="parent")
            .end_event("te")
            .boundary_event("deep_error", attached_to="call_parent", error="DEEP")
            .user_task("recover")
            .end_event("recovered")
            .build(),
        ],
        [
            Start("top"),
            CompleteTask("child_task"),
            Expect(tree="top\n  recover"),
            Custom(_chain_states("CANCELED", "CANCELED")),
        ],
    ),
    Scenario(
        "error caught inside the called process never reaches the parent",
        [
            ProcessBuilder("child")
            .start_event("cs")
            .service_task("child_work", job_type="child-work")
            .end_event("child_end")
            .boundary_event("child_caught", attached_to="child_work", error="E")
            .end_event("child_handled")
            .build(),
            _parent(error="E"),
        ],
        [
            Start("parent"),
            ThrowError("child-work", "E"),
            _child_state("COMPLETED"),
            Expect(tree="parent\n  next"),
        ],
    ),
    # -- uncaught errors -----------------------------------------------------------------------
    Scenario(
        "uncaught error end event: an incident on the end event, the instance stays active",
        [
            ProcessBuilder("p")
            .start_event("s")
            .user_task("step")
            .end_event("boom", error="UNCAUGHT")
            .build()
        ],
        [
            Start(),
            CompleteTask("step"),
            Expect(state="ACTIVE", tree="p\n  boom", incidents=["UNHANDLED_ERROR"]),
            Custom(lambda e, pid: _incident_on(e, pid, "boom")),
        ],
    ),
    Scenario(
        "uncaught worker error: an incident on the task, its job is not handed out again",
        [
            ProcessBuilder("p")
            .start_event("s")
            .service_task("work", job_type="work")
            .end_event("done")
            .build()
        ],
        [
            Start(),
            ThrowError("work", "UNCAUGHT"),
            Expect(state="ACTIVE", tree="p\n  work", incidents=["UNHANDLED_ERROR"]),
            Custom(lambda e, pid: _incident_on(e, pid, "work")),
            Custom(lambda e, pid: _activatable(e, "work", 0)),
        ],
    ),
    # -- escalations ---------------------------------------------------------------------------
    Scenario(
        "escalation goes up past a subprocess without catcher to the outer boundary",
        [
            _escalating_sub(
                code="ESC", inner=None, outer={"escalation": "ESC", "cancel_activity": False}
            )
        ],
        [
            Start(),
            CompleteTask("step"),
            Expect(tree="p\n  handle_outer\n  outer\n    inner\n      finish"),
        ],
    ),
    Scenario(
        "interrupting escalation boundary on the inner scope ends it; the outer one goes on",
        [
            _escalating_sub(
                code="ESC",
                inner={"escalation": "ESC"},
                outer={"escalation": "ESC", "cancel_activity": False},
            )
        ],
        [
            Start(),
            CompleteTask("step"),
            Expect(tree="p\n  outer\n    handle_inner"),
        ],
    ),
    Scenario(
        "escalation end event caught by an interrupting boundary",
        [_escalating_sub(code="ESC", inner=None, outer={"escalation": "ESC"}, end=True)],
        [
            Start(),
            CompleteTask("step"),
            Expect(tree="p\n  handle_outer"),
        ],
    ),
    Scenario(
        "escalation end event caught by a non-interrupting boundary: the scope ends normally",
        [
            _escalating_sub(
                code="ESC",
                inner={"escalation": "ESC", "cancel_activity": False},
                outer=None,
                end=True,
            )
        ],
        [
            Start(),
            CompleteTask("step"),
            Expect(tree="p\n  outer\n    after_inner\n    handle_inner"),
        ],
    ),
    Scenario(
        "uncaught escalation throw has no effect: the path goes on and the process completes",
        [_escalating_sub(code="ESC", inner={"escalation": "OTHER"}, outer=None)],
        [
            Start(),
            CompleteTask("step"),
            Expect(tree="p\n  outer\n    inner\n      finish", incidents=[]),
            CompleteTask("finish"),
            CompleteTask("after_inner"),
            CompleteTask("after_outer"),
            Expect(state="COMPLETED"),
        ],
    ),
    Scenario(
        "uncaught escalation end event ends its path like a none end event",
        [_escalating_sub(code="ESC", inner=None, outer=None, end=True)],
        [
            Start(),
            CompleteTask("step"),
            Expect(tree="p\n  outer\n    after_inner", incidents=[]),
        ],
    ),
    Scenario(
        "on one host, the escalation boundary naming the code wins over the catch-all",
        [
            ProcessBuilder("p")
            .start_event("s")
            .sub_process("sub")
            .start_event("ss")
            .intermediate_throw_event("raise", escalation="LATE")
            .user_task("work")
            .end_event("se")
            .sub_process_done()
            .end_event("done")
            .boundary_event("any", attached_to="sub", escalation=True, cancel_activity=False)
            .user_task("generic")
            .end_event("generic_end")
            .boundary_event("late", attached_to="sub", escalation="LATE", cancel_activity=False)
            .user_task("special")
            .end_event("special_end")
            .build()
        ],
        [
            Start(),
            Expect(tree="p\n  special\n  sub\n    work"),
        ],
    ),
    Scenario(
        "Camunda 8: escalation to level 2 by escalationCode; level 1 goes on",
        [_C8_ESCALATION],
        [
            Start(),
            CompleteTask("first_level"),
            Expect(tree="c8_esc\n  second_level\n  support\n    wait_l2"),
            Expect(history=[("escalation.caught", "support"), ("element.completed", "to_l2")]),
            CompleteTask("wait_l2"),
            CompleteTask("second_level"),
            Expect(state="COMPLETED"),
        ],
    ),
    Scenario(
        "escalation from a called process, non-interrupting on the call activity: both go on",
        [_child(throw={"escalation": "HELP"}), _parent(escalation="HELP", cancel_activity=False)],
        [
            Start("parent"),
            CompleteTask("child_task"),
            Expect(tree="parent\n  after\n  call"),
            _child_state("ACTIVE", "child\n  child_more"),
            CompleteTask("child_more"),
            Expect(tree="parent\n  after\n  next"),
        ],
    ),
    Scenario(
        "escalation from a called process, interrupting on the call activity: the child ends",
        [_child(throw={"escalation": "HELP"}), _parent(escalation="HELP")],
        [
            Start("parent"),
            CompleteTask("child_task"),
            Expect(tree="parent\n  after"),
            _child_state("CANCELED"),
        ],
    ),
    Scenario(
        "escalation from a called process that the parent does not catch changes nothing",
        [_child(throw={"escalation": "HELP"}), _parent()],
        [
            Start("parent"),
            CompleteTask("child_task"),
            Expect(tree="parent\n  call", incidents=[]),
            _child_state("ACTIVE", "child\n  child_more"),
            _child_incidents([]),
            CompleteTask("child_more"),
            Expect(tree="parent\n  next"),
        ],
    ),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_scenario(engine: Engine, clock: Clock, scenario: Scenario) -> None:
    run_scenario(engine, clock, scenario)
