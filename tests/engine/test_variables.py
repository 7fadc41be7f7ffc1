"""Variable scopes, input/output mappings, local versus propagated variables."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from midflight.engine import Engine
from midflight.errors import NotFoundError
from midflight.model.builder import ProcessBuilder

from ._support import bpmn, deploy_one, events, instance_rows, leaf, tree_shape


def _instance_of(engine: Engine, pid: str, element_id: str) -> str:
    (node,) = engine.activity_instance_tree(pid).instances_of(element_id)
    return node.id


def test_start_variables_live_on_the_process_scope_and_keep_their_values(engine: Engine) -> None:
    deploy_one(engine, ProcessBuilder("p").start_event("s").user_task("u").build())
    values = {
        "count": 3,
        "big": 10**20,
        "name": "Ann",
        "flag": False,
        "nothing": None,
        "ratio": 0.1,
        "price": Decimal("19.90"),
        "tags": ["a", 1, {"deep": [True, 2.5]}],
        "order": {"id": "o-1", "lines": [{"sku": "x", "qty": 2}]},
    }
    pid = engine.start_process("p", values).id

    stored = engine.variables(pid)

    assert stored == {
        **values,
        "ratio": Decimal("0.1"),
        "tags": ["a", 1, {"deep": [True, Decimal("2.5")]}],
    }
    assert isinstance(stored["count"], int) and not isinstance(stored["count"], bool)
    assert str(stored["price"]) == "19.90"
    set_events = events(engine, pid, "variable.set")
    assert [e.data["name"] for e in set_events if e.data] == list(values)
    assert all(e.data is not None and e.data["scope_id"] == pid for e in set_events)


def test_dates_are_stored_as_iso_text(engine: Engine) -> None:
    deploy_one(engine, ProcessBuilder("p").start_event("s").user_task("u").build())
    pid = engine.start_process(
        "p", {"at": datetime(2030, 5, 1, 12, 30, tzinfo=UTC), "day": date(2030, 5, 2)}
    ).id

    assert engine.variables(pid) == {"at": "2030-05-01T12:30:00+00:00", "day": "2030-05-02"}


def test_set_variables_on_the_process_scope_updates_and_adds(engine: Engine) -> None:
    deploy_one(engine, ProcessBuilder("p").start_event("s").user_task("u").build())
    pid = engine.start_process("p", {"a": 1}).id

    engine.set_variables(pid, {"a": 2, "b": "new"})

    assert engine.variables(pid) == {"a": 2, "b": "new"}
    updates = [e.data for e in events(engine, pid, "variable.set")]
    assert updates[-2:] == [
        {"name": "a", "value": 2, "scope_id": pid},
        {"name": "b", "value": "new", "scope_id": pid},
    ]


def _sub_model() -> ProcessBuilder:
    return (
        ProcessBuilder("p")
        .start_event("s")
        .sub_process(
            "sub",
            inputs={"limit": "=amount * 2", "customer": "=order.customer"},
            outputs={"sub_result": "=limit + 1"},
        )
        .start_event("ss")
        .user_task("inner")
        .end_event("se")
        .sub_process_done()
        .user_task("after")
    )


def test_input_mappings_create_local_variables_of_the_scope(engine: Engine) -> None:
    deploy_one(engine, _sub_model().build())
    pid = engine.start_process("p", {"amount": 10, "order": {"customer": "ACME"}}).id
    sub_id = _instance_of(engine, pid, "sub")
    inner_id = _instance_of(engine, pid, "inner")

    assert engine.variables(pid) == {"amount": 10, "order": {"customer": "ACME"}}
    assert engine.variables(pid, scope_id=sub_id) == {
        "amount": 10,
        "order": {"customer": "ACME"},
        "limit": 20,
        "customer": "ACME",
    }
    assert engine.variables(pid, scope_id=inner_id) == engine.variables(pid, scope_id=sub_id)
    scopes = {
        e.data["name"]: e.data["scope_id"] for e in events(engine, pid, "variable.set") if e.data
    }
    assert scopes == {"amount": pid, "order": pid, "limit": sub_id, "customer": sub_id}


def test_output_mappings_bring_values_out_and_local_variables_end_with_the_scope(
    engine: Engine,
) -> None:
    deploy_one(engine, _sub_model().build())
    pid = engine.start_process("p", {"amount": 10, "order": {"customer": "ACME"}}).id

    (inner,) = engine.user_tasks(process_instance_id=pid)
    engine.complete_user_task(inner.id)

    assert tree_shape(engine, pid) == ("p", (leaf("after"),))
    assert engine.variables(pid) == {"amount": 10, "order": {"customer": "ACME"}, "sub_result": 21}


def test_input_mapping_shadows_an_outer_variable(engine: Engine) -> None:
    model = (
        ProcessBuilder("p")
        .start_event("s")
        .user_task("u", inputs={"amount": "=amount + 100"})
        .build()
    )
    deploy_one(engine, model)
    pid = engine.start_process("p", {"amount": 1}).id
    task_scope = _instance_of(engine, pid, "u")

    assert engine.variables(pid, scope_id=task_scope) == {"amount": 101}
    assert engine.variables(pid) == {"amount": 1}


def test_input_mappings_see_what_the_element_was_started_with_and_earlier_targets(
    engine: Engine,
) -> None:
    model = (
        ProcessBuilder("p")
        .start_event("s")
        .user_task(
            "review",
            inputs={"label": '="review by " + reviewer', "shout": "=upper case(label)"},
        )
        .multi_instance(collection="=reviewers", element="reviewer")
        .build()
    )
    deploy_one(engine, model)
    pid = engine.start_process("p", {"reviewers": ["ann", "bob"]}).id

    inner = engine.activity_instance_tree(pid).instances_of("review")
    seen = [engine.variables(pid, scope_id=i.id) for i in inner]
    assert [(v["label"], v["shout"]) for v in seen] == [
        ("review by ann", "REVIEW BY ANN"),
        ("review by bob", "REVIEW BY BOB"),
    ]


def test_resolving_a_failed_input_mapping_applies_the_mappings_and_goes_on(engine: Engine) -> None:
    model = bpmn(
        '<bpmn:process id="p" isExecutable="true">'
        '<bpmn:startEvent id="s"/>'
        '<bpmn:userTask id="review" camunda:assignee="${owner}"><bpmn:extensionElements>'
        "<camunda:inputOutput>"
        '<camunda:inputParameter name="limit">${amount * 2}</camunda:inputParameter>'
        "</camunda:inputOutput></bpmn:extensionElements></bpmn:userTask>"
        '<bpmn:userTask id="after"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="after"/>'
        "</bpmn:process>"
    )
    deploy_one(engine, model)
    pid = engine.start_process("p", {"owner": "ann"}).id  # no 'amount': the mapping fails

    (incident,) = engine.incidents(pid)
    assert (incident.type, incident.element_id) == ("EXPRESSION", "review")
    assert "amount" in incident.message
    assert engine.user_tasks(process_instance_id=pid) == []

    engine.set_variables(pid, {"amount": 21})
    engine.resolve_incident(incident.id)

    assert engine.incidents(pid) == []
    review = _instance_of(engine, pid, "review")
    assert engine.variables(pid, scope_id=review)["limit"] == 42  # the mapping ran again
    (task,) = engine.user_tasks(process_instance_id=pid)  # and then the behaviour
    assert (task.element_id, task.assignee) == ("review", "ann")
    assert [e.element_id for e in events(engine, pid, "element.activated")] == ["s", "review"]
    engine.complete_user_task(task.id)
    assert tree_shape(engine, pid) == ("p", (leaf("after"),))


def test_resolving_a_failed_subscription_opens_the_element_once_more(engine: Engine) -> None:
    model = (
        ProcessBuilder("p")
        .start_event("s")
        .user_task("u", inputs={"limit": "=amount * 2"})
        .boundary_event("cancelled", message="cancel", correlation_key="=orderId")
        .end_event("gone")
        .move_to("u")
        .boundary_event("late", timer_duration="=delay", cancel_activity=False)
        .end_event("noted")
        .move_to("u")
        .end_event("e")
        .build()
    )
    deploy_one(engine, model)
    # the mapping and the message subscription succeed, the timer fails: an invalid duration
    pid = engine.start_process("p", {"amount": 1, "orderId": "o-1", "delay": "soon"}).id
    (incident,) = engine.incidents(pid)
    assert (incident.type, incident.element_id) == ("EXPRESSION", "u")
    assert "soon" in incident.message

    engine.set_variables(pid, {"amount": 5, "delay": "PT1H"})
    engine.resolve_incident(incident.id)

    assert engine.incidents(pid) == []
    _, rows = instance_rows(engine, pid)
    assert [s["name"] for s in rows["event_subscriptions"]] == ["cancel"]  # not twice
    assert [j["type"] for j in rows["jobs"]] == ["timer"]
    assert engine.variables(pid, scope_id=_instance_of(engine, pid, "u"))["limit"] == 10
    assert len(engine.user_tasks(process_instance_id=pid)) == 1
    assert [e.element_id for e in events(engine, pid, "element.activated")] == ["s", "u"]
    engine.correlate_message("cancel", correlation_key="o-1")
    assert engine.process_instance(pid).state == "COMPLETED"


def test_resolving_a_failed_mapping_of_a_scope_a_modification_filled_starts_nothing_more(
    engine: Engine,
) -> None:
    model = (
        ProcessBuilder("p")
        .start_event("s")
        .user_task("first")
        .sub_process("sub", inputs={"limit": "${amount * 2}"})
        .start_event("ss")
        .user_task("inner")
        .end_event("se")
        .sub_process_done()
        .end_event("e")
        .build()
    )
    deploy_one(engine, model)
    pid = engine.start_process("p").id
    engine.modify(pid).start_before("inner").execute()  # 'sub' is created: its mapping fails
    (incident,) = engine.incidents(pid)
    assert incident.element_id == "sub"

    engine.set_variables(pid, {"amount": 4})
    engine.resolve_incident(incident.id)

    assert engine.incidents(pid) == []
    assert engine.variables(pid, scope_id=_instance_of(engine, pid, "sub"))["limit"] == 8
    # the subprocess did not run its start event again: 'inner' is there once
    assert tree_shape(engine, pid) == ("p", (leaf("first"), ("sub", (leaf("inner"),))))


def test_set_variables_without_local_goes_where_the_variable_is_visible(engine: Engine) -> None:
    deploy_one(engine, _sub_model().build())
    pid = engine.start_process("p", {"amount": 10, "order": {}}).id
    sub_id = _instance_of(engine, pid, "sub")
    inner_id = _instance_of(engine, pid, "inner")

    engine.set_variables(inner_id, {"limit": 5, "amount": 11, "fresh": "x"})

    assert engine.variables(pid) == {"amount": 11, "order": {}, "fresh": "x"}
    assert engine.variables(pid, scope_id=sub_id)["limit"] == 5
    assert engine.variables(pid, scope_id=inner_id)["limit"] == 5


def test_set_variables_local_stays_in_the_scope_and_ends_with_it(engine: Engine) -> None:
    model = ProcessBuilder("p").start_event("s").user_task("u").user_task("next").build()
    deploy_one(engine, model)
    pid = engine.start_process("p", {"note": "outer"}).id
    task_scope = _instance_of(engine, pid, "u")

    engine.set_variables(task_scope, {"note": "inner", "draft": True}, local=True)

    assert engine.variables(pid, scope_id=task_scope) == {"note": "inner", "draft": True}
    assert engine.variables(pid) == {"note": "outer"}

    (task,) = engine.user_tasks(process_instance_id=pid)
    engine.complete_user_task(task.id)
    assert engine.variables(pid) == {"note": "outer"}
    with pytest.raises(NotFoundError):
        engine.variables(pid, scope_id=task_scope)
    with pytest.raises(NotFoundError):
        engine.set_variables(task_scope, {"x": 1})


def test_completion_variables_propagate_without_output_mappings(engine: Engine) -> None:
    deploy_one(engine, _sub_model().build())
    pid = engine.start_process("p", {"amount": 1, "order": {}}).id

    (inner,) = engine.user_tasks(process_instance_id=pid)
    engine.complete_user_task(inner.id, {"decision": "ok", "limit": 99})

    variables = engine.variables(pid)
    assert variables["decision"] == "ok"  # new: lands on the process scope
    assert variables["sub_result"] == 100  # limit was the subprocess's own variable
    assert "limit" not in variables


def test_completion_variables_stay_local_with_output_mappings(engine: Engine) -> None:
    model = (
        ProcessBuilder("p")
        .start_event("s")
        .user_task("review", outputs={"approved": '=decision = "yes"', "reviewer": "=who"})
        .user_task("next")
        .build()
    )
    deploy_one(engine, model)
    pid = engine.start_process("p", {"reviewer": None}).id

    (task,) = engine.user_tasks(process_instance_id=pid)
    engine.complete_user_task(task.id, {"decision": "yes", "who": "ann", "scratch": 1})

    assert engine.variables(pid) == {"reviewer": "ann", "approved": True}


def test_job_variables_and_mappings(engine: Engine) -> None:
    model = (
        ProcessBuilder("p")
        .start_event("s")
        .service_task(
            "charge",
            job_type="charge",
            inputs={"cents": "=amount * 100"},
            outputs={"receipt": "=id"},
        )
        .user_task("next")
        .build()
    )
    deploy_one(engine, model)
    pid = engine.start_process("p", {"amount": 12.5}).id

    (job,) = engine.activate_jobs("charge", "w")
    assert job.variables == {"amount": Decimal("12.5"), "cents": 1250}
    engine.complete_job(job.id, {"id": "r-7", "status": "ok"})

    assert engine.variables(pid) == {"amount": Decimal("12.5"), "receipt": "r-7"}


def test_camunda7_input_output_parameters(engine: Engine) -> None:
    xml = bpmn(
        """
  <bpmn:process id="c7" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="u">
      <bpmn:extensionElements>
        <camunda:inputOutput>
          <camunda:inputParameter name="greeting">${name}</camunda:inputParameter>
          <camunda:inputParameter name="double">${amount * 2}</camunda:inputParameter>
          <camunda:inputParameter name="fixed">static</camunda:inputParameter>
          <camunda:outputParameter name="answer">${reply}</camunda:outputParameter>
        </camunda:inputOutput>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:userTask id="next"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="u"/>
    <bpmn:sequenceFlow id="f2" sourceRef="u" targetRef="next"/>
  </bpmn:process>"""
    )
    deploy_one(engine, xml)
    pid = engine.start_process("c7", {"name": "Ann", "amount": 4}).id
    scope = _instance_of(engine, pid, "u")

    assert engine.incidents(pid) == []
    assert engine.variables(pid, scope_id=scope) == {
        "name": "Ann",
        "amount": 4,
        "greeting": "Ann",
        "double": 8,
        "fixed": "static",
    }
    (task,) = engine.user_tasks(process_instance_id=pid)
    engine.complete_user_task(task.id, {"reply": "hi"})
    assert engine.variables(pid) == {"name": "Ann", "amount": 4, "answer": "hi"}


def test_variables_of_an_ended_instance_come_from_history(engine: Engine) -> None:
    deploy_one(engine, ProcessBuilder("p").start_event("s").user_task("u").end_event("e").build())
    pid = engine.start_process("p", {"a": 1, "b": 2}).id
    engine.set_variables(pid, {"a": 3})
    (task,) = engine.user_tasks(process_instance_id=pid)
    engine.complete_user_task(task.id, {"c": 4})

    assert engine.process_instance(pid).state == "COMPLETED"
    assert engine.variables(pid) == {"a": 3, "b": 2, "c": 4}


def test_dotted_mapping_targets_set_properties_of_a_context(engine: Engine) -> None:
    # Zeebe models write ``target="order.id"``: a property of the context variable ``order``,
    # which is created when missing and keeps its other entries when it exists.
    model = (
        ProcessBuilder("pay")
        .start_event("s")
        .service_task("charge", job_type="charge")
        .input_mapping("order.id", "=orderId")
        .input_mapping("order.lines.count", "=2")
        .output_mapping("receipt.status", "=status")
        .output_mapping("receipt.by", '="worker"')
        .user_task("check")
        .end_event("e")
        .build()
    )
    deploy_one(engine, model)
    pid = engine.start_process("pay", {"orderId": 7, "receipt": {"number": "R-1"}}).id

    (job,) = engine.activate_jobs("charge", "w")
    assert job.variables["order"] == {"id": 7, "lines": {"count": 2}}
    engine.complete_job(job.id, {"status": "paid"})

    variables = engine.variables(pid)
    assert variables["receipt"] == {"number": "R-1", "status": "paid", "by": "worker"}
    assert "order" not in variables and "receipt.status" not in variables
