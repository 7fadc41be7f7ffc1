"""User task: creates a task for people and waits until it is completed."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from midflight.errors import InvalidArgumentError
from midflight.model import Expression, FlowNode
from midflight.runtime.behaviors.base import ElementBehavior
from midflight.runtime.state import ElementInstance, UserTask
from midflight.runtime.timers import parse_date_time

if TYPE_CHECKING:
    from midflight.runtime.execution import Execution


class UserTaskBehavior(ElementBehavior):
    def on_activate(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        spec = node.user_task

        def value(expr: Expression | None) -> Any:
            return None if expr is None else ex.evaluate(expr, instance.id)

        task = UserTask(
            id=ex.ctx.new_id(),
            process_instance_id=instance.process_instance_id,
            element_instance_id=instance.id,
            element_id=node.id,
            definition_id=ex.deployed.definition_id,
            name=node.name,
            created_at=ex.now,
        )
        if spec is not None:
            assignee = value(spec.assignee)
            task.assignee = None if assignee in (None, "") else str(assignee)
            task.candidate_groups = _names(value(spec.candidate_groups))
            task.candidate_users = _names(value(spec.candidate_users))
            task.due_date = _date(value(spec.due_date), "due date")
            task.follow_up_date = _date(value(spec.follow_up_date), "follow-up date")
            priority = value(spec.priority)
            task.priority = None if priority in (None, "") else int(priority)
            task.form_key = spec.form_key or spec.form_id
        ex.state.add(task)
        ex.history("task.created", instance, {"task_id": task.id, "assignee": task.assignee})


def _names(value: Any) -> list[str] | None:
    if value is None or value == "":
        return None
    if isinstance(value, list):
        return [str(v) for v in value]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def _date(value: Any, what: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return parse_date_time(value)
    raise InvalidArgumentError(f"user task {what} must be an ISO 8601 date-time, not {value!r}")
