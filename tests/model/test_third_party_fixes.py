"""Fixes found by running third-party models (``test_third_party_corpus.py``), one test each."""

from __future__ import annotations

from midflight.model import (
    Expression,
    ExpressionLanguage,
    IoMapping,
    parse_bpmn,
    validate_definitions,
    write_bpmn,
)

HEAD = (
    '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
    'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d">'
)


def test_flows_and_associations_without_id_get_deterministic_ids() -> None:
    # Camunda 7 accepts unnamed sequence flows and associations; the handler link of a
    # compensation boundary event lives in such an association.
    xml = f"""{HEAD}
      <process id="p" isExecutable="true">
        <startEvent id="s"/>
        <sequenceFlow sourceRef="s" targetRef="book"/>
        <serviceTask id="book" camunda:type="external" camunda:topic="book"/>
        <boundaryEvent id="undo" attachedToRef="book"><compensateEventDefinition/></boundaryEvent>
        <serviceTask id="cancel" isForCompensation="true" camunda:type="external"
                     camunda:topic="cancel"/>
        <association sourceRef="undo" targetRef="cancel"/>
        <sequenceFlow sourceRef="book" targetRef="e"/>
        <sequenceFlow id="SequenceFlow_book_e" sourceRef="s" targetRef="e2"/>
        <sequenceFlow sourceRef="book" targetRef="e"/>
        <endEvent id="e"/><endEvent id="e2"/>
      </process></definitions>"""
    definitions = parse_bpmn(xml)
    process = definitions.process()
    assert list(process.flows) == [
        "SequenceFlow_s_book",
        "SequenceFlow_book_e_2",  # the file's own id is never taken
        "SequenceFlow_book_e",
        "SequenceFlow_book_e_3",
    ]
    assert process.node("undo").compensation_handler == "cancel"
    assert [a.id for a in process.artifacts] == ["Association_undo_cancel"]
    assert parse_bpmn(xml) == definitions  # deterministic
    assert parse_bpmn(write_bpmn(definitions, layout=False)) == definitions


def test_flow_without_id_or_ends_is_still_missing_id() -> None:
    xml = f"""{HEAD}<process id="p" isExecutable="true">
        <startEvent id="s"/><sequenceFlow sourceRef="s"/></process></definitions>"""
    codes = [p.code for p in validate_definitions(parse_bpmn(xml, validate=False))]
    assert "missing-id" in codes


def test_zeebe_mapping_source_without_equals_is_a_static_string() -> None:
    xml = f"""{HEAD}<process id="p" isExecutable="true">
        <startEvent id="s"/>
        <sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
        <serviceTask id="t"><extensionElements>
          <zeebe:taskDefinition type="mail"/>
          <zeebe:ioMapping>
            <zeebe:input source="me@camunda.com" target="from"/>
            <zeebe:input source="= 1 + 1" target="two"/>
            <zeebe:output source="done" target="status"/>
          </zeebe:ioMapping>
        </extensionElements></serviceTask>
        <sequenceFlow id="f2" sourceRef="t" targetRef="e"/><endEvent id="e"/>
      </process></definitions>"""
    definitions = parse_bpmn(xml)
    node = definitions.process().node("t")
    static = ExpressionLanguage.STATIC
    assert node.input_mappings == (
        IoMapping("from", Expression("me@camunda.com", static)),
        IoMapping("two", Expression("1 + 1", ExpressionLanguage.FEEL)),
    )
    assert node.output_mappings == (IoMapping("status", Expression("done", static)),)
    written = write_bpmn(definitions, layout=False)
    assert '<zeebe:input source="me@camunda.com" target="from"/>' in written
    assert "camunda:inputOutput" not in written
    assert parse_bpmn(written) == definitions


def test_plain_bpmn_loop_data_input_and_data_item() -> None:
    xml = f"""{HEAD}<process id="p" isExecutable="true">
        <startEvent id="s"/><sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
        <userTask id="t"><multiInstanceLoopCharacteristics>
          <loopDataInputRef>assigneeList</loopDataInputRef>
          <inputDataItem name="assignee"/>
        </multiInstanceLoopCharacteristics></userTask>
        <sequenceFlow id="f2" sourceRef="t" targetRef="e"/><endEvent id="e"/>
      </process></definitions>"""
    loop = parse_bpmn(xml).process().node("t").loop
    assert loop is not None
    assert loop.input_collection == Expression("${assigneeList}", ExpressionLanguage.JUEL)
    assert loop.input_element == "assignee"


def test_process_and_flow_listeners_are_reported_as_not_run() -> None:
    xml = f"""{HEAD}<process id="p" isExecutable="true">
        <extensionElements><zeebe:executionListeners>
          <zeebe:executionListener eventType="start" type="audit"/>
        </zeebe:executionListeners></extensionElements>
        <startEvent id="s"/>
        <sequenceFlow id="f1" sourceRef="s" targetRef="e"><extensionElements>
          <camunda:executionListener event="take" delegateExpression="${{log}}"/>
        </extensionElements></sequenceFlow>
        <endEvent id="e"/>
      </process></definitions>"""
    problems = validate_definitions(parse_bpmn(xml))  # warnings only: deployable
    assert [(p.element_id, p.code, p.severity) for p in problems] == [
        ("p", "ignored-listener", "warning"),
        ("f1", "ignored-listener", "warning"),
    ]
