"""The one mechanism that changes element-instance state: activate, complete, terminate, take flow.

Normal execution, modification and migration all go through these primitives (DESIGN.md §3).
An ``Execution`` works on one process instance's ``InstanceState`` for the length of one command:
it keeps a stack of pending steps so a long chain of pass-through elements runs without deep
recursion, and every change lands in ``state.changes`` together with its history events.

Why a stack (depth first) rather than a queue: a scope completes when it has no children and no
waiting join tokens. With depth-first processing, the "is my scope done?" check queued when a
child completes runs only after everything that child's outgoing flows started has reached a
wait state, so a scope is never completed while a token is still on its way inside it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from midflight.errors import ExpressionError, InvalidArgumentError
from midflight.model import (
    Definitions,
    ElementType,
    EventDefinitionType,
    Expression,
    FlowNode,
    Process,
    SequenceFlow,
)
from midflight.runtime.expressions import ExpressionEvaluator
from midflight.runtime.state import (
    ElementInstance,
    ElementState,
    EventSubscription,
    HistoryEvent,
    Incident,
    InstanceState,
    Job,
    JobKind,
    JobState,
    JoinToken,
    ProcessInstanceRecord,
    ProcessInstanceState,
    Variable,
)

__all__ = ["DeployedProcess", "Execution", "RuntimeContext"]

PROCESS_ELEMENT_TYPE = "process"


@dataclass(frozen=True, slots=True)
class RuntimeContext:
    """What the runtime needs from outside: the clock, an id source and compiled expressions."""

    clock: Callable[[], datetime]
    new_id: Callable[[], str]
    expressions: ExpressionEvaluator = field(default_factory=ExpressionEvaluator)


@dataclass(frozen=True, slots=True)
class DeployedProcess:
    """A process of a deployed definition version, as the runtime sees it."""

    definition_id: str
    key: str
    version: int
    definitions: Definitions
    process: Process

    def message_name(self, message_ref: str | None) -> str | None:
        message = self.definitions.messages.get(message_ref) if message_ref else None
        return (message.name or message.id) if message else None


class Execution:
    """Runs commands against one process instance's live state."""

    def __init__(self, state: InstanceState, deployed: DeployedProcess, ctx: RuntimeContext):
        self.state = state
        self.deployed = deployed
        self.process = deployed.process
        self.ctx = ctx
        self.now = ctx.clock()
        self._stack: list[tuple[str, str, str | None]] = []

    # ------------------------------------------------------------------------------------------
    # starting
    # ------------------------------------------------------------------------------------------
    @classmethod
    def start_instance(
        cls,
        deployed: DeployedProcess,
        ctx: RuntimeContext,
        *,
        process_instance_id: str,
        business_key: str | None = None,
        variables: Mapping[str, Any] | None = None,
        start_event_id: str | None = None,
    ) -> Execution:
        """Create a process instance and run it to its first wait states."""
        now = ctx.clock()
        record = ProcessInstanceRecord(
            id=process_instance_id,
            definition_id=deployed.definition_id,
            definition_key=deployed.key,
            definition_version=deployed.version,
            business_key=business_key,
            state=ProcessInstanceState.ACTIVE,
            started_at=now,
        )
        state = InstanceState(instance=record)
        state.changes.insert(record)
        execution = cls(state, deployed, ctx)
        root = ElementInstance(
            id=process_instance_id,
            process_instance_id=process_instance_id,
            parent_id=None,
            element_id=deployed.process.id,
            element_type=PROCESS_ELEMENT_TYPE,
            state=ElementState.ACTIVE,
            started_at=now,
        )
        state.add(root)
        execution.history(
            "process.started",
            root,
            {"definition_id": deployed.definition_id, "business_key": business_key},
        )
        if variables:
            execution.set_variables(root.id, variables, local=True)
        start = execution._start_event(start_event_id)
        execution.activate(start, root)
        execution.run()
        return execution

    def _start_event(self, start_event_id: str | None) -> FlowNode:
        if start_event_id is not None:
            if not self.process.has_node(start_event_id):
                raise InvalidArgumentError(
                    f"process '{self.process.id}' has no start event '{start_event_id}'"
                )
            return self.process.node(start_event_id)
        for node in self.process.start_events():
            if not node.event_definitions:
                return node
        raise InvalidArgumentError(
            f"process '{self.process.id}' has no none start event to start it with"
        )

    # ------------------------------------------------------------------------------------------
    # the step loop
    # ------------------------------------------------------------------------------------------
    def run(self) -> None:
        """Process pending steps until every token rests in a wait state."""
        stack = self._stack
        while stack:
            step, target, scope_id = stack.pop()
            if step == "flow":
                scope = self.state.elements.get(scope_id) if scope_id else None
                if scope is not None:
                    self._enter_flow(self.process.flows[target], scope)
            else:  # "check": complete the scope if nothing is left inside it
                scope = self.state.elements.get(target)
                if scope is not None and scope.state == ElementState.ACTIVE:
                    self._complete_scope_if_done(scope)

    def _push_flows(self, flows: Sequence[SequenceFlow], scope_id: str) -> None:
        # Reversed so the first outgoing flow is processed first.
        for flow in reversed(flows):
            self._stack.append(("flow", flow.id, scope_id))

    # ------------------------------------------------------------------------------------------
    # primitives
    # ------------------------------------------------------------------------------------------
    def activate(
        self,
        node: FlowNode,
        scope: ElementInstance,
        *,
        flow_id: str | None = None,
        variables: Mapping[str, Any] | None = None,
    ) -> ElementInstance:
        """Create an instance of ``node`` inside ``scope`` and run its activation behaviour."""
        from midflight.runtime.behaviors import behavior_for

        instance = ElementInstance(
            id=self.ctx.new_id(),
            process_instance_id=self.state.instance.id,
            parent_id=scope.id,
            element_id=node.id,
            element_type=node.type.value,
            state=ElementState.ACTIVE,
            started_at=self.now,
            entered_by_flow=flow_id,
        )
        self.state.add(instance)
        self.history("element.activated", instance)
        try:
            if variables:
                self.set_variables(instance.id, variables, local=True)
            for mapping in node.input_mappings:
                value = None if mapping.source is None else self.evaluate(mapping.source, scope.id)
                self.set_variable_local(instance.id, mapping.target, value)
            behavior_for(node).on_activate(self, instance, node)
        except (ExpressionError, InvalidArgumentError) as exc:
            self.raise_incident(instance, "EXPRESSION", str(exc))
        return instance

    def retry_activation(self, instance: ElementInstance) -> None:
        """Run an element's activation behaviour again (after an incident was resolved)."""
        from midflight.runtime.behaviors import behavior_for

        node = self.process.node(instance.element_id)
        try:
            behavior_for(node).on_activate(self, instance, node)
        except (ExpressionError, InvalidArgumentError) as exc:
            self.raise_incident(instance, "EXPRESSION", str(exc))

    def complete(
        self, instance: ElementInstance, *, flows: Sequence[SequenceFlow] | None = None
    ) -> None:
        """Complete an element instance and leave it over ``flows`` (default: its behaviour's)."""
        from midflight.runtime.behaviors import behavior_for

        if instance.parent_id is None:
            self._complete_process(instance)
            return
        node = self.process.node(instance.element_id)
        behavior = behavior_for(node)
        try:
            behavior.on_complete(self, instance, node)
            for mapping in node.output_mappings:
                value = (
                    None if mapping.source is None else self.evaluate(mapping.source, instance.id)
                )
                self.set_variable(instance.parent_id, mapping.target, value)
            leaving = behavior.outgoing(self, instance, node) if flows is None else flows
        except (ExpressionError, InvalidArgumentError) as exc:
            self.raise_incident(instance, "EXPRESSION", str(exc))
            return
        self._release(instance)
        self.state.remove(instance)
        self.history("element.completed", instance)
        self._stack.append(("check", instance.parent_id, None))
        self._push_flows(leaving, instance.parent_id)

    def terminate(self, instance: ElementInstance) -> None:
        """Terminate an element instance and everything inside it, innermost first."""
        from midflight.runtime.behaviors import behavior_for

        for child in self.state.children(instance.id):
            self.terminate(child)
        if instance.parent_id is not None:
            node = self.process.node(instance.element_id)
            behavior_for(node).on_terminate(self, instance, node)
        self._release(instance)
        self.state.remove(instance)
        self.history("element.terminated", instance)

    def take_flow(self, flow: SequenceFlow, scope: ElementInstance) -> None:
        """Put a token on ``flow`` inside ``scope``; it moves on when the step loop runs."""
        self._push_flows((flow,), scope.id)

    def check_scope(self, scope: ElementInstance) -> None:
        """Ask for ``scope`` to complete if nothing is left inside it once pending steps ran."""
        self._stack.append(("check", scope.id, None))

    # ------------------------------------------------------------------------------------------
    # flows, joins and scope completion
    # ------------------------------------------------------------------------------------------
    def _enter_flow(self, flow: SequenceFlow, scope: ElementInstance) -> None:
        target = self.process.node(flow.target_id)
        if target.type is ElementType.PARALLEL_GATEWAY and len(target.incoming) > 1:
            self._arrive_at_join(target, flow, scope)
            return
        self.activate(target, scope, flow_id=flow.id)

    def _arrive_at_join(
        self, gateway: FlowNode, flow: SequenceFlow, scope: ElementInstance
    ) -> None:
        token = JoinToken(
            id=self.ctx.new_id(),
            process_instance_id=self.state.instance.id,
            scope_id=scope.id,
            element_id=gateway.id,
            flow_id=flow.id,
        )
        self.state.add(token)
        waiting = [
            t
            for t in self.state.join_tokens.values()
            if t.scope_id == scope.id and t.element_id == gateway.id
        ]
        by_flow: dict[str, JoinToken] = {}
        for t in waiting:
            by_flow.setdefault(t.flow_id, t)
        if all(f in by_flow for f in gateway.incoming):
            for t in by_flow.values():
                self.state.remove(t)
            self.activate(gateway, scope, flow_id=flow.id)

    def _complete_scope_if_done(self, scope: ElementInstance) -> None:
        if self.state.children(scope.id):
            return
        if any(t.scope_id == scope.id for t in self.state.join_tokens.values()):
            return
        self.complete(scope)

    def _complete_process(self, root: ElementInstance) -> None:
        record = self.state.instance
        if record.state not in (ProcessInstanceState.ACTIVE, ProcessInstanceState.SUSPENDED):
            return
        for child in self.state.children(root.id):
            self.terminate(child)
        self._release(root)
        self.state.remove(root)
        record.state = ProcessInstanceState.COMPLETED
        record.ended_at = self.now
        self.state.touch(record)
        self.history("process.completed", root)

    def cancel_instance(self, reason: str | None = None) -> None:
        """Cancel the whole process instance: terminate everything, mark it CANCELED."""
        root = self.state.elements.get(self.state.instance.id)
        if root is not None:
            for child in self.state.children(root.id):
                self.terminate(child)
            self._release(root)
            self.state.remove(root)
        record = self.state.instance
        record.state = ProcessInstanceState.CANCELED
        record.ended_at = self.now
        self.state.touch(record)
        self.history("process.canceled", None, {"reason": reason} if reason else None)

    def _release(self, instance: ElementInstance) -> None:
        """Delete every live row owned by an element instance that is leaving."""
        state = self.state
        for table in (state.user_tasks, state.jobs, state.subscriptions, state.incidents):
            owned = [r for r in table.values() if r.element_instance_id == instance.id]
            for record in owned:
                state.remove(record)
        for token in [t for t in state.join_tokens.values() if t.scope_id == instance.id]:
            state.remove(token)
        for variable in list(state.scope_variables(instance.id).values()):
            state.remove(variable)

    # ------------------------------------------------------------------------------------------
    # outgoing flow selection shared by activities, events and gateways
    # ------------------------------------------------------------------------------------------
    def select_flows(
        self, instance: ElementInstance, node: FlowNode, *, first_only: bool
    ) -> list[SequenceFlow]:
        """Outgoing flows whose condition holds (unconditioned ones always do), else the default.

        Raises:
            ExpressionError: a condition failed to evaluate.
        """
        chosen: list[SequenceFlow] = []
        default: SequenceFlow | None = None
        variables: Mapping[str, Any] | None = None
        for flow in self.process.outgoing_flows(node.id):
            if flow.id == node.default_flow:
                default = flow
                continue
            if flow.condition is not None:
                if variables is None:
                    variables = self.variables_for(instance.id)
                if self.ctx.expressions.evaluate(flow.condition, variables) is not True:
                    continue
            chosen.append(flow)
            if first_only:
                break
        if not chosen and default is not None:
            chosen.append(default)
        return chosen

    # ------------------------------------------------------------------------------------------
    # variables
    # ------------------------------------------------------------------------------------------
    def variables_for(self, scope_id: str) -> dict[str, Any]:
        return self.state.visible_variables(scope_id)

    def evaluate(self, expression: Expression, scope_id: str) -> Any:
        return self.ctx.expressions.evaluate(expression, self.variables_for(scope_id))

    def set_variable_local(self, scope_id: str, name: str, value: Any) -> None:
        existing = self.state.scope_variables(scope_id).get(name)
        if existing is not None:
            existing.value = value
            self.state.touch(existing)
        else:
            self.state.add(
                Variable(
                    id=self.ctx.new_id(),
                    process_instance_id=self.state.instance.id,
                    scope_id=scope_id,
                    name=name,
                    value=value,
                )
            )
        self.history("variable.set", None, {"name": name, "value": value, "scope_id": scope_id})

    def set_variable(self, scope_id: str, name: str, value: Any) -> None:
        """Set where the variable is visible from ``scope_id``; a new one goes on the root scope."""
        existing = self.state.find_variable(scope_id, name)
        target = existing.scope_id if existing is not None else self.state.instance.id
        self.set_variable_local(target, name, value)

    def set_variables(self, scope_id: str, variables: Mapping[str, Any], *, local: bool) -> None:
        setter = self.set_variable_local if local else self.set_variable
        for name, value in variables.items():
            setter(scope_id, name, value)

    def complete_with_variables(
        self, instance: ElementInstance, variables: Mapping[str, Any] | None
    ) -> None:
        """Finish a wait state (task, job, message) with the variables its completer sent.

        With output mappings, the variables are local to the element and the mappings decide what
        reaches the parent scope; without, they propagate like ``set_variable``.
        """
        if variables:
            node = self.process.node(instance.element_id)
            self.set_variables(instance.id, variables, local=bool(node.output_mappings))
        self.complete(instance)

    # ------------------------------------------------------------------------------------------
    # jobs, subscriptions, incidents, history
    # ------------------------------------------------------------------------------------------
    def create_job(
        self,
        instance: ElementInstance,
        *,
        kind: JobKind,
        job_type: str,
        retries: int = 3,
        due_at: datetime | None = None,
        payload: dict[str, Any] | None = None,
    ) -> Job:
        job = Job(
            id=self.ctx.new_id(),
            process_instance_id=self.state.instance.id,
            element_instance_id=instance.id,
            element_id=instance.element_id,
            definition_id=self.deployed.definition_id,
            kind=kind,
            type=job_type,
            state=JobState.ACTIVATABLE,
            retries=retries,
            created_at=self.now,
            due_at=due_at,
            payload=payload,
        )
        self.state.add(job)
        self.history("job.created", instance, {"job_id": job.id, "kind": kind, "type": job_type})
        return job

    def subscribe(
        self,
        owner: ElementInstance,
        node: FlowNode,
        *,
        kind: str,
        name: str,
        correlation_key: str | None,
    ) -> EventSubscription:
        subscription = EventSubscription(
            id=self.ctx.new_id(),
            process_instance_id=self.state.instance.id,
            element_instance_id=owner.id,
            element_id=node.id,
            definition_id=self.deployed.definition_id,
            kind=kind,
            name=name,
            correlation_key=correlation_key,
            created_at=self.now,
        )
        self.state.add(subscription)
        return subscription

    def raise_incident(
        self,
        instance: ElementInstance,
        incident_type: str,
        message: str,
        *,
        job_id: str | None = None,
    ) -> Incident:
        incident = Incident(
            id=self.ctx.new_id(),
            process_instance_id=self.state.instance.id,
            element_instance_id=instance.id,
            element_id=instance.element_id,
            definition_id=self.deployed.definition_id,
            type=incident_type,
            message=message,
            created_at=self.now,
            job_id=job_id,
        )
        self.state.add(incident)
        self.history(
            "incident.created",
            instance,
            {"incident_id": incident.id, "type": incident_type, "message": message},
        )
        return incident

    def history(
        self, event: str, instance: ElementInstance | None, data: dict[str, Any] | None = None
    ) -> None:
        self.state.changes.history.append(
            HistoryEvent(
                id=self.ctx.new_id(),
                process_instance_id=self.state.instance.id,
                timestamp=self.now,
                event=event,
                element_instance_id=instance.id if instance is not None else None,
                element_id=instance.element_id if instance is not None else None,
                data=data,
            )
        )

    # ------------------------------------------------------------------------------------------
    # errors thrown by workers or end events
    # ------------------------------------------------------------------------------------------
    def throw_error(
        self,
        instance: ElementInstance,
        error_code: str,
        message: str | None = None,
        variables: Mapping[str, Any] | None = None,
    ) -> bool:
        """Propagate a BPMN error from ``instance`` to the nearest catching boundary event.

        Returns False (and opens an UNHANDLED_ERROR incident) when nothing catches it: an
        uncaught error never ends an instance silently.
        """
        current: ElementInstance | None = instance
        while current is not None and current.parent_id is not None:
            node = self.process.node(current.element_id)
            for boundary in self.process.boundary_events(node.id):
                if self._catches_error(boundary, error_code):
                    scope = self.state.elements[current.parent_id]
                    self.terminate(current)
                    self.activate(boundary, scope, variables=variables)
                    self.run()
                    return True
            current = self.state.elements.get(current.parent_id)
        detail = f": {message}" if message else ""
        self.raise_incident(
            instance,
            "UNHANDLED_ERROR",
            f"error '{error_code}' was thrown but no boundary event catches it{detail}",
        )
        return False

    def _catches_error(self, boundary: FlowNode, error_code: str) -> bool:
        for definition in boundary.event_definitions:
            if definition.type is not EventDefinitionType.ERROR:
                continue
            if definition.ref is None:
                return True
            error = self.deployed.definitions.errors.get(definition.ref)
            if error is None or error.error_code in (None, error_code):
                return True
        return False

    # ------------------------------------------------------------------------------------------
    # helpers for behaviours
    # ------------------------------------------------------------------------------------------
    def owned(self, records: Iterable[Any], instance: ElementInstance) -> list[Any]:
        return [r for r in records if r.element_instance_id == instance.id]
