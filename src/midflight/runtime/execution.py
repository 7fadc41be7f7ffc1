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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from midflight.errors import ExpressionError, InvalidArgumentError
from midflight.model import (
    MULTI_INSTANCE_BODY_SUFFIX,
    Definitions,
    ElementType,
    EventDefinitionType,
    Expression,
    FlowNode,
    Process,
    SequenceFlow,
    StandardLoop,
)
from midflight.runtime import events
from midflight.runtime.behaviors.ad_hoc import path_completed
from midflight.runtime.behaviors.multi_instance import inner_finished
from midflight.runtime.expressions import ExpressionEvaluator
from midflight.runtime.plan import NodePlan, ProcessPlan
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
    root_element_instance,
)
from midflight.runtime.variables import mapped_name, with_property

__all__ = ["OPENING_FAILED", "DeployedProcess", "Execution", "FollowUp", "RuntimeContext"]

_BODY_TYPE = ElementType.MULTI_INSTANCE_BODY.value

#: How the message of an incident starts when an element's input mappings or event
#: subscriptions failed as it was entered: resolving it opens the element again.
OPENING_FAILED = "opening "


@dataclass(frozen=True, slots=True)
class FollowUp:
    """An effect on another process instance, carried out by the facade in the same transaction
    (``start_child``, ``child_completed``, ``child_error``, ``cancel_child``) or after it
    (``signal``)."""

    kind: str
    process_instance_id: str | None = None
    element_instance_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


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
    plan: ProcessPlan = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "plan", ProcessPlan.of(self.process))


class Execution:
    """Runs commands against one process instance's live state."""

    def __init__(
        self,
        state: InstanceState,
        deployed: DeployedProcess,
        ctx: RuntimeContext,
        now: datetime | None = None,
    ):
        self.state = state
        self.deployed = deployed  # sets ``process`` and ``plans`` too
        self.ctx = ctx
        # One moment for the whole command (its rows and events share it); ``now``: the one
        # the caller read already.
        self.now = ctx.clock() if now is None else now
        self._stack: list[tuple[str, str, str | None]] = []
        # flows chosen before an end listener or async-after continuation interrupted leaving
        self._pending_flows: dict[str, list[SequenceFlow]] = {}
        # effects on other process instances (call activities, signals), applied by the facade
        self.follow_ups: list[FollowUp] = []
        # History events get the command's id plus a sequence number: unique, and cheaper than
        # a new id per event (a straight-through instance writes dozens).
        self._history_prefix = ctx.new_id()
        self._history_count = 0
        self._history = state.changes.history
        self._variables_changed = False
        # (flow id, scope id) -> the variables tokens on that flow carry: a tool's flow inside an
        # ad-hoc subprocess hands its activation's variables on (``activation_variables``)
        self._carried: dict[tuple[str, str], list[dict[str, Any]]] = {}
        # Modification may skip listeners and input/output mappings for its command (seed 003).
        self.skip_listeners = False
        self.skip_io_mappings = False
        # While a modification runs its instructions the process instance does not end: a
        # root left empty only notes that it would have completed (``process_end_held``).
        self.hold_process_end = False
        self.process_end_held = False

    @property
    def deployed(self) -> DeployedProcess:
        return self._deployed

    @deployed.setter
    def deployed(self, deployed: DeployedProcess) -> None:
        # Migration runs a dropped scope's termination by the source model: switching the
        # deployed process switches the model and its plans with it.
        self._deployed = deployed
        self.process = deployed.process
        self.plans = deployed.plan.nodes

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
        parent_process_instance_id: str | None = None,
        parent_element_instance_id: str | None = None,
        run_start_event: bool = True,
    ) -> Execution:
        """Create a process instance and run it to its first wait states.

        ``start_event_id`` names the start event that fired (a message, signal or timer start);
        by default the none start event is used. A called instance names its caller. Without
        ``run_start_event`` the instance is left open with nothing started inside it: starting
        an instance at chosen elements (seed 003) fills it with modification instructions.
        """
        now = ctx.clock()
        record = ProcessInstanceRecord(
            id=process_instance_id,
            definition_id=deployed.definition_id,
            definition_key=deployed.key,
            definition_version=deployed.version,
            business_key=business_key,
            state=ProcessInstanceState.ACTIVE,
            started_at=now,
            parent_process_instance_id=parent_process_instance_id,
            parent_element_instance_id=parent_element_instance_id,
        )
        state = InstanceState(instance=record)
        state.changes.insert(record)
        execution = cls(state, deployed, ctx, now)
        root = root_element_instance(record)
        state.add(root)
        execution.history(
            "process.started",
            root,
            {"definition_id": deployed.definition_id, "business_key": business_key},
        )
        if variables:
            execution.set_variables(root.id, variables, local=True)
        events.open_scope(execution, root, None)
        if not run_start_event:
            return execution
        start = execution._start_event(start_event_id)
        execution.activate(start, root, triggered=bool(start.event_definitions))
        execution.run()
        return execution

    def _start_event(self, start_event_id: str | None) -> FlowNode:
        if start_event_id is not None:
            if not self.process.has_node(start_event_id):
                raise InvalidArgumentError(
                    f"process '{self.process.id}' has no start event '{start_event_id}'"
                )
            return self.process.node(start_event_id)
        # the none start event; else a single message, signal or timer start, started directly
        start = self.deployed.plan.none_start
        if start is not None:
            return start
        raise InvalidArgumentError(
            f"process '{self.process.id}' has no none start event to start it with"
        )

    # ------------------------------------------------------------------------------------------
    # the step loop
    # ------------------------------------------------------------------------------------------
    def run(self) -> None:
        """Process pending steps until every token rests in a wait state."""
        stack = self._stack
        elements = self.state.elements
        flows = self.process.flows
        while True:
            if not stack:
                # Conditional events react to variable changes once every token rests.
                if self._variables_changed and self._trigger_conditions():
                    continue
                break
            step, target, scope_id = stack.pop()
            if step == "flow":
                scope = elements.get(scope_id) if scope_id else None
                if scope is not None and scope.state == ElementState.ACTIVE:
                    self._enter_flow(flows[target], scope)
            else:  # "check": a child of the scope finished; let the scope's behaviour decide
                scope = elements.get(target)
                if scope is not None and scope.state == ElementState.ACTIVE:
                    if scope.parent_id is None:
                        self.complete_scope_if_done(scope)
                    else:
                        plan = self.plans[scope.element_id]
                        plan.behavior.on_child_completed(self, scope, plan.node)

    def _trigger_conditions(self) -> bool:
        """Trigger the conditional subscriptions whose condition now holds; True if any did."""
        self._variables_changed = False
        return events.trigger_conditions(self)

    def check_conditions(self) -> None:
        """Evaluate the conditional subscriptions once every token rests (a new subscription's
        condition may hold already, without any variable changing)."""
        self._variables_changed = True

    def _push_flows(self, flows: Sequence[SequenceFlow], scope_id: str) -> None:
        # Reversed so the first outgoing flow is processed first.
        stack = self._stack
        for flow in reversed(flows):
            stack.append(("flow", flow.id, scope_id))

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
        triggered: bool = False,
        loop_counter: int | None = None,
        skip_async: bool = False,
        scope_only: bool = False,
    ) -> ElementInstance:
        """Create an instance of ``node`` inside ``scope`` and run its activation behaviour.

        A multi-instance activity is entered through its body ``<id>#multiInstanceBody``; the
        body activates the inner instances (``loop_counter`` set). ``triggered`` marks a catch
        event whose event already happened (boundary, event-subprocess start, event-based
        gateway target): it completes at once. An ``async_before`` element waits as a transition
        instance until its job runs, unless ``skip_async``. ``scope_only`` creates a scope
        (subprocess, multi-instance body, ...) with its subscriptions but starts nothing inside
        it: modification and migration fill it themselves.
        """
        plan = self.plans[node.id]
        if plan.body is not None and loop_counter is None:
            plan = self.plans[plan.body.id]
            node = plan.node
        # positional: the fields of ElementInstance, in order (this runs for every element)
        instance = ElementInstance(
            self.ctx.new_id(),
            self.state.instance.id,
            scope.id,
            node.id,
            plan.element_type,
            ElementState.ACTIVE,
            self.now,
            loop_counter,
            flow_id,
        )
        self.state.add(instance)
        if variables:
            self.set_variables(instance.id, variables, local=True)
        if scope_only:
            self.history("element.activated", instance)
            self._open(instance, plan)
            return instance
        if plan.async_before and not skip_async and not triggered:
            instance.state = ElementState.TRANSITION_BEFORE
            self.create_job(instance, kind=JobKind.ASYNC, job_type="async-before", retries=3)
            self.history("element.async_before", instance)
            return instance
        self._enter(instance, plan, triggered=triggered)
        return instance

    def continue_async(self, instance: ElementInstance) -> None:
        """Run the continuation an ASYNC job stands for (async before or async after)."""
        plan = self.plans[instance.element_id]
        for job in [
            j
            for j in self.state.jobs.values()
            if j.element_instance_id == instance.id and j.kind == JobKind.ASYNC
        ]:
            self.state.remove(job)
        if instance.state == ElementState.TRANSITION_BEFORE:
            instance.state = ElementState.ACTIVE
            self.state.touch(instance)
            self._enter(instance, plan, triggered=False)
        elif instance.state == ElementState.TRANSITION_AFTER:
            self._leave(instance, plan, None)

    def _open(self, instance: ElementInstance, plan: NodePlan) -> bool:
        """Input mappings and subscriptions of an entered element; False on an incident.

        The incident's message starts with ``OPENING_FAILED``: resolving it opens the element
        again (``retry_activation``).
        """
        node = plan.node
        try:
            if node.input_mappings and not self.skip_io_mappings:
                # in the element's own scope, as Zeebe and Camunda 7 do: the variables it was
                # started with (an ad-hoc activation's, a multi-instance element's) count
                scope_id = instance.id
                for mapping in node.input_mappings:
                    value = (
                        None if mapping.source is None else self.evaluate(mapping.source, scope_id)
                    )
                    self.set_mapped(instance.id, mapping.target, value, local=True)
            if plan.catches:
                events.open_scope(self, instance, node)
        except (ExpressionError, InvalidArgumentError) as exc:
            self.raise_incident(
                instance, "EXPRESSION", f"{OPENING_FAILED}'{node.id}' failed: {exc}"
            )
            return False
        return True

    def _enter(self, instance: ElementInstance, plan: NodePlan, *, triggered: bool) -> None:
        self.history("element.activated", instance)
        if not self._open(instance, plan):
            return
        if plan.start_listeners and self._await_listener(instance, plan, "start", 0):
            return
        self._run_behavior(instance, plan, triggered=triggered)

    def _run_behavior(self, instance: ElementInstance, plan: NodePlan, *, triggered: bool) -> None:
        if triggered:
            self.complete(instance)
            return
        try:
            plan.behavior.on_activate(self, instance, plan.node)
        except (ExpressionError, InvalidArgumentError) as exc:
            self.raise_incident(instance, "EXPRESSION", str(exc))

    def retry_activation(self, instance: ElementInstance, incident: Incident) -> None:
        """Carry out the step of an element's activation that raised ``incident`` again, now
        that it was resolved: its behaviour, or — when its input mappings or subscriptions
        failed (``OPENING_FAILED``) — those first, then its start listeners and behaviour.
        """
        plan = self.plans[instance.element_id]
        if not incident.message.startswith(OPENING_FAILED):
            self._run_behavior(instance, plan, triggered=False)
            return
        # What a partial opening did is undone, so opening again neither doubles a subscription
        # nor feeds a mapping what an earlier one set; the variables it was started with stay.
        state = self.state
        catches = {catch.id for catch in plan.catches}
        for subscription in [
            s
            for s in state.subscriptions.values()
            if s.element_instance_id == instance.id and s.element_id in catches
        ]:
            state.remove(subscription)
        for timer in [
            j
            for j in state.jobs.values()
            if j.element_instance_id == instance.id
            and j.kind == JobKind.TIMER
            and (j.payload or {}).get("catch") in catches
        ]:
            state.remove(timer)
        mapped = state.scope_variables(instance.id)
        for mapping in plan.node.input_mappings:
            variable = mapped.get(mapped_name(mapping.target))
            if variable is not None:
                state.remove(variable)
        if not self._open(instance, plan):
            return
        if state.has_children(instance.id):
            return  # a scope a modification or migration filled itself: nothing to start
        if plan.start_listeners and self._await_listener(instance, plan, "start", 0):
            return
        self._run_behavior(instance, plan, triggered=_entered_triggered(self, instance, plan))

    def _await_listener(
        self, instance: ElementInstance, plan: NodePlan, event: str, index: int
    ) -> bool:
        """Create the job of the ``index``-th ``event`` execution listener; True if one exists.

        The element waits until the listener's job completes (Camunda 8's blocking listeners).
        """
        if self.skip_listeners:
            return False
        listeners = plan.start_listeners if event == "start" else plan.end_listeners
        if index >= len(listeners):
            return False
        listener = listeners[index]
        job_type = self.evaluate(listener.job_type, instance.id)
        retries = (
            3 if listener.retries is None else int(self.evaluate(listener.retries, instance.id))
        )
        self.create_job(
            instance,
            kind=JobKind.LISTENER,
            job_type=str(job_type),
            retries=retries,
            payload={"event": event, "index": index},
        )
        return True

    def listener_completed(self, instance: ElementInstance, event: str, index: int) -> None:
        """A listener job finished: run the next listener, or go on with the element."""
        plan = self.plans[instance.element_id]
        if self._await_listener(instance, plan, event, index + 1):
            return
        if event == "start":
            self._run_behavior(instance, plan, triggered=False)
        else:
            self._finish(instance, plan, self._pending_flows.pop(instance.id, None))

    def complete(
        self, instance: ElementInstance, *, flows: Sequence[SequenceFlow] | None = None
    ) -> None:
        """Complete an element instance and leave it over ``flows`` (default: its behaviour's)."""
        if instance.parent_id is None:
            self._complete_process(instance)
            return
        plan = self.plans[instance.element_id]
        node = plan.node
        try:
            plan.behavior.on_complete(self, instance, node)
            if node.output_mappings and not self.skip_io_mappings:
                # a tool's result stays with its activation, as what its completer sent does
                local = plan.results_local
                scope_id = instance.id if local else instance.parent_id
                for mapping in node.output_mappings:
                    value = (
                        None
                        if mapping.source is None
                        else self.evaluate(mapping.source, instance.id)
                    )
                    self.set_mapped(scope_id, mapping.target, value, local=local)
            if plan.ends_collected_path:
                path_completed(self, instance, node)
        except (ExpressionError, InvalidArgumentError) as exc:
            # Resolving it retries the completion, not the activation (IO_MAPPING).
            self.raise_incident(instance, "IO_MAPPING", f"completing '{node.id}' failed: {exc}")
            return
        if plan.end_listeners and self._await_listener(instance, plan, "end", 0):
            if flows is not None:
                self._pending_flows[instance.id] = list(flows)
            return
        self._finish(instance, plan, flows)

    def _finish(
        self, instance: ElementInstance, plan: NodePlan, flows: Sequence[SequenceFlow] | None
    ) -> None:
        if plan.compensation_handlers or plan.node.is_for_compensation:
            events.on_completed(self, instance, plan.node)
        if plan.async_after and instance.state != ElementState.TRANSITION_AFTER:
            # a tool's token keeps its activation's variables until it moves on
            self._release(instance, keep_variables=plan.in_ad_hoc)
            instance.state = ElementState.TRANSITION_AFTER
            self.state.touch(instance)
            if flows is not None:
                self._pending_flows[instance.id] = list(flows)
            self.create_job(instance, kind=JobKind.ASYNC, job_type="async-after", retries=3)
            self.history("element.async_after", instance)
            return
        self._leave(instance, plan, flows)

    def _leave(
        self, instance: ElementInstance, plan: NodePlan, flows: Sequence[SequenceFlow] | None
    ) -> None:
        scope_id = instance.parent_id
        assert scope_id is not None
        leaving: Sequence[SequenceFlow]
        try:
            if flows is not None:
                leaving = flows
            elif instance.id in self._pending_flows:
                leaving = self._pending_flows.pop(instance.id)
            else:
                leaving = plan.behavior.outgoing(self, instance, plan.node)
        except (ExpressionError, InvalidArgumentError) as exc:
            self.raise_incident(instance, "EXPRESSION", str(exc))
            return
        if plan.standard_loop and self._loop_again(instance, plan.node):
            return
        if self._is_inner(instance):
            inner_finished(self, instance, completed=True)
            leaving = []  # the body leaves the activity once all inner instances are done
        elif leaving and plan.in_ad_hoc:
            carried = self.activation_variables(instance)
            if carried:
                for flow in leaving:
                    self._carried.setdefault((flow.id, scope_id), []).append(carried)
        self._release(instance)
        self.state.remove(instance)
        self.history("element.completed", instance)
        self._stack.append(("check", scope_id, None))
        if leaving:
            self._push_flows(leaving, scope_id)

    def _loop_again(self, instance: ElementInstance, node: FlowNode) -> bool:
        """Standard loop: run the activity again while the loop condition holds."""
        loop = node.loop
        assert isinstance(loop, StandardLoop) and instance.parent_id is not None
        count = (instance.loop_counter or 0) + 1
        if loop.loop_maximum is not None and count >= loop.loop_maximum:
            return False
        if (
            loop.loop_condition is None
            or self.evaluate(loop.loop_condition, instance.id) is not True
        ):
            return False
        carried = self.activation_variables(instance)  # a looping tool keeps its activation's
        self._release(instance)
        self.state.remove(instance)
        self.history("element.completed", instance)
        scope = self.state.elements[instance.parent_id]
        again = self.activate(
            node, scope, flow_id=instance.entered_by_flow, variables=carried, skip_async=False
        )
        again.loop_counter = count
        self.state.touch(again)
        return True

    def terminate(self, instance: ElementInstance) -> None:
        """Terminate an element instance and everything inside it, innermost first."""
        for child in self.state.children(instance.id):
            self.terminate(child)
        if instance.parent_id is not None:
            plan = self.plans[instance.element_id]
            plan.behavior.on_terminate(self, instance, plan.node)
            if self._is_inner(instance):
                inner_finished(self, instance, completed=False)
        self._pending_flows.pop(instance.id, None)
        self._release(instance)
        self.state.remove(instance)
        self.history("element.terminated", instance)

    def _is_inner(self, instance: ElementInstance) -> bool:
        parent = self.state.elements.get(instance.parent_id or "")
        return parent is not None and parent.element_type == _BODY_TYPE

    def broadcast_signal(
        self,
        name: str,
        instance: ElementInstance | None,
        variables: Mapping[str, Any] | None = None,
    ) -> None:
        """Throw a signal: every subscription of that name, in every instance, is triggered
        (by the facade, after this instance's changes are saved)."""
        self.history("signal.thrown", instance, {"name": name})
        self.follow_ups.append(
            FollowUp(kind="signal", data={"name": name, "variables": dict(variables or {})})
        )

    def take_flow(self, flow: SequenceFlow, scope: ElementInstance) -> None:
        """Put a token on ``flow`` inside ``scope``; it moves on when the step loop runs."""
        self._push_flows((flow,), scope.id)

    def check_scope(self, scope: ElementInstance) -> None:
        """Ask ``scope``'s behaviour to react once pending steps ran (a child finished)."""
        self._stack.append(("check", scope.id, None))

    # ------------------------------------------------------------------------------------------
    # flows, joins and scope completion
    # ------------------------------------------------------------------------------------------
    def _enter_flow(self, flow: SequenceFlow, scope: ElementInstance) -> None:
        target = self.plans[flow.target_id]
        carried = self._take_carried(flow.id, scope.id) if self._carried else None
        if target.is_join:
            self._arrive_at_join(target.node, flow, scope)  # what a token carried ends here
            return
        self.activate(target.node, scope, flow_id=flow.id, variables=carried)

    def _take_carried(self, flow_id: str, scope_id: str) -> dict[str, Any] | None:
        waiting = self._carried.get((flow_id, scope_id))
        if not waiting:
            return None
        carried = waiting.pop()
        if not waiting:
            del self._carried[(flow_id, scope_id)]
        return carried

    def activation_variables(self, instance: ElementInstance) -> dict[str, Any] | None:
        """What an instance directly inside an ad-hoc subprocess hands on with its token (to
        the next element of its flow, or a boundary event of it that is triggered): its local
        variables — its activation's and its results — but those it made itself (input
        mappings, a multi-instance body's counters). None for an instance elsewhere."""
        plan = self.plans[instance.element_id]
        if not plan.in_ad_hoc:
            return None
        own = plan.own_locals
        return {
            name: variable.value
            for name, variable in self.state.scope_variables(instance.id).items()
            if name not in own
        }

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
        self.try_join(gateway, scope)

    def try_join(self, gateway: FlowNode, scope: ElementInstance) -> bool:
        """Fire a join whose tokens are complete: a parallel join needs one token per incoming
        flow; an inclusive join needs its arrived tokens and no other token that can still
        reach it."""
        waiting = [
            t
            for t in self.state.join_tokens.values()
            if t.scope_id == scope.id and t.element_id == gateway.id
        ]
        if not waiting:
            return False
        by_flow: dict[str, JoinToken] = {}
        for t in waiting:
            by_flow.setdefault(t.flow_id, t)
        if gateway.type is ElementType.PARALLEL_GATEWAY:
            if not all(f in by_flow for f in gateway.incoming):
                return False
        elif self._join_reachable(gateway, scope):
            return False
        for t in by_flow.values():
            self.state.remove(t)
        last = max(by_flow.values(), key=lambda t: waiting.index(t))
        self.activate(gateway, scope, flow_id=last.flow_id)
        return True

    def _join_reachable(self, gateway: FlowNode, scope: ElementInstance) -> bool:
        """Can a live token in ``scope`` (other than those waiting at the gateway) still get there?"""
        reach = self.reachability()
        for child in self.state.children(scope.id):
            element = child.element_id.removesuffix(MULTI_INSTANCE_BODY_SUFFIX)
            if gateway.id in reach.get(element, ()):
                return True
        for token in self.state.join_tokens.values():
            if (
                token.scope_id == scope.id
                and token.element_id != gateway.id
                and gateway.id in reach.get(token.element_id, ())
            ):
                return True
        return any(
            step == "flow"
            and sid == scope.id
            and (
                self.process.flows[target].target_id == gateway.id
                or gateway.id in reach.get(self.process.flows[target].target_id, ())
            )
            for step, target, sid in self._stack
        )

    def reachability(self) -> dict[str, frozenset[str]]:
        """Element id -> every element reachable from it over sequence flows (cached per model)."""
        return self.deployed.plan.reachability()

    def complete_scope_if_done(self, scope: ElementInstance) -> None:
        """Complete ``scope`` when nothing is left inside it (fire inclusive joins first)."""
        state = self.state
        if state.join_tokens and self._fire_waiting_inclusive_joins(scope):
            return
        if state.has_children(scope.id):
            return
        if any(t.scope_id == scope.id for t in state.join_tokens.values()):
            return
        if any(i.element_instance_id == scope.id for i in state.incidents.values()):
            return  # its completion failed already: it waits for the incident's resolution
        if scope.parent_id is None and self.hold_process_end:
            self.process_end_held = True  # a modification decides after its last instruction
            return
        self.complete(scope)

    def _fire_waiting_inclusive_joins(self, scope: ElementInstance) -> bool:
        gateways = {t.element_id for t in self.state.join_tokens.values() if t.scope_id == scope.id}
        fired = False
        for gateway_id in sorted(gateways):
            gateway = self.process.node(gateway_id)
            if gateway.type is ElementType.INCLUSIVE_GATEWAY and self.try_join(gateway, scope):
                fired = True
        return fired

    def _complete_process(self, root: ElementInstance) -> None:
        record = self.state.instance
        if record.state not in (ProcessInstanceState.ACTIVE, ProcessInstanceState.SUSPENDED):
            return
        for child in self.state.children(root.id):
            self.terminate(child)
        variables = self.state.visible_variables(root.id)
        self._release(root)
        self.state.remove(root)
        record.state = ProcessInstanceState.COMPLETED
        record.ended_at = self.now
        self.state.touch(record)
        self.history("process.completed", root)
        events.notify_parent_completed(self, variables)

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

    def _release(self, instance: ElementInstance, *, keep_variables: bool = False) -> None:
        """Delete every live row owned by an element instance that is leaving (but its
        variables with ``keep_variables``)."""
        state = self.state
        for table in (state.user_tasks, state.jobs, state.subscriptions, state.incidents):
            if table:
                owned = [r for r in table.values() if r.element_instance_id == instance.id]
                for record in owned:
                    state.remove(record)
        if state.join_tokens:
            for token in [t for t in state.join_tokens.values() if t.scope_id == instance.id]:
                state.remove(token)
        if keep_variables:
            return
        scope_variables = state.scope_variables(instance.id)
        if scope_variables:
            for variable in list(scope_variables.values()):
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
        for flow in self.plans[node.id].outgoing:
            if flow.id == node.default_flow:
                default = flow
                continue
            if flow.condition is not None:
                if variables is None:
                    variables = self.variables_for(instance.id)
                if (
                    self.ctx.expressions.evaluate(flow.condition, variables, now=self.now)
                    is not True
                ):
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
    def variables_for(self, scope_id: str) -> Mapping[str, Any]:
        """The variables visible from ``scope_id``, as a live view (copy it to keep it)."""
        return self.state.variables_view(scope_id)

    def evaluate(self, expression: Expression, scope_id: str) -> Any:
        return self.ctx.expressions.evaluate(
            expression, self.state.variables_view(scope_id), now=self.now
        )

    def set_variable_local(self, scope_id: str, name: str, value: Any) -> None:
        existing = self.state.scope_variables(scope_id).get(name)
        if existing is not None:
            existing.value = value
            self.state.touch(existing)
        else:
            self.state.add(
                Variable(self.ctx.new_id(), self.state.instance.id, scope_id, name, value)
            )
        self._variables_changed = True
        self.history("variable.set", None, {"name": name, "value": value, "scope_id": scope_id})

    def set_mapped(self, scope_id: str, target: str, value: Any, *, local: bool) -> None:
        """Set the target of an input or output mapping: a variable, local to ``scope_id`` or
        where it is visible from there. A dotted target (``order.id``, as Zeebe models write)
        sets a property of a context variable, keeping its other entries and creating it and
        the contexts on the way when missing."""
        name = mapped_name(target)
        if name != target:
            found = (
                self.state.scope_variables(scope_id).get(name)
                if local
                else self.state.find_variable(scope_id, name)
            )
            value = with_property(
                None if found is None else found.value, target.split(".")[1:], value
            )
        if local:
            self.set_variable_local(scope_id, name, value)
        else:
            self.set_variable(scope_id, name, value)

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
        reaches the parent scope; without, they propagate like ``set_variable``. An element
        directly inside an ad-hoc subprocess that collects output (a tool) keeps them local
        either way: its results stay with its activation, for the output element.
        """
        if variables:
            local = self.keeps_results(instance.element_id)
            self.set_variables(instance.id, variables, local=local)
        self.complete(instance)

    def keeps_results(self, element_id: str) -> bool:
        """Whether what completes an instance of the element is set local to it: it has output
        mappings (they decide what leaves), or it is a tool whose results stay local
        (``results_local``)."""
        plan = self.plans[element_id]
        return plan.results_local or bool(plan.node.output_mappings)

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
        self._history_count += 1
        # positional: the fields of HistoryEvent, in order (a command writes dozens of these)
        self._history.append(
            HistoryEvent(
                f"{self._history_prefix}-{self._history_count}",
                self.state.instance.id,
                self.now,
                event,
                None if instance is None else instance.id,
                None if instance is None else instance.element_id,
                data,
            )
        )


def _entered_triggered(ex: Execution, instance: ElementInstance, plan: NodePlan) -> bool:
    """Whether ``instance`` was entered as a catch event whose event had happened already (a
    boundary event, an event start event, a link catch, a target of an event-based gateway):
    such an instance completes at once once it is open."""
    node = plan.node
    if node.type is ElementType.BOUNDARY_EVENT:
        return True
    if node.type is ElementType.START_EVENT:
        return bool(node.event_definitions)
    if node.type not in (ElementType.INTERMEDIATE_CATCH_EVENT, ElementType.RECEIVE_TASK):
        return False
    if any(d.type is EventDefinitionType.LINK for d in node.event_definitions):
        return True
    flow = ex.process.flows.get(instance.entered_by_flow or "")
    return (
        flow is not None and ex.process.node(flow.source_id).type is ElementType.EVENT_BASED_GATEWAY
    )
