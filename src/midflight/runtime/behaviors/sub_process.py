"""Embedded subprocess: a scope that starts at its none start event and ends when empty."""

from __future__ import annotations

from typing import TYPE_CHECKING

from midflight.errors import InvalidArgumentError
from midflight.model import FlowNode
from midflight.runtime.behaviors.base import ElementBehavior
from midflight.runtime.state import ElementInstance

if TYPE_CHECKING:
    from midflight.runtime.execution import Execution


class SubProcessBehavior(ElementBehavior):
    def on_activate(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        starts = [s for s in ex.process.start_events(node.id) if not s.event_definitions]
        if not starts:
            raise InvalidArgumentError(f"subprocess '{node.id}' has no none start event")
        ex.activate(starts[0], instance)
