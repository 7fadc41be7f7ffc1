"""ProcessBuilder produces the same graph the parser would, and names builder mistakes."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable

import pytest

from midflight.errors import InvalidArgumentError, ModelValidationError
from midflight.model.builder import ProcessBuilder
from midflight.model.elements import (
    CalledDecision,
    CalledElement,
    Definitions,
    ElementType,
    Error,
    Escalation,
    EventDefinition,
    EventDefinitionType,
    Expression,
    ExpressionLanguage,
    IoMapping,
    JobDefinition,
    Listener,
    Message,
    MultiInstance,
    Script,
    Signal,
    StandardLoop,
    TimerDefinition,
    TimerKind,
    UserTaskDefinition,
)

FEEL = ExpressionLanguage.FEEL
JUEL = ExpressionLanguage.JUEL
STATIC = ExpressionLanguage.STATIC
T = EventDefinitionType


def loan() -> Definitions:
    return (
        ProcessBuilder("loan", name="Loan", version_tag="v1")
        .start_event("start")
        .user_task("review", name="Review", assignee="=reviewer", candidate_groups="clerks")
        .exclusive_gateway("ok", default="to_reject")
        .condition("approved = true")
        .service_task("pay", job_type="payment", retries=3)
        .end_event("done")
        .move_to("ok")
        .flow_id("to_reject")
        .user_task("reject")
        .end_event("rejected")
        .build()
    )


def test_the_loan_example_builds_the_expected_graph() -> None:
    definitions = loan()
    process = definitions.process()
    assert definitions.id == "Definitions_loan"
    assert definitions.exporter == "Midflight"
    assert definitions.dialect == "camunda8"
    assert (process.id, process.name, process.version_tag, process.is_executable) == (
        "loan",
        "Loan",
        "v1",
        True,
    )
    assert list(process.elements) == ["start", "review", "ok", "pay", "done", "reject", "rejected"]
    assert [n.type for n in process.walk()] == [
        ElementType.START_EVENT,
        ElementType.USER_TASK,
        ElementType.EXCLUSIVE_GATEWAY,
        ElementType.SERVICE_TASK,
        ElementType.END_EVENT,
        ElementType.USER_TASK,
        ElementType.END_EVENT,
    ]
    review = process.node("review")
    assert review.user_task == UserTaskDefinition(
        assignee=Expression("reviewer", FEEL), candidate_groups=Expression("clerks", STATIC)
    )
    gateway = process.node("ok")
    assert gateway.default_flow == "to_reject"
    assert gateway.outgoing == ("Flow_ok_pay", "to_reject")
    to_pay = process.flows["Flow_ok_pay"]
    assert (to_pay.source_id, to_pay.target_id) == ("ok", "pay")
    assert to_pay.condition == Expression("approved = true", FEEL)
    assert process.flows["to_reject"].target_id == "reject"
    assert process.node("pay").job == JobDefinition(
        type=Expression("payment", STATIC), retries=Expression("3", STATIC)
    )
    assert process.node("reject").incoming == ("to_reject",)
    assert process.node("done").incoming == ("Flow_pay_done",)


def test_building_twice_gives_equal_graphs_with_generated_ids() -> None:
    def build() -> Definitions:
        return (
            ProcessBuilder("p")
            .start_event()
            .task()
            .parallel_gateway("fork")
            .task("a")
            .parallel_gateway("join")
            .move_to("fork")
            .connect_to("join")
            .move_to("fork")
            .connect_to("join")
            .end_event()
            .build(validate=False)
        )

    first, second = build(), build()
    assert first == second
    process = first.process()
    assert list(process.elements)[:2] == ["StartEvent_1", "Task_1"]
    assert "EndEvent_1" in process.elements
    # the same source and target twice: the second flow id gets a suffix
    assert process.node("join").incoming == ("Flow_a_join", "Flow_fork_join", "Flow_fork_join_2")


def test_event_definitions_register_shared_root_elements() -> None:
    definitions = (
        ProcessBuilder("events")
        .start_event("start", message="order placed", correlation_key="=orderId")
        .intermediate_catch_event("again", message="order placed", correlation_key="=orderId")
        .intermediate_catch_event("wait", timer_duration="PT5M")
        .intermediate_catch_event("at", timer_date="2030-01-01T00:00:00Z")
        .intermediate_catch_event("every", timer_cycle="=cycle")
        .intermediate_catch_event("sig", signal="go")
        .intermediate_catch_event("cond", conditional="x > 5", variable_name="x")
        .intermediate_throw_event("esc", escalation="ESC")
        .intermediate_throw_event("comp", compensate="pay", wait_for_completion=False)
        .intermediate_throw_event("jump", link="next")
        .end_event("fail", error="E1")
        .intermediate_catch_event("land", link="next")
        .end_event("stop", terminate=True)
        .build(validate=False)
    )
    process = definitions.process()

    def only(node_id: str) -> EventDefinition:
        definition = process.node(node_id).event_definition
        assert definition is not None
        return definition

    assert definitions.messages == {
        "Message_order_placed": Message(
            "Message_order_placed", "order placed", Expression("orderId", FEEL)
        )
    }
    assert only("start") == only("again") == EventDefinition(T.MESSAGE, ref="Message_order_placed")
    assert only("wait").timer == TimerDefinition(TimerKind.DURATION, Expression("PT5M", STATIC))
    assert only("at").timer == TimerDefinition(
        TimerKind.DATE, Expression("2030-01-01T00:00:00Z", STATIC)
    )
    assert only("every").timer == TimerDefinition(TimerKind.CYCLE, Expression("cycle", FEEL))
    assert definitions.signals == {"Signal_go": Signal("Signal_go", "go")}
    assert only("sig").ref == "Signal_go"
    assert only("cond") == EventDefinition(
        T.CONDITIONAL, condition=Expression("x > 5", FEEL), variable_name="x"
    )
    assert definitions.escalations == {"Escalation_ESC": Escalation("Escalation_ESC", "ESC", "ESC")}
    assert only("comp") == EventDefinition(
        T.COMPENSATE, activity_ref="pay", wait_for_completion=False
    )
    assert only("jump") == EventDefinition(T.LINK, link_name="next")
    assert definitions.errors == {"Error_E1": Error("Error_E1", "E1", "E1")}
    assert only("fail") == EventDefinition(T.ERROR, ref="Error_E1")
    assert only("stop") == EventDefinition(T.TERMINATE)
    # a link catch event continues elsewhere: nothing flows into it
    assert process.node("land").incoming == ()
    assert process.node("fail").outgoing == ()


def test_boundary_events_attach_to_the_host_and_lead_their_own_path() -> None:
    process = (
        ProcessBuilder("p")
        .start_event("s")
        .user_task("review")
        .boundary_event("remind", timer_cycle="R3/PT1H", cancel_activity=False)
        .end_event("reminded")
        .boundary_event("fail", attached_to="review", error=True)
        .end_event("failed")
        .move_to("review")
        .end_event("done")
        .build(validate=False)
        .process()
    )
    remind, fail = process.node("remind"), process.node("fail")
    assert (remind.attached_to, remind.cancel_activity, remind.incoming) == ("review", False, ())
    assert remind.outgoing == ("Flow_remind_reminded",)
    assert (fail.attached_to, fail.cancel_activity) == ("review", True)
    assert fail.event_definitions == (EventDefinition(T.ERROR),)  # catch-all
    assert process.boundary_events("review") == (remind, fail)
    assert process.node("review").outgoing == ("Flow_review_done",)


def test_task_kinds_carry_their_definitions() -> None:
    process = (
        ProcessBuilder("p", dialect="camunda7")
        .start_event("s")
        .service_task(
            "ext",
            job_type="charge",
            implementation="external",
            retry_time_cycle="R3/PT1M",
        )
        .send_task("send", job_type="mail", message="sent", headers={"to": "x"})
        .receive_task("recv", message="reply", correlation_key="=key")
        .script_task("feel", script="= a + b ", result_variable="sum")
        .script_task("groovy", script="println 1", script_format="Groovy")
        .business_rule_task(
            "rules",
            decision_id="risk",
            result_variable="r",
            decision_binding="version",
            decision_version="3",
            map_decision_result="singleEntry",
        )
        .call_activity(
            "call",
            process_id="${child}",
            binding="deployment",
            propagate_all_parent_variables=False,
            call_inputs={"a": "${b}"},
            call_outputs={"c": "d"},
            business_key="#{execution.processBusinessKey}",
        )
        .manual_task("manual")
        .task("plain")
        .end_event("e")
        .build(validate=False)
        .process()
    )
    assert process.node("ext").job == JobDefinition(
        Expression("charge", STATIC), implementation="external", retry_time_cycle="R3/PT1M"
    )
    send = process.node("send")
    assert send.job is not None and send.job.headers == (("to", "x"),)
    assert send.message_ref == "Message_sent"
    assert process.node("recv").message_ref == "Message_reply"
    assert process.node("feel").script == Script("feel", "a + b", result_variable="sum")
    assert process.node("groovy").script == Script("groovy", "println 1")
    assert process.node("rules").called_decision == CalledDecision(
        Expression("risk", STATIC), "r", "version", "3", "singleEntry"
    )
    assert process.node("call").called_element == CalledElement(
        process_id=Expression("${child}", JUEL),
        binding="deployment",
        propagate_all_parent_variables=False,
        inputs=(IoMapping("a", Expression("${b}", JUEL)),),
        outputs=(IoMapping("c", Expression("d", STATIC)),),
        business_key=Expression("#{execution.processBusinessKey}", JUEL),
    )
    assert process.node("manual").type is ElementType.MANUAL_TASK
    assert process.node("plain").type is ElementType.TASK


def test_containers_hold_their_children_and_restore_the_cursor() -> None:
    process = (
        ProcessBuilder("p")
        .start_event("s")
        .sub_process("sp", name="Outer")
        .start_event("sp_s")
        .transaction("tx")
        .start_event("tx_s")
        .end_event("tx_e")
        .sub_process_done()
        .end_event("sp_e")
        .sub_process_done()
        .event_sub_process("esp")
        .start_event("esp_s", message="cancel", interrupting=False)
        .end_event("esp_e")
        .sub_process_done()
        .ad_hoc_sub_process(
            "agent", active_elements_collection="=tools", completion_condition="done"
        )
        .task("tool")
        .sub_process_done()
        .end_event("e")
        .build(validate=False)
        .process()
    )
    assert [n.id for n in process.children_of(None)] == ["s", "sp", "esp", "agent", "e"]
    assert [n.id for n in process.children_of("sp")] == ["sp_s", "tx", "sp_e"]
    assert [n.id for n in process.children_of("tx")] == ["tx_s", "tx_e"]
    assert process.flows["Flow_tx_s_tx_e"].parent_id == "tx"
    assert process.flows["Flow_sp_s_tx"].parent_id == "sp"
    # the event subprocess is not connected; the cursor came back to "sp" afterwards
    assert process.node("esp").incoming == () and process.node("esp").outgoing == ()
    assert process.node("esp").type is ElementType.EVENT_SUB_PROCESS
    assert process.node("esp_s").is_interrupting is False
    assert process.node("sp").outgoing == ("Flow_sp_agent",)
    agent = process.node("agent")
    assert agent.ad_hoc is not None
    assert agent.ad_hoc.active_elements_collection == Expression("tools", FEEL)
    assert agent.ad_hoc.completion_condition == Expression("done", FEEL)
    assert process.node("tool").parent_id == "agent"


def test_move_to_inside_a_subprocess_continues_in_its_scope() -> None:
    process = (
        ProcessBuilder("p")
        .start_event("s")
        .sub_process("sp")
        .start_event("a")
        .end_event("b")
        .sub_process_done()
        .end_event("e")
        .move_to("a")
        .task("late")
        .end_event("late_end")
        .build(validate=False)
        .process()
    )
    assert process.node("late").parent_id == "sp"
    assert process.flows["Flow_a_late"].parent_id == "sp"


def test_loops_mappings_flags_and_listeners_modify_the_current_element() -> None:
    built = (
        ProcessBuilder("p")
        .start_event("s")
        .service_task("mi", job_type="work", inputs={"x": "=y"})
        .multi_instance(
            collection="=items",
            element="item",
            sequential=True,
            output_collection="results",
            output_element="=result",
            completion_condition="count(results) > 2",
        )
        .input_mapping("z", None)
        .output_mapping("out", "=local")
        .async_before()
        .async_after()
        .user_task("u")
        .task_listener("complete", "notify")
        .execution_listener("start", "com.acme.Start", implementation="class")
        .execution_listener("end", "audit", retries=2)
        .property("color", "blue")
        .documentation("Does it")
        .task("loop")
        .standard_loop(condition="n < 3", test_before=True, maximum=5)
        .end_event("e")
        .build(validate=False)
        .process()
    )
    mi = built.node("mi")
    assert mi.loop == MultiInstance(
        is_sequential=True,
        input_collection=Expression("items", FEEL),
        input_element="item",
        output_collection="results",
        output_element=Expression("result", FEEL),
        completion_condition=Expression("count(results) > 2", FEEL),
    )
    assert mi.is_multi_instance
    assert mi.input_mappings == (IoMapping("x", Expression("y", FEEL)), IoMapping("z", None))
    assert mi.output_mappings == (IoMapping("out", Expression("local", FEEL)),)
    assert (mi.async_before, mi.async_after) == (True, True)
    user = built.node("u")
    # execution listeners first, Camunda 7 delegates before job listeners: the file's order
    assert user.listeners == (
        Listener("execution", "start", Expression("com.acme.Start", STATIC), "class"),
        Listener("execution", "end", Expression("audit", STATIC), retries=Expression("2", STATIC)),
        Listener("task", "complete", Expression("notify", STATIC)),
    )
    assert user.properties == (("color", "blue"),)
    assert user.documentation == "Does it"
    assert built.node("loop").loop == StandardLoop(Expression("n < 3", FEEL), True, 5)


def test_the_activity_after_a_compensation_boundary_event_is_its_handler() -> None:
    process = (
        ProcessBuilder("p")
        .start_event("s")
        .service_task("pay", job_type="pay")
        .boundary_event("undo", compensate=True)
        .service_task("refund", job_type="refund")
        .move_to("pay")
        .end_event("e")
        .build(validate=False)
        .process()
    )
    refund = process.node("refund")
    assert refund.is_for_compensation and refund.incoming == ()
    assert process.node("undo").compensation_handler == "refund"
    assert process.node("undo").outgoing == ()
    (association,) = process.artifacts
    assert (association.kind, association.source_ref, association.target_ref) == (
        "association",
        "undo",
        "refund",
    )


def test_lanes_annotations_and_pool() -> None:
    definitions = (
        ProcessBuilder("p", name="P")
        .participant("pool", name="Company")
        .start_event("s")
        .user_task("a")
        .annotation("check twice")
        .end_event("e")
        .lane("l1", name="Clerks", nodes=["s", "a"])
        .lane("l2", nodes=["e"])
        .build(validate=False)
    )
    process = definitions.process()
    assert [(lane.id, lane.flow_node_refs) for lane in process.lanes] == [
        ("l1", ("s", "a")),
        ("l2", ("e",)),
    ]
    annotation, association = process.artifacts
    assert (annotation.kind, annotation.text) == ("textAnnotation", "check twice")
    assert (association.source_ref, association.target_ref) == ("a", annotation.id)
    assert definitions.collaboration is not None
    (participant,) = definitions.collaboration.participants
    assert (participant.id, participant.name, participant.process_ref) == ("pool", "Company", "p")


def test_build_validates_the_model() -> None:
    builder = (
        ProcessBuilder("p")
        .start_event("s")
        .exclusive_gateway("g")
        .task("a")
        .end_event("e1")
        .move_to("g")
        .task("b")
        .end_event("e2")
    )
    with pytest.raises(ModelValidationError) as caught:
        builder.build()
    assert any(
        problem.element_id in ("g", "Flow_g_a", "Flow_g_b") for problem in caught.value.problems
    )
    assert builder.build(validate=False).process().node("g").outgoing == ("Flow_g_a", "Flow_g_b")


def _start() -> ProcessBuilder:
    return ProcessBuilder("p").start_event("s")


BUILDER_MISTAKES: dict[str, tuple[Callable[[], object], str]] = {
    "move_to unknown": (lambda: _start().move_to("nope"), "no element 'nope'"),
    "condition without cursor": (lambda: ProcessBuilder("p").condition("x"), "no element"),
    "condition never used": (lambda: _start().task("t").condition("x").build(), "no element"),
    "condition then move": (lambda: _start().condition("x").move_to("s"), "flow settings"),
    "condition after end": (lambda: _start().end_event("e").condition("x"), "end event"),
    "connect from end": (lambda: _start().end_event("e").task("t"), "end event"),
    "duplicate id": (lambda: _start().task("s"), "duplicate id 's'"),
    "invalid id": (lambda: _start().task("1 bad"), "not a valid BPMN id"),
    "boundary on gateway": (
        lambda: _start().exclusive_gateway("g").boundary_event("b", timer_duration="PT1M"),
        "not an activity",
    ),
    "boundary without host": (
        lambda: ProcessBuilder("p").boundary_event("b", timer_duration="PT1M"),
        "attached_to",
    ),
    "across scopes": (
        lambda: _start().task("t").sub_process("sp").start_event("i").connect_to("t"),
        "different scopes",
    ),
    "flow into start": (lambda: _start().task("t").connect_to("s"), "cannot enter"),
    "unknown default": (
        lambda: _start().exclusive_gateway("g", default="nope").task("t").build(validate=False),
        "default flow 'nope'",
    ),
    "done without open": (lambda: _start().sub_process_done(), "without an open subprocess"),
    "unclosed": (
        lambda: _start().sub_process("sp").start_event("i").build(validate=False),
        "not closed",
    ),
    "task listener on service task": (
        lambda: _start().service_task("t", job_type="x").task_listener("create", "y"),
        "not a userTask",
    ),
    "loop on event": (lambda: _start().multi_instance(collection="=x"), "not an activity"),
    "lane with unknown node": (
        lambda: _start().lane("l", nodes=["ghost"]).build(validate=False),
        "unknown elements",
    ),
    "correlation without message": (
        lambda: _start().intermediate_catch_event("c", correlation_key="=k"),
        "needs message",
    ),
    "retries without job type": (lambda: _start().service_task("t", retries=3), "needs job_type"),
    "retries for an external task": (
        lambda: _start().service_task("t", job_type="x", implementation="external", retries=3),
        "only written for job workers",
    ),
    "unknown dialect": (lambda: ProcessBuilder("p", dialect="jbpm"), "unknown dialect"),
}


@pytest.mark.parametrize("case", sorted(BUILDER_MISTAKES))
def test_builder_mistakes_raise_invalid_argument_error_naming_the_problem(case: str) -> None:
    action, message = BUILDER_MISTAKES[case]
    with pytest.raises(InvalidArgumentError, match=message):
        action()


def _options_methods() -> list[str]:
    """Every public builder method that takes ``**options``/``**events``."""
    return sorted(
        name
        for name, method in inspect.getmembers(ProcessBuilder, inspect.isfunction)
        if not name.startswith("_")
        and any(
            p.kind is inspect.Parameter.VAR_KEYWORD
            for p in inspect.signature(method).parameters.values()
        )
    )


# what each method needs besides the misspelt option to be a valid call otherwise
_REQUIRED: dict[str, dict[str, object]] = {"call_activity": {"process_id": "child"}}
_CONTAINERS = {"sub_process", "transaction", "ad_hoc_sub_process", "event_sub_process"}


def test_every_method_with_options_is_checked() -> None:
    methods = _options_methods()
    assert len(methods) == 18 and {"user_task", "boundary_event", "call_activity"} <= set(methods)


@pytest.mark.parametrize("method", _options_methods())
def test_unknown_options_are_refused_and_leave_the_builder_unchanged(method: str) -> None:
    builder = _start().task("t")
    before = copy.deepcopy(vars(builder))
    with pytest.raises(InvalidArgumentError) as caught:
        getattr(builder, method)("x", **_REQUIRED.get(method, {}), misspelt_option=1)
    message = str(caught.value)
    assert message.startswith(f"{method}(): unknown option 'misspelt_option'")
    assert "valid options are" in message and "documentation" in message
    assert vars(builder) == before
    # the same call without the misspelt option still works: nothing was claimed
    getattr(builder, method)("x", **_REQUIRED.get(method, {}))
    if method in _CONTAINERS:
        builder.sub_process_done()
    assert "x" in builder.build_process().elements


def test_a_misspelt_option_is_named_with_the_closest_valid_one() -> None:
    builder = _start()
    with pytest.raises(InvalidArgumentError) as caught:
        builder.user_task("t", asignee="joe", priority=2)  # type: ignore[call-arg]
    assert str(caught.value).startswith(
        "user_task(): unknown option 'asignee' (did you mean 'assignee'?); valid options are "
        "assignee, async_after, async_before, camunda_user_task, candidate_groups, "
    )
    with pytest.raises(InvalidArgumentError, match=r"unknown options 'mesage' \(did you mean "):
        builder.send_task("send", mesage="m", correlation_kye="=k")  # type: ignore[call-arg]
    with pytest.raises(InvalidArgumentError, match=r"'correlation_kye' \(did you mean 'correl"):
        builder.send_task("send", correlation_kye="=k")  # type: ignore[call-arg]
    # nothing was added: no task, no message registered by the refused send task
    definitions = builder.end_event("e").build()
    assert list(definitions.process().elements) == ["s", "e"]
    assert not definitions.messages


def test_valid_options_are_still_accepted_everywhere() -> None:
    definitions = (
        _start()
        .user_task("t", name="T", assignee="joe", async_before=True, documentation="d")
        .boundary_event("late", timer_duration="PT1H", cancel_activity=False, name="Late")
        .end_event("late_end", documentation="x")
        .move_to("t")
        .end_event("e", terminate=True)
        .build()
    )
    task = definitions.process().node("t")
    assert task.user_task is not None and task.user_task.assignee == Expression("joe", STATIC)
    assert task.async_before and task.documentation == "d"
