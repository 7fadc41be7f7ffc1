"""Modifications that cannot be carried out: each is a clear error naming the instruction, and
nothing of the modification is applied (all instructions or none)."""

from __future__ import annotations

import pytest
from tests.change.modification._support import (
    assert_tree,
    at_assess,
    at_decline,
    deploy,
    history_events,
    live_rows,
    model_text,
    only,
    variant,
)

from midflight import Engine
from midflight.change import ModificationInstruction
from midflight.errors import InvalidArgumentError, NotFoundError, ProcessEngineError

MI = "Loan_Application_MultiInstance"


@pytest.fixture(autouse=True)
def models(engine: Engine) -> None:
    deploy(engine, "example1", "example4", "example5", "call_activity")


class Unchanged:
    """Live rows, history and operations of an instance, to compare after a failed call."""

    def __init__(self, engine: Engine, pid: str) -> None:
        self.engine, self.pid = engine, pid
        self.rows = live_rows(engine, pid)
        self.history = history_events(engine, pid)
        self.operations = self._operations()

    def _operations(self) -> list[dict[str, object]]:
        with self.engine._store.transaction() as tx:
            return tx.list_rows("operations")

    def check(self, *, operations: bool = True) -> None:
        assert live_rows(self.engine, self.pid) == self.rows
        assert history_events(self.engine, self.pid) == self.history
        if operations:
            assert self._operations() == self.operations


@pytest.fixture
def declined(engine: Engine) -> tuple[str, Unchanged]:
    pid = at_decline(engine)
    return pid, Unchanged(engine, pid)


# ==============================================================================================
# unknown ids
# ==============================================================================================
def test_unknown_element(engine: Engine, declined: tuple[str, Unchanged]) -> None:
    pid, unchanged = declined
    with pytest.raises(NotFoundError) as caught:
        engine.modify(pid).start_before("nope").execute()
    message = str(caught.value)
    assert "instruction 1 start_before('nope')" in message
    assert "no element 'nope'" in message and "Loan_Application" in message
    unchanged.check()


def test_the_seeds_misspelled_activity_id_is_refused(
    engine: Engine, declined: tuple[str, Unchanged]
) -> None:
    """Seed 003's ordering example spells ``assesCreditWorthiness``; that id names nothing."""
    pid, unchanged = declined
    with pytest.raises(NotFoundError, match=r"cancel_all\('assesCreditWorthiness'\)"):
        engine.modify(pid).cancel_all("assesCreditWorthiness").start_before(
            "registerApplication"
        ).execute()
    unchanged.check()


@pytest.mark.parametrize(
    ("build", "pattern"),
    [
        (lambda m: m.start_after("nope"), r"start_after\('nope'\).*no element"),
        (lambda m: m.start_transition("nope"), r"start_transition\('nope'\).*no sequence flow"),
        (
            lambda m: m.start_transition("acceptLoanApplication"),
            r"no sequence flow 'acceptLoanApplication'",
        ),
        (lambda m: m.start_before("flow_accept"), r"no element 'flow_accept'"),
        (lambda m: m.cancel_all("nope"), r"cancel_all\('nope'\).*no element"),
        (lambda m: m.cancel_activity_instance("nope"), r"no active activity instance 'nope'"),
        (lambda m: m.cancel_transition_instance("nope"), r"no active transition instance"),
        (lambda m: m.start_before("evaluationStart"), r"no element 'evaluationStart'"),
    ],
    ids=[
        "start-after",
        "start-transition",
        "transition-names-an-element",
        "start-before-names-a-flow",
        "cancel-all",
        "cancel-activity-instance",
        "cancel-transition-instance",
        "element-of-another-process",
    ],
)
def test_unknown_ids(
    engine: Engine, declined: tuple[str, Unchanged], build: object, pattern: str
) -> None:
    pid, unchanged = declined
    modification = build(engine.modify(pid))  # type: ignore[operator]
    with pytest.raises(NotFoundError, match=pattern):
        modification.execute()
    unchanged.check()


def test_unknown_process_instance(engine: Engine) -> None:
    with pytest.raises(NotFoundError, match="no process instance 'nope'"):
        engine.modify("nope").start_before("acceptLoanApplication").execute()


def test_an_instance_id_of_another_process_instance(
    engine: Engine, declined: tuple[str, Unchanged]
) -> None:
    pid, unchanged = declined
    other = at_decline(engine)
    foreign = only(engine.activity_instance_tree(other), "declineLoanApplication")
    with pytest.raises(NotFoundError, match=foreign.id):
        engine.modify(pid).cancel_activity_instance(foreign.id).execute()
    with pytest.raises(NotFoundError, match=f"ancestor '{other}'"):
        engine.modify(pid).start_before("acceptLoanApplication", ancestor=other).execute()
    unchanged.check()


def test_cancel_activity_instance_with_a_transition_instance_and_back(engine: Engine) -> None:
    engine.deploy(
        variant("example1", "Loan_Async", acceptLoanApplication={"camunda:asyncBefore": "true"})
    )
    pid = at_decline(engine, "Loan_Async")
    engine.modify(pid).start_before("acceptLoanApplication").execute()
    snapshot = engine.activity_instance_tree(pid)
    [transition] = snapshot.transitions
    decline = only(snapshot, "declineLoanApplication")
    unchanged = Unchanged(engine, pid)
    with pytest.raises(InvalidArgumentError, match="a transition instance; use cancel_transition"):
        engine.modify(pid).cancel_activity_instance(transition.id).execute()
    with pytest.raises(InvalidArgumentError, match="an activity instance; use cancel_activity"):
        engine.modify(pid).cancel_transition_instance(decline.id).execute()
    unchanged.check()


# ==============================================================================================
# ancestors
# ==============================================================================================
def test_an_ancestor_that_is_not_an_ancestor(engine: Engine) -> None:
    pid = at_decline(engine)
    decline = only(engine.activity_instance_tree(pid), "declineLoanApplication")
    unchanged = Unchanged(engine, pid)
    with pytest.raises(InvalidArgumentError) as caught:
        engine.modify(pid).start_before("assessCreditWorthiness", ancestor=decline.id).execute()
    message = str(caught.value)
    assert f"start_before('assessCreditWorthiness', ancestor='{decline.id}')" in message
    assert "not an ancestor" in message and "declineLoanApplication" in message
    unchanged.check()


def test_a_sibling_subprocess_is_not_an_ancestor(engine: Engine) -> None:
    pid = at_assess(engine)
    assess = only(engine.activity_instance_tree(pid), "assessCreditWorthiness")
    unchanged = Unchanged(engine, pid)
    with pytest.raises(InvalidArgumentError, match="not an ancestor"):
        engine.modify(pid).start_before("acceptLoanApplication", ancestor=assess.id).execute()
    unchanged.check()


# ==============================================================================================
# instructions that cannot be carried out
# ==============================================================================================
def test_start_after_with_two_outgoing_flows(
    engine: Engine, declined: tuple[str, Unchanged]
) -> None:
    pid, unchanged = declined
    with pytest.raises(InvalidArgumentError) as caught:
        engine.modify(pid).start_after("application_OK").execute()
    message = str(caught.value)
    assert "instruction 1 start_after('application_OK')" in message
    assert "exactly one outgoing sequence flow" in message and "start_transition" in message
    unchanged.check()


def test_a_second_sequential_inner_instance(engine: Engine) -> None:
    engine.deploy(
        model_text("example4")
        .replace('id="Loan_Application_MultiInstance"', 'id="Loan_Sequential"')
        .replace('isSequential="false"', 'isSequential="true"')
    )
    pid = engine.start_process("Loan_Sequential").id
    unchanged = Unchanged(engine, pid)
    with pytest.raises(InvalidArgumentError, match="sequential multi-instance"):
        engine.modify(pid).start_before("contactCustomer").execute()
    unchanged.check()


def test_empty_instruction_list(engine: Engine, declined: tuple[str, Unchanged]) -> None:
    pid, unchanged = declined
    with pytest.raises(InvalidArgumentError, match="at least one instruction"):
        engine.modify(pid).execute()
    with pytest.raises(InvalidArgumentError, match="at least one instruction"):
        engine.modify(pid).preview()
    with pytest.raises(InvalidArgumentError, match="at least one instruction"):
        engine.modify_many(engine.definitions("Loan_Application")[0].id).process_instances(
            ids=[pid]
        ).execute()
    with pytest.raises(InvalidArgumentError, match="at least one element"):
        engine.create_process_instance("Loan_Application").execute()
    unchanged.check()


def test_a_finished_instance(engine: Engine) -> None:
    pid = at_decline(engine)
    [task] = engine.user_tasks(process_instance_id=pid)
    engine.complete_user_task(task.id)
    assert engine.process_instance(pid).state == "COMPLETED"
    unchanged = Unchanged(engine, pid)
    with pytest.raises(ProcessEngineError, match=f"process instance '{pid}' has ended"):
        engine.modify(pid).start_before("acceptLoanApplication").execute()
    with pytest.raises(ProcessEngineError, match="has ended"):
        engine.modify(pid).start_before("acceptLoanApplication").preview()
    unchanged.check()


def test_a_cancelled_instance(engine: Engine) -> None:
    pid = at_decline(engine)
    engine.cancel_process_instance(pid)
    with pytest.raises(ProcessEngineError, match="has ended \\(CANCELED\\)"):
        engine.modify(pid).start_before("acceptLoanApplication").execute()


def test_valid_first_and_invalid_second_instruction_change_nothing(
    engine: Engine, declined: tuple[str, Unchanged]
) -> None:
    pid, unchanged = declined
    with pytest.raises(NotFoundError) as caught:
        engine.modify(pid).start_before("acceptLoanApplication").set_variable(
            "approver", "joe"
        ).cancel_all("declineLoanApplication").start_before("nope").execute()
    assert "instruction 3 start_before('nope')" in str(caught.value)
    unchanged.check()
    assert [t.element_id for t in engine.user_tasks(process_instance_id=pid)] == [
        "declineLoanApplication"
    ]
    assert "approver" not in engine.variables(pid)


def test_a_failed_instruction_after_a_call_activity_start_leaves_no_child(
    engine: Engine,
) -> None:
    pid = engine.start_process("Loan_Application_Caller").id
    children_before = engine.process_instances(key="Loan_Evaluation")
    unchanged = Unchanged(engine, pid)
    with pytest.raises(InvalidArgumentError, match="instruction 3 start_after"):
        engine.modify(pid).start_before("callEvaluation").cancel_all("callEvaluation").start_after(
            "loanAccepted"
        ).execute()
    unchanged.check()
    assert engine.process_instances(key="Loan_Evaluation") == children_before


def test_a_failing_batch_instance_leaves_it_unchanged_and_the_others_modified(
    engine: Engine,
) -> None:
    good = at_decline(engine)
    bad = engine.start_process("Loan_Application").id  # two subprocess tasks, no decline
    engine.modify(bad).start_before("assessCreditWorthiness", ancestor=bad).execute()
    unchanged = Unchanged(engine, bad)
    result = (
        engine.modify_many(engine.definitions("Loan_Application")[0].id)
        .start_before("registerApplication")  # ambiguous in 'bad': two subprocess instances
        .process_instances(ids=[good, bad])
        .execute()
    )
    assert result.modified == [good]
    assert "ambiguous" in result.failed[bad] and "instruction 1" in result.failed[bad]
    unchanged.check(operations=False)  # the batch itself is recorded, with its failure
    assert engine.operation(result.operation_id)["data"]["failed"] == result.failed


# ==============================================================================================
# arguments
# ==============================================================================================
def test_instruction_arguments() -> None:
    with pytest.raises(InvalidArgumentError, match="unknown instruction 'jump'"):
        ModificationInstruction("jump", "a")
    with pytest.raises(InvalidArgumentError, match="non-empty id"):
        ModificationInstruction("start_before", "")


def test_variables_must_be_storable(engine: Engine, declined: tuple[str, Unchanged]) -> None:
    pid, unchanged = declined
    with pytest.raises(InvalidArgumentError):
        engine.modify(pid).start_before("acceptLoanApplication").set_variable("x", object())
    with pytest.raises(InvalidArgumentError, match="start instruction"):
        engine.modify(pid).set_variable("x", 1)
    unchanged.check()


def test_modify_many_arguments(engine: Engine) -> None:
    pid = at_decline(engine)
    definition_id = engine.definitions("Loan_Application")[0].id
    with pytest.raises(NotFoundError):
        engine.modify_many("nope")
    with pytest.raises(InvalidArgumentError, match="no process instances selected"):
        engine.modify_many(definition_id).start_before("acceptLoanApplication").execute()
    with pytest.raises(InvalidArgumentError, match="unknown query field 'colour'"):
        engine.modify_many(definition_id).start_before("acceptLoanApplication").process_instances(
            query={"colour": "red"}
        ).execute()
    unknown = (
        engine.modify_many(definition_id)
        .start_before("acceptLoanApplication")
        .process_instances(ids=["nope"])
        .execute()
    )
    assert unknown.modified == [] and "nope" in unknown.failed
    assert_tree(engine, pid, "Loan_Application\n  declineLoanApplication")


def test_instantiation_arguments(engine: Engine) -> None:
    with pytest.raises(InvalidArgumentError, match="only be started at elements"):
        engine.create_process_instance("Loan_Application").cancel_all("declineLoanApplication")
    with pytest.raises(NotFoundError, match="no deployed process 'nope'"):
        engine.create_process_instance("nope").start_before("x").execute()
    with pytest.raises(NotFoundError, match="no element 'x'"):
        engine.create_process_instance("Loan_Application").start_before("x").execute()
    assert engine.process_instances(key="Loan_Application") == []
