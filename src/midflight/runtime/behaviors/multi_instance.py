"""The multi-instance body ``<id>#multiInstanceBody``: an element instance of its own whose
children are the inner instances (seed 003), parallel or sequential."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from midflight.errors import InvalidArgumentError
from midflight.model import (
    MULTI_INSTANCE_BODY_SUFFIX,
    ExpressionLanguage,
    FlowNode,
    MultiInstance,
)
from midflight.runtime.behaviors.base import ElementBehavior
from midflight.runtime.state import ElementInstance

if TYPE_CHECKING:
    from midflight.runtime.execution import Execution

_COLLECTION = "__collection"  # the evaluated input collection, kept on the body
_COUNTERS = (
    "nrOfInstances",
    "nrOfActiveInstances",
    "nrOfCompletedInstances",
    "nrOfTerminatedInstances",
)
#: The local variables of a body that are its own machinery (never handed on with its token).
BODY_LOCALS = (*_COUNTERS, _COLLECTION)
_VARIABLE_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


def _spec(node: FlowNode) -> MultiInstance:
    assert isinstance(node.loop, MultiInstance)
    return node.loop


class MultiInstanceBodyBehavior(ElementBehavior):
    def on_activate(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        spec = _spec(node)
        items = _items(ex, instance, node, spec)
        for name, value in zip(_COUNTERS, (len(items), 0, 0, 0), strict=True):
            ex.set_variable_local(instance.id, name, value)
        if spec.input_collection is not None:
            ex.set_variable_local(instance.id, _COLLECTION, items)
        if spec.output_collection:
            ex.set_variable_local(instance.id, spec.output_collection, [None] * len(items))
        if not items:
            ex.complete(instance)
            return
        for index in range(1 if spec.is_sequential else len(items)):
            start_inner(ex, instance, node, index)

    def on_child_completed(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        spec = _spec(node)
        variables = ex.state.scope_variables(instance.id)
        total = int(variables["nrOfInstances"].value)
        completed = int(variables["nrOfCompletedInstances"].value)
        active = ex.state.children(instance.id)
        if (
            spec.completion_condition is not None
            and ex.evaluate(spec.completion_condition, instance.id) is True
        ):
            for child in active:
                ex.terminate(child)
            ex.complete(instance)
            return
        if spec.is_sequential and not active and completed < total:
            start_inner(ex, instance, node, completed)
            return
        if not active:
            ex.complete(instance)

    def on_complete(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        spec = _spec(node)
        if ex.plans[node.id].results_local:
            return  # a tool's result: the collection stays local to the body (its activation)
        if spec.output_collection and instance.parent_id is not None:
            found = ex.state.scope_variables(instance.id).get(spec.output_collection)
            ex.set_variable(
                instance.parent_id, spec.output_collection, found.value if found else []
            )


def _items(
    ex: Execution, instance: ElementInstance, node: FlowNode, spec: MultiInstance
) -> list[Any]:
    if spec.input_collection is not None:
        value = ex.evaluate(spec.input_collection, instance.id)
        if not isinstance(value, list):
            raise InvalidArgumentError(
                f"multi-instance collection of '{node.id.removesuffix(MULTI_INSTANCE_BODY_SUFFIX)}'"
                f" ({spec.input_collection.text!r}) evaluated to {value!r}, which is not a list"
            )
        return value
    if spec.cardinality is not None:
        value = ex.evaluate(spec.cardinality, instance.id)
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if (
            not isinstance(value, (int, Decimal))
            or isinstance(value, bool)
            or value < 0
            or (value != int(value))
        ):
            raise InvalidArgumentError(
                f"loop cardinality of '{node.id}' ({spec.cardinality.text!r}) evaluated to "
                f"{value!r}, not a whole number >= 0"
            )
        return [None] * int(value)
    raise InvalidArgumentError(f"multi-instance '{node.id}' has neither cardinality nor collection")


def start_inner(
    ex: Execution,
    body: ElementInstance,
    node: FlowNode,
    index: int,
    variables: Mapping[str, Any] | None = None,
) -> ElementInstance:
    """Start one more inner instance at ``index`` and update the body's counters.

    ``variables`` are set local to the inner instance before it runs (a modification gives the
    element variable this way, seed 003)."""
    spec = _spec(node)
    inner = ex.process.node(node.id.removesuffix(MULTI_INSTANCE_BODY_SUFFIX))
    # Camunda 8 counts loops from 1, Camunda 7 from 0; each model gets its own engine's habit.
    first = 1 if ex.deployed.definitions.dialect == "camunda8" else 0
    local: dict[str, Any] = {"loopCounter": index + first}
    collection = ex.state.scope_variables(body.id).get(_COLLECTION)
    if spec.input_element and collection is not None and index < len(collection.value):
        local[spec.input_element] = collection.value[index]
    output = _output_variable(spec)
    if output is not None and output not in local:
        # As Zeebe does: an output element that names a variable starts as a local null, so
        # what a task sets under that name stays in its own inner instance, never the process.
        local[output] = None
    local.update(variables or {})
    _bump(ex, body, "nrOfActiveInstances", 1)
    return ex.activate(inner, body, variables=local, loop_counter=index)


def _output_variable(spec: MultiInstance) -> str | None:
    """The variable an output element reads (``result`` for ``=result.total``), if it is one."""
    element = spec.output_element
    if element is None or element.language is not ExpressionLanguage.FEEL:
        return None
    text = element.text.strip()
    return text.split(".", 1)[0] if _VARIABLE_PATH.fullmatch(text) else None


def inner_finished(ex: Execution, inner: ElementInstance, *, completed: bool) -> None:
    """Counters and output element of an inner instance that completed or was terminated."""
    body = ex.state.elements.get(inner.parent_id or "")
    if body is None:
        return
    _bump(ex, body, "nrOfActiveInstances", -1)
    _bump(ex, body, "nrOfCompletedInstances" if completed else "nrOfTerminatedInstances", 1)
    spec = _spec(ex.process.node(body.element_id))
    if completed and spec.output_collection and inner.loop_counter is not None:
        element = (
            ex.evaluate(spec.output_element, inner.id) if spec.output_element is not None else None
        )
        found = ex.state.scope_variables(body.id).get(spec.output_collection)
        values = list(found.value) if found is not None else []
        position = inner.loop_counter
        while len(values) <= position:
            values.append(None)
        values[position] = element
        ex.set_variable_local(body.id, spec.output_collection, values)


def _bump(ex: Execution, body: ElementInstance, name: str, delta: int) -> None:
    found = ex.state.scope_variables(body.id).get(name)
    ex.set_variable_local(body.id, name, (int(found.value) if found else 0) + delta)
