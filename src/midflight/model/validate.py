"""Find everything that stops Midflight from executing a model, all at once.

Each rule is a small ``_require_...`` function returning problems; :func:`validate_definitions`
runs all of them. Process rules bind only executable processes (``isExecutable="true"``);
descriptive processes and pools are kept as drawn. Duplicate ids are an error anywhere.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from midflight.errors import ExpressionError, Problem
from midflight.model.elements import (
    Definitions,
    ElementType,
    EventDefinition,
    EventDefinitionType,
    Expression,
    ExpressionLanguage,
    FlowNode,
    Lane,
    MultiInstance,
    Process,
    SequenceFlow,
    StandardLoop,
)
from midflight.model.timers import timer_problem

__all__ = ["validate_definitions"]

_CATCH_EVENTS = frozenset(
    {ElementType.START_EVENT, ElementType.INTERMEDIATE_CATCH_EVENT, ElementType.BOUNDARY_EVENT}
)
_THROW_EVENTS = frozenset({ElementType.INTERMEDIATE_THROW_EVENT, ElementType.END_EVENT})
_CHOOSING_GATEWAYS = frozenset({ElementType.EXCLUSIVE_GATEWAY, ElementType.INCLUSIVE_GATEWAY})
_EMBEDDED_SUB_PROCESSES = frozenset({ElementType.SUB_PROCESS, ElementType.TRANSACTION})
_EVENT_GATEWAY_EVENTS = frozenset(
    {
        EventDefinitionType.MESSAGE,
        EventDefinitionType.TIMER,
        EventDefinitionType.SIGNAL,
        EventDefinitionType.CONDITIONAL,
    }
)
_EXECUTED_SCRIPT_FORMATS = frozenset({"feel", "juel"})


@dataclass(frozen=True, slots=True)
class _Check:
    """One executable process, with the definitions it belongs to."""

    definitions: Definitions
    process: Process


_Rule = Callable[[_Check], list[Problem]]


def validate_definitions(definitions: Definitions) -> list[Problem]:
    """Every problem of ``definitions``: errors refuse the model, warnings are advice.

    Includes what the parser recorded while reading (``Definitions.parse_problems``).
    """
    problems: list[Problem] = [*definitions.parse_problems, *_require_unique_ids(definitions)]
    for process in definitions.processes:
        if process.is_executable:
            check = _Check(definitions, process)
            for rule in _PROCESS_RULES:
                problems.extend(rule(check))
    return _without_repeats(problems)


def _without_repeats(problems: Iterable[Problem]) -> list[Problem]:
    seen: set[tuple[object, ...]] = set()
    kept: list[Problem] = []
    for problem in problems:
        key: tuple[object, ...] = (problem.code, problem.element_id)
        if problem.code != "duplicate-id":
            key = (*key, problem.line, problem.message)
        if key not in seen:
            seen.add(key)
            kept.append(problem)
    return kept


# ------------------------------------------------------------------------------------------
# Wording helpers
# ------------------------------------------------------------------------------------------


def _words(camel: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", camel).lower()


def _describe(node: FlowNode) -> str:
    kind = node.xml_tag if node.type is ElementType.UNSUPPORTED and node.xml_tag else node.type
    return f"{_words(str(kind))} '{node.id}'"


def _error(subject: FlowNode | SequenceFlow, message: str, code: str) -> Problem:
    return Problem(subject.id, subject.line, message, code)


def _definitions_of(node: FlowNode, kind: EventDefinitionType) -> list[EventDefinition]:
    return [d for d in node.event_definitions if d.type is kind]


def _ancestors(process: Process, node: FlowNode) -> Iterator[FlowNode]:
    seen: set[str] = set()
    parent_id = node.parent_id
    while parent_id is not None and parent_id not in seen:
        seen.add(parent_id)
        parent = process.elements.get(parent_id)
        if parent is None:
            return
        yield parent
        parent_id = parent.parent_id


# ------------------------------------------------------------------------------------------
# Definition-wide rules
# ------------------------------------------------------------------------------------------


def _lane_ids(lanes: Iterable[Lane]) -> Iterator[str]:
    for lane in lanes:
        yield lane.id
        yield from _lane_ids(lane.child_lanes)


def _require_unique_ids(definitions: Definitions) -> list[Problem]:
    """Ids shared by two objects of different kinds (the parser reports all others)."""
    owners: list[tuple[str, str, int | None]] = []
    for process in definitions.processes:
        owners.append((process.id, "process", process.line))
        owners.extend((n.id, _words(str(n.type)), n.line) for n in process.elements.values())
        owners.extend((f.id, "sequence flow", f.line) for f in process.flows.values())
        owners.extend((a.id, _words(a.kind), a.line) for a in process.artifacts)
        owners.extend((lane_id, "lane", None) for lane_id in _lane_ids(process.lanes))
    for kind, items in (
        ("message", definitions.messages),
        ("signal", definitions.signals),
        ("error", definitions.errors),
        ("escalation", definitions.escalations),
    ):
        owners.extend((item_id, kind, None) for item_id in items)
    collaboration = definitions.collaboration
    if collaboration is not None:
        owners.append((collaboration.id, "collaboration", None))
        owners.extend((p.id, "participant", None) for p in collaboration.participants)
        owners.extend((f.id, "message flow", None) for f in collaboration.message_flows)
        owners.extend((a.id, _words(a.kind), a.line) for a in collaboration.artifacts)
    first: dict[str, tuple[str, int | None]] = {}
    problems: list[Problem] = []
    for owner_id, kind, line in owners:
        if not owner_id:
            continue
        if owner_id not in first:
            first[owner_id] = (kind, line)
            continue
        other_kind, other_line = first[owner_id]
        where = f" (line {other_line})" if other_line else ""
        problems.append(
            Problem(
                owner_id,
                line,
                f"duplicate id '{owner_id}': used by a {kind} and by a {other_kind}{where}; "
                "ids must be unique in a file, rename one of them",
                "duplicate-id",
            )
        )
    return problems


# ------------------------------------------------------------------------------------------
# Process rules
# ------------------------------------------------------------------------------------------


def _require_known_flow_ends(check: _Check) -> list[Problem]:
    """Sequence flows connect existing elements of the scope the flow is drawn in."""
    process = check.process
    problems: list[Problem] = []
    for flow in process.flows.values():
        for end, attribute, verb in (
            (flow.source_id, "sourceRef", "starts at"),
            (flow.target_id, "targetRef", "points to"),
        ):
            node = process.elements.get(end)
            if not end:
                problems.append(
                    _error(flow, f"sequence flow '{flow.id}' has no {attribute}: set it", "flow")
                )
            elif node is None:
                problems.append(
                    _error(
                        flow,
                        f"sequence flow '{flow.id}' {verb} unknown element '{end}': add the "
                        f"element or correct {attribute}",
                        "flow",
                    )
                )
            elif node.parent_id != flow.parent_id:
                problems.append(
                    _error(
                        flow,
                        f"sequence flow '{flow.id}' lies in {_scope_name(check, flow.parent_id)} "
                        f"but its {attribute} '{end}' lies in "
                        f"{_scope_name(check, node.parent_id)}: a sequence flow cannot cross a "
                        "subprocess border; connect elements of the same scope",
                        "flow-scope",
                    )
                )
    return problems


def _scope_name(check: _Check, scope_id: str | None) -> str:
    return f"process '{check.process.id}'" if scope_id is None else f"subprocess '{scope_id}'"


def _require_boundary_hosts(check: _Check) -> list[Problem]:
    """Boundary events sit on an existing activity of their own scope."""
    process = check.process
    problems: list[Problem] = []
    for node in process.elements.values():
        if node.type is not ElementType.BOUNDARY_EVENT:
            continue
        host = process.elements.get(node.attached_to or "")
        if not node.attached_to:
            message = f"boundary event '{node.id}' is attached to nothing: set attachedToRef"
        elif host is None:
            message = (
                f"boundary event '{node.id}' is attached to unknown element '{node.attached_to}'"
                ": correct attachedToRef"
            )
        elif not host.is_activity:
            message = (
                f"boundary event '{node.id}' is attached to {_describe(host)}, which is not an "
                "activity: attach it to a task, subprocess or call activity"
            )
        elif host.parent_id != node.parent_id:
            message = (
                f"boundary event '{node.id}' is drawn in another scope than its host "
                f"'{host.id}': place it on the host's border"
            )
        else:
            continue
        problems.append(_error(node, message, "boundary"))
    return problems


def _require_proper_default_flows(check: _Check) -> list[Problem]:
    """A default flow leaves its element and carries no condition."""
    process = check.process
    problems: list[Problem] = []
    for node in process.elements.values():
        default = node.default_flow
        if default is None:
            continue
        flow = process.flows.get(default)
        if default not in node.outgoing or flow is None:
            problems.append(
                _error(
                    node,
                    f"the default flow '{default}' of {_describe(node)} is not one of its "
                    "outgoing sequence flows: correct the default attribute",
                    "default-flow",
                )
            )
        elif flow.condition is not None:
            problems.append(
                _error(
                    flow,
                    f"sequence flow '{flow.id}' is the default flow of {_describe(node)} and "
                    "also has a condition: remove the condition (a default flow is taken when "
                    "no other condition holds)",
                    "default-flow",
                )
            )
    return problems


def _require_gateway_conditions(check: _Check) -> list[Problem]:
    """Flows leaving a splitting exclusive/inclusive gateway are conditional or the default."""
    process = check.process
    problems: list[Problem] = []
    for node in process.elements.values():
        flows = [process.flows[f] for f in node.outgoing if f in process.flows]
        if node.type in _CHOOSING_GATEWAYS and len(flows) > 1:
            problems.extend(
                _error(
                    flow,
                    f"sequence flow '{flow.id}' leaves {_describe(node)}, which has several "
                    "outgoing flows, without a condition: add a conditionExpression or make it "
                    "the gateway's default flow",
                    "missing-condition",
                )
                for flow in flows
                if flow.condition is None and flow.id != node.default_flow
            )
        elif node.type is ElementType.PARALLEL_GATEWAY:
            problems.extend(
                Problem(
                    flow.id,
                    flow.line,
                    f"the condition of sequence flow '{flow.id}' is ignored: it leaves "
                    f"{_describe(node)}, which always takes every outgoing flow",
                    "ignored-condition",
                    "warning",
                )
                for flow in flows
                if flow.condition is not None
            )
    return problems


def _reachable_by_definition(process: Process) -> set[str]:
    """Start events, boundary events, event subprocesses, compensation handlers, ad-hoc content."""
    roots: set[str] = set()
    for node in process.elements.values():
        if (
            node.type
            in (ElementType.START_EVENT, ElementType.BOUNDARY_EVENT, ElementType.EVENT_SUB_PROCESS)
            or node.is_for_compensation
        ):
            roots.add(node.id)
        if node.compensation_handler is not None:
            roots.add(node.compensation_handler)
        if any(
            parent.type in (ElementType.EVENT_SUB_PROCESS, ElementType.AD_HOC_SUB_PROCESS)
            for parent in _ancestors(process, node)
        ):
            roots.add(node.id)
    return roots


def _successors(process: Process) -> dict[str, list[str]]:
    """Sequence flows, plus link throw events leading to the link catches of the same name."""
    successors: dict[str, list[str]] = {}
    for flow in process.flows.values():
        successors.setdefault(flow.source_id, []).append(flow.target_id)
    catches: dict[tuple[str | None, str], list[str]] = {}
    for node in process.elements.values():
        if node.type is ElementType.INTERMEDIATE_CATCH_EVENT:
            for link in _definitions_of(node, EventDefinitionType.LINK):
                catches.setdefault((node.parent_id, link.link_name or ""), []).append(node.id)
    for node in process.elements.values():
        if node.type is ElementType.INTERMEDIATE_THROW_EVENT:
            for link in _definitions_of(node, EventDefinitionType.LINK):
                key = (node.parent_id, link.link_name or "")
                successors.setdefault(node.id, []).extend(catches.get(key, ()))
    return successors


def _require_reachable_elements(check: _Check) -> list[Problem]:
    """Every element can be reached from a start event of its scope."""
    process = check.process
    successors = _successors(process)
    roots = _reachable_by_definition(process)
    reached = set(roots)
    queue = deque(roots)
    while queue:
        for target in successors.get(queue.popleft(), ()):
            if target not in reached and target in process.elements:
                reached.add(target)
                queue.append(target)
    # A scope without start events is reported by _require_start_events; do not pile on.
    started = {n.parent_id for n in process.elements.values() if n.type is ElementType.START_EVENT}
    return [
        _error(
            node,
            f"{_describe(node)} cannot be reached from any start event of its scope: connect "
            "it with an incoming sequence flow or remove it",
            "unreachable",
        )
        for node in process.elements.values()
        if node.id not in reached and node.parent_id in started
    ]


def _require_start_events(check: _Check) -> list[Problem]:
    """Processes and embedded subprocesses start somewhere; event subprocesses exactly once."""
    process = check.process
    problems: list[Problem] = []
    if not process.start_events():
        problems.append(
            Problem(
                process.id,
                process.line,
                f"executable process '{process.id}' has no start event: add one",
                "no-start-event",
            )
        )
    for node in process.elements.values():
        starts = process.start_events(node.id)
        if node.type is ElementType.EVENT_SUB_PROCESS and len(starts) != 1:
            problems.append(
                _error(
                    node,
                    f"event subprocess '{node.id}' has {len(starts)} start events: it needs "
                    "exactly one, with the event that triggers it",
                    "no-start-event",
                )
            )
        elif node.type in _EMBEDDED_SUB_PROCESSES and not any(
            not start.event_definitions for start in starts
        ):
            problems.append(
                _error(
                    node,
                    f"{_describe(node)} has no none start event: add a start event without an "
                    "event definition",
                    "no-start-event",
                )
            )
    return problems


# -- expressions -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Slot:
    """An expression found in the model: where it is and whether it must be evaluable."""

    owner: FlowNode | SequenceFlow
    what: str
    expression: Expression
    must_be_expression: bool = False


def _node_expressions(node: FlowNode) -> Iterator[_Slot]:
    def slot(what: str, expression: Expression | None, must: bool = False) -> Iterator[_Slot]:
        if expression is not None:
            yield _Slot(node, what, expression, must)

    for definition in node.event_definitions:
        if definition.timer is not None:
            yield from slot("the timer", definition.timer.expression)
        yield from slot("the condition", definition.condition, must=True)
    for mapping in node.input_mappings:
        yield from slot(f"input mapping '{mapping.target}'", mapping.source)
    for mapping in node.output_mappings:
        yield from slot(f"output mapping '{mapping.target}'", mapping.source)
    for listener in node.listeners:
        yield from slot(f"the {listener.event} listener type", listener.job_type)
        yield from slot(f"the {listener.event} listener retries", listener.retries)
    if node.job is not None:
        yield from slot("the job type", node.job.type)
        yield from slot("the job retries", node.job.retries)
    if node.user_task is not None:
        task = node.user_task
        for what, expression in (
            ("the assignee", task.assignee),
            ("the candidate groups", task.candidate_groups),
            ("the candidate users", task.candidate_users),
            ("the due date", task.due_date),
            ("the follow-up date", task.follow_up_date),
            ("the priority", task.priority),
        ):
            yield from slot(what, expression)
    if node.called_element is not None:
        called = node.called_element
        yield from slot("the called process id", called.process_id)
        yield from slot("the business key", called.business_key)
        for mapping in (*called.inputs, *called.outputs):
            yield from slot(f"variable mapping '{mapping.target}'", mapping.source)
    if node.called_decision is not None:
        yield from slot("the called decision id", node.called_decision.decision_id)
    if isinstance(node.loop, MultiInstance):
        loop = node.loop
        yield from slot("the loop cardinality", loop.cardinality)
        yield from slot("the input collection", loop.input_collection, must=True)
        yield from slot("the output element", loop.output_element)
        yield from slot("the completion condition", loop.completion_condition, must=True)
    elif isinstance(node.loop, StandardLoop):
        yield from slot("the loop condition", node.loop.loop_condition, must=True)
    if node.ad_hoc is not None:
        ad_hoc = node.ad_hoc
        yield from slot("the active elements", ad_hoc.active_elements_collection, must=True)
        yield from slot("the completion condition", ad_hoc.completion_condition, must=True)
        yield from slot("the output element", ad_hoc.output_element, must=True)
    script = node.script
    if script is not None and script.format in _EXECUTED_SCRIPT_FORMATS and script.body:
        language = ExpressionLanguage(script.format)
        yield from slot("the script", Expression(script.body, language))


def _process_expressions(check: _Check) -> Iterator[_Slot]:
    messages = check.definitions.messages
    for node in check.process.elements.values():
        yield from _node_expressions(node)
        for ref in _message_refs(node):
            message = messages.get(ref)
            if message is not None and message.correlation_key is not None:
                yield _Slot(
                    node, f"the correlation key of message '{ref}'", message.correlation_key
                )
    for flow in check.process.flows.values():
        if flow.condition is not None:
            yield _Slot(flow, "the condition", flow.condition, must_be_expression=True)
        for listener in flow.listeners:
            yield _Slot(flow, f"the {listener.event} listener type", listener.job_type)


_Compiler = Callable[[str], object]


def _compilers() -> dict[ExpressionLanguage, _Compiler]:
    """The FEEL and JUEL compilers that can be imported (all of them, once the package is done)."""
    compilers: dict[ExpressionLanguage, _Compiler] = {}
    try:
        from midflight.expr.juel import compile_juel

        compilers[ExpressionLanguage.JUEL] = compile_juel
    except ImportError:  # pragma: no cover - only while the expr package is being built
        pass
    try:
        from midflight.expr.feel import compile_feel

        compilers[ExpressionLanguage.FEEL] = compile_feel
    except ImportError:  # pragma: no cover - only while the expr package is being built
        pass
    return compilers


def _require_parsable_expressions(check: _Check) -> list[Problem]:
    """Every FEEL/JUEL expression parses; conditions and collections are expressions at all."""
    compilers = _compilers()
    problems: list[Problem] = []
    for slot in _process_expressions(check):
        expression = slot.expression
        owner = slot.owner
        name = _describe(owner) if isinstance(owner, FlowNode) else f"sequence flow '{owner.id}'"
        if expression.language is ExpressionLanguage.STATIC:
            if slot.must_be_expression:
                text = expression.text.strip()
                problems.append(
                    _error(
                        owner,
                        f"{slot.what} of {name} is the plain text {text!r}, not an expression: "
                        f"write it as '={text}' (FEEL) or '${{{text}}}' (JUEL)",
                        "invalid-expression",
                    )
                )
            continue
        compiler = compilers.get(expression.language)
        if compiler is None:
            continue
        try:
            compiler(expression.text)
        except ExpressionError as exc:
            problems.append(
                _error(
                    owner,
                    f"{slot.what} of {name} does not parse: {expression.to_source()!r}: "
                    f"{exc.reason}; correct the expression",
                    "invalid-expression",
                )
            )
    return problems


# -- what Midflight does not execute -----------------------------------------------------------


def _unsupported_reason(node: FlowNode) -> str | None:
    if node.type is ElementType.UNSUPPORTED:
        return (
            f"{_describe(node)} is not executed by Midflight: remove it or replace it with a "
            "supported element"
        )
    if node.type is ElementType.COMPLEX_GATEWAY:
        return (
            f"{_describe(node)} is not executed by Midflight: use an inclusive or exclusive "
            "gateway instead"
        )
    if node.type is ElementType.SCRIPT_TASK:
        return _script_reason(node)
    if node.type is ElementType.BUSINESS_RULE_TASK and node.job is None:
        if node.called_decision is not None:
            return (
                f"{_describe(node)} calls a DMN decision, which Midflight does not evaluate: "
                "implement it as a job (zeebe:taskDefinition type=...) handled by a worker"
            )
        return (
            f"{_describe(node)} has no implementation: add a job definition "
            "(zeebe:taskDefinition type=...)"
        )
    return None


def _script_reason(node: FlowNode) -> str | None:
    script = node.script
    if script is None:
        if node.job is None:
            return (
                f"{_describe(node)} has neither a script nor a job definition: add a "
                "zeebe:script FEEL expression or a zeebe:taskDefinition"
            )
        return None
    if script.format not in _EXECUTED_SCRIPT_FORMATS:
        fmt = script.format or "(none)"
        return (
            f"script format '{fmt}' is not executed by Midflight; write the script as a FEEL "
            "expression (zeebe:script) or a job worker"
        )
    if not script.body:
        source = f" (resource '{script.resource}')" if script.resource else ""
        return (
            f"{_describe(node)} has an empty script{source}: write the expression inline "
            "(external script resources are not loaded)"
        )
    return None


def _require_supported_elements(check: _Check) -> list[Problem]:
    """Element kinds, script formats and listener kinds Midflight does not execute."""
    problems: list[Problem] = []
    for node in check.process.elements.values():
        reason = _unsupported_reason(node)
        if reason is not None:
            problems.append(_error(node, reason, "unsupported-element"))
    owners: list[FlowNode | SequenceFlow] = [
        *check.process.elements.values(),
        *check.process.flows.values(),
    ]
    for owner in owners:
        problems.extend(
            _error(
                owner,
                f"the {listener.event} {listener.kind} listener of '{owner.id}' is a script "
                "(camunda:script), which Midflight does not execute: use a job listener "
                "(zeebe:executionListener type=...) or camunda:delegateExpression",
                "unsupported-script",
            )
            for listener in owner.listeners
            if listener.implementation == "script"
        )
    # Listeners on the process itself and "take" listeners on sequence flows are kept in the
    # graph but no job is ever created for them: say so rather than drop them silently.
    process = check.process
    problems.extend(
        Problem(
            process.id,
            process.line,
            f"the {listener.event} execution listener of process '{process.id}' is not run: "
            "Midflight runs execution listeners of flow nodes only; move it to the start or "
            "end event",
            "ignored-listener",
            "warning",
        )
        for listener in process.listeners
        if listener.implementation != "script"
    )
    problems.extend(
        Problem(
            flow.id,
            flow.line,
            f"the {listener.event} listener of sequence flow '{flow.id}' is not run: Midflight "
            "runs execution listeners of flow nodes only; move it to the flow's target",
            "ignored-listener",
            "warning",
        )
        for flow in process.flows.values()
        for listener in flow.listeners
        if listener.implementation != "script"
    )
    return problems


# -- references ----------------------------------------------------------------------------------


def _message_refs(node: FlowNode) -> list[str]:
    refs = [d.ref for d in _definitions_of(node, EventDefinitionType.MESSAGE) if d.ref]
    if node.message_ref:
        refs.append(node.message_ref)
    return refs


def _require_timer_expressions(check: _Check) -> list[Problem]:
    """Every timer has a time; a static one (not an expression) is a valid ISO 8601 value."""
    problems: list[Problem] = []
    for node in check.process.elements.values():
        for definition in _definitions_of(node, EventDefinitionType.TIMER):
            timer = definition.timer
            if timer is None or not timer.expression.text.strip():
                problems.append(
                    _error(
                        node,
                        f"the timer of {_describe(node)} has no time: add a timeDate, "
                        "timeDuration or timeCycle",
                        "timer",
                    )
                )
                continue
            if timer.expression.language is not ExpressionLanguage.STATIC:
                continue  # evaluated when the timer is scheduled
            reason = timer_problem(timer.kind.value, timer.expression.text)
            if reason is not None:
                problems.append(
                    _error(node, f"the {timer.kind.value} of {_describe(node)}: {reason}", "timer")
                )
    return problems


def _require_known_messages(check: _Check) -> list[Problem]:
    """Message events and receive/send tasks refer to declared, named messages."""
    messages = check.definitions.messages
    problems: list[Problem] = []
    for node in check.process.elements.values():
        catches = node.type in _CATCH_EVENTS or node.type is ElementType.RECEIVE_TASK
        refs: list[str | None] = [d.ref for d in _definitions_of(node, EventDefinitionType.MESSAGE)]
        if node.type in (ElementType.RECEIVE_TASK, ElementType.SEND_TASK):
            refs.append(node.message_ref)
        for ref in refs:
            message = messages.get(ref) if ref else None
            if ref is None and catches:
                text = f"{_describe(node)} waits for no message: set messageRef"
            elif ref is not None and message is None:
                text = (
                    f"{_describe(node)} refers to unknown message '{ref}': declare "
                    "<bpmn:message> with that id or correct messageRef"
                )
            elif message is not None and catches and not message.name:
                text = (
                    f"message '{message.id}' awaited by {_describe(node)} has no name: give it "
                    "the name messages are correlated by"
                )
            else:
                continue
            problems.append(_error(node, text, "message"))
    return problems


def _require_known_event_refs(check: _Check) -> list[Problem]:
    """Signal, error and escalation events refer to declared root elements."""
    definitions = check.definitions
    known: dict[EventDefinitionType, tuple[str, Iterable[str]]] = {
        EventDefinitionType.SIGNAL: ("signal", definitions.signals),
        EventDefinitionType.ERROR: ("error", definitions.errors),
        EventDefinitionType.ESCALATION: ("escalation", definitions.escalations),
    }
    problems: list[Problem] = []
    for node in check.process.elements.values():
        for definition in node.event_definitions:
            if definition.type not in known:
                continue
            kind, ids = known[definition.type]
            # Catching any error/escalation is allowed; throwing or signalling needs a ref.
            needs_ref = definition.type is EventDefinitionType.SIGNAL or node.type in _THROW_EVENTS
            if definition.ref is None and needs_ref:
                text = f"{_describe(node)} names no {kind}: set {kind}Ref"
            elif definition.ref is not None and definition.ref not in ids:
                text = (
                    f"{_describe(node)} refers to unknown {kind} '{definition.ref}': declare "
                    f"<bpmn:{kind}> with that id or correct {kind}Ref"
                )
            else:
                continue
            problems.append(_error(node, text, kind))
    return problems


def _require_job_definitions(check: _Check) -> list[Problem]:
    """Service and send tasks are handed to workers, so they need a job type."""
    problems: list[Problem] = []
    for node in check.process.elements.values():
        needs_job = node.type in (ElementType.SERVICE_TASK, ElementType.SEND_TASK)
        if needs_job and node.job is None:
            problems.append(
                _error(
                    node,
                    f"{_describe(node)} has no job definition: add zeebe:taskDefinition "
                    'type="..." (or camunda:type="external" camunda:topic="...")',
                    "job",
                )
            )
        elif node.job is not None and not node.job.type.text.strip():
            problems.append(
                _error(node, f"{_describe(node)} has an empty job type: set its type", "job")
            )
    return problems


def _require_called_elements(check: _Check) -> list[Problem]:
    return [
        _error(
            node,
            f"{_describe(node)} names no process to call: set calledElement (or "
            "zeebe:calledElement processId)",
            "call-activity",
        )
        for node in check.process.elements.values()
        if node.type is ElementType.CALL_ACTIVITY
        and (node.called_element is None or not node.called_element.process_id.text.strip())
    ]


def _require_event_gateway_targets(check: _Check) -> list[Problem]:
    """An event-based gateway leads only to catch events and receive tasks."""
    process = check.process
    problems: list[Problem] = []
    for node in process.elements.values():
        if node.type is not ElementType.EVENT_BASED_GATEWAY:
            continue
        for flow_id in node.outgoing:
            flow = process.flows.get(flow_id)
            target = process.elements.get(flow.target_id) if flow is not None else None
            if target is None or target.type is ElementType.RECEIVE_TASK:
                continue
            kinds = {d.type for d in target.event_definitions}
            catches = target.type is ElementType.INTERMEDIATE_CATCH_EVENT
            if catches and kinds and kinds <= _EVENT_GATEWAY_EVENTS:
                continue
            problems.append(
                _error(
                    node,
                    f"event-based gateway '{node.id}' leads to {_describe(target)}: it may lead "
                    "only to message, timer, signal or conditional catch events and receive "
                    "tasks",
                    "event-gateway",
                )
            )
    return problems


def _require_multi_instance_input(check: _Check) -> list[Problem]:
    return [
        _error(
            node,
            f"multi-instance {_describe(node)} has neither a loop cardinality nor an input "
            "collection: set one of them",
            "multi-instance",
        )
        for node in check.process.elements.values()
        if isinstance(node.loop, MultiInstance)
        and node.loop.cardinality is None
        and node.loop.input_collection is None
    ]


def _require_ad_hoc_output_pairs(check: _Check) -> list[Problem]:
    """An ad-hoc subprocess collects output with both an output collection and an output
    element, or with neither (as Zeebe requires)."""
    problems: list[Problem] = []
    for node in check.process.elements.values():
        ad_hoc = node.ad_hoc
        if ad_hoc is None or bool(ad_hoc.output_collection) == (ad_hoc.output_element is not None):
            continue
        if ad_hoc.output_collection:
            text = (
                f"{_describe(node)} has the output collection "
                f"'{ad_hoc.output_collection}' but no output element: set outputElement to what "
                "each completed inner flow adds to it (e.g. '=result')"
            )
        else:
            text = (
                f"{_describe(node)} has an output element but no output collection: set "
                "outputCollection to the variable that collects it"
            )
        problems.append(_error(node, text, "ad-hoc-output"))
    return problems


def _require_link_targets(check: _Check) -> list[Problem]:
    """Every link throw event has a catch event of the same name in its scope."""
    process = check.process
    catches: set[tuple[str | None, str]] = set()
    for node in process.elements.values():
        if node.type is ElementType.INTERMEDIATE_CATCH_EVENT:
            for link in _definitions_of(node, EventDefinitionType.LINK):
                catches.add((node.parent_id, link.link_name or ""))
    problems: list[Problem] = []
    for node in process.elements.values():
        links = _definitions_of(node, EventDefinitionType.LINK)
        for link in links:
            if not link.link_name:
                text = f"link {_describe(node)} has no link name: set the name of the link"
            elif (
                node.type is ElementType.INTERMEDIATE_THROW_EVENT
                and (node.parent_id, link.link_name) not in catches
            ):
                text = (
                    f"link {_describe(node)} throws to link '{link.link_name}', but no link "
                    "catch event of that name is in the same scope: add one or correct the name"
                )
            else:
                continue
            problems.append(_error(node, text, "link"))
    return problems


_PROCESS_RULES: tuple[_Rule, ...] = (
    _require_known_flow_ends,
    _require_boundary_hosts,
    _require_proper_default_flows,
    _require_gateway_conditions,
    _require_start_events,
    _require_reachable_elements,
    _require_parsable_expressions,
    _require_supported_elements,
    _require_timer_expressions,
    _require_known_messages,
    _require_known_event_refs,
    _require_job_definitions,
    _require_called_elements,
    _require_event_gateway_targets,
    _require_multi_instance_input,
    _require_ad_hoc_output_pairs,
    _require_link_targets,
)
