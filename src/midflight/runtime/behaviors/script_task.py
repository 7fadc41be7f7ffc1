"""Script task: a FEEL or JUEL expression whose result goes into a variable. Never Python."""

from __future__ import annotations

from typing import TYPE_CHECKING

from midflight.errors import InvalidArgumentError
from midflight.model import FlowNode
from midflight.runtime.behaviors.base import ElementBehavior
from midflight.runtime.behaviors.job_task import JobTaskBehavior
from midflight.runtime.state import ElementInstance

if TYPE_CHECKING:
    from midflight.runtime.execution import Execution


class ScriptTaskBehavior(ElementBehavior):
    def on_activate(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        script = node.script
        if script is None and node.job is not None:  # Camunda 8: a script task may be a job
            JobTaskBehavior().on_activate(ex, instance, node)
            return
        expression = ex.plans[node.id].script  # None unless FEEL or JUEL
        if script is None or expression is None:
            fmt = script.format if script else "none"
            raise InvalidArgumentError(
                f"script task '{node.id}': script format '{fmt}' is not executed"
            )
        result = ex.evaluate(expression, instance.id)
        if script.result_variable:
            if ex.plans[node.id].results_local:  # a tool's result stays with its activation
                ex.set_variable_local(instance.id, script.result_variable, result)
            else:
                ex.set_variable(instance.id, script.result_variable, result)
        ex.complete(instance)
