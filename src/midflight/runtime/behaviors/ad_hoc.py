"""Ad-hoc subprocess: its inner elements run when chosen — by the active-elements expression
on entry, or later by ``activate_adhoc_elements`` (where AI agents pick their tools).

With ``outputCollection``/``outputElement`` (Camunda 8.8, the AI Agent's ``toolCallResults``)
it collects what its inner flows produce: the collection starts as an empty list local to the
ad-hoc scope, each inner flow that completes appends its output element (evaluated in the scope
of the element that completed it), and the ad-hoc subprocess hands the list to its parent scope
when it completes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from midflight.errors import ExpressionError, InvalidArgumentError
from midflight.model import ElementType, FlowNode
from midflight.runtime.behaviors.base import ElementBehavior
from midflight.runtime.state import ElementInstance
from midflight.runtime.variables import checked_variables

if TYPE_CHECKING:
    from midflight.runtime.execution import Execution

_AD_HOC_TYPE = ElementType.AD_HOC_SUB_PROCESS.value


class AdHocSubProcessBehavior(ElementBehavior):
    def on_activate(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        spec = node.ad_hoc
        if (
            spec is not None
            and spec.output_collection
            and spec.output_collection not in ex.state.scope_variables(instance.id)
        ):
            # Not reset when the activation is retried after an incident: flows may have run.
            ex.set_variable_local(instance.id, spec.output_collection, [])
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

    def on_complete(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        spec = node.ad_hoc
        if spec is not None and spec.output_collection and instance.parent_id is not None:
            # Propagated like a variable set from the parent scope (before output mappings).
            found = ex.state.scope_variables(instance.id).get(spec.output_collection)
            ex.set_variable(
                instance.parent_id, spec.output_collection, found.value if found else []
            )


def path_completed(ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
    """``instance`` of ``node``, which ends a path inside an ad-hoc subprocess that collects
    output (``NodePlan.ends_collected_path``), is completing: append its output element.

    Called from ``Execution.complete`` after the element's output mappings, so a failure is an
    ``IO_MAPPING`` incident on the element and resolving it retries the completion.

    Raises:
        InvalidArgumentError: the output element failed or gave a value no variable can hold,
            or the collection variable is no longer a list.
    """
    scope = ex.state.elements.get(instance.parent_id or "")
    if scope is None or scope.element_type != _AD_HOC_TYPE:
        return  # an inner instance of a multi-instance body: the body's completion counts
    spec = ex.process.node(scope.element_id).ad_hoc
    assert spec is not None and spec.output_collection
    name = spec.output_collection
    element = spec.output_element
    value = None
    if element is not None:
        where = f"output element {element.to_source()!r} of ad-hoc subprocess '{scope.element_id}'"
        try:
            value = ex.evaluate(element, instance.id)
            value = (checked_variables({name: value}) or {})[name]
        except ExpressionError as exc:
            raise InvalidArgumentError(f"the {where} failed: {exc}") from exc
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(
                f"the {where} gave {value!r}, which a variable cannot hold: {exc}"
            ) from exc
    found = ex.state.scope_variables(scope.id).get(name)
    # missing where modification or migration made the scope without activating it
    collected = [] if found is None else found.value
    if not isinstance(collected, list):
        raise InvalidArgumentError(
            f"the output collection '{name}' of ad-hoc subprocess '{scope.element_id}' holds "
            f"{collected!r}, not a list, so the output of '{node.id}' cannot be added to it; "
            "set it to a list"
        )
    ex.set_variable_local(scope.id, name, [*collected, value])


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
