"""Timer intermediate catch events: date, duration and cycle, fired as the clock moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from midflight.engine import Engine
from midflight.model.builder import ProcessBuilder

from ._support import Clock, bpmn, deploy_one, events, leaf, trail, tree_shape


def _timer_process(engine: Engine, **timer: str) -> None:
    model = (
        ProcessBuilder("p")
        .start_event("s")
        .intermediate_catch_event("wait", **timer)
        .user_task("after")
        .build()
    )
    deploy_one(engine, model)


def test_duration_timer_fires_after_the_duration(engine: Engine, clock: Clock) -> None:
    _timer_process(engine, timer_duration="PT10M")
    started = clock.now
    pid = engine.start_process("p").id
    assert tree_shape(engine, pid) == ("p", (leaf("wait"),))

    clock.advance(minutes=9, seconds=59)
    assert engine.fire_due_timers() == 0
    assert tree_shape(engine, pid) == ("p", (leaf("wait"),))

    clock.advance(seconds=1)
    assert engine.fire_due_timers() == 1

    assert tree_shape(engine, pid) == ("p", (leaf("after"),))
    (fired,) = events(engine, pid, "timer.fired")
    assert (fired.element_id, fired.timestamp) == ("wait", started + timedelta(minutes=10))
    assert trail(engine, pid) == ["s", "wait"]
    assert engine.fire_due_timers() == 0


def test_duration_from_a_feel_expression(engine: Engine, clock: Clock) -> None:
    _timer_process(engine, timer_duration="=delay")
    pid = engine.start_process("p", {"delay": "PT2H"}).id

    clock.advance(hours=1)
    assert engine.fire_due_timers() == 0
    clock.advance(hours=1)
    assert engine.fire_due_timers() == 1
    assert tree_shape(engine, pid) == ("p", (leaf("after"),))


def test_date_timer_fires_at_the_date(engine: Engine, clock: Clock) -> None:
    _timer_process(engine, timer_date="2030-01-08T00:00:00Z")
    pid = engine.start_process("p").id

    assert engine.fire_due_timers(datetime(2030, 1, 7, 23, 59, tzinfo=UTC)) == 0
    clock.advance(hours=14, minutes=59)  # 2030-01-07T23:59Z
    assert engine.fire_due_timers() == 0
    clock.advance(minutes=1)
    assert engine.fire_due_timers() == 1
    assert tree_shape(engine, pid) == ("p", (leaf("after"),))


def test_date_timer_from_a_variable(engine: Engine, clock: Clock) -> None:
    _timer_process(engine, timer_date="=remind_at")
    a = engine.start_process("p", {"remind_at": "2030-01-07T10:00:00Z"}).id
    b = engine.start_process("p", {"remind_at": "2030-01-07T12:00:00+02:00"}).id  # 10:00Z too
    c = engine.start_process("p", {"remind_at": "2030-01-07T11:00:00Z"}).id

    clock.advance(hours=1)
    assert engine.fire_due_timers() == 2

    assert tree_shape(engine, a) == ("p", (leaf("after"),))
    assert tree_shape(engine, b) == ("p", (leaf("after"),))
    assert tree_shape(engine, c) == ("p", (leaf("wait"),))


def test_a_date_in_the_past_fires_at_the_next_round(engine: Engine) -> None:
    _timer_process(engine, timer_date="2029-12-31T00:00:00Z")
    pid = engine.start_process("p").id

    assert engine.fire_due_timers() == 1
    assert tree_shape(engine, pid) == ("p", (leaf("after"),))


def test_fire_due_timers_accepts_an_explicit_now(engine: Engine, clock: Clock) -> None:
    _timer_process(engine, timer_duration="PT1H")
    pid = engine.start_process("p").id

    assert engine.fire_due_timers(clock.now + timedelta(minutes=59)) == 0
    assert engine.fire_due_timers(clock.now + timedelta(hours=1)) == 1
    assert tree_shape(engine, pid) == ("p", (leaf("after"),))


def test_a_cycle_on_an_intermediate_catch_event_fires_once(engine: Engine, clock: Clock) -> None:
    """BPMN: an intermediate timer event is triggered once; the cycle gives its first due date."""
    _timer_process(engine, timer_cycle="R3/PT10M")
    pid = engine.start_process("p").id

    clock.advance(minutes=9)
    assert engine.fire_due_timers() == 0
    clock.advance(minutes=1)
    assert engine.fire_due_timers() == 1
    assert tree_shape(engine, pid) == ("p", (leaf("after"),))

    for _ in range(3):
        clock.advance(minutes=10)
        assert engine.fire_due_timers() == 0
    assert len(events(engine, pid, "timer.fired")) == 1
    assert trail(engine, pid, "element.activated").count("after") == 1
    assert engine.fire_due_timers(datetime(2100, 1, 1, tzinfo=UTC)) == 0  # no timer is left


def test_timers_of_many_instances_fire_in_one_round(engine: Engine, clock: Clock) -> None:
    _timer_process(engine, timer_duration="PT5M")
    pids = [engine.start_process("p").id for _ in range(5)]

    clock.advance(minutes=5)
    assert engine.fire_due_timers() == 5

    assert all(tree_shape(engine, pid) == ("p", (leaf("after"),)) for pid in pids)


def test_a_timer_in_one_branch_leaves_the_other_alone(engine: Engine, clock: Clock) -> None:
    model = (
        ProcessBuilder("p")
        .start_event("s")
        .parallel_gateway("fork")
        .intermediate_catch_event("wait", timer_duration="PT1H")
        .user_task("late")
        .move_to("fork")
        .user_task("now")
        .build()
    )
    deploy_one(engine, model)
    pid = engine.start_process("p").id
    assert tree_shape(engine, pid) == ("p", (leaf("now"), leaf("wait")))

    clock.advance(hours=1)
    assert engine.fire_due_timers() == 1

    assert tree_shape(engine, pid) == ("p", (leaf("late"), leaf("now")))


def test_a_timer_of_a_canceled_instance_never_fires(engine: Engine, clock: Clock) -> None:
    _timer_process(engine, timer_duration="PT1M")
    pid = engine.start_process("p").id
    engine.cancel_process_instance(pid)

    clock.advance(minutes=2)
    assert engine.fire_due_timers() == 0
    assert events(engine, pid, "timer.fired") == []


def test_timer_from_zeebe_xml_with_cycle_and_duration(engine: Engine, clock: Clock) -> None:
    xml = bpmn(
        """
  <bpmn:process id="x" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:intermediateCatchEvent id="first">
      <bpmn:timerEventDefinition>
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT30S</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="second">
      <bpmn:timerEventDefinition>
        <bpmn:timeCycle xsi:type="bpmn:tFormalExpression">R/PT1M</bpmn:timeCycle>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="first"/>
    <bpmn:sequenceFlow id="f2" sourceRef="first" targetRef="second"/>
    <bpmn:sequenceFlow id="f3" sourceRef="second" targetRef="e"/>
  </bpmn:process>"""
    )
    deploy_one(engine, xml)
    pid = engine.start_process("x").id

    clock.advance(seconds=30)
    assert engine.fire_due_timers() == 1
    assert tree_shape(engine, pid) == ("x", (leaf("second"),))
    clock.advance(seconds=59)
    assert engine.fire_due_timers() == 0
    clock.advance(seconds=1)
    assert engine.fire_due_timers() == 1
    assert engine.process_instance(pid).state == "COMPLETED"
    assert [e.element_id for e in events(engine, pid, "timer.fired")] == ["first", "second"]


@pytest.mark.parametrize(
    "timer",
    [
        {"timer_duration": "=delay"},
        {"timer_date": "=delay"},
        {"timer_cycle": "=delay"},
    ],
)
def test_an_invalid_timer_value_is_an_incident(engine: Engine, timer: dict[str, str]) -> None:
    _timer_process(engine, **timer)
    pid = engine.start_process("p", {"delay": "soon"}).id

    (incident,) = engine.incidents(pid)
    assert (incident.type, incident.element_id) == ("EXPRESSION", "wait")
    assert "soon" in incident.message
    assert engine.fire_due_timers(datetime(2100, 1, 1, tzinfo=UTC)) == 0
