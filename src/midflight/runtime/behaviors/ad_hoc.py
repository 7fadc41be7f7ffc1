"""Ad-hoc subprocess: its inner elements run when chosen — by the active-elements expression
on entry, or later by ``activate_adhoc_elements`` (where AI agents pick their tools)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from midflight.errors import InvalidArgumentError
from midflight.model import FlowNode
from midflight.runtime.behaviors.base import ElementBehavior
from midflight.runtime.state import ElementInstance

if TYPE_CHECKING:
    from midflight.runtime.execution import Execution


class AdHocSubProcessBehavior(ElementBehavior):
    def on_activate(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        spec = node.ad_hoc
        chosen: list[str] = []
        if spec is not None and spec.active_elements_collection is not None:
            value = ex.evaluate(spec.active_elements_collection, instance.id)
            if value is not None and not isinstance(value, list):
                raise InvalidArgumentError(
                    f"active elements of ad-hoc subprocess '{node.id}' evaluated to {value!r}, "
                    "not a list of element ids"
                )
            chosen = [str(v) for v in value or []]
        activate_elements(ex, instance, node, chosen)
        # With nothing chosen it waits for activate_adhoc_elements (an agent picking tools),
        # unless its completion condition already holds.
        condition = spec.completion_condition if spec else None
        if not chosen and condition is not None and ex.evaluate(condition, instance.id) is True:
            ex.complete(instance)

    def on_child_completed(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        spec = node.ad_hoc
        condition = spec.completion_condition if spec else None
        done = condition is None or ex.evaluate(condition, instance.id) is True
        children = ex.state.children(instance.id)
        if (
            condition is not None
            and done
            and children
            and (spec and spec.cancel_remaining_instances)
        ):
            for child in children:
                ex.terminate(child)
            children = []
        if done and not children:
            ex.complete(instance)


def activate_elements(
    ex: Execution, instance: ElementInstance, node: FlowNode, element_ids: Iterable[str]
) -> list[ElementInstance]:
    """Start the chosen inner elements of an ad-hoc subprocess instance.

    Raises:
        InvalidArgumentError: an id is not an element of this ad-hoc subprocess that can be
            started on its own (one without incoming flows).
    """
    startable = {
        child.id: child
        for child in ex.process.children_of(node.id)
        if (not child.incoming and child.attached_to is None and child.is_activity)
        or (
            not child.incoming
            and child.type.value in ("intermediateThrowEvent", "intermediateCatchEvent")
        )
    }
    started = []
    for element_id in element_ids:
        child = startable.get(element_id)
        if child is None:
            raise InvalidArgumentError(
                f"'{element_id}' is not an activity of ad-hoc subprocess '{node.id}' that can be "
                f"activated; choose from {', '.join(sorted(startable)) or 'none'}"
            )
        started.append(ex.activate(child, instance))
    return started
