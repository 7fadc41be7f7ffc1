"""User task: creates a task for people and waits until it is completed.

Task listeners (``camunda:taskListener`` / ``zeebe:taskListeners``) run as LISTENER jobs of the
listener's type, handed to workers like any job:

- ``create`` (Camunda 8: ``creating``) and ``assignment`` (``assigning``) are notifications: the
  job is created when the task is created or (re)assigned, and the task does not wait for it.
  The job belongs to the task's element instance, so it is dropped if the task ends first.
  A task created with an assignee notifies ``create`` listeners, then ``assignment`` ones.
- ``complete`` (``completing``) blocks, as Camunda 8's task listeners and Midflight's execution
  listeners do: completing the task closes it and records its variables, then the element waits
  until the listeners' jobs completed, one after the other, before it is left. A notification
  could not outlive the element otherwise, and a worker may still set variables the next steps
  read.

Other events (Camunda 7 ``delete``/``update``/``timeout``) are read but not run. A command that
skips listeners (a modification's ``skip_listeners``, seed 003's skipCustomListeners) runs no
task listener of the tasks it creates or completes.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from midflight.errors import InvalidArgumentError
from midflight.model import Expression, FlowNode, Listener
from midflight.runtime.behaviors.base import ElementBehavior
from midflight.runtime.state import ElementInstance, JobKind, UserTask
from midflight.runtime.timers import parse_date_time

if TYPE_CHECKING:
    from midflight.runtime.execution import Execution


class UserTaskBehavior(ElementBehavior):
    def on_activate(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        spec = node.user_task

        def value(expr: Expression | None) -> Any:
            return None if expr is None else ex.evaluate(expr, instance.id)

        task = UserTask(
            ex.ctx.new_id(),
            instance.process_instance_id,
            instance.id,
            node.id,
            ex.deployed.definition_id,
            node.name,
            ex.now,
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
        if node.listeners:
            notify_listeners(ex, task, "create")
            if task.assignee is not None:
                notify_listeners(ex, task, "assignment")


#: Task listener event names of both dialects -> the event Midflight runs them on.
_TASK_EVENTS = {
    "create": "create",
    "creating": "create",
    "assignment": "assignment",
    "assigning": "assignment",
    "complete": "complete",
    "completing": "complete",
}


def _task_listeners(node: FlowNode, event: str) -> list[Listener]:
    return [
        listener
        for listener in node.listeners
        if listener.kind == "task" and _TASK_EVENTS.get(listener.event) == event
    ]


def _listener_job(
    ex: Execution, instance: ElementInstance, listener: Listener, payload: dict[str, Any]
) -> None:
    job_type = ex.evaluate(listener.job_type, instance.id)
    retries = 3 if listener.retries is None else int(ex.evaluate(listener.retries, instance.id))
    ex.create_job(
        instance,
        kind=JobKind.LISTENER,
        job_type=str(job_type),
        retries=retries,
        payload={"listener": "task", **payload},
    )


def notify_listeners(ex: Execution, task: UserTask, event: str) -> None:
    """Create the notification jobs of the ``create`` or ``assignment`` task listeners."""
    if ex.skip_listeners:
        return
    instance = ex.state.elements[task.element_instance_id]
    node = ex.process.node(instance.element_id)
    for index, listener in enumerate(_task_listeners(node, event)):
        payload = {"event": event, "index": index, "task_id": task.id, "assignee": task.assignee}
        _listener_job(ex, instance, listener, payload)


def complete_task(ex: Execution, task: UserTask, variables: dict[str, Any] | None) -> None:
    """Complete an open task with the variables its completer sent.

    Without ``complete`` listeners the element is left at once; with them, the task closes and
    the element waits for the first listener's job (see the module docstring).
    """
    instance = ex.state.elements[task.element_instance_id]
    node = ex.plans[instance.element_id].node
    ex.history("task.completed", instance, {"task_id": task.id, "assignee": task.assignee})
    ex.state.remove(task)  # closed now, even if listeners keep the element a while
    if ex.skip_listeners or not _task_listeners(node, "complete"):
        ex.complete_with_variables(instance, variables)
        return
    if variables:
        ex.set_variables(instance.id, variables, local=ex.keeps_results(instance.element_id))
    _await_complete_listener(ex, instance, node, task.id, 0)


def _await_complete_listener(
    ex: Execution, instance: ElementInstance, node: FlowNode, task_id: str, index: int
) -> bool:
    """Create the job of the ``index``-th complete listener; False when none is left."""
    listeners = _task_listeners(node, "complete")
    if index >= len(listeners):
        return False
    payload = {"event": "complete", "index": index, "task_id": task_id}
    _listener_job(ex, instance, listeners[index], payload)
    return True


def task_listener_completed(
    ex: Execution, instance: ElementInstance, payload: dict[str, Any]
) -> None:
    """A task listener's job completed: a ``complete`` listener lets the element go on (or
    hands over to the next one); notifications need nothing more."""
    if payload.get("event") != "complete":
        return
    node = ex.process.node(instance.element_id)
    index = int(payload.get("index", 0)) + 1
    if not _await_complete_listener(ex, instance, node, str(payload.get("task_id")), index):
        ex.complete(instance)


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
