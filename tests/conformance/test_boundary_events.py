"""Boundary events: timer, message, signal, error, escalation, conditional and compensation,
interrupting and non-interrupting, on tasks, subprocesses, call activities and multi-instance
activities.

The subscriptions of a boundary event belong to its host: they exist exactly while the host is
active. ``Live`` checks that directly (the subscription and timer rows of the instance), and the
scenarios check it from the outside too: a message for a finished host is refused with
``NotFoundError``, a signal reaches nobody, a timer never fires.

This module also holds the small step helpers the other event modules import.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from tests.conformance.harness import (
    Advance,
    AsyncJobs,
    Clock,
    CompleteJob,
    CompleteTask,
    Correlate,
    Custom,
    Expect,
    Scenario,
    Start,
    ThrowError,
    render_ids,
    run_scenario,
)
from tests.conformance.harness import Context as _Context

from midflight import Engine
from midflight.errors import MidflightError, NotFoundError
from midflight.model import ProcessBuilder

# ----------------------------------------------------------------------------------------------
# step helpers shared by the event modules
# ----------------------------------------------------------------------------------------------


def live_rows(engine: Engine, process_instance_id: str) -> tuple[list[tuple[str, str]], list[str]]:
    """The instance's live (kind, catch element id) subscriptions and timer catch element ids."""
    with engine._store.transaction() as tx:
        subs = tx.list_rows("event_subscriptions", process_instance_id=process_instance_id)
        jobs = tx.list_rows("jobs", process_instance_id=process_instance_id, kind="TIMER")
    return (
        sorted((r["kind"], r["element_id"]) for r in subs),
        sorted(str((r["payload"] or {}).get("catch", r["element_id"])) for r in jobs),
    )


@dataclass(frozen=True)
class Live:
    """The subscriptions (``(kind, catch element id)``) and timers (catch element ids) that
    exist now for an instance; only the fields given are checked."""

    subscriptions: Sequence[tuple[str, str]] | None = None
    timers: Sequence[str] | None = None
    instance: str = "main"

    def __call__(self, ctx: _Context, default_key: str) -> None:
        subs, timers = live_rows(ctx.engine, ctx.instances[self.instance])
        if self.subscriptions is not None:
            assert subs == sorted(self.subscriptions), f"subscriptions {subs}"
        if self.timers is not None:
            assert timers == sorted(self.timers), f"timers {timers}"


@dataclass(frozen=True)
class Refused:
    """``step`` raises ``error`` and changes nothing: every instance keeps its tree, history and
    subscriptions."""

    step: Callable[[_Context, str], None]
    error: type[MidflightError] = NotFoundError

    def __call__(self, ctx: _Context, default_key: str) -> None:
        before = _snapshot(ctx)
        with pytest.raises(self.error):
            self.step(ctx, default_key)
        assert _snapshot(ctx) == before


def _snapshot(ctx: _Context) -> list[Any]:
    engine = ctx.engine
    seen: list[Any] = [len(engine.process_instances())]
    for pid in sorted(ctx.instances.values()):
        state = engine.process_instance(pid).state
        tree = render_ids(engine.activity_instance_tree(pid)) if state == "ACTIVE" else None
        seen.append((state, tree, len(engine.history(pid)), live_rows(engine, pid)))
    return seen


@dataclass(frozen=True)
class Adopt:
    """Name the newest instance of ``key`` (started by an event, not by ``Start``) ``alias``;
    ``count``: how many instances of ``key`` must exist."""

    key: str
    alias: str = "main"
    count: int | None = None

    def __call__(self, ctx: _Context, default_key: str) -> None:
        instances = ctx.engine.process_instances(key=self.key)
        if self.count is not None:
            assert len(instances) == self.count, f"{len(instances)} instances of '{self.key}'"
        assert instances, f"no instance of '{self.key}'"
        known = set(ctx.instances.values())
        fresh = [i for i in instances if i.id not in known] or instances
        newest = max(fresh, key=lambda i: i.started_at)
        ctx.instances[self.alias] = newest.id
        ctx.process_instance_id = newest.id


@dataclass(frozen=True)
class Signalled:
    """Broadcast a signal and check how many subscriptions/start events it reached."""

    name: str
    reached: int
    variables: Mapping[str, Any] | None = None

    def __call__(self, ctx: _Context, default_key: str) -> None:
        count = ctx.engine.broadcast_signal(self.name, self.variables)
        assert count == self.reached, f"signal reached {count}, expected {self.reached}"


def set_vars(**variables: Any) -> Custom:
    """Set variables on the process instance scope (conditional events react)."""
    return Custom(lambda engine, pid: engine.set_variables(pid, variables))


def child_of(engine: Engine, pid: str) -> list[str]:
    return [i.id for i in engine.process_instances() if i.parent_process_instance_id == pid]


# ----------------------------------------------------------------------------------------------
# models
# ----------------------------------------------------------------------------------------------


def _task_with(**boundary: Any) -> Any:
    """review (user task) with one boundary event ``b`` leading to ``after`` (a user task)."""
    cancel = boundary.pop("cancel_activity", True)
    return (
        ProcessBuilder("p")
        .start_event("s")
        .user_task("review")
        .end_event("done")
        .boundary_event("b", attached_to="review", cancel_activity=cancel, **boundary)
        .user_task("after")
        .end_event("after_done")
        .build()
    )


def _sub_with(**boundary: Any) -> Any:
    """sub { a, b in parallel } with a boundary event ``b`` on sub leading to ``after``."""
    cancel = boundary.pop("cancel_activity", True)
    return (
        ProcessBuilder("p")
        .start_event("s")
        .sub_process("sub")
        .start_event("sub_s")
        .parallel_gateway("fork")
        .user_task("a")
        .end_event("a_end")
        .move_to("fork")
        .user_task("b_task")
        .end_event("b_end")
        .sub_process_done()
        .user_task("next")
        .end_event("done")
        .boundary_event("bnd", attached_to="sub", cancel_activity=cancel, **boundary)
        .user_task("after")
        .end_event("after_done")
        .build()
    )


def _error_sub(code: str | bool = "E1", catch: str | bool = "E1") -> Any:
    """sub { task work (job) -> error end } with an error boundary on sub."""
    return (
        ProcessBuilder("p")
        .start_event("s")
        .sub_process("sub")
        .start_event("sub_s")
        .service_task("work", job_type="work")
        .end_event("fail", error=code)
        .sub_process_done()
        .user_task("next")
        .end_event("done")
        .boundary_event("caught", attached_to="sub", error=catch)
        .user_task("handle")
        .end_event("handled")
        .build()
    )


def _escalation_sub(*, interrupting: bool) -> Any:
    """sub { step -> escalation throw 'late' -> finish } with an escalation boundary on sub."""
    return (
        ProcessBuilder("p")
        .start_event("s")
        .sub_process("sub")
        .start_event("sub_s")
        .user_task("step")
        .intermediate_throw_event("raise", escalation="late")
        .user_task("finish")
        .end_event("sub_end")
        .sub_process_done()
        .user_task("next")
        .end_event("done")
        .boundary_event("esc", attached_to="sub", cancel_activity=interrupting, escalation="late")
        .user_task("notify")
        .end_event("notified")
        .build()
    )


_C7_TIMER_BOUNDARY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    id="defs_c7_timer" targetNamespace="http://example.com/bpmn">
  <bpmn:process id="c7_timer" isExecutable="true" camunda:historyTimeToLive="P30D">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="approve"/>
    <bpmn:userTask id="approve" camunda:assignee="${approver}"/>
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="done"/>
    <bpmn:endEvent id="done"/>
    <bpmn:boundaryEvent id="remind" attachedToRef="approve" cancelActivity="false">
      <bpmn:timerEventDefinition>
        <bpmn:timeCycle xsi:type="bpmn:tFormalExpression">R2/PT1H</bpmn:timeCycle>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="remind" targetRef="send_reminder"/>
    <bpmn:serviceTask id="send_reminder" camunda:type="external" camunda:topic="reminder"/>
    <bpmn:sequenceFlow id="f4" sourceRef="send_reminder" targetRef="reminded"/>
    <bpmn:endEvent id="reminded"/>
    <bpmn:boundaryEvent id="expire" attachedToRef="approve">
      <bpmn:timerEventDefinition>
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">${deadline}</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f5" sourceRef="expire" targetRef="expired"/>
    <bpmn:endEvent id="expired"/>
  </bpmn:process>
</bpmn:definitions>
"""

_C7_ERROR_BOUNDARY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    id="defs_c7_error" targetNamespace="http://example.com/bpmn">
  <bpmn:process id="c7_error" isExecutable="true" camunda:historyTimeToLive="P30D">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="charge"/>
    <bpmn:serviceTask id="charge" camunda:type="external" camunda:topic="charge"/>
    <bpmn:sequenceFlow id="f2" sourceRef="charge" targetRef="done"/>
    <bpmn:endEvent id="done"/>
    <bpmn:boundaryEvent id="declined" attachedToRef="charge">
      <bpmn:errorEventDefinition errorRef="err_declined"
          camunda:errorCodeVariable="code" camunda:errorMessageVariable="why"/>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="declined" targetRef="inform"/>
    <bpmn:userTask id="inform"/>
    <bpmn:sequenceFlow id="f4" sourceRef="inform" targetRef="failed"/>
    <bpmn:endEvent id="failed"/>
  </bpmn:process>
  <bpmn:error id="err_declined" name="Declined" errorCode="CARD_DECLINED"/>
</bpmn:definitions>
"""

_C8_MESSAGE_BOUNDARY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
    id="defs_c8_msg" targetNamespace="http://example.com/bpmn">
  <bpmn:process id="c8_msg" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="ship"/>
    <bpmn:serviceTask id="ship">
      <bpmn:extensionElements><zeebe:taskDefinition type="ship"/></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="ship" targetRef="done"/>
    <bpmn:endEvent id="done"/>
    <bpmn:boundaryEvent id="address_changed" attachedToRef="ship" cancelActivity="false">
      <bpmn:extensionElements>
        <zeebe:ioMapping>
          <zeebe:output source="=street" target="newStreet"/>
        </zeebe:ioMapping>
      </bpmn:extensionElements>
      <bpmn:messageEventDefinition messageRef="msg_address"/>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="address_changed" targetRef="update"/>
    <bpmn:userTask id="update"/>
    <bpmn:sequenceFlow id="f4" sourceRef="update" targetRef="updated"/>
    <bpmn:endEvent id="updated"/>
    <bpmn:boundaryEvent id="cancelled" attachedToRef="ship">
      <bpmn:messageEventDefinition messageRef="msg_cancel"/>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f5" sourceRef="cancelled" targetRef="stopped"/>
    <bpmn:endEvent id="stopped"/>
  </bpmn:process>
  <bpmn:message id="msg_address" name="address-changed">
    <bpmn:extensionElements>
      <zeebe:subscription correlationKey="=orderId"/>
    </bpmn:extensionElements>
  </bpmn:message>
  <bpmn:message id="msg_cancel" name="order-cancelled">
    <bpmn:extensionElements>
      <zeebe:subscription correlationKey="=orderId"/>
    </bpmn:extensionElements>
  </bpmn:message>
</bpmn:definitions>
"""

_CHILD = ProcessBuilder("child").start_event("cs").user_task("child_task").end_event("ce").build()


def _call_with(**boundary: Any) -> Any:
    cancel = boundary.pop("cancel_activity", True)
    return (
        ProcessBuilder("parent")
        .start_event("s")
        .call_activity("call", process_id="child")
        .user_task("next")
        .end_event("done")
        .boundary_event("bnd", attached_to="call", cancel_activity=cancel, **boundary)
        .user_task("after")
        .end_event("after_done")
        .build()
    )


def _expect_child(state: str, tree: str | None = None) -> Custom:
    def check(engine: Engine, pid: str) -> None:
        [child] = child_of(engine, pid)
        assert engine.process_instance(child).state == state
        if tree is not None:
            assert render_ids(engine.activity_instance_tree(child)) == tree

    return Custom(check)


def _count_tasks(engine: Engine, pid: str, element_id: str, count: int) -> None:
    found = [t for t in engine.user_tasks(pid) if t.element_id == element_id]
    assert len(found) == count, f"{len(found)} tasks of {element_id}, expected {count}"


def _count_jobs(engine: Engine, job_type: str, count: int) -> None:
    with engine._store.transaction() as tx:
        rows = tx.list_rows("jobs", type=job_type)
    assert len(rows) == count, f"{len(rows)} '{job_type}' jobs, expected {count}"


def _no_jobs(engine: Engine, job_type: str) -> None:
    _count_jobs(engine, job_type, 0)


def _no_variable(engine: Engine, pid: str, name: str) -> None:
    assert name not in engine.variables(pid), f"variable '{name}' leaked into the process scope"


def _complete_one(element_id: str) -> Callable[[Engine, str], None]:
    def action(engine: Engine, pid: str) -> None:
        task = next(t for t in engine.user_tasks(pid) if t.element_id == element_id)
        engine.complete_user_task(task.id)

    return action


# ----------------------------------------------------------------------------------------------
# scenarios
# ----------------------------------------------------------------------------------------------

SCENARIOS = [
    # -- timer ---------------------------------------------------------------------------------
    Scenario(
        "interrupting timer (duration) ends the task; its timer existed only while it was active",
        [_task_with(timer_duration="PT10M")],
        [
            Start(),
            Live(subscriptions=[], timers=["b"]),
            Advance(minutes=9, fired=0),
            Expect(tree="p\n  review"),
            Advance(minutes=1, fired=1),
            Expect(tree="p\n  after", tasks=["after"]),
            Live(timers=[]),
            Expect(
                history=[
                    ("timer.fired", "review"),
                    ("element.terminated", "review"),
                    ("element.activated", "b"),
                    ("element.completed", "b"),
                    ("element.activated", "after"),
                ]
            ),
        ],
    ),
    Scenario(
        "non-interrupting timer (duration) starts its path and keeps the task",
        [_task_with(timer_duration="PT1H", cancel_activity=False)],
        [
            Start(),
            Advance(hours=1, fired=1),
            Expect(tree="p\n  after\n  review", tasks=["after", "review"]),
            Live(timers=[]),  # a duration fires once
            CompleteTask("review"),
            Expect(tree="p\n  after"),
            CompleteTask("after"),
            Expect(state="COMPLETED"),
        ],
    ),
    Scenario(
        "timer (date) on a task fires at its date",
        [_task_with(timer_date="2026-03-02T12:00:00Z")],
        [
            Start(),
            Advance(hours=2, fired=0),
            Advance(hours=1, fired=1),
            Expect(tree="p\n  after"),
        ],
    ),
    Scenario(
        "timer duration from a FEEL expression is evaluated when the host is entered",
        [_task_with(timer_duration="=wait")],
        [
            Start(variables={"wait": "PT30M"}),
            Advance(minutes=29, fired=0),
            Advance(minutes=1, fired=1),
            Expect(tree="p\n  after"),
        ],
    ),
    Scenario(
        "timer of a host that completed first never fires",
        [_task_with(timer_duration="PT10M")],
        [
            Start(),
            CompleteTask("review"),
            Expect(state="COMPLETED"),
            Live(timers=[]),
            Advance(hours=1, fired=0),
            Expect(
                state="COMPLETED",
                history=[("element.completed", "review"), ("process.completed", "p")],
            ),
        ],
    ),
    Scenario(
        "non-interrupting cycle R3/PT1H fires three times while the host lives",
        [_task_with(timer_cycle="R3/PT1H", cancel_activity=False)],
        [
            Start(),
            Advance(hours=1, fired=1),
            Advance(hours=1, fired=1),
            Advance(hours=1, fired=1),
            Live(timers=[]),
            Advance(hours=5, fired=0),
            Custom(lambda e, pid: _count_tasks(e, pid, "after", 3)),
            Expect(tasks=["after", "after", "after", "review"]),
        ],
    ),
    Scenario(
        "non-interrupting unbounded cycle stops when the host completes",
        [_task_with(timer_cycle="R/PT10M", cancel_activity=False)],
        [
            Start(),
            Advance(minutes=10, fired=1),
            Advance(minutes=10, fired=1),
            Live(timers=["b"]),
            CompleteTask("review"),
            Live(timers=[]),
            Advance(hours=2, fired=0),
            Expect(tree="p\n  after\n  after", tasks=["after", "after"]),
        ],
    ),
    Scenario(
        "a cycle catches up: every occurrence due by now fires in one round",
        [_task_with(timer_cycle="R/PT1H", cancel_activity=False)],
        [
            Start(),
            Advance(hours=3, fired=3),
            Expect(tree="p\n  after\n  after\n  after\n  review"),
            Advance(minutes=59, fired=0),
            Advance(minutes=1, fired=1),
        ],
    ),
    Scenario(
        "an async-before host has no timer until it is entered",
        [
            ProcessBuilder("p")
            .start_event("s")
            .user_task("review", async_before=True)
            .end_event("done")
            .boundary_event("b", attached_to="review", timer_duration="PT1H")
            .user_task("after")
            .end_event("after_done")
            .build()
        ],
        [
            Start(),
            Expect(tree="p\n  review (async before)"),
            Live(timers=[]),
            Advance(hours=2, fired=0),
            AsyncJobs(ran=1),
            Expect(tree="p\n  review"),
            Live(timers=["b"]),
            Advance(minutes=59, fired=0),
            Advance(minutes=1, fired=1),
            Expect(tree="p\n  after"),
        ],
    ),
    Scenario(
        "an async-after host that completed has no subscriptions while it waits to leave",
        [
            ProcessBuilder("p")
            .start_event("s")
            .user_task("review", async_after=True)
            .end_event("done")
            .boundary_event("b", attached_to="review", message="withdraw")
            .end_event("withdrawn")
            .build()
        ],
        [
            Start(),
            Live(subscriptions=[("message", "b")]),
            CompleteTask("review"),
            Expect(tree="p\n  review (async after)"),
            Live(subscriptions=[]),
            Refused(Correlate("withdraw")),
            AsyncJobs(ran=1),
            Expect(state="COMPLETED"),
        ],
    ),
    Scenario(
        "message boundary on a receive task: two subscriptions on one instance",
        [
            ProcessBuilder("p")
            .start_event("s")
            .receive_task("wait_reply", message="reply", correlation_key="=ticket")
            .user_task("read")
            .end_event("done")
            .boundary_event(
                "b", attached_to="wait_reply", message="cancel", correlation_key="=ticket"
            )
            .end_event("cancelled")
            .build()
        ],
        [
            Start(variables={"ticket": "T1"}),
            Live(subscriptions=[("message", "b"), ("message", "wait_reply")]),
            Correlate("reply", "T1", {"answer": 42}),
            Expect(tree="p\n  read", variables={"answer": 42}),
            Live(subscriptions=[]),
            Refused(Correlate("cancel", "T1")),
        ],
    ),
    Scenario(
        "interrupting cycle fires once: the host is gone afterwards",
        [_task_with(timer_cycle="R5/PT1H")],
        [
            Start(),
            Advance(hours=1, fired=1),
            Live(timers=[]),
            Advance(hours=3, fired=0),
            Expect(tree="p\n  after"),
        ],
    ),
    Scenario(
        "Camunda 7: non-interrupting reminder cycle and interrupting JUEL deadline on one task",
        [_C7_TIMER_BOUNDARY],
        [
            Start(variables={"approver": "ann", "deadline": "PT3H"}),
            Live(timers=["expire", "remind"]),
            Advance(hours=1, fired=1),
            CompleteJob("reminder"),
            Advance(hours=1, fired=1),
            CompleteJob("reminder"),
            Live(timers=["expire"]),
            Advance(hours=1, fired=1),
            Expect(
                state="COMPLETED",
                history=[
                    ("element.completed", "remind"),
                    ("element.completed", "remind"),
                    ("element.terminated", "approve"),
                    ("element.completed", "expire"),
                ],
            ),
        ],
    ),
    # -- message -------------------------------------------------------------------------------
    Scenario(
        "interrupting message boundary with a correlation key delivers its variables",
        [_task_with(message="cancel", correlation_key="=orderId")],
        [
            Start(variables={"orderId": "o-1"}),
            Live(subscriptions=[("message", "b")]),
            Refused(Correlate("cancel", "o-2")),
            Correlate("cancel", "o-1", {"reason": "customer"}),
            Expect(tree="p\n  after", variables={"reason": "customer"}),
            Live(subscriptions=[]),
            Expect(
                history=[
                    ("message.correlated", "review"),
                    ("element.terminated", "review"),
                    ("element.completed", "b"),
                ]
            ),
        ],
    ),
    Scenario(
        "message for a host that completed is refused and changes nothing",
        [_task_with(message="cancel", correlation_key="=orderId")],
        [
            Start(variables={"orderId": 7}),
            Live(subscriptions=[("message", "b")]),
            CompleteTask("review"),
            Live(subscriptions=[]),
            Refused(Correlate("cancel", 7)),
            Expect(state="COMPLETED"),
        ],
    ),
    Scenario(
        "non-interrupting message boundary fires for every message while the host lives",
        [_task_with(message="note", correlation_key="=id", cancel_activity=False)],
        [
            Start(variables={"id": "x"}),
            Correlate("note", "x"),
            Correlate("note", "x"),
            Expect(tree="p\n  after\n  after\n  review"),
            Live(subscriptions=[("message", "b")]),
            CompleteTask("review"),
            Refused(Correlate("note", "x")),
            Expect(tree="p\n  after\n  after"),
        ],
    ),
    Scenario(
        "Camunda 8: message boundaries with output mappings; the cancel one interrupts",
        [_C8_MESSAGE_BOUNDARY],
        [
            Start(variables={"orderId": "A-1"}),
            Live(subscriptions=[("message", "address_changed"), ("message", "cancelled")]),
            Correlate("address-changed", "A-1", {"street": "Main St 1"}),
            Expect(tree="c8_msg\n  ship\n  update", variables={"newStreet": "Main St 1"}),
            Custom(lambda e, pid: _no_variable(e, pid, "street")),
            Correlate("order-cancelled", "A-1"),
            Expect(tree="c8_msg\n  update"),
            Custom(lambda e, pid: _no_jobs(e, "ship")),
            CompleteTask("update"),
            Expect(state="COMPLETED"),
        ],
    ),
    Scenario(
        "several boundary events on one host: the first event wins, the others are gone",
        [
            ProcessBuilder("p")
            .start_event("s")
            .user_task("review")
            .end_event("done")
            .boundary_event("by_msg", attached_to="review", message="stop")
            .end_event("stopped")
            .boundary_event("by_timer", attached_to="review", timer_duration="PT1H")
            .end_event("timed_out")
            .boundary_event("by_signal", attached_to="review", signal="halt")
            .end_event("halted")
            .build()
        ],
        [
            Start(),
            Live(
                subscriptions=[("message", "by_msg"), ("signal", "by_signal")], timers=["by_timer"]
            ),
            Correlate("stop"),
            Expect(state="COMPLETED"),
            Live(subscriptions=[], timers=[]),
            Advance(hours=2, fired=0),
            Signalled("halt", reached=0),
        ],
    ),
    # -- signal --------------------------------------------------------------------------------
    Scenario(
        "interrupting signal boundary reacts to a broadcast",
        [_task_with(signal="recall")],
        [
            Start(),
            Live(subscriptions=[("signal", "b")]),
            Signalled("recall", reached=1, variables={"recalled": True}),
            Expect(tree="p\n  after", variables={"recalled": True}),
            Live(subscriptions=[]),
        ],
    ),
    Scenario(
        "non-interrupting signal boundary keeps the host; once it completes nothing listens",
        [_task_with(signal="ping", cancel_activity=False)],
        [
            Start(),
            Signalled("ping", reached=1),
            Expect(tree="p\n  after\n  review"),
            CompleteTask("review"),
            Signalled("ping", reached=0),
            Expect(tree="p\n  after"),
        ],
    ),
    Scenario(
        "signal boundary reaches every waiting instance",
        [_task_with(signal="recall")],
        [
            Start(alias="one"),
            Start(alias="two"),
            Signalled("recall", reached=2),
            Expect(instance="one", tree="p\n  after"),
            Expect(instance="two", tree="p\n  after"),
        ],
    ),
    # -- error ---------------------------------------------------------------------------------
    Scenario(
        "error boundary on a service task catches the worker's error with its variables",
        [
            ProcessBuilder("p")
            .start_event("s")
            .service_task("pay", job_type="pay")
            .end_event("done")
            .boundary_event("declined", attached_to="pay", error="DECLINED")
            .user_task("inform")
            .end_event("failed")
            .build()
        ],
        [
            Start(),
            ThrowError("pay", "DECLINED", {"limit": 100}),
            Expect(tree="p\n  inform", variables={"limit": 100}, incidents=[]),
            Custom(lambda e, pid: _no_jobs(e, "pay")),
            Expect(
                history=[
                    ("job.error_thrown", "pay"),
                    ("error.caught", "pay"),
                    ("element.terminated", "pay"),
                    ("element.completed", "declined"),
                ]
            ),
        ],
    ),
    Scenario(
        "catch-all error boundary (no error code) catches any code",
        [
            ProcessBuilder("p")
            .start_event("s")
            .service_task("pay", job_type="pay")
            .end_event("done")
            .boundary_event("any_error", attached_to="pay", error=True)
            .end_event("failed")
            .build()
        ],
        [
            Start(),
            ThrowError("pay", "WHATEVER"),
            Expect(
                state="COMPLETED",
                history=[("error.caught", "pay"), ("element.completed", "any_error")],
            ),
        ],
    ),
    Scenario(
        "error boundary with another code does not catch: an incident, never a silent end",
        [
            ProcessBuilder("p")
            .start_event("s")
            .service_task("pay", job_type="pay")
            .end_event("done")
            .boundary_event("declined", attached_to="pay", error="DECLINED")
            .end_event("failed")
            .build()
        ],
        [
            Start(),
            ThrowError("pay", "TIMEOUT"),
            Expect(state="ACTIVE", tree="p\n  pay", incidents=["UNHANDLED_ERROR"]),
        ],
    ),
    Scenario(
        "Camunda 7: error boundary sets errorCodeVariable and errorMessageVariable",
        [_C7_ERROR_BOUNDARY],
        [
            Start(),
            ThrowError("charge", "CARD_DECLINED"),
            Expect(
                tree="c7_error\n  inform",
                variables={"code": "CARD_DECLINED", "why": "thrown by the scenario"},
            ),
        ],
    ),
    Scenario(
        "error end event inside a subprocess is caught by the subprocess's boundary",
        [_error_sub()],
        [
            Start(),
            CompleteJob("work"),
            Expect(tree="p\n  handle", tasks=["handle"]),
            Expect(
                history=[
                    ("element.activated", "fail"),
                    ("error.caught", "sub"),
                    ("element.terminated", "sub"),
                    ("element.completed", "caught"),
                ]
            ),
        ],
    ),
    # -- escalation ----------------------------------------------------------------------------
    Scenario(
        "interrupting escalation boundary on a subprocess ends it",
        [_escalation_sub(interrupting=True)],
        [
            Start(),
            CompleteTask("step"),
            Expect(tree="p\n  notify", tasks=["notify"]),
            Expect(
                history=[
                    ("escalation.caught", "sub"),
                    ("element.terminated", "raise"),
                    ("element.terminated", "sub"),
                    ("element.completed", "esc"),
                ]
            ),
        ],
    ),
    Scenario(
        "non-interrupting escalation boundary: the thrower's path goes on",
        [_escalation_sub(interrupting=False)],
        [
            Start(),
            CompleteTask("step"),
            Expect(tree="p\n  notify\n  sub\n    finish", tasks=["finish", "notify"]),
            CompleteTask("finish"),
            Expect(tree="p\n  next\n  notify"),
        ],
    ),
    # -- conditional ---------------------------------------------------------------------------
    Scenario(
        "interrupting conditional boundary fires when a variable change makes it true",
        [_task_with(conditional="=amount > 100")],
        [
            Start(variables={"amount": 10}),
            Live(subscriptions=[("conditional", "b")]),
            set_vars(amount=50),
            Expect(tree="p\n  review"),
            set_vars(amount=500),
            Expect(tree="p\n  after"),
            Live(subscriptions=[]),
        ],
    ),
    Scenario(
        "non-interrupting conditional boundary fires each time its condition becomes true",
        [_task_with(conditional="=urgent = true", cancel_activity=False)],
        [
            Start(variables={"urgent": False}),
            set_vars(urgent=True),
            Expect(tree="p\n  after\n  review"),
            Live(subscriptions=[("conditional", "b")]),
            set_vars(urgent=True, note="still urgent"),  # no new edge: nothing fires
            Expect(tree="p\n  after\n  review"),
            set_vars(urgent=False),
            set_vars(urgent=True),
            Expect(tree="p\n  after\n  after\n  review"),
            CompleteTask("review"),
            Live(subscriptions=[]),
            set_vars(urgent=False),
            set_vars(urgent=True),
            Expect(tree="p\n  after\n  after"),
        ],
    ),
    Scenario(
        "conditional boundary whose condition holds when the host is entered fires at once",
        [
            ProcessBuilder("p")
            .start_event("s")
            .user_task("prepare")
            .user_task("review")
            .end_event("done")
            .boundary_event("b", attached_to="review", conditional="=amount > 100")
            .user_task("after")
            .end_event("after_done")
            .build()
        ],
        [
            Start(variables={"amount": 500}),
            Expect(tree="p\n  prepare"),
            CompleteTask("prepare"),
            Expect(tree="p\n  after"),
            Expect(
                history=[
                    ("element.activated", "review"),
                    ("element.terminated", "review"),
                    ("element.completed", "b"),
                ]
            ),
        ],
    ),
    # -- compensation --------------------------------------------------------------------------
    Scenario(
        "compensation boundary: the handler runs for a completed host, not for a running one",
        [
            ProcessBuilder("p")
            .start_event("s")
            .service_task("book", job_type="book")
            .boundary_event("undo_book", attached_to="book", compensate=True)
            .service_task("cancel_booking", job_type="cancel-booking")
            .move_to("book")
            .user_task("confirm")
            .intermediate_throw_event("undo", compensate=True)
            .end_event("done")
            .build()
        ],
        [
            Start(),
            Custom(lambda e, pid: _count_jobs(e, "cancel-booking", 0)),
            CompleteJob("book"),
            CompleteTask("confirm"),
            Expect(tree="p\n  cancel_booking\n  undo"),  # the throw waits for its handler
            CompleteJob("cancel-booking"),
            Expect(
                state="COMPLETED",
                history=[
                    ("element.completed", "book"),
                    ("compensation.started", "p"),
                    ("element.completed", "cancel_booking"),
                    ("element.completed", "undo"),
                ],
            ),
        ],
    ),
    # -- hosts other than tasks ----------------------------------------------------------------
    Scenario(
        "interrupting timer on a subprocess ends everything inside it",
        [_sub_with(timer_duration="PT1H")],
        [
            Start(),
            Expect(tree="p\n  sub\n    a\n    b_task"),
            CompleteTask("a"),
            Advance(hours=1, fired=1),
            Expect(tree="p\n  after", tasks=["after"]),
            Live(timers=[]),
        ],
    ),
    Scenario(
        "non-interrupting message on a subprocess; after the subprocess it is refused",
        [_sub_with(message="extra", cancel_activity=False)],
        [
            Start(),
            Correlate("extra"),
            Expect(tree="p\n  after\n  sub\n    a\n    b_task"),
            CompleteTask("a"),
            CompleteTask("b_task"),
            Expect(tree="p\n  after\n  next"),
            Live(subscriptions=[]),
            Refused(Correlate("extra")),
        ],
    ),
    Scenario(
        "signal boundary on a subprocess removes the boundary subscriptions inside it too",
        [
            ProcessBuilder("p")
            .start_event("s")
            .sub_process("sub")
            .start_event("sub_s")
            .user_task("inner")
            .end_event("sub_e")
            .boundary_event("inner_msg", attached_to="inner", message="poke")
            .end_event("poked")
            .sub_process_done()
            .end_event("done")
            .boundary_event("abort", attached_to="sub", signal="abort")
            .user_task("after")
            .end_event("after_done")
            .build()
        ],
        [
            Start(),
            Live(subscriptions=[("message", "inner_msg"), ("signal", "abort")]),
            Signalled("abort", reached=1),
            Expect(tree="p\n  after"),
            Live(subscriptions=[]),
            Refused(Correlate("poke")),
        ],
    ),
    Scenario(
        "timer on a multi-instance activity belongs to the body: it ends all inner instances",
        [
            ProcessBuilder("p")
            .start_event("s")
            .user_task("vote")
            .multi_instance(collection="=voters", element="voter")
            .end_event("done")
            .boundary_event("deadline", attached_to="vote", timer_duration="P1D")
            .user_task("after")
            .end_event("after_done")
            .build()
        ],
        [
            Start(variables={"voters": ["a", "b", "c"]}),
            Live(timers=["deadline"]),
            Custom(_complete_one("vote")),
            Expect(tree="p\n  vote#multiInstanceBody\n    vote\n    vote"),
            Advance(days=1, fired=1),
            Expect(tree="p\n  after", tasks=["after"]),
            Live(timers=[]),
        ],
    ),
    Scenario(
        "interrupting message boundary on a call activity cancels the called instance",
        [_CHILD, _call_with(message="abort")],
        [
            Start("parent"),
            _expect_child("ACTIVE", "child\n  child_task"),
            Correlate("abort"),
            Expect(tree="parent\n  after"),
            _expect_child("CANCELED"),
        ],
    ),
    Scenario(
        "non-interrupting timer on a call activity leaves the called instance running",
        [_CHILD, _call_with(timer_duration="PT1H", cancel_activity=False)],
        [
            Start("parent"),
            Advance(hours=1, fired=1),
            Expect(tree="parent\n  after\n  call"),
            _expect_child("ACTIVE"),
            CompleteTask("child_task"),
            _expect_child("COMPLETED"),
            Expect(tree="parent\n  after\n  next"),
        ],
    ),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_scenario(engine: Engine, clock: Clock, scenario: Scenario) -> None:
    run_scenario(engine, clock, scenario)
