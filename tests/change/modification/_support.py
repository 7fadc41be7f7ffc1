"""Helpers of the modification suite: the seed 003 models, trees as text, live rows."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.conformance.harness import render_ids
from tests.engine._support import instance_rows

from midflight import ActivityInstance, Engine

MODELS = Path(__file__).parent / "models"

#: model file -> process key
KEYS = {
    "example1": "Loan_Application",
    "example2": "Loan_Application_Boundary",
    "example3": "Loan_Application_EventSubProcess",
    "example4": "Loan_Application_MultiInstance",
    "example5": "Loan_Application_Flat",
    "call_activity": "Loan_Application_Caller",
}


def model_text(name: str) -> str:
    return (MODELS / f"{name}.bpmn").read_text()


def variant(name: str, key: str, **attributes: dict[str, str]) -> str:
    """A model with extra attributes on elements (``element_id={"camunda:asyncBefore": "true"}``)
    under another process key."""
    text = model_text(name).replace(f'<bpmn:process id="{KEYS[name]}"', f'<bpmn:process id="{key}"')
    for element_id, extra in attributes.items():
        rendered = " ".join(f'{k}="{v}"' for k, v in extra.items())
        text, count = re.subn(f'(<bpmn:\\w+ id="{element_id}")', f"\\1 {rendered}", text)
        assert count == 1, f"no element '{element_id}' in {name}"
    return text


def deploy(engine: Engine, *names: str) -> None:
    for name in names:
        engine.deploy(MODELS / f"{name}.bpmn")


def dedent(text: str) -> str:
    rows = [r for r in text.splitlines() if r.strip()]
    indent = min(len(r) - len(r.lstrip()) for r in rows)
    return "\n".join(r[indent:].rstrip() for r in rows)


def tree(engine: Engine, pid: str) -> str:
    """The activity-instance tree of ``pid`` as indented element ids."""
    return render_ids(engine.activity_instance_tree(pid))


def assert_tree(engine: Engine, pid: str, expected: str) -> None:
    assert tree(engine, pid) == dedent(expected)


def only(tree_: ActivityInstance, element_id: str) -> ActivityInstance:
    [found] = tree_.instances_of(element_id)
    return found


def task_ids(engine: Engine, pid: str) -> list[str]:
    return sorted(t.element_id for t in engine.user_tasks(process_instance_id=pid))


def complete_tasks(engine: Engine, pid: str, variables: dict[str, Any] | None = None) -> None:
    for task in engine.user_tasks(process_instance_id=pid):
        engine.complete_user_task(task.id, variables)


def at_decline(engine: Engine, key: str = "Loan_Application") -> str:
    """An instance whose evaluation declined it: only declineLoanApplication is active."""
    pid = engine.start_process(key).id
    complete_tasks(engine, pid, {"approved": False})
    assert tree(engine, pid) == f"{key}\n  declineLoanApplication"
    return pid


def at_assess(engine: Engine, key: str = "Loan_Application") -> str:
    """An instance where only assessCreditWorthiness is active in the evaluation subprocess
    (registerApplication was taken out by a modification)."""
    pid = engine.start_process(key).id
    engine.modify(pid).cancel_all("registerApplication").execute()
    assert tree(engine, pid) == f"{key}\n  evaluateLoanApplication\n    assessCreditWorthiness"
    return pid


def live_rows(engine: Engine, pid: str) -> dict[str, Any]:
    """Every live row of the instance, the instance row too (its revision left out: every
    command bumps it), each table sorted by id."""
    instance, rows = instance_rows(engine, pid)
    instance = {k: v for k, v in instance.items() if k != "revision"}
    return {
        "process_instance": instance,
        **{table: sorted(found, key=lambda r: str(r["id"])) for table, found in rows.items()},
    }


def history_events(engine: Engine, pid: str) -> list[str]:
    return [h.event for h in engine.history(pid)]
