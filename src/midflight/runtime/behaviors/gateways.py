"""Exclusive and parallel gateways. Joins of parallel gateways are handled on flow entry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from midflight.model import FlowNode, SequenceFlow
from midflight.runtime.behaviors.base import ElementBehavior
from midflight.runtime.state import ElementInstance

if TYPE_CHECKING:
    from midflight.runtime.execution import Execution


class ExclusiveGatewayBehavior(ElementBehavior):
    """Takes the first flow whose condition holds, else the default; none -> an incident."""

    def on_activate(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        flows = ex.select_flows(instance, node, first_only=True) if node.outgoing else []
        if node.outgoing and not flows:
            ex.raise_incident(
                instance,
                "CONDITION",
                f"no outgoing flow of exclusive gateway '{node.id}' has a condition that holds "
                "and there is no default flow",
            )
            return
        ex.complete(instance, flows=flows)


class ParallelGatewayBehavior(ElementBehavior):
    """Forks onto every outgoing flow (conditions are ignored, as BPMN says)."""

    def on_activate(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        ex.complete(instance)

    def outgoing(
        self, ex: Execution, instance: ElementInstance, node: FlowNode
    ) -> list[SequenceFlow]:
        return list(ex.process.outgoing_flows(node.id))
