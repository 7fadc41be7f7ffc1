"""Write the neutral graph back to BPMN 2.0 XML that Camunda Modeler and bpmn-js open.

``write_bpmn(definitions)`` writes extensions in the model's preferred dialect (``zeebe:`` for
``camunda8``, ``camunda:`` for ``camunda7``; a plain ``bpmn`` model gets ``zeebe:`` unless its
expressions are JUEL only) and falls back to the other dialect where the preferred one has no
equivalent (``camunda:asyncBefore`` in a Camunda 8 model, ``zeebe:subscription`` correlation
keys in a Camunda 7 one): the parser reads both, so ``parse_bpmn(write_bpmn(d))`` gives ``d``
back. The model's own diagram (DI) is kept; whatever it does not draw gets a generated layout
(:mod:`midflight.model.layout`).

Each flow-node kind is written by the aspects listed for it in ``_NODE_ASPECTS``: small functions
that each add one concern (event definitions, loops, user-task assignment, ...) to the element.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from lxml import etree

from midflight.model.elements import (
    Artifact,
    Bounds,
    Collaboration,
    Definitions,
    Diagram,
    DiagramEdge,
    DiagramShape,
    ElementType,
    EventDefinition,
    EventDefinitionType,
    Expression,
    ExpressionLanguage,
    FlowNode,
    FreshIds,
    IoMapping,
    Lane,
    Listener,
    MultiInstance,
    Process,
    SequenceFlow,
    StandardLoop,
)
from midflight.model.layout import complete_diagrams

__all__ = [
    "NAMESPACES",
    "artifacts_in_document_order",
    "listeners_in_document_order",
    "preferred_dialect",
    "write_bpmn",
]

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
MODELER_NS = "http://camunda.org/schema/modeler/1.0"

#: Prefixes used in written files.
NAMESPACES: dict[str, str] = {
    "bpmn": BPMN_NS,
    "bpmndi": BPMNDI_NS,
    "dc": DC_NS,
    "di": DI_NS,
    "xsi": XSI_NS,
    "camunda": CAMUNDA_NS,
    "zeebe": ZEEBE_NS,
    "modeler": MODELER_NS,
}

#: modeler:executionPlatform(Version) per dialect, so Camunda Modeler picks the right engine.
_PLATFORMS = {"camunda8": ("Camunda Cloud", "8.6.0"), "camunda7": ("Camunda Platform", "7.22.0")}

_Element = etree._Element
_JUEL_VARIABLE = re.compile(r"^\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}$")


def _q(namespace: str, local: str) -> str:
    return f"{{{namespace}}}{local}"


def _bpmn(local: str) -> str:
    return _q(BPMN_NS, local)


def _camunda(local: str) -> str:
    return _q(CAMUNDA_NS, local)


def _zeebe(local: str) -> str:
    return _q(ZEEBE_NS, local)


def _sub(parent: _Element, tag: str, text: str | None = None, **attrs: str | None) -> _Element:
    """Append a child element; attributes whose value is None are left out."""
    child = etree.SubElement(parent, tag, {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        child.text = text
    return child


def _new(tag: str, **attrs: str | None) -> _Element:
    return etree.Element(tag, {k: v for k, v in attrs.items() if v is not None})


def _src(expression: Expression | None) -> str | None:
    return expression.to_source() if expression is not None else None


def _true(flag: bool) -> str | None:
    """``"true"`` for a flag that defaults to false, else nothing."""
    return "true" if flag else None


def _false(flag: bool) -> str | None:
    """``"false"`` for a flag that defaults to true, else nothing."""
    return None if flag else "false"


def _formal(parent: _Element, local: str, expression: Expression) -> _Element:
    child = _sub(parent, _bpmn(local), expression.to_source())
    child.set(_q(XSI_NS, "type"), "bpmn:tFormalExpression")
    return child


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


# -- the element being written ---------------------------------------------------------------
@dataclass(slots=True)
class _NodeXml:
    """A flow node's element and the parts that are put in place after all aspects ran."""

    element: _Element
    extensions: list[_Element] = field(default_factory=list)
    body: list[_Element] = field(default_factory=list)  # after incoming/outgoing
    tail: list[_Element] = field(default_factory=list)  # after the children of a container

    def extension(self, tag: str, **attrs: str | None) -> _Element:
        element = _new(tag, **attrs)
        self.extensions.append(element)
        return element

    def message_definition(self) -> _Element | None:
        for element in self.body:
            if element.tag == _bpmn("messageEventDefinition"):
                return element
        return None


@dataclass(slots=True)
class _Writer:
    definitions: Definitions
    camunda8: bool  # preferred dialect: zeebe (True) or camunda (False)
    # A file using any zeebe: extension is read as Camunda 8, where a call activity without
    # camunda:in variables="all" still propagates everything; such call activities are then
    # written as zeebe:calledElement (second pass) so "propagate nothing" survives.
    zeebe_calls: bool = False
    needs_zeebe_calls: bool = False


_Aspect = Callable[[_Writer, FlowNode, _NodeXml], None]


def _extension_holder(element: _Element, extensions: list[_Element]) -> None:
    """Insert ``extensionElements`` (after documentation) holding ``extensions``."""
    if not extensions:
        return
    holder = _new(_bpmn("extensionElements"))
    holder.extend(extensions)
    index = sum(1 for child in element if child.tag == _bpmn("documentation"))
    element.insert(index, holder)


# -- aspects every flow node may carry -------------------------------------------------------
def _w_async(w: _Writer, node: FlowNode, x: _NodeXml) -> None:
    # Zeebe has no equivalent: always camunda:.
    if node.async_before:
        x.element.set(_camunda("asyncBefore"), "true")
    if node.async_after:
        x.element.set(_camunda("asyncAfter"), "true")
    if not node.exclusive:
        x.element.set(_camunda("exclusive"), "false")


def _w_job(w: _Writer, node: FlowNode, x: _NodeXml) -> None:
    job = node.job
    if job is None:
        return
    # Camunda 7 message events keep their delegate on the message event definition.
    message = x.message_definition()
    target = message if message is not None else x.element

    def camunda_extension(element: _Element) -> None:
        if job.retry_time_cycle is not None:
            ext = _new(_camunda("failedJobRetryTimeCycle"))
            ext.text = job.retry_time_cycle
            if element is x.element:
                x.extensions.append(ext)
            else:
                _extension_holder(element, [ext])

    if job.implementation == "external":
        target.set(_camunda("type"), "external")
        target.set(_camunda("topic"), job.type.to_source())
        camunda_extension(target)
    elif job.implementation in ("class", "expression", "delegateExpression"):
        target.set(_camunda(job.implementation), job.type.text)
        camunda_extension(target)
    elif job.implementation == "connector":
        connector = _new(_camunda("connector"))
        _sub(connector, _camunda("connectorId"), job.type.text)
        if target is x.element:
            x.extensions.append(connector)
        else:
            _extension_holder(target, [connector])
        camunda_extension(target)
    else:  # "job" (and anything unknown): a Zeebe task definition
        x.extension(_zeebe("taskDefinition"), type=job.type.to_source(), retries=_src(job.retries))
        if job.headers:
            headers = x.extension(_zeebe("taskHeaders"))
            for key, value in job.headers:
                _sub(headers, _zeebe("header"), key=key, value=value)
        camunda_extension(x.element)


def _zeebe_expressible(mappings: tuple[IoMapping, ...]) -> bool:
    """Zeebe reads a mapping source as FEEL after ``=``, else as a static string."""
    return all(
        m.source is None
        or m.source.language is ExpressionLanguage.FEEL
        or (
            m.source.language is ExpressionLanguage.STATIC
            and m.source.text.strip() != ""
            and not m.source.text.lstrip().startswith("=")
        )
        for m in mappings
    )


def _w_io(w: _Writer, node: FlowNode, x: _NodeXml) -> None:
    _write_io(w, x, node.input_mappings, node.output_mappings)


def _write_io(
    w: _Writer, x: _NodeXml, inputs: tuple[IoMapping, ...], outputs: tuple[IoMapping, ...]
) -> None:
    zeebe_io: _Element | None = None
    camunda_io: _Element | None = None
    for mappings, zeebe_tag, camunda_tag in (
        (inputs, "input", "inputParameter"),
        (outputs, "output", "outputParameter"),
    ):
        if not mappings:
            continue
        if w.camunda8 and _zeebe_expressible(mappings):
            zeebe_io = zeebe_io if zeebe_io is not None else x.extension(_zeebe("ioMapping"))
            for m in mappings:
                _sub(zeebe_io, _zeebe(zeebe_tag), source=_src(m.source), target=m.target)
        else:
            camunda_io = (
                camunda_io if camunda_io is not None else x.extension(_camunda("inputOutput"))
            )
            for m in mappings:
                _sub(camunda_io, _camunda(camunda_tag), _src(m.source), name=m.target)


def _listener_order(listener: Listener) -> tuple[int, int]:
    return (0 if listener.kind == "execution" else 1, 1 if listener.implementation == "job" else 0)


def listeners_in_document_order(listeners: tuple[Listener, ...]) -> tuple[Listener, ...]:
    """Listeners in the order ``write_bpmn`` writes (and the parser reads) them: execution
    before task listeners, Camunda 7 delegates before Camunda 8 job listeners, stable
    otherwise."""
    return tuple(sorted(listeners, key=_listener_order))


def _write_listeners(listeners: tuple[Listener, ...], extensions: list[_Element]) -> None:
    holders: dict[str, _Element] = {}
    for listener in listeners_in_document_order(listeners):
        kind = listener.kind if listener.kind in ("execution", "task") else "execution"
        if listener.implementation == "job":
            if kind not in holders:
                holders[kind] = _new(_zeebe(f"{kind}Listeners"))
                extensions.append(holders[kind])
            _sub(
                holders[kind],
                _zeebe(f"{kind}Listener"),
                eventType=listener.event,
                type=listener.job_type.to_source(),
                retries=_src(listener.retries),
            )
        elif listener.implementation == "script":
            element = _new(_camunda(f"{kind}Listener"), event=listener.event)
            _sub(element, _camunda("script"), listener.job_type.text, scriptFormat="javascript")
            extensions.append(element)
        else:
            attribute = listener.implementation
            if attribute not in ("class", "expression", "delegateExpression"):
                attribute = "class"
            extensions.append(
                _new(
                    _camunda(f"{kind}Listener"),
                    event=listener.event,
                    **{attribute: listener.job_type.text},
                )
            )


def _w_listeners(w: _Writer, node: FlowNode, x: _NodeXml) -> None:
    _write_listeners(node.listeners, x.extensions)


def _write_properties(
    w: _Writer, properties: tuple[tuple[str, str], ...], extensions: list[_Element]
) -> None:
    if not properties:
        return
    namespace = ZEEBE_NS if w.camunda8 else CAMUNDA_NS
    holder = _new(_q(namespace, "properties"))
    for name, value in properties:
        _sub(holder, _q(namespace, "property"), name=name, value=value)
    extensions.append(holder)


def _w_properties(w: _Writer, node: FlowNode, x: _NodeXml) -> None:
    _write_properties(w, node.properties, x.extensions)


# -- events ----------------------------------------------------------------------------------
def _ed_message(w: _Writer, d: EventDefinition, e: _Element) -> None:
    if d.ref:
        e.set("messageRef", d.ref)


def _ed_timer(w: _Writer, d: EventDefinition, e: _Element) -> None:
    if d.timer is not None:
        _formal(e, d.timer.kind.value, d.timer.expression)


def _ed_signal(w: _Writer, d: EventDefinition, e: _Element) -> None:
    if d.ref:
        e.set("signalRef", d.ref)


def _ed_error(w: _Writer, d: EventDefinition, e: _Element) -> None:
    if d.ref:
        e.set("errorRef", d.ref)
    if d.error_code_variable is not None:
        e.set(_camunda("errorCodeVariable"), d.error_code_variable)
    if d.error_message_variable is not None:
        e.set(_camunda("errorMessageVariable"), d.error_message_variable)


def _ed_escalation(w: _Writer, d: EventDefinition, e: _Element) -> None:
    if d.ref:
        e.set("escalationRef", d.ref)


def _ed_conditional(w: _Writer, d: EventDefinition, e: _Element) -> None:
    if d.variable_name is not None:
        e.set(_camunda("variableName"), d.variable_name)
    if d.variable_events:
        e.set(_camunda("variableEvents"), ", ".join(d.variable_events))
    if d.condition is not None:
        _formal(e, "condition", d.condition)


def _ed_link(w: _Writer, d: EventDefinition, e: _Element) -> None:
    if d.link_name is not None:
        e.set("name", d.link_name)


def _ed_compensate(w: _Writer, d: EventDefinition, e: _Element) -> None:
    if d.activity_ref:
        e.set("activityRef", d.activity_ref)
    if not d.wait_for_completion:
        e.set("waitForCompletion", "false")


def _ed_none(w: _Writer, d: EventDefinition, e: _Element) -> None:
    """Terminate and cancel event definitions carry nothing."""


_EVENT_DEFINITION_WRITERS: dict[
    EventDefinitionType, Callable[[_Writer, EventDefinition, _Element], None]
] = {
    EventDefinitionType.MESSAGE: _ed_message,
    EventDefinitionType.TIMER: _ed_timer,
    EventDefinitionType.SIGNAL: _ed_signal,
    EventDefinitionType.ERROR: _ed_error,
    EventDefinitionType.ESCALATION: _ed_escalation,
    EventDefinitionType.CONDITIONAL: _ed_conditional,
    EventDefinitionType.LINK: _ed_link,
    EventDefinitionType.TERMINATE: _ed_none,
    EventDefinitionType.COMPENSATE: _ed_compensate,
    EventDefinitionType.CANCEL: _ed_none,
}


def _w_event(w: _Writer, node: FlowNode, x: _NodeXml) -> None:
    if node.parallel_multiple:
        x.element.set("parallelMultiple", "true")
    for definition in node.event_definitions:
        element = _new(_bpmn(f"{definition.type.value}EventDefinition"), id=definition.id)
        _EVENT_DEFINITION_WRITERS[definition.type](w, definition, element)
        x.body.append(element)


def _w_start_event(w: _Writer, node: FlowNode, x: _NodeXml) -> None:
    if not node.is_interrupting:
        x.element.set("isInterrupting", "false")


def _w_boundary_event(w: _Writer, node: FlowNode, x: _NodeXml) -> None:
    # attachedToRef right after id/name, as bpmn-js writes it.
    x.element.set("attachedToRef", node.attached_to or "")
    if not node.cancel_activity:
        x.element.set("cancelActivity", "false")


# -- activities and gateways -----------------------------------------------------------------
def _w_default(w: _Writer, node: FlowNode, x: _NodeXml) -> None:
    if node.default_flow:
        x.element.set("default", node.default_flow)


def _w_activity(w: _Writer, node: FlowNode, x: _NodeXml) -> None:
    _w_default(w, node, x)
    if node.is_for_compensation:
        x.element.set("isForCompensation", "true")
    if isinstance(node.loop, MultiInstance):
        x.body.append(_multi_instance(w, node.loop))
    elif isinstance(node.loop, StandardLoop):
        loop = node.loop
        element = _new(
            _bpmn("standardLoopCharacteristics"),
            testBefore=_true(loop.test_before),
            loopMaximum=str(loop.loop_maximum) if loop.loop_maximum is not None else None,
        )
        if loop.loop_condition is not None:
            _formal(element, "loopCondition", loop.loop_condition)
        x.body.append(element)


def _multi_instance(w: _Writer, loop: MultiInstance) -> _Element:
    element = _new(
        _bpmn("multiInstanceLoopCharacteristics"),
        isSequential=_true(loop.is_sequential),
    )
    if loop.async_before:
        element.set(_camunda("asyncBefore"), "true")
    if loop.async_after:
        element.set(_camunda("asyncAfter"), "true")
    collection = loop.input_collection
    juel_collection = collection is not None and collection.language is ExpressionLanguage.JUEL
    needs_zeebe = (
        loop.output_collection is not None
        or loop.output_element is not None
        or (collection is not None and not juel_collection)
    )
    if juel_collection and collection is not None:
        element.set(_camunda("collection"), collection.text)
    if w.camunda8 or needs_zeebe:
        zeebe = _new(
            _zeebe("loopCharacteristics"),
            inputCollection=None if juel_collection else _src(collection),
            inputElement=loop.input_element,
            outputCollection=loop.output_collection,
            outputElement=_src(loop.output_element),
        )
        if len(zeebe.attrib):
            _extension_holder(element, [zeebe])
    elif loop.input_element is not None:
        element.set(_camunda("elementVariable"), loop.input_element)
    if loop.cardinality is not None:
        _formal(element, "loopCardinality", loop.cardinality)
    if loop.completion_condition is not None:
        _formal(element, "completionCondition", loop.completion_condition)
    return element


def _w_user_task(w: _Writer, node: FlowNode, x: _NodeXml) -> None:
    task = node.user_task
    if task is None:
        return
    if w.camunda8:
        groups: tuple[tuple[str, tuple[tuple[str, Expression | None], ...]], ...] = (
            (
                "assignmentDefinition",
                (
                    ("assignee", task.assignee),
                    ("candidateGroups", task.candidate_groups),
                    ("candidateUsers", task.candidate_users),
                ),
            ),
            ("taskSchedule", (("dueDate", task.due_date), ("followUpDate", task.follow_up_date))),
            ("priorityDefinition", (("priority", task.priority),)),
        )
        for tag, values in groups:
            attrs = {name: _src(value) for name, value in values if value is not None}
            if attrs:
                x.extension(_zeebe(tag), **attrs)
        if task.form_key is not None or task.form_id is not None:
            x.extension(_zeebe("formDefinition"), formKey=task.form_key, formId=task.form_id)
    else:
        for name, value in (
            ("assignee", task.assignee),
            ("candidateGroups", task.candidate_groups),
            ("candidateUsers", task.candidate_users),
            ("dueDate", task.due_date),
            ("followUpDate", task.follow_up_date),
            ("priority", task.priority),
        ):
            if value is not None:
                x.element.set(_camunda(name), value.to_source())
        if task.form_key:
            x.element.set(_camunda("formKey"), task.form_key)
        if task.form_id:
            x.element.set(_camunda("formRef"), task.form_id)
    if task.camunda_user_task:
        x.extension(_zeebe("userTask"))


def _w_message_ref(w: _Writer, node: FlowNode, x: _NodeXml) -> None:
    if node.message_ref:
        x.element.set("messageRef", node.message_ref)


def _w_script(w: _Writer, node: FlowNode, x: _NodeXml) -> None:
    script = node.script
    if script is None:
        return
    if w.camunda8 and script.format == "feel" and script.resource is None:
        x.extension(
            _zeebe("script"),
            expression=f"={script.body}",
            resultVariable=script.result_variable,
        )
        return
    if script.format:
        x.element.set("scriptFormat", script.format)
    if script.result_variable:
        x.element.set(_camunda("resultVariable"), script.result_variable)
    if script.resource:
        x.element.set(_camunda("resource"), script.resource)
    if script.body or script.resource is None:
        body = _new(_bpmn("script"))
        body.text = script.body
        x.body.append(body)


def _w_called_decision(w: _Writer, node: FlowNode, x: _NodeXml) -> None:
    decision = node.called_decision
    if decision is None:
        return
    zeebe_fits = (
        decision.version is None
        and decision.map_decision_result is None
        and decision.binding in ("latest", "deployment", "versionTag")
    )
    if (w.camunda8 and zeebe_fits) or not decision.decision_id.text:
        x.extension(
            _zeebe("calledDecision"),
            decisionId=decision.decision_id.to_source(),
            resultVariable=decision.result_variable,
            bindingType=decision.binding if decision.binding != "latest" else None,
            versionTag=decision.version_tag,
        )
        return
    element = x.element
    element.set(_camunda("decisionRef"), decision.decision_id.to_source())
    for name, value in (
        ("decisionRefBinding", decision.binding if decision.binding != "latest" else None),
        ("decisionRefVersion", decision.version),
        ("decisionRefVersionTag", decision.version_tag),
        ("mapDecisionResult", decision.map_decision_result),
        ("resultVariable", decision.result_variable),
    ):
        if value is not None:
            element.set(_camunda(name), value)


def _camunda_in_out(tag: str, mapping: IoMapping) -> _Element | None:
    source = mapping.source
    if source is None:
        return None  # camunda:in/out without a source cannot be written
    match = (
        _JUEL_VARIABLE.match(source.text) if source.language is ExpressionLanguage.JUEL else None
    )
    if match is not None:
        return _new(_camunda(tag), source=match.group(1), target=mapping.target)
    return _new(_camunda(tag), sourceExpression=source.to_source(), target=mapping.target)


def _w_called_element(w: _Writer, node: FlowNode, x: _NodeXml) -> None:
    called = node.called_element
    if called is None:
        return
    camunda_only = (
        called.version is not None
        or called.inputs
        or called.outputs
        or called.business_key is not None
        or called.binding == "version"
    )
    propagates_all = called.propagate_all_parent_variables and called.propagate_all_child_variables
    if not camunda_only and not propagates_all:
        w.needs_zeebe_calls = True
    if (w.camunda8 or w.zeebe_calls) and not camunda_only:
        x.extension(
            _zeebe("calledElement"),
            processId=called.process_id.to_source(),
            bindingType=called.binding if called.binding != "latest" else None,
            versionTag=called.version_tag,
            propagateAllParentVariables=_false(called.propagate_all_parent_variables),
            propagateAllChildVariables=_false(called.propagate_all_child_variables),
        )
        return
    element = x.element
    element.set("calledElement", called.process_id.to_source())
    for name, value in (
        ("calledElementBinding", called.binding if called.binding != "latest" else None),
        ("calledElementVersion", called.version),
        ("calledElementVersionTag", called.version_tag),
    ):
        if value is not None:
            element.set(_camunda(name), value)
    if called.business_key is not None:
        x.extension(_camunda("in"), businessKey=called.business_key.to_source())
    if called.propagate_all_parent_variables:
        x.extension(_camunda("in"), variables="all")
    for mapping in called.inputs:
        written = _camunda_in_out("in", mapping)
        if written is not None:
            x.extensions.append(written)
    if called.propagate_all_child_variables:
        x.extension(_camunda("out"), variables="all")
    for mapping in called.outputs:
        written = _camunda_in_out("out", mapping)
        if written is not None:
            x.extensions.append(written)


def _w_event_sub_process(w: _Writer, node: FlowNode, x: _NodeXml) -> None:
    x.element.set("triggeredByEvent", "true")


def _w_ad_hoc(w: _Writer, node: FlowNode, x: _NodeXml) -> None:
    ad_hoc = node.ad_hoc
    if ad_hoc is None:
        return
    if ad_hoc.ordering != "Parallel":
        x.element.set("ordering", ad_hoc.ordering)
    if not ad_hoc.cancel_remaining_instances:
        x.element.set("cancelRemainingInstances", "false")
    zeebe = _new(
        _zeebe("adHoc"),
        activeElementsCollection=_src(ad_hoc.active_elements_collection),
        outputCollection=ad_hoc.output_collection,
        outputElement=_src(ad_hoc.output_element),
    )
    if len(zeebe.attrib):
        x.extensions.append(zeebe)
    if ad_hoc.completion_condition is not None:
        holder = _new(_bpmn("holder"))
        x.tail.append(_formal(holder, "completionCondition", ad_hoc.completion_condition))


#: Written for every flow node (the parser reads them from any node).
_COMMON_ASPECTS: tuple[_Aspect, ...] = (_w_async, _w_job, _w_io, _w_listeners, _w_properties)
_EVENT: tuple[_Aspect, ...] = (_w_event,)
_ACTIVITY: tuple[_Aspect, ...] = (_w_activity,)
_GATEWAY: tuple[_Aspect, ...] = (_w_default,)

#: Flow-node kind -> the aspects that write it (before the common ones).
_NODE_ASPECTS: dict[ElementType, tuple[_Aspect, ...]] = {
    ElementType.START_EVENT: (*_EVENT, _w_start_event),
    ElementType.END_EVENT: _EVENT,
    ElementType.INTERMEDIATE_CATCH_EVENT: _EVENT,
    ElementType.INTERMEDIATE_THROW_EVENT: _EVENT,
    ElementType.BOUNDARY_EVENT: (_w_boundary_event, *_EVENT),
    ElementType.TASK: _ACTIVITY,
    ElementType.MANUAL_TASK: _ACTIVITY,
    ElementType.USER_TASK: (*_ACTIVITY, _w_user_task),
    ElementType.SERVICE_TASK: _ACTIVITY,
    ElementType.SEND_TASK: (*_ACTIVITY, _w_message_ref),
    ElementType.RECEIVE_TASK: (*_ACTIVITY, _w_message_ref),
    ElementType.SCRIPT_TASK: (*_ACTIVITY, _w_script),
    ElementType.BUSINESS_RULE_TASK: (*_ACTIVITY, _w_called_decision),
    ElementType.CALL_ACTIVITY: (*_ACTIVITY, _w_called_element),
    ElementType.SUB_PROCESS: _ACTIVITY,
    ElementType.EVENT_SUB_PROCESS: (_w_event_sub_process, *_ACTIVITY),
    ElementType.AD_HOC_SUB_PROCESS: (*_ACTIVITY, _w_ad_hoc),
    ElementType.TRANSACTION: _ACTIVITY,
    ElementType.EXCLUSIVE_GATEWAY: _GATEWAY,
    ElementType.PARALLEL_GATEWAY: _GATEWAY,
    ElementType.INCLUSIVE_GATEWAY: _GATEWAY,
    ElementType.EVENT_BASED_GATEWAY: _GATEWAY,
    ElementType.COMPLEX_GATEWAY: _GATEWAY,
}


def _node_tag(node: FlowNode) -> str:
    if node.type is ElementType.EVENT_SUB_PROCESS:
        return "subProcess"
    if node.type is ElementType.UNSUPPORTED:
        return node.xml_tag or "task"
    return node.type.value


def _write_node(w: _Writer, parent: _Element, process: Process, node: FlowNode) -> None:
    x = _NodeXml(_sub(parent, _bpmn(_node_tag(node)), id=node.id, name=node.name))
    if node.documentation is not None:
        _sub(x.element, _bpmn("documentation"), node.documentation)
    if node.type is not ElementType.UNSUPPORTED:
        for aspect in (*_NODE_ASPECTS.get(node.type, ()), *_COMMON_ASPECTS):
            aspect(w, node, x)
    _extension_holder(x.element, x.extensions)
    for flow_id in node.incoming:
        _sub(x.element, _bpmn("incoming"), flow_id)
    for flow_id in node.outgoing:
        _sub(x.element, _bpmn("outgoing"), flow_id)
    x.element.extend(x.body)
    if node.is_scope_container:
        _write_scope(w, x.element, process, node.id)
    x.element.extend(x.tail)


# -- flows, artifacts, scopes, lanes, processes ----------------------------------------------
def _write_flow(w: _Writer, parent: _Element, flow: SequenceFlow) -> None:
    element = _sub(
        parent,
        _bpmn("sequenceFlow"),
        id=flow.id,
        name=flow.name,
        sourceRef=flow.source_id,
        targetRef=flow.target_id,
    )
    if flow.documentation is not None:
        _sub(element, _bpmn("documentation"), flow.documentation)
    extensions: list[_Element] = []
    _write_listeners(flow.listeners, extensions)
    _extension_holder(element, extensions)
    if flow.condition is not None:
        _formal(element, "conditionExpression", flow.condition)


_ARTIFACT_REF_ATTRIBUTE = {
    "dataObjectReference": "dataObjectRef",
    "dataStoreReference": "dataStoreRef",
    "group": "categoryValueRef",
}


def _write_artifact(parent: _Element, artifact: Artifact) -> None:
    element = _sub(
        parent,
        _bpmn(artifact.kind),
        id=artifact.id,
        name=artifact.name,
        sourceRef=artifact.source_ref,
        targetRef=artifact.target_ref,
    )
    if artifact.ref is not None:
        element.set(_ARTIFACT_REF_ATTRIBUTE.get(artifact.kind, "dataObjectRef"), artifact.ref)
    if artifact.text is not None:
        _sub(element, _bpmn("text"), artifact.text)


def artifacts_in_document_order(process: Process) -> tuple[Artifact, ...]:
    """The process's artifacts in the order ``write_bpmn`` puts them in the file (and so the
    order the parser reads them back in): a container's own artifacts follow its flow nodes,
    so those of nested subprocesses come first."""
    by_parent: dict[str | None, list[Artifact]] = {}
    for artifact in process.artifacts:
        by_parent.setdefault(artifact.parent_id, []).append(artifact)
    order: list[Artifact] = []

    def visit(container_id: str | None) -> None:
        for node in process.children_of(container_id):
            if node.is_scope_container:
                visit(node.id)
        order.extend(by_parent.pop(container_id, ()))

    visit(None)
    for rest in by_parent.values():  # artifacts in unknown containers: at the process level
        order.extend(rest)
    return tuple(order)


def _write_scope(w: _Writer, parent: _Element, process: Process, container_id: str | None) -> None:
    for node in process.children_of(container_id):
        _write_node(w, parent, process, node)
    for flow in process.flows.values():
        if flow.parent_id == container_id:
            _write_flow(w, parent, flow)
    known = set(process.elements)
    for artifact in process.artifacts:
        parent_id = artifact.parent_id if artifact.parent_id in known else None
        if parent_id == container_id:
            _write_artifact(parent, artifact)


def _write_lanes(parent: _Element, owner_id: str, lanes: tuple[Lane, ...]) -> None:
    lane_set = _sub(
        parent,
        _bpmn("laneSet" if parent.tag != _bpmn("lane") else "childLaneSet"),
        id=f"LaneSet_{owner_id}",
    )
    for lane in lanes:
        element = _sub(lane_set, _bpmn("lane"), id=lane.id, name=lane.name)
        for ref in lane.flow_node_refs:
            _sub(element, _bpmn("flowNodeRef"), ref)
        if lane.child_lanes:
            _write_lanes(element, lane.id, lane.child_lanes)


def _write_process(w: _Writer, parent: _Element, process: Process) -> None:
    element = _sub(
        parent,
        _bpmn("process"),
        id=process.id,
        name=process.name,
        isExecutable="true" if process.is_executable else "false",
    )
    if process.documentation is not None:
        _sub(element, _bpmn("documentation"), process.documentation)
    extensions: list[_Element] = []
    if process.version_tag is not None:
        if w.camunda8:
            extensions.append(_new(_zeebe("versionTag"), value=process.version_tag))
        else:
            element.set(_camunda("versionTag"), process.version_tag)
    if process.history_time_to_live is not None:
        element.set(_camunda("historyTimeToLive"), process.history_time_to_live)
    _write_properties(w, process.properties, extensions)
    _write_listeners(process.listeners, extensions)
    _extension_holder(element, extensions)
    if process.lanes:
        _write_lanes(element, process.id, process.lanes)
    _write_scope(w, element, process, None)


def _write_collaboration(parent: _Element, collaboration: Collaboration) -> None:
    element = _sub(parent, _bpmn("collaboration"), id=collaboration.id, name=collaboration.name)
    for participant in collaboration.participants:
        _sub(
            element,
            _bpmn("participant"),
            id=participant.id,
            name=participant.name,
            processRef=participant.process_ref,
        )
    for flow in collaboration.message_flows:
        _sub(
            element,
            _bpmn("messageFlow"),
            id=flow.id,
            name=flow.name,
            sourceRef=flow.source_ref,
            targetRef=flow.target_ref,
            messageRef=flow.message_ref,
        )
    for artifact in collaboration.artifacts:
        _write_artifact(element, artifact)


def _write_root_elements(parent: _Element, definitions: Definitions) -> None:
    for message in definitions.messages.values():
        element = _sub(parent, _bpmn("message"), id=message.id, name=message.name)
        if message.correlation_key is not None:  # zeebe:subscription in any dialect
            _extension_holder(
                element,
                [_new(_zeebe("subscription"), correlationKey=message.correlation_key.to_source())],
            )
    for signal in definitions.signals.values():
        _sub(parent, _bpmn("signal"), id=signal.id, name=signal.name)
    for error in definitions.errors.values():
        _sub(parent, _bpmn("error"), id=error.id, name=error.name, errorCode=error.error_code)
    for escalation in definitions.escalations.values():
        _sub(
            parent,
            _bpmn("escalation"),
            id=escalation.id,
            name=escalation.name,
            escalationCode=escalation.escalation_code,
        )


# -- diagram interchange ---------------------------------------------------------------------
def _bounds(parent: _Element, bounds: Bounds) -> None:
    _sub(
        parent,
        _q(DC_NS, "Bounds"),
        x=_number(bounds.x),
        y=_number(bounds.y),
        width=_number(bounds.width),
        height=_number(bounds.height),
    )


def _write_shape(plane: _Element, shape: DiagramShape, ids: FreshIds) -> None:
    element = _sub(
        plane,
        _q(BPMNDI_NS, "BPMNShape"),
        id=ids.fresh(f"{shape.element_id}_di"),
        bpmnElement=shape.element_id,
    )
    if shape.is_horizontal is not None:
        element.set("isHorizontal", "true" if shape.is_horizontal else "false")
    if shape.is_expanded is not None:
        element.set("isExpanded", "true" if shape.is_expanded else "false")
    _bounds(element, shape.bounds)
    if shape.label is not None:
        _bounds(_sub(element, _q(BPMNDI_NS, "BPMNLabel")), shape.label)


def _write_edge(plane: _Element, edge: DiagramEdge, ids: FreshIds) -> None:
    element = _sub(
        plane,
        _q(BPMNDI_NS, "BPMNEdge"),
        id=ids.fresh(f"{edge.element_id}_di"),
        bpmnElement=edge.element_id,
    )
    for point in edge.waypoints:
        _sub(element, _q(DI_NS, "waypoint"), x=_number(point.x), y=_number(point.y))
    if edge.label is not None:
        _bounds(_sub(element, _q(BPMNDI_NS, "BPMNLabel")), edge.label)


def _write_diagram(parent: _Element, diagram: Diagram, ids: FreshIds) -> None:
    diagram_id = diagram.id if diagram.id and diagram.id not in ids.used else None
    element = _sub(
        parent,
        _q(BPMNDI_NS, "BPMNDiagram"),
        id=diagram_id or ids.fresh("BPMNDiagram_1"),
    )
    if diagram_id:
        ids.used.add(diagram_id)
    plane = _sub(
        element,
        _q(BPMNDI_NS, "BPMNPlane"),
        id=ids.fresh(f"BPMNPlane_{diagram.plane_element_id or '1'}"),
        bpmnElement=diagram.plane_element_id or None,
    )
    for shape in diagram.shapes:
        _write_shape(plane, shape, ids)
    for edge in diagram.edges:
        _write_edge(plane, edge, ids)


# -- dialect ---------------------------------------------------------------------------------
def _expressions(value: Any) -> Iterator[Expression]:
    if isinstance(value, Expression):
        yield value
    elif isinstance(value, tuple):
        for item in value:
            yield from _expressions(item)
    elif is_dataclass(value) and not isinstance(value, type):
        for f in fields(value):
            if f.name not in ("line", "_index"):
                yield from _expressions(getattr(value, f.name))


def preferred_dialect(definitions: Definitions) -> str:
    """``camunda8`` or ``camunda7``: the model's own, or for plain BPMN the one its expressions
    suggest (JUEL only: Camunda 7, otherwise Camunda 8)."""
    if definitions.dialect in ("camunda7", "camunda8"):
        return definitions.dialect
    languages: set[ExpressionLanguage] = set()
    for process in definitions.processes:
        for node in process.elements.values():
            languages.update(e.language for e in _expressions(node))
        for flow in process.flows.values():
            languages.update(e.language for e in _expressions(flow))
    if ExpressionLanguage.JUEL in languages and ExpressionLanguage.FEEL not in languages:
        return "camunda7"
    return "camunda8"


# -- entry point -----------------------------------------------------------------------------
def write_bpmn(definitions: Definitions, *, layout: bool = True) -> str:
    """BPMN 2.0 XML for ``definitions``.

    Args:
        definitions: the model.
        layout: add generated DI for whatever the model's own DI does not draw (everything,
            when it has none). With ``False`` only the model's own DI is written.

    Returns:
        The XML text, with an XML declaration.
    """
    dialect = preferred_dialect(definitions)
    w = _Writer(definitions, camunda8=dialect == "camunda8")
    root = _semantic_tree(w, dialect)
    if not w.camunda8 and w.needs_zeebe_calls and ZEEBE_NS in _used_namespaces(root).values():
        w = _Writer(definitions, camunda8=False, zeebe_calls=True)
        root = _semantic_tree(w, dialect)
    diagrams = complete_diagrams(definitions) if layout else definitions.diagrams
    ids = FreshIds({e.get("id") or "" for e in root.iter() if isinstance(e.tag, str)})
    for diagram in diagrams:
        _write_diagram(root, diagram, ids)
    etree.cleanup_namespaces(root, top_nsmap=_used_namespaces(root))
    text: bytes = etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8")
    return text.decode("utf-8")


def _semantic_tree(w: _Writer, dialect: str) -> _Element:
    """The definitions element with everything but the diagrams."""
    definitions = w.definitions
    root = etree.Element(
        _bpmn("definitions"),
        {"id": definitions.id, "targetNamespace": definitions.target_namespace},
        nsmap=NAMESPACES,
    )
    if definitions.exporter is not None:
        root.set("exporter", definitions.exporter)
    if definitions.exporter_version is not None:
        root.set("exporterVersion", definitions.exporter_version)
    platform, version = _PLATFORMS[dialect]
    root.set(_q(MODELER_NS, "executionPlatform"), platform)
    root.set(_q(MODELER_NS, "executionPlatformVersion"), version)
    if definitions.collaboration is not None:
        _write_collaboration(root, definitions.collaboration)
    for process in definitions.processes:
        _write_process(w, root, process)
    _write_root_elements(root, definitions)
    return root


def _used_namespaces(root: _Element) -> dict[str, str]:
    """The prefixes of ``NAMESPACES`` that the document uses (plus bpmn, always)."""
    used = {BPMN_NS}
    for element in root.iter():
        if isinstance(element.tag, str):
            used.add(etree.QName(element).namespace or "")
            used.update(etree.QName(name).namespace or "" for name in element.attrib)
            if element.get(_q(XSI_NS, "type")):
                used.add(XSI_NS)
    return {prefix: uri for prefix, uri in NAMESPACES.items() if uri in used}
