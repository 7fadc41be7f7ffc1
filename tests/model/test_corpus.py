"""The BPMN corpus in ``tests/data/bpmn``: realistic modeler exports, read, checked and written back.

Valid files (``c7_*``, ``c8_*``, ``bpmnio_*``) must parse with validation on, keep every flow node
and sequence flow of the XML (ids are read with lxml here, so the test does not trust the parser),
and survive ``write_bpmn`` -> ``parse_bpmn`` unchanged. Together they must cover every element
type and event definition of the graph. Files in ``invalid/`` each carry one fault, named in a
header comment ``<!-- expect: <element_id> <reason> -->`` (``-`` for XML that cannot be read).
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from lxml import etree

from midflight.errors import BpmnParseError, ModelValidationError, Problem
from midflight.model.elements import (
    Definitions,
    ElementType,
    EventDefinitionType,
    FlowNode,
    MultiInstance,
    StandardLoop,
    TimerKind,
)
from midflight.model.parser import parse_bpmn

CORPUS = Path(__file__).resolve().parent.parent / "data" / "bpmn"
VALID = sorted(CORPUS.glob("*.bpmn"))
INVALID = sorted((CORPUS / "invalid").glob("*.bpmn"))

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"

#: XML local names of flow nodes (a subProcess with triggeredByEvent="true" is an event subprocess).
FLOW_NODE_TAGS = frozenset(t.value for t in ElementType) - {
    ElementType.MULTI_INSTANCE_BODY.value,
    ElementType.UNSUPPORTED.value,
    ElementType.EVENT_SUB_PROCESS.value,
}
CONTAINER_TAGS = frozenset({"subProcess", "adHocSubProcess", "transaction"})
DIALECT_BY_PREFIX = {"c7": "camunda7", "c8": "camunda8", "bpmnio": "bpmn"}
EXPECT = re.compile(r"<!--\s*expect:\s*(\S+)\s+(.*?)\s*-->", re.DOTALL)


def _ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


# -- the XML as lxml sees it ---------------------------------------------------------------------
@dataclass(frozen=True)
class XmlNode:
    tag: str  # expected ElementType value
    parent_id: str | None
    attached_to: str | None


@dataclass(frozen=True)
class XmlFlow:
    source_id: str
    target_id: str
    parent_id: str | None


@dataclass
class XmlProcess:
    id: str
    is_executable: bool
    nodes: dict[str, XmlNode] = field(default_factory=dict)
    flows: dict[str, XmlFlow] = field(default_factory=dict)


@dataclass
class XmlFile:
    processes: dict[str, XmlProcess]
    participants: int
    shape_elements: set[str]
    edge_elements: set[str]


def _local(element: etree._Element) -> str | None:
    if not isinstance(element.tag, str):
        return None
    qname = etree.QName(element)
    return qname.localname if qname.namespace == BPMN_NS else None


def _walk(container: etree._Element, parent_id: str | None, into: XmlProcess) -> None:
    for child in container:
        tag = _local(child)
        if tag == "sequenceFlow":
            into.flows[child.get("id")] = XmlFlow(
                child.get("sourceRef"), child.get("targetRef"), parent_id
            )
        elif tag in FLOW_NODE_TAGS:
            kind = tag
            if tag == "subProcess" and child.get("triggeredByEvent") == "true":
                kind = ElementType.EVENT_SUB_PROCESS.value
            into.nodes[child.get("id")] = XmlNode(kind, parent_id, child.get("attachedToRef"))
            if tag in CONTAINER_TAGS:
                _walk(child, child.get("id"), into)


@functools.cache
def read_xml(path: Path) -> XmlFile:
    root = etree.parse(str(path)).getroot()
    processes: dict[str, XmlProcess] = {}
    for element in root.findall(f"{{{BPMN_NS}}}process"):
        process = XmlProcess(element.get("id"), element.get("isExecutable") == "true")
        _walk(element, None, process)
        processes[process.id] = process
    participants = len(root.findall(f"{{{BPMN_NS}}}collaboration/{{{BPMN_NS}}}participant"))
    shapes = {e.get("bpmnElement") for e in root.iter(f"{{{BPMNDI_NS}}}BPMNShape")}
    edges = {e.get("bpmnElement") for e in root.iter(f"{{{BPMNDI_NS}}}BPMNEdge")}
    return XmlFile(processes, participants, shapes, edges)


@functools.cache
def parsed(path: Path) -> Definitions:
    """The file parsed without validation (validation has its own test)."""
    return parse_bpmn(path, validate=False)


def _load_writer() -> Callable[[Definitions], str] | None:
    if importlib.util.find_spec("midflight.model.writer") is None:
        return None
    from midflight.model.writer import write_bpmn

    return write_bpmn


def _all_nodes() -> Iterator[tuple[Path, Definitions, FlowNode]]:
    for path in VALID:
        definitions = parsed(path)
        for process in definitions.processes:
            for node in process.walk():
                yield path, definitions, node


# -- the corpus itself ---------------------------------------------------------------------------
def test_corpus_has_enough_files_of_every_dialect() -> None:
    by_dialect = {
        prefix: [p for p in VALID if p.name.startswith(prefix + "_")]
        for prefix in DIALECT_BY_PREFIX
    }
    assert len(VALID) >= 45
    assert len(by_dialect["c7"]) >= 18
    assert len(by_dialect["c8"]) >= 18
    assert len(by_dialect["bpmnio"]) >= 5
    assert sum(len(files) for files in by_dialect.values()) == len(VALID), "unexpected file prefix"
    assert len(INVALID) >= 8
    without_di = [p for p in VALID if not read_xml(p).shape_elements]
    assert 2 <= len(without_di) <= len(VALID) // 4, "most files should carry DI, a few none"


def test_manifest_lists_every_file() -> None:
    manifest = (CORPUS / "MANIFEST.md").read_text(encoding="utf-8")
    missing = [p.name for p in VALID + INVALID if p.name not in manifest]
    assert not missing


# -- valid files ---------------------------------------------------------------------------------
@pytest.mark.parametrize("path", VALID, ids=_ids(VALID))
def test_valid_file_parses_with_validation(path: Path) -> None:
    definitions = parse_bpmn(path)
    xml = read_xml(path)
    assert [p.id for p in definitions.processes] == list(xml.processes)
    assert any(p.is_executable for p in definitions.processes) or path.name.startswith("bpmnio_")


@pytest.mark.parametrize("path", VALID, ids=_ids(VALID))
def test_dialect_is_detected(path: Path) -> None:
    assert parsed(path).dialect == DIALECT_BY_PREFIX[path.name.split("_", 1)[0]]


@pytest.mark.parametrize("path", VALID, ids=_ids(VALID))
def test_every_flow_node_and_flow_of_the_xml_is_in_the_graph(path: Path) -> None:
    definitions = parsed(path)
    xml = read_xml(path)
    assert len(definitions.processes) == len(xml.processes)
    for process in definitions.processes:
        expected = xml.processes[process.id]
        assert process.is_executable == expected.is_executable
        assert set(process.elements) == set(expected.nodes), process.id
        for node_id, want in expected.nodes.items():
            node = process.elements[node_id]
            assert (node.type.value, node.parent_id, node.attached_to) == (
                want.tag,
                want.parent_id,
                want.attached_to,
            ), node_id
        assert set(process.flows) == set(expected.flows), process.id
        for flow_id, want_flow in expected.flows.items():
            flow = process.flows[flow_id]
            assert (flow.source_id, flow.target_id, flow.parent_id) == (
                want_flow.source_id,
                want_flow.target_id,
                want_flow.parent_id,
            ), flow_id
            assert flow_id in process.elements[flow.source_id].outgoing
            assert flow_id in process.elements[flow.target_id].incoming


@pytest.mark.parametrize("path", VALID, ids=_ids(VALID))
def test_diagram_interchange_is_kept(path: Path) -> None:
    definitions = parsed(path)
    xml = read_xml(path)
    shapes = {s.element_id for d in definitions.diagrams for s in d.shapes}
    edges = {e.element_id for d in definitions.diagrams for e in d.edges}
    assert shapes == xml.shape_elements
    assert edges == xml.edge_elements
    if xml.participants:
        assert definitions.collaboration is not None
        assert len(definitions.collaboration.participants) == xml.participants


@pytest.mark.parametrize("path", VALID, ids=_ids(VALID))
def test_write_then_parse_gives_the_same_graph(path: Path) -> None:
    write_bpmn = _load_writer()
    if write_bpmn is None:
        pytest.skip("midflight.model.writer does not exist yet")
    original = parsed(path)
    again = parse_bpmn(write_bpmn(original), validate=False)
    assert again.processes == original.processes


@pytest.mark.parametrize("path", VALID, ids=_ids(VALID))
def test_write_then_parse_keeps_root_elements_and_collaboration(path: Path) -> None:
    write_bpmn = _load_writer()
    if write_bpmn is None:
        pytest.skip("midflight.model.writer does not exist yet")
    original = parsed(path)
    again = parse_bpmn(write_bpmn(original), validate=False)
    assert dict(again.messages) == dict(original.messages)
    assert dict(again.signals) == dict(original.signals)
    assert dict(again.errors) == dict(original.errors)
    assert dict(again.escalations) == dict(original.escalations)
    assert again.collaboration == original.collaboration


def test_corpus_covers_every_element_type_and_event_definition() -> None:
    types = {node.type for _, _, node in _all_nodes()}
    wanted_types = set(ElementType) - {ElementType.MULTI_INSTANCE_BODY, ElementType.UNSUPPORTED}
    assert wanted_types - types == set()
    definitions = {d.type for _, _, node in _all_nodes() for d in node.event_definitions}
    assert set(EventDefinitionType) - definitions == set()
    timers = {
        d.timer.kind for _, _, node in _all_nodes() for d in node.event_definitions if d.timer
    }
    assert timers == set(TimerKind)


def test_corpus_covers_every_event_position() -> None:
    seen: set[tuple[ElementType, EventDefinitionType | None]] = set()
    for _, _, node in _all_nodes():
        for definition in node.event_definitions or (None,):
            seen.add((node.type, definition.type if definition else None))
    E, D = ElementType, EventDefinitionType
    wanted = {
        (E.START_EVENT, None), (E.START_EVENT, D.MESSAGE), (E.START_EVENT, D.TIMER),
        (E.START_EVENT, D.SIGNAL), (E.START_EVENT, D.CONDITIONAL), (E.START_EVENT, D.ERROR),
        (E.START_EVENT, D.ESCALATION),
        (E.END_EVENT, None), (E.END_EVENT, D.MESSAGE), (E.END_EVENT, D.ERROR),
        (E.END_EVENT, D.ESCALATION), (E.END_EVENT, D.SIGNAL), (E.END_EVENT, D.TERMINATE),
        (E.END_EVENT, D.COMPENSATE), (E.END_EVENT, D.CANCEL),
        (E.INTERMEDIATE_CATCH_EVENT, D.MESSAGE), (E.INTERMEDIATE_CATCH_EVENT, D.TIMER),
        (E.INTERMEDIATE_CATCH_EVENT, D.SIGNAL), (E.INTERMEDIATE_CATCH_EVENT, D.CONDITIONAL),
        (E.INTERMEDIATE_CATCH_EVENT, D.LINK),
        (E.INTERMEDIATE_THROW_EVENT, None), (E.INTERMEDIATE_THROW_EVENT, D.MESSAGE),
        (E.INTERMEDIATE_THROW_EVENT, D.SIGNAL), (E.INTERMEDIATE_THROW_EVENT, D.ESCALATION),
        (E.INTERMEDIATE_THROW_EVENT, D.LINK), (E.INTERMEDIATE_THROW_EVENT, D.COMPENSATE),
        (E.BOUNDARY_EVENT, D.MESSAGE), (E.BOUNDARY_EVENT, D.TIMER), (E.BOUNDARY_EVENT, D.SIGNAL),
        (E.BOUNDARY_EVENT, D.ERROR), (E.BOUNDARY_EVENT, D.ESCALATION),
        (E.BOUNDARY_EVENT, D.CONDITIONAL), (E.BOUNDARY_EVENT, D.COMPENSATE),
        (E.BOUNDARY_EVENT, D.CANCEL),
    }  # fmt: skip
    assert wanted - seen == set()


def test_corpus_covers_loops_boundaries_event_subprocesses_and_collaborations() -> None:
    nodes = list(_all_nodes())
    loops = [node.loop for _, _, node in nodes if node.loop is not None]
    multi = [loop for loop in loops if isinstance(loop, MultiInstance)]
    assert any(not m.is_sequential for m in multi), "parallel multi-instance"
    assert any(m.is_sequential for m in multi), "sequential multi-instance"
    assert any(m.cardinality is not None for m in multi), "multi-instance by cardinality"
    assert any(m.input_collection is not None for m in multi), "multi-instance by collection"
    assert any(m.completion_condition is not None for m in multi), "completion condition"
    assert any(isinstance(loop, StandardLoop) for loop in loops), "standard loop"

    boundaries = [node for _, _, node in nodes if node.type is ElementType.BOUNDARY_EVENT]
    assert {b.cancel_activity for b in boundaries} == {True, False}

    event_sub_starts: list[tuple[Definitions, FlowNode]] = []
    for _, definitions, node in nodes:
        if node.type is ElementType.START_EVENT and node.parent_id is not None:
            process = next(p for p in definitions.processes if node.id in p.elements)
            if process.elements[node.parent_id].type is ElementType.EVENT_SUB_PROCESS:
                event_sub_starts.append((definitions, node))
    assert {n.is_interrupting for _, n in event_sub_starts} == {True, False}
    start_kinds = {d.type for _, n in event_sub_starts for d in n.event_definitions}
    assert start_kinds >= {
        EventDefinitionType.MESSAGE,
        EventDefinitionType.TIMER,
        EventDefinitionType.SIGNAL,
        EventDefinitionType.ERROR,
        EventDefinitionType.ESCALATION,
        EventDefinitionType.CONDITIONAL,
    }
    nested = set()
    for definitions, start in event_sub_starts:
        process = next(p for p in definitions.processes if start.id in p.elements)
        assert start.parent_id is not None
        nested.add(process.elements[start.parent_id].parent_id is not None)
    assert nested == {True, False}, "event subprocesses at process level and inside a subprocess"

    assert any(n.is_for_compensation for _, _, n in nodes), "compensation handler"
    assert any(n.compensation_handler for _, _, n in nodes), "compensation boundary -> handler"
    assert any(n.ad_hoc and n.ad_hoc.active_elements_collection for _, _, n in nodes)
    assert any(n.called_element is not None for _, _, n in nodes)

    collaborations = [parsed(p) for p in VALID if parsed(p).collaboration is not None]
    assert any(len(d.collaboration.participants) >= 2 for d in collaborations if d.collaboration)
    assert any({p.is_executable for p in d.processes} == {True, False} for d in collaborations), (
        "a descriptive pool next to an executable one"
    )
    assert any(p.lanes for d in collaborations for p in d.processes), "lanes"
    assert any(d.collaboration.message_flows for d in collaborations if d.collaboration)
    kinds = {a.kind for p in VALID for proc in parsed(p).processes for a in proc.artifacts}
    assert kinds >= {"textAnnotation", "association", "dataObjectReference", "group"}


# -- invalid files -------------------------------------------------------------------------------
def _expectation(path: Path) -> tuple[str, str]:
    match = EXPECT.search(path.read_text(encoding="utf-8"))
    assert match, f"{path.name} has no '<!-- expect: <element_id> <reason> -->' header"
    return match.group(1), match.group(2)


@pytest.mark.parametrize("path", INVALID, ids=_ids(INVALID))
def test_invalid_file_is_refused_naming_the_faulty_element(path: Path) -> None:
    element_id, reason = _expectation(path)
    if element_id == "-":
        with pytest.raises(BpmnParseError):
            parse_bpmn(path)
        return
    with pytest.raises(ModelValidationError) as caught:
        parse_bpmn(path)
    errors = [p for p in caught.value.problems if p.severity == "error"]

    def names_it(problem: Problem) -> bool:
        return problem.element_id == element_id or f"'{element_id}'" in problem.message

    assert any(names_it(p) for p in errors), f"expected a problem about {element_id}: {reason}"
    assert all(names_it(p) for p in errors), f"{path.name} should hold a single fault: {errors}"
