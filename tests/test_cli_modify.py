"""``midflight modify`` and ``midflight undo`` (Typer's CliRunner, on both backends)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.change.modification._support import MODELS, live_rows, only, tree
from typer.testing import CliRunner

from midflight import Engine
from midflight.cli import app

runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    with Engine(store_url) as engine:
        for name in ("example1", "example5"):
            engine.deploy(MODELS / f"{name}.bpmn")
        yield engine


def declined(engine: Engine, key: str = "Loan_Application") -> str:
    pid = engine.start_process(key).id
    for task in engine.user_tasks(process_instance_id=pid):
        engine.complete_user_task(task.id, {"approved": False})
    assert tree(engine, pid) == f"{key}\n  declineLoanApplication"
    return pid


def cli(store_url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--db", store_url])
    return result.exit_code, result.output


def recorded_instructions(engine: Engine, pid: str) -> list[dict[str, object]]:
    [entry] = [h for h in engine.history(pid) if h.event == "process.modified"]
    assert entry.data is not None
    return entry.data["instructions"]  # type: ignore[no-any-return]


def test_modify_with_do_instructions_in_order(engine: Engine, store_url: str) -> None:
    pid = declined(engine)
    code, output = cli(
        store_url,
        "modify",
        pid,
        "--do",
        "cancel-all:declineLoanApplication",
        "--do",
        "start-before:acceptLoanApplication",
        "--do",
        "var:approver=joe",
    )
    assert code == 0, output
    assert "Accept Loan Application" in output and "Decline" not in output
    assert "created 1, cancelled 1 element instance(s)" in output
    operation_id = output.split("operation ")[1].split()[0]
    assert engine.operation(operation_id)["data"]["process_instance_ids"] == [pid]
    assert tree(engine, pid) == "Loan_Application\n  acceptLoanApplication"
    assert engine.user_tasks(process_instance_id=pid)[0].assignee == "joe"
    assert recorded_instructions(engine, pid) == [
        {"kind": "cancel_all", "target": "declineLoanApplication"},
        {
            "kind": "start_before",
            "target": "acceptLoanApplication",
            "variables": {"approver": "joe"},
        },
    ]


def test_named_options_run_after_do_starts_before_cancels(engine: Engine, store_url: str) -> None:
    pid = declined(engine)
    code, output = cli(
        store_url,
        "modify",
        pid,
        "--cancel-all",
        "declineLoanApplication",
        "--start-transition",
        "flow_accept",
        "--start-before",
        "assessCreditWorthiness",
        "--do",
        "start-before:registerApplication",
        "--var",
        "approver=ann",
        "--annotate",
        "re-evaluate",
    )
    assert code == 0, output
    assert [(i["kind"], i["target"]) for i in recorded_instructions(engine, pid)] == [
        ("start_before", "registerApplication"),
        ("start_before", "assessCreditWorthiness"),
        ("start_transition", "flow_accept"),
        ("cancel_all", "declineLoanApplication"),
    ]
    # --var goes with the first start instruction
    assert recorded_instructions(engine, pid)[0]["variables"] == {"approver": "ann"}
    assert tree(engine, pid) == (
        "Loan_Application\n  acceptLoanApplication\n  evaluateLoanApplication\n"
        "    assessCreditWorthiness\n    registerApplication"
    )
    [entry] = [h for h in engine.history(pid) if h.event == "process.modified"]
    assert entry.data is not None and entry.data["annotation"] == "re-evaluate"


def test_preview_changes_nothing(engine: Engine, store_url: str) -> None:
    pid = declined(engine)
    before = live_rows(engine, pid)
    code, output = cli(
        store_url, "modify", pid, "--start-before", "acceptLoanApplication", "--preview"
    )
    assert code == 0, output
    assert "preview" in output and "nothing was changed" in output
    assert "Accept Loan Application" in output and "would create 1" in output
    assert "operation" not in output
    assert live_rows(engine, pid) == before


def test_preview_of_an_ending_instance(engine: Engine, store_url: str) -> None:
    pid = declined(engine)
    code, output = cli(
        store_url, "modify", pid, "--cancel-all", "declineLoanApplication", "--preview"
    )
    assert code == 0, output
    assert "would end: CANCELED" in output


def test_warnings_and_strict(engine: Engine, store_url: str) -> None:
    pid = declined(engine, "Loan_Application_Flat")
    before = live_rows(engine, pid)
    code, output = cli(
        store_url, "modify", pid, "--start-before", "assessCreditWorthiness", "--strict"
    )
    assert code == 1
    assert "error:" in output and "strict" in output
    assert live_rows(engine, pid) == before
    code, output = cli(store_url, "modify", pid, "--start-before", "assessCreditWorthiness")
    assert code == 0, output
    assert "warning:" in output and "join" in output


def test_cancel_instance_and_ancestor(engine: Engine, store_url: str) -> None:
    pid = engine.start_process("Loan_Application").id
    register = only(engine.activity_instance_tree(pid), "registerApplication")
    code, output = cli(
        store_url,
        "modify",
        pid,
        "--cancel-instance",
        register.id,
        "--do",
        f"start-before:assessCreditWorthiness@{pid}",
    )
    assert code == 0, output
    assert tree(engine, pid) == (
        "Loan_Application\n  evaluateLoanApplication\n    assessCreditWorthiness\n"
        "  evaluateLoanApplication\n    assessCreditWorthiness"
    )


def test_cancel_instance_of_a_transition_instance(engine: Engine, store_url: str) -> None:
    source = (MODELS / "example1.bpmn").read_text()
    engine.deploy(
        source.replace('id="Loan_Application"', 'id="Loan_Async"').replace(
            '<bpmn:userTask id="registerApplication"',
            '<bpmn:userTask id="registerApplication" camunda:asyncBefore="true"',
        )
    )
    pid = engine.start_process("Loan_Async").id
    [transition] = only(engine.activity_instance_tree(pid), "evaluateLoanApplication").transitions
    code, output = cli(store_url, "modify", pid, "--do", f"cancel-instance:{transition.id}")
    assert code == 0, output
    assert recorded_instructions(engine, pid) == [
        {"kind": "cancel_transition_instance", "target": transition.id}
    ]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ((), 2, "at least one instruction"),
        (("--do", "jump:x"), 2, "not KIND:ARGUMENT"),
        (("--do", "start-before"), 2, "not KIND:ARGUMENT"),
        (("--cancel-all", "declineLoanApplication", "--var", "a=1"), 2, "--var needs a start"),
        (("--do", "var:a=1", "--start-before", "x"), 2, "needs a start instruction before"),
        (("--start-before", "acceptLoanApplication", "--var", "oops"), 2, "not name=value"),
        (("--start-before", "nope"), 1, "instruction 1 start_before('nope')"),
        (("--start-after", "application_OK"), 1, "exactly one outgoing sequence flow"),
    ],
)
def test_bad_input(
    engine: Engine, store_url: str, args: tuple[str, ...], code: int, message: str
) -> None:
    pid = declined(engine)
    before = live_rows(engine, pid)
    exit_code, output = cli(store_url, "modify", pid, *args)
    assert exit_code == code, output
    assert message in output
    assert live_rows(engine, pid) == before


def test_unknown_instance(engine: Engine, store_url: str) -> None:
    code, output = cli(store_url, "modify", "nope", "--start-before", "acceptLoanApplication")
    assert code == 1 and "no process instance 'nope'" in output


def test_undo(engine: Engine, store_url: str) -> None:
    pid = declined(engine)
    before = live_rows(engine, pid)
    code, output = cli(
        store_url,
        "modify",
        pid,
        "--start-before",
        "acceptLoanApplication",
        "--cancel-all",
        "declineLoanApplication",
    )
    assert code == 0, output
    operation_id = output.split("operation ")[1].split()[0]
    code, output = cli(store_url, "undo", operation_id)
    assert code == 0, output
    assert f"restored {pid}" in output
    assert live_rows(engine, pid) == before
    code, output = cli(store_url, "undo", operation_id)
    assert code == 1 and "undone already" in output
    code, output = cli(store_url, "undo", "nope")
    assert code == 1 and "no operation 'nope'" in output


def test_undo_refused_after_the_instance_moved_on(engine: Engine, store_url: str) -> None:
    pid = declined(engine)
    code, output = cli(store_url, "modify", pid, "--start-before", "acceptLoanApplication")
    operation_id = output.split("operation ")[1].split()[0]
    for task in engine.user_tasks(process_instance_id=pid):
        engine.complete_user_task(task.id)
    code, output = cli(store_url, "undo", operation_id)
    assert code == 1
    assert "moved on" in output
