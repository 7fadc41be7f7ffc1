"""parse_bpmn reads Camunda 7, Camunda 8 and plain BPMN into the neutral graph."""

from __future__ import annotations

from pathlib import Path

import pytest

from midflight.expr.feel import evaluate_feel
from midflight.model.elements import (
    AdHoc,
    Bounds,
    Definitions,
    ElementType,
    EventDefinitionType,
    Expression,
    ExpressionLanguage,
    IoMapping,
    MultiInstance,
    Point,
    StandardLoop,
    TimerKind,
)
from midflight.model.parser import parse_bpmn

FEEL = ExpressionLanguage.FEEL
JUEL = ExpressionLanguage.JUEL
STATIC = ExpressionLanguage.STATIC

NAMESPACES = (
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
    'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
    'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
)
ZEEBE = 'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"'
CAMUNDA = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'


def definitions_xml(body: str, *extra_namespaces: str) -> str:
    namespaces = " ".join((NAMESPACES, *extra_namespaces))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<bpmn:definitions {namespaces} id="defs" targetNamespace="http://example.com/bpmn" '
        'exporter="Camunda Modeler" exporterVersion="5.0.0">\n'
        f"{body}\n</bpmn:definitions>\n"
    )


def line_of(xml: str, needle: str) -> int:
    index = xml.index(needle)
    return xml.count("\n", 0, index) + 1


# ------------------------------------------------------------------------------------------
# Camunda 8
# ------------------------------------------------------------------------------------------

CAMUNDA8 = definitions_xml(
    """
  <bpmn:message id="msg" name="order-paid">
    <bpmn:extensionElements><zeebe:subscription correlationKey="=orderId"/></bpmn:extensionElements>
  </bpmn:message>
  <bpmn:error id="err" name="Failed" errorCode="PAY_FAILED"/>
  <bpmn:escalation id="esc" name="Late" escalationCode="LATE"/>
  <bpmn:signal id="sig" name="stop"/>
  <bpmn:process id="order" name="Order" isExecutable="true">
    <bpmn:extensionElements>
      <zeebe:versionTag value="v7"/>
      <zeebe:properties><zeebe:property name="team" value="billing"/></zeebe:properties>
      <zeebe:executionListeners>
        <zeebe:executionListener eventType="start" type="audit" retries="2"/>
      </zeebe:executionListeners>
    </bpmn:extensionElements>
    <bpmn:documentation>Handles orders.</bpmn:documentation>
    <bpmn:startEvent id="start" name="Order placed"/>
    <bpmn:serviceTask id="charge" name="Charge">
      <bpmn:documentation>Charge the card.</bpmn:documentation>
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="charge-card" retries="=retryCount"/>
        <zeebe:taskHeaders><zeebe:header key="currency" value="EUR"/></zeebe:taskHeaders>
        <zeebe:ioMapping>
          <zeebe:input source="=order.total * 100" target="cents"/>
          <zeebe:input source="customer.id" target="customerId"/>
          <zeebe:output source="=result" target="paymentId"/>
        </zeebe:ioMapping>
        <zeebe:executionListeners>
          <zeebe:executionListener eventType="end" type="=listenerType"/>
        </zeebe:executionListeners>
        <zeebe:properties><zeebe:property name="icon" value="card"/></zeebe:properties>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:boundaryEvent id="timeout" attachedToRef="charge" cancelActivity="false">
      <bpmn:timerEventDefinition id="timeoutDef">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT5M</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:boundaryEvent id="failed" attachedToRef="charge">
      <bpmn:errorEventDefinition errorRef="err"/>
    </bpmn:boundaryEvent>
    <bpmn:exclusiveGateway id="split" default="toReview"/>
    <bpmn:userTask id="review" name="Review">
      <bpmn:extensionElements>
        <zeebe:userTask/>
        <zeebe:assignmentDefinition assignee="=owner" candidateGroups="sales, ops"/>
        <zeebe:taskSchedule dueDate="=now() + duration(&quot;P1D&quot;)"
          followUpDate="2030-01-01T00:00:00Z"/>
        <zeebe:formDefinition formId="review-form"/>
        <zeebe:priorityDefinition priority="80"/>
        <zeebe:taskListeners>
          <zeebe:taskListener eventType="completing" type="check-review"/>
        </zeebe:taskListeners>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:scriptTask id="sum" name="Sum">
      <bpmn:extensionElements>
        <zeebe:script expression="=a + b" resultVariable="total"/>
      </bpmn:extensionElements>
    </bpmn:scriptTask>
    <bpmn:businessRuleTask id="decide">
      <bpmn:extensionElements>
        <zeebe:calledDecision decisionId="risk" resultVariable="risk" bindingType="versionTag"
          versionTag="r1"/>
        <zeebe:taskDefinition type="dmn-worker"/>
      </bpmn:extensionElements>
    </bpmn:businessRuleTask>
    <bpmn:callActivity id="ship">
      <bpmn:extensionElements>
        <zeebe:calledElement processId="=shippingProcess" propagateAllChildVariables="false"
          bindingType="deployment"/>
      </bpmn:extensionElements>
      <bpmn:multiInstanceLoopCharacteristics isSequential="true">
        <bpmn:extensionElements>
          <zeebe:loopCharacteristics inputCollection="=items" inputElement="item"
            outputCollection="results" outputElement="=result"/>
        </bpmn:extensionElements>
        <bpmn:completionCondition xsi:type="bpmn:tFormalExpression">=done</bpmn:completionCondition>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:callActivity>
    <bpmn:adHocSubProcess id="agent" cancelRemainingInstances="false">
      <bpmn:extensionElements>
        <zeebe:adHoc activeElementsCollection="=toolCalls" outputCollection="toolResults"
          outputElement="=toolResult"/>
      </bpmn:extensionElements>
      <bpmn:serviceTask id="tool">
        <bpmn:extensionElements><zeebe:taskDefinition type="tool"/></bpmn:extensionElements>
      </bpmn:serviceTask>
      <bpmn:completionCondition
        xsi:type="bpmn:tFormalExpression">=finished</bpmn:completionCondition>
    </bpmn:adHocSubProcess>
    <bpmn:receiveTask id="wait" messageRef="msg"/>
    <bpmn:endEvent id="end">
      <bpmn:escalationEventDefinition escalationRef="esc"/>
    </bpmn:endEvent>
    <bpmn:subProcess id="onCancel" triggeredByEvent="true">
      <bpmn:startEvent id="cancelStart" isInterrupting="false">
        <bpmn:signalEventDefinition signalRef="sig"/>
      </bpmn:startEvent>
      <bpmn:endEvent id="cancelEnd"/>
      <bpmn:sequenceFlow id="cf" sourceRef="cancelStart" targetRef="cancelEnd"/>
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="charge"/>
    <bpmn:sequenceFlow id="f2" sourceRef="charge" targetRef="split"/>
    <bpmn:sequenceFlow id="toReview" sourceRef="split" targetRef="review"/>
    <bpmn:sequenceFlow id="toSum" name="big" sourceRef="split" targetRef="sum">
      <bpmn:conditionExpression
        xsi:type="bpmn:tFormalExpression">=amount &gt; 100</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
  </bpmn:process>
""",
    ZEEBE,
)


@pytest.fixture(scope="module")
def c8() -> Definitions:
    return parse_bpmn(CAMUNDA8, validate=False)


def test_camunda8_dialect_and_root_elements(c8: Definitions) -> None:
    assert c8.dialect == "camunda8"
    assert c8.id == "defs"
    assert c8.target_namespace == "http://example.com/bpmn"
    assert c8.exporter == "Camunda Modeler"
    assert c8.exporter_version == "5.0.0"
    assert c8.messages["msg"].name == "order-paid"
    assert c8.messages["msg"].correlation_key == Expression("orderId", FEEL)
    assert c8.errors["err"].error_code == "PAY_FAILED"
    assert c8.escalations["esc"].escalation_code == "LATE"
    assert c8.signals["sig"].name == "stop"


def test_camunda8_process_attributes(c8: Definitions) -> None:
    process = c8.process("order")
    assert process.name == "Order"
    assert process.is_executable
    assert process.version_tag == "v7"
    assert process.properties == (("team", "billing"),)
    assert process.documentation == "Handles orders."
    assert [(x.event, x.job_type.text, x.retries) for x in process.listeners] == [
        ("start", "audit", Expression("2", STATIC))
    ]
    assert process.line == line_of(CAMUNDA8, 'id="order"')


def test_camunda8_service_task(c8: Definitions) -> None:
    task = c8.process().elements["charge"]
    assert task.type is ElementType.SERVICE_TASK
    assert task.name == "Charge"
    assert task.documentation == "Charge the card."
    assert task.line == line_of(CAMUNDA8, 'id="charge"')
    assert task.job is not None
    assert task.job.type == Expression("charge-card", STATIC)
    assert task.job.retries == Expression("retryCount", FEEL)
    assert task.job.implementation == "job"
    assert task.job.headers == (("currency", "EUR"),)
    assert task.input_mappings == (
        IoMapping("cents", Expression("order.total * 100", FEEL)),
        # Zeebe reads a source without the leading "=" as a string literal, not as FEEL
        IoMapping("customerId", Expression("customer.id", STATIC)),
    )
    assert task.output_mappings == (IoMapping("paymentId", Expression("result", FEEL)),)
    assert [(x.kind, x.event, x.job_type) for x in task.listeners] == [
        ("execution", "end", Expression("listenerType", FEEL))
    ]
    assert task.properties == (("icon", "card"),)
    assert task.incoming == ("f1",)
    assert task.outgoing == ("f2",)


def test_camunda8_boundary_events(c8: Definitions) -> None:
    process = c8.process()
    timeout = process.elements["timeout"]
    assert timeout.type is ElementType.BOUNDARY_EVENT
    assert timeout.attached_to == "charge"
    assert timeout.cancel_activity is False
    definition = timeout.event_definition
    assert definition is not None and definition.type is EventDefinitionType.TIMER
    assert definition.id == "timeoutDef"
    assert definition.timer is not None
    assert definition.timer.kind is TimerKind.DURATION
    assert definition.timer.expression == Expression("PT5M", STATIC)
    failed = process.elements["failed"]
    assert failed.cancel_activity is True
    assert failed.event_definitions[0].type is EventDefinitionType.ERROR
    assert failed.event_definitions[0].ref == "err"
    assert [b.id for b in process.boundary_events("charge")] == ["timeout", "failed"]


def test_camunda8_gateway_default_and_condition(c8: Definitions) -> None:
    process = c8.process()
    assert process.elements["split"].default_flow == "toReview"
    assert process.elements["split"].outgoing == ("toReview", "toSum")
    flow = process.flows["toSum"]
    assert flow.name == "big"
    assert flow.source_id == "split" and flow.target_id == "sum"
    assert flow.condition == Expression("amount > 100", FEEL)
    assert flow.line == line_of(CAMUNDA8, 'id="toSum"')
    assert process.flows["toReview"].condition is None


def test_camunda8_user_task(c8: Definitions) -> None:
    task = c8.process().elements["review"].user_task
    assert task is not None
    assert task.camunda_user_task is True
    assert task.assignee == Expression("owner", FEEL)
    assert task.candidate_groups == Expression("sales, ops", STATIC)
    assert task.due_date == Expression('now() + duration("P1D")', FEEL)
    assert task.follow_up_date == Expression("2030-01-01T00:00:00Z", STATIC)
    assert task.form_id == "review-form"
    assert task.priority == Expression("80", STATIC)
    listeners = c8.process().elements["review"].listeners
    assert [(x.kind, x.event, x.job_type.text) for x in listeners] == [
        ("task", "completing", "check-review")
    ]


def test_camunda8_script_and_business_rule(c8: Definitions) -> None:
    process = c8.process()
    script = process.elements["sum"].script
    assert script is not None
    assert (script.format, script.body, script.result_variable) == ("feel", "a + b", "total")
    decide = process.elements["decide"]
    assert decide.called_decision is not None
    assert decide.called_decision.decision_id == Expression("risk", STATIC)
    assert decide.called_decision.result_variable == "risk"
    assert decide.called_decision.binding == "versionTag"
    assert decide.called_decision.version_tag == "r1"
    assert decide.job is not None and decide.job.type.text == "dmn-worker"


def test_camunda8_call_activity_with_multi_instance(c8: Definitions) -> None:
    ship = c8.process().elements["ship"]
    called = ship.called_element
    assert called is not None
    assert called.process_id == Expression("shippingProcess", FEEL)
    assert called.binding == "deployment"
    assert called.propagate_all_child_variables is False
    assert called.propagate_all_parent_variables is True
    assert ship.loop == MultiInstance(
        is_sequential=True,
        input_collection=Expression("items", FEEL),
        input_element="item",
        output_collection="results",
        output_element=Expression("result", FEEL),
        completion_condition=Expression("done", FEEL),
    )
    assert ship.is_multi_instance


def test_camunda8_ad_hoc_sub_process(c8: Definitions) -> None:
    process = c8.process()
    agent = process.elements["agent"]
    assert agent.type is ElementType.AD_HOC_SUB_PROCESS
    assert agent.ad_hoc == AdHoc(
        active_elements_collection=Expression("toolCalls", FEEL),
        completion_condition=Expression("finished", FEEL),
        cancel_remaining_instances=False,
        output_collection="toolResults",
        output_element=Expression("toolResult", FEEL),
    )
    assert process.elements["tool"].parent_id == "agent"


def test_camunda8_event_sub_process_and_refs(c8: Definitions) -> None:
    process = c8.process()
    assert process.elements["onCancel"].type is ElementType.EVENT_SUB_PROCESS
    start = process.elements["cancelStart"]
    assert start.parent_id == "onCancel"
    assert start.is_interrupting is False
    assert start.event_definitions[0].ref == "sig"
    assert process.flows["cf"].parent_id == "onCancel"
    assert process.flows["f1"].parent_id is None
    assert process.elements["wait"].message_ref == "msg"
    assert process.elements["end"].event_definitions[0].ref == "esc"


# ------------------------------------------------------------------------------------------
# Camunda 7
# ------------------------------------------------------------------------------------------

CAMUNDA7 = definitions_xml(
    """
  <bpmn:message id="m1" name="go"/>
  <bpmn:error id="e1" errorCode="E1"/>
  <bpmn:process id="c7" isExecutable="true" camunda:versionTag="1.2"
    camunda:historyTimeToLive="P30D">
    <bpmn:extensionElements>
      <camunda:executionListener event="end" delegateExpression="${auditListener}"/>
    </bpmn:extensionElements>
    <bpmn:startEvent id="start" camunda:asyncBefore="true"/>
    <bpmn:serviceTask id="external" camunda:type="external" camunda:topic="invoice"
      camunda:asyncAfter="true" camunda:exclusive="false">
      <bpmn:extensionElements>
        <camunda:failedJobRetryTimeCycle>R3/PT1M</camunda:failedJobRetryTimeCycle>
        <camunda:inputOutput>
          <camunda:inputParameter name="amount">${order.amount}</camunda:inputParameter>
          <camunda:inputParameter name="label">fixed text</camunda:inputParameter>
          <camunda:inputParameter name="empty"/>
          <camunda:inputParameter name="names">
            <camunda:list><camunda:value>a</camunda:value><camunda:value>${b}</camunda:value>
              </camunda:list>
          </camunda:inputParameter>
          <camunda:inputParameter name="headers">
            <camunda:map><camunda:entry key="k">v</camunda:entry><camunda:entry key="nested">
              <camunda:list><camunda:value>x</camunda:value></camunda:list></camunda:entry>
              </camunda:map>
          </camunda:inputParameter>
          <camunda:outputParameter name="result">${response}</camunda:outputParameter>
        </camunda:inputOutput>
        <camunda:properties><camunda:property name="p" value="1"/></camunda:properties>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:serviceTask id="byClass" camunda:class="com.example.Charge" camunda:async="true"/>
    <bpmn:serviceTask id="byDelegate" camunda:delegateExpression="${chargeDelegate}"/>
    <bpmn:serviceTask id="byExpression" camunda:expression="${bean.run(execution)}"/>
    <bpmn:serviceTask id="byConnector">
      <bpmn:extensionElements>
        <camunda:connector><camunda:connectorId>http-connector</camunda:connectorId>
          </camunda:connector>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:userTask id="approve" camunda:assignee="${initiator}" camunda:candidateUsers="kermit"
      camunda:candidateGroups="management" camunda:dueDate="${due}"
      camunda:followUpDate="2030-02-01" camunda:priority="10"
      camunda:formKey="embedded:app:forms/approve.html">
      <bpmn:extensionElements>
        <camunda:taskListener event="create" class="com.example.OnCreate"/>
        <camunda:taskListener event="complete">
          <camunda:script scriptFormat="groovy">println 'done'</camunda:script>
        </camunda:taskListener>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:scriptTask id="groovy" scriptFormat="Groovy" camunda:resultVariable="out">
      <bpmn:script>return 1 + 1</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:businessRuleTask id="rules" camunda:decisionRef="approval"
      camunda:decisionRefBinding="version" camunda:decisionRefVersion="3"
      camunda:resultVariable="decision" camunda:mapDecisionResult="singleEntry"/>
    <bpmn:callActivity id="child" calledElement="childProcess"
      camunda:calledElementBinding="versionTag" camunda:calledElementVersionTag="v2">
      <bpmn:extensionElements>
        <camunda:in businessKey="#{execution.processBusinessKey}"/>
        <camunda:in source="a" target="b"/>
        <camunda:in sourceExpression="${x + 1}" target="y"/>
        <camunda:out variables="all"/>
      </bpmn:extensionElements>
      <bpmn:multiInstanceLoopCharacteristics camunda:collection="reviewers"
        camunda:elementVariable="reviewer" camunda:asyncBefore="true">
        <bpmn:loopCardinality>5</bpmn:loopCardinality>
        <bpmn:completionCondition>${nrOfCompletedInstances &gt;= 2}</bpmn:completionCondition>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:callActivity>
    <bpmn:task id="retry">
      <bpmn:standardLoopCharacteristics testBefore="true" loopMaximum="4">
        <bpmn:loopCondition>${again}</bpmn:loopCondition>
      </bpmn:standardLoopCharacteristics>
    </bpmn:task>
    <bpmn:intermediateCatchEvent id="waitCondition">
      <bpmn:conditionalEventDefinition camunda:variableName="temperature"
        camunda:variableEvents="create, update">
        <bpmn:condition xsi:type="bpmn:tFormalExpression">${temperature &gt; 30}</bpmn:condition>
      </bpmn:conditionalEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:boundaryEvent id="onError" attachedToRef="child">
      <bpmn:errorEventDefinition errorRef="e1" camunda:errorCodeVariable="code"
        camunda:errorMessageVariable="why"/>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="notify">
      <bpmn:messageEventDefinition messageRef="m1" camunda:type="external" camunda:topic="notify"/>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="external">
      <bpmn:extensionElements>
        <camunda:executionListener event="take" expression="${flowTaken}"/>
      </bpmn:extensionElements>
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${ok}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
  </bpmn:process>
""",
    CAMUNDA,
)


@pytest.fixture(scope="module")
def c7() -> Definitions:
    return parse_bpmn(CAMUNDA7, validate=False)


def test_camunda7_dialect_and_process(c7: Definitions) -> None:
    assert c7.dialect == "camunda7"
    process = c7.process()
    assert process.version_tag == "1.2"
    assert process.history_time_to_live == "P30D"
    assert [(x.event, x.implementation, x.job_type) for x in process.listeners] == [
        ("end", "delegateExpression", Expression("${auditListener}", STATIC))
    ]


def test_camunda7_async_flags(c7: Definitions) -> None:
    elements = c7.process().elements
    assert elements["start"].async_before is True
    external = elements["external"]
    assert (external.async_before, external.async_after, external.exclusive) == (
        False,
        True,
        False,
    )
    assert elements["byClass"].async_before is True  # legacy camunda:async
    assert elements["byClass"].exclusive is True


def test_camunda7_job_implementations(c7: Definitions) -> None:
    elements = c7.process().elements
    jobs = {
        key: (elements[key].job.implementation, elements[key].job.type)  # type: ignore[union-attr]
        for key in ("external", "byClass", "byDelegate", "byExpression", "byConnector", "notify")
    }
    assert jobs == {
        "external": ("external", Expression("invoice", STATIC)),
        "byClass": ("class", Expression("com.example.Charge", STATIC)),
        "byDelegate": ("delegateExpression", Expression("${chargeDelegate}", STATIC)),
        "byExpression": ("expression", Expression("${bean.run(execution)}", STATIC)),
        "byConnector": ("connector", Expression("http-connector", STATIC)),
        "notify": ("external", Expression("notify", STATIC)),
    }
    assert elements["external"].job is not None
    assert elements["external"].job.retry_time_cycle == "R3/PT1M"


def test_camunda7_input_output(c7: Definitions) -> None:
    task = c7.process().elements["external"]
    inputs = {m.target: m.source for m in task.input_mappings}
    assert inputs["amount"] == Expression("${order.amount}", JUEL)
    assert inputs["label"] == Expression("fixed text", STATIC)
    assert inputs["empty"] is None
    # camunda:list/map become FEEL literals: the variable is a list or a context, and a
    # ${name} item reads that variable.
    names = inputs["names"]
    assert names == Expression('["a", b]', ExpressionLanguage.FEEL)
    assert evaluate_feel(names.text, {"b": "bee"}) == ["a", "bee"]
    headers = inputs["headers"]
    assert headers is not None and headers.language is ExpressionLanguage.FEEL
    assert evaluate_feel(headers.text) == {"k": "v", "nested": ["x"]}
    assert task.output_mappings == (IoMapping("result", Expression("${response}", JUEL)),)
    assert task.properties == (("p", "1"),)


def test_camunda7_user_task(c7: Definitions) -> None:
    node = c7.process().elements["approve"]
    task = node.user_task
    assert task is not None
    assert task.assignee == Expression("${initiator}", JUEL)
    assert task.candidate_users == Expression("kermit", STATIC)
    assert task.candidate_groups == Expression("management", STATIC)
    assert task.due_date == Expression("${due}", JUEL)
    assert task.follow_up_date == Expression("2030-02-01", STATIC)
    assert task.priority == Expression("10", STATIC)
    assert task.form_key == "embedded:app:forms/approve.html"
    assert task.camunda_user_task is False
    assert [(x.kind, x.event, x.implementation) for x in node.listeners] == [
        ("task", "create", "class"),
        ("task", "complete", "script"),
    ]
    assert node.listeners[1].job_type.text == "println 'done'"


def test_camunda7_script_and_decision(c7: Definitions) -> None:
    elements = c7.process().elements
    script = elements["groovy"].script
    assert script is not None
    assert (script.format, script.body, script.result_variable) == ("groovy", "return 1 + 1", "out")
    decision = elements["rules"].called_decision
    assert decision is not None
    assert decision.decision_id == Expression("approval", STATIC)
    assert decision.binding == "version"
    assert decision.version == "3"
    assert decision.result_variable == "decision"
    assert decision.map_decision_result == "singleEntry"
    assert elements["rules"].job is None


def test_camunda7_call_activity(c7: Definitions) -> None:
    child = c7.process().elements["child"]
    called = child.called_element
    assert called is not None
    assert called.process_id == Expression("childProcess", STATIC)
    assert called.binding == "versionTag"
    assert called.version_tag == "v2"
    assert called.business_key == Expression("#{execution.processBusinessKey}", JUEL)
    assert called.inputs == (
        IoMapping("b", Expression("${a}", JUEL)),
        IoMapping("y", Expression("${x + 1}", JUEL)),
    )
    # Camunda 7 passes no variables in unless told to; variables="all" passes all out.
    assert called.propagate_all_parent_variables is False
    assert called.propagate_all_child_variables is True
    assert child.loop == MultiInstance(
        cardinality=Expression("5", STATIC),
        input_collection=Expression("${reviewers}", JUEL),
        input_element="reviewer",
        completion_condition=Expression("${nrOfCompletedInstances >= 2}", JUEL),
        async_before=True,
    )


def test_camunda7_standard_loop_conditional_and_error(c7: Definitions) -> None:
    elements = c7.process().elements
    assert elements["retry"].loop == StandardLoop(
        loop_condition=Expression("${again}", JUEL), test_before=True, loop_maximum=4
    )
    conditional = elements["waitCondition"].event_definition
    assert conditional is not None
    assert conditional.type is EventDefinitionType.CONDITIONAL
    assert conditional.condition == Expression("${temperature > 30}", JUEL)
    assert conditional.variable_name == "temperature"
    assert conditional.variable_events == ("create", "update")
    error = elements["onError"].event_definition
    assert error is not None
    assert (error.ref, error.error_code_variable, error.error_message_variable) == (
        "e1",
        "code",
        "why",
    )
    notify = elements["notify"].event_definition
    assert notify is not None and notify.ref == "m1"


def test_camunda7_flow_listener_and_condition(c7: Definitions) -> None:
    flow = c7.process().flows["f1"]
    assert flow.condition == Expression("${ok}", JUEL)
    assert [(x.event, x.implementation) for x in flow.listeners] == [("take", "expression")]


# ------------------------------------------------------------------------------------------
# Plain BPMN: events, gateways, containers, artifacts, collaboration, diagram
# ------------------------------------------------------------------------------------------

PLAIN = definitions_xml(
    """
  <bpmn:collaboration id="collab">
    <bpmn:participant id="pool" name="Shop" processRef="plain"/>
    <bpmn:participant id="customer" name="Customer"/>
    <bpmn:messageFlow id="mf" sourceRef="customer" targetRef="start" messageRef="m"/>
    <bpmn:textAnnotation id="note"><bpmn:text>Collab note</bpmn:text></bpmn:textAnnotation>
  </bpmn:collaboration>
  <bpmn:message id="m" name="m"/>
  <bpmn:process id="plain" isExecutable="false">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="laneA" name="A">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:childLaneSet id="cls">
          <bpmn:lane id="laneA1" name="A1"><bpmn:flowNodeRef>work</bpmn:flowNodeRef></bpmn:lane>
        </bpmn:childLaneSet>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" parallelMultiple="true"/>
    <bpmn:task id="work"/>
    <bpmn:manualTask id="manual"/>
    <bpmn:sendTask id="send" messageRef="m"/>
    <bpmn:complexGateway id="complex"/>
    <bpmn:parallelGateway id="fork"/>
    <bpmn:inclusiveGateway id="inc" default="d1"/>
    <bpmn:eventBasedGateway id="evgw"/>
    <bpmn:choreographyTask id="chor" name="Dance"/>
    <bpmn:transaction id="tx">
      <bpmn:startEvent id="txStart"/>
      <bpmn:subProcess id="inner">
        <bpmn:startEvent id="innerStart"/>
      </bpmn:subProcess>
      <bpmn:sequenceFlow id="txFlow" sourceRef="txStart" targetRef="inner"/>
      <bpmn:textAnnotation id="txNote"><bpmn:text>inside</bpmn:text></bpmn:textAnnotation>
    </bpmn:transaction>
    <bpmn:boundaryEvent id="cancelled" attachedToRef="tx">
      <bpmn:cancelEventDefinition/>
    </bpmn:boundaryEvent>
    <bpmn:boundaryEvent id="compensate" attachedToRef="work">
      <bpmn:compensateEventDefinition/>
    </bpmn:boundaryEvent>
    <bpmn:task id="undo" isForCompensation="true"/>
    <bpmn:intermediateThrowEvent id="throwCompensation">
      <bpmn:compensateEventDefinition activityRef="work" waitForCompletion="false"/>
    </bpmn:intermediateThrowEvent>
    <bpmn:intermediateThrowEvent id="jump"><bpmn:linkEventDefinition name="L1"/>
      </bpmn:intermediateThrowEvent>
    <bpmn:intermediateCatchEvent id="land"><bpmn:linkEventDefinition name="L1"/>
      </bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="at">
      <bpmn:timerEventDefinition><bpmn:timeDate>2030-01-01T00:00:00Z</bpmn:timeDate>
        </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="every">
      <bpmn:timerEventDefinition><bpmn:timeCycle>R/PT1H</bpmn:timeCycle></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="kill"><bpmn:terminateEventDefinition/></bpmn:endEvent>
    <bpmn:sequenceFlow id="d1" sourceRef="inc" targetRef="kill"/>
    <bpmn:sequenceFlow id="cond" sourceRef="inc" targetRef="work">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression"
        language="feel">x &lt; 3</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:dataObject id="order"/>
    <bpmn:dataObjectReference id="orderRef" name="Order" dataObjectRef="order"/>
    <bpmn:dataStoreReference id="dbRef" dataStoreRef="db"/>
    <bpmn:group id="grp" categoryValueRef="cv"/>
    <bpmn:association id="compAssoc" sourceRef="compensate" targetRef="undo"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="diagram">
    <bpmndi:BPMNPlane id="plane" bpmnElement="collab">
      <bpmndi:BPMNShape id="pool_di" bpmnElement="pool" isHorizontal="true">
        <dc:Bounds x="0" y="0" width="600" height="250"/>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="tx_di" bpmnElement="tx" isExpanded="true">
        <dc:Bounds x="100.5" y="80" width="350" height="200"/>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="start_di" bpmnElement="start">
        <dc:Bounds x="10" y="20" width="36" height="36"/>
        <bpmndi:BPMNLabel><dc:Bounds x="5" y="60" width="50" height="14"/></bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="cond_di" bpmnElement="cond">
        <di:waypoint x="10" y="20"/><di:waypoint x="30.5" y="40"/>
        <bpmndi:BPMNLabel><dc:Bounds x="1" y="2" width="3" height="4"/></bpmndi:BPMNLabel>
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
"""
)


@pytest.fixture(scope="module")
def plain() -> Definitions:
    return parse_bpmn(PLAIN)  # descriptive (isExecutable="false"): validation binds nothing


def test_plain_dialect_and_descriptive_process(plain: Definitions) -> None:
    assert plain.dialect == "bpmn"
    process = plain.process()
    assert process.is_executable is False


def test_every_node_type_is_read(plain: Definitions) -> None:
    types = {n.id: n.type for n in plain.process().walk()}
    assert types["work"] is ElementType.TASK
    assert types["manual"] is ElementType.MANUAL_TASK
    assert types["send"] is ElementType.SEND_TASK
    assert types["complex"] is ElementType.COMPLEX_GATEWAY
    assert types["fork"] is ElementType.PARALLEL_GATEWAY
    assert types["inc"] is ElementType.INCLUSIVE_GATEWAY
    assert types["evgw"] is ElementType.EVENT_BASED_GATEWAY
    assert types["tx"] is ElementType.TRANSACTION
    assert types["inner"] is ElementType.SUB_PROCESS


def test_unknown_flow_node_is_kept_as_unsupported(plain: Definitions) -> None:
    chor = plain.process().elements["chor"]
    assert chor.type is ElementType.UNSUPPORTED
    assert chor.xml_tag == "choreographyTask"
    assert chor.name == "Dance"
    assert chor.line == line_of(PLAIN, 'id="chor"')


def test_nested_parents(plain: Definitions) -> None:
    elements = plain.process().elements
    assert elements["txStart"].parent_id == "tx"
    assert elements["inner"].parent_id == "tx"
    assert elements["innerStart"].parent_id == "inner"
    assert plain.process().flows["txFlow"].parent_id == "tx"
    assert list(elements)[:4] == ["start", "work", "manual", "send"]


def test_events(plain: Definitions) -> None:
    elements = plain.process().elements
    assert elements["start"].parallel_multiple is True
    assert elements["cancelled"].event_definitions[0].type is EventDefinitionType.CANCEL
    compensate = elements["throwCompensation"].event_definitions[0]
    assert compensate.type is EventDefinitionType.COMPENSATE
    assert compensate.activity_ref == "work"
    assert compensate.wait_for_completion is False
    assert elements["jump"].event_definitions[0].link_name == "L1"
    assert elements["land"].event_definitions[0].link_name == "L1"
    at = elements["at"].event_definitions[0].timer
    every = elements["every"].event_definitions[0].timer
    assert at is not None and at.kind is TimerKind.DATE
    assert every is not None and every.kind is TimerKind.CYCLE
    assert every.expression == Expression("R/PT1H", STATIC)
    assert elements["kill"].event_definitions[0].type is EventDefinitionType.TERMINATE
    assert elements["start"].event_definitions == ()


def test_compensation_association(plain: Definitions) -> None:
    elements = plain.process().elements
    assert elements["compensate"].compensation_handler == "undo"
    assert elements["undo"].is_for_compensation is True
    assert elements["cancelled"].compensation_handler is None


def test_feel_language_condition_without_equals(plain: Definitions) -> None:
    assert plain.process().flows["cond"].condition == Expression("x < 3", FEEL)
    assert plain.process().elements["inc"].default_flow == "d1"


def test_lanes(plain: Definitions) -> None:
    (lane,) = plain.process().lanes
    assert (lane.id, lane.name, lane.flow_node_refs) == ("laneA", "A", ("start",))
    (child,) = lane.child_lanes
    assert (child.id, child.flow_node_refs) == ("laneA1", ("work",))


def test_artifacts(plain: Definitions) -> None:
    artifacts = {a.id: a for a in plain.process().artifacts}
    assert artifacts["orderRef"].kind == "dataObjectReference"
    assert artifacts["orderRef"].ref == "order"
    assert artifacts["orderRef"].name == "Order"
    assert artifacts["order"].kind == "dataObject"
    assert artifacts["dbRef"].ref == "db"
    assert artifacts["grp"].ref == "cv"
    assert artifacts["txNote"].text == "inside"
    assert artifacts["txNote"].parent_id == "tx"
    assoc = artifacts["compAssoc"]
    assert (assoc.kind, assoc.source_ref, assoc.target_ref) == ("association", "compensate", "undo")
    assert assoc.line == line_of(PLAIN, 'id="compAssoc"')


def test_collaboration(plain: Definitions) -> None:
    collaboration = plain.collaboration
    assert collaboration is not None
    assert collaboration.id == "collab"
    assert [(p.id, p.process_ref) for p in collaboration.participants] == [
        ("pool", "plain"),
        ("customer", None),
    ]
    (flow,) = collaboration.message_flows
    assert (flow.id, flow.source_ref, flow.target_ref, flow.message_ref) == (
        "mf",
        "customer",
        "start",
        "m",
    )
    assert collaboration.artifacts[0].text == "Collab note"


def test_diagram(plain: Definitions) -> None:
    (diagram,) = plain.diagrams
    assert (diagram.id, diagram.plane_element_id) == ("diagram", "collab")
    shapes = {s.element_id: s for s in diagram.shapes}
    assert shapes["pool"].is_horizontal is True
    assert shapes["pool"].is_expanded is None
    assert shapes["tx"].is_expanded is True
    assert shapes["tx"].bounds == Bounds(100.5, 80, 350, 200)
    assert shapes["start"].label == Bounds(5, 60, 50, 14)
    (edge,) = diagram.edges
    assert edge.element_id == "cond"
    assert edge.waypoints == (Point(10, 20), Point(30.5, 40))
    assert edge.label == Bounds(1, 2, 3, 4)


# ------------------------------------------------------------------------------------------
# Sources and dialect details
# ------------------------------------------------------------------------------------------

MINIMAL = definitions_xml(
    """
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"/>
  </bpmn:process>
"""
)


def test_sources_path_bytes_and_text(tmp_path: Path) -> None:
    path = tmp_path / "minimal.bpmn"
    path.write_text(MINIMAL, encoding="utf-8")
    from_path = parse_bpmn(path)
    from_str_path = parse_bpmn(str(path))
    from_bytes = parse_bpmn(MINIMAL.encode("utf-8"))
    from_text = parse_bpmn(MINIMAL)  # has an encoding declaration: still accepted as str
    from_bom_text = parse_bpmn("\ufeff  \n" + MINIMAL.split("\n", 1)[1])
    from_bom_bytes = parse_bpmn(b"\xef\xbb\xbf" + MINIMAL.encode("utf-8"))
    for result in (from_str_path, from_bytes, from_text, from_bom_text, from_bom_bytes):
        assert result == from_path
    assert from_path.process().elements["s"].outgoing == ("f",)


def test_non_ascii_text_survives() -> None:
    xml = MINIMAL.replace('id="s"/>', 'id="s" name="Bestellung eingegangen – äöü 注文"/>')
    assert parse_bpmn(xml).process().elements["s"].name == "Bestellung eingegangen – äöü 注文"
    latin1 = MINIMAL.replace("UTF-8", "ISO-8859-1").replace('id="s"/>', 'id="s" name="Größe"/>')
    assert parse_bpmn(latin1.encode("latin-1")).process().elements["s"].name == "Größe"


def test_missing_is_executable_means_descriptive() -> None:
    xml = MINIMAL.replace(' isExecutable="true"', "")
    assert parse_bpmn(xml).process().is_executable is False


def test_mixed_dialects_are_both_read() -> None:
    xml = definitions_xml(
        """
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="u" camunda:assignee="demo">
      <bpmn:extensionElements><zeebe:formDefinition formKey="camunda-forms:bpmn:f"/>
        </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="u"/>
  </bpmn:process>
""",
        ZEEBE,
        CAMUNDA,
    )
    definitions = parse_bpmn(xml)
    assert definitions.dialect == "camunda8"
    task = definitions.process().elements["u"].user_task
    assert task is not None
    assert task.assignee == Expression("demo", STATIC)
    assert task.form_key == "camunda-forms:bpmn:f"


def test_declared_but_unused_namespace_decides_dialect() -> None:
    assert parse_bpmn(definitions_xml("", CAMUNDA)).dialect == "camunda7"
    assert parse_bpmn(definitions_xml("", ZEEBE, CAMUNDA)).dialect == "camunda8"


def test_plain_call_activity_propagates_all_variables() -> None:
    xml = definitions_xml(
        '<bpmn:process id="p"><bpmn:callActivity id="c" calledElement="child"/></bpmn:process>'
    )
    called = parse_bpmn(xml).process().elements["c"].called_element
    assert called is not None
    assert called.process_id == Expression("child", STATIC)
    assert called.propagate_all_parent_variables and called.propagate_all_child_variables


def test_comments_and_foreign_elements_are_ignored() -> None:
    xml = MINIMAL.replace(
        '<bpmn:endEvent id="e"/>',
        '<!-- a comment --><?pi data?><other:thing xmlns:other="urn:x" id="foreign"/>'
        '<bpmn:endEvent id="e"><bpmn:documentation>a<!-- hidden -->b</bpmn:documentation>'
        "</bpmn:endEvent>",
    )
    process = parse_bpmn(xml).process()
    assert list(process.elements) == ["s", "e"]
    assert process.elements["e"].documentation == "ab"


def test_multi_instance_body_scope_is_available() -> None:
    xml = definitions_xml(
        """
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:task id="t">
      <bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>=3</bpmn:loopCardinality>
        </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:task>
    <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t"/>
  </bpmn:process>
"""
    )
    process = parse_bpmn(xml).process()
    assert process.flow_scope_id("t") == "t#multiInstanceBody"
    loop = process.elements["t"].loop
    assert isinstance(loop, MultiInstance) and loop.cardinality == Expression("3", FEEL)
