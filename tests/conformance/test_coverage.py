"""Nothing is silently ignored: every element type the model layer can produce is either
executed (it has a behaviour in ``BEHAVIORS``) or refused at deploy time with an error that
names the element. The same holds for what Midflight reads but does not run inside an executed
element: scripts in other languages, DMN calls, script listeners and script io parameters."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from midflight import Engine
from midflight.errors import ModelValidationError
from midflight.model import ElementType
from midflight.runtime.behaviors import BEHAVIORS

_BPMN_NS = 'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'


def c7(process_body: str) -> str:
    """A Camunda 7 document whose process ``p`` holds ``s`` -> ``x`` -> ``e`` plus the body
    (which defines ``x``)."""
    return (
        f'<bpmn:definitions {_BPMN_NS} xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        'id="defs" targetNamespace="urn:midflight:test">'
        '<bpmn:process id="p" isExecutable="true">'
        f'<bpmn:startEvent id="s"/>{process_body}<bpmn:endEvent id="e"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="x"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="x" targetRef="e"/>'
        "</bpmn:process></bpmn:definitions>"
    )


def c8(process_body: str) -> str:
    return (
        f'<bpmn:definitions {_BPMN_NS} xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
        'id="defs" targetNamespace="urn:midflight:test">'
        '<bpmn:process id="p" isExecutable="true">'
        f'<bpmn:startEvent id="s"/>{process_body}<bpmn:endEvent id="e"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="x"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="x" targetRef="e"/>'
        "</bpmn:process></bpmn:definitions>"
    )


@dataclass(frozen=True)
class Refused:
    """A model using something Midflight does not execute, the element the error must name
    and words the message must contain."""

    name: str
    model: str
    element_id: str
    words: tuple[str, ...]

    def __str__(self) -> str:
        return self.name


#: Element types the runtime does not execute, with a model that uses one.
REFUSED_TYPES: dict[ElementType, Refused] = {
    ElementType.COMPLEX_GATEWAY: Refused(
        "complex gateway",
        c7('<bpmn:complexGateway id="x"/>'),
        "x",
        ("complex gateway", "not executed"),
    ),
    ElementType.UNSUPPORTED: Refused(
        "an unknown flow node",
        c7('<bpmn:implicitThrowEvent id="x"/>'),
        "x",
        ("implicit throw event", "not executed"),
    ),
}

#: What an executed element may carry that Midflight does not run.
REFUSED_CONTENT = [
    Refused(
        "groovy script task",
        c7(
            '<bpmn:scriptTask id="x" scriptFormat="groovy"><bpmn:script>1 + 1</bpmn:script>'
            "</bpmn:scriptTask>"
        ),
        "x",
        ("groovy", "not executed"),
    ),
    Refused(
        "javascript script task",
        c7(
            '<bpmn:scriptTask id="x" scriptFormat="javascript"><bpmn:script>1</bpmn:script>'
            "</bpmn:scriptTask>"
        ),
        "x",
        ("javascript",),
    ),
    Refused(
        "script task without a script or a job",
        c8('<bpmn:scriptTask id="x"/>'),
        "x",
        ("neither a script nor a job",),
    ),
    Refused(
        "business rule task calling a DMN decision (Camunda 7)",
        c7('<bpmn:businessRuleTask id="x" camunda:decisionRef="risk"/>'),
        "x",
        ("DMN decision",),
    ),
    Refused(
        "business rule task calling a DMN decision (Camunda 8)",
        c8(
            '<bpmn:businessRuleTask id="x"><bpmn:extensionElements>'
            '<zeebe:calledDecision decisionId="risk" resultVariable="r"/>'
            "</bpmn:extensionElements></bpmn:businessRuleTask>"
        ),
        "x",
        ("DMN decision",),
    ),
    Refused(
        "script execution listener",
        c7(
            '<bpmn:userTask id="x"><bpmn:extensionElements><camunda:executionListener '
            'event="start"><camunda:script scriptFormat="groovy">println 1</camunda:script>'
            "</camunda:executionListener></bpmn:extensionElements></bpmn:userTask>"
        ),
        "x",
        ("start execution listener", "script"),
    ),
    Refused(
        "script task listener",
        c7(
            '<bpmn:userTask id="x"><bpmn:extensionElements><camunda:taskListener '
            'event="create"><camunda:script scriptFormat="groovy">println 1</camunda:script>'
            "</camunda:taskListener></bpmn:extensionElements></bpmn:userTask>"
        ),
        "x",
        ("create task listener", "script"),
    ),
    Refused(
        "script input parameter",
        c7(
            '<bpmn:userTask id="x"><bpmn:extensionElements><camunda:inputOutput>'
            '<camunda:inputParameter name="v"><camunda:script scriptFormat="groovy">1'
            "</camunda:script></camunda:inputParameter></camunda:inputOutput>"
            "</bpmn:extensionElements></bpmn:userTask>"
        ),
        "x",
        ("'v'", "groovy", "script"),
    ),
    Refused(
        "complex gateway nested in a subprocess",
        c7(
            '<bpmn:subProcess id="x"><bpmn:startEvent id="in_s"/><bpmn:complexGateway id="cx"/>'
            '<bpmn:endEvent id="in_e"/>'
            '<bpmn:sequenceFlow id="i1" sourceRef="in_s" targetRef="cx"/>'
            '<bpmn:sequenceFlow id="i2" sourceRef="cx" targetRef="in_e"/></bpmn:subProcess>'
        ),
        "cx",
        ("complex gateway",),
    ),
]


def test_every_element_type_is_executed_or_refused() -> None:
    undecided = [t.value for t in ElementType if t not in BEHAVIORS and t not in REFUSED_TYPES]
    assert not undecided, f"neither executed nor refused at deploy time: {undecided}"
    both = [t.value for t in REFUSED_TYPES if t in BEHAVIORS]
    assert not both, f"refused at deploy time yet given a behaviour: {both}"


@pytest.mark.parametrize("case", [*REFUSED_TYPES.values(), *REFUSED_CONTENT], ids=str)
def test_deploy_refuses_what_is_not_executed(engine: Engine, case: Refused) -> None:
    with pytest.raises(ModelValidationError) as caught:
        engine.deploy(case.model)
    problems = [p for p in caught.value.problems if p.element_id == case.element_id]
    assert problems, f"no problem names '{case.element_id}': {caught.value}"
    text = " ".join(p.message for p in problems)
    for word in case.words:
        assert word in text, f"{word!r} not in {text!r}"
    assert engine.definitions() == []  # nothing of the model was deployed
