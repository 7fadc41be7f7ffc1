"""Events that reach an instance from outside its sequence flows.

Subscriptions (message, signal, conditional) and timers are owned by the element instance that
makes them possible: the waiting catch event itself, the host of a boundary event, the scope of
an event subprocess, or an event-based gateway. They exist exactly while their owner is active,
because the execution releases an instance's rows when it leaves. ``trigger`` is the one entry
point when such an event happens; errors and escalations are searched up the scope hierarchy.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from midflight.errors import ExpressionError, InvalidArgumentError
from midflight.model import (
    MULTI_INSTANCE_BODY_SUFFIX,
    ElementType,
    EventDefinition,
    EventDefinitionType,
    Expression,
    ExpressionLanguage,
    FlowNode,
)
from midflight.runtime.state import ElementInstance, Job, JobKind, JobState
from midflight.runtime.timers import next_occurrence, parse_timer, timer_payload

if TYPE_CHECKING:
    from midflight.runtime.execution import Execution

__all__ = [
    "CONDITIONAL_EVENT_INCIDENT",
    "compensation_running",
    "fire_timer",
    "notify_parent_completed",
    "on_completed",
    "open_scope",
    "raise_unhandled_error",
    "subscribe_definition",
    "throw_compensation",
    "throw_error",
    "throw_escalation",
    "trigger",
    "trigger_conditions",
]

_PASSIVE = frozenset(
    {
        EventDefinitionType.ERROR,
        EventDefinitionType.ESCALATION,
        EventDefinitionType.COMPENSATE,
        EventDefinitionType.CANCEL,
    }
)


# ----------------------------------------------------------------------------------------------
# opening a scope: boundary events and event subprocesses subscribe
# ----------------------------------------------------------------------------------------------
def boundary_host(node: FlowNode) -> str | None:
    """The element whose boundary events belong to an instance of ``node``: an MI body carries
    the boundary events of its activity; the inner instances carry none."""
    if node.type is ElementType.MULTI_INSTANCE_BODY:
        return node.id.removesuffix(MULTI_INSTANCE_BODY_SUFFIX)
    if node.is_multi_instance:
        return None
    return node.id if node.is_activity else None


def open_scope(ex: Execution, instance: ElementInstance, node: FlowNode | None) -> None:
    """Register the subscriptions an instance owns as soon as it is active: those of its
    boundary events, then those of the event subprocesses it contains.

    ``node`` is None for the process instance (root scope).
    """
    catches = ex.deployed.plan.root_catches if node is None else ex.plans[node.id].catches
    for catch in catches:
        for definition in catch.event_definitions:
            subscribe_definition(ex, instance, catch, definition)


def subscribe_definition(
    ex: Execution, owner: ElementInstance, catch: FlowNode, definition: EventDefinition
) -> None:
    """Subscribe ``owner`` to the event ``definition`` of ``catch`` (passive kinds need nothing:
    errors, escalations and compensation are found by searching when they are thrown)."""
    if definition.type in _PASSIVE:
        return
    if definition.type is EventDefinitionType.MESSAGE:
        subscribe_message(ex, owner, catch, definition.ref)
    elif definition.type is EventDefinitionType.TIMER:
        schedule_timer(ex, owner, catch, definition)
    elif definition.type is EventDefinitionType.SIGNAL:
        signal = ex.deployed.definitions.signals.get(definition.ref or "")
        if signal is None:
            raise InvalidArgumentError(f"'{catch.id}' refers to unknown signal '{definition.ref}'")
        name = _dynamic_name(ex, owner, signal.name or signal.id)
        ex.subscribe(owner, catch, kind="signal", name=name, correlation_key=None)
    elif definition.type is EventDefinitionType.CONDITIONAL:
        ex.subscribe(owner, catch, kind="conditional", name=catch.id, correlation_key=None)
        ex.check_conditions()  # evaluated on scope activation: it may hold already
    elif definition.type is EventDefinitionType.LINK:
        return  # link catch events are reached by their throw event, never subscribed
    else:
        raise InvalidArgumentError(
            f"'{catch.id}': {definition.type.value} events cannot be waited for"
        )


def _dynamic_name(ex: Execution, owner: ElementInstance, name: str) -> str:
    if name.startswith("="):
        return str(ex.evaluate(Expression(name[1:], ExpressionLanguage.FEEL), owner.id))
    return name


def subscribe_message(
    ex: Execution, owner: ElementInstance, catch: FlowNode, message_ref: str | None
) -> None:
    message = ex.deployed.definitions.messages.get(message_ref) if message_ref else None
    if message is None:
        raise InvalidArgumentError(f"'{catch.id}' refers to unknown message '{message_ref}'")
    name = _dynamic_name(ex, owner, message.name or message.id)
    key = None
    if message.correlation_key is not None:
        value = ex.evaluate(message.correlation_key, owner.id)
        key = None if value is None else correlation_key_text(value)
    ex.subscribe(owner, catch, kind="message", name=name, correlation_key=key)


def correlation_key_text(value: object) -> str:
    """Keys compare as text, so 42 from FEEL (a Decimal) and "42" from a caller match."""
    text = str(value)
    return text[:-2] if text.endswith(".0") else text


def schedule_timer(
    ex: Execution, owner: ElementInstance, catch: FlowNode, definition: EventDefinition
) -> None:
    if definition.timer is None:
        raise InvalidArgumentError(f"timer event '{catch.id}' has no time expression")
    value = ex.evaluate(definition.timer.expression, owner.id)
    schedule = parse_timer(definition.timer.kind.value, value, ex.now)
    ex.create_job(
        owner,
        kind=JobKind.TIMER,
        job_type="timer",
        retries=1,
        due_at=schedule.due_at,
        payload=timer_payload(catch.id, schedule),
    )


# ----------------------------------------------------------------------------------------------
# an event happened
# ----------------------------------------------------------------------------------------------
def fire_timer(ex: Execution, job: Job) -> None:
    """A due timer job fires: re-arm a repeating non-interrupting timer, then trigger."""
    owner = ex.state.elements[job.element_instance_id]
    payload = job.payload or {}
    catch_id = str(payload.get("catch", owner.element_id))
    ex.history("timer.fired", owner, {"job_id": job.id, "catch": catch_id})
    ex.state.remove(job)
    catch = ex.process.node(catch_id)
    again = (
        None if _interrupts(catch) or job.due_at is None else next_occurrence(payload, job.due_at)
    )
    if again is not None:
        due_at, next_payload = again
        ex.create_job(
            owner,
            kind=JobKind.TIMER,
            job_type="timer",
            retries=1,
            due_at=due_at,
            payload=next_payload,
        )
    trigger(ex, owner, catch_id, None)


#: The incident type of a conditional event whose condition failed to evaluate.
CONDITIONAL_EVENT_INCIDENT = "CONDITIONAL_EVENT"


def trigger_conditions(ex: Execution) -> bool:
    """Trigger the conditional subscriptions whose condition became true; True if any did.

    An event fires when its condition *becomes* true. A non-interrupting one stays subscribed
    and remembers that its condition holds (``correlation_key`` is ``"holds"``): it fires again
    only after the condition was false in between.
    """
    fired = False
    for sub in [s for s in ex.state.subscriptions.values() if s.kind == "conditional"]:
        owner = ex.state.elements.get(sub.element_instance_id)
        if owner is None or sub.id not in ex.state.subscriptions:
            continue
        catch = ex.process.node(sub.element_id)
        definition = next(
            d for d in catch.event_definitions if d.type is EventDefinitionType.CONDITIONAL
        )
        if definition.condition is None:
            continue
        try:
            holds = ex.evaluate(definition.condition, owner.id) is True
        except ExpressionError as exc:
            # One open incident per failing condition, not one per variable change; resolving
            # it evaluates the conditions again (the owner itself runs on meanwhile).
            failed = f"the condition of '{catch.id}' failed: "
            if not any(
                i.element_instance_id == owner.id
                and i.type == CONDITIONAL_EVENT_INCIDENT
                and i.message.startswith(failed)
                for i in ex.state.incidents.values()
            ):
                ex.raise_incident(owner, CONDITIONAL_EVENT_INCIDENT, f"{failed}{exc}")
            continue
        held = sub.correlation_key == _HOLDS
        if holds == held:
            continue
        if not holds:
            sub.correlation_key = None
            ex.state.touch(sub)
            continue
        if _interrupts(catch):
            ex.state.remove(sub)
        else:
            sub.correlation_key = _HOLDS
            ex.state.touch(sub)
        trigger(ex, owner, catch.id, None)
        fired = True
    return fired


_HOLDS = "holds"


def _interrupts(catch: FlowNode) -> bool:
    if catch.type is ElementType.BOUNDARY_EVENT:
        return catch.cancel_activity
    if catch.type is ElementType.START_EVENT:
        return catch.is_interrupting
    return True  # intermediate catch events fire once


def trigger(
    ex: Execution,
    owner: ElementInstance,
    catch_id: str,
    variables: Mapping[str, Any] | None,
) -> None:
    """The event of ``catch_id``, which ``owner`` subscribed to, happened."""
    catch = ex.process.node(catch_id)
    ex.history("event.triggered", owner, {"catch": catch_id})
    if catch_id == owner.element_id:  # the waiting catch event or receive task itself
        ex.complete_with_variables(owner, variables)
    elif catch.type is ElementType.BOUNDARY_EVENT:
        assert owner.parent_id is not None
        scope = ex.state.elements[owner.parent_id]
        carried = ex.activation_variables(owner)
        if catch.cancel_activity:
            ex.terminate(owner)
        start_triggered(ex, catch, scope, variables, carried=carried)
    elif catch.type is ElementType.START_EVENT:
        start_event_subprocess(ex, catch, owner, variables)
    else:  # a target of an event-based gateway: the gateway completes onto that event
        gateway = ex.process.node(owner.element_id)
        assert owner.parent_id is not None
        scope = ex.state.elements[owner.parent_id]
        flow = next(f for f in ex.process.outgoing_flows(gateway.id) if f.target_id == catch_id)
        carried = ex.activation_variables(owner)
        ex.complete(owner, flows=[])
        start_triggered(ex, catch, scope, variables, flow_id=flow.id, carried=carried)
    ex.run()


def start_triggered(
    ex: Execution,
    catch: FlowNode,
    scope: ElementInstance,
    variables: Mapping[str, Any] | None,
    *,
    flow_id: str | None = None,
    carried: Mapping[str, Any] | None = None,
) -> ElementInstance:
    """Activate a catch event whose event already happened, delivering its variables.

    Without output mappings the variables propagate like any set_variable; with them, they are
    local to the event and the mappings decide what reaches the scope; they stay local either
    way where a tool's results do (``NodePlan.results_local``). ``carried``: what the token of
    the tool it belongs to had (``Execution.activation_variables``), set local to it too.
    """
    if variables and not ex.keeps_results(catch.id):
        ex.set_variables(scope.id, variables, local=False)
        variables = None
    if carried:
        variables = {**carried, **(variables or {})}
    return ex.activate(catch, scope, flow_id=flow_id, variables=variables, triggered=True)


def interrupt_scope(ex: Execution, scope: ElementInstance, keep: str | None = None) -> None:
    """What an interrupting event subprocess does to its scope: everything inside ends (but
    ``keep``), and the scope's event-subprocess subscriptions and start timers are consumed."""
    for child in ex.state.children(scope.id):
        if child.id != keep:
            ex.terminate(child)
    for token in [t for t in ex.state.join_tokens.values() if t.scope_id == scope.id]:
        ex.state.remove(token)
    for sub in [s for s in ex.state.subscriptions.values() if s.element_instance_id == scope.id]:
        if _is_start_event(ex, sub.element_id):
            ex.state.remove(sub)
    for job in [j for j in ex.state.jobs.values() if j.element_instance_id == scope.id]:
        if job.kind == JobKind.TIMER and _is_start_event(ex, str((job.payload or {}).get("catch"))):
            ex.state.remove(job)


def _is_start_event(ex: Execution, element_id: str) -> bool:
    return (
        ex.process.has_node(element_id)
        and ex.process.node(element_id).type is ElementType.START_EVENT
    )


def start_event_subprocess(
    ex: Execution, start: FlowNode, scope: ElementInstance, variables: Mapping[str, Any] | None
) -> None:
    """Start the event subprocess of ``start`` inside ``scope``; an interrupting start first
    terminates everything else in the scope (and its other event-subprocess subscriptions)."""
    assert start.parent_id is not None
    esp = ex.process.node(start.parent_id)
    if start.is_interrupting:
        interrupt_scope(ex, scope)
    esp_instance = ex.activate(esp, scope)
    start_triggered(ex, start, esp_instance, variables)


# ----------------------------------------------------------------------------------------------
# errors and escalations: searched up the scope hierarchy
# ----------------------------------------------------------------------------------------------
def _catch_levels(
    ex: Execution, instance: ElementInstance
) -> Iterator[list[tuple[str, ElementInstance, FlowNode]]]:
    """From ``instance`` upwards, the (how, owner, catching node) candidates of each element
    instance: the start events of the event subprocesses it contains (they catch what is thrown
    inside it), then its boundary events. An event subprocess never catches what is thrown
    inside itself.
    """
    inside: ElementInstance | None = None
    current: ElementInstance | None = instance
    while current is not None:
        level: list[tuple[str, ElementInstance, FlowNode]] = []
        node = None if current.parent_id is None else ex.process.node(current.element_id)
        if inside is not None and (node is None or node.is_scope_container):
            for esp in ex.process.event_subprocesses(None if node is None else node.id):
                if esp.id != inside.element_id:
                    for start in ex.process.start_events(esp.id):
                        level.append(("event_subprocess", current, start))
        host = None if node is None else boundary_host(node)
        if host is not None:
            for boundary in ex.process.boundary_events(host):
                level.append(("boundary", current, boundary))
        yield level
        inside = current
        current = ex.state.elements.get(current.parent_id) if current.parent_id else None


def error_code(ex: Execution, definition: EventDefinition) -> str:
    """The code an error throw event throws (its error's code, else the error's id)."""
    return _code_of(ex, definition) or "error"


def escalation_code(ex: Execution, definition: EventDefinition) -> str:
    return _code_of(ex, definition) or "escalation"


def _code_of(ex: Execution, definition: EventDefinition) -> str | None:
    if definition.ref is None:
        return None
    if definition.type is EventDefinitionType.ERROR:
        error = ex.deployed.definitions.errors.get(definition.ref)
        return error.error_code if error else definition.ref
    escalation = ex.deployed.definitions.escalations.get(definition.ref)
    return escalation.escalation_code if escalation else definition.ref


def _find_catcher(
    ex: Execution, instance: ElementInstance, kind: EventDefinitionType, code: str
) -> tuple[str, ElementInstance, FlowNode] | None:
    """The nearest catcher of ``code``; at one level, one naming the code beats a catch-all."""
    for level in _catch_levels(ex, instance):
        catch_all = None
        for candidate in level:
            for definition in candidate[2].event_definitions:
                if definition.type is not kind:
                    continue
                caught = _code_of(ex, definition)
                if caught == code:
                    return candidate
                if caught is None and catch_all is None:
                    catch_all = candidate
        if catch_all is not None:
            return catch_all
    return None


def throw_error(
    ex: Execution,
    instance: ElementInstance,
    code: str,
    message: str | None = None,
    variables: Mapping[str, Any] | None = None,
    *,
    job_id: str | None = None,
    origin: Mapping[str, Any] | None = None,
) -> bool:
    """Throw BPMN error ``code`` from ``instance``. Returns True if something caught it.

    Uncaught in a called process, the error goes on to the calling process; uncaught at the
    top, it becomes an incident on the thrower — never a silent end. ``origin`` names where an
    error that came up from a called process was thrown (``process_instance_id``,
    ``element_instance_id``, ``job_id``): the incident goes there, as in Camunda 8.
    """
    found = _find_catcher(ex, instance, EventDefinitionType.ERROR, code)
    if found is not None:
        how, owner, catch = found
        _set_error_variables(ex, catch, code, message)
        ex.history("error.caught", owner, {"error_code": code, "catch": catch.id})
        if how == "boundary":
            assert owner.parent_id is not None
            scope = ex.state.elements[owner.parent_id]
            carried = ex.activation_variables(owner)
            ex.terminate(owner)
            start_triggered(ex, catch, scope, variables, carried=carried)
        else:
            start_event_subprocess(ex, catch, owner, variables)
        ex.run()
        return True
    record = ex.state.instance
    if record.parent_process_instance_id is not None:
        from midflight.runtime.execution import FollowUp

        ex.follow_ups.append(
            FollowUp(
                kind="child_error",
                process_instance_id=record.parent_process_instance_id,
                element_instance_id=record.parent_element_instance_id,
                data={
                    "error_code": code,
                    "message": message,
                    "thrower": instance.id,
                    "variables": dict(variables or {}),
                    "origin": dict(
                        origin
                        or {
                            "process_instance_id": record.id,
                            "element_instance_id": instance.id,
                            "job_id": job_id,
                        }
                    ),
                },
            )
        )
        return True
    if origin is not None and origin["process_instance_id"] != ex.state.instance.id:
        from midflight.runtime.execution import FollowUp

        ex.follow_ups.append(
            FollowUp(
                kind="unhandled_error",
                process_instance_id=origin["process_instance_id"],
                element_instance_id=origin["element_instance_id"],
                data={"error_code": code, "message": message, "job_id": origin.get("job_id")},
            )
        )
        return False
    raise_unhandled_error(ex, instance, code, message, job_id)
    return False


def raise_unhandled_error(
    ex: Execution, instance: ElementInstance, code: str, message: str | None, job_id: str | None
) -> None:
    """The incident of an error nothing caught, on its thrower; a throwing job is failed, and
    resolving the incident gives it another attempt."""
    job = ex.state.jobs.get(job_id) if job_id else None
    if job is not None:
        job.state = JobState.FAILED
        job.error_message = message or f"error '{code}' not caught"
        ex.state.touch(job)
    detail = f": {message}" if message else ""
    ex.raise_incident(
        instance,
        "UNHANDLED_ERROR",
        f"error '{code}' was thrown but no error event catches it{detail}",
        job_id=job_id,
    )


def _set_error_variables(ex: Execution, catch: FlowNode, code: str, message: str | None) -> None:
    definition = next(
        (d for d in catch.event_definitions if d.type is EventDefinitionType.ERROR), None
    )
    if definition is None:
        return
    root = ex.state.instance.id
    if definition.error_code_variable:
        ex.set_variable(root, definition.error_code_variable, code)
    if definition.error_message_variable:
        ex.set_variable(root, definition.error_message_variable, message)


def throw_escalation(ex: Execution, instance: ElementInstance, code: str) -> bool:
    """Throw escalation ``code`` from ``instance``; uncaught it has no effect (BPMN)."""
    found = _find_catcher(ex, instance, EventDefinitionType.ESCALATION, code)
    if found is None:
        record = ex.state.instance
        if record.parent_process_instance_id is not None:
            from midflight.runtime.execution import FollowUp

            ex.follow_ups.append(
                FollowUp(
                    kind="child_escalation",
                    process_instance_id=record.parent_process_instance_id,
                    element_instance_id=record.parent_element_instance_id,
                    data={"escalation_code": code},
                )
            )
        return False
    how, owner, catch = found
    ex.history("escalation.caught", owner, {"escalation_code": code, "catch": catch.id})
    if how == "boundary":
        assert owner.parent_id is not None
        scope = ex.state.elements[owner.parent_id]
        carried = ex.activation_variables(owner)
        if catch.cancel_activity:
            ex.terminate(owner)
        start_triggered(ex, catch, scope, None, carried=carried)
    else:
        start_event_subprocess(ex, catch, owner, None)
    return True


# ----------------------------------------------------------------------------------------------
# compensation
# ----------------------------------------------------------------------------------------------
def on_completed(ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
    """An activity that can be compensated leaves a compensation subscription in its scope;
    a compensation handler that completes lets the throw event waiting for it check on it."""
    if instance.parent_id is None or not node.is_activity:
        return
    if node.is_for_compensation:
        for sibling in ex.state.children(instance.parent_id):
            if sibling.id != instance.id and _throws_compensation(ex, sibling):
                ex.check_scope(sibling)  # runs after this handler has left
    for handler in ex.plans[node.id].compensation_handlers:
        scope = ex.state.elements[instance.parent_id]
        ex.subscribe(
            scope,
            node,
            kind="compensate",
            name=handler,
            correlation_key=_next_compensation_order(ex),
        )


def _next_compensation_order(ex: Execution) -> str:
    """A sequence number above every live compensation subscription's: handlers run newest
    first, also for activities completed by different commands within one clock tick."""
    keys = (
        s.correlation_key or "" for s in ex.state.subscriptions.values() if s.kind == "compensate"
    )
    latest = max((int(key) for key in keys if key.isdigit()), default=0)
    return f"{latest + 1:012d}"


def _throws_compensation(ex: Execution, instance: ElementInstance) -> bool:
    """Is ``instance`` an event that waits for compensation handlers (a compensation throw
    event, or a cancel end event compensating its transaction)?"""
    if instance.element_type not in (
        ElementType.INTERMEDIATE_THROW_EVENT.value,
        ElementType.END_EVENT.value,
    ):
        return False
    node = ex.process.node(instance.element_id)
    return any(
        d.type in (EventDefinitionType.COMPENSATE, EventDefinitionType.CANCEL)
        for d in node.event_definitions
    )


def compensation_running(ex: Execution, thrower: ElementInstance) -> bool:
    """Does a compensation handler still run in the scope of the compensation ``thrower``?"""
    return any(
        child.id != thrower.id
        and ex.process.has_node(child.element_id)
        and ex.process.node(child.element_id).is_for_compensation
        for child in ex.state.children(thrower.parent_id or "")
    )


def throw_compensation(
    ex: Execution, scope: ElementInstance, activity_ref: str | None
) -> list[ElementInstance]:
    """Run the compensation handlers of activities completed in ``scope``, newest first."""
    subscriptions = sorted(
        (
            s
            for s in ex.state.subscriptions.values()
            if s.kind == "compensate"
            and s.element_instance_id == scope.id
            and (activity_ref is None or s.element_id == activity_ref)
        ),
        key=lambda s: s.correlation_key or "",
        reverse=True,
    )
    started = []
    for subscription in subscriptions:
        ex.state.remove(subscription)
        handler = ex.process.node(subscription.name)
        ex.history(
            "compensation.started",
            scope,
            {"activity": subscription.element_id, "handler": handler.id},
        )
        started.append(ex.activate(handler, scope))
    return started


def cancel_transaction(ex: Execution, cancel_end: ElementInstance) -> None:
    """A cancel end event inside a transaction: end everything else running in it, run the
    compensation handlers of what it completed (newest first) inside it, and once they are
    done leave it over its cancel boundary event (``compensation_done``)."""
    transaction = ex.state.elements.get(cancel_end.parent_id or "")
    if (
        transaction is None
        or transaction.parent_id is None
        or transaction.element_type != ElementType.TRANSACTION.value
    ):
        raise InvalidArgumentError(
            f"cancel end event '{cancel_end.element_id}' is not directly inside a transaction"
        )
    for child in ex.state.children(transaction.id):
        if child.id != cancel_end.id:
            ex.terminate(child)
    for token in [t for t in ex.state.join_tokens.values() if t.scope_id == transaction.id]:
        ex.state.remove(token)
    handlers = throw_compensation(ex, transaction, None)
    ex.history(
        "transaction.canceling",
        transaction,
        {"compensating": [h.element_id for h in handlers]},
    )
    if not compensation_running(ex, cancel_end):
        compensation_done(ex, cancel_end)


def compensation_done(ex: Execution, thrower: ElementInstance) -> None:
    """The handlers ``thrower`` waited for completed: a compensation event goes on; a cancel
    end event ends its transaction and leaves it over the cancel boundary event."""
    node = ex.process.node(thrower.element_id)
    if not any(d.type is EventDefinitionType.CANCEL for d in node.event_definitions):
        ex.complete(thrower)
        return
    transaction = ex.state.elements[thrower.parent_id or ""]
    assert transaction.parent_id is not None
    scope = ex.state.elements[transaction.parent_id]
    cancel_boundary = next(
        (
            b
            for b in ex.process.boundary_events(transaction.element_id)
            if any(d.type is EventDefinitionType.CANCEL for d in b.event_definitions)
        ),
        None,
    )
    ex.history("transaction.canceled", transaction)
    carried = ex.activation_variables(transaction)
    ex.terminate(transaction)
    if cancel_boundary is not None:
        start_triggered(ex, cancel_boundary, scope, None, carried=carried)
    else:
        ex.check_scope(scope)


def notify_parent_completed(ex: Execution, variables: dict[str, Any]) -> None:
    """A called process completed: its calling activity in the parent can go on."""
    record = ex.state.instance
    if record.parent_process_instance_id is None:
        return
    from midflight.runtime.execution import FollowUp

    ex.follow_ups.append(
        FollowUp(
            kind="child_completed",
            process_instance_id=record.parent_process_instance_id,
            element_instance_id=record.parent_element_instance_id,
            data={"variables": variables},
        )
    )
