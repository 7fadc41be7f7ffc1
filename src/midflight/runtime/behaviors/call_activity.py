"""Call activity: starts a child process instance and waits for it (its lifecycle is tied to
the caller's: cancelling the call activity cancels the child)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from midflight.errors import InvalidArgumentError
from midflight.model import ElementType, FlowNode
from midflight.runtime.behaviors.base import ElementBehavior
from midflight.runtime.state import ElementInstance

if TYPE_CHECKING:
    from midflight.runtime.execution import Execution


class CallActivityBehavior(ElementBehavior):
    def on_activate(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        from midflight.runtime.execution import FollowUp

        called = node.called_element
        if called is None:
            raise InvalidArgumentError(f"call activity '{node.id}' names no called element")
        process_id = ex.evaluate(called.process_id, instance.id)
        if not isinstance(process_id, str) or not process_id:
            raise InvalidArgumentError(
                f"called element of '{node.id}' evaluated to {process_id!r}, not a process id"
            )
        variables: dict[str, Any] = {}
        if called.propagate_all_parent_variables:
            variables.update(ex.variables_for(instance.id))
        elif _zeebe_style(ex):
            # Camunda 8 without propagation: the input mappings (locals of the call activity)
            variables.update(
                {name: v.value for name, v in ex.state.scope_variables(instance.id).items()}
            )
        for mapping in called.inputs:  # camunda:in, on top of variables="all"
            variables[mapping.target] = (
                None if mapping.source is None else ex.evaluate(mapping.source, instance.id)
            )
        business_key = (
            None if called.business_key is None else ex.evaluate(called.business_key, instance.id)
        )
        ex.follow_ups.append(
            FollowUp(
                kind="start_child",
                process_instance_id=ex.state.instance.id,
                element_instance_id=instance.id,
                data={
                    "process_id": process_id,
                    "binding": called.binding,
                    "version": called.version,
                    "version_tag": called.version_tag,
                    "calling_definition_id": ex.deployed.definition_id,
                    "variables": variables,
                    "business_key": None if business_key is None else str(business_key),
                },
            )
        )

    def on_terminate(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        from midflight.runtime.execution import FollowUp

        ex.follow_ups.append(FollowUp(kind="cancel_child", element_instance_id=instance.id))


def child_output(
    ex: Execution, instance: ElementInstance, child_variables: dict[str, Any]
) -> dict[str, Any]:
    """What a completed child hands back: its mapped outputs (camunda:out), or all its variables.

    Camunda 8 output mappings (``zeebe:output``) read the child's variables whether or not they
    all propagate: with output mappings the returned variables stay local to the call activity
    and only the mapped ones reach the parent scope (``Execution.complete_with_variables``).
    Variables owned by an enclosing multi-instance body (its counters and output collection)
    are never overwritten by the copies the child received when it started.
    """
    node = ex.process.node(instance.element_id)
    called = node.called_element
    if called is None:
        return {}
    if called.outputs:
        return {
            m.target: None
            if m.source is None
            else ex.ctx.expressions.evaluate(m.source, child_variables)
            for m in called.outputs
        }
    if not (called.propagate_all_child_variables or (node.output_mappings and _zeebe_style(ex))):
        return {}
    body = ex.state.elements.get(instance.parent_id or "")
    owned: set[str] = set()
    if body is not None and body.element_type == ElementType.MULTI_INSTANCE_BODY.value:
        owned = set(ex.state.scope_variables(body.id))
    return {name: value for name, value in child_variables.items() if name not in owned}


def _zeebe_style(ex: Execution) -> bool:
    """Camunda 7 passes variables only through camunda:in/out; other models use io mappings."""
    return ex.deployed.definitions.dialect != "camunda7"
