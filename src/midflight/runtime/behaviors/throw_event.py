"""Intermediate throw events and end events: signal, escalation, error, link, compensation,
message (as a job when it has one), terminate and cancel."""

from __future__ import annotations

from typing import TYPE_CHECKING

from midflight.errors import InvalidArgumentError
from midflight.model import ElementType, EventDefinitionType, FlowNode
from midflight.runtime import events
from midflight.runtime.behaviors.base import ElementBehavior
from midflight.runtime.behaviors.job_task import JobTaskBehavior
from midflight.runtime.state import ElementInstance

if TYPE_CHECKING:
    from midflight.runtime.execution import Execution


class ThrowEventBehavior(ElementBehavior):
    def on_activate(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        definition = node.event_definition
        assert instance.parent_id is not None
        scope = ex.state.elements[instance.parent_id]
        kind = definition.type if definition is not None else None
        if kind is EventDefinitionType.MESSAGE and node.job is not None:
            JobTaskBehavior().on_activate(ex, instance, node)  # completed by its worker
            return
        if kind is EventDefinitionType.SIGNAL:
            assert definition is not None
            signal = ex.deployed.definitions.signals.get(definition.ref or "")
            if signal is None:
                raise InvalidArgumentError(f"'{node.id}' throws unknown signal '{definition.ref}'")
            ex.broadcast_signal(signal.name or signal.id, instance)
        elif kind is EventDefinitionType.ESCALATION:
            assert definition is not None
            code = events.escalation_code(ex, definition)
            events.throw_escalation(ex, instance, code)
            if instance.id not in ex.state.elements:
                return  # an interrupting catcher ended the thrower's scope
        elif kind is EventDefinitionType.ERROR:
            assert definition is not None
            events.throw_error(ex, instance, events.error_code(ex, definition))
            return
        elif kind is EventDefinitionType.COMPENSATE:
            assert definition is not None
            handlers = events.throw_compensation(ex, scope, definition.activity_ref)
            if definition.wait_for_completion and any(h.id in ex.state.elements for h in handlers):
                return  # waits for its handlers: each one's completion checks on it
        elif kind is EventDefinitionType.TERMINATE:
            for sibling in ex.state.children(scope.id):
                if sibling.id != instance.id:
                    ex.terminate(sibling)
            for token in [t for t in ex.state.join_tokens.values() if t.scope_id == scope.id]:
                ex.state.remove(token)
        elif kind is EventDefinitionType.CANCEL:
            events.cancel_transaction(ex, instance)
            return
        elif kind is EventDefinitionType.LINK:
            assert definition is not None
            target = _link_catch(ex, node, definition.link_name)
            ex.complete(instance, flows=[])
            ex.activate(target, scope, triggered=True)
            return
        ex.complete(instance)

    def on_child_completed(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        """A compensation throw event (or a cancel end event compensating its transaction)
        goes on once the handlers it started have completed."""
        if not events.compensation_running(ex, instance):
            events.compensation_done(ex, instance)


def _link_catch(ex: Execution, node: FlowNode, name: str | None) -> FlowNode:
    for candidate in ex.process.children_of(node.parent_id):
        if candidate.type is ElementType.INTERMEDIATE_CATCH_EVENT and any(
            d.type is EventDefinitionType.LINK and d.link_name == name
            for d in candidate.event_definitions
        ):
            return candidate
    raise InvalidArgumentError(f"link throw '{node.id}' has no catch event named '{name}'")
