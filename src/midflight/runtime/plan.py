"""What the execution needs to know about each node, worked out once per deployed process.

The model is a plain graph. Which behaviour runs a node, which execution listeners and catch
events it has, where its token goes: the step loop asks these questions for every element of
every instance, so they are answered here once, when a deployed process is first used, and the
loop only reads the answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from midflight.model import (
    MULTI_INSTANCE_BODY_SUFFIX,
    AdHoc,
    ElementType,
    EventDefinitionType,
    Expression,
    ExpressionLanguage,
    FlowNode,
    Listener,
    MultiInstance,
    Process,
    SequenceFlow,
    StandardLoop,
)
from midflight.runtime.behaviors import behavior_for
from midflight.runtime.behaviors.base import ElementBehavior
from midflight.runtime.behaviors.multi_instance import BODY_LOCALS
from midflight.runtime.events import boundary_host
from midflight.runtime.variables import mapped_name

__all__ = ["NodePlan", "ProcessPlan"]

_JOINS = frozenset({ElementType.PARALLEL_GATEWAY, ElementType.INCLUSIVE_GATEWAY})
_SCRIPT_LANGUAGES = {"feel": ExpressionLanguage.FEEL, "juel": ExpressionLanguage.JUEL}


@dataclass(frozen=True, slots=True)
class NodePlan:
    """The runtime's derived facts about one node (a modelled one or a multi-instance body)."""

    node: FlowNode
    behavior: ElementBehavior
    element_type: str  # ``node.type.value``, as element instance rows store it
    # A multi-instance activity is entered through its body; None for every other node.
    body: FlowNode | None
    async_before: bool  # the node's own flag, or the multi-instance loop's for a body
    async_after: bool
    is_join: bool  # a parallel or inclusive gateway with several incoming flows
    standard_loop: bool
    outgoing: tuple[SequenceFlow, ...]
    start_listeners: tuple[Listener, ...]  # execution listeners, in model order
    end_listeners: tuple[Listener, ...]
    # The catch events whose subscriptions an instance owns from its activation: its boundary
    # events, then the start events of the event subprocesses directly inside it.
    catches: tuple[FlowNode, ...]
    # The handlers of its compensation boundary events: completing it subscribes them.
    compensation_handlers: tuple[str, ...]
    # A script task's script as an expression (None: not FEEL or JUEL, or no script).
    script: Expression | None
    # It ends a path inside an ad-hoc subprocess that collects output (outputCollection):
    # completing it adds its output element.
    ends_collected_path: bool
    # Its instances run directly inside an ad-hoc subprocess, as one activation of it (a tool)
    # or a later step of one: its local variables but ``own_locals`` go on with its token
    # (``Execution.activation_variables``), so a tool's flow shares its activation's variables.
    in_ad_hoc: bool
    # ... of an ad-hoc subprocess that collects output: what it produces on completion (output
    # mappings, what completes it, a script's result) stays local to it, for the output element.
    results_local: bool
    # The local variables an instance makes for itself, which stay behind when its token moves
    # on: its input mappings' targets (a multi-instance body: also its counters).
    own_locals: frozenset[str]


@dataclass(slots=True)
class ProcessPlan:
    """Every node's plan, and the process-level answers."""

    process: Process
    nodes: dict[str, NodePlan]
    root_catches: tuple[FlowNode, ...]  # event-subprocess starts at the top level
    none_start: FlowNode | None  # the start event an instance starts at by default
    _reachability: dict[str, frozenset[str]] | None = None

    @classmethod
    def of(cls, process: Process) -> ProcessPlan:
        nodes = {
            node_id: _node_plan(process, node) for node_id, node in process.index.nodes.items()
        }
        starts = process.start_events()
        none_starts = [node for node in starts if not node.event_definitions]
        none_start = none_starts[0] if none_starts else (starts[0] if len(starts) == 1 else None)
        return cls(process, nodes, _esp_starts(process, None), none_start)

    def reachability(self) -> dict[str, frozenset[str]]:
        """Element id -> every element reachable from it over sequence flows (computed once:
        only inclusive joins and soundness checks ask)."""
        if self._reachability is None:
            self._reachability = _reachability(self.process)
        return self._reachability


def _node_plan(process: Process, node: FlowNode) -> NodePlan:
    loop = node.loop
    is_body = node.type is ElementType.MULTI_INSTANCE_BODY
    host = boundary_host(node)
    catches = process.boundary_events(host) if host is not None else ()
    if node.is_scope_container:
        catches += _esp_starts(process, node.id)
    script = node.script
    ad_hoc = _ad_hoc_around(process, node)
    return NodePlan(
        node=node,
        behavior=behavior_for(node),
        element_type=node.type.value,
        body=(
            process.node(node.id + MULTI_INSTANCE_BODY_SUFFIX)
            if isinstance(loop, MultiInstance) and not is_body
            else None
        ),
        async_before=node.async_before
        or (is_body and isinstance(loop, MultiInstance) and loop.async_before),
        async_after=node.async_after
        or (is_body and isinstance(loop, MultiInstance) and loop.async_after),
        is_join=len(node.incoming) > 1 and node.type in _JOINS,
        standard_loop=isinstance(loop, StandardLoop),
        outgoing=process.outgoing_flows(node.id),
        start_listeners=_execution_listeners(node, "start"),
        end_listeners=_execution_listeners(node, "end"),
        catches=catches,
        compensation_handlers=tuple(
            b.compensation_handler
            for b in process.boundary_events(node.id)
            if b.compensation_handler is not None
            and any(d.type is EventDefinitionType.COMPENSATE for d in b.event_definitions)
        ),
        script=(
            Expression(script.body, _SCRIPT_LANGUAGES[script.format])
            if script is not None and script.format in _SCRIPT_LANGUAGES
            else None
        ),
        ends_collected_path=_ends_collected_path(process, node),
        in_ad_hoc=ad_hoc is not None,
        results_local=ad_hoc is not None and bool(ad_hoc.output_collection),
        own_locals=frozenset(
            [mapped_name(m.target) for m in node.input_mappings]
            + (list(BODY_LOCALS) if is_body else [])
        ),
    )


def _ends_collected_path(process: Process, node: FlowNode) -> bool:
    if node.outgoing or node.parent_id is None or node.is_for_compensation:
        return False
    container = process.node(node.parent_id)
    spec = container.ad_hoc if container.type is ElementType.AD_HOC_SUB_PROCESS else None
    return spec is not None and bool(spec.output_collection)


def _ad_hoc_around(process: Process, node: FlowNode) -> AdHoc | None:
    """The ad-hoc spec of the ad-hoc subprocess a node's instances run directly inside."""
    if node.parent_id is None or node.is_for_compensation:
        return None
    if isinstance(node.loop, MultiInstance) and node.type is not ElementType.MULTI_INSTANCE_BODY:
        return None  # its instances run inside its body, which is the one in the ad-hoc scope
    container = process.node(node.parent_id)
    if container.type is not ElementType.AD_HOC_SUB_PROCESS:
        return None
    return container.ad_hoc or AdHoc()


def _execution_listeners(node: FlowNode, event: str) -> tuple[Listener, ...]:
    return tuple(
        listener
        for listener in node.listeners
        if listener.kind == "execution" and listener.event == event
    )


def _esp_starts(process: Process, container: str | None) -> tuple[FlowNode, ...]:
    return tuple(
        start
        for esp in process.event_subprocesses(container)
        for start in process.start_events(esp.id)
    )


def _reachability(process: Process) -> dict[str, frozenset[str]]:
    successors: dict[str, list[str]] = {}
    for flow in process.flows.values():
        successors.setdefault(flow.source_id, []).append(flow.target_id)
    for node in process.elements.values():  # a boundary event continues its host's paths
        if node.attached_to is not None:
            successors.setdefault(node.attached_to, []).append(node.id)
    result: dict[str, frozenset[str]] = {}
    for start in process.elements:
        seen: set[str] = set()
        todo = list(successors.get(start, ()))
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            todo.extend(successors.get(current, ()))
        result[start] = frozenset(seen)
    return result
