"""validate_definitions: every rule, with the element id and line of each problem."""

from __future__ import annotations

import itertools

import pytest

from midflight.errors import ModelValidationError, Problem
from midflight.model.parser import parse_bpmn
from midflight.model.validate import validate_definitions

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="t">\n'
)


def model(body: str, *, executable: bool = True, roots: str = "") -> str:
    flag = "true" if executable else "false"
    return (
        f"{HEAD}{roots}\n"
        f'<bpmn:process id="p" isExecutable="{flag}">\n{body}\n</bpmn:process>\n'
        "</bpmn:definitions>\n"
    )


def problems_of(xml: str) -> list[Problem]:
    return validate_definitions(parse_bpmn(xml, validate=False))


def errors_of(xml: str) -> list[Problem]:
    return [p for p in problems_of(xml) if p.severity == "error"]


def line_of(xml: str, needle: str) -> int:
    return xml.count("\n", 0, xml.index(needle)) + 1


def only(problems: list[Problem], code: str) -> Problem:
    matching = [p for p in problems if p.code == code]
    assert len(matching) == 1, problems
    return matching[0]


def job(job_type: str = "work") -> str:
    return (
        "<bpmn:extensionElements>"
        f'<zeebe:taskDefinition type="{job_type}"/>'
        "</bpmn:extensionElements>"
    )


START_TO_END = """
  <bpmn:startEvent id="start"/>
  <bpmn:endEvent id="end"/>
  <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="end"/>
"""


def _has_feel() -> bool:
    try:
        from midflight.expr.feel import compile_feel  # noqa: F401
    except ImportError:
        return False
    return True


HAS_FEEL = _has_feel()


# ------------------------------------------------------------------------------------------
# A correct model has no problems
# ------------------------------------------------------------------------------------------

GOOD = model(
    f"""
  <bpmn:startEvent id="start"/>
  <bpmn:exclusiveGateway id="split" default="normal"/>
  <bpmn:serviceTask id="charge">{job("charge")}</bpmn:serviceTask>
  <bpmn:userTask id="review"/>
  <bpmn:exclusiveGateway id="merge"/>
  <bpmn:scriptTask id="calc">
    <bpmn:extensionElements><zeebe:script expression="=1 + 1" resultVariable="two"/>
    </bpmn:extensionElements>
  </bpmn:scriptTask>
  <bpmn:subProcess id="sub">
    <bpmn:startEvent id="subStart"/>
    <bpmn:endEvent id="subEnd"/>
    <bpmn:sequenceFlow id="sf" sourceRef="subStart" targetRef="subEnd"/>
  </bpmn:subProcess>
  <bpmn:boundaryEvent id="late" attachedToRef="review">
    <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
  </bpmn:boundaryEvent>
  <bpmn:endEvent id="lateEnd"/>
  <bpmn:endEvent id="end"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split"/>
  <bpmn:sequenceFlow id="big" sourceRef="split" targetRef="review">
    <bpmn:conditionExpression
      xsi:type="bpmn:tFormalExpression">=amount &gt; 10</bpmn:conditionExpression>
  </bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="normal" sourceRef="split" targetRef="charge"/>
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="merge"/>
  <bpmn:sequenceFlow id="f3" sourceRef="charge" targetRef="merge"/>
  <bpmn:sequenceFlow id="f4" sourceRef="merge" targetRef="calc"/>
  <bpmn:sequenceFlow id="f5" sourceRef="calc" targetRef="sub"/>
  <bpmn:sequenceFlow id="f6" sourceRef="sub" targetRef="end"/>
  <bpmn:sequenceFlow id="f7" sourceRef="late" targetRef="lateEnd"/>
"""
)


def test_correct_model_has_no_problems() -> None:
    assert problems_of(GOOD) == []
    assert parse_bpmn(GOOD).process().elements["merge"].outgoing == ("f4",)


# ------------------------------------------------------------------------------------------
# Flows and boundary events
# ------------------------------------------------------------------------------------------


def test_flow_to_unknown_element() -> None:
    xml = model(START_TO_END + '<bpmn:sequenceFlow id="f3" sourceRef="start" targetRef="task9"/>')
    problem = only(errors_of(xml), "flow")
    assert problem.element_id == "f3"
    assert problem.line == line_of(xml, 'id="f3"')
    assert "task9" in problem.message and "targetRef" in problem.message


def test_flow_from_unknown_element_and_missing_ref() -> None:
    xml = model(
        START_TO_END
        + '<bpmn:sequenceFlow id="g1" sourceRef="ghost" targetRef="end"/>'
        + '<bpmn:sequenceFlow id="g2" sourceRef="start"/>'
    )
    problems = [p for p in errors_of(xml) if p.code == "flow"]
    assert [(p.element_id, "ghost" in p.message) for p in problems] == [
        ("g1", True),
        ("g2", False),
    ]
    assert "no targetRef" in problems[1].message


def test_flow_crossing_a_subprocess_border() -> None:
    xml = model(
        """
  <bpmn:startEvent id="start"/>
  <bpmn:subProcess id="sub">
    <bpmn:startEvent id="subStart"/>
    <bpmn:task id="inner"/>
    <bpmn:sequenceFlow id="sf" sourceRef="subStart" targetRef="inner"/>
  </bpmn:subProcess>
  <bpmn:sequenceFlow id="cross" sourceRef="start" targetRef="inner"/>
  <bpmn:sequenceFlow id="f" sourceRef="start" targetRef="sub"/>
"""
    )
    problem = only(errors_of(xml), "flow-scope")
    assert problem.element_id == "cross"
    assert problem.line == line_of(xml, 'id="cross"')
    assert "'inner'" in problem.message and "subprocess 'sub'" in problem.message


def test_boundary_event_on_non_activity_or_unknown_host() -> None:
    xml = model(
        START_TO_END
        + """
  <bpmn:boundaryEvent id="onEnd" attachedToRef="end"/>
  <bpmn:boundaryEvent id="onGhost" attachedToRef="ghost"/>
"""
    )
    problems = [p for p in errors_of(xml) if p.code == "boundary"]
    assert [p.element_id for p in problems] == ["onEnd", "onGhost"]
    assert problems[0].line == line_of(xml, 'id="onEnd"')
    assert "not an activity" in problems[0].message
    assert "unknown element 'ghost'" in problems[1].message


# ------------------------------------------------------------------------------------------
# Gateways and default flows
# ------------------------------------------------------------------------------------------

SPLIT = """
  <bpmn:startEvent id="start"/>
  <bpmn:{kind} id="gw"{default}/>
  <bpmn:endEvent id="a"/>
  <bpmn:endEvent id="b"/>
  <bpmn:sequenceFlow id="in" sourceRef="start" targetRef="gw"/>
  <bpmn:sequenceFlow id="toA" sourceRef="gw" targetRef="a">
    <bpmn:conditionExpression>=x</bpmn:conditionExpression>
  </bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="toB" sourceRef="gw" targetRef="b"{condition}
"""


def split(kind: str, default: str = "", condition: bool = False) -> str:
    return model(
        SPLIT.format(
            kind=kind,
            default=f' default="{default}"' if default else "",
            condition="><bpmn:conditionExpression>=y</bpmn:conditionExpression></bpmn:sequenceFlow>"
            if condition
            else "/>",
        )
    )


@pytest.mark.parametrize("kind", ["exclusiveGateway", "inclusiveGateway"])
def test_splitting_gateway_needs_conditions(kind: str) -> None:
    xml = split(kind)
    problem = only(errors_of(xml), "missing-condition")
    assert problem.element_id == "toB"
    assert problem.line == line_of(xml, 'id="toB"')
    assert "'gw'" in problem.message
    assert errors_of(split(kind, default="toB")) == []
    assert errors_of(split(kind, condition=True)) == []


def test_merging_gateway_with_one_outgoing_flow_needs_no_condition() -> None:
    xml = model(
        """
  <bpmn:startEvent id="start"/>
  <bpmn:exclusiveGateway id="merge"/>
  <bpmn:endEvent id="end"/>
  <bpmn:sequenceFlow id="a" sourceRef="start" targetRef="merge"/>
  <bpmn:sequenceFlow id="b" sourceRef="merge" targetRef="end"/>
"""
    )
    assert problems_of(xml) == []


def test_default_flow_with_condition_or_not_outgoing() -> None:
    with_condition = split("exclusiveGateway", default="toB", condition=True)
    problem = only(errors_of(with_condition), "default-flow")
    assert problem.element_id == "toB"
    assert "remove the condition" in problem.message
    elsewhere = split("exclusiveGateway", default="in")
    problem = only(errors_of(elsewhere), "default-flow")
    assert problem.element_id == "gw"
    assert problem.line == line_of(elsewhere, 'id="gw"')


def test_condition_after_parallel_gateway_is_only_a_warning() -> None:
    xml = split("parallelGateway", condition=True)
    problems = problems_of(xml)
    assert {(p.element_id, p.severity) for p in problems} == {
        ("toA", "warning"),
        ("toB", "warning"),
    }
    parse_bpmn(xml)  # warnings never refuse a model


def test_event_based_gateway_targets() -> None:
    xml = model(
        f"""
  <bpmn:startEvent id="start"/>
  <bpmn:eventBasedGateway id="evgw"/>
  <bpmn:intermediateCatchEvent id="timer">
    <bpmn:timerEventDefinition><bpmn:timeDuration>PT1M</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
  </bpmn:intermediateCatchEvent>
  <bpmn:serviceTask id="work">{job()}</bpmn:serviceTask>
  <bpmn:sequenceFlow id="a" sourceRef="start" targetRef="evgw"/>
  <bpmn:sequenceFlow id="b" sourceRef="evgw" targetRef="timer"/>
  <bpmn:sequenceFlow id="c" sourceRef="evgw" targetRef="work"/>
"""
    )
    problem = only(errors_of(xml), "event-gateway")
    assert problem.element_id == "evgw"
    assert problem.line == line_of(xml, 'id="evgw"')
    assert "service task 'work'" in problem.message


# ------------------------------------------------------------------------------------------
# Reachability and start events
# ------------------------------------------------------------------------------------------


def test_unreachable_element() -> None:
    xml = model(START_TO_END + '<bpmn:task id="orphan"/>')
    problem = only(errors_of(xml), "unreachable")
    assert problem.element_id == "orphan"
    assert problem.line == line_of(xml, 'id="orphan"')


def test_unreachable_inside_subprocess_is_reported_once() -> None:
    xml = model(
        START_TO_END
        + """
  <bpmn:subProcess id="island">
    <bpmn:startEvent id="s2"/>
    <bpmn:task id="lost"/>
  </bpmn:subProcess>
"""
    )
    assert [p.element_id for p in errors_of(xml) if p.code == "unreachable"] == [
        "island",
        "lost",
    ]


def test_reachable_by_definition() -> None:
    xml = model(
        f"""
  <bpmn:startEvent id="start"/>
  <bpmn:task id="work"/>
  <bpmn:intermediateThrowEvent id="jump"><bpmn:linkEventDefinition name="L"/>
  </bpmn:intermediateThrowEvent>
  <bpmn:intermediateCatchEvent id="land"><bpmn:linkEventDefinition name="L"/>
  </bpmn:intermediateCatchEvent>
  <bpmn:endEvent id="end"/>
  <bpmn:boundaryEvent id="comp" attachedToRef="work"><bpmn:compensateEventDefinition/>
  </bpmn:boundaryEvent>
  <bpmn:task id="undo" isForCompensation="true"/>
  <bpmn:association id="as" sourceRef="comp" targetRef="undo"/>
  <bpmn:subProcess id="events" triggeredByEvent="true">
    <bpmn:startEvent id="es"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1M</bpmn:timeDuration>
    </bpmn:timerEventDefinition></bpmn:startEvent>
    <bpmn:task id="handle"/>
  </bpmn:subProcess>
  <bpmn:adHocSubProcess id="tools">
    <bpmn:serviceTask id="toolA">{job("a")}</bpmn:serviceTask>
    <bpmn:serviceTask id="toolB">{job("b")}</bpmn:serviceTask>
    <bpmn:sequenceFlow id="ab" sourceRef="toolA" targetRef="toolB"/>
  </bpmn:adHocSubProcess>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
  <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="tools"/>
  <bpmn:sequenceFlow id="f3" sourceRef="tools" targetRef="jump"/>
  <bpmn:sequenceFlow id="f4" sourceRef="land" targetRef="end"/>
"""
    )
    assert problems_of(xml) == []


def test_link_catch_without_reachable_throw_is_unreachable() -> None:
    xml = model(
        START_TO_END
        + '<bpmn:intermediateCatchEvent id="land"><bpmn:linkEventDefinition name="L"/>'
        + "</bpmn:intermediateCatchEvent>"
    )
    assert only(errors_of(xml), "unreachable").element_id == "land"


def test_executable_process_without_start_event() -> None:
    xml = model('<bpmn:task id="t"/>')
    problem = only(errors_of(xml), "no-start-event")
    assert problem.element_id == "p"
    assert problem.line == line_of(xml, 'id="p"')
    assert not [p for p in errors_of(xml) if p.code == "unreachable"]


def test_sub_process_start_events() -> None:
    xml = model(
        START_TO_END
        + """
  <bpmn:subProcess id="noneMissing">
    <bpmn:startEvent id="msgStart"><bpmn:messageEventDefinition/></bpmn:startEvent>
  </bpmn:subProcess>
  <bpmn:subProcess id="twoStarts" triggeredByEvent="true">
    <bpmn:startEvent id="e1"><bpmn:signalEventDefinition signalRef="sig"/></bpmn:startEvent>
    <bpmn:startEvent id="e2"><bpmn:signalEventDefinition signalRef="sig"/></bpmn:startEvent>
  </bpmn:subProcess>
""",
        roots='<bpmn:signal id="sig" name="s"/><bpmn:message id="m" name="m"/>',
    )
    problems = [p for p in errors_of(xml) if p.code == "no-start-event"]
    assert [p.element_id for p in problems] == ["noneMissing", "twoStarts"]
    assert problems[0].line == line_of(xml, 'id="noneMissing"')
    assert "none start event" in problems[0].message
    assert "2 start events" in problems[1].message


# ------------------------------------------------------------------------------------------
# Expressions
# ------------------------------------------------------------------------------------------


def test_juel_expression_that_does_not_parse() -> None:
    xml = model(
        """
  <bpmn:startEvent id="start"/>
  <bpmn:userTask id="u" camunda:assignee="${user.}"/>
  <bpmn:sequenceFlow id="f" sourceRef="start" targetRef="u"/>
"""
    )
    problem = only(errors_of(xml), "invalid-expression")
    assert problem.element_id == "u"
    assert problem.line == line_of(xml, 'id="u"')
    assert "'${user.}'" in problem.message and "assignee" in problem.message


@pytest.mark.skipif(not HAS_FEEL, reason="FEEL compiler not available yet")
def test_feel_condition_that_does_not_parse() -> None:
    xml = split("exclusiveGateway", default="toB").replace("=x<", "=x &gt;<")
    problem = only(errors_of(xml), "invalid-expression")
    assert problem.element_id == "toA"
    assert "'=x >'" in problem.message


def test_plain_text_condition_is_not_an_expression() -> None:
    xml = split("exclusiveGateway", default="toB").replace("=x<", "x &gt; 1<")
    problem = only(errors_of(xml), "invalid-expression")
    assert problem.element_id == "toA"
    assert "'=x > 1'" in problem.message and "'${x > 1}'" in problem.message


def test_script_language_condition() -> None:
    xml = split("exclusiveGateway", default="toB").replace(
        "<bpmn:conditionExpression>=x<", '<bpmn:conditionExpression language="groovy">x == 1<'
    )
    problem = only(errors_of(xml), "unsupported-script")
    assert problem.element_id == "toA"
    assert "groovy" in problem.message


# ------------------------------------------------------------------------------------------
# What Midflight does not execute
# ------------------------------------------------------------------------------------------


def chain(*nodes: str) -> str:
    """start -> each node (by id, in order) -> end."""
    ids = ["start", *nodes, "end"]
    flows = "".join(
        f'<bpmn:sequenceFlow id="c{i}" sourceRef="{a}" targetRef="{b}"/>'
        for i, (a, b) in enumerate(itertools.pairwise(ids))
    )
    return f'<bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>{flows}'


def test_unsupported_elements() -> None:
    xml = model(
        chain("chor", "complex")
        + '\n<bpmn:choreographyTask id="chor"/>\n<bpmn:complexGateway id="complex"/>\n'
    )
    problems = [p for p in errors_of(xml) if p.code == "unsupported-element"]
    assert [(p.element_id, p.line) for p in problems] == [
        ("chor", line_of(xml, 'id="chor"')),
        ("complex", line_of(xml, 'id="complex"')),
    ]
    assert "choreography task 'chor'" in problems[0].message


def test_script_format_not_executed() -> None:
    xml = model(
        chain("s")
        + '\n<bpmn:scriptTask id="s" scriptFormat="groovy"><bpmn:script>1</bpmn:script>'
        + "</bpmn:scriptTask>"
    )
    problem = only(errors_of(xml), "unsupported-element")
    assert problem.element_id == "s"
    assert "script format 'groovy' is not executed by Midflight" in problem.message
    assert "FEEL expression (zeebe:script) or a job worker" in problem.message


def test_juel_script_is_checked_and_accepted() -> None:
    xml = model(
        chain("s")
        + '<bpmn:scriptTask id="s" scriptFormat="juel"><bpmn:script>${a + 1}</bpmn:script>'
        + "</bpmn:scriptTask>"
    )
    assert problems_of(xml) == []


def test_business_rule_task_needs_a_job() -> None:
    xml = model(
        chain("dmn", "worker")
        + '<bpmn:businessRuleTask id="dmn" camunda:decisionRef="d"/>'
        + f'<bpmn:businessRuleTask id="worker" camunda:decisionRef="d">{job()}'
        + "</bpmn:businessRuleTask>"
    )
    problem = only(errors_of(xml), "unsupported-element")
    assert problem.element_id == "dmn"
    assert "DMN" in problem.message


def test_camunda_script_listener_and_parameter() -> None:
    xml = model(
        chain("t")
        + """
<bpmn:task id="t">
  <bpmn:extensionElements>
    <camunda:executionListener event="start">
      <camunda:script scriptFormat="javascript">x</camunda:script>
    </camunda:executionListener>
    <camunda:inputOutput>
      <camunda:inputParameter name="calc">
        <camunda:script scriptFormat="groovy">1 + 1</camunda:script>
      </camunda:inputParameter>
    </camunda:inputOutput>
  </bpmn:extensionElements>
</bpmn:task>"""
    )
    problems = [p for p in errors_of(xml) if p.code == "unsupported-script"]
    assert len(problems) == 2
    by_message = {("listener" in p.message): p for p in problems}
    assert by_message[True].element_id == "t"
    assert by_message[False].element_id == "t"
    assert "'calc'" in by_message[False].message
    assert by_message[False].line == line_of(xml, 'name="calc"')


def test_service_and_send_tasks_need_a_job() -> None:
    xml = model(
        chain("svc", "send", "ok")
        + '<bpmn:serviceTask id="svc"/><bpmn:sendTask id="send"/>'
        + '<bpmn:serviceTask id="ok" camunda:type="external" camunda:topic="t"/>'
    )
    problems = [p for p in errors_of(xml) if p.code == "job"]
    assert [p.element_id for p in problems] == ["svc", "send"]
    assert "zeebe:taskDefinition" in problems[0].message


def test_empty_job_type() -> None:
    xml = model(chain("svc") + f'<bpmn:serviceTask id="svc">{job("")}</bpmn:serviceTask>')
    assert "empty job type" in only(errors_of(xml), "job").message


def test_call_activity_needs_a_process() -> None:
    xml = model(chain("call") + '<bpmn:callActivity id="call"/>')
    assert only(errors_of(xml), "call-activity").element_id == "call"


def test_multi_instance_needs_input() -> None:
    xml = model(
        chain("mi")
        + '<bpmn:task id="mi"><bpmn:multiInstanceLoopCharacteristics isSequential="true"/>'
        + "</bpmn:task>"
    )
    problem = only(errors_of(xml), "multi-instance")
    assert problem.element_id == "mi"
    assert problem.line == line_of(xml, 'id="mi"')


def _ad_hoc(attributes: str) -> str:
    return model(
        chain("tools")
        + '<bpmn:adHocSubProcess id="tools"><bpmn:extensionElements>'
        + f"<zeebe:adHoc {attributes}/></bpmn:extensionElements>"
        + '<bpmn:userTask id="ask"/></bpmn:adHocSubProcess>'
    )


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        (
            'outputCollection="results"',
            "has the output collection 'results' but no output element: set outputElement",
        ),
        ('outputElement="=result"', "has an output element but no output collection"),
    ],
)
def test_ad_hoc_output_collection_and_element_come_together(attributes: str, message: str) -> None:
    xml = _ad_hoc(attributes)
    problem = only(errors_of(xml), "ad-hoc-output")
    assert problem.element_id == "tools" and message in problem.message
    assert problem.message.startswith("ad hoc sub process 'tools' has")


def test_ad_hoc_output_element_must_be_an_expression() -> None:
    xml = _ad_hoc('outputCollection="results" outputElement="result"')
    problem = only(errors_of(xml), "invalid-expression")
    assert "the output element of ad hoc sub process 'tools' is the plain text 'result'" in (
        problem.message
    )
    assert errors_of(_ad_hoc('outputCollection="results" outputElement="=result"')) == []


# ------------------------------------------------------------------------------------------
# Events and references
# ------------------------------------------------------------------------------------------


def test_timer_without_time() -> None:
    xml = model(
        chain("wait")
        + '<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition/>'
        + "</bpmn:intermediateCatchEvent>"
    )
    problem = only(errors_of(xml), "timer")
    assert problem.element_id == "wait"
    assert "timeDuration" in problem.message


def test_message_references() -> None:
    xml = model(
        chain("unknown", "noRef", "recv", "ok")
        + """
<bpmn:intermediateCatchEvent id="unknown"><bpmn:messageEventDefinition messageRef="nope"/>
</bpmn:intermediateCatchEvent>
<bpmn:intermediateCatchEvent id="noRef"><bpmn:messageEventDefinition/>
</bpmn:intermediateCatchEvent>
<bpmn:receiveTask id="recv" messageRef="unnamed"/>
<bpmn:receiveTask id="ok" messageRef="m"/>
""",
        roots='<bpmn:message id="m" name="go"/><bpmn:message id="unnamed"/>',
    )
    problems = [p for p in errors_of(xml) if p.code == "message"]
    assert [p.element_id for p in problems] == ["unknown", "noRef", "recv"]
    assert "unknown message 'nope'" in problems[0].message
    assert "messageRef" in problems[1].message
    assert "has no name" in problems[2].message


def test_error_escalation_signal_references() -> None:
    xml = model(
        chain("sig", "esc", "err")
        + """
<bpmn:intermediateThrowEvent id="sig"><bpmn:signalEventDefinition/></bpmn:intermediateThrowEvent>
<bpmn:intermediateThrowEvent id="esc"><bpmn:escalationEventDefinition escalationRef="x"/>
</bpmn:intermediateThrowEvent>
<bpmn:task id="err"/>
<bpmn:boundaryEvent id="catchAll" attachedToRef="err"><bpmn:errorEventDefinition/>
  </bpmn:boundaryEvent>
<bpmn:boundaryEvent id="catchBad" attachedToRef="err"><bpmn:errorEventDefinition errorRef="bad"/>
</bpmn:boundaryEvent>
""",
    )
    problems = {
        p.element_id: p for p in errors_of(xml) if p.code in ("signal", "escalation", "error")
    }
    assert set(problems) == {"sig", "esc", "catchBad"}
    assert "signalRef" in problems["sig"].message
    assert "unknown escalation 'x'" in problems["esc"].message
    assert "unknown error 'bad'" in problems["catchBad"].message


def test_link_throw_without_catch() -> None:
    xml = model(
        chain("jump")
        + '<bpmn:intermediateThrowEvent id="jump"><bpmn:linkEventDefinition name="nowhere"/>'
        + "</bpmn:intermediateThrowEvent>"
    )
    problem = only(errors_of(xml), "link")
    assert problem.element_id == "jump"
    assert "nowhere" in problem.message


# ------------------------------------------------------------------------------------------
# Duplicate ids, descriptive processes, refusal
# ------------------------------------------------------------------------------------------


def test_duplicate_ids_name_both_lines() -> None:
    xml = model(START_TO_END + '\n<bpmn:task id="start"/>\n')
    problem = only(errors_of(xml), "duplicate-id")
    first, second = line_of(xml, 'id="start"'), line_of(xml, '<bpmn:task id="start"')
    assert problem.element_id == "start"
    assert problem.line == second
    assert f"line {first}" in problem.message and f"line {second}" in problem.message


def test_duplicate_ids_bind_descriptive_processes_too() -> None:
    xml = model(START_TO_END + '<bpmn:task id="t"/><bpmn:task id="t"/>', executable=False)
    assert only(problems_of(xml), "duplicate-id").element_id == "t"


FAULTY = (
    '<bpmn:sequenceFlow id="f3" sourceRef="s" targetRef="task9"/>'
    '<bpmn:serviceTask id="s"/>'
    '<bpmn:complexGateway id="cg"/>'
    '<bpmn:exclusiveGateway id="gw"/>'
    '<bpmn:task id="a"/><bpmn:task id="b"/>'
    '<bpmn:sequenceFlow id="x" sourceRef="gw" targetRef="a"/>'
    '<bpmn:sequenceFlow id="y" sourceRef="gw" targetRef="b"/>'
    '<bpmn:scriptTask id="sc" scriptFormat="groovy"/>'
    '<bpmn:intermediateCatchEvent id="t"><bpmn:timerEventDefinition/></bpmn:intermediateCatchEvent>'
)


def test_descriptive_process_with_faults_is_accepted() -> None:
    xml = model(FAULTY, executable=False)
    assert problems_of(xml) == []
    definitions = parse_bpmn(xml)
    assert definitions.process().elements["cg"].type == "complexGateway"


def test_all_problems_are_reported_at_once() -> None:
    xml = model(FAULTY)
    with pytest.raises(ModelValidationError) as raised:
        parse_bpmn(xml)
    codes = {p.code for p in raised.value.problems}
    assert {
        "flow",
        "job",
        "unsupported-element",
        "missing-condition",
        "timer",
        "no-start-event",
    } <= codes
    assert "f3" in str(raised.value) and "task9" in str(raised.value)


def test_cross_kind_duplicates_in_built_definitions() -> None:
    from midflight.model.elements import Definitions, Message, Process

    definitions = Definitions(
        id="d",
        processes=(Process(id="same", is_executable=False),),
        messages={"same": Message(id="same", name="m")},
    )
    problem = only(validate_definitions(definitions), "duplicate-id")
    assert "message" in problem.message and "process" in problem.message
