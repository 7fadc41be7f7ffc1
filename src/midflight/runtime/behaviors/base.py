"""The hooks every element behaviour has (STYLE.md: one behaviour per element type)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from midflight.model import FlowNode, SequenceFlow
from midflight.runtime.state import ElementInstance

if TYPE_CHECKING:
    from midflight.runtime.execution import Execution

__all__ = ["ElementBehavior", "PassThrough"]


class ElementBehavior:
    """Default hooks: an element that waits until something completes it."""

    def on_activate(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        """The element was entered; start its work or complete it at once."""

    def on_complete(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        """The element is about to be left (before output mappings and cleanup)."""

    def on_terminate(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        """The element is being terminated (its owned rows are released by the execution)."""

    def on_child_completed(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        """Containers: a child left; by default the scope completes once nothing is inside."""
        ex.complete_scope_if_done(instance)

    def outgoing(
        self, ex: Execution, instance: ElementInstance, node: FlowNode
    ) -> list[SequenceFlow]:
        """The flows to take on leaving: every flow whose condition holds, else the default."""
        if not node.outgoing:
            return []
        return ex.select_flows(instance, node, first_only=False)


class PassThrough(ElementBehavior):
    """Elements with no work of their own: none/manual tasks, none events, splitting gateways."""

    def on_activate(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        ex.complete(instance)
