"""write_bpmn writes XML that parse_bpmn reads back to the same graph, with a drawable diagram."""

from __future__ import annotations

from dataclasses import replace

import pytest
from lxml import etree

from midflight.model.builder import ProcessBuilder
from midflight.model.elements import (
    Bounds,
    Definitions,
    DiagramShape,
    ElementType,
    Expression,
    ExpressionLanguage,
    FlowNode,
    Listener,
    Message,
)
from midflight.model.parser import parse_bpmn
from midflight.model.writer import write_bpmn

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
ZEEBE = "http://camunda.org/schema/zeebe/1.0"


def graph(definitions: Definitions) -> Definitions:
    """The model without its diagrams."""
    return replace(definitions, diagrams=())


def round_trip(definitions: Definitions) -> Definitions:
    return parse_bpmn(write_bpmn(definitions), validate=False)


def rich(dialect: str) -> Definitions:
    """Nearly every construct the builder knows, in one process."""
    return (
        ProcessBuilder(
            "order",
            name="Order",
            version_tag="v2",
            dialect=dialect,
            documentation="Order handling",
            history_time_to_live="P30D",
        )
        .process_listener("start", "audit")
        .process_property("owner", "sales")
        .start_event("start", name="Received", message="order-placed", correlation_key="=orderId")
        .execution_listener("end", "log-start", retries=2)
        .user_task(
            "review",
            name="Review",
            assignee="=reviewer",
            candidate_groups="clerks",
            candidate_users="anna,bob",
            due_date='=now() + duration("P1D")',
            follow_up_date="2025-01-01T00:00:00Z",
            priority=40,
            form_key="camunda-forms:bpmn:review",
            form_id="review-form",
            camunda_user_task=True,
            inputs={"local": "=outer", "fixed": "abc", "nothing": None},
            outputs={"approved": "=approved"},
            properties={"color": "blue"},
            documentation="Review it",
        )
        .task_listener("complete", "notify")
        .execution_listener("start", "com.acme.Start", implementation="class")
        .boundary_event("reminder", timer_cycle="R3/PT1H", cancel_activity=False)
        .send_task("remind", job_type="send-reminder", message="reminder")
        .end_event("reminded")
        .move_to("review")
        .boundary_event("timeout", timer_duration="PT5M")
        .end_event("timed_out", terminate=True)
        .move_to("review")
        .exclusive_gateway("ok", name="Approved?", default="to_reject")
        .flow(
            name="yes",
            condition="approved = true",
            documentation="happy path",
            listeners=[Listener("execution", "take", Expression("flow-taken"))],
        )
        .parallel_gateway("fork")
        .service_task(
            "pay",
            job_type='="pay-" + region',
            retries="=3",
            headers={"a": "b"},
            async_before=True,
            async_after=True,
            exclusive=False,
        )
        .multi_instance(
            collection="=items",
            element="item",
            sequential=True,
            output_collection="results",
            output_element="=result",
            completion_condition="done = true",
            async_before=True,
        )
        .boundary_event(
            "pay_failed",
            error="PAYMENT_FAILED",
            error_code_variable="c",
            error_message_variable="m",
        )
        .intermediate_throw_event("escalate", escalation="ESC_1")
        .end_event("failed", error="FAILED")
        .move_to("pay")
        .boundary_event("comp", compensate=True)
        .service_task("refund", job_type="refund")
        .move_to("pay")
        .parallel_gateway("join")
        .move_to("fork")
        .script_task("calc", script="=a + b", result_variable="sum")
        .script_task("legacy", script="x = 1", script_format="groovy", result_variable="x")
        .business_rule_task("decide", decision_id="risk", result_variable="risk")
        .business_rule_task(
            "decide7", decision_id="risk", decision_binding="version", decision_version="2"
        )
        .call_activity(
            "child",
            process_id="child-process",
            propagate_all_child_variables=False,
            binding="versionTag",
            version_tag="v1",
        )
        .call_activity(
            "child7",
            process_id="${childId}",
            version="3",
            binding="version",
            call_inputs={"a": "${b}", "c": "${d + 1}", "e": "=f"},
            call_outputs={"g": "${h}"},
            business_key="${key}",
        )
        .connect_to("join")
        .event_based_gateway("wait")
        .intermediate_catch_event("paid", message="payment-received", correlation_key="=orderId")
        .intermediate_catch_event("sig", signal="cancel-all")
        .move_to("wait")
        .intermediate_catch_event("late", timer_date="2030-01-01T00:00:00Z")
        .intermediate_throw_event("compensate_all", compensate="pay", wait_for_completion=False)
        .intermediate_throw_event("to_link", link="next")
        .move_to("sig")
        .sub_process("sp", name="Ship")
        .start_event("sp_start")
        .receive_task("confirm", message="confirmation")
        .standard_loop(condition="n < 3", test_before=True, maximum=5)
        .annotation("inside")
        .end_event("sp_end")
        .sub_process_done()
        .boundary_event("sp_esc", escalation=True, cancel_activity=False)
        .manual_task("handle")
        .end_event("handled")
        .move_to("sp")
        .inclusive_gateway("incl")
        .task("archive")
        .complex_gateway("cplx")
        .end_event("end")
        .move_to("paid")
        .intermediate_catch_event(
            "cond",
            conditional="${x > 5}",
            variable_name="x",
            variable_events=["create", "update"],
        )
        .transaction("tx")
        .start_event("tx_start")
        .end_event("tx_cancel", cancel=True)
        .sub_process_done()
        .ad_hoc_sub_process(
            "agent",
            active_elements_collection="=tools",
            completion_condition="finished",
            cancel_remaining_instances=False,
            ordering="Sequential",
            output_collection="outs",
            output_element="=out",
        )
        .task("tool_a")
        .move_to("tool_a")
        .task("tool_b")
        .sub_process_done()
        .end_event("tx_end")
        .move_to("ok")
        .flow_id("to_reject")
        .user_task("reject")
        .end_event("rejected")
        .event_sub_process("esp", name="Cancel")
        .start_event("esp_start", message="cancel", interrupting=False)
        .end_event("esp_end")
        .sub_process_done()
        .event_sub_process("esp2")
        .start_event("esp_err", error=True)
        .end_event("esp2_end")
        .sub_process_done()
        .intermediate_catch_event("link_in", link="next")
        .end_event("link_end")
        .annotation("Checks the order", annotates="review")
        .lane("clerks", name="Clerks", nodes=["review", "reject"])
        .build(validate=False)
    )


def camunda7_pure() -> Definitions:
    """A Camunda 7 model whose file needs no zeebe: extension at all."""
    return (
        ProcessBuilder("c7", dialect="camunda7", version_tag="1.0", history_time_to_live="180")
        .start_event("s")
        .service_task(
            "ext", job_type="charge", implementation="external", retry_time_cycle="R5/PT1M"
        )
        .async_before()
        .service_task("cls", job_type="com.acme.Delegate", implementation="class")
        .service_task("expr", job_type="${bean.run()}", implementation="expression")
        .multi_instance(collection="${items}", element="item")
        .user_task("u", assignee="${initiator}", candidate_groups="sales", form_key="embedded:app")
        .execution_listener("start", "${audit}", implementation="delegateExpression")
        .call_activity(
            "call",
            process_id="child",
            propagate_all_parent_variables=False,
            propagate_all_child_variables=False,
        )
        .end_event("e")
        .build(validate=False)
    )


@pytest.mark.parametrize("dialect", ["camunda8", "camunda7", "bpmn"])
def test_built_models_survive_write_and_parse(dialect: str) -> None:
    built = rich(dialect)
    parsed = round_trip(built)
    assert graph(parsed) == built
    for node_id, node in built.process().elements.items():  # pinpoints a failure
        assert parsed.process().elements[node_id] == node


def test_a_pure_camunda7_model_uses_no_zeebe_extension_and_round_trips() -> None:
    built = camunda7_pure()
    xml = write_bpmn(built)
    assert ZEEBE not in xml
    root = etree.fromstring(xml.encode())
    assert root.nsmap["camunda"] == CAMUNDA
    parsed = parse_bpmn(xml, validate=False)
    assert parsed.dialect == "camunda7"
    assert graph(parsed) == built
    call = parsed.process().node("call").called_element
    assert call is not None and not call.propagate_all_parent_variables


def test_the_preferred_dialect_decides_where_extensions_go() -> None:
    c8 = etree.fromstring(write_bpmn(rich("camunda8")).encode())
    c7 = etree.fromstring(write_bpmn(rich("camunda7")).encode())

    def node(root: etree._Element, element_id: str) -> etree._Element:
        (found,) = root.xpath(f"//*[@id='{element_id}']")
        return found

    # user task assignment: zeebe:assignmentDefinition vs camunda:assignee
    assert node(c8, "review").find(f".//{{{ZEEBE}}}assignmentDefinition").get("assignee") == (
        "=reviewer"
    )
    assert node(c7, "review").get(f"{{{CAMUNDA}}}assignee") == "=reviewer"
    # no zeebe equivalent: camunda:asyncBefore even in a Camunda 8 model
    assert node(c8, "pay").get(f"{{{CAMUNDA}}}asyncBefore") == "true"
    # no camunda equivalent: zeebe:subscription even in a Camunda 7 model
    (message,) = c7.xpath("//bpmn:message[@name='order-placed']", namespaces={"bpmn": BPMN})
    assert message.find(f".//{{{ZEEBE}}}subscription").get("correlationKey") == "=orderId"
    # plain BPMN with JUEL only is written for Camunda 7
    juel = (
        ProcessBuilder("j", dialect="bpmn")
        .start_event("s")
        .user_task("u", assignee="${boss}")
        .end_event("e")
        .build(validate=False)
    )
    assert (
        f"{{{CAMUNDA}}}assignee"
        in etree.fromstring(write_bpmn(juel).encode()).xpath("//*[@id='u']")[0].attrib
    )


CAMUNDA8_XML = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
    xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
    xmlns:modeler="http://camunda.org/schema/modeler/1.0"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn"
    exporter="Camunda Modeler" exporterVersion="5.28.0"
    modeler:executionPlatform="Camunda Cloud" modeler:executionPlatformVersion="8.6.0">
  <bpmn:collaboration id="Collaboration_1">
    <bpmn:participant id="Pool_shop" name="Shop" processRef="shop" />
    <bpmn:participant id="Pool_customer" name="Customer" />
    <bpmn:messageFlow id="MessageFlow_1" sourceRef="Pool_customer" targetRef="start" />
  </bpmn:collaboration>
  <bpmn:process id="shop" name="Shop" isExecutable="true">
    <bpmn:extensionElements>
      <zeebe:versionTag value="3" />
    </bpmn:extensionElements>
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_front" name="Front">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>check</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="Lane_back" name="Back">
        <bpmn:flowNodeRef>pick</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" name="Order">
      <bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:messageEventDefinition id="MessageEventDefinition_1" messageRef="Message_order" />
    </bpmn:startEvent>
    <bpmn:userTask id="check" name="Check">
      <bpmn:extensionElements>
        <zeebe:userTask />
        <zeebe:assignmentDefinition assignee="=owner" candidateGroups="front" />
        <zeebe:formDefinition formId="check-form" />
        <zeebe:ioMapping>
          <zeebe:input source="=order.total" target="total" />
          <zeebe:output source="=ok" target="checked" />
        </zeebe:ioMapping>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="late" attachedToRef="check" cancelActivity="false">
      <bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:timerEventDefinition id="TimerEventDefinition_1">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT1H</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:serviceTask id="pick" name="Pick">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="pick" retries="5" />
        <zeebe:taskHeaders>
          <zeebe:header key="warehouse" value="north" />
        </zeebe:taskHeaders>
      </bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:extensionElements>
          <zeebe:loopCharacteristics inputCollection="=order.items" inputElement="item" />
        </bpmn:extensionElements>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end">
      <bpmn:incoming>f3</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:endEvent id="nudged">
      <bpmn:incoming>f4</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check" />
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="pick" />
    <bpmn:sequenceFlow id="f3" sourceRef="pick" targetRef="end" />
    <bpmn:sequenceFlow id="f4" sourceRef="late" targetRef="nudged" />
  </bpmn:process>
  <bpmn:message id="Message_order" name="order">
    <bpmn:extensionElements>
      <zeebe:subscription correlationKey="=orderId" />
    </bpmn:extensionElements>
  </bpmn:message>
  <bpmndi:BPMNDiagram id="BPMNDiagram_1">
    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="Collaboration_1">
      <bpmndi:BPMNShape id="Pool_shop_di" bpmnElement="Pool_shop" isHorizontal="true">
        <dc:Bounds x="129" y="80" width="700" height="370" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Lane_front_di" bpmnElement="Lane_front" isHorizontal="true">
        <dc:Bounds x="159" y="80" width="670" height="185" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Lane_back_di" bpmnElement="Lane_back" isHorizontal="true">
        <dc:Bounds x="159" y="265" width="670" height="185" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="start_di" bpmnElement="start">
        <dc:Bounds x="212" y="142" width="36" height="36" />
        <bpmndi:BPMNLabel>
          <dc:Bounds x="214" y="185" width="33" height="14" />
        </bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="check_di" bpmnElement="check">
        <dc:Bounds x="300" y="120" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="pick_di" bpmnElement="pick">
        <dc:Bounds x="460" y="310" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_di" bpmnElement="end">
        <dc:Bounds x="622" y="332" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="nudged_di" bpmnElement="nudged">
        <dc:Bounds x="452.5" y="212" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="late_di" bpmnElement="late">
        <dc:Bounds x="342" y="182" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Pool_customer_di" bpmnElement="Pool_customer" isHorizontal="true">
        <dc:Bounds x="129" y="500" width="700" height="60" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1">
        <di:waypoint x="248" y="160" />
        <di:waypoint x="300" y="160" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f2_di" bpmnElement="f2">
        <di:waypoint x="400" y="160" />
        <di:waypoint x="430" y="160" />
        <di:waypoint x="430" y="350" />
        <di:waypoint x="460" y="350" />
        <bpmndi:BPMNLabel>
          <dc:Bounds x="431" y="250" width="20" height="14" />
        </bpmndi:BPMNLabel>
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f3_di" bpmnElement="f3">
        <di:waypoint x="560" y="350" />
        <di:waypoint x="622" y="350" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f4_di" bpmnElement="f4">
        <di:waypoint x="360" y="218" />
        <di:waypoint x="360" y="230" />
        <di:waypoint x="452.5" y="230" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="MessageFlow_1_di" bpmnElement="MessageFlow_1">
        <di:waypoint x="230" y="500" />
        <di:waypoint x="230" y="178" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""

CAMUNDA7_XML = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    id="Definitions_7" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="invoice" isExecutable="true" camunda:versionTag="7"
      camunda:historyTimeToLive="P10D">
    <bpmn:startEvent id="start" camunda:asyncAfter="true">
      <bpmn:extensionElements>
        <camunda:executionListener class="com.acme.OnStart" event="start" />
      </bpmn:extensionElements>
    </bpmn:startEvent>
    <bpmn:userTask id="approve" camunda:assignee="${approver}" camunda:candidateGroups="accounting"
        camunda:formKey="embedded:app:forms/approve.html" camunda:dueDate="${due}">
      <bpmn:extensionElements>
        <camunda:taskListener delegateExpression="${notifier}" event="create" />
        <camunda:inputOutput>
          <camunda:inputParameter name="amount">${invoice.amount}</camunda:inputParameter>
          <camunda:outputParameter name="approved">${ok}</camunda:outputParameter>
        </camunda:inputOutput>
        <camunda:properties>
          <camunda:property name="sla" value="2d" />
        </camunda:properties>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="decide" default="no" />
    <bpmn:serviceTask id="archive" camunda:type="external" camunda:topic="archive">
      <bpmn:extensionElements>
        <camunda:failedJobRetryTimeCycle>R3/PT5M</camunda:failedJobRetryTimeCycle>
      </bpmn:extensionElements>
      <bpmn:multiInstanceLoopCharacteristics isSequential="true"
          camunda:collection="${documents}" camunda:elementVariable="doc">
        <bpmn:completionCondition xsi:type="bpmn:tFormalExpression"
          >${nrOfCompletedInstances == 2}</bpmn:completionCondition>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:serviceTask>
    <bpmn:boundaryEvent id="failed" attachedToRef="archive">
      <bpmn:errorEventDefinition errorRef="Error_archive" camunda:errorCodeVariable="code" />
    </bpmn:boundaryEvent>
    <bpmn:callActivity id="notify" calledElement="notification"
        camunda:calledElementBinding="version" camunda:calledElementVersion="4">
      <bpmn:extensionElements>
        <camunda:in businessKey="#{execution.processBusinessKey}" />
        <camunda:in source="invoiceId" target="id" />
        <camunda:out variables="all" />
      </bpmn:extensionElements>
    </bpmn:callActivity>
    <bpmn:businessRuleTask id="rules" camunda:decisionRef="limits"
        camunda:mapDecisionResult="singleEntry" camunda:resultVariable="limit" />
    <bpmn:scriptTask id="calc" scriptFormat="groovy" camunda:resultVariable="sum">
      <bpmn:script>a + b</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:conditionalEventDefinition camunda:variableName="status"
          camunda:variableEvents="update">
        <bpmn:condition xsi:type="bpmn:tFormalExpression">${status == 'paid'}</bpmn:condition>
      </bpmn:conditionalEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end" />
    <bpmn:endEvent id="rejected" />
    <bpmn:endEvent id="error_end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approve" />
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="decide" />
    <bpmn:sequenceFlow id="yes" sourceRef="decide" targetRef="archive">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression"
        >${approved}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="no" sourceRef="decide" targetRef="rejected" />
    <bpmn:sequenceFlow id="f3" sourceRef="archive" targetRef="notify" />
    <bpmn:sequenceFlow id="f4" sourceRef="notify" targetRef="rules" />
    <bpmn:sequenceFlow id="f5" sourceRef="rules" targetRef="calc" />
    <bpmn:sequenceFlow id="f6" sourceRef="calc" targetRef="wait" />
    <bpmn:sequenceFlow id="f7" sourceRef="wait" targetRef="end" />
    <bpmn:sequenceFlow id="f8" sourceRef="failed" targetRef="error_end" />
    <bpmn:textAnnotation id="note"><bpmn:text>Audited</bpmn:text></bpmn:textAnnotation>
    <bpmn:association id="assoc" sourceRef="approve" targetRef="note" />
  </bpmn:process>
  <bpmn:error id="Error_archive" name="Archive failed" errorCode="ARCHIVE" />
</bpmn:definitions>
"""


@pytest.mark.parametrize("source", [CAMUNDA8_XML, CAMUNDA7_XML], ids=["camunda8", "camunda7"])
def test_parsed_models_survive_write_and_parse(source: str) -> None:
    original = parse_bpmn(source, validate=False)
    written = write_bpmn(original)
    again = parse_bpmn(written, validate=False)
    assert graph(again) == graph(original)
    assert again.dialect == original.dialect
    # and the written file is a fixed point: writing it again changes nothing
    assert write_bpmn(again) == written


def test_the_models_own_di_is_kept() -> None:
    original = parse_bpmn(CAMUNDA8_XML, validate=False)
    again = round_trip(original)
    assert again.diagrams == original.diagrams
    start = next(s for s in again.diagrams[0].shapes if s.element_id == "start")
    assert start.label == Bounds(214, 185, 33, 14)
    nudged = next(s for s in again.diagrams[0].shapes if s.element_id == "nudged")
    assert nudged.bounds.x == 452.5


def _shape_ids(definitions: Definitions) -> set[str]:
    return {s.element_id for d in definitions.diagrams for s in d.shapes}


def _edge_ids(definitions: Definitions) -> set[str]:
    return {e.element_id for d in definitions.diagrams for e in d.edges}


def _overlapping(definitions: Definitions) -> list[tuple[str, str]]:
    """Pairs of shapes that overlap although neither contains (or hosts) the other."""
    parents: dict[str, str] = {}
    for process in definitions.processes:
        for node in process.elements.values():
            parents[node.id] = node.attached_to or node.parent_id or process.id
        for artifact in process.artifacts:
            parents[artifact.id] = artifact.parent_id or process.id

    def ancestors(element_id: str) -> set[str]:
        found: set[str] = set()
        while element_id in parents:
            element_id = parents[element_id]
            found.add(element_id)
        return found

    nodes = set(parents)
    shapes = [s for d in definitions.diagrams for s in d.shapes if s.element_id in nodes]
    pairs: list[tuple[str, str]] = []
    for index, a in enumerate(shapes):
        for b in shapes[index + 1 :]:
            if a.element_id in ancestors(b.element_id) or b.element_id in ancestors(a.element_id):
                continue
            p, q = a.bounds, b.bounds
            if (
                p.x < q.x + q.width
                and q.x < p.x + p.width
                and p.y < q.y + q.height
                and (q.y < p.y + p.height)
            ):
                pairs.append((a.element_id, b.element_id))
    return pairs


@pytest.mark.parametrize(
    "model",
    [lambda: rich("camunda8"), lambda: parse_bpmn(CAMUNDA7_XML, validate=False)],
    ids=["built", "parsed-without-di"],
)
def test_a_model_without_di_gets_a_complete_non_overlapping_layout(model: object) -> None:
    definitions = model()  # type: ignore[operator]
    assert definitions.diagrams == ()
    drawn = round_trip(definitions)
    (diagram,) = drawn.diagrams
    process = drawn.process()
    assert diagram.plane_element_id == process.id
    assert set(process.elements) <= _shape_ids(drawn)
    assert set(process.flows) <= _edge_ids(drawn)
    associations = {a.id for a in process.artifacts if a.kind == "association"}
    assert associations <= _edge_ids(drawn)
    assert _overlapping(drawn) == []
    for edge in diagram.edges:
        assert len(edge.waypoints) >= 2
    expanded = {s.element_id for s in diagram.shapes if s.is_expanded}
    assert expanded == {n.id for n in process.walk() if n.is_scope_container}


def test_elements_missing_from_the_di_are_added_without_moving_the_rest() -> None:
    original = parse_bpmn(CAMUNDA8_XML, validate=False)
    process = original.process()
    extra = FlowNode("extra", ElementType.TASK, name="Added later")
    changed = replace(
        original,
        processes=(replace(process, elements={**process.elements, "extra": extra}),),
    )
    drawn = round_trip(changed)
    (diagram,) = drawn.diagrams
    old = {s.element_id: s for s in original.diagrams[0].shapes}
    new = {s.element_id: s for s in diagram.shapes}
    assert {k: new[k] for k in old} == old
    assert new["extra"].bounds.width == 100 and new["extra"].bounds.height == 80
    assert _overlapping(drawn) == []
    assert {e.element_id for e in diagram.edges} == {
        e.element_id for e in original.diagrams[0].edges
    }


def test_without_layout_only_the_models_own_di_is_written() -> None:
    xml = write_bpmn(rich("camunda8"), layout=False)
    assert "BPMNDiagram" not in xml
    assert parse_bpmn(xml, validate=False).diagrams == ()


def test_output_is_well_formed_and_uses_the_standard_namespaces() -> None:
    xml = write_bpmn(rich("camunda8"))
    assert xml.startswith("<?xml version='1.0' encoding='UTF-8'?>")
    root = etree.fromstring(xml.encode())
    assert root.tag == f"{{{BPMN}}}definitions"
    assert {root.nsmap[p] for p in ("bpmn", "bpmndi", "dc", "di", "zeebe")} == {
        BPMN,
        BPMNDI,
        DC,
        DI,
        ZEEBE,
    }
    assert [c.tag for c in root][-1] == f"{{{BPMNDI}}}BPMNDiagram"
    (plane,) = root.findall(f"{{{BPMNDI}}}BPMNDiagram/{{{BPMNDI}}}BPMNPlane")
    assert plane.get("bpmnElement") == "order"
    shapes = plane.findall(f"{{{BPMNDI}}}BPMNShape")
    edges = plane.findall(f"{{{BPMNDI}}}BPMNEdge")
    assert shapes and edges
    assert all(len(s.findall(f"{{{DC}}}Bounds")) == 1 for s in shapes)
    assert all(len(e.findall(f"{{{DI}}}waypoint")) >= 2 for e in edges)
    conditions = root.findall(f".//{{{BPMN}}}conditionExpression")
    assert conditions and all(
        c.get(f"{{{XSI}}}type") == "bpmn:tFormalExpression" for c in conditions
    )
    ids = [e.get("id") for e in root.iter() if isinstance(e.tag, str) and e.get("id")]
    assert len(ids) == len(set(ids))
    # every BPMN element referenced from the DI exists
    semantic = {e.get("id") for e in root.iter() if isinstance(e.tag, str)}
    assert {s.get("bpmnElement") for s in [*shapes, *edges]} <= semantic


def test_message_and_collaboration_root_elements_are_written() -> None:
    original = parse_bpmn(CAMUNDA8_XML, validate=False)
    root = etree.fromstring(write_bpmn(original).encode())
    ns = {"bpmn": BPMN}
    assert root.xpath("//bpmn:participant[@id='Pool_customer']/@name", namespaces=ns) == [
        "Customer"
    ]
    assert root.xpath("//bpmn:messageFlow/@targetRef", namespaces=ns) == ["start"]
    assert round_trip(original).messages == {
        "Message_order": Message(
            "Message_order", "order", Expression("orderId", ExpressionLanguage.FEEL)
        )
    }


def test_writing_does_not_depend_on_anything_but_the_model() -> None:
    assert write_bpmn(rich("camunda8")) == write_bpmn(rich("camunda8"))
    shapes = round_trip(rich("camunda8")).diagrams[0].shapes
    assert all(isinstance(s, DiagramShape) for s in shapes)
