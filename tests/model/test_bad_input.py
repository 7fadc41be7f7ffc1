"""Bad input never crashes or hangs parse_bpmn: it is refused with a clear, located error."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from midflight.errors import BpmnParseError, ModelValidationError
from midflight.model import parser
from midflight.model.parser import MAX_SOURCE_BYTES, parse_bpmn

HEAD = (
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'id="defs" targetNamespace="t">'
)


def process(body: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'{HEAD}\n<bpmn:process id="p" isExecutable="true">\n'
        '<bpmn:startEvent id="start"/>\n'
        f"{body}\n"
        "</bpmn:process>\n</bpmn:definitions>\n"
    )


def line_of(xml: str, needle: str) -> int:
    return xml.count("\n", 0, xml.index(needle)) + 1


# ------------------------------------------------------------------------------------------
# Unreadable XML
# ------------------------------------------------------------------------------------------


def test_malformed_xml_reports_line_and_column() -> None:
    xml = f"{HEAD}\n<bpmn:process id='p'>\n  <bpmn:task id='t'>\n</bpmn:process>\n"
    with pytest.raises(BpmnParseError) as raised:
        parse_bpmn(xml)
    assert raised.value.line == 4
    assert raised.value.column
    assert "not well-formed" in str(raised.value)
    assert "line 4" in str(raised.value)


@pytest.mark.parametrize(
    "source",
    [b"", b"   ", b"\x00\x01\x02garbage", b"<", "<bpmn:definitions", b"\xff\xfe\x00"],
)
def test_garbage_is_refused(source: bytes | str) -> None:
    with pytest.raises(BpmnParseError):
        parse_bpmn(source)


def test_undeclared_entity_is_refused() -> None:
    with pytest.raises(BpmnParseError) as raised:
        parse_bpmn(process('<bpmn:task id="t" name="&undeclared;"/>'))
    assert "undeclared" in str(raised.value)


def test_not_a_bpmn_root() -> None:
    with pytest.raises(BpmnParseError) as raised:
        parse_bpmn("<html>\n<body/></html>")
    assert "not a BPMN 2.0 model" in str(raised.value)
    assert "'html'" in str(raised.value)
    assert raised.value.line == 1


def test_definitions_in_another_namespace() -> None:
    dmn = '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d"/>'
    with pytest.raises(BpmnParseError) as raised:
        parse_bpmn(dmn)
    assert "DMN" in str(raised.value)


def test_very_deep_nesting_is_refused_without_crashing() -> None:
    depth = 5000
    xml = HEAD + "<x>" * depth + "</x>" * depth + "</bpmn:definitions>"
    with pytest.raises(BpmnParseError):
        parse_bpmn(xml)


# ------------------------------------------------------------------------------------------
# Unsafe XML: DTDs and entities
# ------------------------------------------------------------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="p" name="&lol9;"/>
</bpmn:definitions>
"""


def test_billion_laughs_is_refused_quickly() -> None:
    began = time.monotonic()
    with pytest.raises(BpmnParseError) as raised:
        parse_bpmn(BILLION_LAUGHS)
    assert time.monotonic() - began < 1.0
    assert "DOCTYPE" in str(raised.value)
    assert raised.value.line == 2


def test_external_entity_never_reads_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    xml = (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret}">]>\n'
        f'{HEAD}<bpmn:process id="p" name="&x;"/></bpmn:definitions>'
    )
    for source in (xml, xml.encode()):
        with pytest.raises(BpmnParseError) as raised:
            parse_bpmn(source)
        assert "TOP-SECRET-CONTENT" not in str(raised.value)
        assert "entity" in str(raised.value)


def test_doctype_behind_a_tricky_comment_is_still_refused() -> None:
    xml = f'<!-- <a --><!DOCTYPE d [<!ENTITY x "y">]>{HEAD}</bpmn:definitions>'
    with pytest.raises(BpmnParseError) as raised:
        parse_bpmn(xml)
    assert "DOCTYPE" in str(raised.value)


def test_utf16_doctype_is_refused() -> None:
    xml = '<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE d>\n' + HEAD + "</bpmn:definitions>"
    with pytest.raises(BpmnParseError) as raised:
        parse_bpmn(xml.encode("utf-16"))
    assert raised.value.line == 2


def test_doctype_text_inside_a_script_is_fine() -> None:
    xml = process(
        '<bpmn:scriptTask id="s" scriptFormat="feel"><bpmn:script><![CDATA["<!DOCTYPE html>"]]>'
        "</bpmn:script></bpmn:scriptTask>"
        '<bpmn:sequenceFlow id="f" sourceRef="start" targetRef="s"/>'
    )
    script = parse_bpmn(xml).process().elements["s"].script
    assert script is not None and script.body == '"<!DOCTYPE html>"'


# ------------------------------------------------------------------------------------------
# Size and files
# ------------------------------------------------------------------------------------------


def test_oversized_bytes_are_refused() -> None:
    with pytest.raises(BpmnParseError) as raised:
        parse_bpmn(b" " * (MAX_SOURCE_BYTES + 1))
    assert str(MAX_SOURCE_BYTES) in str(raised.value)


def test_oversized_text_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parser, "MAX_SOURCE_BYTES", 100)
    with pytest.raises(BpmnParseError) as raised:
        parse_bpmn(process("<bpmn:task id='t'/>"))
    assert "limit of 100 bytes" in str(raised.value)


def test_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.bpmn"
    with path.open("wb") as stream:
        stream.truncate(MAX_SOURCE_BYTES + 1)  # sparse: costs no disk
    with pytest.raises(BpmnParseError) as raised:
        parse_bpmn(path)
    assert "huge.bpmn" in str(raised.value)


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.bpmn"
    with pytest.raises(BpmnParseError) as raised:
        parse_bpmn(missing)
    assert str(missing) in str(raised.value)
    assert "no such file" in str(raised.value)
    with pytest.raises(BpmnParseError):
        parse_bpmn(str(missing))


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(BpmnParseError) as raised:
        parse_bpmn(tmp_path)
    assert "directory" in str(raised.value)


# ------------------------------------------------------------------------------------------
# Readable but wrong models: refused with element and line
# ------------------------------------------------------------------------------------------


def test_flow_to_missing_element() -> None:
    xml = process('<bpmn:sequenceFlow id="f3" sourceRef="start" targetRef="task9"/>')
    with pytest.raises(ModelValidationError) as raised:
        parse_bpmn(xml)
    (problem,) = [p for p in raised.value.problems if p.element_id == "f3"]
    assert problem.line == line_of(xml, 'id="f3"')
    assert "unknown element 'task9'" in problem.message
    assert f"element 'f3', line {problem.line}" in str(raised.value)


def test_duplicate_id() -> None:
    xml = process(
        '<bpmn:endEvent id="done"/>\n<bpmn:sequenceFlow id="f" sourceRef="start" targetRef="done"/>'
        '\n<bpmn:endEvent id="done"/>'
    )
    with pytest.raises(ModelValidationError) as raised:
        parse_bpmn(xml)
    (problem,) = [p for p in raised.value.problems if p.code == "duplicate-id"]
    first = line_of(xml, 'id="done"')
    second = xml.count("\n", 0, xml.rindex('id="done"')) + 1
    assert (problem.element_id, problem.line) == ("done", second)
    assert f"line {first}" in problem.message
    # without validation the first definition wins
    assert parse_bpmn(xml, validate=False).process().elements["done"].line == first


def test_unsupported_element() -> None:
    xml = process(
        '<bpmn:subChoreography id="dance"/>\n'
        '<bpmn:sequenceFlow id="f" sourceRef="start" targetRef="dance"/>'
    )
    with pytest.raises(ModelValidationError) as raised:
        parse_bpmn(xml)
    (problem,) = [p for p in raised.value.problems if p.code == "unsupported-element"]
    assert (problem.element_id, problem.line) == ("dance", line_of(xml, 'id="dance"'))
    assert "sub choreography 'dance'" in problem.message
    node = parse_bpmn(xml, validate=False).process().elements["dance"]
    assert node.xml_tag == "subChoreography"


def test_element_without_id() -> None:
    xml = process('<bpmn:task name="anonymous"/>')
    with pytest.raises(ModelValidationError) as raised:
        parse_bpmn(xml)
    (problem,) = [p for p in raised.value.problems if p.code == "missing-id"]
    assert problem.line == line_of(xml, 'name="anonymous"')
    assert "bpmn:task has no id" in problem.message


def test_bad_numbers_do_not_crash() -> None:
    xml = process(
        '<bpmn:task id="t"><bpmn:standardLoopCharacteristics loopMaximum="many"/></bpmn:task>'
        '<bpmn:sequenceFlow id="f" sourceRef="start" targetRef="t"/>'
    ).replace(
        "</bpmn:definitions>",
        '<bpmndi:BPMNDiagram xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
        'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" id="dia"><bpmndi:BPMNPlane id="pl" '
        'bpmnElement="p"><bpmndi:BPMNShape id="sh" bpmnElement="t"><dc:Bounds x="a" y="1" '
        'width="1" height="1"/></bpmndi:BPMNShape></bpmndi:BPMNPlane></bpmndi:BPMNDiagram>'
        "</bpmn:definitions>",
    )
    with pytest.raises(ModelValidationError) as raised:
        parse_bpmn(xml)
    assert any("loopMaximum 'many'" in p.message for p in raised.value.problems)
    definitions = parse_bpmn(xml, validate=False)
    assert definitions.diagrams[0].shapes == ()  # unreadable bounds are skipped
