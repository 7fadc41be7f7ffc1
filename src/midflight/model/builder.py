"""Models in code: a fluent builder producing the same graph the parser reads from XML.

The builder keeps a *cursor*, the element the next one is connected to::

    defs = (
        ProcessBuilder("loan", name="Loan", version_tag="v1")
        .start_event("start")
        .user_task("review", name="Review", assignee="=reviewer", candidate_groups="clerks")
        .exclusive_gateway("ok", default="to_reject")
        .condition("approved = true")
        .service_task("pay", job_type="payment", retries=3)
        .end_event("done")
        .move_to("ok")
        .flow_id("to_reject")
        .user_task("reject")
        .end_event("rejected")
        .build()
    )

Rules:

- Every element method adds a node, connects it from the cursor with a sequence flow (start
  events, boundary events, link catch events and event subprocesses are never connected) and
  moves the cursor onto
  it. ``move_to(id)`` moves the cursor; ``connect_to(id)`` joins the cursor to an existing node.
- ``condition()``, ``flow_id()``, ``flow_name()``, ``as_default()`` and ``flow()`` configure the
  *next* sequence flow leaving the cursor.
- Modifiers (``multi_instance()``, ``input_mapping()``, ``async_before()``, ``execution_listener()``
  ...) change the element under the cursor.
- Containers: ``sub_process()``, ``event_sub_process()``, ``ad_hoc_sub_process()`` and
  ``transaction()`` open a scope; the elements that follow go inside until
  ``sub_process_done()``, which puts the cursor back on the container (or, for an event
  subprocess, where it was before). A new element always goes into the scope of the cursor, so
  ``move_to()`` an element inside a subprocess continues there.
- After a compensation boundary event (``compensate=True``), the next activity becomes its
  compensation handler (``is_for_compensation``, joined by an association, not a flow).
- Expressions: text starting with ``=`` is FEEL, text holding ``${`` or ``#{`` is JUEL,
  anything else a static value; conditions without a marker are FEEL.
- Ids of flows (``Flow_<source>_<target>``), shared messages/signals/errors/escalations and
  unnamed elements are generated deterministically.

``build()`` returns validated ``Definitions``; builder mistakes raise ``InvalidArgumentError``.
Keyword options are checked when given: a misspelt one (``user_task("t", asignee="x")``) is
refused with the valid names listed, and the builder is left as it was.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect
import re
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ParamSpec, TypedDict, TypeVar, Unpack, cast

from midflight.errors import InvalidArgumentError, ModelValidationError, Problem
from midflight.model.elements import (
    AdHoc,
    Artifact,
    CalledDecision,
    CalledElement,
    Collaboration,
    Definitions,
    ElementType,
    Error,
    Escalation,
    EventDefinition,
    EventDefinitionType,
    Expression,
    ExpressionLanguage,
    FlowNode,
    IoMapping,
    JobDefinition,
    Lane,
    Listener,
    Message,
    MultiInstance,
    Participant,
    Process,
    Script,
    SequenceFlow,
    Signal,
    StandardLoop,
    TimerDefinition,
    TimerKind,
    UserTaskDefinition,
)
from midflight.model.writer import artifacts_in_document_order
from midflight.model.writer import listeners_in_document_order as _ordered

__all__ = [
    "ActivityOptions",
    "CallActivityOptions",
    "EventOptions",
    "JobOptions",
    "ProcessBuilder",
    "UserTaskOptions",
]

EXPORTER = "Midflight"
_FEEL = ExpressionLanguage.FEEL
_STATIC = ExpressionLanguage.STATIC


class EventOptions(TypedDict, total=False):
    """Event definitions of an event; none of them makes a *none* event.

    ``error``/``escalation`` take a code, or ``True`` for a catch-all. ``compensate`` takes
    ``True`` (compensate everything) or the id of the activity to compensate.
    """

    message: str  # message name
    correlation_key: str  # with message
    timer_date: str
    timer_duration: str
    timer_cycle: str
    signal: str  # signal name
    error: str | bool
    error_code_variable: str  # error catch (Camunda 7)
    error_message_variable: str
    escalation: str | bool
    conditional: str  # condition expression (FEEL without a marker)
    variable_name: str  # conditional (Camunda 7)
    variable_events: Sequence[str]
    link: str  # link name
    terminate: bool
    compensate: str | bool
    wait_for_completion: bool  # compensation
    cancel: bool
    event_definitions: Sequence[EventDefinition]  # added as given, after the ones above


class ActivityOptions(TypedDict, total=False):
    """What every activity accepts besides its id and name."""

    documentation: str
    async_before: bool
    async_after: bool
    exclusive: bool
    inputs: Mapping[str, str | None]  # target -> source expression
    outputs: Mapping[str, str | None]
    listeners: Sequence[Listener]
    properties: Mapping[str, str]
    for_compensation: bool


class JobOptions(ActivityOptions, total=False):
    """Activities handed to a worker: service, send, script and business-rule tasks."""

    job_type: str
    retries: int | str
    headers: Mapping[str, str]
    implementation: str  # "job", "external", "class", "expression", "delegateExpression", ...
    retry_time_cycle: str


class UserTaskOptions(ActivityOptions, total=False):
    assignee: str
    candidate_groups: str
    candidate_users: str
    due_date: str
    follow_up_date: str
    priority: str | int
    form_key: str
    form_id: str
    camunda_user_task: bool


class ScriptTaskOptions(JobOptions, total=False):
    script: str
    script_format: str
    result_variable: str
    resource: str


class BusinessRuleTaskOptions(JobOptions, total=False):
    decision_id: str
    result_variable: str
    decision_binding: str
    decision_version: str
    map_decision_result: str
    decision_version_tag: str


class MessageTaskOptions(JobOptions, total=False):
    message: str
    correlation_key: str


class CallActivityOptions(ActivityOptions, total=False):
    binding: str
    version: str
    version_tag: str
    propagate_all_parent_variables: bool
    propagate_all_child_variables: bool
    call_inputs: Mapping[str, str | None]  # camunda:in: target -> source
    call_outputs: Mapping[str, str | None]  # camunda:out
    business_key: str


class AdHocOptions(ActivityOptions, total=False):
    active_elements_collection: str
    completion_condition: str
    cancel_remaining_instances: bool
    ordering: str
    output_collection: str
    output_element: str


@dataclass(slots=True)
class _PendingFlow:
    id: str | None = None
    name: str | None = None
    condition: Expression | None = None
    default: bool = False
    listeners: tuple[Listener, ...] = ()
    documentation: str | None = None


@dataclass(frozen=True, slots=True)
class _Scope:
    container_id: str
    cursor_before: str | None


_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")


def _slug(text: str) -> str:
    slug = _NAME_CHARS.sub("_", text).strip("_") or "x"
    return slug if slug[0].isalpha() or slug[0] == "_" else f"_{slug}"


def _expr(raw: str | int | None, default: ExpressionLanguage = _STATIC) -> Expression | None:
    if raw is None:
        return None
    return Expression.from_source(str(raw), default=default)


def _mappings(values: Mapping[str, str | None] | None) -> tuple[IoMapping, ...]:
    if not values:
        return ()
    return tuple(IoMapping(target, _expr(source)) for target, source in values.items())


_TIMER_KEYS: tuple[tuple[str, TimerKind], ...] = (
    ("timer_date", TimerKind.DATE),
    ("timer_duration", TimerKind.DURATION),
    ("timer_cycle", TimerKind.CYCLE),
)


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _checked_options(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """Refuse keyword options ``method`` does not know before it changes the builder.

    ``**options`` would otherwise swallow a misspelt key (``asignee=``) without a word. The
    valid names are read from the method itself, its keyword parameters and the ``TypedDict``
    its ``**options`` unpack, so they cannot drift from the signature.
    """
    valid: frozenset[str] | None = None

    @functools.wraps(method)
    def checked(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        nonlocal valid
        if valid is None:
            valid = _option_names(method)
        unknown = [key for key in kwargs if key not in valid]
        if unknown:
            raise _unknown_options(method.__name__, unknown, valid)
        return method(*args, **kwargs)

    return checked


def _option_names(method: Callable[..., Any]) -> frozenset[str]:
    """Every keyword ``method`` accepts: named parameters and the keys of its ``**options``."""
    names: set[str] = set()
    hints = typing.get_type_hints(method, include_extras=True)
    for parameter in inspect.signature(method).parameters.values():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            for options in typing.get_args(hints[parameter.name]):  # Unpack[XOptions]
                names |= options.__required_keys__ | options.__optional_keys__
        elif parameter.kind is not inspect.Parameter.VAR_POSITIONAL and parameter.name != "self":
            names.add(parameter.name)
    return frozenset(names)


def _unknown_options(
    method: str, unknown: Sequence[str], valid: frozenset[str]
) -> InvalidArgumentError:
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(key, valid, n=1)
        hints.append(f"'{key}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
    noun = "option" if len(unknown) == 1 else "options"
    return InvalidArgumentError(
        f"{method}(): unknown {noun} {', '.join(hints)}; valid options are "
        f"{', '.join(sorted(valid))}"
    )


class ProcessBuilder:
    """Build one process (optionally in a pool) fluently; see the module docstring.

    Args:
        process_id: id of the process.
        name: its name.
        version_tag: ``zeebe:versionTag`` / ``camunda:versionTag``.
        is_executable: ``isExecutable``.
        documentation: process documentation.
        history_time_to_live: ``camunda:historyTimeToLive``.
        dialect: ``camunda8`` (default) or ``camunda7``: the extension dialect the writer prefers.
        definitions_id: id of the ``Definitions`` (default ``Definitions_<process_id>``).
    """

    def __init__(
        self,
        process_id: str,
        *,
        name: str | None = None,
        version_tag: str | None = None,
        is_executable: bool = True,
        documentation: str | None = None,
        history_time_to_live: str | None = None,
        dialect: str = "camunda8",
        definitions_id: str | None = None,
    ) -> None:
        if dialect not in ("camunda8", "camunda7", "bpmn"):
            raise InvalidArgumentError(f"unknown dialect '{dialect}' (camunda8, camunda7, bpmn)")
        self._process_id = process_id
        self._process_name = name
        self._version_tag = version_tag
        self._is_executable = is_executable
        self._documentation = documentation
        self._history_ttl = history_time_to_live
        self._dialect = dialect
        self._definitions_id = definitions_id or f"Definitions_{process_id}"
        self._nodes: dict[str, FlowNode] = {}
        self._flows: dict[str, SequenceFlow] = {}
        self._cursor: str | None = None
        self._pending: _PendingFlow | None = None
        self._scopes: list[_Scope] = []
        self._messages: dict[str, Message] = {}
        self._signals: dict[str, Signal] = {}
        self._errors: dict[str, Error] = {}
        self._escalations: dict[str, Escalation] = {}
        self._lanes: list[Lane] = []
        self._artifacts: list[Artifact] = []
        self._process_listeners: tuple[Listener, ...] = ()
        self._process_properties: tuple[tuple[str, str], ...] = ()
        self._participant: Participant | None = None
        self._collaboration_id: str | None = None
        self._counters: dict[str, int] = {}
        self._ids: set[str] = {process_id}

    # -- events ----------------------------------------------------------------------------
    @_checked_options
    def start_event(
        self,
        id: str | None = None,
        *,
        name: str | None = None,
        interrupting: bool = True,
        documentation: str | None = None,
        parallel_multiple: bool = False,
        **events: Unpack[EventOptions],
    ) -> ProcessBuilder:
        """Add a start event (never connected from the cursor). ``interrupting=False`` makes
        the start event of an event subprocess non-interrupting."""
        node = self._new_node(
            ElementType.START_EVENT,
            id,
            name,
            documentation=documentation,
            event_definitions=self._event_definitions(events),
            is_interrupting=interrupting,
            parallel_multiple=parallel_multiple,
        )
        return self._place(node, connect=False)

    @_checked_options
    def intermediate_catch_event(
        self,
        id: str | None = None,
        *,
        name: str | None = None,
        documentation: str | None = None,
        **events: Unpack[EventOptions],
    ) -> ProcessBuilder:
        return self._event(ElementType.INTERMEDIATE_CATCH_EVENT, id, name, documentation, events)

    @_checked_options
    def intermediate_throw_event(
        self,
        id: str | None = None,
        *,
        name: str | None = None,
        documentation: str | None = None,
        **events: Unpack[EventOptions],
    ) -> ProcessBuilder:
        return self._event(ElementType.INTERMEDIATE_THROW_EVENT, id, name, documentation, events)

    @_checked_options
    def end_event(
        self,
        id: str | None = None,
        *,
        name: str | None = None,
        documentation: str | None = None,
        **events: Unpack[EventOptions],
    ) -> ProcessBuilder:
        return self._event(ElementType.END_EVENT, id, name, documentation, events)

    @_checked_options
    def boundary_event(
        self,
        id: str | None = None,
        *,
        attached_to: str | None = None,
        name: str | None = None,
        cancel_activity: bool = True,
        documentation: str | None = None,
        **events: Unpack[EventOptions],
    ) -> ProcessBuilder:
        """Attach a boundary event to ``attached_to`` (default: the activity under the cursor).

        The cursor moves onto the boundary event, so the next element follows it.
        """
        host_id = attached_to if attached_to is not None else self._cursor
        if host_id is None:
            raise InvalidArgumentError("boundary_event() needs attached_to= or a cursor")
        host = self._require(host_id, "boundary_event(attached_to=...)")
        if not host.is_activity:
            raise InvalidArgumentError(
                f"boundary event cannot be attached to '{host_id}': it is a {host.type.value}, "
                "not an activity"
            )
        self._no_pending("boundary_event()")
        node = FlowNode(
            id=self._claim_id(id, "BoundaryEvent"),
            type=ElementType.BOUNDARY_EVENT,
            name=name,
            parent_id=host.parent_id,
            documentation=documentation,
            event_definitions=self._event_definitions(events),
            attached_to=host_id,
            cancel_activity=cancel_activity,
        )
        self._nodes[node.id] = node
        self._cursor = node.id
        return self

    # -- tasks -----------------------------------------------------------------------------
    @_checked_options
    def task(
        self, id: str | None = None, *, name: str | None = None, **options: Unpack[ActivityOptions]
    ) -> ProcessBuilder:
        return self._activity(ElementType.TASK, id, name, options)

    @_checked_options
    def manual_task(
        self, id: str | None = None, *, name: str | None = None, **options: Unpack[ActivityOptions]
    ) -> ProcessBuilder:
        return self._activity(ElementType.MANUAL_TASK, id, name, options)

    @_checked_options
    def user_task(
        self, id: str | None = None, *, name: str | None = None, **options: Unpack[UserTaskOptions]
    ) -> ProcessBuilder:
        keys = ("assignee", "candidate_groups", "candidate_users", "due_date", "follow_up_date")
        values: dict[str, Any] = {k: _expr(cast(Any, options.get(k))) for k in keys}
        user_task = UserTaskDefinition(
            **values,
            priority=_expr(options.get("priority")),
            form_key=options.get("form_key"),
            form_id=options.get("form_id"),
            camunda_user_task=options.get("camunda_user_task", False),
        )
        return self._activity(ElementType.USER_TASK, id, name, options, user_task=user_task)

    @_checked_options
    def service_task(
        self, id: str | None = None, *, name: str | None = None, **options: Unpack[JobOptions]
    ) -> ProcessBuilder:
        return self._activity(ElementType.SERVICE_TASK, id, name, options, job=_job(options))

    @_checked_options
    def send_task(
        self,
        id: str | None = None,
        *,
        name: str | None = None,
        **options: Unpack[MessageTaskOptions],
    ) -> ProcessBuilder:
        message_ref = self._optional_message(options.get("message"), options.get("correlation_key"))
        return self._activity(
            ElementType.SEND_TASK, id, name, options, job=_job(options), message_ref=message_ref
        )

    @_checked_options
    def receive_task(
        self,
        id: str | None = None,
        *,
        name: str | None = None,
        **options: Unpack[MessageTaskOptions],
    ) -> ProcessBuilder:
        message_ref = self._optional_message(options.get("message"), options.get("correlation_key"))
        return self._activity(ElementType.RECEIVE_TASK, id, name, options, message_ref=message_ref)

    @_checked_options
    def script_task(
        self,
        id: str | None = None,
        *,
        name: str | None = None,
        **options: Unpack[ScriptTaskOptions],
    ) -> ProcessBuilder:
        """A script task: ``script="=a + b"`` (FEEL, the default format) or a job worker
        (``job_type=``)."""
        script: Script | None = None
        body = options.get("script")
        if body is not None or options.get("resource") is not None:
            fmt = options.get("script_format", "feel").lower()
            text = (body or "").strip()
            if fmt == "feel" and text.startswith("="):
                text = text[1:].strip()
            script = Script(
                format=fmt,
                body=text,
                result_variable=options.get("result_variable"),
                resource=options.get("resource"),
            )
        return self._activity(
            ElementType.SCRIPT_TASK, id, name, options, script=script, job=_job(options)
        )

    @_checked_options
    def business_rule_task(
        self,
        id: str | None = None,
        *,
        name: str | None = None,
        **options: Unpack[BusinessRuleTaskOptions],
    ) -> ProcessBuilder:
        """A business rule task calling ``decision_id=`` or handed to a worker (``job_type=``)."""
        decision: CalledDecision | None = None
        decision_id = options.get("decision_id")
        if decision_id is not None:
            decision = CalledDecision(
                decision_id=Expression.from_source(decision_id),
                result_variable=options.get("result_variable"),
                binding=options.get("decision_binding", "latest"),
                version=options.get("decision_version"),
                map_decision_result=options.get("map_decision_result"),
                version_tag=options.get("decision_version_tag"),
            )
        return self._activity(
            ElementType.BUSINESS_RULE_TASK,
            id,
            name,
            options,
            called_decision=decision,
            job=_job(options),
        )

    @_checked_options
    def call_activity(
        self,
        id: str | None = None,
        *,
        process_id: str,
        name: str | None = None,
        **options: Unpack[CallActivityOptions],
    ) -> ProcessBuilder:
        """Call the process ``process_id`` (an id, ``=expr`` or ``${expr}``)."""
        called = CalledElement(
            process_id=Expression.from_source(process_id),
            binding=options.get("binding", "latest"),
            version=options.get("version"),
            version_tag=options.get("version_tag"),
            propagate_all_parent_variables=options.get("propagate_all_parent_variables", True),
            propagate_all_child_variables=options.get("propagate_all_child_variables", True),
            inputs=_mappings(options.get("call_inputs")),
            outputs=_mappings(options.get("call_outputs")),
            business_key=_expr(options.get("business_key")),
        )
        return self._activity(ElementType.CALL_ACTIVITY, id, name, options, called_element=called)

    # -- gateways --------------------------------------------------------------------------
    def exclusive_gateway(
        self,
        id: str | None = None,
        *,
        name: str | None = None,
        default: str | None = None,
        documentation: str | None = None,
    ) -> ProcessBuilder:
        """``default`` names the id of the default flow (give it later with ``flow_id()``)."""
        return self._gateway(ElementType.EXCLUSIVE_GATEWAY, id, name, default, documentation)

    def inclusive_gateway(
        self,
        id: str | None = None,
        *,
        name: str | None = None,
        default: str | None = None,
        documentation: str | None = None,
    ) -> ProcessBuilder:
        return self._gateway(ElementType.INCLUSIVE_GATEWAY, id, name, default, documentation)

    def complex_gateway(
        self,
        id: str | None = None,
        *,
        name: str | None = None,
        default: str | None = None,
        documentation: str | None = None,
    ) -> ProcessBuilder:
        return self._gateway(ElementType.COMPLEX_GATEWAY, id, name, default, documentation)

    def parallel_gateway(
        self, id: str | None = None, *, name: str | None = None, documentation: str | None = None
    ) -> ProcessBuilder:
        return self._gateway(ElementType.PARALLEL_GATEWAY, id, name, None, documentation)

    def event_based_gateway(
        self, id: str | None = None, *, name: str | None = None, documentation: str | None = None
    ) -> ProcessBuilder:
        return self._gateway(ElementType.EVENT_BASED_GATEWAY, id, name, None, documentation)

    # -- containers ------------------------------------------------------------------------
    @_checked_options
    def sub_process(
        self, id: str | None = None, *, name: str | None = None, **options: Unpack[ActivityOptions]
    ) -> ProcessBuilder:
        """Open an embedded subprocess; close it with ``sub_process_done()``."""
        return self._open(self._activity(ElementType.SUB_PROCESS, id, name, options))

    @_checked_options
    def transaction(
        self, id: str | None = None, *, name: str | None = None, **options: Unpack[ActivityOptions]
    ) -> ProcessBuilder:
        """Open a transaction subprocess; close it with ``sub_process_done()``."""
        return self._open(self._activity(ElementType.TRANSACTION, id, name, options))

    @_checked_options
    def ad_hoc_sub_process(
        self, id: str | None = None, *, name: str | None = None, **options: Unpack[AdHocOptions]
    ) -> ProcessBuilder:
        """Open an ad-hoc subprocess; close it with ``sub_process_done()``."""
        ad_hoc = AdHoc(
            active_elements_collection=_expr(options.get("active_elements_collection")),
            completion_condition=_expr(options.get("completion_condition"), _FEEL),
            cancel_remaining_instances=options.get("cancel_remaining_instances", True),
            ordering=options.get("ordering", "Parallel"),
            output_collection=options.get("output_collection"),
            output_element=_expr(options.get("output_element")),
        )
        return self._open(
            self._activity(ElementType.AD_HOC_SUB_PROCESS, id, name, options, ad_hoc=ad_hoc)
        )

    @_checked_options
    def event_sub_process(
        self, id: str | None = None, *, name: str | None = None, **options: Unpack[ActivityOptions]
    ) -> ProcessBuilder:
        """Open an event subprocess in the cursor's scope (never connected); give it a start
        event with an event definition, close it with ``sub_process_done()``."""
        self._no_pending("event_sub_process()")
        before = self._cursor
        node = self._new_node(ElementType.EVENT_SUB_PROCESS, id, name, **_activity_fields(options))
        self._place(node, connect=False)
        self._scopes.append(_Scope(node.id, before))
        self._cursor = None
        return self

    def sub_process_done(self) -> ProcessBuilder:
        """Close the innermost open container: the cursor goes back onto it (for an event
        subprocess: where it was before the subprocess was opened)."""
        if not self._scopes:
            raise InvalidArgumentError("sub_process_done() without an open subprocess")
        self._no_pending("sub_process_done()")
        scope = self._scopes.pop()
        container = self._nodes[scope.container_id]
        if container.type is ElementType.EVENT_SUB_PROCESS:
            self._cursor = scope.cursor_before
        else:
            self._cursor = container.id
        return self

    # -- navigation and flows --------------------------------------------------------------
    def move_to(self, element_id: str) -> ProcessBuilder:
        """Put the cursor on an existing element; the next element is connected from it."""
        self._require(element_id, "move_to()")
        self._no_pending("move_to()")
        self._cursor = element_id
        return self

    def connect_to(self, element_id: str) -> ProcessBuilder:
        """Connect the cursor to an existing element (a join or a loop back); the cursor
        moves onto it."""
        target = self._require(element_id, "connect_to()")
        if self._cursor is None:
            raise InvalidArgumentError(f"connect_to('{element_id}'): nothing to connect from")
        self._connect(self._cursor, target)
        self._cursor = element_id
        return self

    def flow(
        self,
        id: str | None = None,
        *,
        name: str | None = None,
        condition: str | None = None,
        default: bool = False,
        listeners: Sequence[Listener] = (),
        documentation: str | None = None,
    ) -> ProcessBuilder:
        """Configure the next sequence flow leaving the cursor."""
        pending = self._pending_flow("flow()")
        if id is not None:
            pending.id = id
        if name is not None:
            pending.name = name
        if condition is not None:
            pending.condition = _expr(condition, _FEEL)
        pending.default = pending.default or default
        pending.listeners = _ordered(pending.listeners + tuple(listeners))
        if documentation is not None:
            pending.documentation = documentation
        return self

    def condition(self, expression: str) -> ProcessBuilder:
        """Condition of the next flow (``x > 1`` and ``=x > 1`` are FEEL, ``${x > 1}`` JUEL)."""
        self._pending_flow("condition()").condition = _expr(expression, _FEEL)
        return self

    def flow_id(self, flow_id: str) -> ProcessBuilder:
        """Id of the next flow."""
        self._pending_flow("flow_id()").id = flow_id
        return self

    def flow_name(self, name: str) -> ProcessBuilder:
        """Name of the next flow."""
        self._pending_flow("flow_name()").name = name
        return self

    def as_default(self) -> ProcessBuilder:
        """Make the next flow the default flow of the gateway (or activity) under the cursor."""
        self._pending_flow("as_default()").default = True
        return self

    # -- modifiers of the element under the cursor -----------------------------------------
    def multi_instance(
        self,
        *,
        collection: str | None = None,
        element: str | None = None,
        sequential: bool = False,
        cardinality: str | int | None = None,
        output_collection: str | None = None,
        output_element: str | None = None,
        completion_condition: str | None = None,
        async_before: bool = False,
        async_after: bool = False,
    ) -> ProcessBuilder:
        """Make the activity under the cursor multi-instance."""
        loop = MultiInstance(
            is_sequential=sequential,
            cardinality=_expr(cardinality),
            input_collection=_expr(collection),
            input_element=element,
            output_collection=output_collection,
            output_element=_expr(output_element),
            completion_condition=_expr(completion_condition, _FEEL),
            async_before=async_before,
            async_after=async_after,
        )
        return self._modify_activity("multi_instance()", loop=loop)

    def standard_loop(
        self,
        *,
        condition: str | None = None,
        test_before: bool = False,
        maximum: int | None = None,
    ) -> ProcessBuilder:
        """Give the activity under the cursor a standard loop."""
        loop = StandardLoop(_expr(condition, _FEEL), test_before, maximum)
        return self._modify_activity("standard_loop()", loop=loop)

    def input_mapping(self, target: str, source: str | None) -> ProcessBuilder:
        node = self._current("input_mapping()")
        mapping = IoMapping(target, _expr(source))
        return self._modify(node, input_mappings=(*node.input_mappings, mapping))

    def output_mapping(self, target: str, source: str | None) -> ProcessBuilder:
        node = self._current("output_mapping()")
        mapping = IoMapping(target, _expr(source))
        return self._modify(node, output_mappings=(*node.output_mappings, mapping))

    def async_before(self, value: bool = True) -> ProcessBuilder:
        return self._modify(self._current("async_before()"), async_before=value)

    def async_after(self, value: bool = True) -> ProcessBuilder:
        return self._modify(self._current("async_after()"), async_after=value)

    def execution_listener(
        self,
        event: str,
        job_type: str,
        *,
        retries: int | str | None = None,
        implementation: str = "job",
    ) -> ProcessBuilder:
        """Add an execution listener (``start``/``end``) to the element under the cursor."""
        listener = Listener(
            "execution", event, _job_type(job_type, implementation), implementation, _expr(retries)
        )
        node = self._current("execution_listener()")
        return self._modify(node, listeners=_ordered((*node.listeners, listener)))

    def task_listener(
        self,
        event: str,
        job_type: str,
        *,
        retries: int | str | None = None,
        implementation: str = "job",
    ) -> ProcessBuilder:
        """Add a task listener (``create``, ``assignment``, ``complete``...) to a user task."""
        node = self._current("task_listener()")
        if node.type is not ElementType.USER_TASK:
            raise InvalidArgumentError(
                f"task_listener(): '{node.id}' is a {node.type.value}, not a userTask"
            )
        listener = Listener(
            "task", event, _job_type(job_type, implementation), implementation, _expr(retries)
        )
        return self._modify(node, listeners=_ordered((*node.listeners, listener)))

    def process_listener(
        self,
        event: str,
        job_type: str,
        *,
        retries: int | str | None = None,
        implementation: str = "job",
    ) -> ProcessBuilder:
        """Add an execution listener (``start``/``end``) to the process itself."""
        listener = Listener(
            "execution", event, _job_type(job_type, implementation), implementation, _expr(retries)
        )
        self._process_listeners = _ordered((*self._process_listeners, listener))
        return self

    def property(self, name: str, value: str) -> ProcessBuilder:
        """Add an extension property (``zeebe:property``/``camunda:property``)."""
        node = self._current("property()")
        return self._modify(node, properties=(*node.properties, (name, value)))

    def process_property(self, name: str, value: str) -> ProcessBuilder:
        """Add an extension property to the process itself."""
        self._process_properties = (*self._process_properties, (name, value))
        return self

    def documentation(self, text: str) -> ProcessBuilder:
        node = self._current("documentation()")
        return self._modify(node, documentation=text)

    # -- lanes, artifacts, pool ------------------------------------------------------------
    def lane(
        self,
        lane_id: str,
        *,
        name: str | None = None,
        nodes: Iterable[str] = (),
        child_lanes: Sequence[Lane] = (),
    ) -> ProcessBuilder:
        """Add a lane holding ``nodes`` (checked by ``build()``)."""
        self._claim_id(lane_id, "Lane")
        self._lanes.append(Lane(lane_id, name, tuple(nodes), tuple(child_lanes)))
        return self

    def annotation(
        self, text: str, *, id: str | None = None, annotates: str | None = None
    ) -> ProcessBuilder:
        """Add a text annotation joined by an association to ``annotates`` (default: the
        element under the cursor; the annotation stands alone when there is none)."""
        target_id = annotates if annotates is not None else self._cursor
        parent: str | None = None
        if target_id is not None:
            parent = self._require(target_id, "annotation(annotates=...)").parent_id
        annotation_id = self._claim_id(id, "TextAnnotation")
        self._artifacts.append(
            Artifact(annotation_id, "textAnnotation", parent_id=parent, text=text)
        )
        if target_id is not None:
            self._artifacts.append(
                Artifact(
                    self._claim_id(None, "Association"),
                    "association",
                    parent_id=parent,
                    source_ref=target_id,
                    target_ref=annotation_id,
                )
            )
        return self

    def participant(
        self, id: str | None = None, *, name: str | None = None, collaboration_id: str | None = None
    ) -> ProcessBuilder:
        """Draw the process in a pool: a collaboration with this one participant."""
        self._participant = Participant(
            self._claim_id(id or f"Participant_{self._process_id}", "Participant"),
            name,
            self._process_id,
        )
        self._collaboration_id = self._claim_id(
            collaboration_id or f"Collaboration_{self._process_id}", "Collaboration"
        )
        return self

    # -- result ----------------------------------------------------------------------------
    def build_process(self) -> Process:
        """The process alone, checked for builder mistakes but not validated."""
        if self._pending is not None:
            raise InvalidArgumentError(
                "flow settings (condition/flow_id/flow_name/as_default) were given but no "
                "element followed to attach them to"
            )
        if self._scopes:
            open_ids = ", ".join(s.container_id for s in self._scopes)
            raise InvalidArgumentError(f"subprocess not closed with sub_process_done(): {open_ids}")
        for node in self._nodes.values():
            if node.default_flow is not None:
                flow = self._flows.get(node.default_flow)
                if flow is None or flow.source_id != node.id:
                    raise InvalidArgumentError(
                        f"default flow '{node.default_flow}' of '{node.id}' is not a flow "
                        f"leaving '{node.id}'"
                    )
        for lane in self._lanes:
            self._check_lane(lane)
        process = Process(
            id=self._process_id,
            name=self._process_name,
            is_executable=self._is_executable,
            version_tag=self._version_tag,
            elements=dict(self._nodes),
            flows=dict(self._flows),
            lanes=tuple(self._lanes),
            artifacts=tuple(self._artifacts),
            documentation=self._documentation,
            history_time_to_live=self._history_ttl,
            properties=self._process_properties,
            listeners=self._process_listeners,
        )
        # The order in which a written file holds them (nested containers first).
        return replace(process, artifacts=artifacts_in_document_order(process))

    def build(self, *, validate: bool = True) -> Definitions:
        """The ``Definitions`` holding the process.

        Raises:
            InvalidArgumentError: a builder mistake (an unused flow setting, an unclosed
                subprocess, a default flow that does not exist, a lane naming unknown nodes).
            ModelValidationError: the validator found errors in the model.
        """
        process = self.build_process()
        collaboration = None
        if self._participant is not None and self._collaboration_id is not None:
            collaboration = Collaboration(self._collaboration_id, participants=(self._participant,))
        from midflight import __version__

        definitions = Definitions(
            id=self._definitions_id,
            processes=(process,),
            messages=self._messages,
            signals=self._signals,
            errors=self._errors,
            escalations=self._escalations,
            collaboration=collaboration,
            exporter=EXPORTER,
            exporter_version=__version__,
            dialect=self._dialect,
        )
        if validate:
            problems = [p for p in _validator()(definitions) if p.severity == "error"]
            if problems:
                raise ModelValidationError(problems)
        return definitions

    # -- internals -------------------------------------------------------------------------
    def _event(
        self,
        type_: ElementType,
        id: str | None,
        name: str | None,
        documentation: str | None,
        events: EventOptions,
    ) -> ProcessBuilder:
        node = self._new_node(
            type_,
            id,
            name,
            documentation=documentation,
            event_definitions=self._event_definitions(events),
        )
        # A link catch event continues a path elsewhere: nothing flows into it.
        link_target = type_ is ElementType.INTERMEDIATE_CATCH_EVENT and "link" in events
        return self._place(node, connect=not link_target)

    def _gateway(
        self,
        type_: ElementType,
        id: str | None,
        name: str | None,
        default: str | None,
        documentation: str | None,
    ) -> ProcessBuilder:
        node = self._new_node(type_, id, name, default_flow=default, documentation=documentation)
        return self._place(node)

    def _activity(
        self,
        type_: ElementType,
        id: str | None,
        name: str | None,
        options: ActivityOptions,
        **fields: Any,
    ) -> ProcessBuilder:
        node = self._new_node(type_, id, name, **_activity_fields(options), **fields)
        cursor = self._nodes.get(self._cursor) if self._cursor is not None else None
        if cursor is not None and _is_compensation_boundary(cursor) and self._pending is None:
            # The activity after a compensation boundary event is its handler.
            node = replace(node, is_for_compensation=True)
            self._nodes[cursor.id] = replace(cursor, compensation_handler=node.id)
            self._artifacts.append(
                Artifact(
                    self._claim_id(None, "Association"),
                    "association",
                    parent_id=cursor.parent_id,
                    source_ref=cursor.id,
                    target_ref=node.id,
                )
            )
            return self._place(node, connect=False)
        return self._place(node)

    def _open(self, _placed: ProcessBuilder) -> ProcessBuilder:
        """Enter the container just placed under the cursor."""
        assert self._cursor is not None
        self._scopes.append(_Scope(self._cursor, None))
        self._cursor = None
        return self

    def _new_node(
        self, type_: ElementType, id: str | None, name: str | None, **fields: Any
    ) -> FlowNode:
        prefix = type_.value[0].upper() + type_.value[1:]
        return FlowNode(
            id=self._claim_id(id, prefix), type=type_, name=name, parent_id=self._scope(), **fields
        )

    def _place(self, node: FlowNode, *, connect: bool = True) -> ProcessBuilder:
        """Add ``node`` (connected from the cursor) and move the cursor onto it."""
        if not connect:
            self._no_pending(f"{node.type.value} '{node.id}'")
        self._nodes[node.id] = node
        if connect and self._cursor is not None:
            self._connect(self._cursor, node)
        self._cursor = node.id
        return self

    def _connect(self, source_id: str, target: FlowNode) -> None:
        source = self._nodes[source_id]
        if source.type is ElementType.END_EVENT:
            raise InvalidArgumentError(
                f"'{source_id}' is an end event and cannot be connected to '{target.id}'; "
                "use move_to() to continue from another element"
            )
        if target.type in (ElementType.START_EVENT, ElementType.BOUNDARY_EVENT):
            raise InvalidArgumentError(
                f"a sequence flow cannot enter {target.type.value} '{target.id}'"
            )
        if source.parent_id != target.parent_id:
            raise InvalidArgumentError(
                f"cannot connect '{source_id}' to '{target.id}': they are in different scopes "
                f"('{source.parent_id or self._process_id}' and "
                f"'{target.parent_id or self._process_id}')"
            )
        pending = self._pending or _PendingFlow()
        self._pending = None
        flow_id = pending.id
        if flow_id is None:
            flow_id = self._unique(f"Flow_{source_id}_{target.id}")
        else:
            self._claim_id(flow_id, "Flow")
        self._ids.add(flow_id)
        self._flows[flow_id] = SequenceFlow(
            id=flow_id,
            source_id=source_id,
            target_id=target.id,
            name=pending.name,
            condition=pending.condition,
            parent_id=source.parent_id,
            listeners=pending.listeners,
            documentation=pending.documentation,
        )
        updates: dict[str, Any] = {"outgoing": (*source.outgoing, flow_id)}
        if pending.default:
            if source.default_flow is not None and source.default_flow != flow_id:
                raise InvalidArgumentError(
                    f"'{source_id}' already has the default flow '{source.default_flow}'"
                )
            updates["default_flow"] = flow_id
        self._nodes[source_id] = replace(source, **updates)
        target = self._nodes.get(target.id, target)
        self._nodes[target.id] = replace(target, incoming=(*target.incoming, flow_id))

    def _scope(self) -> str | None:
        if self._cursor is not None:
            return self._nodes[self._cursor].parent_id
        return self._scopes[-1].container_id if self._scopes else None

    def _claim_id(self, id: str | None, prefix: str) -> str:
        if id is None:
            return self._unique(prefix, numbered=True)
        if not id or not (id[0].isalpha() or id[0] == "_") or _NAME_CHARS.search(id):
            raise InvalidArgumentError(f"'{id}' is not a valid BPMN id (an XML name)")
        if id in self._ids:
            raise InvalidArgumentError(f"duplicate id '{id}'")
        self._ids.add(id)
        return id

    def _unique(self, base: str, *, numbered: bool = False) -> str:
        count = self._counters.get(base, 0)
        while True:
            count += 1
            candidate = f"{base}_{count}" if numbered or count > 1 else base
            if candidate not in self._ids:
                self._counters[base] = count
                self._ids.add(candidate)
                return candidate

    def _require(self, element_id: str, where: str) -> FlowNode:
        node = self._nodes.get(element_id)
        if node is None:
            raise InvalidArgumentError(f"{where}: no element '{element_id}' in the process")
        return node

    def _current(self, where: str) -> FlowNode:
        if self._cursor is None:
            raise InvalidArgumentError(f"{where}: no element under the cursor")
        return self._nodes[self._cursor]

    def _modify(self, node: FlowNode, **changes: Any) -> ProcessBuilder:
        self._nodes[node.id] = replace(self._nodes[node.id], **changes)
        return self

    def _modify_activity(self, where: str, **changes: Any) -> ProcessBuilder:
        node = self._current(where)
        if not node.is_activity:
            raise InvalidArgumentError(
                f"{where}: '{node.id}' is a {node.type.value}, not an activity"
            )
        return self._modify(node, **changes)

    def _pending_flow(self, where: str) -> _PendingFlow:
        if self._cursor is None:
            raise InvalidArgumentError(f"{where}: no element under the cursor to leave from")
        if self._nodes[self._cursor].type is ElementType.END_EVENT:
            raise InvalidArgumentError(
                f"{where}: '{self._cursor}' is an end event; no flow can leave it"
            )
        if self._pending is None:
            self._pending = _PendingFlow()
        return self._pending

    def _no_pending(self, where: str) -> None:
        if self._pending is not None:
            raise InvalidArgumentError(
                f"{where}: flow settings (condition/flow_id/flow_name/as_default) were given but "
                "no sequence flow follows to attach them to"
            )

    def _check_lane(self, lane: Lane) -> None:
        unknown = [ref for ref in lane.flow_node_refs if ref not in self._nodes]
        if unknown:
            raise InvalidArgumentError(f"lane '{lane.id}' names unknown elements: {unknown}")
        for child in lane.child_lanes:
            self._check_lane(child)

    # -- shared root elements --------------------------------------------------------------
    def _message_ref(self, name: str, correlation_key: str | None) -> str:
        key = _expr(correlation_key)
        for message in self._messages.values():
            if message.name == name and message.correlation_key == key:
                return message.id
        message_id = self._unique(f"Message_{_slug(name)}")
        self._messages[message_id] = Message(message_id, name, key)
        return message_id

    def _optional_message(self, name: str | None, correlation_key: str | None) -> str | None:
        return None if name is None else self._message_ref(name, correlation_key)

    def _named_ref(
        self,
        registry: dict[str, Any],
        prefix: str,
        label: str,
        make: Callable[[str, str], Any],
        match: Callable[[Any], bool],
    ) -> str:
        for item in registry.values():
            if match(item):
                return cast(str, item.id)
        item_id = self._unique(f"{prefix}_{_slug(label)}")
        registry[item_id] = make(item_id, label)
        return item_id

    def _event_definitions(self, options: EventOptions) -> tuple[EventDefinition, ...]:
        defs: list[EventDefinition] = []
        ref: str | None
        T = EventDefinitionType
        if "message" in options:
            ref = self._message_ref(options["message"], options.get("correlation_key"))
            defs.append(EventDefinition(T.MESSAGE, ref=ref))
        elif "correlation_key" in options:
            raise InvalidArgumentError("correlation_key= needs message=")
        for key, kind in _TIMER_KEYS:
            raw = options.get(key)
            if raw is not None:
                timer = TimerDefinition(kind, Expression.from_source(cast(str, raw)))
                defs.append(EventDefinition(T.TIMER, timer=timer))
        if "signal" in options:
            name = options["signal"]
            ref = self._named_ref(
                self._signals, "Signal", name, Signal, lambda s: bool(s.name == name)
            )
            defs.append(EventDefinition(T.SIGNAL, ref=ref))
        error = options.get("error")
        if error is not None and error is not False:
            ref = None
            if isinstance(error, str):
                code = error
                ref = self._named_ref(
                    self._errors,
                    "Error",
                    code,
                    lambda i, c: Error(i, c, c),
                    lambda e: bool(e.error_code == code),
                )
            defs.append(
                EventDefinition(
                    T.ERROR,
                    ref=ref,
                    error_code_variable=options.get("error_code_variable"),
                    error_message_variable=options.get("error_message_variable"),
                )
            )
        escalation = options.get("escalation")
        if escalation is not None and escalation is not False:
            ref = None
            if isinstance(escalation, str):
                esc_code = escalation
                ref = self._named_ref(
                    self._escalations,
                    "Escalation",
                    esc_code,
                    lambda i, c: Escalation(i, c, c),
                    lambda e: bool(e.escalation_code == esc_code),
                )
            defs.append(EventDefinition(T.ESCALATION, ref=ref))
        if "conditional" in options:
            defs.append(
                EventDefinition(
                    T.CONDITIONAL,
                    condition=_expr(options["conditional"], _FEEL),
                    variable_name=options.get("variable_name"),
                    variable_events=tuple(options.get("variable_events", ())),
                )
            )
        if "link" in options:
            defs.append(EventDefinition(T.LINK, link_name=options["link"]))
        if options.get("terminate"):
            defs.append(EventDefinition(T.TERMINATE))
        compensate = options.get("compensate")
        if compensate is not None and compensate is not False:
            activity = compensate if isinstance(compensate, str) else None
            defs.append(
                EventDefinition(
                    T.COMPENSATE,
                    activity_ref=activity,
                    wait_for_completion=options.get("wait_for_completion", True),
                )
            )
        if options.get("cancel"):
            defs.append(EventDefinition(T.CANCEL))
        defs.extend(options.get("event_definitions", ()))
        return tuple(defs)


def _is_compensation_boundary(node: FlowNode) -> bool:
    return (
        node.type is ElementType.BOUNDARY_EVENT
        and node.compensation_handler is None
        and any(d.type is EventDefinitionType.COMPENSATE for d in node.event_definitions)
    )


def _activity_fields(options: ActivityOptions) -> dict[str, Any]:
    return {
        "documentation": options.get("documentation"),
        "async_before": options.get("async_before", False),
        "async_after": options.get("async_after", False),
        "exclusive": options.get("exclusive", True),
        "input_mappings": _mappings(options.get("inputs")),
        "output_mappings": _mappings(options.get("outputs")),
        "listeners": _ordered(tuple(options.get("listeners", ()))),
        "properties": tuple((options.get("properties") or {}).items()),
        "is_for_compensation": options.get("for_compensation", False),
    }


def _job(options: JobOptions) -> JobDefinition | None:
    job_type = options.get("job_type")
    if job_type is None:
        for key in ("retries", "headers", "retry_time_cycle"):
            if key in options:
                raise InvalidArgumentError(f"{key}= needs job_type=")
        return None
    implementation = options.get("implementation", "job")
    if implementation != "job":
        for key in ("retries", "headers"):
            if key in options:
                raise InvalidArgumentError(
                    f"{key}= is only written for job workers (implementation='job'), "
                    f"not for implementation='{implementation}'"
                )
    return JobDefinition(
        type=_job_type(job_type, implementation),
        retries=_expr(options.get("retries")),
        implementation=implementation,
        headers=tuple((options.get("headers") or {}).items()),
        retry_time_cycle=options.get("retry_time_cycle"),
    )


#: Camunda 7 delegates name a class, bean expression or script verbatim: never evaluated.
_VERBATIM_IMPLEMENTATIONS = frozenset(
    {"class", "expression", "delegateExpression", "connector", "script"}
)


def _job_type(raw: str, implementation: str) -> Expression:
    """A job type: an expression for jobs and external tasks, verbatim text for delegates."""
    if implementation in _VERBATIM_IMPLEMENTATIONS:
        return Expression(raw.strip(), _STATIC)
    return Expression.from_source(raw)


def _validator() -> Callable[[Definitions], Sequence[Problem]]:
    try:
        module = importlib.import_module("midflight.model.validate")
    except ModuleNotFoundError:  # the validator is optional while the package is assembled
        return lambda _definitions: ()
    return cast(Callable[[Definitions], Sequence[Problem]], module.validate_definitions)
