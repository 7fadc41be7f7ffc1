"""End events: none (the token ends), terminate (ends the whole scope), error (throws)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from midflight.errors import InvalidArgumentError
from midflight.model import EventDefinitionType, FlowNode
from midflight.runtime.behaviors.base import ElementBehavior
from midflight.runtime.state import ElementInstance

if TYPE_CHECKING:
    from midflight.runtime.execution import Execution


class EndEventBehavior(ElementBehavior):
    def on_activate(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        definition = node.event_definition
        if definition is None:
            ex.complete(instance)
        elif definition.type is EventDefinitionType.TERMINATE:
            assert instance.parent_id is not None
            for sibling in ex.state.children(instance.parent_id):
                if sibling.id != instance.id:
                    ex.terminate(sibling)
            for token in [
                t for t in ex.state.join_tokens.values() if t.scope_id == instance.parent_id
            ]:
                ex.state.remove(token)
            ex.complete(instance)
        elif definition.type is EventDefinitionType.ERROR:
            error = ex.deployed.definitions.errors.get(definition.ref) if definition.ref else None
            code = (error.error_code if error else None) or (definition.ref or "error")
            assert instance.parent_id is not None
            scope = ex.state.elements[instance.parent_id]
            ex.history("element.completed", instance)
            ex.state.remove(instance)
            ex.throw_error(scope, code)
        else:
            raise InvalidArgumentError(
                f"end event '{node.id}': {definition.type.value} end events are not executed yet"
            )
