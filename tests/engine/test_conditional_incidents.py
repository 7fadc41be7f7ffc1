"""A conditional event whose condition cannot be evaluated: one incident, and resolving it
evaluates the condition again (the element owning the subscription is not run again)."""

from __future__ import annotations

import pytest

from midflight.engine import Engine

from ._support import bpmn, deploy_one, events

# A Camunda 7 condition naming a variable that is not set yet fails to evaluate (JUEL).
REVIEW = bpmn("""
<bpmn:process id="p" isExecutable="true">
  <bpmn:startEvent id="s"/>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review"/>
  <bpmn:userTask id="review"/>
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="e"/>
  <bpmn:endEvent id="e"/>
  <bpmn:boundaryEvent id="escalate" attachedToRef="review" cancelActivity="false">
    <bpmn:conditionalEventDefinition>
      <bpmn:condition xsi:type="bpmn:tFormalExpression">${priority &gt; 1}</bpmn:condition>
    </bpmn:conditionalEventDefinition>
  </bpmn:boundaryEvent>
  <bpmn:sequenceFlow id="f3" sourceRef="escalate" targetRef="escalated"/>
  <bpmn:userTask id="escalated"/>
  <bpmn:sequenceFlow id="f4" sourceRef="escalated" targetRef="e2"/>
  <bpmn:endEvent id="e2"/>
</bpmn:process>
""")


@pytest.fixture
def waiting(engine: Engine) -> str:
    deploy_one(engine, REVIEW)
    return engine.start_process("p", {"amount": 1}).id


def tasks(engine: Engine, pid: str) -> list[str]:
    return sorted(t.element_id for t in engine.user_tasks(process_instance_id=pid))


def test_a_failing_condition_opens_one_incident_however_often_variables_change(
    engine: Engine, waiting: str
) -> None:
    (incident,) = engine.incidents(waiting)
    assert (incident.type, incident.element_id) == ("CONDITIONAL_EVENT", "review")
    assert "escalate" in incident.message and "priority" in incident.message

    engine.set_variables(waiting, {"amount": 2})
    engine.set_variables(waiting, {"amount": 3})

    assert [i.id for i in engine.incidents(waiting)] == [incident.id]
    assert tasks(engine, waiting) == ["review"]  # the task itself goes on meanwhile


def test_resolving_evaluates_the_condition_again_without_running_the_task_again(
    engine: Engine, waiting: str
) -> None:
    (incident,) = engine.incidents(waiting)
    engine.set_variables(waiting, {"priority": 0})
    engine.resolve_incident(incident.id)

    assert engine.incidents(waiting) == []
    assert tasks(engine, waiting) == ["review"]  # one task, not a second one
    assert len(events(engine, waiting, "task.created")) == 1

    engine.set_variables(waiting, {"priority": 5})  # now the event fires (non-interrupting)
    assert tasks(engine, waiting) == ["escalated", "review"]


def test_resolving_while_the_condition_still_fails_opens_it_again(
    engine: Engine, waiting: str
) -> None:
    (incident,) = engine.incidents(waiting)
    engine.resolve_incident(incident.id)

    (again,) = engine.incidents(waiting)
    assert again.id != incident.id and again.type == "CONDITIONAL_EVENT"
    assert tasks(engine, waiting) == ["review"]


def test_the_incident_ends_with_its_element(engine: Engine, waiting: str) -> None:
    (task,) = engine.user_tasks(process_instance_id=waiting)
    engine.complete_user_task(task.id)

    assert engine.incidents(waiting) == []
    assert engine.process_instance(waiting).state == "COMPLETED"
