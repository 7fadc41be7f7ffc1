"""Message and timer catch events and receive tasks: subscribe, then wait to be triggered."""

from __future__ import annotations

from typing import TYPE_CHECKING

from midflight.errors import InvalidArgumentError
from midflight.model import EventDefinitionType, Expression, ExpressionLanguage, FlowNode
from midflight.runtime.behaviors.base import ElementBehavior
from midflight.runtime.state import ElementInstance, JobKind
from midflight.runtime.timers import parse_timer

if TYPE_CHECKING:
    from midflight.runtime.execution import Execution


class CatchEventBehavior(ElementBehavior):
    def on_activate(self, ex: Execution, instance: ElementInstance, node: FlowNode) -> None:
        if node.message_ref is not None:  # receive task
            subscribe_message(ex, instance, node, node.message_ref)
            return
        if not node.event_definitions:  # none intermediate event: passes straight through
            ex.complete(instance)
            return
        for definition in node.event_definitions:
            if definition.type is EventDefinitionType.MESSAGE:
                subscribe_message(ex, instance, node, definition.ref)
            elif definition.type is EventDefinitionType.TIMER and definition.timer is not None:
                schedule_timer(ex, instance, node)
            else:
                raise InvalidArgumentError(
                    f"catch event '{node.id}': {definition.type.value} events are not executed yet"
                )


def subscribe_message(
    ex: Execution, owner: ElementInstance, node: FlowNode, message_ref: str | None
) -> None:
    message = ex.deployed.definitions.messages.get(message_ref) if message_ref else None
    if message is None:
        raise InvalidArgumentError(f"'{node.id}' refers to unknown message '{message_ref}'")
    name = message.name or message.id
    if name.startswith("="):
        name = str(ex.evaluate(Expression(name[1:], ExpressionLanguage.FEEL), owner.id))
    key = None
    if message.correlation_key is not None:
        value = ex.evaluate(message.correlation_key, owner.id)
        key = None if value is None else _key_text(value)
    ex.subscribe(owner, node, kind="message", name=name, correlation_key=key)


def _key_text(value: object) -> str:
    # Correlation keys compare as text, so 42 from FEEL (a Decimal) and "42" from a caller match.
    text = str(value)
    return text[:-2] if text.endswith(".0") else text


def schedule_timer(ex: Execution, owner: ElementInstance, node: FlowNode) -> None:
    definition = next(d for d in node.event_definitions if d.type is EventDefinitionType.TIMER)
    assert definition.timer is not None
    value = ex.evaluate(definition.timer.expression, owner.id)
    schedule = parse_timer(definition.timer.kind.value, value, ex.now)
    payload = None
    if schedule.interval is not None:
        payload = {
            "interval_seconds": schedule.interval.total_seconds(),
            "repetitions_left": schedule.repetitions_left,
        }
    ex.create_job(
        owner,
        kind=JobKind.TIMER,
        job_type="timer",
        retries=1,
        due_at=schedule.due_at,
        payload=payload,
    )
