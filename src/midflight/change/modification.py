"""Process instance modification with the operational semantics of Camunda 7 (seed 003).

Instructions run in the order given, each until every token rests, on the runtime's own
primitives (activate, terminate, take flow): nested instantiation creates missing parent scopes
with their subscriptions, ancestor selection picks the deepest existing scope instance (or the
one named), cancellation propagates to parents left empty, and the process instance is cancelled
only when no activity is left after the last instruction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from midflight.errors import InvalidArgumentError, NotFoundError, ProcessEngineError
from midflight.model import MULTI_INSTANCE_BODY_SUFFIX, ElementType, FlowNode, MultiInstance
from midflight.runtime import events
from midflight.runtime.execution import Execution
from midflight.runtime.state import ElementInstance, ElementState

__all__ = [
    "INSTRUCTION_KINDS",
    "ModificationInstruction",
    "apply_instructions",
    "cancel_with_propagation",
    "resolve_scope",
]

INSTRUCTION_KINDS = (
    "start_before",
    "start_after",
    "start_transition",
    "cancel_activity_instance",
    "cancel_transition_instance",
    "cancel_all",
)


@dataclass(frozen=True, slots=True)
class ModificationInstruction:
    """One instruction. ``target`` is an element id (start before/after, cancel all), a
    sequence flow id (start transition) or an instance id (cancel activity/transition)."""

    kind: str
    target: str
    ancestor: str | None = None
    variables: Mapping[str, Any] = field(default_factory=dict)
    local_variables: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in INSTRUCTION_KINDS:
            raise InvalidArgumentError(
                f"unknown instruction '{self.kind}'; use one of {', '.join(INSTRUCTION_KINDS)}"
            )
        if not isinstance(self.target, str) or not self.target:
            raise InvalidArgumentError(f"{self.kind} needs a non-empty id, not {self.target!r}")

    @property
    def starts(self) -> bool:
        return self.kind.startswith("start")

    def describe(self) -> str:
        text = f"{self.kind}('{self.target}'"
        if self.ancestor:
            text += f", ancestor='{self.ancestor}'"
        return text + ")"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "target": self.target}
        if self.ancestor:
            data["ancestor"] = self.ancestor
        if self.variables:
            data["variables"] = dict(self.variables)
        if self.local_variables:
            data["local_variables"] = dict(self.local_variables)
        return data


def apply_instructions(ex: Execution, instructions: Sequence[ModificationInstruction]) -> None:
    """Carry out ``instructions`` in order on the instance of ``ex``.

    The process instance ends only after the last instruction (seed 003, "Cancelation
    Propagation"): left with nothing active, it completes if a token ended there regularly
    after the last cancellation, and is cancelled otherwise.

    Raises:
        InvalidArgumentError / NotFoundError: an instruction cannot be carried out; the message
            names it (its position and what it asked). The caller rolls the command back.
        ProcessEngineError: an instruction ended the instance another way (a terminate end
            event) and more instructions follow.
    """
    if not instructions:
        raise InvalidArgumentError("a modification needs at least one instruction")
    completed_at = cancelled_at = 0
    ex.hold_process_end = True
    try:
        for position, instruction in enumerate(instructions, start=1):
            if ex.state.instance.id not in ex.state.elements:
                raise ProcessEngineError(
                    f"instruction {position} {instruction.describe()}: the process instance "
                    f"ended ({ex.state.instance.state}) with an earlier instruction"
                )
            ex.process_end_held = False
            live = len(ex.state.elements)
            try:
                _APPLY[instruction.kind](ex, instruction)
                ex.run()
            except NotFoundError as exc:
                raise NotFoundError(
                    f"instruction {position} {instruction.describe()}: {exc}"
                ) from None
            except InvalidArgumentError as exc:
                raise InvalidArgumentError(
                    f"instruction {position} {instruction.describe()}: {exc}"
                ) from None
            if ex.process_end_held:
                completed_at = position
            elif not instruction.starts and len(ex.state.elements) < live:
                cancelled_at = position
    finally:
        ex.hold_process_end = False
    root = ex.state.elements.get(ex.state.instance.id)
    if (
        root is not None
        and not ex.state.children(root.id)
        and not any(t.scope_id == root.id for t in ex.state.join_tokens.values())
    ):
        if completed_at > cancelled_at:
            ex.complete_scope_if_done(root)
        else:
            ex.cancel_instance("a modification left no active activity")


# ----------------------------------------------------------------------------------------------
# starting
# ----------------------------------------------------------------------------------------------
def _node(ex: Execution, element_id: str) -> FlowNode:
    if not ex.process.has_node(element_id):
        raise NotFoundError(
            f"process '{ex.process.id}' (definition {ex.deployed.definition_id}) has no element "
            f"'{element_id}'"
        )
    return ex.process.node(element_id)


def _start_before(ex: Execution, instruction: ModificationInstruction) -> None:
    node = _node(ex, instruction.target)
    if node.type is ElementType.EVENT_SUB_PROCESS:
        # Starting an event subprocess starts it at its start event (with its semantics).
        starts = ex.process.start_events(node.id)
        if len(starts) != 1:
            raise InvalidArgumentError(
                f"event subprocess '{node.id}' needs exactly one start event"
            )
        node = starts[0]
    parent = resolve_scope(ex, ex.process.scope_path(node.id), instruction.ancestor, node.id)
    _interrupt(ex, node, parent)
    if instruction.variables:
        ex.set_variables(parent.id, instruction.variables, local=False)
    if parent.element_type == ElementType.MULTI_INSTANCE_BODY.value and node.is_multi_instance:
        if ex.state.children(parent.id) and _is_sequential(ex, parent):
            raise InvalidArgumentError(
                f"'{node.id}' is a sequential multi-instance activity whose body "
                f"'{parent.id}' already runs an inner instance: one runs at a time; start "
                f"the body '{parent.element_id}' instead"
            )
        _add_inner_instance(ex, parent, instruction.local_variables)
    else:
        ex.activate(node, parent, variables=instruction.local_variables or None)


def _interrupt(ex: Execution, node: FlowNode, parent: ElementInstance) -> None:
    """Starting an interrupting boundary event cancels its host; an interrupting event
    subprocess start event cancels everything else in the event subprocess's scope."""
    if node.type is ElementType.BOUNDARY_EVENT and node.cancel_activity and node.attached_to:
        hosts = {node.attached_to, node.attached_to + MULTI_INSTANCE_BODY_SUFFIX}
        for child in ex.state.children(parent.id):
            if child.element_id in hosts:
                ex.terminate(child)
    elif node.type is ElementType.START_EVENT and node.is_interrupting and node.parent_id:
        container = ex.process.node(node.parent_id)
        if container.type is ElementType.EVENT_SUB_PROCESS and parent.parent_id is not None:
            events.interrupt_scope(ex, ex.state.elements[parent.parent_id], keep=parent.id)


def _is_sequential(ex: Execution, body: ElementInstance) -> bool:
    loop = ex.process.node(body.element_id).loop
    return isinstance(loop, MultiInstance) and loop.is_sequential


def _add_inner_instance(
    ex: Execution, body: ElementInstance, local_variables: Mapping[str, Any]
) -> None:
    """One more inner instance of a multi-instance body, counters updated (seed 003): the
    collection is not consulted; give the element variable as a local variable if needed."""
    from midflight.runtime.behaviors.multi_instance import start_inner

    counters = ex.state.scope_variables(body.id)
    found = counters.get("nrOfInstances")
    index = int(found.value) if found is not None else 0
    ex.set_variable_local(body.id, "nrOfInstances", index + 1)
    for name in ("nrOfActiveInstances", "nrOfCompletedInstances"):
        if name not in counters:
            ex.set_variable_local(body.id, name, 0)
    start_inner(ex, body, ex.process.node(body.element_id), index, local_variables)


def _start_transition(ex: Execution, instruction: ModificationInstruction) -> None:
    flow = ex.process.flows.get(instruction.target)
    if flow is None:
        raise NotFoundError(
            f"process '{ex.process.id}' has no sequence flow '{instruction.target}'"
        )
    _take(ex, flow.id, instruction)


def _start_after(ex: Execution, instruction: ModificationInstruction) -> None:
    node = _node(ex, instruction.target)
    if len(node.outgoing) != 1:
        raise InvalidArgumentError(
            f"start after '{node.id}' needs exactly one outgoing sequence flow, and it has "
            f"{len(node.outgoing)}"
            + (
                f" ({', '.join(node.outgoing)}): start one of them with start_transition"
                if node.outgoing
                else ""
            )
        )
    _take(ex, node.outgoing[0], instruction)


def _take(ex: Execution, flow_id: str, instruction: ModificationInstruction) -> None:
    flow = ex.process.flows[flow_id]
    container = flow.parent_id or ex.process.id
    path = (*ex.process.scope_path(container), container) if flow.parent_id else (ex.process.id,)
    parent = resolve_scope(ex, path, instruction.ancestor, flow.id)
    if instruction.variables:
        ex.set_variables(parent.id, instruction.variables, local=False)
    if instruction.local_variables:
        # The token on a flow has no instance of its own yet: local variables go on its scope.
        ex.set_variables(parent.id, instruction.local_variables, local=True)
    ex.take_flow(flow, parent)


def resolve_scope(
    ex: Execution, path: Sequence[str], ancestor_id: str | None, target: str
) -> ElementInstance:
    """The scope instance to start ``target`` in, creating missing scopes top-down.

    ``path`` holds scope element ids from the process down to the target's flow scope.
    Without an ancestor the deepest existing scope instance is used; with one, every scope
    between it and the target is instantiated again.

    Raises:
        NotFoundError: the ancestor is not an active instance of this process instance.
        InvalidArgumentError: the ancestor is not an ancestor of the target, or the default
            choice is ambiguous.
    """
    current = ex.state.elements[ex.state.instance.id]
    remaining = list(path[1:])
    if ancestor_id is not None:
        ancestor = ex.state.elements.get(ancestor_id)
        if ancestor is None or ancestor.state != ElementState.ACTIVE:
            raise NotFoundError(
                f"ancestor '{ancestor_id}' is not an active activity instance of process "
                f"instance '{ex.state.instance.id}'"
            )
        if ancestor.element_id not in path:
            raise InvalidArgumentError(
                f"activity instance '{ancestor_id}' ({ancestor.element_id}) is not an ancestor "
                f"of '{target}'; its ancestors are {', '.join(path)}"
            )
        current = ancestor
        remaining = list(path[path.index(ancestor.element_id) + 1 :])
    else:
        while remaining:
            candidates = [
                c
                for c in ex.state.children(current.id)
                if c.element_id == remaining[0] and c.state == ElementState.ACTIVE
            ]
            if not candidates:
                break
            if len(candidates) > 1:
                raise InvalidArgumentError(
                    f"the ancestor of '{target}' is ambiguous: {len(candidates)} instances of "
                    f"'{remaining[0]}' ({', '.join(c.id for c in candidates)}); name one as ancestor"
                )
            current = candidates[0]
            remaining.pop(0)
    for scope_id in remaining:
        current = ex.activate(ex.process.node(scope_id), current, scope_only=True)
    return current


# ----------------------------------------------------------------------------------------------
# cancelling
# ----------------------------------------------------------------------------------------------
def cancel_with_propagation(ex: Execution, instance: ElementInstance) -> None:
    """Terminate ``instance``, then every parent scope it leaves empty (not the process
    instance itself: that is decided after the last instruction)."""
    parent_id = instance.parent_id
    ex.terminate(instance)
    while parent_id is not None:
        parent = ex.state.elements.get(parent_id)
        if parent is None or parent.parent_id is None or ex.state.children(parent.id):
            return
        parent_id = parent.parent_id
        ex.terminate(parent)


def _cancel_instance(
    ex: Execution, instruction: ModificationInstruction, *, transition: bool
) -> None:
    instance = ex.state.elements.get(instruction.target)
    kind = "transition" if transition else "activity"
    if instance is not None and instance.parent_id is None and not transition:
        # The root activity instance: cancel everything inside it. The instance itself ends
        # after the last instruction if nothing was started again (seed 003).
        for child in ex.state.children(instance.id):
            ex.terminate(child)
        for token in [t for t in ex.state.join_tokens.values() if t.scope_id == instance.id]:
            ex.state.remove(token)
        return
    if instance is None or instance.parent_id is None:
        raise NotFoundError(
            f"no active {kind} instance '{instruction.target}' in process instance "
            f"'{ex.state.instance.id}'"
        )
    is_transition = instance.state != ElementState.ACTIVE
    if is_transition != transition:
        other = "cancel_transition_instance" if is_transition else "cancel_activity_instance"
        raise InvalidArgumentError(
            f"'{instruction.target}' is {'a transition' if is_transition else 'an activity'} "
            f"instance; use {other}"
        )
    cancel_with_propagation(ex, instance)


def _cancel_all(ex: Execution, instruction: ModificationInstruction) -> None:
    _node(ex, instruction.target)
    for instance in [i for i in ex.state.elements.values() if i.element_id == instruction.target]:
        if instance.id in ex.state.elements:  # not already gone with an earlier one
            cancel_with_propagation(ex, instance)


_APPLY = {
    "start_before": _start_before,
    "start_after": _start_after,
    "start_transition": _start_transition,
    "cancel_activity_instance": lambda ex, i: _cancel_instance(ex, i, transition=False),
    "cancel_transition_instance": lambda ex, i: _cancel_instance(ex, i, transition=True),
    "cancel_all": _cancel_all,
}
