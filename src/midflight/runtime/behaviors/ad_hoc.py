"""Ad-hoc subprocess: its inner elements run when chosen — by the active-elements expression
on entry, or later by ``activate_adhoc_elements`` (where AI agents pick their tools).

With ``outputCollection``/``outputElement`` (Camunda 8.8, the AI Agent's ``toolCallResults``)
it collects what its inner flows produce: the collection starts as an empty list local to the
ad-hoc scope, each inner flow that completes appends its output element (evaluated in the scope
of the element that completed it), and the ad-hoc subprocess hands the list to its parent scope
when it completes.

Each activation keeps its own variables (Camunda 8.8 gives each its own scope): the variables
it is started with are local to the element instance it starts and go on with its token along
the tool's flow (``NodePlan.in_ad_hoc``, ``Execution.activation_variables``); where output is
collected, what an element directly inside produces when it completes stays local to it too
(``NodePlan.results_local``), so the output element reads the result of its own activation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

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
        if (
            spec is not None
            and spec.output_collection
            and instance.parent_id is not None
            and not ex.plans[node.id].results_local  # a tool of another one: it stays local
        ):
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


def activations(
    element_ids: object, variables: Mapping[str, Any] | None
) -> tuple[list[str], list[dict[str, Any] | None]]:
    """The element ids and the variables of each activation that ``activate_adhoc_elements``
    was asked for: an entry is an element id or ``{"element_id": ..., "variables": {...}}``;
    an entry's own variables go on top of the shared ``variables``.

    Raises:
        InvalidArgumentError: not a non-empty list of such entries (the message names the bad
            entry), or variables that are not JSON-compatible.
    """
    if isinstance(element_ids, (str, bytes, Mapping)) or not isinstance(element_ids, Sequence):
        raise InvalidArgumentError(
            "element_ids must be a list of element ids or "
            f'{{"element_id": ..., "variables": {{...}}}} entries, not {element_ids!r}'
        )
    if not element_ids:
        raise InvalidArgumentError("name at least one element to activate")
    shared = checked_variables(variables)
    ids: list[str] = []
    each: list[dict[str, Any] | None] = []
    for position, entry in enumerate(element_ids):
        element_id, own = _activation(position, entry)
        ids.append(element_id)
        each.append({**(shared or {}), **own} if own else shared)
    return ids, each


def _activation(position: int, entry: object) -> tuple[str, dict[str, Any] | None]:
    """One entry of ``activations``: its element id and its own variables."""

    def refused(problem: str) -> InvalidArgumentError:
        return InvalidArgumentError(f"element_ids[{position}] {entry!r}: {problem}")

    if isinstance(entry, str):
        if not entry:
            raise refused("an element id must not be empty")
        return entry, None
    if not isinstance(entry, Mapping):
        raise refused("an entry is an element id or a dict with 'element_id' and 'variables'")
    unknown = sorted(repr(key) for key in entry if key not in ("element_id", "variables"))
    if unknown:
        raise refused(f"unknown key(s) {', '.join(unknown)}; use 'element_id' and 'variables'")
    element_id = entry.get("element_id")
    if not isinstance(element_id, str) or not element_id:
        raise refused("'element_id' must be a non-empty string")
    try:
        return element_id, checked_variables(entry.get("variables"))
    except InvalidArgumentError as exc:
        raise refused(str(exc)) from exc


def activate_elements(
    ex: Execution,
    instance: ElementInstance,
    node: FlowNode,
    element_ids: Sequence[str],
    variables: Sequence[Mapping[str, Any] | None] = (),
) -> list[ElementInstance]:
    """Start the chosen inner elements of an ad-hoc subprocess instance, in order; with
    ``variables[i]`` (the activation's variables) local to the instance of ``element_ids[i]``,
    set before its input mappings run. Nothing starts unless every id is startable.

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
    for element_id in element_ids:
        if element_id not in startable:
            raise InvalidArgumentError(
                f"'{element_id}' is not an activity of ad-hoc subprocess '{node.id}' that can be "
                f"activated; choose from {', '.join(sorted(startable)) or 'none'}"
            )
    return [
        ex.activate(
            startable[element_id],
            instance,
            variables=variables[position] if position < len(variables) else None,
        )
        for position, element_id in enumerate(element_ids)
    ]
