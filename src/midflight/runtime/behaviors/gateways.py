"""Gateways. Joins (parallel and inclusive) are decided on flow entry by the execution."""

from __future__ import annotations

from typing import TYPE_CHECKING

from midflight.model import FlowNode, SequenceFlow
from midflight.runtime import events
from midflight.runtime.behaviors.base import ElementBehavior
from midflight.runtime.state import ElementInstance

if TYPE_CHECKING:
    from midflight.runtime.execution import Execution


class _ConditionalSplit(ElementBehavior):
    """Takes the flows whose conditions hold (the first one only, for an exclusive gateway),
    else the default; none at all is an incident and the token waits at the gateway."""

    first_only = True
    kind = "exclusive"

    def on_activate(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        flows = ex.select_flows(instance, node, first_only=self.first_only) if node.outgoing else []
        if node.outgoing and not flows:
            ex.raise_incident(
                instance,
                "CONDITION",
                f"no outgoing flow of {self.kind} gateway '{node.id}' has a condition that holds "
                "and there is no default flow",
            )
            return
        ex.complete(instance, flows=flows)


class ExclusiveGatewayBehavior(_ConditionalSplit):
    pass


class InclusiveGatewayBehavior(_ConditionalSplit):
    first_only = False
    kind = "inclusive"


class ParallelGatewayBehavior(ElementBehavior):
    """Forks onto every outgoing flow (conditions are ignored, as BPMN says)."""

    def on_activate(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        ex.complete(instance)

    def outgoing(
        self, ex: Execution, instance: ElementInstance, node: FlowNode
    ) -> list[SequenceFlow]:
        return list(ex.process.outgoing_flows(node.id))


class EventBasedGatewayBehavior(ElementBehavior):
    """Waits for the first of the events after it; the others are cancelled with it."""

    def on_activate(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        for flow in ex.process.outgoing_flows(node.id):
            target = ex.process.node(flow.target_id)
            if target.message_ref is not None:  # a receive task
                events.subscribe_message(ex, instance, target, target.message_ref)
            for definition in target.event_definitions:
                events.subscribe_definition(ex, instance, target, definition)
