"""One behaviour per element type, listed in one table (as Zeebe's BpmnElementProcessors)."""

from __future__ import annotations

from midflight.errors import InvalidArgumentError
from midflight.model import ElementType, FlowNode
from midflight.runtime.behaviors.base import ElementBehavior, PassThrough
from midflight.runtime.behaviors.catch_event import CatchEventBehavior
from midflight.runtime.behaviors.end_event import EndEventBehavior
from midflight.runtime.behaviors.gateways import ExclusiveGatewayBehavior, ParallelGatewayBehavior
from midflight.runtime.behaviors.job_task import JobTaskBehavior
from midflight.runtime.behaviors.script_task import ScriptTaskBehavior
from midflight.runtime.behaviors.sub_process import SubProcessBehavior
from midflight.runtime.behaviors.user_task import UserTaskBehavior

__all__ = ["BEHAVIORS", "ElementBehavior", "behavior_for"]

_PASS = PassThrough()

BEHAVIORS: dict[ElementType, ElementBehavior] = {
    ElementType.START_EVENT: _PASS,
    ElementType.END_EVENT: EndEventBehavior(),
    ElementType.INTERMEDIATE_CATCH_EVENT: CatchEventBehavior(),
    ElementType.INTERMEDIATE_THROW_EVENT: _PASS,
    ElementType.BOUNDARY_EVENT: _PASS,
    ElementType.TASK: _PASS,
    ElementType.MANUAL_TASK: _PASS,
    ElementType.USER_TASK: UserTaskBehavior(),
    ElementType.SERVICE_TASK: JobTaskBehavior(),
    ElementType.SEND_TASK: JobTaskBehavior(),
    ElementType.BUSINESS_RULE_TASK: JobTaskBehavior(),
    ElementType.SCRIPT_TASK: ScriptTaskBehavior(),
    ElementType.RECEIVE_TASK: CatchEventBehavior(),
    ElementType.EXCLUSIVE_GATEWAY: ExclusiveGatewayBehavior(),
    ElementType.PARALLEL_GATEWAY: ParallelGatewayBehavior(),
    ElementType.SUB_PROCESS: SubProcessBehavior(),
}


def behavior_for(node: FlowNode) -> ElementBehavior:
    """The behaviour of a node's type.

    Raises:
        InvalidArgumentError: the type is not executed (deploy-time validation names these).
    """
    behavior = BEHAVIORS.get(node.type)
    if behavior is None:
        raise InvalidArgumentError(
            f"element '{node.id}' of type {node.type.value} is not executed by this engine yet"
        )
    return behavior
