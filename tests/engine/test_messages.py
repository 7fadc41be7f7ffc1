"""Messages: receive tasks and message catch events, correlated by name and key."""

from __future__ import annotations

import pytest

from midflight.engine import Engine, MessageCorrelation
from midflight.errors import NotFoundError
from midflight.model.builder import ProcessBuilder

from ._support import bpmn, deploy_one, events, leaf, snapshot, tree_shape

CATCH_XML = bpmn(
    """
  <bpmn:process id="shipping" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:intermediateCatchEvent id="await_payment">
      <bpmn:messageEventDefinition messageRef="Message_paid"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="ship"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="await_payment"/>
    <bpmn:sequenceFlow id="f2" sourceRef="await_payment" targetRef="ship"/>
  </bpmn:process>
  <bpmn:message id="Message_paid" name="payment-received">
    <bpmn:extensionElements>
      <zeebe:subscription correlationKey="=orderId"/>
    </bpmn:extensionElements>
  </bpmn:message>"""
)


def _receive_task_model() -> ProcessBuilder:
    return (
        ProcessBuilder("order")
        .start_event("s")
        .receive_task("await_payment", message="payment-received", correlation_key="=orderId")
        .user_task("ship")
    )


@pytest.mark.parametrize("model", ["receive_task", "catch_event"])
def test_a_message_is_correlated_by_its_key(engine: Engine, model: str) -> None:
    key = "order" if model == "receive_task" else "shipping"
    deploy_one(engine, _receive_task_model().build() if model == "receive_task" else CATCH_XML)
    first = engine.start_process(key, {"orderId": "o-1"}).id
    second = engine.start_process(key, {"orderId": "o-2"}).id
    assert tree_shape(engine, second) == (key, (leaf("await_payment"),))

    result = engine.correlate_message("payment-received", "o-2", {"paid": 99})

    assert isinstance(result, MessageCorrelation)
    assert (result.process_instance_id, result.element_id) == (second, "await_payment")
    assert tree_shape(engine, second) == (key, (leaf("ship"),))
    assert tree_shape(engine, first) == (key, (leaf("await_payment"),))
    assert engine.variables(second) == {"orderId": "o-2", "paid": 99}
    assert engine.variables(first) == {"orderId": "o-1"}
    (correlated,) = events(engine, second, "message.correlated")
    assert correlated.element_instance_id == result.element_instance_id
    assert correlated.data == {"name": "payment-received", "correlation_key": "o-2"}
    assert events(engine, first, "message.correlated") == []


def test_a_message_is_consumed_once(engine: Engine) -> None:
    deploy_one(engine, _receive_task_model().build())
    pid = engine.start_process("order", {"orderId": "o-1"}).id
    engine.correlate_message("payment-received", "o-1")
    before = snapshot(engine, pid)

    with pytest.raises(NotFoundError, match="payment-received"):
        engine.correlate_message("payment-received", "o-1")
    assert snapshot(engine, pid) == before


def test_no_matching_subscription_raises_and_changes_nothing(engine: Engine) -> None:
    deploy_one(engine, _receive_task_model().build())
    pid = engine.start_process("order", {"orderId": "o-1"}).id
    before = snapshot(engine, pid)

    with pytest.raises(NotFoundError, match="o-9"):
        engine.correlate_message("payment-received", "o-9", {"paid": 1})
    with pytest.raises(NotFoundError):
        engine.correlate_message("payment-refused", "o-1")
    with pytest.raises(NotFoundError):
        engine.correlate_message("payment-received")  # no key: only key-less subscriptions

    assert snapshot(engine, pid) == before


def test_a_numeric_key_matches_its_text(engine: Engine) -> None:
    deploy_one(engine, _receive_task_model().build())
    a = engine.start_process("order", {"orderId": 42}).id
    b = engine.start_process("order", {"orderId": 43}).id

    assert engine.correlate_message("payment-received", 42).process_instance_id == a
    assert engine.correlate_message("payment-received", "43").process_instance_id == b


def test_two_waiting_instances_with_one_key_each_get_one_message(engine: Engine) -> None:
    deploy_one(engine, _receive_task_model().build())
    a = engine.start_process("order", {"orderId": "same"}).id
    b = engine.start_process("order", {"orderId": "same"}).id

    first = engine.correlate_message("payment-received", "same")
    second = engine.correlate_message("payment-received", "same")

    assert {first.process_instance_id, second.process_instance_id} == {a, b}
    with pytest.raises(NotFoundError):
        engine.correlate_message("payment-received", "same")


def test_message_variables_stay_local_with_output_mappings(engine: Engine) -> None:
    model = (
        ProcessBuilder("order")
        .start_event("s")
        .receive_task(
            "await_payment",
            message="payment-received",
            correlation_key="=orderId",
            outputs={"amount_paid": "=amount"},
        )
        .user_task("ship")
        .build()
    )
    deploy_one(engine, model)
    pid = engine.start_process("order", {"orderId": "o-1"}).id

    engine.correlate_message("payment-received", "o-1", {"amount": 12, "bank": "x"})

    assert engine.variables(pid) == {"orderId": "o-1", "amount_paid": 12}


def test_a_subscription_is_removed_with_its_instance(engine: Engine) -> None:
    deploy_one(engine, _receive_task_model().build())
    pid = engine.start_process("order", {"orderId": "o-1"}).id
    engine.cancel_process_instance(pid)

    with pytest.raises(NotFoundError):
        engine.correlate_message("payment-received", "o-1")


def test_camunda7_message_without_key_correlates_by_instance(engine: Engine) -> None:
    xml = bpmn(
        """
  <bpmn:process id="c7" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:receiveTask id="wait" messageRef="Message_go"/>
    <bpmn:userTask id="next"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="next"/>
  </bpmn:process>
  <bpmn:message id="Message_go" name="go"/>"""
    )
    deploy_one(engine, xml)
    a = engine.start_process("c7").id
    b = engine.start_process("c7").id

    result = engine.correlate_message("go", process_instance_id=b)

    assert result.process_instance_id == b
    assert tree_shape(engine, b) == ("c7", (leaf("next"),))
    assert tree_shape(engine, a) == ("c7", (leaf("wait"),))
    with pytest.raises(NotFoundError):
        engine.correlate_message("go", process_instance_id=b)
