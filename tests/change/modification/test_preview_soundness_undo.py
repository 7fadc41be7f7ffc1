"""Preview, soundness warnings, strict mode, operations in the history, and undo.

Seed 003 leaves soundness to the user ("The process engine is **not** able to detect
modifications that create such situations"); Midflight warns about the situations it can see,
refuses them in strict mode, and can undo a modification as long as the instance has not moved
on since.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from tests.change.modification._support import (
    assert_tree,
    at_assess,
    at_decline,
    complete_tasks,
    deploy,
    history_events,
    live_rows,
    only,
    task_ids,
    tree,
    variant,
)
from tests.conformance.harness import Clock

from midflight import Engine
from midflight.change import soundness_warnings
from midflight.errors import NotFoundError, ProcessEngineError
from midflight.runtime.execution import Execution

FLAT = "Loan_Application_Flat"
ASYNC = "Loan_Async_Boundary"


@pytest.fixture(autouse=True)
def models(engine: Engine) -> None:
    deploy(engine, "example1", "example2", "example4", "example5", "call_activity")
    engine.deploy(variant("example2", ASYNC, registerApplication={"camunda:asyncBefore": "true"}))


def rich_instance(engine: Engine) -> str:
    """An instance holding every kind of live row: variables (an exact Decimal too), user
    tasks, an async job (a transition instance), a boundary subscription."""
    pid = engine.start_process(ASYNC, {"amount": Decimal("1250.50"), "applicant": "ann"}).id
    evaluate = only(engine.activity_instance_tree(pid), "evaluateLoanApplication")
    engine.set_variables(evaluate.id, {"note": {"checked": [1, 2]}}, local=True)
    rows = live_rows(engine, pid)
    assert rows["user_tasks"] and rows["jobs"] and rows["event_subscriptions"]
    assert len(rows["variables"]) == 3
    return pid


# ==============================================================================================
# preview
# ==============================================================================================
def test_preview_changes_nothing_and_reports(engine: Engine) -> None:
    pid = rich_instance(engine)
    before = live_rows(engine, pid)
    history_before = history_events(engine, pid)
    tasks_before = task_ids(engine, pid)
    preview = (
        engine.modify(pid)
        .start_before("acceptLoanApplication")
        .set_variable("approver", "joe")
        .cancel_all("evaluateLoanApplication")
        .preview()
    )
    # nothing changed: rows (tree, tasks, jobs, subscriptions, variables) and history
    assert live_rows(engine, pid) == before
    assert history_events(engine, pid) == history_before
    assert task_ids(engine, pid) == tasks_before
    # what it would do
    assert preview.tree is not None
    assert [c.element_id for c in preview.tree.children] == ["acceptLoanApplication"]
    assert preview.created == [preview.tree.children[0].id]
    old_ids = {r["id"] for r in before["element_instances"]} - {pid}
    assert set(preview.cancelled) == old_ids
    assert preview.warnings == [] and preview.state == "ACTIVE"
    # and executing it afterwards does what the preview said (ids aside)
    result = (
        engine.modify(pid)
        .start_before("acceptLoanApplication")
        .set_variable("approver", "joe")
        .cancel_all("evaluateLoanApplication")
        .execute()
    )
    assert set(result.cancelled) == old_ids
    assert_tree(engine, pid, f"{ASYNC}\n  acceptLoanApplication")


def test_preview_records_no_operation(engine: Engine) -> None:
    pid = at_decline(engine)
    with engine._store.transaction() as tx:
        operations_before = tx.list_rows("operations")
    engine.modify(pid).start_before("acceptLoanApplication").preview()
    with engine._store.transaction() as tx:
        assert tx.list_rows("operations") == operations_before


def test_preview_of_cancelling_everything(engine: Engine) -> None:
    pid = at_decline(engine)
    preview = engine.modify(pid).cancel_all("declineLoanApplication").preview()
    assert preview.tree is None and preview.state == "CANCELED"
    assert engine.process_instance(pid).state == "ACTIVE"
    assert task_ids(engine, pid) == ["declineLoanApplication"]


def test_preview_reports_soundness_warnings(engine: Engine) -> None:
    pid = engine.start_process(FLAT).id
    complete_tasks(engine, pid, {"approved": False})
    preview = engine.modify(pid).start_before("assessCreditWorthiness").preview()
    assert len(preview.warnings) == 1
    assert "join" in preview.warnings[0] and "flow_registered" in preview.warnings[0]
    assert_tree(engine, pid, f"{FLAT}\n  declineLoanApplication")


# ==============================================================================================
# soundness
# ==============================================================================================
def test_no_warning_when_the_join_can_still_be_reached(engine: Engine) -> None:
    pid = engine.start_process(FLAT).id
    result = engine.modify(pid).start_before("assessCreditWorthiness").execute()
    assert result.warnings == []  # registerApplication still runs towards the join


def test_warning_for_a_join_no_token_can_complete(engine: Engine) -> None:
    """Seed example 5: Decline Loan Application active, Assess Credit Worthiness started."""
    pid = engine.start_process(FLAT).id
    complete_tasks(engine, pid, {"approved": False})
    result = engine.modify(pid).start_before("assessCreditWorthiness").execute()
    [warning] = result.warnings
    assert "parallel gateway 'join'" in warning and "'flow_registered'" in warning
    assert "cannot complete" in warning
    [entry] = [h for h in engine.history(pid) if h.event == "process.modified"]
    assert entry.data is not None and entry.data["warnings"] == [warning]


def test_warning_inside_a_subprocess(engine: Engine) -> None:
    pid = at_decline(engine)
    result = engine.modify(pid).start_before("assessCreditWorthiness").execute()
    [warning] = result.warnings
    assert "'evaluateLoanApplication'" in warning and "flow_registered" in warning


def test_strict_refuses_and_changes_nothing(engine: Engine) -> None:
    pid = engine.start_process(FLAT).id
    complete_tasks(engine, pid, {"approved": False})
    before = live_rows(engine, pid)
    history_before = history_events(engine, pid)
    with pytest.raises(ProcessEngineError, match=r"strict.*join"):
        engine.modify(pid).start_before("assessCreditWorthiness").execute(strict=True)
    assert live_rows(engine, pid) == before
    assert history_events(engine, pid) == history_before
    with engine._store.transaction() as tx:
        assert tx.list_rows("operations") == []


def test_strict_allows_a_sound_modification(engine: Engine) -> None:
    pid = at_decline(engine)
    result = (
        engine.modify(pid)
        .start_before("acceptLoanApplication")
        .cancel_all("declineLoanApplication")
        .execute(strict=True)
    )
    assert result.warnings == []
    assert_tree(engine, pid, "Loan_Application\n  acceptLoanApplication")


EVENT_GATEWAY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  id="defs" targetNamespace="urn:midflight:test">
  <bpmn:message id="m_ok" name="ok"/>
  <bpmn:process id="Loan_Wait" isExecutable="true">
    <bpmn:startEvent id="processStartEvent"/>
    <bpmn:eventBasedGateway id="waitForAnswer"/>
    <bpmn:intermediateCatchEvent id="answerReceived">
      <bpmn:messageEventDefinition messageRef="m_ok"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="done"/>
    <bpmn:sequenceFlow id="f1" sourceRef="processStartEvent" targetRef="waitForAnswer"/>
    <bpmn:sequenceFlow id="f2" sourceRef="waitForAnswer" targetRef="answerReceived"/>
    <bpmn:sequenceFlow id="f3" sourceRef="answerReceived" targetRef="done"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_warning_for_an_event_based_gateway_without_subscriptions(engine: Engine) -> None:
    """The check itself, on a state no command of the API produces today: an event-based
    gateway whose subscriptions are gone can never be moved on by an event."""
    engine.deploy(EVENT_GATEWAY)
    pid = engine.start_process("Loan_Wait").id
    with engine._store.transaction() as tx:
        record = engine._instance_record(tx, pid)
        state = engine._load_state(tx, record)
        ex = Execution(state, engine._deployed_process(tx, record.definition_id), engine._ctx)
    assert soundness_warnings(ex) == []
    for subscription in list(state.subscriptions.values()):
        state.remove(subscription)
    [warning] = soundness_warnings(ex)
    assert "event-based gateway 'waitForAnswer'" in warning and "no event" in warning


def test_event_based_gateway_started_by_modification_subscribes(engine: Engine) -> None:
    engine.deploy(EVENT_GATEWAY)
    pid = engine.start_process("Loan_Wait").id
    result = engine.modify(pid).start_before("waitForAnswer").execute()
    assert result.warnings == []
    assert len(live_rows(engine, pid)["event_subscriptions"]) == 2


# ==============================================================================================
# operations in the history
# ==============================================================================================
def test_operation_is_recorded_with_instructions_annotation_and_trees(engine: Engine) -> None:
    pid = at_decline(engine)
    decline = only(engine.activity_instance_tree(pid), "declineLoanApplication")
    result = (
        engine.modify(pid)
        .start_before("acceptLoanApplication")
        .set_variable("approver", "joe")
        .set_variable_local("urgent", True)
        .cancel_activity_instance(decline.id)
        .annotate("evaluation was wrong, ticket 4711")
        .execute(operator="maria")
    )
    [entry] = [h for h in engine.history(pid) if h.event == "process.modified"]
    data = entry.data
    assert data is not None
    assert data["operation_id"] == result.operation_id
    assert data["annotation"] == "evaluation was wrong, ticket 4711"
    assert data["operator"] == "maria"
    assert data["instructions"] == [
        {
            "kind": "start_before",
            "target": "acceptLoanApplication",
            "variables": {"approver": "joe"},
            "local_variables": {"urgent": True},
        },
        {"kind": "cancel_activity_instance", "target": decline.id},
    ]
    accept = only(engine.activity_instance_tree(pid), "acceptLoanApplication")
    assert data["tree_before"] == {
        "id": pid,
        "element_id": "Loan_Application",
        "children": [
            {
                "id": decline.id,
                "element_id": "declineLoanApplication",
                "children": [],
                "transitions": [],
            }
        ],
        "transitions": [],
    }
    assert data["tree_after"]["children"] == [
        {"id": accept.id, "element_id": "acceptLoanApplication", "children": [], "transitions": []}
    ]
    operation = engine.operation(result.operation_id)
    assert operation["kind"] == "modification" and operation["state"] == "COMPLETED"
    assert operation["data"]["process_instance_ids"] == [pid]
    assert operation["data"]["annotation"] == "evaluation was wrong, ticket 4711"
    # the element events of the modification come before its record
    events = history_events(engine, pid)
    assert events.index("process.modified") > max(
        i for i, e in enumerate(events) if e == "task.created"
    )


def test_modify_many_records_one_operation(engine: Engine) -> None:
    first, second = at_decline(engine), at_decline(engine)
    result = (
        engine.modify_many(engine.definitions("Loan_Application")[0].id)
        .start_before("acceptLoanApplication")
        .annotate("batch")
        .process_instances(ids=[first, second])
        .execute()
    )
    for pid in (first, second):
        [entry] = [h for h in engine.history(pid) if h.event == "process.modified"]
        assert entry.data is not None and entry.data["operation_id"] == result.operation_id
        assert entry.data["annotation"] == "batch"


# ==============================================================================================
# undo
# ==============================================================================================
def test_undo_restores_the_exact_prior_state(engine: Engine) -> None:
    pid = rich_instance(engine)
    before = live_rows(engine, pid)
    tree_before = tree(engine, pid)
    result = (
        engine.modify(pid)
        .start_before("acceptLoanApplication")
        .set_variable("approver", "joe")
        .set_variable("amount", Decimal("99.99"))
        .cancel_all("evaluateLoanApplication")
        .execute()
    )
    assert live_rows(engine, pid) != before
    assert engine.undo(result.operation_id) == {pid: "restored"}
    assert live_rows(engine, pid) == before  # ids, variables, tasks, jobs, subscriptions
    assert tree(engine, pid) == tree_before
    assert engine.variables(pid)["amount"] == Decimal("1250.50")
    assert engine.operation(result.operation_id)["state"] == "UNDONE"
    assert history_events(engine, pid)[-1] == "operation.undone"
    # the restored instance runs on as if nothing had happened
    assert engine.execute_async_jobs() == 1
    engine.correlate_message("CancelationNotice", process_instance_id=pid)
    assert engine.process_instance(pid).state == "COMPLETED"


def test_undo_of_a_modification_that_cancelled_the_instance(engine: Engine) -> None:
    pid = at_decline(engine)
    before = live_rows(engine, pid)
    result = engine.modify(pid).cancel_all("declineLoanApplication").execute()
    assert engine.process_instance(pid).state == "CANCELED"
    engine.undo(result.operation_id)
    assert live_rows(engine, pid) == before
    assert engine.process_instance(pid).state == "ACTIVE"
    complete_tasks(engine, pid)
    assert engine.process_instance(pid).state == "COMPLETED"


def test_undo_twice_is_refused(engine: Engine) -> None:
    pid = at_decline(engine)
    result = engine.modify(pid).start_before("acceptLoanApplication").execute()
    engine.undo(result.operation_id)
    with pytest.raises(ProcessEngineError, match="undone already"):
        engine.undo(result.operation_id)


def test_undo_of_an_unknown_operation(engine: Engine) -> None:
    with pytest.raises(NotFoundError, match="no operation 'nope'"):
        engine.undo("nope")


def test_undo_refuses_when_the_instance_moved_on(engine: Engine) -> None:
    pid = at_decline(engine)
    result = engine.modify(pid).start_before("acceptLoanApplication").execute()
    [task] = engine.user_tasks(process_instance_id=pid, element_id="acceptLoanApplication")
    engine.complete_user_task(task.id)
    after = live_rows(engine, pid)
    with pytest.raises(ProcessEngineError) as caught:
        engine.undo(result.operation_id)
    message = str(caught.value)
    assert result.operation_id in message and "moved on" in message
    assert "task.completed" in message  # what happened since
    assert live_rows(engine, pid) == after
    assert engine.operation(result.operation_id)["state"] == "COMPLETED"


def test_undo_refuses_after_a_variable_change(engine: Engine) -> None:
    pid = at_decline(engine)
    result = engine.modify(pid).start_before("acceptLoanApplication").execute()
    engine.set_variables(pid, {"approved": True})
    with pytest.raises(ProcessEngineError, match=r"moved on.*variable\.set"):
        engine.undo(result.operation_id)


def test_undo_refuses_while_a_worker_holds_a_job_it_would_remove(
    engine: Engine, clock: Clock
) -> None:
    pid = engine.start_process(ASYNC).id
    assert engine.execute_async_jobs() == 1
    complete_tasks(engine, pid, {"approved": False})
    assert_tree(engine, pid, f"{ASYNC}\n  declineLoanApplication")
    result = engine.modify(pid).start_before("registerApplication").execute()
    [job] = live_rows(engine, pid)["jobs"]
    # a job handed to a worker leaves no history entry, yet undo must not pull it away
    with engine._store.transaction() as tx:
        row = tx.get_row("jobs", job["id"])
        assert row is not None
        row.update(state="ACTIVATED", worker="w1", lock_expires_at=clock.now.replace(year=2027))
        tx.update("jobs", [row])
    after = live_rows(engine, pid)
    with pytest.raises(ProcessEngineError, match=r"moved on.*job.*w1"):
        engine.undo(result.operation_id)
    assert live_rows(engine, pid) == after


def test_undo_of_a_batch_restores_the_instances_that_did_not_move_on(engine: Engine) -> None:
    still, moved = at_decline(engine), at_decline(engine)
    before = live_rows(engine, still)
    result = (
        engine.modify_many(engine.definitions("Loan_Application")[0].id)
        .start_before("acceptLoanApplication")
        .cancel_all("declineLoanApplication")
        .process_instances(ids=[still, moved])
        .execute()
    )
    complete_tasks(engine, moved)
    outcome = engine.undo(result.operation_id)
    assert outcome[still] == "restored"
    assert "moved on" in outcome[moved]
    assert live_rows(engine, still) == before
    assert engine.process_instance(moved).state == "COMPLETED"
    assert engine.operation(result.operation_id)["state"] == "PARTIALLY_UNDONE"


def test_undo_refuses_when_the_modification_reached_a_called_instance(engine: Engine) -> None:
    pid = engine.start_process("Loan_Application_Caller").id
    [child] = [i for i in engine.process_instances(key="Loan_Evaluation")]
    result = (
        engine.modify(pid)
        .start_before("acceptLoanApplication")
        .cancel_all("callEvaluation")
        .execute()
    )
    assert engine.process_instance(child.id).state == "CANCELED"
    after = live_rows(engine, pid)
    with pytest.raises(ProcessEngineError, match="called process instance"):
        engine.undo(result.operation_id)
    assert live_rows(engine, pid) == after


def test_undo_restores_a_subprocess_instance_with_its_ids(engine: Engine) -> None:
    pid = at_assess(engine, "Loan_Application_Boundary")
    before = live_rows(engine, pid)
    result = (
        engine.modify(pid)
        .cancel_all("assessCreditWorthiness")
        .start_before("registerApplication")
        .execute()
    )
    engine.undo(result.operation_id)
    assert live_rows(engine, pid) == before
    engine.correlate_message("CancelationNotice", process_instance_id=pid)
    assert engine.process_instance(pid).state == "COMPLETED"
