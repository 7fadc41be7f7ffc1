"""The neutral, immutable process graph.

Camunda 7 (``camunda:``) and Camunda 8 (``zeebe:``) models, bpmn.io drawings and models built in
Python all end up in these frozen dataclasses. Nothing here knows about execution: the runtime
reads these objects, it never changes them.

Scopes are explicit. ``FlowNode.parent_id`` is the modelled container (an embedded, event,
ad-hoc or transaction subprocess, or ``None`` directly inside the process).
``Process.flow_scope_id(element_id)`` answers the *execution* scope, which differs only for
multi-instance activities: their flow scope is the synthetic body ``<id>#multiInstanceBody``
(seed 003), whose own flow scope is the activity's container.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from midflight.errors import Problem

__all__ = [
    "MULTI_INSTANCE_BODY_SUFFIX",
    "ACTIVITY_TYPES",
    "AdHoc",
    "Artifact",
    "Bounds",
    "CalledDecision",
    "CalledElement",
    "Collaboration",
    "Definitions",
    "Diagram",
    "DiagramEdge",
    "DiagramShape",
    "ElementType",
    "Error",
    "Escalation",
    "EventDefinition",
    "EventDefinitionType",
    "Expression",
    "ExpressionLanguage",
    "FlowNode",
    "IoMapping",
    "JobDefinition",
    "Lane",
    "Listener",
    "Message",
    "MessageFlow",
    "MultiInstance",
    "Participant",
    "Point",
    "Process",
    "SCOPE_TYPES",
    "Script",
    "SequenceFlow",
    "Signal",
    "StandardLoop",
    "TimerDefinition",
    "TimerKind",
    "UserTaskDefinition",
]

MULTI_INSTANCE_BODY_SUFFIX = "#multiInstanceBody"


class ElementType(StrEnum):
    """Every flow node kind the graph can hold; the value is the BPMN XML local name."""

    START_EVENT = "startEvent"
    END_EVENT = "endEvent"
    INTERMEDIATE_CATCH_EVENT = "intermediateCatchEvent"
    INTERMEDIATE_THROW_EVENT = "intermediateThrowEvent"
    BOUNDARY_EVENT = "boundaryEvent"
    TASK = "task"
    USER_TASK = "userTask"
    SERVICE_TASK = "serviceTask"
    SEND_TASK = "sendTask"
    RECEIVE_TASK = "receiveTask"
    SCRIPT_TASK = "scriptTask"
    BUSINESS_RULE_TASK = "businessRuleTask"
    MANUAL_TASK = "manualTask"
    EXCLUSIVE_GATEWAY = "exclusiveGateway"
    PARALLEL_GATEWAY = "parallelGateway"
    INCLUSIVE_GATEWAY = "inclusiveGateway"
    EVENT_BASED_GATEWAY = "eventBasedGateway"
    COMPLEX_GATEWAY = "complexGateway"
    SUB_PROCESS = "subProcess"
    EVENT_SUB_PROCESS = "eventSubProcess"  # XML: <subProcess triggeredByEvent="true">
    AD_HOC_SUB_PROCESS = "adHocSubProcess"
    TRANSACTION = "transaction"
    CALL_ACTIVITY = "callActivity"
    MULTI_INSTANCE_BODY = "multiInstanceBody"  # synthetic scope, never in XML
    UNSUPPORTED = "unsupported"  # a flow node we read but do not execute; see FlowNode.xml_tag


#: Element types that are activities (can carry boundary events, loops, async flags).
ACTIVITY_TYPES: frozenset[ElementType] = frozenset(
    {
        ElementType.TASK,
        ElementType.USER_TASK,
        ElementType.SERVICE_TASK,
        ElementType.SEND_TASK,
        ElementType.RECEIVE_TASK,
        ElementType.SCRIPT_TASK,
        ElementType.BUSINESS_RULE_TASK,
        ElementType.MANUAL_TASK,
        ElementType.SUB_PROCESS,
        ElementType.AD_HOC_SUB_PROCESS,
        ElementType.TRANSACTION,
        ElementType.CALL_ACTIVITY,
    }
)

#: Element types that contain other flow nodes.
SCOPE_TYPES: frozenset[ElementType] = frozenset(
    {
        ElementType.SUB_PROCESS,
        ElementType.EVENT_SUB_PROCESS,
        ElementType.AD_HOC_SUB_PROCESS,
        ElementType.TRANSACTION,
    }
)


class ExpressionLanguage(StrEnum):
    FEEL = "feel"  # Camunda 8 style, written "=expr" in attributes
    JUEL = "juel"  # Camunda 7 style, "${expr}" or "#{expr}", possibly inside literal text
    STATIC = "static"  # a plain literal string, no evaluation


@dataclass(frozen=True, slots=True)
class Expression:
    """An expression as written in the model.

    ``text`` is the expression without dialect markers for FEEL (``=a > 1`` is stored as
    ``a > 1``), the whole template for JUEL (``${a > 1}``, or ``Dear ${name}``) and the literal
    for STATIC.
    """

    text: str
    language: ExpressionLanguage = ExpressionLanguage.FEEL

    @classmethod
    def from_source(
        cls, raw: str, *, default: ExpressionLanguage = ExpressionLanguage.STATIC
    ) -> Expression:
        """Classify ``raw`` as written in a model attribute or element.

        ``=...`` is FEEL, text containing ``${`` or ``#{`` is JUEL, anything else is ``default``.
        """
        stripped = raw.strip()
        if stripped.startswith("="):
            return cls(stripped[1:].strip(), ExpressionLanguage.FEEL)
        if "${" in raw or "#{" in raw:
            return cls(stripped, ExpressionLanguage.JUEL)
        return cls(stripped if default is not ExpressionLanguage.STATIC else raw, default)

    def to_source(self) -> str:
        """The attribute form that ``from_source`` reads back to this expression."""
        if self.language is ExpressionLanguage.FEEL:
            return f"={self.text}"
        return self.text


class TimerKind(StrEnum):
    DATE = "timeDate"
    DURATION = "timeDuration"
    CYCLE = "timeCycle"


@dataclass(frozen=True, slots=True)
class TimerDefinition:
    kind: TimerKind
    expression: Expression


class EventDefinitionType(StrEnum):
    """The value is the BPMN XML local name without ``EventDefinition``."""

    MESSAGE = "message"
    TIMER = "timer"
    SIGNAL = "signal"
    ERROR = "error"
    ESCALATION = "escalation"
    CONDITIONAL = "conditional"
    LINK = "link"
    TERMINATE = "terminate"
    COMPENSATE = "compensate"
    CANCEL = "cancel"


@dataclass(frozen=True, slots=True)
class EventDefinition:
    """One event definition of an event. An event with none is a *none* event.

    ``ref`` is the id of the referenced ``Message``/``Signal``/``Error``/``Escalation``
    (``None`` for a catch-all error or escalation event).
    """

    type: EventDefinitionType
    id: str | None = None
    ref: str | None = None
    timer: TimerDefinition | None = None
    condition: Expression | None = None  # conditional events
    variable_name: str | None = None  # conditional events (Camunda 7)
    variable_events: tuple[str, ...] = ()  # conditional events (Camunda 7): create, update, delete
    link_name: str | None = None
    activity_ref: str | None = None  # compensation: the activity to compensate (None = all)
    wait_for_completion: bool = True  # compensation
    error_code_variable: str | None = None  # error catch (Camunda 7)
    error_message_variable: str | None = None  # error catch (Camunda 7)


@dataclass(frozen=True, slots=True)
class IoMapping:
    """``target`` receives the value of ``source`` (``None`` source means null)."""

    target: str
    source: Expression | None


@dataclass(frozen=True, slots=True)
class Listener:
    """An execution listener (start/end/take) or a user-task listener (create/assign/complete/...).

    Midflight runs listeners as jobs of ``job_type``. ``implementation`` keeps the Camunda 7 kind
    (``class``, ``expression``, ``delegateExpression``, ``script``) so models round-trip.
    """

    kind: str  # "execution" | "task"
    event: str
    job_type: Expression
    implementation: str = "job"
    retries: Expression | None = None


@dataclass(frozen=True, slots=True)
class JobDefinition:
    """How a service/send/business-rule/script task is handed to a worker.

    ``implementation`` records where the job type came from: ``job`` (zeebe:taskDefinition),
    ``external`` (camunda:type="external" camunda:topic), ``class``, ``expression``,
    ``delegateExpression`` or ``connector`` (Camunda 7 in-process delegates, run here as jobs of
    that type).
    """

    type: Expression
    retries: Expression | None = None
    implementation: str = "job"
    headers: tuple[tuple[str, str], ...] = ()
    retry_time_cycle: str | None = None


@dataclass(frozen=True, slots=True)
class UserTaskDefinition:
    assignee: Expression | None = None
    candidate_groups: Expression | None = None
    candidate_users: Expression | None = None
    due_date: Expression | None = None
    follow_up_date: Expression | None = None
    priority: Expression | None = None
    form_key: str | None = None
    form_id: str | None = None
    camunda_user_task: bool = False  # zeebe:userTask marker (Camunda 8 native user task)


@dataclass(frozen=True, slots=True)
class Script:
    """A script task's script. Midflight executes ``feel`` and ``juel`` only, never Python."""

    format: str  # lower-case: "feel", "juel", "groovy", "javascript", "python", ...
    body: str  # the expression/script text, without a leading "=" for FEEL
    result_variable: str | None = None
    resource: str | None = None


@dataclass(frozen=True, slots=True)
class CalledElement:
    """A call activity's target.

    ``binding`` is ``latest``, ``deployment``, ``version`` or ``versionTag``.
    ``inputs``/``outputs`` are the variable mappings into and out of the child
    (camunda:in/camunda:out; zeebe models use the node's own io mappings).
    """

    process_id: Expression
    binding: str = "latest"
    version: str | None = None
    version_tag: str | None = None
    propagate_all_parent_variables: bool = True
    propagate_all_child_variables: bool = True
    inputs: tuple[IoMapping, ...] = ()
    outputs: tuple[IoMapping, ...] = ()
    business_key: Expression | None = None


@dataclass(frozen=True, slots=True)
class CalledDecision:
    decision_id: Expression
    result_variable: str | None = None
    binding: str = "latest"
    version: str | None = None
    map_decision_result: str | None = None
    version_tag: str | None = None  # binding "versionTag" (zeebe:calledDecision versionTag)


@dataclass(frozen=True, slots=True)
class MultiInstance:
    is_sequential: bool = False
    cardinality: Expression | None = None
    input_collection: Expression | None = None
    input_element: str | None = None
    output_collection: str | None = None
    output_element: Expression | None = None
    completion_condition: Expression | None = None
    async_before: bool = False  # Camunda 7: asyncBefore/asyncAfter on the inner activity's loop
    async_after: bool = False


@dataclass(frozen=True, slots=True)
class StandardLoop:
    loop_condition: Expression | None = None
    test_before: bool = False
    loop_maximum: int | None = None


@dataclass(frozen=True, slots=True)
class AdHoc:
    """Ad-hoc subprocess configuration (where AI agents pick their tools)."""

    active_elements_collection: Expression | None = None
    completion_condition: Expression | None = None
    cancel_remaining_instances: bool = True
    ordering: str = "Parallel"
    output_collection: str | None = None
    output_element: Expression | None = None


@dataclass(frozen=True, slots=True)
class FlowNode:
    """An event, activity or gateway. Fields that do not apply to a type stay at their default."""

    id: str
    type: ElementType
    name: str | None = None
    parent_id: str | None = None  # modelled container; None = directly in the process
    incoming: tuple[str, ...] = ()
    outgoing: tuple[str, ...] = ()
    documentation: str | None = None
    # events
    event_definitions: tuple[EventDefinition, ...] = ()
    attached_to: str | None = None  # boundary events: the host activity
    cancel_activity: bool = True  # boundary events: interrupting?
    is_interrupting: bool = True  # start events of event subprocesses: interrupting?
    parallel_multiple: bool = False
    compensation_handler: str | None = None  # compensation boundary event -> handler activity
    # gateways and activities
    default_flow: str | None = None
    # activities
    async_before: bool = False
    async_after: bool = False
    exclusive: bool = True
    is_for_compensation: bool = False
    input_mappings: tuple[IoMapping, ...] = ()
    output_mappings: tuple[IoMapping, ...] = ()
    listeners: tuple[Listener, ...] = ()
    job: JobDefinition | None = None
    user_task: UserTaskDefinition | None = None
    script: Script | None = None
    called_element: CalledElement | None = None
    called_decision: CalledDecision | None = None
    message_ref: str | None = None  # receive and send tasks
    loop: MultiInstance | StandardLoop | None = None
    ad_hoc: AdHoc | None = None
    properties: tuple[tuple[str, str], ...] = ()  # camunda:properties / zeebe:properties
    xml_tag: str | None = None  # UNSUPPORTED nodes: the BPMN local name we did not recognise
    line: int | None = field(default=None, compare=False)

    @property
    def is_activity(self) -> bool:
        return self.type in ACTIVITY_TYPES

    @property
    def is_scope_container(self) -> bool:
        return self.type in SCOPE_TYPES

    @property
    def is_multi_instance(self) -> bool:
        return isinstance(self.loop, MultiInstance)

    @property
    def event_definition(self) -> EventDefinition | None:
        """The single event definition, or None for a none event (or a multiple event)."""
        return self.event_definitions[0] if len(self.event_definitions) == 1 else None


@dataclass(frozen=True, slots=True)
class SequenceFlow:
    id: str
    source_id: str
    target_id: str
    name: str | None = None
    condition: Expression | None = None
    parent_id: str | None = None  # container the flow is drawn in; None = the process
    listeners: tuple[Listener, ...] = ()
    documentation: str | None = None
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Lane:
    id: str
    name: str | None = None
    flow_node_refs: tuple[str, ...] = ()
    child_lanes: tuple[Lane, ...] = ()


@dataclass(frozen=True, slots=True)
class Artifact:
    """Text annotations, associations, data objects/stores and groups: drawn, not executed."""

    id: str
    kind: str  # "textAnnotation" | "association" | "dataObject" | "dataObjectReference" | ...
    parent_id: str | None = None
    name: str | None = None
    text: str | None = None
    source_ref: str | None = None
    target_ref: str | None = None
    ref: str | None = None  # dataObjectRef / dataStoreRef / categoryValueRef
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    name: str | None = None
    correlation_key: Expression | None = None  # zeebe:subscription correlationKey


@dataclass(frozen=True, slots=True)
class Signal:
    id: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Error:
    id: str
    name: str | None = None
    error_code: str | None = None


@dataclass(frozen=True, slots=True)
class Escalation:
    id: str
    name: str | None = None
    escalation_code: str | None = None


@dataclass(frozen=True, slots=True)
class Participant:
    id: str
    name: str | None = None
    process_ref: str | None = None


@dataclass(frozen=True, slots=True)
class MessageFlow:
    id: str
    source_ref: str
    target_ref: str
    name: str | None = None
    message_ref: str | None = None


@dataclass(frozen=True, slots=True)
class Collaboration:
    id: str
    name: str | None = None
    participants: tuple[Participant, ...] = ()
    message_flows: tuple[MessageFlow, ...] = ()
    artifacts: tuple[Artifact, ...] = ()


@dataclass(frozen=True, slots=True)
class Point:
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class Bounds:
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class DiagramShape:
    element_id: str
    bounds: Bounds
    is_expanded: bool | None = None
    is_horizontal: bool | None = None
    label: Bounds | None = None


@dataclass(frozen=True, slots=True)
class DiagramEdge:
    element_id: str
    waypoints: tuple[Point, ...]
    label: Bounds | None = None


@dataclass(frozen=True, slots=True)
class Diagram:
    """Diagram interchange (DI): kept for drawing, never used for semantics."""

    id: str
    plane_element_id: str  # the process or collaboration the plane shows
    shapes: tuple[DiagramShape, ...] = ()
    edges: tuple[DiagramEdge, ...] = ()


@dataclass(frozen=True, slots=True)
class _ProcessIndex:
    """Indexes computed once per process (never compared, never written)."""

    nodes: Mapping[str, FlowNode]  # modelled nodes plus synthetic multi-instance bodies
    children: Mapping[str | None, tuple[str, ...]]  # container id -> direct child node ids
    boundary: Mapping[str, tuple[str, ...]]  # host id -> boundary event ids
    boundary_nodes: Mapping[str, tuple[FlowNode, ...]]  # host id -> boundary events
    flow_scope: Mapping[str, str]  # node id -> execution scope id (process id at the root)


@dataclass(frozen=True, slots=True)
class Process:
    """One ``<bpmn:process>``: its nodes and flows keyed by id, in document order."""

    id: str
    name: str | None = None
    is_executable: bool = True
    version_tag: str | None = None
    elements: Mapping[str, FlowNode] = field(default_factory=lambda: MappingProxyType({}))
    flows: Mapping[str, SequenceFlow] = field(default_factory=lambda: MappingProxyType({}))
    lanes: tuple[Lane, ...] = ()
    artifacts: tuple[Artifact, ...] = ()
    documentation: str | None = None
    history_time_to_live: str | None = None
    properties: tuple[tuple[str, str], ...] = ()
    line: int | None = field(default=None, compare=False)
    _index: _ProcessIndex | None = field(default=None, init=False, repr=False, compare=False)
    # process-level execution listeners (camunda:executionListener / zeebe:executionListeners)
    listeners: tuple[Listener, ...] = ()

    def __post_init__(self) -> None:
        # Accept plain dicts from callers but keep the graph immutable.
        if not isinstance(self.elements, MappingProxyType):
            object.__setattr__(self, "elements", MappingProxyType(dict(self.elements)))
        if not isinstance(self.flows, MappingProxyType):
            object.__setattr__(self, "flows", MappingProxyType(dict(self.flows)))

    # -- indexes ---------------------------------------------------------------------------
    @property
    def index(self) -> _ProcessIndex:
        if self._index is None:
            object.__setattr__(self, "_index", _build_index(self))
        assert self._index is not None
        return self._index

    def node(self, element_id: str) -> FlowNode:
        """The node with this id, including synthetic ``<id>#multiInstanceBody`` scopes.

        Raises:
            KeyError: no such element in this process.
        """
        return self.index.nodes[element_id]

    def has_node(self, element_id: str) -> bool:
        return element_id in self.index.nodes

    def flow_scope_id(self, element_id: str) -> str:
        """The execution scope of a node: a container id, a multi-instance body or the process id."""
        return self.index.flow_scope[element_id]

    def scope_path(self, element_id: str) -> tuple[str, ...]:
        """Scope ids from the process down to (excluding) the element itself."""
        path: list[str] = []
        current = element_id
        while current != self.id:
            current = self.index.flow_scope[current]
            path.append(current)
        return tuple(reversed(path))

    def children_of(self, container_id: str | None) -> tuple[FlowNode, ...]:
        """Direct child nodes of a container (``None`` or the process id = top level)."""
        key = None if container_id in (None, self.id) else container_id
        return tuple(self.elements[i] for i in self.index.children.get(key, ()))

    def boundary_events(self, host_id: str) -> tuple[FlowNode, ...]:
        return self.index.boundary_nodes.get(host_id, ())

    def outgoing_flows(self, element_id: str) -> tuple[SequenceFlow, ...]:
        return tuple(self.flows[f] for f in self.node(element_id).outgoing)

    def incoming_flows(self, element_id: str) -> tuple[SequenceFlow, ...]:
        return tuple(self.flows[f] for f in self.node(element_id).incoming)

    def start_events(self, container_id: str | None = None) -> tuple[FlowNode, ...]:
        return tuple(n for n in self.children_of(container_id) if n.type is ElementType.START_EVENT)

    def event_subprocesses(self, container_id: str | None = None) -> tuple[FlowNode, ...]:
        return tuple(
            n for n in self.children_of(container_id) if n.type is ElementType.EVENT_SUB_PROCESS
        )

    def walk(self) -> Iterator[FlowNode]:
        """Every modelled node in document order."""
        return iter(self.elements.values())


def _build_index(process: Process) -> _ProcessIndex:
    nodes: dict[str, FlowNode] = dict(process.elements)
    children: dict[str | None, list[str]] = {}
    boundary: dict[str, list[str]] = {}
    flow_scope: dict[str, str] = {}
    for node in process.elements.values():
        children.setdefault(node.parent_id, []).append(node.id)
        if node.attached_to is not None:
            boundary.setdefault(node.attached_to, []).append(node.id)
        container = node.parent_id if node.parent_id is not None else process.id
        if node.is_multi_instance:
            body_id = node.id + MULTI_INSTANCE_BODY_SUFFIX
            nodes[body_id] = FlowNode(
                id=body_id,
                type=ElementType.MULTI_INSTANCE_BODY,
                name=node.name,
                parent_id=node.parent_id,
                incoming=node.incoming,
                outgoing=node.outgoing,
                loop=node.loop,
                line=node.line,
            )
            flow_scope[body_id] = container
            flow_scope[node.id] = body_id
        else:
            flow_scope[node.id] = container
    return _ProcessIndex(
        nodes=MappingProxyType(nodes),
        children=MappingProxyType({k: tuple(v) for k, v in children.items()}),
        boundary=MappingProxyType({k: tuple(v) for k, v in boundary.items()}),
        boundary_nodes=MappingProxyType(
            {k: tuple(process.elements[i] for i in v) for k, v in boundary.items()}
        ),
        flow_scope=MappingProxyType(flow_scope),
    )


@dataclass(frozen=True, slots=True)
class Definitions:
    """A whole BPMN file: its processes, shared root elements, collaboration and diagrams."""

    id: str
    target_namespace: str = "http://bpmn.io/schema/bpmn"
    processes: tuple[Process, ...] = ()
    messages: Mapping[str, Message] = field(default_factory=lambda: MappingProxyType({}))
    signals: Mapping[str, Signal] = field(default_factory=lambda: MappingProxyType({}))
    errors: Mapping[str, Error] = field(default_factory=lambda: MappingProxyType({}))
    escalations: Mapping[str, Escalation] = field(default_factory=lambda: MappingProxyType({}))
    collaboration: Collaboration | None = None
    diagrams: tuple[Diagram, ...] = ()
    exporter: str | None = None
    exporter_version: str | None = None
    # "camunda7", "camunda8" or "bpmn": which extension dialect the source mostly used; the
    # writer prefers it. Not part of the graph's meaning.
    dialect: str = field(default="bpmn", compare=False)
    # What the parser read but could not represent faithfully (duplicate ids, camunda:script
    # io parameters, script-language conditions, ...); validate_definitions reports them.
    parse_problems: tuple[Problem, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        for name in ("messages", "signals", "errors", "escalations"):
            value = getattr(self, name)
            if not isinstance(value, MappingProxyType):
                object.__setattr__(self, name, MappingProxyType(dict(value)))

    def process(self, process_id: str | None = None) -> Process:
        """The process with this id; without an id, the only executable (or only) process.

        Raises:
            KeyError: no such process, or several candidates when no id is given.
        """
        if process_id is not None:
            for p in self.processes:
                if p.id == process_id:
                    return p
            raise KeyError(f"no process '{process_id}' in definitions '{self.id}'")
        executable = [p for p in self.processes if p.is_executable] or list(self.processes)
        if len(executable) != 1:
            ids = ", ".join(p.id for p in executable) or "none"
            raise KeyError(f"definitions '{self.id}' hold several processes ({ids}); name one")
        return executable[0]


class FreshIds:
    """Ids not used yet in one document (for elements it does not name): ``base``, else
    ``base_2``, ``base_3``, ... Each id handed out counts as used."""

    def __init__(self, used: set[str]) -> None:
        self.used = used

    def fresh(self, base: str) -> str:
        candidate, count = base, 1
        while candidate in self.used:
            count += 1
            candidate = f"{base}_{count}"
        self.used.add(candidate)
        return candidate
