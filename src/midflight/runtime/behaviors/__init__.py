"""One behaviour per element type, listed in one table (as Zeebe's BpmnElementProcessors)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from midflight.errors import InvalidArgumentError
from midflight.model import ElementType, FlowNode, SequenceFlow
from midflight.runtime.behaviors.ad_hoc import AdHocSubProcessBehavior
from midflight.runtime.behaviors.base import ElementBehavior, PassThrough
from midflight.runtime.behaviors.call_activity import CallActivityBehavior
from midflight.runtime.behaviors.catch_event import CatchEventBehavior
from midflight.runtime.behaviors.gateways import (
    EventBasedGatewayBehavior,
    ExclusiveGatewayBehavior,
    InclusiveGatewayBehavior,
    ParallelGatewayBehavior,
)
from midflight.runtime.behaviors.job_task import JobTaskBehavior
from midflight.runtime.behaviors.multi_instance import MultiInstanceBodyBehavior
from midflight.runtime.behaviors.script_task import ScriptTaskBehavior
from midflight.runtime.behaviors.sub_process import SubProcessBehavior
from midflight.runtime.behaviors.throw_event import ThrowEventBehavior
from midflight.runtime.behaviors.user_task import UserTaskBehavior
from midflight.runtime.state import ElementInstance

if TYPE_CHECKING:
    from midflight.runtime.execution import Execution

__all__ = ["BEHAVIORS", "ElementBehavior", "behavior_for"]

_PASS = PassThrough()
_THROW = ThrowEventBehavior()
_JOB = JobTaskBehavior()
_CATCH = CatchEventBehavior()

BEHAVIORS: dict[ElementType, ElementBehavior] = {
    ElementType.START_EVENT: _PASS,
    ElementType.END_EVENT: _THROW,
    ElementType.INTERMEDIATE_CATCH_EVENT: _CATCH,
    ElementType.INTERMEDIATE_THROW_EVENT: _THROW,
    ElementType.BOUNDARY_EVENT: _PASS,
    ElementType.TASK: _PASS,
    ElementType.MANUAL_TASK: _PASS,
    ElementType.USER_TASK: UserTaskBehavior(),
    ElementType.SERVICE_TASK: _JOB,
    ElementType.SEND_TASK: _JOB,
    ElementType.BUSINESS_RULE_TASK: _JOB,
    ElementType.SCRIPT_TASK: ScriptTaskBehavior(),
    ElementType.RECEIVE_TASK: _CATCH,
    ElementType.EXCLUSIVE_GATEWAY: ExclusiveGatewayBehavior(),
    ElementType.INCLUSIVE_GATEWAY: InclusiveGatewayBehavior(),
    ElementType.PARALLEL_GATEWAY: ParallelGatewayBehavior(),
    ElementType.EVENT_BASED_GATEWAY: EventBasedGatewayBehavior(),
    ElementType.SUB_PROCESS: SubProcessBehavior(),
    ElementType.TRANSACTION: SubProcessBehavior(),
    ElementType.EVENT_SUB_PROCESS: ElementBehavior(),  # waits: its triggered start runs it
    ElementType.AD_HOC_SUB_PROCESS: AdHocSubProcessBehavior(),
    ElementType.CALL_ACTIVITY: CallActivityBehavior(),
    ElementType.MULTI_INSTANCE_BODY: MultiInstanceBodyBehavior(),
}


def behavior_for(node: FlowNode) -> ElementBehavior:
    """The behaviour of a node's type (``NotExecuted`` for a type Midflight does not run)."""
    return BEHAVIORS.get(node.type, _NOT_EXECUTED)


class NotExecuted(ElementBehavior):
    """A type Midflight reads but does not execute (deploy-time validation names these):
    every hook raises ``InvalidArgumentError``."""

    def on_activate(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        raise _not_executed(node)

    def on_complete(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        raise _not_executed(node)

    def on_terminate(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        raise _not_executed(node)

    def on_child_completed(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        raise _not_executed(node)

    def outgoing(
        self, ex: Execution, instance: ElementInstance, node: FlowNode
    ) -> list[SequenceFlow]:
        raise _not_executed(node)


def _not_executed(node: FlowNode) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"element '{node.id}' of type {node.type.value} is not executed by Midflight"
    )


_NOT_EXECUTED = NotExecuted()
