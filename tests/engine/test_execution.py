"""The execution set, one element or semantic per test: trees, variables and history."""

from __future__ import annotations

import pytest

from midflight.engine import Engine
from midflight.model.builder import ProcessBuilder

from ._support import Clock, bpmn, deploy_one, events, leaf, trail, tree_shape


def test_none_start_and_end_event_complete_the_instance(engine: Engine, clock: Clock) -> None:
    deploy_one(engine, ProcessBuilder("p").start_event("start").end_event("end").build())

    instance = engine.start_process("p", business_key="order-1")

    done = engine.process_instance(instance.id)
    assert done.state == "COMPLETED"
    assert (done.business_key, done.started_at, done.ended_at) == ("order-1", clock.now, clock.now)
    assert [(h.event, h.element_id) for h in events(engine, instance.id)] == [
        ("process.started", "p"),
        ("element.activated", "start"),
        ("element.completed", "start"),
        ("element.activated", "end"),
        ("element.completed", "end"),
        ("process.completed", "p"),
    ]


def test_the_tree_root_is_the_process_instance(engine: Engine) -> None:
    deploy_one(
        engine,
        ProcessBuilder("p", name="Order").start_event("s").user_task("ut", name="Check").build(),
    )
    pid = engine.start_process("p").id

    tree = engine.activity_instance_tree(pid)

    assert (tree.id, tree.element_id, tree.element_type, tree.name) == (
        pid,
        "p",
        "process",
        "Order",
    )
    assert tree.parent_id is None and tree.transitions == []
    (task,) = tree.children
    assert (task.element_id, task.element_type, task.name, task.parent_id) == (
        "ut",
        "userTask",
        "Check",
        pid,
    )
    (user_task,) = engine.user_tasks(process_instance_id=pid)
    assert user_task.element_instance_id == task.id


def test_terminate_end_event_ends_every_other_token(engine: Engine) -> None:
    model = (
        ProcessBuilder("p")
        .start_event("s")
        .parallel_gateway("fork")
        .user_task("waiting")
        .end_event("normal_end")
        .move_to("fork")
        .end_event("kill", terminate=True)
        .build()
    )
    deploy_one(engine, model)

    pid = engine.start_process("p").id

    assert engine.process_instance(pid).state == "COMPLETED"
    assert engine.user_tasks(process_instance_id=pid) == []
    assert trail(engine, pid, "element.terminated") == ["waiting"]
    assert "normal_end" not in trail(engine, pid, "element.activated")
    assert trail(engine, pid)[-1] == "kill"


def test_terminate_end_event_in_a_subprocess_ends_only_the_subprocess(engine: Engine) -> None:
    model = (
        ProcessBuilder("p")
        .start_event("s")
        .sub_process("sub")
        .start_event("sub_start")
        .parallel_gateway("fork")
        .user_task("inner_wait")
        .move_to("fork")
        .user_task("inner_go")
        .end_event("inner_kill", terminate=True)
        .sub_process_done()
        .user_task("after")
        .end_event("e")
        .build()
    )
    deploy_one(engine, model)
    pid = engine.start_process("p").id
    assert tree_shape(engine, pid) == ("p", (("sub", (leaf("inner_go"), leaf("inner_wait"))),))

    (go,) = engine.user_tasks(process_instance_id=pid, element_id="inner_go")
    engine.complete_user_task(go.id)

    assert tree_shape(engine, pid) == ("p", (leaf("after"),))
    assert engine.process_instance(pid).state == "ACTIVE"
    assert trail(engine, pid, "element.terminated") == ["inner_wait"]
    assert [t.element_id for t in engine.user_tasks(process_instance_id=pid)] == ["after"]


def test_user_task_waits_until_completed(engine: Engine, clock: Clock) -> None:
    model = (
        ProcessBuilder("p")
        .start_event("s")
        .user_task(
            "approve",
            name="Approve",
            assignee="=owner",
            candidate_groups="clerks, managers",
            priority=70,
            form_key="approve-form",
        )
        .end_event("e")
        .build()
    )
    deploy_one(engine, model)
    pid = engine.start_process("p", {"owner": "ann"}).id

    (task,) = engine.user_tasks(process_instance_id=pid)
    assert (task.element_id, task.name, task.assignee) == ("approve", "Approve", "ann")
    assert task.candidate_groups == ["clerks", "managers"]
    assert (task.priority, task.form_key, task.created_at) == (70, "approve-form", clock.now)
    assert tree_shape(engine, pid) == ("p", (leaf("approve"),))
    (created,) = events(engine, pid, "task.created")
    assert created.data == {"task_id": task.id, "assignee": "ann"}

    engine.complete_user_task(task.id, {"approved": True})

    assert engine.process_instance(pid).state == "COMPLETED"
    assert engine.variables(pid) == {"owner": "ann", "approved": True}
    assert trail(engine, pid) == ["s", "approve", "e"]
    (completed,) = events(engine, pid, "task.completed")
    assert completed.element_id == "approve"


@pytest.mark.parametrize("kind", ["service_task", "send_task", "business_rule_task"])
def test_job_tasks_create_a_job_for_a_worker(engine: Engine, kind: str) -> None:
    builder = ProcessBuilder("p").start_event("s")
    builder = getattr(builder, kind)("work", job_type='="do-" + what', headers={"mode": "fast"})
    deploy_one(engine, builder.end_event("e").build())
    pid = engine.start_process("p", {"what": "invoice"}).id

    assert tree_shape(engine, pid) == ("p", (leaf("work"),))
    (created,) = events(engine, pid, "job.created")
    assert created.data is not None and created.data["type"] == "do-invoice"
    assert engine.activate_jobs("other-type", "w") == []
    (job,) = engine.activate_jobs("do-invoice", "w")
    assert (job.element_id, job.process_instance_id, job.retries) == ("work", pid, 3)
    assert job.headers == {"mode": "fast"}
    assert job.variables == {"what": "invoice"}

    engine.complete_job(job.id, {"result": 7})

    assert engine.process_instance(pid).state == "COMPLETED"
    assert engine.variables(pid) == {"what": "invoice", "result": 7}
    assert [h.data["job_id"] for h in events(engine, pid, "job.completed") if h.data] == [job.id]


def test_script_task_puts_its_feel_result_into_a_variable(engine: Engine) -> None:
    model = (
        ProcessBuilder("p")
        .start_event("s")
        .script_task(
            "total", script="=sum(for i in items return i.price) * 2", result_variable="total"
        )
        .script_task("label", script='="order " + string(count(items))', result_variable="label")
        .user_task("wait")
        .build()
    )
    deploy_one(engine, model)
    pid = engine.start_process("p", {"items": [{"price": 3}, {"price": 4}]}).id

    variables = engine.variables(pid)
    assert variables["total"] == 14
    assert variables["label"] == "order 2"
    assert trail(engine, pid) == ["s", "total", "label"]
    names = [h.data["name"] for h in events(engine, pid, "variable.set") if h.data]
    assert names == ["items", "total", "label"]


def test_script_task_from_zeebe_xml(engine: Engine) -> None:
    xml = bpmn(
        """
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:scriptTask id="calc">
      <bpmn:extensionElements>
        <zeebe:script expression="=a * b" resultVariable="product"/>
      </bpmn:extensionElements>
    </bpmn:scriptTask>
    <bpmn:userTask id="wait"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="calc"/>
    <bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="wait"/>
  </bpmn:process>"""
    )
    deploy_one(engine, xml)
    pid = engine.start_process("p", {"a": 6, "b": 7}).id

    assert engine.variables(pid)["product"] == 42
    assert tree_shape(engine, pid) == ("p", (leaf("wait"),))


def test_none_and_manual_tasks_pass_straight_through(engine: Engine) -> None:
    model = (
        ProcessBuilder("p")
        .start_event("s")
        .task("plain")
        .manual_task("by_hand")
        .end_event("e")
        .build()
    )
    deploy_one(engine, model)
    pid = engine.start_process("p").id

    assert engine.process_instance(pid).state == "COMPLETED"
    assert trail(engine, pid, "element.activated") == ["s", "plain", "by_hand", "e"]
    assert trail(engine, pid) == ["s", "plain", "by_hand", "e"]


def _routing() -> ProcessBuilder:
    return (
        ProcessBuilder("route")
        .start_event("s")
        .exclusive_gateway("split", default="to_normal")
        .condition("=amount > 1000")
        .user_task("big")
        .move_to("split")
        .condition("=amount > 100")
        .user_task("medium")
        .move_to("split")
        .flow_id("to_normal")
        .user_task("normal")
    )


@pytest.mark.parametrize(
    ("amount", "expected"), [(5000, "big"), (500, "medium"), (50, "normal"), (1001, "big")]
)
def test_exclusive_gateway_takes_the_first_true_condition_else_the_default(
    engine: Engine, amount: int, expected: str
) -> None:
    deploy_one(engine, _routing().build())
    pid = engine.start_process("route", {"amount": amount}).id

    assert tree_shape(engine, pid) == ("route", (leaf(expected),))
    assert trail(engine, pid) == ["s", "split"]
    assert engine.incidents(pid) == []


def test_exclusive_gateway_without_a_matching_flow_raises_an_incident(engine: Engine) -> None:
    model = (
        ProcessBuilder("route")
        .start_event("s")
        .exclusive_gateway("split")
        .condition("=amount > 100")
        .user_task("big")
        .move_to("split")
        .condition("=amount <= 100")
        .user_task("small")
        .build()
    )
    deploy_one(engine, model)
    pid = engine.start_process("route", {"amount": None}).id

    (incident,) = engine.incidents(pid)
    assert (incident.type, incident.element_id) == ("CONDITION", "split")
    assert "split" in incident.message
    assert tree_shape(engine, pid) == ("route", (leaf("split"),))
    assert engine.process_instance(pid).state == "ACTIVE"
    (created,) = events(engine, pid, "incident.created")
    assert created.data is not None and created.data["incident_id"] == incident.id

    engine.set_variables(pid, {"amount": 7})
    engine.resolve_incident(incident.id)

    assert engine.incidents(pid) == []
    assert tree_shape(engine, pid) == ("route", (leaf("small"),))
    assert len(events(engine, pid, "incident.resolved")) == 1


def test_a_condition_that_fails_to_evaluate_is_an_incident_too(engine: Engine) -> None:
    model = (
        ProcessBuilder("route")
        .start_event("s")
        .exclusive_gateway("split", default="other")
        .condition("${missingVariable > 1}")  # JUEL: an unknown variable fails at run time
        .user_task("a")
        .move_to("split")
        .flow_id("other")
        .user_task("b")
        .build()
    )
    deploy_one(engine, model)
    pid = engine.start_process("route").id

    (incident,) = engine.incidents(pid)
    assert (incident.element_id, incident.type) == ("split", "EXPRESSION")
    assert "missingVariable" in incident.message
    assert engine.user_tasks(process_instance_id=pid) == []
    assert tree_shape(engine, pid) == ("route", (leaf("split"),))


def test_parallel_gateway_forks_and_joins(engine: Engine) -> None:
    model = (
        ProcessBuilder("p")
        .start_event("s")
        .parallel_gateway("fork")
        .user_task("left")
        .parallel_gateway("join")
        .user_task("after")
        .end_event("e")
        .move_to("fork")
        .user_task("middle")
        .connect_to("join")
        .move_to("fork")
        .script_task("right", script="=1", result_variable="right_done")
        .connect_to("join")
        .build()
    )
    deploy_one(engine, model)
    pid = engine.start_process("p").id

    assert tree_shape(engine, pid) == ("p", (leaf("left"), leaf("middle")))
    left = engine.user_tasks(process_instance_id=pid, element_id="left")[0]
    engine.complete_user_task(left.id)
    assert tree_shape(engine, pid) == ("p", (leaf("middle"),))
    assert "join" not in trail(engine, pid, "element.activated")

    middle = engine.user_tasks(process_instance_id=pid, element_id="middle")[0]
    engine.complete_user_task(middle.id)

    assert tree_shape(engine, pid) == ("p", (leaf("after"),))
    assert trail(engine, pid, "element.activated").count("join") == 1
    assert trail(engine, pid, "element.activated").count("after") == 1
    (after,) = engine.user_tasks(process_instance_id=pid)
    engine.complete_user_task(after.id)
    assert engine.process_instance(pid).state == "COMPLETED"


def test_parallel_join_in_a_loop_waits_for_one_token_per_flow(engine: Engine) -> None:
    """Two tokens on the same incoming flow do not fire the join: it needs every flow."""
    model = (
        ProcessBuilder("p")
        .start_event("s")
        .parallel_gateway("fork")
        .user_task("a")
        .parallel_gateway("join")
        .end_event("e")
        .move_to("fork")
        .user_task("b")
        .connect_to("join")
        .move_to("fork")
        .user_task("a2")
        .connect_to("a")
        .build(validate=False)
    )
    deploy_one(engine, model)
    pid = engine.start_process("p").id
    assert tree_shape(engine, pid) == ("p", (leaf("a"), leaf("a2"), leaf("b")))

    (a,) = engine.user_tasks(process_instance_id=pid, element_id="a")
    engine.complete_user_task(a.id)
    (a2,) = engine.user_tasks(process_instance_id=pid, element_id="a2")
    engine.complete_user_task(a2.id)
    (a_again,) = engine.user_tasks(process_instance_id=pid, element_id="a")
    engine.complete_user_task(a_again.id)

    assert "join" not in trail(engine, pid, "element.activated")
    assert tree_shape(engine, pid) == ("p", (leaf("b"),))
    (b,) = engine.user_tasks(process_instance_id=pid, element_id="b")
    engine.complete_user_task(b.id)
    assert trail(engine, pid, "element.activated").count("join") == 1


def test_embedded_subprocess_is_a_scope_in_the_tree(engine: Engine) -> None:
    model = (
        ProcessBuilder("p")
        .start_event("s")
        .sub_process("sub", name="Handle")
        .start_event("sub_start")
        .user_task("inner")
        .end_event("sub_end")
        .sub_process_done()
        .user_task("after")
        .build()
    )
    deploy_one(engine, model)
    pid = engine.start_process("p").id

    tree = engine.activity_instance_tree(pid)
    assert tree_shape(engine, pid) == ("p", (("sub", (leaf("inner"),)),))
    (sub,) = tree.children
    (inner,) = sub.children
    assert (sub.element_type, sub.name, sub.parent_id) == ("subProcess", "Handle", pid)
    assert inner.parent_id == sub.id
    assert [i.id for i in tree.instances_of("inner")] == [inner.id]

    (task,) = engine.user_tasks(process_instance_id=pid)
    engine.complete_user_task(task.id)

    assert tree_shape(engine, pid) == ("p", (leaf("after"),))
    assert trail(engine, pid) == ["s", "sub_start", "inner", "sub_end", "sub"]


def test_subprocess_with_parallel_branches_completes_when_both_end(engine: Engine) -> None:
    model = (
        ProcessBuilder("p")
        .start_event("s")
        .sub_process("sub")
        .start_event("ss")
        .parallel_gateway("fork")
        .user_task("x")
        .end_event("ex")
        .move_to("fork")
        .user_task("y")
        .end_event("ey")
        .sub_process_done()
        .end_event("e")
        .build()
    )
    deploy_one(engine, model)
    pid = engine.start_process("p").id

    (x,) = engine.user_tasks(process_instance_id=pid, element_id="x")
    engine.complete_user_task(x.id)
    assert tree_shape(engine, pid) == ("p", (("sub", (leaf("y"),)),))

    (y,) = engine.user_tasks(process_instance_id=pid, element_id="y")
    engine.complete_user_task(y.id)
    assert engine.process_instance(pid).state == "COMPLETED"
    assert trail(engine, pid)[-3:] == ["ey", "sub", "e"]


def test_camunda7_model_runs(engine: Engine) -> None:
    xml = bpmn(
        """
  <bpmn:process id="c7" isExecutable="true" camunda:versionTag="1.0">
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="review" camunda:assignee="${reviewer}"/>
    <bpmn:exclusiveGateway id="ok" default="no"/>
    <bpmn:serviceTask id="pay" camunda:type="external" camunda:topic="payment"/>
    <bpmn:endEvent id="paid"/>
    <bpmn:endEvent id="rejected"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="ok"/>
    <bpmn:sequenceFlow id="yes" sourceRef="ok" targetRef="pay">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${approved &amp;&amp; amount &gt; 10}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="no" sourceRef="ok" targetRef="rejected"/>
    <bpmn:sequenceFlow id="f3" sourceRef="pay" targetRef="paid"/>
  </bpmn:process>"""
    )
    (definition,) = engine.deploy(xml)
    assert definition.version_tag == "1.0"
    pid = engine.start_process("c7", {"reviewer": "bob", "amount": 20}).id

    (task,) = engine.user_tasks(assignee="bob")
    engine.complete_user_task(task.id, {"approved": True})
    (job,) = engine.activate_jobs("payment", "w")
    engine.complete_job(job.id)

    assert engine.process_instance(pid).state == "COMPLETED"
    assert trail(engine, pid) == ["s", "review", "ok", "pay", "paid"]


def test_cancel_terminates_every_token(engine: Engine, clock: Clock) -> None:
    model = (
        ProcessBuilder("p")
        .start_event("s")
        .parallel_gateway("fork")
        .user_task("a")
        .move_to("fork")
        .service_task("b", job_type="b")
        .build()
    )
    deploy_one(engine, model)
    pid = engine.start_process("p").id
    clock.advance(minutes=5)

    engine.cancel_process_instance(pid, reason="customer withdrew")

    instance = engine.process_instance(pid)
    assert (instance.state, instance.ended_at) == ("CANCELED", clock.now)
    assert engine.user_tasks(process_instance_id=pid) == []
    assert engine.activate_jobs("b", "w") == []
    assert sorted(trail(engine, pid, "element.terminated")) == ["a", "b"]
    (canceled,) = events(engine, pid, "process.canceled")
    assert canceled.data == {"reason": "customer withdrew"}
