"""Script task: a FEEL or JUEL expression whose result goes into a variable. Never Python."""

from __future__ import annotations

from typing import TYPE_CHECKING

from midflight.errors import InvalidArgumentError
from midflight.model import Expression, ExpressionLanguage, FlowNode
from midflight.runtime.behaviors.base import ElementBehavior
from midflight.runtime.behaviors.job_task import JobTaskBehavior
from midflight.runtime.state import ElementInstance

if TYPE_CHECKING:
    from midflight.runtime.execution import Execution

_LANGUAGES = {"feel": ExpressionLanguage.FEEL, "juel": ExpressionLanguage.JUEL}


class ScriptTaskBehavior(ElementBehavior):
    def on_activate(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        script = node.script
        if script is None and node.job is not None:  # Camunda 8: a script task may be a job
            JobTaskBehavior().on_activate(ex, instance, node)
            return
        if script is None or script.format not in _LANGUAGES:
            fmt = script.format if script else "none"
            raise InvalidArgumentError(
                f"script task '{node.id}': script format '{fmt}' is not executed"
            )
        result = ex.evaluate(Expression(script.body, _LANGUAGES[script.format]), instance.id)
        if script.result_variable:
            ex.set_variable(instance.id, script.result_variable, result)
        ex.complete(instance)
