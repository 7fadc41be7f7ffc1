"""The live state of one process instance, as explicit rows, and the changes a command makes.

Every record here is plain data whose fields are the columns of a store table of the same name
(``RECORD_TABLES``). The runtime works on an ``InstanceState`` (all live rows of one process
instance, with parent/children indexes) and records what it inserts, updates and deletes in a
``ChangeSet``; the engine facade loads and saves those rows in one transaction. The runtime itself
never touches storage.

Completed or terminated element instances leave the live state: what happened to them is in the
history events, the audit trail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from operator import attrgetter
from typing import Any, ClassVar

__all__ = [
    "RECORD_TABLES",
    "ChangeSet",
    "ElementInstance",
    "PROCESS_ELEMENT_TYPE",
    "ElementState",
    "EventSubscription",
    "HistoryEvent",
    "Incident",
    "InstanceState",
    "Job",
    "JobKind",
    "JobState",
    "JoinToken",
    "ProcessInstanceRecord",
    "ProcessInstanceState",
    "Record",
    "UserTask",
    "Variable",
    "VisibleVariables",
    "root_element_instance",
]


class ProcessInstanceState(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    COMPLETED = "COMPLETED"
    CANCELED = "CANCELED"


_LIVE_STATES = frozenset({ProcessInstanceState.ACTIVE, ProcessInstanceState.SUSPENDED})


class ElementState(StrEnum):
    ACTIVE = "ACTIVE"
    # The token waits before entering (async before) or after leaving (async after) the
    # element: a Camunda "transition instance", backed by a job.
    TRANSITION_BEFORE = "TRANSITION_BEFORE"
    TRANSITION_AFTER = "TRANSITION_AFTER"


class JobKind(StrEnum):
    TASK = "TASK"  # service, send, business-rule, script-as-job tasks: a worker does it
    TIMER = "TIMER"  # a timer catch event, boundary or start: fired by fire_due_timers
    ASYNC = "ASYNC"  # an async continuation, executed by the engine's own job executor
    LISTENER = "LISTENER"  # an execution or task listener, done by a worker


class JobState(StrEnum):
    ACTIVATABLE = "ACTIVATABLE"
    ACTIVATED = "ACTIVATED"  # locked by a worker until lock_expires_at
    FAILED = "FAILED"  # no retries left: an incident is open


class Record:
    """Base of the row dataclasses. ``key`` is the primary key; ``revision`` guards updates."""

    TABLE: ClassVar[str]
    __slots__ = ()

    _ROW_NAMES: ClassVar[tuple[str, ...]]
    _ROW_VALUES: ClassVar[Callable[[Any], tuple[Any, ...]]]

    def row(self) -> dict[str, Any]:
        """Column name -> value: every field, in order."""
        cls = type(self)
        return dict(zip(cls._ROW_NAMES, cls._ROW_VALUES(self), strict=True))

    def values(self) -> tuple[Any, ...]:
        """Every field's value, in order: ``row()`` without the names."""
        return type(self)._ROW_VALUES(self)


@dataclass(slots=True, eq=False)
class ProcessInstanceRecord(Record):
    TABLE: ClassVar[str] = "process_instances"
    id: str
    definition_id: str
    definition_key: str
    definition_version: int
    business_key: str | None
    state: str
    started_at: datetime
    ended_at: datetime | None = None
    parent_process_instance_id: str | None = None
    parent_element_instance_id: str | None = None  # the call activity instance in the parent
    revision: int = 1


@dataclass(slots=True, eq=False)
class ElementInstance(Record):
    """A live element instance ("activity instance"). The process instance is the root one."""

    TABLE: ClassVar[str] = "element_instances"
    id: str
    process_instance_id: str
    parent_id: str | None  # the flow-scope instance; None for the root
    element_id: str
    element_type: str
    state: str
    started_at: datetime
    loop_counter: int | None = None
    # Which flow brought the token (for joins and history); None when started otherwise.
    entered_by_flow: str | None = None
    revision: int = 1


@dataclass(slots=True, eq=False)
class Variable(Record):
    TABLE: ClassVar[str] = "variables"
    id: str
    process_instance_id: str
    scope_id: str  # an element instance id
    name: str
    value: Any  # JSON-compatible (with Decimal for non-integral numbers)
    revision: int = 1


@dataclass(slots=True, eq=False)
class UserTask(Record):
    TABLE: ClassVar[str] = "user_tasks"
    id: str
    process_instance_id: str
    element_instance_id: str
    element_id: str
    definition_id: str
    name: str | None
    created_at: datetime
    assignee: str | None = None
    candidate_groups: list[str] | None = None
    candidate_users: list[str] | None = None
    due_date: datetime | None = None
    follow_up_date: datetime | None = None
    priority: int | None = None
    form_key: str | None = None
    revision: int = 1


@dataclass(slots=True, eq=False)
class Job(Record):
    TABLE: ClassVar[str] = "jobs"
    id: str
    process_instance_id: str
    element_instance_id: str
    element_id: str
    definition_id: str
    kind: str
    type: str  # job type for TASK/LISTENER; "timer"/"async-before"/"async-after" otherwise
    state: str
    retries: int
    created_at: datetime
    due_at: datetime | None = None  # timers: when it fires; failed jobs: retry backoff
    worker: str | None = None
    lock_expires_at: datetime | None = None
    error_message: str | None = None
    # TIMER: {"cycle": "R3/PT1H", "repetitions_left": 2, "subscription": <boundary id>}
    # LISTENER: {"event": "start"}; TASK: {"headers": {...}}
    payload: dict[str, Any] | None = None
    revision: int = 1


@dataclass(slots=True, eq=False)
class EventSubscription(Record):
    """A message, signal or conditional subscription owned by a live element instance."""

    TABLE: ClassVar[str] = "event_subscriptions"
    id: str
    process_instance_id: str
    element_instance_id: str  # the owner: the catching instance, or the boundary host/scope
    element_id: str  # the catching event (boundary, event-subprocess start, catch, receive task)
    definition_id: str
    kind: str  # "message" | "signal" | "conditional"
    name: str
    correlation_key: str | None
    created_at: datetime
    revision: int = 1


@dataclass(slots=True, eq=False)
class Incident(Record):
    TABLE: ClassVar[str] = "incidents"
    id: str
    process_instance_id: str
    element_instance_id: str
    element_id: str
    definition_id: str
    type: str  # "JOB_NO_RETRIES" | "CONDITION" | "EXPRESSION" | "UNHANDLED_ERROR" | ...
    message: str
    created_at: datetime
    job_id: str | None = None
    revision: int = 1


@dataclass(slots=True, eq=False)
class JoinToken(Record):
    """A token that arrived at a joining gateway over ``flow_id`` and waits for the others."""

    TABLE: ClassVar[str] = "join_tokens"
    id: str
    process_instance_id: str
    scope_id: str  # the flow-scope instance the join belongs to
    element_id: str  # the gateway
    flow_id: str
    revision: int = 1


@dataclass(slots=True, eq=False)
class HistoryEvent(Record):
    """One entry of the append-only audit trail."""

    TABLE: ClassVar[str] = "history"
    id: str
    process_instance_id: str
    timestamp: datetime
    event: str  # e.g. "element.activated", "variable.set", "task.completed", "job.failed"
    element_instance_id: str | None = None
    element_id: str | None = None
    data: dict[str, Any] | None = None


#: Every table of live state, in the order that respects references for inserts.
RECORD_TABLES: tuple[type[Record], ...] = (
    ProcessInstanceRecord,
    ElementInstance,
    Variable,
    UserTask,
    Job,
    EventSubscription,
    Incident,
    JoinToken,
)


def _give_row(cls: type[Record]) -> None:
    """Give ``cls`` its field names and one getter reading all of them at once (C code):
    every saved row and history event goes through ``row()``."""
    names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    cls._ROW_NAMES = names
    cls._ROW_VALUES = attrgetter(*names)


for _cls in (*RECORD_TABLES, HistoryEvent):
    _give_row(_cls)


#: ``element_type`` of the root element instance, the process instance itself.
PROCESS_ELEMENT_TYPE = "process"


def root_element_instance(instance: ProcessInstanceRecord) -> ElementInstance:
    """The root element instance of ``instance``: the process, with the instance's id.

    The store keeps no row for it (every command would write one more row and index entries
    for what the instance row already says): its element is the definition's key, which is
    the BPMN process id, and it is active as long as the instance is.
    """
    return ElementInstance(
        instance.id,
        instance.id,
        None,
        instance.definition_key,
        PROCESS_ELEMENT_TYPE,
        ElementState.ACTIVE,
        instance.started_at,
    )


@dataclass(slots=True)
class ChangeSet:
    """What one command did to the live state: rows to insert, update and delete, plus history."""

    inserted: dict[str, Record] = field(default_factory=dict)
    updated: dict[str, Record] = field(default_factory=dict)
    deleted: dict[str, Record] = field(default_factory=dict)
    history: list[HistoryEvent] = field(default_factory=list)

    def insert(self, record: Record) -> None:
        key = _key(record)
        if key in self.deleted:  # deleted then re-created in one command: an update
            del self.deleted[key]
            self.updated[key] = record
        else:
            self.inserted[key] = record

    def update(self, record: Record) -> None:
        key = _key(record)
        if key not in self.inserted:
            self.updated[key] = record

    def touches(self, record: Record) -> bool:
        """Whether the command inserted or updated ``record``."""
        key = _key(record)
        return key in self.inserted or key in self.updated

    def delete(self, record: Record) -> None:
        key = _key(record)
        if self.inserted.pop(key, None) is None:
            self.updated.pop(key, None)
            self.deleted[key] = record


def _key(record: Record) -> str:
    return f"{record.TABLE}:{record.id}"  # type: ignore[attr-defined]


@dataclass(slots=True)
class InstanceState:
    """All live rows of one process instance, indexed, plus the changes made to them."""

    instance: ProcessInstanceRecord
    elements: dict[str, ElementInstance] = field(default_factory=dict)
    variables: dict[str, Variable] = field(default_factory=dict)
    user_tasks: dict[str, UserTask] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)
    subscriptions: dict[str, EventSubscription] = field(default_factory=dict)
    incidents: dict[str, Incident] = field(default_factory=dict)
    join_tokens: dict[str, JoinToken] = field(default_factory=dict)
    changes: ChangeSet = field(default_factory=ChangeSet)
    # parent element instance id -> child ids, in creation order (kept in step with
    # ``elements``; a dict, so a child leaves its parent in constant time)
    _children: dict[str, dict[str, None]] = field(default_factory=dict)
    # scope id -> {name: Variable}
    _scope_vars: dict[str, dict[str, Variable]] = field(default_factory=dict)

    _TABLE_ATTR: ClassVar[dict[str, str]] = {
        "element_instances": "elements",
        "variables": "variables",
        "user_tasks": "user_tasks",
        "jobs": "jobs",
        "event_subscriptions": "subscriptions",
        "incidents": "incidents",
        "join_tokens": "join_tokens",
    }

    @classmethod
    def load(cls, instance: ProcessInstanceRecord, records: list[Record]) -> InstanceState:
        """Build the state from loaded rows (no changes recorded).

        The root element instance of a live instance is not a stored row: the instance row
        stands for it (``root_element_instance``), so it is added here unless given.
        """
        state = cls(instance=instance)
        for record in records:
            state._index(record)
        if instance.state in _LIVE_STATES and instance.id not in state.elements:
            state._index(root_element_instance(instance))
        return state

    # -- generic row operations (the only place rows enter or leave the live state) --------
    def add(self, record: Record) -> None:
        self._index(record)
        self.changes.insert(record)

    def touch(self, record: Record) -> None:
        """Record that ``record`` (already in the state) was changed in place."""
        self.changes.update(record)

    def remove(self, record: Record) -> None:
        if type(record) is ElementInstance:
            self.elements.pop(record.id, None)
            if record.parent_id is not None:
                siblings = self._children.get(record.parent_id)
                if siblings is not None:
                    siblings.pop(record.id, None)
        elif type(record) is Variable:
            self.variables.pop(record.id, None)
            scope = self._scope_vars.get(record.scope_id)
            if scope is not None:
                scope.pop(record.name, None)
        else:
            getattr(self, self._TABLE_ATTR[record.TABLE]).pop(record.id, None)  # type: ignore[attr-defined]
        self.changes.delete(record)

    def _index(self, record: Record) -> None:
        if type(record) is ElementInstance:
            self.elements[record.id] = record
            if record.parent_id is not None:
                children = self._children.get(record.parent_id)
                if children is None:
                    self._children[record.parent_id] = {record.id: None}
                else:
                    children[record.id] = None
        elif type(record) is Variable:
            self.variables[record.id] = record
            scope = self._scope_vars.get(record.scope_id)
            if scope is None:
                self._scope_vars[record.scope_id] = {record.name: record}
            else:
                scope[record.name] = record
        else:
            getattr(self, self._TABLE_ATTR[record.TABLE])[record.id] = record  # type: ignore[attr-defined]

    # -- queries -----------------------------------------------------------------------------
    def children(self, element_instance_id: str) -> list[ElementInstance]:
        return [self.elements[c] for c in self._children.get(element_instance_id, ())]

    def has_children(self, element_instance_id: str) -> bool:
        return bool(self._children.get(element_instance_id))

    def descendants(self, element_instance_id: str) -> Iterator[ElementInstance]:
        for child in self.children(element_instance_id):
            yield child
            yield from self.descendants(child.id)

    def scope_variables(self, scope_id: str) -> dict[str, Variable]:
        return self._scope_vars.get(scope_id, _NO_VARIABLES)

    def find_variable(self, scope_id: str | None, name: str) -> Variable | None:
        """The variable visible from ``scope_id``: the nearest scope up the tree that has it."""
        scopes, elements = self._scope_vars, self.elements
        while scope_id is not None:
            found = scopes.get(scope_id)
            if found is not None:
                var = found.get(name)
                if var is not None:
                    return var
            owner = elements.get(scope_id)
            scope_id = owner.parent_id if owner is not None else None
        return None

    def visible_variables(self, scope_id: str | None) -> dict[str, Any]:
        """Name -> value of every variable visible from ``scope_id`` (inner scopes shadow)."""
        chain: list[str] = []
        while scope_id is not None:
            chain.append(scope_id)
            owner = self.elements.get(scope_id)
            scope_id = owner.parent_id if owner is not None else None
        result: dict[str, Any] = {}
        for sid in reversed(chain):
            for name, var in self._scope_vars.get(sid, _NO_VARIABLES).items():
                result[name] = var.value
        return result

    def variables_view(self, scope_id: str) -> VisibleVariables:
        """The variables visible from ``scope_id`` as a live view, for evaluating expressions."""
        return VisibleVariables(self, scope_id)


_NO_VARIABLES: dict[str, Variable] = {}
_MISSING: Any = object()


class VisibleVariables(Mapping[str, Any]):
    """The variables visible from a scope, read where they are: an expression looks up a few
    names, so this walks the scope chain per name instead of copying every visible variable
    for each evaluation (``InstanceState.visible_variables`` is the copy)."""

    __slots__ = ("_scope_id", "_state")

    def __init__(self, state: InstanceState, scope_id: str) -> None:
        self._state = state
        self._scope_id = scope_id

    def get(self, name: str, default: Any = None) -> Any:
        # find_variable's walk, inlined: expressions read every variable through here
        state = self._state
        scopes, elements = state._scope_vars, state.elements
        scope_id: str | None = self._scope_id
        while scope_id is not None:
            found = scopes.get(scope_id)
            if found is not None:
                var = found.get(name)
                if var is not None:
                    return var.value
            owner = elements.get(scope_id)
            scope_id = owner.parent_id if owner is not None else None
        return default

    def __getitem__(self, name: str) -> Any:
        var = self._state.find_variable(self._scope_id, name)
        if var is None:
            raise KeyError(name)
        return var.value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._state.find_variable(self._scope_id, name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._state.visible_variables(self._scope_id))

    def __len__(self) -> int:
        return len(self._state.visible_variables(self._scope_id))
