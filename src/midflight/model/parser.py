"""Read BPMN 2.0 XML into the neutral graph of :mod:`midflight.model.elements`.

Camunda 7 (``camunda:``), Camunda 8 (``zeebe:``) and plain bpmn.io models are all read; a file
may mix both dialects. The XML is parsed defensively: no DTDs, no entities, no network, a size
limit, and every lxml failure becomes a :class:`~midflight.errors.BpmnParseError`.

Layout of this module:

* loading and safe XML parsing (``_load_source``, ``_parse_xml``);
* small XML and expression helpers;
* one reader per flow-node kind, bound to BPMN tags in ``_NODE_KINDS``;
* readers for event definitions (``_EVENT_DEFINITIONS``), extension elements shared by all
  nodes, flows, artifacts, lanes, processes, root elements and diagrams;
* :func:`parse_bpmn`, which reads and (by default) validates.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Required, TypedDict

from lxml import etree

from midflight.errors import BpmnParseError, ModelValidationError, Problem
from midflight.model.elements import (
    AdHoc,
    Artifact,
    Bounds,
    CalledDecision,
    CalledElement,
    Collaboration,
    Definitions,
    Diagram,
    DiagramEdge,
    DiagramShape,
    ElementType,
    Error,
    Escalation,
    EventDefinition,
    EventDefinitionType,
    Expression,
    ExpressionLanguage,
    FlowNode,
    FreshIds,
    IoMapping,
    JobDefinition,
    Lane,
    Listener,
    Message,
    MessageFlow,
    MultiInstance,
    Participant,
    Point,
    Process,
    Script,
    SequenceFlow,
    Signal,
    StandardLoop,
    TimerDefinition,
    TimerKind,
    UserTaskDefinition,
)
from midflight.model.validate import validate_definitions

__all__ = [
    "BPMNDI_NS",
    "BPMN_NS",
    "CAMUNDA_NS",
    "DC_NS",
    "DI_NS",
    "MAX_SOURCE_BYTES",
    "ZEEBE_NS",
    "parse_bpmn",
]

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
MODELER_NS = "http://camunda.org/schema/modeler/1.0"

#: Largest BPMN source accepted, in bytes.
MAX_SOURCE_BYTES = 20 * 1024 * 1024

Source = str | bytes | os.PathLike[str]
_Element = etree._Element

#: Namespaces whose ``id`` attributes must be unique in a file.
_ID_NAMESPACES = frozenset({BPMN_NS, BPMNDI_NS, DC_NS, DI_NS})

# ------------------------------------------------------------------------------------------
# Loading and safe XML parsing
# ------------------------------------------------------------------------------------------

_DOCTYPE = re.compile(r"<!DOCTYPE|<!ENTITY")
_ROOT_START = re.compile(r"<[A-Za-z_]")
_XML_DECLARATION = re.compile(r"^(\s*<\?xml[^>]*?)\s+encoding\s*=\s*(['\"])[^'\"]*\2")


def _load_source(source: Source) -> tuple[bytes, str]:
    """The raw bytes of ``source`` and a short description of where they came from."""
    if isinstance(source, bytes):
        _check_size(len(source), "the BPMN source")
        return source, "the BPMN source"
    if isinstance(source, str) and source.lstrip(" \t\r\n\ufeff").startswith("<"):
        text = source.lstrip("\ufeff")
        # lxml refuses str input with an encoding declaration; we hand it UTF-8 bytes instead.
        text = _XML_DECLARATION.sub(r"\1", text, count=1)
        data = text.encode("utf-8")
        _check_size(len(data), "the BPMN source")
        return data, "the BPMN source"
    path = os.fspath(source)
    try:
        size = os.stat(path).st_size
        _check_size(size, f"BPMN file '{path}'")
        with open(path, "rb") as stream:
            data = stream.read(MAX_SOURCE_BYTES + 1)
    except FileNotFoundError:
        raise BpmnParseError(f"cannot read BPMN file '{path}': no such file") from None
    except IsADirectoryError:
        raise BpmnParseError(f"cannot read BPMN file '{path}': it is a directory") from None
    except OSError as exc:
        raise BpmnParseError(f"cannot read BPMN file '{path}': {exc.strerror or exc}") from None
    _check_size(len(data), f"BPMN file '{path}'")
    return data, f"BPMN file '{path}'"


def _check_size(size: int, origin: str) -> None:
    if size > MAX_SOURCE_BYTES:
        raise BpmnParseError(
            f"{origin} is {size} bytes, larger than the limit of {MAX_SOURCE_BYTES} bytes"
        )


def _scan_text(data: bytes) -> str:
    """``data`` as text good enough to look for markup (byte-preserving for 8-bit encodings)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    return data.decode("latin-1")


def _reject_doctype(data: bytes, origin: str) -> None:
    """Refuse DOCTYPE and entity declarations before lxml sees them (entity bombs, XXE)."""
    text = _scan_text(data)
    root_start = _ROOT_START.search(text)
    prolog = text[: root_start.start()] if root_start else text
    match = _DOCTYPE.search(prolog)
    if match is not None:
        line = prolog.count("\n", 0, match.start()) + 1
        raise BpmnParseError(
            f"{origin} contains a DOCTYPE or entity declaration; BPMN files must not declare "
            "DTDs or entities (they allow entity-expansion bombs and external file access)",
            line=line,
        )


def _parse_xml(data: bytes, origin: str) -> _Element:
    _reject_doctype(data, origin)
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=False,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (exc.lineno, 0)
        raise BpmnParseError(
            f"{origin} is not well-formed XML: {exc.msg}", line=line, column=column
        ) from None
    except (ValueError, etree.LxmlError) as exc:
        raise BpmnParseError(f"{origin} cannot be read as XML: {exc}") from None
    if root is None:
        raise BpmnParseError(f"{origin} holds no XML element")
    docinfo = root.getroottree().docinfo
    if getattr(docinfo, "doctype", "") or docinfo.internalDTD is not None:
        raise BpmnParseError(
            f"{origin} contains a DOCTYPE declaration; BPMN files must not declare DTDs or "
            "entities",
            line=1,
        )
    if root.tag != _bpmn("definitions"):
        raise BpmnParseError(
            f"{origin} is not a BPMN 2.0 model: the root element is '{_describe_tag(root)}', "
            f"expected 'definitions' in namespace {BPMN_NS}",
            line=_line(root),
        )
    return root


def _describe_tag(element: _Element) -> str:
    qname = etree.QName(element)
    return f"{{{qname.namespace}}}{qname.localname}" if qname.namespace else qname.localname


# ------------------------------------------------------------------------------------------
# XML helpers
# ------------------------------------------------------------------------------------------


def _bpmn(local: str) -> str:
    return f"{{{BPMN_NS}}}{local}"


def _line(element: _Element) -> int | None:
    """The 1-based source line of ``element`` (lxml-stubs mistype ``sourceline``)."""
    line: object = element.sourceline
    return line if isinstance(line, int) else None


def _is_element(node: _Element) -> bool:
    return isinstance(node.tag, str)


def _namespace(element: _Element) -> str | None:
    tag = element.tag
    if not isinstance(tag, str) or not tag.startswith("{"):
        return None
    return tag[1 : tag.index("}")]


def _local_name(element: _Element) -> str:
    tag = element.tag
    return tag[tag.index("}") + 1 :] if tag.startswith("{") else tag


def _children(element: _Element) -> list[_Element]:
    return [child for child in element if _is_element(child)]


def _children_ns(element: _Element, namespace: str, local: str) -> list[_Element]:
    return list(element.iterchildren(f"{{{namespace}}}{local}"))


def _bpmn_children(element: _Element, local: str) -> list[_Element]:
    return _children_ns(element, BPMN_NS, local)


def _bpmn_child(element: _Element, local: str) -> _Element | None:
    return element.find(_bpmn(local))


def _extensions(element: _Element, namespace: str, local: str) -> list[_Element]:
    """``<namespace:local>`` elements directly inside ``element``'s extensionElements."""
    return element.findall(f"{{{BPMN_NS}}}extensionElements/{{{namespace}}}{local}")


def _extension(element: _Element, namespace: str, local: str) -> _Element | None:
    return element.find(f"{{{BPMN_NS}}}extensionElements/{{{namespace}}}{local}")


def _owner_id(element: _Element) -> str | None:
    """The id of the nearest enclosing BPMN element that has one (the event, task, flow...)."""
    current: _Element | None = element.getparent()
    while current is not None:
        if _namespace(current) == BPMN_NS and current.get("id"):
            return current.get("id")
        current = current.getparent()
    return None


def _text(element: _Element) -> str:
    return "".join(str(part) for part in element.itertext())


def _child_text(element: _Element, local: str) -> str | None:
    child = _bpmn_child(element, local)
    return _text(child) if child is not None else None


def _camunda(element: _Element, name: str) -> str | None:
    return element.get(f"{{{CAMUNDA_NS}}}{name}")


def _flag(value: str | None, default: bool) -> bool:
    return default if value is None else value.strip().lower() == "true"


def _documentation(element: _Element) -> str | None:
    parts = [_text(doc) for doc in _bpmn_children(element, "documentation")]
    return "\n".join(parts) if parts else None


def _properties(element: _Element) -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str]] = []
    for namespace in (CAMUNDA_NS, ZEEBE_NS):
        for holder in _extensions(element, namespace, "properties"):
            for prop in _children_ns(holder, namespace, "property"):
                found.append((prop.get("name") or "", prop.get("value") or ""))
    return tuple(found)


# ------------------------------------------------------------------------------------------
# Expression helpers
# ------------------------------------------------------------------------------------------


def _expr(raw: str | None) -> Expression | None:
    """An attribute or element value as an expression (``=`` FEEL, ``${}`` JUEL, else static)."""
    if raw is None or not raw.strip():
        return None
    return Expression.from_source(raw)


def _feel(raw: str | None) -> Expression | None:
    """A value Camunda 8 always evaluates as FEEL, with or without the leading ``=``."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    return Expression((text[1:] if text.startswith("=") else text).strip(), ExpressionLanguage.FEEL)


def _zeebe_mapping_source(raw: str | None) -> Expression | None:
    """A ``zeebe:input``/``zeebe:output`` source: FEEL after a leading ``=``, else a static string.

    Zeebe reads a source without ``=`` as a string literal (``source="Me"`` maps the text ``Me``,
    quotes and ``@`` included), never as FEEL.
    """
    if raw is None or not raw.strip():
        return None
    if raw.lstrip().startswith("="):
        return _feel(raw)
    return Expression(raw, ExpressionLanguage.STATIC)


def _juel_variable(name: str) -> Expression:
    """A Camunda 7 attribute naming a variable, as the equivalent JUEL expression."""
    if "${" in name or "#{" in name:
        return Expression(name.strip(), ExpressionLanguage.JUEL)
    return Expression(f"${{{name.strip()}}}", ExpressionLanguage.JUEL)


# ------------------------------------------------------------------------------------------
# Reading context
# ------------------------------------------------------------------------------------------


@dataclass
class _Context:
    """State shared while reading one file."""

    dialect: str
    problems: list[Problem] = field(default_factory=list)
    executable: bool = False  # is the process being read executable?
    ids: set[str] = field(default_factory=set)  # every id of the file, generated ones too

    def problem(self, element_id: str | None, line: int | None, message: str, code: str) -> None:
        """Record a fault inside a process; binds only executable processes."""
        if self.executable:
            self.problems.append(Problem(element_id, line, message, code))


@dataclass
class _ProcessParts:
    """What one process accumulates while its scopes are read."""

    nodes: dict[str, FlowNode] = field(default_factory=dict)
    flows: dict[str, SequenceFlow] = field(default_factory=dict)
    artifacts: list[Artifact] = field(default_factory=list)


class _NodeFields(TypedDict, total=False):
    """Keyword arguments of ``FlowNode`` collected by the readers below."""

    id: Required[str]
    type: Required[ElementType]
    name: str | None
    parent_id: str | None
    documentation: str | None
    event_definitions: tuple[EventDefinition, ...]
    attached_to: str | None
    cancel_activity: bool
    is_interrupting: bool
    parallel_multiple: bool
    default_flow: str | None
    async_before: bool
    async_after: bool
    exclusive: bool
    is_for_compensation: bool
    input_mappings: tuple[IoMapping, ...]
    output_mappings: tuple[IoMapping, ...]
    listeners: tuple[Listener, ...]
    job: JobDefinition | None
    user_task: UserTaskDefinition | None
    script: Script | None
    called_element: CalledElement | None
    called_decision: CalledDecision | None
    message_ref: str | None
    loop: MultiInstance | StandardLoop | None
    ad_hoc: AdHoc | None
    properties: tuple[tuple[str, str], ...]
    xml_tag: str | None
    line: int | None


_FieldReader = Callable[[_Context, _Element, _NodeFields], None]

# ------------------------------------------------------------------------------------------
# Extension elements every flow node may carry
# ------------------------------------------------------------------------------------------


def _read_async(ctx: _Context, element: _Element, fields: _NodeFields) -> None:
    before = _camunda(element, "asyncBefore") or _camunda(element, "async")
    fields["async_before"] = _flag(before, False)
    fields["async_after"] = _flag(_camunda(element, "asyncAfter"), False)
    fields["exclusive"] = _flag(_camunda(element, "exclusive"), True)


def _read_io_mappings(ctx: _Context, element: _Element, fields: _NodeFields) -> None:
    inputs: list[IoMapping] = []
    outputs: list[IoMapping] = []
    for io in _extensions(element, CAMUNDA_NS, "inputOutput"):
        for param in _children_ns(io, CAMUNDA_NS, "inputParameter"):
            inputs.append(_camunda_parameter(ctx, param))
        for param in _children_ns(io, CAMUNDA_NS, "outputParameter"):
            outputs.append(_camunda_parameter(ctx, param))
    for io in _extensions(element, ZEEBE_NS, "ioMapping"):
        for mapping in _children_ns(io, ZEEBE_NS, "input"):
            source = _zeebe_mapping_source(mapping.get("source"))
            inputs.append(IoMapping(mapping.get("target") or "", source))
        for mapping in _children_ns(io, ZEEBE_NS, "output"):
            source = _zeebe_mapping_source(mapping.get("source"))
            outputs.append(IoMapping(mapping.get("target") or "", source))
    fields["input_mappings"] = tuple(inputs)
    fields["output_mappings"] = tuple(outputs)


def _camunda_parameter(ctx: _Context, param: _Element) -> IoMapping:
    """A camunda:inputParameter/outputParameter: text, or a nested list, map or script."""
    target = param.get("name") or ""
    nested = _children(param)
    if not nested:
        return IoMapping(target, _expr(_text(param)))
    value = nested[0]
    if value.tag == f"{{{CAMUNDA_NS}}}script":
        fmt = value.get("scriptFormat") or "unknown"
        ctx.problem(
            _owner_id(param),
            _line(param),
            f"parameter '{target}' is a {fmt} script, which Midflight does not execute; "
            "compute the value with an expression instead",
            "unsupported-script",
        )
        return IoMapping(target, Expression(_text(value).strip(), ExpressionLanguage.STATIC))
    # A list or map becomes a FEEL literal, so the variable gets a list or a context.
    return IoMapping(
        target, Expression(_feel_literal(_camunda_value(value)), ExpressionLanguage.FEEL)
    )


def _feel_literal(value: object) -> str:
    """FEEL text for a camunda:list/map value; a JUEL ``${name}`` item reads that variable."""
    if isinstance(value, list):
        return "[" + ", ".join(_feel_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{json.dumps(k)}: {_feel_literal(v)}" for k, v in value.items()) + "}"
        )
    text = str(value)
    inner = text.strip()
    if inner.startswith("${") and inner.endswith("}") and inner[2:-1].strip().isidentifier():
        return inner[2:-1].strip()
    return json.dumps(text)


def _camunda_value(element: _Element) -> object:
    """The JSON-able value of a camunda:list, camunda:map or camunda:value/entry."""
    local = _local_name(element)
    if local == "list":
        return [_camunda_value(child) for child in _children(element)]
    if local == "map":
        return {
            entry.get("key") or "": _camunda_value(entry)
            for entry in _children_ns(element, CAMUNDA_NS, "entry")
        }
    nested = _children(element)
    return _camunda_value(nested[0]) if nested else _text(element)


def _read_listeners(ctx: _Context, element: _Element, fields: _NodeFields) -> None:
    fields["listeners"] = _listeners(element)


def _listeners(element: _Element) -> tuple[Listener, ...]:
    found: list[Listener] = []
    for kind in ("execution", "task"):
        for listener in _extensions(element, CAMUNDA_NS, f"{kind}Listener"):
            found.append(_camunda_listener(kind, listener))
        for holder in _extensions(element, ZEEBE_NS, f"{kind}Listeners"):
            for listener in _children_ns(holder, ZEEBE_NS, f"{kind}Listener"):
                found.append(
                    Listener(
                        kind=kind,
                        event=listener.get("eventType") or "",
                        job_type=_expr(listener.get("type"))
                        or Expression("", ExpressionLanguage.STATIC),
                        implementation="job",
                        retries=_expr(listener.get("retries")),
                    )
                )
    return tuple(found)


def _camunda_listener(kind: str, listener: _Element) -> Listener:
    event = listener.get("event") or ""
    for attribute in ("class", "expression", "delegateExpression"):
        value = listener.get(attribute)
        if value:
            return Listener(kind, event, _job_type(attribute, value), attribute)
    script = _children_ns(listener, CAMUNDA_NS, "script")
    body = _text(script[0]).strip() if script else ""
    if script and not body:
        body = script[0].get("resource") or ""
    return Listener(kind, event, Expression(body, ExpressionLanguage.STATIC), "script")


def _read_properties(ctx: _Context, element: _Element, fields: _NodeFields) -> None:
    fields["properties"] = _properties(element)


def _read_job(ctx: _Context, element: _Element, fields: _NodeFields) -> None:
    job = _zeebe_job(element) or _camunda_job(element)
    if job is None:
        # Camunda 7 message throw events carry the implementation on the event definition.
        definition = _bpmn_child(element, "messageEventDefinition")
        job = _camunda_job(definition) if definition is not None else None
    if job is not None:
        fields["job"] = job


def _zeebe_job(element: _Element) -> JobDefinition | None:
    definition = _extension(element, ZEEBE_NS, "taskDefinition")
    if definition is None:
        return None
    headers = tuple(
        (header.get("key") or "", header.get("value") or "")
        for holder in _extensions(element, ZEEBE_NS, "taskHeaders")
        for header in _children_ns(holder, ZEEBE_NS, "header")
    )
    return JobDefinition(
        type=_expr(definition.get("type")) or Expression("", ExpressionLanguage.STATIC),
        retries=_expr(definition.get("retries")),
        implementation="job",
        headers=headers,
    )


def _job_type(implementation: str, value: str) -> Expression:
    """The job type for a Camunda 7 delegate: its class name or expression text, verbatim.

    Midflight never evaluates a delegate expression; workers subscribe to the text as a type.
    """
    return Expression(value.strip(), ExpressionLanguage.STATIC)


def _camunda_job(element: _Element) -> JobDefinition | None:
    retry = _extension(element, CAMUNDA_NS, "failedJobRetryTimeCycle")
    retry_cycle = _text(retry).strip() or None if retry is not None else None
    if (_camunda(element, "type") or "").strip() == "external":
        topic = _camunda(element, "topic") or ""
        return JobDefinition(
            type=Expression.from_source(topic),
            implementation="external",
            retry_time_cycle=retry_cycle,
        )
    for attribute in ("class", "delegateExpression", "expression"):
        value = _camunda(element, attribute)
        if value:
            return JobDefinition(
                type=_job_type(attribute, value),
                implementation=attribute,
                retry_time_cycle=retry_cycle,
            )
    connector = _extension(element, CAMUNDA_NS, "connector")
    if connector is not None:
        ids = _children_ns(connector, CAMUNDA_NS, "connectorId")
        connector_id = _text(ids[0]).strip() if ids else ""
        return JobDefinition(
            type=Expression(connector_id, ExpressionLanguage.STATIC),
            implementation="connector",
            retry_time_cycle=retry_cycle,
        )
    return None


#: Applied to every flow node before its kind-specific readers.
_COMMON_READERS: tuple[_FieldReader, ...] = (
    _read_async,
    _read_io_mappings,
    _read_listeners,
    _read_properties,
    _read_job,
)

# ------------------------------------------------------------------------------------------
# Event definitions
# ------------------------------------------------------------------------------------------


def _read_message_definition(ctx: _Context, element: _Element) -> EventDefinition:
    return EventDefinition(
        EventDefinitionType.MESSAGE, id=element.get("id"), ref=element.get("messageRef")
    )


def _read_timer_definition(ctx: _Context, element: _Element) -> EventDefinition:
    timer: TimerDefinition | None = None
    for kind in TimerKind:
        text = _child_text(element, kind.value)
        expression = _expr(text)
        if expression is not None:
            timer = TimerDefinition(kind, expression)
            break
    return EventDefinition(EventDefinitionType.TIMER, id=element.get("id"), timer=timer)


def _read_signal_definition(ctx: _Context, element: _Element) -> EventDefinition:
    return EventDefinition(
        EventDefinitionType.SIGNAL, id=element.get("id"), ref=element.get("signalRef")
    )


def _read_error_definition(ctx: _Context, element: _Element) -> EventDefinition:
    return EventDefinition(
        EventDefinitionType.ERROR,
        id=element.get("id"),
        ref=element.get("errorRef"),
        error_code_variable=_camunda(element, "errorCodeVariable"),
        error_message_variable=_camunda(element, "errorMessageVariable"),
    )


def _read_escalation_definition(ctx: _Context, element: _Element) -> EventDefinition:
    return EventDefinition(
        EventDefinitionType.ESCALATION, id=element.get("id"), ref=element.get("escalationRef")
    )


def _read_conditional_definition(ctx: _Context, element: _Element) -> EventDefinition:
    condition = _bpmn_child(element, "condition")
    events = _camunda(element, "variableEvents") or ""
    owner = _owner_id(element)
    return EventDefinition(
        EventDefinitionType.CONDITIONAL,
        id=element.get("id"),
        condition=_condition(ctx, condition, owner) if condition is not None else None,
        variable_name=_camunda(element, "variableName"),
        variable_events=tuple(e.strip() for e in events.split(",") if e.strip()),
    )


def _read_link_definition(ctx: _Context, element: _Element) -> EventDefinition:
    return EventDefinition(
        EventDefinitionType.LINK, id=element.get("id"), link_name=element.get("name")
    )


def _read_terminate_definition(ctx: _Context, element: _Element) -> EventDefinition:
    return EventDefinition(EventDefinitionType.TERMINATE, id=element.get("id"))


def _read_compensate_definition(ctx: _Context, element: _Element) -> EventDefinition:
    return EventDefinition(
        EventDefinitionType.COMPENSATE,
        id=element.get("id"),
        activity_ref=element.get("activityRef"),
        wait_for_completion=_flag(element.get("waitForCompletion"), True),
    )


def _read_cancel_definition(ctx: _Context, element: _Element) -> EventDefinition:
    return EventDefinition(EventDefinitionType.CANCEL, id=element.get("id"))


_EVENT_DEFINITIONS: dict[str, Callable[[_Context, _Element], EventDefinition]] = {
    "messageEventDefinition": _read_message_definition,
    "timerEventDefinition": _read_timer_definition,
    "signalEventDefinition": _read_signal_definition,
    "errorEventDefinition": _read_error_definition,
    "escalationEventDefinition": _read_escalation_definition,
    "conditionalEventDefinition": _read_conditional_definition,
    "linkEventDefinition": _read_link_definition,
    "terminateEventDefinition": _read_terminate_definition,
    "compensateEventDefinition": _read_compensate_definition,
    "cancelEventDefinition": _read_cancel_definition,
}


def _condition(ctx: _Context, element: _Element, owner: str | None) -> Expression | None:
    """A conditionExpression/condition element, honouring its ``language`` attribute."""
    text = _text(element)
    if not text.strip():
        return None
    language = (element.get("language") or "").strip().lower()
    if not language:
        return Expression.from_source(text)
    if "feel" in language:
        return _feel(text)
    if "juel" in language:
        return Expression(text.strip(), ExpressionLanguage.JUEL)
    ctx.problem(
        owner,
        _line(element),
        f"condition {text.strip()!r} is written in '{language}', which Midflight does not "
        "execute; write it as a FEEL (=...) or JUEL (${...}) expression",
        "unsupported-script",
    )
    return Expression(text.strip(), ExpressionLanguage.STATIC)


# ------------------------------------------------------------------------------------------
# Flow-node readers, one per kind
# ------------------------------------------------------------------------------------------


def _read_event(ctx: _Context, element: _Element, fields: _NodeFields) -> None:
    definitions: list[EventDefinition] = []
    for child in _children(element):
        if _namespace(child) != BPMN_NS:
            continue
        reader = _EVENT_DEFINITIONS.get(_local_name(child))
        if reader is not None:
            definitions.append(reader(ctx, child))
        elif _local_name(child) == "eventDefinitionRef":
            ctx.problem(
                fields["id"],
                _line(child),
                f"event '{fields['id']}' refers to a shared event definition (eventDefinitionRef)"
                ", which Midflight does not read; define the event definition inside the event",
                "unsupported-element",
            )
    fields["event_definitions"] = tuple(definitions)
    fields["parallel_multiple"] = _flag(element.get("parallelMultiple"), False)


def _read_start_event(ctx: _Context, element: _Element, fields: _NodeFields) -> None:
    fields["is_interrupting"] = _flag(element.get("isInterrupting"), True)


def _read_boundary_event(ctx: _Context, element: _Element, fields: _NodeFields) -> None:
    fields["attached_to"] = element.get("attachedToRef")
    fields["cancel_activity"] = _flag(element.get("cancelActivity"), True)


def _read_default_flow(ctx: _Context, element: _Element, fields: _NodeFields) -> None:
    fields["default_flow"] = element.get("default")


def _read_activity(ctx: _Context, element: _Element, fields: _NodeFields) -> None:
    _read_default_flow(ctx, element, fields)
    fields["is_for_compensation"] = _flag(element.get("isForCompensation"), False)
    multi = _bpmn_child(element, "multiInstanceLoopCharacteristics")
    standard = _bpmn_child(element, "standardLoopCharacteristics")
    if multi is not None:
        fields["loop"] = _multi_instance(multi)
    elif standard is not None:
        fields["loop"] = _standard_loop(ctx, standard, fields["id"])


def _multi_instance(element: _Element) -> MultiInstance:
    zeebe = _extension(element, ZEEBE_NS, "loopCharacteristics")
    # camunda:collection, else the plain BPMN loopDataInputRef: both name a variable.
    collection = (
        _camunda(element, "collection") or (_child_text(element, "loopDataInputRef") or "").strip()
    )
    input_collection = _juel_variable(collection) if collection else None
    data_item = _bpmn_child(element, "inputDataItem")
    input_element = _camunda(element, "elementVariable") or (
        data_item.get("name") if data_item is not None else None
    )
    output_collection: str | None = None
    output_element: Expression | None = None
    if zeebe is not None:
        input_collection = _expr(zeebe.get("inputCollection")) or input_collection
        input_element = zeebe.get("inputElement") or input_element
        output_collection = zeebe.get("outputCollection")
        output_element = _expr(zeebe.get("outputElement"))
    return MultiInstance(
        is_sequential=_flag(element.get("isSequential"), False),
        cardinality=_expr(_child_text(element, "loopCardinality")),
        input_collection=input_collection,
        input_element=input_element,
        output_collection=output_collection,
        output_element=output_element,
        completion_condition=_expr(_child_text(element, "completionCondition")),
        async_before=_flag(_camunda(element, "asyncBefore"), False),
        async_after=_flag(_camunda(element, "asyncAfter"), False),
    )


def _standard_loop(ctx: _Context, element: _Element, owner: str) -> StandardLoop:
    raw_maximum = element.get("loopMaximum")
    maximum: int | None = None
    if raw_maximum is not None:
        try:
            maximum = int(raw_maximum.strip())
        except ValueError:
            ctx.problem(
                owner,
                _line(element),
                f"loopMaximum {raw_maximum!r} of '{owner}' is not a whole number",
                "invalid-value",
            )
    return StandardLoop(
        loop_condition=_expr(_child_text(element, "loopCondition")),
        test_before=_flag(element.get("testBefore"), False),
        loop_maximum=maximum,
    )


def _read_user_task(ctx: _Context, element: _Element, fields: _NodeFields) -> None:
    assignment = _extension(element, ZEEBE_NS, "assignmentDefinition")
    schedule = _extension(element, ZEEBE_NS, "taskSchedule")
    form = _extension(element, ZEEBE_NS, "formDefinition")
    priority = _extension(element, ZEEBE_NS, "priorityDefinition")

    def pick(zeebe: _Element | None, zeebe_name: str, camunda_name: str) -> Expression | None:
        value = zeebe.get(zeebe_name) if zeebe is not None else None
        return _expr(value) or _expr(_camunda(element, camunda_name))

    form_key = _camunda(element, "formKey")
    form_id = _camunda(element, "formRef")
    if form is not None:
        form_key = form.get("formKey") or form.get("externalReference") or form_key
        form_id = form.get("formId") or form_id
    fields["user_task"] = UserTaskDefinition(
        assignee=pick(assignment, "assignee", "assignee"),
        candidate_groups=pick(assignment, "candidateGroups", "candidateGroups"),
        candidate_users=pick(assignment, "candidateUsers", "candidateUsers"),
        due_date=pick(schedule, "dueDate", "dueDate"),
        follow_up_date=pick(schedule, "followUpDate", "followUpDate"),
        priority=pick(priority, "priority", "priority"),
        form_key=form_key,
        form_id=form_id,
        camunda_user_task=_extension(element, ZEEBE_NS, "userTask") is not None,
    )


def _read_script_task(ctx: _Context, element: _Element, fields: _NodeFields) -> None:
    zeebe = _extension(element, ZEEBE_NS, "script")
    body = _child_text(element, "script")
    fmt = element.get("scriptFormat")
    resource = _camunda(element, "resource")
    if zeebe is not None and not fmt and body is None:
        expression = _feel(zeebe.get("expression"))
        fields["script"] = Script(
            format="feel",
            body=expression.text if expression is not None else "",
            result_variable=zeebe.get("resultVariable"),
        )
        return
    if fmt or body is not None or resource:
        fmt = (fmt or "").strip().lower()
        text = (body or "").strip()
        if fmt == "feel" and text.startswith("="):
            text = text[1:].strip()
        fields["script"] = Script(
            format=fmt,
            body=text,
            result_variable=_camunda(element, "resultVariable"),
            resource=resource,
        )


def _read_business_rule_task(ctx: _Context, element: _Element, fields: _NodeFields) -> None:
    zeebe = _extension(element, ZEEBE_NS, "calledDecision")
    if zeebe is not None:
        fields["called_decision"] = CalledDecision(
            decision_id=_expr(zeebe.get("decisionId")) or Expression("", ExpressionLanguage.STATIC),
            result_variable=zeebe.get("resultVariable"),
            binding=zeebe.get("bindingType") or "latest",
            version_tag=zeebe.get("versionTag"),
        )
        return
    decision = _camunda(element, "decisionRef")
    if decision:
        fields["called_decision"] = CalledDecision(
            decision_id=Expression.from_source(decision),
            result_variable=_camunda(element, "resultVariable"),
            binding=_camunda(element, "decisionRefBinding") or "latest",
            version=_camunda(element, "decisionRefVersion"),
            map_decision_result=_camunda(element, "mapDecisionResult"),
            version_tag=_camunda(element, "decisionRefVersionTag"),
        )


def _read_message_ref(ctx: _Context, element: _Element, fields: _NodeFields) -> None:
    fields["message_ref"] = element.get("messageRef")


def _read_call_activity(ctx: _Context, element: _Element, fields: _NodeFields) -> None:
    zeebe = _extension(element, ZEEBE_NS, "calledElement")
    if zeebe is not None:
        process_id = _expr(zeebe.get("processId"))
        if process_id is not None:
            fields["called_element"] = CalledElement(
                process_id=process_id,
                binding=zeebe.get("bindingType") or "latest",
                version_tag=zeebe.get("versionTag"),
                propagate_all_parent_variables=_flag(
                    zeebe.get("propagateAllParentVariables"), True
                ),
                propagate_all_child_variables=_flag(zeebe.get("propagateAllChildVariables"), True),
            )
        return
    process_id = _expr(element.get("calledElement"))
    if process_id is None:
        return
    inputs, all_in, business_key = _camunda_variable_mappings(element, "in")
    outputs, all_out, _ = _camunda_variable_mappings(element, "out")
    camunda7 = ctx.dialect == "camunda7"
    fields["called_element"] = CalledElement(
        process_id=process_id,
        binding=_camunda(element, "calledElementBinding") or "latest",
        version=_camunda(element, "calledElementVersion"),
        version_tag=_camunda(element, "calledElementVersionTag"),
        # Camunda 7 passes nothing unless told to; plain BPMN keeps the Camunda 8 default.
        propagate_all_parent_variables=all_in or not camunda7,
        propagate_all_child_variables=all_out or not camunda7,
        inputs=inputs,
        outputs=outputs,
        business_key=business_key,
    )


def _camunda_variable_mappings(
    element: _Element, direction: str
) -> tuple[tuple[IoMapping, ...], bool, Expression | None]:
    """camunda:in / camunda:out: (mappings, variables="all" present, business key)."""
    mappings: list[IoMapping] = []
    all_variables = False
    business_key: Expression | None = None
    for mapping in _extensions(element, CAMUNDA_NS, direction):
        if (mapping.get("variables") or "").strip() == "all":
            all_variables = True
        if mapping.get("businessKey") is not None:
            business_key = _expr(mapping.get("businessKey"))
        source = mapping.get("source")
        source_expression = mapping.get("sourceExpression")
        target = mapping.get("target")
        if source:
            mappings.append(IoMapping(target or source, _juel_variable(source)))
        elif source_expression:
            mappings.append(IoMapping(target or "", Expression.from_source(source_expression)))
    return tuple(mappings), all_variables, business_key


def _read_sub_process(ctx: _Context, element: _Element, fields: _NodeFields) -> None:
    if _flag(element.get("triggeredByEvent"), False):
        fields["type"] = ElementType.EVENT_SUB_PROCESS


def _read_ad_hoc(ctx: _Context, element: _Element, fields: _NodeFields) -> None:
    zeebe = _extension(element, ZEEBE_NS, "adHoc")
    fields["ad_hoc"] = AdHoc(
        active_elements_collection=_expr(zeebe.get("activeElementsCollection"))
        if zeebe is not None
        else None,
        completion_condition=_expr(_child_text(element, "completionCondition")),
        cancel_remaining_instances=_flag(element.get("cancelRemainingInstances"), True),
        ordering=element.get("ordering") or "Parallel",
        output_collection=zeebe.get("outputCollection") if zeebe is not None else None,
        output_element=_expr(zeebe.get("outputElement")) if zeebe is not None else None,
    )


_EVENT = (_read_event,)
_ACTIVITY = (_read_activity,)
_GATEWAY = (_read_default_flow,)

#: BPMN flow-node tag -> (element type, kind-specific readers).
_NODE_KINDS: dict[str, tuple[ElementType, tuple[_FieldReader, ...]]] = {
    "startEvent": (ElementType.START_EVENT, (*_EVENT, _read_start_event)),
    "endEvent": (ElementType.END_EVENT, _EVENT),
    "intermediateCatchEvent": (ElementType.INTERMEDIATE_CATCH_EVENT, _EVENT),
    "intermediateThrowEvent": (ElementType.INTERMEDIATE_THROW_EVENT, _EVENT),
    "boundaryEvent": (ElementType.BOUNDARY_EVENT, (*_EVENT, _read_boundary_event)),
    "task": (ElementType.TASK, _ACTIVITY),
    "manualTask": (ElementType.MANUAL_TASK, _ACTIVITY),
    "userTask": (ElementType.USER_TASK, (*_ACTIVITY, _read_user_task)),
    "serviceTask": (ElementType.SERVICE_TASK, _ACTIVITY),
    "sendTask": (ElementType.SEND_TASK, (*_ACTIVITY, _read_message_ref)),
    "receiveTask": (ElementType.RECEIVE_TASK, (*_ACTIVITY, _read_message_ref)),
    "scriptTask": (ElementType.SCRIPT_TASK, (*_ACTIVITY, _read_script_task)),
    "businessRuleTask": (ElementType.BUSINESS_RULE_TASK, (*_ACTIVITY, _read_business_rule_task)),
    "callActivity": (ElementType.CALL_ACTIVITY, (*_ACTIVITY, _read_call_activity)),
    "subProcess": (ElementType.SUB_PROCESS, (*_ACTIVITY, _read_sub_process)),
    "adHocSubProcess": (ElementType.AD_HOC_SUB_PROCESS, (*_ACTIVITY, _read_ad_hoc)),
    "transaction": (ElementType.TRANSACTION, _ACTIVITY),
    "exclusiveGateway": (ElementType.EXCLUSIVE_GATEWAY, _GATEWAY),
    "parallelGateway": (ElementType.PARALLEL_GATEWAY, _GATEWAY),
    "inclusiveGateway": (ElementType.INCLUSIVE_GATEWAY, _GATEWAY),
    "eventBasedGateway": (ElementType.EVENT_BASED_GATEWAY, _GATEWAY),
    "complexGateway": (ElementType.COMPLEX_GATEWAY, _GATEWAY),
}

#: Artifact tags, read into ``Artifact(kind=<tag>)``.
_ARTIFACT_KINDS = frozenset(
    {
        "textAnnotation",
        "association",
        "dataObject",
        "dataObjectReference",
        "dataStoreReference",
        "group",
    }
)

#: BPMN children of processes and subprocesses that are neither flow nodes nor artifacts.
_NOT_FLOW_NODES = frozenset(
    {
        "documentation",
        "extensionElements",
        "auditing",
        "monitoring",
        "property",
        "laneSet",
        "ioSpecification",
        "ioBinding",
        "supports",
        "resourceRole",
        "performer",
        "humanPerformer",
        "potentialOwner",
        "correlationSubscription",
        "incoming",
        "outgoing",
        "dataInputAssociation",
        "dataOutputAssociation",
        "multiInstanceLoopCharacteristics",
        "standardLoopCharacteristics",
        "completionCondition",
    }
)

# ------------------------------------------------------------------------------------------
# Scopes: processes and subprocesses
# ------------------------------------------------------------------------------------------


def _element_id(ctx: _Context, element: _Element) -> str | None:
    element_id = element.get("id")
    if element_id:
        return element_id
    ctx.problem(
        None,
        _line(element),
        f"bpmn:{_local_name(element)} has no id: give it a unique id attribute",
        "missing-id",
    )
    return None


def _read_scope(
    ctx: _Context, container: _Element, parent_id: str | None, parts: _ProcessParts
) -> None:
    """Read the flow nodes, flows and artifacts directly inside ``container``."""
    for child in _children(container):
        if _namespace(child) != BPMN_NS:
            continue
        local = _local_name(child)
        if local == "sequenceFlow":
            flow = _read_sequence_flow(ctx, child, parent_id)
            if flow is not None:
                parts.flows.setdefault(flow.id, flow)
        elif local in _ARTIFACT_KINDS:
            artifact = _read_artifact(ctx, child, parent_id)
            if artifact is not None:
                parts.artifacts.append(artifact)
        elif local not in _NOT_FLOW_NODES:
            node = _read_flow_node(ctx, child, parent_id)
            if node is None:
                continue
            parts.nodes.setdefault(node.id, node)
            if node.is_scope_container:
                _read_scope(ctx, child, node.id, parts)


def _read_flow_node(ctx: _Context, element: _Element, parent_id: str | None) -> FlowNode | None:
    element_id = _element_id(ctx, element)
    if element_id is None:
        return None
    local = _local_name(element)
    kind = _NODE_KINDS.get(local)
    fields: _NodeFields = {
        "id": element_id,
        "type": kind[0] if kind else ElementType.UNSUPPORTED,
        "name": element.get("name"),
        "parent_id": parent_id,
        "documentation": _documentation(element),
        "line": _line(element),
    }
    if kind is None:
        fields["xml_tag"] = local
        return FlowNode(**fields)
    for reader in (*_COMMON_READERS, *kind[1]):
        reader(ctx, element, fields)
    return FlowNode(**fields)


def _read_sequence_flow(
    ctx: _Context, element: _Element, parent_id: str | None
) -> SequenceFlow | None:
    flow_id = _connection_id(ctx, element)
    if flow_id is None:
        return None
    condition = _bpmn_child(element, "conditionExpression")
    return SequenceFlow(
        id=flow_id,
        source_id=element.get("sourceRef") or "",
        target_id=element.get("targetRef") or "",
        name=element.get("name"),
        condition=_condition(ctx, condition, flow_id) if condition is not None else None,
        parent_id=parent_id,
        listeners=_listeners(element),
        documentation=_documentation(element),
        line=_line(element),
    )


def _connection_id(ctx: _Context, element: _Element) -> str | None:
    """The id of a sequence flow or association, generated when the file gives none.

    Camunda 7 engine resources often leave sequence flows and associations unnamed (Camunda 7
    accepts them). They join two named elements, so ``<Tag>_<source>_<target>`` (``_2``, ``_3``...
    when taken) names them deterministically and survives a rewrite. Without both ends the
    element is ``missing-id`` as before.
    """
    element_id = element.get("id")
    if element_id:
        return element_id
    source, target = element.get("sourceRef"), element.get("targetRef")
    if not source or not target:
        return _element_id(ctx, element)
    local = _local_name(element)
    return FreshIds(ctx.ids).fresh(f"{local[0].upper()}{local[1:]}_{source}_{target}")


def _read_artifact(ctx: _Context, element: _Element, parent_id: str | None) -> Artifact | None:
    artifact_id = (
        _connection_id(ctx, element)
        if _local_name(element) == "association"
        else _element_id(ctx, element)
    )
    if artifact_id is None:
        return None
    text = _child_text(element, "text")
    ref = (
        element.get("dataObjectRef")
        or element.get("dataStoreRef")
        or element.get("categoryValueRef")
    )
    return Artifact(
        id=artifact_id,
        kind=_local_name(element),
        parent_id=parent_id,
        name=element.get("name"),
        text=text,
        source_ref=element.get("sourceRef"),
        target_ref=element.get("targetRef"),
        ref=ref,
        line=_line(element),
    )


def _read_lane(element: _Element) -> Lane:
    refs = tuple(_text(ref).strip() for ref in _bpmn_children(element, "flowNodeRef"))
    children = tuple(
        _read_lane(lane)
        for child_set in _bpmn_children(element, "childLaneSet")
        for lane in _bpmn_children(child_set, "lane")
    )
    return Lane(
        id=element.get("id") or "",
        name=element.get("name"),
        flow_node_refs=refs,
        child_lanes=children,
    )


def _link_nodes(parts: _ProcessParts) -> dict[str, FlowNode]:
    """Fill incoming/outgoing from the flows and compensation handlers from associations."""
    incoming: dict[str, list[str]] = {}
    outgoing: dict[str, list[str]] = {}
    for flow in parts.flows.values():
        outgoing.setdefault(flow.source_id, []).append(flow.id)
        incoming.setdefault(flow.target_id, []).append(flow.id)
    handlers: dict[str, str] = {}
    for artifact in parts.artifacts:
        if artifact.kind == "association" and artifact.source_ref and artifact.target_ref:
            handlers.setdefault(artifact.source_ref, artifact.target_ref)
    nodes: dict[str, FlowNode] = {}
    for node_id, node in parts.nodes.items():
        is_compensation_boundary = node.type is ElementType.BOUNDARY_EVENT and any(
            d.type is EventDefinitionType.COMPENSATE for d in node.event_definitions
        )
        nodes[node_id] = replace(
            node,
            incoming=tuple(incoming.get(node_id, ())),
            outgoing=tuple(outgoing.get(node_id, ())),
            compensation_handler=handlers.get(node_id) if is_compensation_boundary else None,
        )
    return nodes


def _read_process(ctx: _Context, element: _Element) -> Process | None:
    executable = _flag(element.get("isExecutable"), False)
    ctx.executable = executable
    process_id = _element_id(ctx, element)
    if process_id is None:
        ctx.executable = False
        return None
    parts = _ProcessParts()
    _read_scope(ctx, element, None, parts)
    zeebe_version = _extension(element, ZEEBE_NS, "versionTag")
    version_tag = _camunda(element, "versionTag")
    if zeebe_version is not None:
        version_tag = zeebe_version.get("value") or version_tag
    lanes = tuple(
        _read_lane(lane)
        for lane_set in _bpmn_children(element, "laneSet")
        for lane in _bpmn_children(lane_set, "lane")
    )
    ctx.executable = False
    return Process(
        id=process_id,
        name=element.get("name"),
        is_executable=executable,
        version_tag=version_tag,
        elements=_link_nodes(parts),
        flows=parts.flows,
        lanes=lanes,
        artifacts=tuple(parts.artifacts),
        documentation=_documentation(element),
        history_time_to_live=_camunda(element, "historyTimeToLive"),
        properties=_properties(element),
        line=_line(element),
        listeners=_listeners(element),
    )


# ------------------------------------------------------------------------------------------
# Root elements, collaboration and diagrams
# ------------------------------------------------------------------------------------------


def _read_message(element: _Element) -> Message:
    subscription = _extension(element, ZEEBE_NS, "subscription")
    return Message(
        id=element.get("id") or "",
        name=element.get("name"),
        correlation_key=_expr(subscription.get("correlationKey"))
        if subscription is not None
        else None,
    )


def _read_signal(element: _Element) -> Signal:
    return Signal(id=element.get("id") or "", name=element.get("name"))


def _read_error(element: _Element) -> Error:
    return Error(
        id=element.get("id") or "", name=element.get("name"), error_code=element.get("errorCode")
    )


def _read_escalation(element: _Element) -> Escalation:
    return Escalation(
        id=element.get("id") or "",
        name=element.get("name"),
        escalation_code=element.get("escalationCode"),
    )


def _read_collaboration(ctx: _Context, element: _Element) -> Collaboration:
    participants = tuple(
        Participant(id=p.get("id") or "", name=p.get("name"), process_ref=p.get("processRef"))
        for p in _bpmn_children(element, "participant")
    )
    message_flows = tuple(
        MessageFlow(
            id=f.get("id") or "",
            source_ref=f.get("sourceRef") or "",
            target_ref=f.get("targetRef") or "",
            name=f.get("name"),
            message_ref=f.get("messageRef"),
        )
        for f in _bpmn_children(element, "messageFlow")
    )
    artifacts = [
        artifact
        for child in _children(element)
        if _namespace(child) == BPMN_NS and _local_name(child) in _ARTIFACT_KINDS
        for artifact in (_read_artifact(ctx, child, None),)
        if artifact is not None
    ]
    return Collaboration(
        id=element.get("id") or "",
        name=element.get("name"),
        participants=participants,
        message_flows=message_flows,
        artifacts=tuple(artifacts),
    )


def _number(raw: str | None) -> float:
    """A DI coordinate; raises ValueError when missing or not a number."""
    if raw is None:
        raise ValueError("missing")
    return float(raw)


def _read_bounds(holder: _Element) -> Bounds | None:
    """The dc:Bounds inside ``holder``; None when absent or unreadable."""
    found = _children_ns(holder, DC_NS, "Bounds")
    if not found:
        return None
    bounds = found[0]
    try:
        return Bounds(
            x=_number(bounds.get("x")),
            y=_number(bounds.get("y")),
            width=_number(bounds.get("width")),
            height=_number(bounds.get("height")),
        )
    except ValueError:
        return None


def _label_bounds(element: _Element) -> Bounds | None:
    labels = _children_ns(element, BPMNDI_NS, "BPMNLabel")
    return _read_bounds(labels[0]) if labels else None


def _optional_flag(value: str | None) -> bool | None:
    return None if value is None else _flag(value, False)


def _read_shape(element: _Element) -> DiagramShape | None:
    bounds = _read_bounds(element)
    element_id = element.get("bpmnElement")
    if bounds is None or not element_id:
        return None
    return DiagramShape(
        element_id=element_id,
        bounds=bounds,
        is_expanded=_optional_flag(element.get("isExpanded")),
        is_horizontal=_optional_flag(element.get("isHorizontal")),
        label=_label_bounds(element),
    )


def _read_edge(element: _Element) -> DiagramEdge | None:
    element_id = element.get("bpmnElement")
    if not element_id:
        return None
    try:
        waypoints = tuple(
            Point(_number(p.get("x")), _number(p.get("y")))
            for p in _children_ns(element, DI_NS, "waypoint")
        )
    except ValueError:
        return None
    return DiagramEdge(element_id=element_id, waypoints=waypoints, label=_label_bounds(element))


def _read_diagram(element: _Element) -> Diagram:
    planes = _children_ns(element, BPMNDI_NS, "BPMNPlane")
    plane = planes[0] if planes else None
    shapes: list[DiagramShape] = []
    edges: list[DiagramEdge] = []
    if plane is not None:
        for child in _children(plane):
            if child.tag == f"{{{BPMNDI_NS}}}BPMNShape":
                shape = _read_shape(child)
                if shape is not None:
                    shapes.append(shape)
            elif child.tag == f"{{{BPMNDI_NS}}}BPMNEdge":
                edge = _read_edge(child)
                if edge is not None:
                    edges.append(edge)
    return Diagram(
        id=element.get("id") or "",
        plane_element_id=(plane.get("bpmnElement") or "") if plane is not None else "",
        shapes=tuple(shapes),
        edges=tuple(edges),
    )


# ------------------------------------------------------------------------------------------
# Whole-document passes
# ------------------------------------------------------------------------------------------


def _detect_dialect(root: _Element) -> str:
    """``camunda8`` if zeebe extensions are used, ``camunda7`` if camunda ones, else ``bpmn``."""
    used: set[str] = set()
    for element in root.iter():
        if not _is_element(element):
            continue
        namespace = _namespace(element)
        if namespace is not None:
            used.add(namespace)
        used.update(etree.QName(name).namespace or "" for name in element.attrib)
    if ZEEBE_NS in used:
        return "camunda8"
    if CAMUNDA_NS in used:
        return "camunda7"
    declared = set(root.nsmap.values())
    platform = (root.get(f"{{{MODELER_NS}}}executionPlatform") or "").lower()
    if ZEEBE_NS in declared or "cloud" in platform:
        return "camunda8"
    if CAMUNDA_NS in declared or "platform" in platform:
        return "camunda7"
    return "bpmn"


def _duplicate_ids(root: _Element, ids: set[str]) -> list[Problem]:
    """Every id used twice anywhere in the file, with the lines of both uses.

    Every id seen is added to ``ids``.
    """
    first_seen: dict[str, int | None] = {}
    problems: list[Problem] = []
    for element in root.iter():
        if not _is_element(element) or _namespace(element) not in _ID_NAMESPACES:
            continue
        element_id = element.get("id")
        if not element_id:
            continue
        if element_id not in first_seen:
            first_seen[element_id] = _line(element)
            continue
        first = first_seen[element_id]
        problems.append(
            Problem(
                element_id,
                _line(element),
                f"duplicate id '{element_id}' (bpmn:{_local_name(element)} at line "
                f"{_line(element)}, first used at line {first}): ids must be unique in a "
                "file; rename one of them",
                "duplicate-id",
            )
        )
    ids.update(first_seen)
    return problems


_ROOT_ELEMENTS: dict[str, Callable[[_Element], Message | Signal | Error | Escalation]] = {
    "message": _read_message,
    "signal": _read_signal,
    "error": _read_error,
    "escalation": _read_escalation,
}


def _read_definitions(root: _Element) -> Definitions:
    ctx = _Context(dialect=_detect_dialect(root))
    ctx.problems.extend(_duplicate_ids(root, ctx.ids))
    processes: list[Process] = []
    shared: dict[str, dict[str, Message | Signal | Error | Escalation]] = {
        name: {} for name in _ROOT_ELEMENTS
    }
    collaboration: Collaboration | None = None
    diagrams: list[Diagram] = []
    for child in _children(root):
        namespace, local = _namespace(child), _local_name(child)
        if namespace == BPMNDI_NS and local == "BPMNDiagram":
            diagrams.append(_read_diagram(child))
        elif namespace != BPMN_NS:
            continue
        elif local == "process":
            process = _read_process(ctx, child)
            if process is not None:
                processes.append(process)
        elif local == "collaboration" and collaboration is None:
            collaboration = _read_collaboration(ctx, child)
        elif local in _ROOT_ELEMENTS:
            item = _ROOT_ELEMENTS[local](child)
            shared[local].setdefault(item.id, item)
    return Definitions(
        id=root.get("id") or "",
        target_namespace=root.get("targetNamespace") or "http://bpmn.io/schema/bpmn",
        processes=tuple(processes),
        messages={k: v for k, v in shared["message"].items() if isinstance(v, Message)},
        signals={k: v for k, v in shared["signal"].items() if isinstance(v, Signal)},
        errors={k: v for k, v in shared["error"].items() if isinstance(v, Error)},
        escalations={k: v for k, v in shared["escalation"].items() if isinstance(v, Escalation)},
        collaboration=collaboration,
        diagrams=tuple(diagrams),
        exporter=root.get("exporter"),
        exporter_version=root.get("exporterVersion"),
        dialect=ctx.dialect,
        parse_problems=tuple(ctx.problems),
    )


# ------------------------------------------------------------------------------------------
# Entry point
# ------------------------------------------------------------------------------------------


def parse_bpmn(source: Source, *, validate: bool = True) -> Definitions:
    """Read a BPMN 2.0 model.

    Args:
        source: a filesystem path (``str`` or ``os.PathLike``), XML ``bytes``, or XML text (a
            ``str`` whose first non-blank character is ``<``).
        validate: check executable processes with :func:`validate_definitions` and refuse the
            model when any problem is an error.

    Raises:
        BpmnParseError: the source cannot be read: missing file, too large, malformed XML, a
            DOCTYPE/entity declaration, or a root element other than ``bpmn:definitions``.
        ModelValidationError: ``validate`` is true and the model has errors (all problems are
            listed in ``.problems``).
    """
    data, origin = _load_source(source)
    root = _parse_xml(data, origin)
    definitions = _read_definitions(root)
    if validate:
        problems = validate_definitions(definitions)
        if any(problem.severity == "error" for problem in problems):
            raise ModelValidationError(problems)
    return definitions
