"""A synchronous migration that does not finish: what moved stays moved (each instance
atomically) and is recorded; the operation says it was interrupted, and can be undone or run
again for the rest."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from typing import Any

import pytest
from tests.change.migration._support import deploy_pair, start

from midflight import Engine, ProcessDefinition
from midflight.engine import _engine, _migration
from midflight.model import ProcessBuilder


def simple(task: str) -> ProcessBuilder:
    return ProcessBuilder("p").start_event("s").user_task(task).end_event("e")


@pytest.fixture
def pair(engine: Engine) -> tuple[ProcessDefinition, ProcessDefinition]:
    return deploy_pair(engine, simple("a").build(), simple("a2").build())


def on(engine: Engine, pids: list[str]) -> list[int]:
    return [engine.process_instance(pid).definition_version for pid in pids]


def test_an_error_midway_leaves_moved_instances_moved_and_the_operation_interrupted(
    engine: Engine,
    pair: tuple[ProcessDefinition, ProcessDefinition],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    v1, v2 = pair
    pids = sorted(start(engine, v1) for _ in range(5))
    plan = engine.migration_plan(v1.id, v2.id).map("a", "a2").build()
    monkeypatch.setattr(_migration, "PAGE_SIZE", 2)
    real = _engine.migrate_many
    pages: list[int] = []

    def interrupted_on_the_second_page(*args: Any, **kwargs: Any) -> Any:
        pages.append(1)
        if len(pages) == 2:
            raise KeyboardInterrupt  # Ctrl-C between two pages
        return real(*args, **kwargs)

    monkeypatch.setattr(_engine, "migrate_many", interrupted_on_the_second_page)
    with pytest.raises(KeyboardInterrupt) as raised:
        engine.migrate(plan, query={"definition_id": v1.id})

    [operation] = engine.operations(kind="migration")
    assert f"migration operation {operation['id']} was interrupted" in raised.value.__notes__[0]
    assert operation["state"] == "INTERRUPTED"
    assert operation["data"]["migrated"] == 2
    assert operation["data"]["error"].startswith("KeyboardInterrupt")
    assert on(engine, pids) == [2, 2, 1, 1, 1]
    assert [i.process_instance_id for i in engine.operation_items(operation["id"])] == pids[:2]

    monkeypatch.setattr(_engine, "migrate_many", real)
    again = engine.migrate(plan, query={"definition_id": v1.id})  # the rest
    assert (again.migrated_count, on(engine, pids)) == (3, [2] * 5)
    engine.undo(operation["id"])  # the interrupted one undoes what it moved
    assert on(engine, pids) == [1, 1, 2, 2, 2]


def test_a_migration_whose_process_died_shows_as_interrupted(
    engine: Engine, pair: tuple[ProcessDefinition, ProcessDefinition]
) -> None:
    v1, v2 = pair
    start(engine, v1)
    plan = engine.migration_plan(v1.id, v2.id).map("a", "a2").build()
    operation_id = engine.migrate(plan, query={"definition_id": v1.id}).operation_id
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    here = socket.gethostname()

    def running_by(host: str, pid: int) -> str:
        # the row as a run that was killed leaves it: RUNNING, by that process
        with engine._store.transaction() as tx:
            row = tx.get_row("operations", operation_id)
            assert row is not None
            row["state"] = "RUNNING"
            row["data"] = {**row["data"], "runner": {"host": host, "pid": pid}}
            tx.update("operations", [row])
        return str(engine.operation(operation_id)["state"])

    assert running_by(here, int(ended.stdout)) == "INTERRUPTED"
    assert running_by(here, os.getppid()) == "RUNNING"  # alive
    assert running_by("another-host", int(ended.stdout)) == "RUNNING"  # cannot tell from here
    assert [o["state"] for o in engine.operations(kind="migration")] == ["RUNNING"]
