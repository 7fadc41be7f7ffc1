"""Seed 003 (Camunda 7 process instance modification), rule by rule and example by example.

Every code snippet of the seed is reproduced on the seed's loan application models
(``models/example1..5.bpmn``, the seed's element ids) and checked against the activity-instance
tree the seed draws. Trees are written as indented element ids, children sorted.
"""

from __future__ import annotations

import pytest
from tests.change.modification._support import (
    assert_tree,
    at_assess,
    at_decline,
    complete_tasks,
    deploy,
    live_rows,
    only,
    task_ids,
    tree,
    variant,
)
from tests.conformance.harness import Clock

from midflight import Engine
from midflight.errors import InvalidArgumentError

BODY = "contactCustomer#multiInstanceBody"


@pytest.fixture(autouse=True)
def models(engine: Engine) -> None:
    deploy(engine, "example1", "example2", "example3", "example4", "example5", "call_activity")


def subscriptions(engine: Engine, pid: str) -> list[dict[str, object]]:
    return live_rows(engine, pid)["event_subscriptions"]


# ==============================================================================================
# Process Instance Modification by Example
# ==============================================================================================
def test_example_start_accept_and_cancel_decline(engine: Engine) -> None:
    pid = at_decline(engine)
    [decline_task] = engine.user_tasks(process_instance_id=pid)
    engine.modify(pid).start_before("acceptLoanApplication").cancel_all(
        "declineLoanApplication"
    ).execute()
    assert_tree(engine, pid, "Loan_Application\n  acceptLoanApplication")
    # "In the worker's task list, the Decline task has been removed and an Accept task appeared"
    assert task_ids(engine, pid) == ["acceptLoanApplication"]
    assert decline_task.id not in {t.id for t in engine.user_tasks()}


def test_example_approver_variable_set_with_the_start(engine: Engine) -> None:
    pid = at_decline(engine)
    engine.modify(pid).start_before("acceptLoanApplication").set_variable(
        "approver", "joe"
    ).cancel_all("declineLoanApplication").execute()
    assert_tree(engine, pid, "Loan_Application\n  acceptLoanApplication")
    [task] = engine.user_tasks(process_instance_id=pid)
    # the assignee expression ${execution.getVariable('approver')} saw the variable
    assert task.assignee == "joe"
    assert engine.variables(pid)["approver"] == "joe"


EVALUATING = """
    Loan_Application
      evaluateLoanApplication
        assessCreditWorthiness
        registerApplication
"""


def test_example_restart_evaluation_at_its_two_activities(engine: Engine) -> None:
    pid = at_decline(engine)
    engine.modify(pid).cancel_all("declineLoanApplication").start_before(
        "assessCreditWorthiness"
    ).start_before("registerApplication").execute()
    assert_tree(engine, pid, EVALUATING)  # one subprocess instance holds both
    assert task_ids(engine, pid) == ["assessCreditWorthiness", "registerApplication"]


def test_example_restart_evaluation_at_the_subprocess_start_event(engine: Engine) -> None:
    pid = at_decline(engine)
    engine.modify(pid).cancel_all("declineLoanApplication").start_before(
        "subProcessStartEvent"
    ).execute()
    assert_tree(engine, pid, EVALUATING)


def test_example_restart_evaluation_at_the_subprocess(engine: Engine) -> None:
    pid = at_decline(engine)
    engine.modify(pid).cancel_all("declineLoanApplication").start_before(
        "evaluateLoanApplication"
    ).execute()
    assert_tree(engine, pid, EVALUATING)


def test_example_restart_at_the_process_start_event(engine: Engine) -> None:
    pid = at_decline(engine)
    engine.modify(pid).cancel_all("declineLoanApplication").start_before(
        "processStartEvent"
    ).execute()
    assert_tree(engine, pid, EVALUATING)
    assert engine.process_instance(pid).state == "ACTIVE"


def test_example_junit_start_an_instance_at_the_gateway(engine: Engine) -> None:
    instance = (
        engine.create_process_instance("Loan_Application")
        .start_before("application_OK")
        .set_variable("approved", True)
        .execute()
    )
    # "the processInstance is waiting at 'Accept Loan Application', now"
    assert_tree(engine, instance.id, "Loan_Application\n  acceptLoanApplication")
    assert engine.variables(instance.id) == {"approved": True}
    events = [(h.event, h.element_id) for h in engine.history(instance.id)]
    assert ("element.activated", "processStartEvent") not in events
    assert ("element.activated", "evaluateLoanApplication") not in events


# ==============================================================================================
# Modification instruction types
# ==============================================================================================
def test_start_before_runs_until_a_wait_state(engine: Engine) -> None:
    pid = at_decline(engine)
    # the gateway passes on at once (approved holds) to the accept task, a wait state
    engine.modify(pid).start_before("application_OK").set_variable("approved", True).execute()
    assert_tree(engine, pid, "Loan_Application\n  acceptLoanApplication\n  declineLoanApplication")


def test_start_before_respects_async_before(engine: Engine) -> None:
    engine.deploy(
        variant("example1", "Loan_Async", acceptLoanApplication={"camunda:asyncBefore": "true"})
    )
    pid = at_decline(engine, "Loan_Async")
    engine.modify(pid).start_before("acceptLoanApplication").execute()
    snapshot = engine.activity_instance_tree(pid)
    [transition] = snapshot.transitions
    assert (transition.element_id, transition.direction) == ("acceptLoanApplication", "before")
    assert task_ids(engine, pid) == ["declineLoanApplication"]  # no accept task yet
    jobs = live_rows(engine, pid)["jobs"]
    assert [(j["element_instance_id"], j["type"]) for j in jobs] == [
        (transition.id, "async-before")
    ]
    assert engine.execute_async_jobs() == 1
    assert_tree(engine, pid, "Loan_Async\n  acceptLoanApplication\n  declineLoanApplication")
    assert task_ids(engine, pid) == ["acceptLoanApplication", "declineLoanApplication"]


def test_start_after_takes_the_single_outgoing_flow(engine: Engine) -> None:
    pid = at_decline(engine)
    engine.modify(pid).start_after("evaluateLoanApplication").set_variable(
        "approved", True
    ).execute()
    assert_tree(engine, pid, "Loan_Application\n  acceptLoanApplication\n  declineLoanApplication")
    events = [(h.event, h.element_id) for h in engine.history(pid)]
    # the activity itself was not run again: only the flow after it was taken
    assert events.count(("element.activated", "evaluateLoanApplication")) == 1


def test_start_after_ignores_async_after(engine: Engine) -> None:
    engine.deploy(
        variant(
            "example1", "Loan_AsyncAfter", evaluateLoanApplication={"camunda:asyncAfter": "true"}
        )
    )
    pid = engine.start_process("Loan_AsyncAfter").id
    engine.modify(pid).start_after("evaluateLoanApplication").set_variable(
        "approved", False
    ).execute()
    snapshot = engine.activity_instance_tree(pid)
    assert snapshot.transitions == []  # no async-after transition instance was made
    assert [c.element_id for c in snapshot.children] == [
        "evaluateLoanApplication",
        "declineLoanApplication",
    ]


def test_start_after_an_element_with_two_outgoing_flows_fails(engine: Engine) -> None:
    pid = at_decline(engine)
    before = live_rows(engine, pid)
    with pytest.raises(InvalidArgumentError) as caught:
        engine.modify(pid).start_after("application_OK").execute()
    message = str(caught.value)
    assert "start_after('application_OK')" in message
    assert "2" in message and "flow_accept" in message and "flow_decline" in message
    assert "start_transition" in message
    assert live_rows(engine, pid) == before


def test_start_after_an_element_without_outgoing_flow_fails(engine: Engine) -> None:
    pid = at_decline(engine)
    with pytest.raises(InvalidArgumentError, match=r"loanAccepted.*0"):
        engine.modify(pid).start_after("loanAccepted").execute()


def test_start_transition_on_one_of_two_flows(engine: Engine) -> None:
    pid = at_decline(engine)
    # the condition of flow_accept is not evaluated: the token is put on the flow itself
    engine.modify(pid).start_transition("flow_accept").execute()
    assert_tree(engine, pid, "Loan_Application\n  acceptLoanApplication\n  declineLoanApplication")
    assert "approved" in engine.variables(pid)  # still False: no condition decided this
    assert engine.variables(pid)["approved"] is False


def test_start_transition_inside_a_subprocess_creates_its_scope(engine: Engine) -> None:
    pid = at_decline(engine)
    engine.modify(pid).start_transition("flow_to_register").execute()
    assert_tree(
        engine,
        pid,
        """
        Loan_Application
          declineLoanApplication
          evaluateLoanApplication
            registerApplication
        """,
    )


def test_cancel_a_leaf_activity_instance(engine: Engine) -> None:
    pid = engine.start_process("Loan_Application").id
    assess = only(engine.activity_instance_tree(pid), "assessCreditWorthiness")
    engine.modify(pid).cancel_activity_instance(assess.id).execute()
    assert_tree(engine, pid, "Loan_Application\n  evaluateLoanApplication\n    registerApplication")
    assert task_ids(engine, pid) == ["registerApplication"]


def test_cancel_a_scope_activity_instance(engine: Engine) -> None:
    pid = engine.start_process("Loan_Application").id
    engine.modify(pid).start_before("declineLoanApplication").execute()
    evaluate = only(engine.activity_instance_tree(pid), "evaluateLoanApplication")
    engine.modify(pid).cancel_activity_instance(evaluate.id).execute()
    assert_tree(engine, pid, "Loan_Application\n  declineLoanApplication")
    assert task_ids(engine, pid) == ["declineLoanApplication"]
    rows = live_rows(engine, pid)
    assert {r["element_id"] for r in rows["element_instances"]} == {
        "Loan_Application",
        "declineLoanApplication",
    }


def test_cancel_the_root_activity_instance(engine: Engine) -> None:
    """The process instance is the highest activity instance: cancelling it cancels all of
    it, and the instance ends unless a later instruction starts something again."""
    pid = engine.start_process("Loan_Application").id
    engine.modify(pid).cancel_activity_instance(pid).start_before(
        "declineLoanApplication"
    ).execute()
    assert_tree(engine, pid, "Loan_Application\n  declineLoanApplication")
    assert task_ids(engine, pid) == ["declineLoanApplication"]
    result = engine.modify(pid).cancel_activity_instance(pid).execute()
    assert result.state == "CANCELED"
    assert engine.process_instance(pid).state == "CANCELED"


def test_cancel_a_transition_instance(engine: Engine) -> None:
    engine.deploy(
        variant("example1", "Loan_Async", registerApplication={"camunda:asyncBefore": "true"})
    )
    pid = engine.start_process("Loan_Async").id
    evaluate = only(engine.activity_instance_tree(pid), "evaluateLoanApplication")
    [transition] = evaluate.transitions
    assert transition.element_id == "registerApplication"
    engine.modify(pid).cancel_transition_instance(transition.id).execute()
    assert_tree(engine, pid, "Loan_Async\n  evaluateLoanApplication\n    assessCreditWorthiness")
    assert live_rows(engine, pid)["jobs"] == []


def test_cancel_all_cancels_activity_and_transition_instances(engine: Engine) -> None:
    engine.deploy(
        variant("example1", "Loan_Async", registerApplication={"camunda:asyncBefore": "true"})
    )
    pid = engine.start_process("Loan_Async").id
    assert engine.execute_async_jobs() == 1  # one registerApplication activity instance
    engine.modify(pid).start_before("registerApplication").execute()  # and one transition
    evaluate = only(engine.activity_instance_tree(pid), "evaluateLoanApplication")
    assert [c.element_id for c in evaluate.children].count("registerApplication") == 1
    assert [t.element_id for t in evaluate.transitions] == ["registerApplication"]
    engine.modify(pid).cancel_all("registerApplication").execute()
    assert_tree(engine, pid, "Loan_Async\n  evaluateLoanApplication\n    assessCreditWorthiness")
    assert live_rows(engine, pid)["jobs"] == []
    assert task_ids(engine, pid) == ["assessCreditWorthiness"]


# ==============================================================================================
# Provide variables
# ==============================================================================================
def test_variables_are_set_before_the_element_runs(engine: Engine) -> None:
    """An input mapping and the assignee expression of the started task see the variable."""
    pid = at_decline(engine)
    result = (
        engine.modify(pid)
        .start_before("acceptLoanApplication")
        .set_variables({"approver": "joe"})
        .execute()
    )
    accept = only(engine.activity_instance_tree(pid), "acceptLoanApplication")
    assert accept.id in result.created
    assert engine.variables(pid, accept.id)["approvedBy"] == "joe"  # the input mapping
    [task] = engine.user_tasks(process_instance_id=pid, element_id="acceptLoanApplication")
    assert task.assignee == "joe"


def test_variables_are_set_after_the_missing_scopes_are_created(engine: Engine) -> None:
    pid = at_decline(engine)
    engine.modify(pid).start_before("assessCreditWorthiness").set_variable(
        "analyst", "ann"
    ).set_variable_local("priority", 1).execute()
    history = engine.history(pid)
    sets = [
        h
        for h in history
        if h.event == "variable.set" and h.data and h.data["name"] in ("analyst", "priority")
    ]
    assert len(sets) == 2
    evaluate = only(engine.activity_instance_tree(pid), "evaluateLoanApplication")
    assess = only(engine.activity_instance_tree(pid), "assessCreditWorthiness")

    def position(event: str, element_instance_id: str) -> int:
        return next(
            i
            for i, h in enumerate(history)
            if h.event == event and h.element_instance_id == element_instance_id
        )

    first_set = history.index(sets[0])
    assert position("element.activated", evaluate.id) < first_set
    assert history.index(sets[1]) < position("task.created", assess.id)
    # not set "during" the activity: the events name no element instance of the activity
    assert all(h.element_instance_id != assess.id for h in sets)


def test_set_variable_goes_to_the_process_and_local_to_the_new_instance(engine: Engine) -> None:
    pid = at_decline(engine)
    engine.modify(pid).start_before("assessCreditWorthiness").set_variable(
        "analyst", "ann"
    ).set_variables_local({"priority": 1, "note": "again"}).execute()
    assess = only(engine.activity_instance_tree(pid), "assessCreditWorthiness")
    evaluate = only(engine.activity_instance_tree(pid), "evaluateLoanApplication")
    assert engine.variables(pid) == {"approved": False, "analyst": "ann"}
    assert engine.variables(pid, evaluate.id) == {"approved": False, "analyst": "ann"}
    assert engine.variables(pid, assess.id) == {
        "approved": False,
        "analyst": "ann",
        "priority": 1,
        "note": "again",
    }
    owners = {
        r["name"]: r["scope_id"]
        for r in live_rows(engine, pid)["variables"]
        if r["name"] in ("priority", "note", "analyst")
    }
    assert owners == {"priority": assess.id, "note": assess.id, "analyst": pid}


def test_set_variable_needs_a_start_instruction(engine: Engine) -> None:
    pid = at_decline(engine)
    with pytest.raises(InvalidArgumentError, match="start instruction"):
        engine.modify(pid).cancel_all("declineLoanApplication").set_variable("x", 1)


# ==============================================================================================
# Activity-instance-based API
# ==============================================================================================
def test_activity_instance_tree_drill_down(engine: Engine) -> None:
    pid = engine.start_process("Loan_Application").id
    activity_instance = engine.activity_instance_tree(pid)
    assert activity_instance.id == pid
    sub_process_instance = activity_instance.children[0]
    assert sub_process_instance.element_id == "evaluateLoanApplication"
    leaves = sub_process_instance.children
    assert sorted(leaf.element_id for leaf in leaves) == [
        "assessCreditWorthiness",
        "registerApplication",
    ]
    assess = activity_instance.instances_of("assessCreditWorthiness")[0]
    assert assess.parent_id == sub_process_instance.id
    assert activity_instance.render() == (
        "Loan Application\n  Evaluate Loan Application\n    Assess Credit Worthiness\n"
        "    Register Application Request"
    )


# ==============================================================================================
# Nested instantiation
# ==============================================================================================
def test_nested_instantiation_creates_the_missing_parent_scopes(engine: Engine) -> None:
    pid = at_decline(engine)
    engine.modify(pid).start_before("assessCreditWorthiness").execute()
    assert_tree(
        engine,
        pid,
        """
        Loan_Application
          declineLoanApplication
          evaluateLoanApplication
            assessCreditWorthiness
        """,
    )


def test_nested_instantiation_registers_the_boundary_subscription(engine: Engine) -> None:
    key = "Loan_Application_Boundary"
    pid = at_decline(engine, key)
    assert subscriptions(engine, pid) == []
    engine.modify(pid).start_before("assessCreditWorthiness").execute()
    evaluate = only(engine.activity_instance_tree(pid), "evaluateLoanApplication")
    [subscription] = subscriptions(engine, pid)
    assert subscription["element_id"] == "cancelationNoticeReceived"
    assert subscription["element_instance_id"] == evaluate.id
    # ... such that it is possible to cancel the sub process this way
    hit = engine.correlate_message("CancelationNotice", process_instance_id=pid)
    assert hit.element_instance_id == evaluate.id
    assert_tree(engine, pid, f"{key}\n  declineLoanApplication")
    assert subscriptions(engine, pid) == []


def test_nested_instantiation_registers_event_subprocess_subscriptions(engine: Engine) -> None:
    key = "Loan_Application_EventSubProcess"
    pid = at_decline(engine, key)
    engine.modify(pid).start_before("registerApplication").execute()
    evaluate = only(engine.activity_instance_tree(pid), "evaluateLoanApplication")
    [subscription] = subscriptions(engine, pid)
    assert (subscription["element_id"], subscription["element_instance_id"]) == (
        "eventSubProcessStartEvent",
        evaluate.id,
    )
    engine.correlate_message("CancelEvaluation", process_instance_id=pid)
    assert_tree(
        engine,
        pid,
        f"""
        {key}
          declineLoanApplication
          evaluateLoanApplication
            cancelEvaluation
              notifyAccountant
        """,
    )


# ==============================================================================================
# Ancestor selection for instantiation
# ==============================================================================================
def test_default_ancestor_is_the_existing_subprocess_instance(engine: Engine) -> None:
    pid = at_assess(engine)
    evaluate = only(engine.activity_instance_tree(pid), "evaluateLoanApplication")
    engine.modify(pid).start_before("assessCreditWorthiness").execute()
    assert_tree(
        engine,
        pid,
        """
        Loan_Application
          evaluateLoanApplication
            assessCreditWorthiness
            assessCreditWorthiness
        """,
    )
    assert only(engine.activity_instance_tree(pid), "evaluateLoanApplication").id == evaluate.id


def test_explicit_ancestor_instantiates_the_subprocess_again(engine: Engine) -> None:
    pid = at_assess(engine)
    activity_instance_tree = engine.activity_instance_tree(pid)
    first = only(activity_instance_tree, "evaluateLoanApplication")
    engine.modify(activity_instance_tree.id).start_before(
        "assessCreditWorthiness", ancestor=pid
    ).execute()
    assert_tree(
        engine,
        pid,
        """
        Loan_Application
          evaluateLoanApplication
            assessCreditWorthiness
          evaluateLoanApplication
            assessCreditWorthiness
        """,
    )
    evaluates = engine.activity_instance_tree(pid).instances_of("evaluateLoanApplication")
    assert first.id in {e.id for e in evaluates}
    second = next(e for e in evaluates if e.id != first.id)
    # the new subprocess instance was opened like any other (its start event not run)
    assert [c.element_id for c in second.children] == ["assessCreditWorthiness"]


def test_explicit_ancestor_below_the_process(engine: Engine) -> None:
    pid = at_assess(engine)
    evaluate = only(engine.activity_instance_tree(pid), "evaluateLoanApplication")
    engine.modify(pid).start_before("registerApplication", ancestor=evaluate.id).execute()
    assert_tree(
        engine,
        pid,
        """
        Loan_Application
          evaluateLoanApplication
            assessCreditWorthiness
            registerApplication
        """,
    )


def test_default_ancestor_is_ambiguous_with_two_subprocess_instances(engine: Engine) -> None:
    pid = at_assess(engine)
    engine.modify(pid).start_before("assessCreditWorthiness", ancestor=pid).execute()
    before = live_rows(engine, pid)
    with pytest.raises(InvalidArgumentError, match="ambiguous"):
        engine.modify(pid).start_before("registerApplication").execute()
    assert live_rows(engine, pid) == before


# ==============================================================================================
# Cancelation propagation
# ==============================================================================================
def test_cancelation_propagates_to_parents_left_empty(engine: Engine) -> None:
    pid = at_decline(engine)
    engine.modify(pid).start_before("assessCreditWorthiness").execute()
    assess = only(engine.activity_instance_tree(pid), "assessCreditWorthiness")
    engine.modify(pid).cancel_activity_instance(assess.id).execute()
    assert_tree(engine, pid, "Loan_Application\n  declineLoanApplication")


def test_process_instance_is_cancelled_when_nothing_is_left(engine: Engine) -> None:
    pid = at_decline(engine)
    engine.modify(pid).start_before("assessCreditWorthiness").execute()
    snapshot = engine.activity_instance_tree(pid)
    result = (
        engine.modify(pid)
        .cancel_activity_instance(only(snapshot, "assessCreditWorthiness").id)
        .cancel_activity_instance(only(snapshot, "declineLoanApplication").id)
        .execute()
    )
    assert result.tree is None and result.state == "CANCELED"
    assert engine.process_instance(pid).state == "CANCELED"
    assert engine.user_tasks(process_instance_id=pid) == []


def test_process_instance_is_cancelled_only_after_the_last_instruction(engine: Engine) -> None:
    pid = at_decline(engine)
    engine.modify(pid).cancel_all("declineLoanApplication").start_before(
        "acceptLoanApplication"
    ).execute()
    assert engine.process_instance(pid).state == "ACTIVE"
    assert_tree(engine, pid, "Loan_Application\n  acceptLoanApplication")
    assert "process.canceled" not in [h.event for h in engine.history(pid)]


def test_a_token_ending_the_instance_mid_modification_does_not_end_it_early(
    engine: Engine,
) -> None:
    """The interrupted subprocess's boundary path reaches its end event with nothing else left;
    the instance still takes the next instruction, as with cancellation."""
    key = "Loan_Application_Boundary"
    pid = at_assess(engine, key)
    engine.modify(pid).start_before("cancelationNoticeReceived").start_before(
        "acceptLoanApplication"
    ).execute()
    assert engine.process_instance(pid).state == "ACTIVE"
    assert_tree(engine, pid, f"{key}\n  acceptLoanApplication")


def test_left_empty_by_a_regular_end_the_instance_completes(engine: Engine) -> None:
    pid = at_decline(engine)
    result = (
        engine.modify(pid)
        .cancel_all("declineLoanApplication")
        .start_before("loanAccepted")
        .execute()
    )
    assert result.state == "COMPLETED" and result.tree is None
    events = [h.event for h in engine.history(pid)]
    assert "process.completed" in events and "process.canceled" not in events


def test_left_empty_by_a_last_cancellation_the_instance_is_cancelled(engine: Engine) -> None:
    pid = at_decline(engine)
    result = (
        engine.modify(pid)
        .start_before("loanAccepted")
        .cancel_all("declineLoanApplication")
        .execute()
    )
    assert result.state == "CANCELED"


# ==============================================================================================
# Instruction execution order
# ==============================================================================================
def _evaluation_with_entities(engine: Engine) -> tuple[str, str]:
    """example 2 with only assessCreditWorthiness active, a local variable on the subprocess
    instance and its boundary subscription."""
    pid = at_assess(engine, "Loan_Application_Boundary")
    evaluate = only(engine.activity_instance_tree(pid), "evaluateLoanApplication")
    engine.set_variables(evaluate.id, {"evaluationNote": "first look"}, local=True)
    return pid, evaluate.id


def test_cancel_first_gives_a_different_subprocess_instance(engine: Engine) -> None:
    pid, old = _evaluation_with_entities(engine)
    [old_subscription] = subscriptions(engine, pid)
    engine.modify(pid).cancel_all("assessCreditWorthiness").start_before(
        "registerApplication"
    ).execute()
    assert_tree(
        engine,
        pid,
        "Loan_Application_Boundary\n  evaluateLoanApplication\n    registerApplication",
    )
    new = only(engine.activity_instance_tree(pid), "evaluateLoanApplication").id
    assert new != old
    assert "evaluationNote" not in engine.variables(pid, new)  # gone with the old instance
    [subscription] = subscriptions(engine, pid)
    assert subscription["id"] != old_subscription["id"]
    assert subscription["element_instance_id"] == new


def test_start_first_keeps_the_subprocess_instance(engine: Engine) -> None:
    pid, old = _evaluation_with_entities(engine)
    [old_subscription] = subscriptions(engine, pid)
    engine.modify(pid).start_before("registerApplication").cancel_all(
        "assessCreditWorthiness"
    ).execute()
    assert_tree(
        engine,
        pid,
        "Loan_Application_Boundary\n  evaluateLoanApplication\n    registerApplication",
    )
    assert only(engine.activity_instance_tree(pid), "evaluateLoanApplication").id == old
    assert engine.variables(pid, old)["evaluationNote"] == "first look"
    assert subscriptions(engine, pid) == [old_subscription]


# ==============================================================================================
# Start activities with interrupting/canceling semantics
# ==============================================================================================
ESP = "Loan_Application_EventSubProcess"
INTERRUPTED = f"""
    {ESP}
      evaluateLoanApplication
        cancelEvaluation
          notifyAccountant
"""


def test_starting_the_interrupting_event_subprocess_cancels_assess(engine: Engine) -> None:
    pid = at_assess(engine, ESP)
    evaluate = only(engine.activity_instance_tree(pid), "evaluateLoanApplication")
    engine.modify(pid).start_before("cancelEvaluation").execute()
    assert_tree(engine, pid, INTERRUPTED)
    assert task_ids(engine, pid) == ["notifyAccountant"]
    assert only(engine.activity_instance_tree(pid), "evaluateLoanApplication").id == evaluate.id


def test_starting_the_event_subprocess_start_event_interrupts_too(engine: Engine) -> None:
    pid = at_assess(engine, ESP)
    engine.modify(pid).start_before("eventSubProcessStartEvent").execute()
    assert_tree(engine, pid, INTERRUPTED)
    assert task_ids(engine, pid) == ["notifyAccountant"]


def test_interrupting_start_matches_the_event_happening(engine: Engine) -> None:
    """Started by modification or by its message, the interrupted scope ends up the same:
    its other children gone, its event-subprocess subscription consumed."""
    by_modification = at_assess(engine, ESP)
    engine.modify(by_modification).start_before("eventSubProcessStartEvent").execute()
    by_message = at_assess(engine, ESP)
    engine.correlate_message("CancelEvaluation", process_instance_id=by_message)
    assert tree(engine, by_modification).replace(ESP, "") == tree(engine, by_message).replace(
        ESP, ""
    )
    assert subscriptions(engine, by_modification) == subscriptions(engine, by_message) == []


def test_starting_an_activity_inside_the_event_subprocess_does_not_interrupt(
    engine: Engine,
) -> None:
    pid = at_assess(engine, ESP)
    engine.modify(pid).start_before("notifyAccountant").execute()
    assert_tree(
        engine,
        pid,
        f"""
        {ESP}
          evaluateLoanApplication
            assessCreditWorthiness
            cancelEvaluation
              notifyAccountant
        """,
    )
    assert task_ids(engine, pid) == ["assessCreditWorthiness", "notifyAccountant"]


def test_starting_an_interrupting_boundary_event_cancels_its_host(engine: Engine) -> None:
    key = "Loan_Application_Boundary"
    pid = at_decline(engine, key)
    engine.modify(pid).start_before("assessCreditWorthiness").execute()
    engine.modify(pid).start_before("cancelationNoticeReceived").execute()
    # the subprocess was interrupted and the boundary path ran to its end event
    assert_tree(engine, pid, f"{key}\n  declineLoanApplication")
    events = [(h.event, h.element_id) for h in engine.history(pid)]
    assert ("element.terminated", "evaluateLoanApplication") in events
    assert ("element.completed", "loanCanceled") in events


# ==============================================================================================
# Modify multi-instance activity instances
# ==============================================================================================
MI = "Loan_Application_MultiInstance"


def _counters(engine: Engine, pid: str, body_id: str) -> dict[str, object]:
    values = engine.variables(pid, body_id)
    return {k: values[k] for k in ("nrOfInstances", "nrOfActiveInstances")}


def test_multi_instance_three_instances(engine: Engine) -> None:
    pid = engine.start_process(MI).id
    assert_tree(
        engine,
        pid,
        f"""
        {MI}
          {BODY}
            contactCustomer
            contactCustomer
            contactCustomer
        """,
    )


def test_start_a_fourth_inner_instance(engine: Engine) -> None:
    pid = engine.start_process(MI).id
    body = only(engine.activity_instance_tree(pid), BODY)
    engine.modify(pid).start_before("contactCustomer").execute()
    assert_tree(
        engine,
        pid,
        f"""
        {MI}
          {BODY}
            contactCustomer
            contactCustomer
            contactCustomer
            contactCustomer
        """,
    )
    snapshot = engine.activity_instance_tree(pid)
    assert only(snapshot, BODY).id == body.id
    assert _counters(engine, pid, body.id) == {"nrOfInstances": 4, "nrOfActiveInstances": 4}
    inner = snapshot.instances_of("contactCustomer")
    assert sorted(engine.variables(pid, i.id)["loopCounter"] for i in inner) == [0, 1, 2, 3]
    assert sorted(i.loop_counter or 0 for i in inner) == [0, 1, 2, 3]
    # completing all four completes the body (the counters agree with the instances)
    complete_tasks(engine, pid)
    assert_tree(engine, pid, f"{MI}\n  acceptLoanApplication")


def test_fourth_inner_instance_gets_its_element_variable_as_local(engine: Engine) -> None:
    pid = engine.start_process(MI).id
    engine.modify(pid).start_before("contactCustomer").set_variable_local(
        "customer", "dora"
    ).execute()
    # the assignee expression of the new inner instance saw the local variable
    assignees = [t.assignee for t in engine.user_tasks(process_instance_id=pid)]
    assert sorted(a or "" for a in assignees) == ["", "", "", "dora"]
    fourth = next(
        i
        for i in engine.activity_instance_tree(pid).instances_of("contactCustomer")
        if engine.variables(pid, i.id).get("customer") == "dora"
    )
    assert engine.variables(pid, fourth.id)["loopCounter"] == 3
    assert "customer" not in engine.variables(pid)


def test_start_the_whole_multi_instance_body_again(engine: Engine) -> None:
    pid = engine.start_process(MI).id
    engine.modify(pid).start_before("contactCustomer").execute()
    engine.modify(pid).start_before(BODY).execute()
    assert_tree(
        engine,
        pid,
        f"""
        {MI}
          {BODY}
            contactCustomer
            contactCustomer
            contactCustomer
            contactCustomer
          {BODY}
            contactCustomer
            contactCustomer
            contactCustomer
        """,
    )
    counters = sorted(
        tuple(_counters(engine, pid, b.id).values())
        for b in engine.activity_instance_tree(pid).instances_of(BODY)
    )
    assert counters == [(3, 3), (4, 4)]


def test_start_before_the_inner_activity_without_a_body_creates_one(engine: Engine) -> None:
    pid = engine.start_process(MI).id
    engine.modify(pid).cancel_all(BODY).start_before("contactCustomer").execute()
    assert_tree(engine, pid, f"{MI}\n  {BODY}\n    contactCustomer")
    body = only(engine.activity_instance_tree(pid), BODY)
    assert _counters(engine, pid, body.id) == {"nrOfInstances": 1, "nrOfActiveInstances": 1}
    complete_tasks(engine, pid)
    assert_tree(engine, pid, f"{MI}\n  acceptLoanApplication")


def test_cancel_one_inner_instance_keeps_the_counters_right(engine: Engine) -> None:
    pid = engine.start_process(MI).id
    body = only(engine.activity_instance_tree(pid), BODY)
    first = engine.activity_instance_tree(pid).instances_of("contactCustomer")[0]
    engine.modify(pid).cancel_activity_instance(first.id).execute()
    assert _counters(engine, pid, body.id)["nrOfActiveInstances"] == 2
    complete_tasks(engine, pid)
    assert_tree(engine, pid, f"{MI}\n  acceptLoanApplication")


# ==============================================================================================
# Modification of multiple process instances
# ==============================================================================================
def _definition_id(engine: Engine, key: str = "Loan_Application") -> str:
    return engine.definitions(key)[0].id


def test_modify_many_by_ids(engine: Engine) -> None:
    first, second, untouched = (at_decline(engine) for _ in range(3))
    result = (
        engine.modify_many(_definition_id(engine))
        .cancel_all("declineLoanApplication")
        .start_before("acceptLoanApplication")
        .process_instances(ids=[first, second])
        .execute()
    )
    assert sorted(result.modified) == sorted([first, second]) and result.failed == {}
    for pid in (first, second):
        assert_tree(engine, pid, "Loan_Application\n  acceptLoanApplication")
    assert_tree(engine, untouched, "Loan_Application\n  declineLoanApplication")
    operation = engine.operation(result.operation_id)
    assert sorted(operation["data"]["process_instance_ids"]) == sorted([first, second])


def test_modify_many_by_query(engine: Engine) -> None:
    declined = [at_decline(engine) for _ in range(2)]
    evaluating = engine.start_process("Loan_Application").id
    result = (
        engine.modify_many(_definition_id(engine))
        .cancel_all("declineLoanApplication")
        .start_before("acceptLoanApplication")
        .process_instances(query={"element_id": "declineLoanApplication"})
        .execute()
    )
    assert sorted(result.modified) == sorted(declined)
    for pid in declined:
        assert_tree(engine, pid, "Loan_Application\n  acceptLoanApplication")
    assert_tree(engine, evaluating, EVALUATING)


def test_modify_many_by_ids_and_query_is_the_union(engine: Engine) -> None:
    by_query = at_decline(engine)
    by_id = engine.start_process("Loan_Application").id
    both = at_decline(engine)
    result = (
        engine.modify_many(_definition_id(engine))
        .start_before("acceptLoanApplication")
        .process_instances(ids=[by_id, both], query={"element_id": "declineLoanApplication"})
        .execute()
    )
    assert sorted(result.modified) == sorted([by_query, by_id, both])
    assert len(result.modified) == 3  # each instance once
    for pid in (by_query, both):
        assert task_ids(engine, pid) == ["acceptLoanApplication", "declineLoanApplication"]
    assert task_ids(engine, by_id) == [
        "acceptLoanApplication",
        "assessCreditWorthiness",
        "registerApplication",
    ]


def test_modify_many_requires_instances_of_the_definition(engine: Engine) -> None:
    mine = at_decline(engine)
    other = engine.start_process("Loan_Application_Flat").id
    before = live_rows(engine, other)
    result = (
        engine.modify_many(_definition_id(engine))
        .start_before("acceptLoanApplication")
        .process_instances(ids=[mine, other])
        .execute()
    )
    assert result.modified == [mine]
    assert other in result.failed and "not an instance of" in result.failed[other]
    assert live_rows(engine, other) == before


# ==============================================================================================
# Skip listener and input/output invocation
# ==============================================================================================
def _audited(engine: Engine) -> str:
    engine.deploy(
        variant(
            "example1",
            "Loan_Audited",
            acceptLoanApplication={"camunda:asyncBefore": "false"},
        ).replace(
            "<camunda:inputOutput>",
            '<camunda:executionListener event="start" class="org.example.AuditListener"/>'
            "<camunda:inputOutput>",
        )
    )
    return at_decline(engine, "Loan_Audited")


def test_listeners_run_by_default(engine: Engine) -> None:
    pid = _audited(engine)
    engine.modify(pid).start_before("acceptLoanApplication").execute()
    jobs = live_rows(engine, pid)["jobs"]
    assert [(j["element_id"], j["kind"]) for j in jobs] == [("acceptLoanApplication", "LISTENER")]
    assert task_ids(engine, pid) == ["declineLoanApplication"]  # the task waits for it


def test_skip_listeners(engine: Engine) -> None:
    pid = _audited(engine)
    engine.modify(pid).start_before("acceptLoanApplication").execute(skip_listeners=True)
    assert live_rows(engine, pid)["jobs"] == []
    assert task_ids(engine, pid) == ["acceptLoanApplication", "declineLoanApplication"]
    # only for the modifying transaction: the next instance runs its listener again
    other = at_decline(engine, "Loan_Audited")
    engine.modify(other).start_before("acceptLoanApplication").execute()
    assert len(live_rows(engine, other)["jobs"]) == 1


def _task_listened(engine: Engine) -> str:
    """A declined instance of a variant whose accept task has create, assignment and complete
    task listeners (the accept task is assigned through its assignee expression)."""
    engine.deploy(
        variant("example1", "Loan_Task_Listeners").replace(
            "<camunda:inputOutput>",
            '<camunda:taskListener event="create" class="org.example.Notify"/>'
            '<camunda:taskListener event="assignment" class="org.example.Notify"/>'
            '<camunda:taskListener event="complete" class="org.example.Audit"/>'
            "<camunda:inputOutput>",
        )
    )
    return at_decline(engine, "Loan_Task_Listeners")


def listener_jobs(engine: Engine, pid: str) -> list[tuple[str, str, str]]:
    """(element, job type, task listener event) of the instance's listener jobs, sorted."""
    return sorted(
        (j["element_id"], j["type"], j["payload"]["event"])
        for j in live_rows(engine, pid)["jobs"]
        if j["kind"] == "LISTENER"
    )


def test_task_listeners_run_by_default(engine: Engine) -> None:
    pid = _task_listened(engine)
    engine.modify(pid).start_before("acceptLoanApplication").set_variable(
        "approver", "joe"
    ).execute()
    assert listener_jobs(engine, pid) == [
        ("acceptLoanApplication", "org.example.Notify", "assignment"),
        ("acceptLoanApplication", "org.example.Notify", "create"),
    ]


def test_skip_listeners_skips_the_task_listeners_of_the_tasks_it_creates(engine: Engine) -> None:
    pid = _task_listened(engine)
    engine.modify(pid).start_before("acceptLoanApplication").set_variable(
        "approver", "joe"
    ).execute(skip_listeners=True)

    assert listener_jobs(engine, pid) == []  # neither create nor assignment
    [accept] = engine.user_tasks(process_instance_id=pid, element_id="acceptLoanApplication")
    assert accept.assignee == "joe"  # the task itself is created as usual
    # only for the modifying command: completing the task later runs its complete listener
    engine.complete_user_task(accept.id)
    assert listener_jobs(engine, pid) == [
        ("acceptLoanApplication", "org.example.Audit", "complete")
    ]
    assert_tree(
        engine, pid, "Loan_Task_Listeners\n  acceptLoanApplication\n  declineLoanApplication"
    )  # the task closed; its element waits for the blocking complete listener


def test_skip_listeners_when_starting_an_instance_at_a_user_task(engine: Engine) -> None:
    _task_listened(engine)
    skipped = (
        engine.create_process_instance("Loan_Task_Listeners")
        .start_before("acceptLoanApplication")
        .set_variable("approver", "joe")
        .execute(skip_listeners=True)
    )
    run = (
        engine.create_process_instance("Loan_Task_Listeners")
        .start_before("acceptLoanApplication")
        .set_variable("approver", "joe")
        .execute()
    )
    assert listener_jobs(engine, skipped.id) == []
    assert len(listener_jobs(engine, run.id)) == 2


def test_skip_io_mappings(engine: Engine) -> None:
    pid = at_decline(engine)
    engine.modify(pid).start_before("acceptLoanApplication").set_variable(
        "approver", "joe"
    ).execute(skip_io_mappings=True)
    accept = only(engine.activity_instance_tree(pid), "acceptLoanApplication")
    assert "approvedBy" not in engine.variables(pid, accept.id)
    assert (
        engine.user_tasks(process_instance_id=pid, element_id="acceptLoanApplication")[0].assignee
        == "joe"
    )  # the task's own expressions still run
    other = at_decline(engine)
    engine.modify(other).start_before("acceptLoanApplication").set_variable(
        "approver", "joe"
    ).execute()
    accept = only(engine.activity_instance_tree(other), "acceptLoanApplication")
    assert engine.variables(other, accept.id)["approvedBy"] == "joe"


# ==============================================================================================
# Call activities: modifying the caller and the called instance
# ==============================================================================================
CALLER = "Loan_Application_Caller"


def _child(engine: Engine, pid: str) -> str:
    children = [
        i
        for i in engine.process_instances(key="Loan_Evaluation")
        if i.parent_process_instance_id == pid and i.state == "ACTIVE"
    ]
    assert len(children) == 1, children
    return children[0].id


def test_cancelling_the_call_activity_cancels_the_child(engine: Engine) -> None:
    pid = engine.start_process(CALLER).id
    child = _child(engine, pid)
    engine.modify(pid).start_before("acceptLoanApplication").cancel_all("callEvaluation").execute()
    assert_tree(engine, pid, f"{CALLER}\n  acceptLoanApplication")
    assert engine.process_instance(child).state == "CANCELED"
    assert engine.user_tasks(process_instance_id=child) == []


def test_starting_the_call_activity_starts_a_new_child(engine: Engine) -> None:
    pid = engine.start_process(CALLER).id
    first = _child(engine, pid)
    engine.modify(pid).start_before("callEvaluation").set_variable("loan", 7).execute()
    children = [
        i
        for i in engine.process_instances(key="Loan_Evaluation")
        if i.parent_process_instance_id == pid
    ]
    assert len(children) == 2 and all(c.state == "ACTIVE" for c in children)
    second = next(c.id for c in children if c.id != first)
    assert engine.variables(second)["loan"] == 7  # camunda:in variables="all"
    assert_tree(engine, second, "Loan_Evaluation\n  assessCreditWorthiness")
    # the new child completes its call activity instance, the first one still waits
    complete_tasks(engine, second)
    complete_tasks(engine, second)
    assert_tree(engine, pid, f"{CALLER}\n  acceptLoanApplication\n  callEvaluation")


def test_modifying_the_child_then_it_completes_the_caller(engine: Engine) -> None:
    pid = engine.start_process(CALLER).id
    child = _child(engine, pid)
    engine.modify(child).start_before("registerApplication").set_variable(
        "skipped", "assessment"
    ).cancel_all("assessCreditWorthiness").execute()
    assert_tree(engine, child, "Loan_Evaluation\n  registerApplication")
    complete_tasks(engine, child)
    assert engine.process_instance(child).state == "COMPLETED"
    assert_tree(engine, pid, f"{CALLER}\n  acceptLoanApplication")
    assert engine.variables(pid)["skipped"] == "assessment"  # camunda:out variables="all"


# ==============================================================================================
# Soundness checks (example 5)
# ==============================================================================================
def test_example5_start_assess_while_decline_is_active_gets_stuck(
    engine: Engine, clock: Clock
) -> None:
    key = "Loan_Application_Flat"
    pid = engine.start_process(key).id
    complete_tasks(engine, pid, {"approved": False})
    assert_tree(engine, pid, f"{key}\n  declineLoanApplication")
    result = engine.modify(pid).start_before("assessCreditWorthiness").execute()
    assert_tree(engine, pid, f"{key}\n  assessCreditWorthiness\n  declineLoanApplication")
    # the engine does not refuse this; it warns that the join can never fire
    assert any("join" in w and "flow_registered" in w for w in result.warnings)
    engine.complete_user_task(
        engine.user_tasks(process_instance_id=pid, element_id="assessCreditWorthiness")[0].id
    )
    complete_tasks(engine, pid)
    # stuck: nothing active, a token waits at the join, the instance never completes
    assert_tree(engine, pid, key)
    assert engine.process_instance(pid).state == "ACTIVE"
    assert [r["element_id"] for r in live_rows(engine, pid)["join_tokens"]] == ["join"]
    # ... and modification is also the tool to repair it
    engine.modify(pid).start_transition("flow_registered").execute()
    assert_tree(engine, pid, f"{key}\n  declineLoanApplication")
