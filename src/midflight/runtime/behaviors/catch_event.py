"""Intermediate catch events and receive tasks: subscribe, then wait to be triggered."""

from __future__ import annotations

from typing import TYPE_CHECKING

from midflight.model import EventDefinitionType, FlowNode
from midflight.runtime import events
from midflight.runtime.behaviors.base import ElementBehavior
from midflight.runtime.state import ElementInstance

if TYPE_CHECKING:
    from midflight.runtime.execution import Execution


class CatchEventBehavior(ElementBehavior):
    def on_activate(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        if node.type.value == "receiveTask":
            events.subscribe_message(ex, instance, node, node.message_ref)
            return
        if not node.event_definitions:  # a none intermediate event passes straight through
            ex.complete(instance)
            return
        for definition in node.event_definitions:
            # A condition that already holds lets the token pass at once.
            if (
                definition.type is EventDefinitionType.CONDITIONAL
                and definition.condition is not None
                and ex.evaluate(definition.condition, instance.id) is True
            ):
                ex.complete(instance)
                return
            if definition.type is EventDefinitionType.LINK:
                ex.complete(instance)  # entered over a flow: a link catch just passes on
                return
            events.subscribe_definition(ex, instance, node, definition)
