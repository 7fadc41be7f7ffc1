"""A batch killed mid-run (SIGKILL) loses nothing: every instance is either untouched on the
source version or completely on the target (instance row, element instances and tasks agree),
and a new Engine resumes the batch from its persisted cursor to the end.

The batch runs in a subprocess (``_crash_worker``) against the test's database. Its instances
are created in bulk: one instance per shape is started through the engine and its live rows
are copied with new ids (without their history, which migration does not read); 50,000 take
about 10 s on either backend. SQLite runs the issue's 50,000 instances (about 40 s in all).
On PostgreSQL the batch itself migrates 50,000 in well over a minute, so the default run uses
5,000 there and ``MIDFLIGHT_SLOW_TESTS=1`` the full 50,000.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from tests.change.migration._support import deploy_pair, start

from midflight import Engine, ProcessDefinition
from midflight.model import ProcessBuilder
from midflight.store.schema import history

SLOW = os.environ.get("MIDFLIGHT_SLOW_TESTS") == "1"
BATCH_SIZE = 500
ROOT = Path(__file__).parents[3]


def v1_model() -> ProcessBuilder:
    return (
        ProcessBuilder("p")
        .start_event("s")
        .user_task("a", assignee="joe")
        .user_task("c")
        .end_event("e")
    )


def v2_model() -> ProcessBuilder:
    """``a`` is renamed ``a2`` and a step ``b`` follows it."""
    return (
        ProcessBuilder("p")
        .start_event("s")
        .user_task("a2", assignee="joe")
        .user_task("b")
        .user_task("c")
        .end_event("e")
    )


def bulk_instances(engine: Engine, v1: ProcessDefinition, count: int) -> None:
    """``count`` instances of v1: nine in ten waiting in ``a``, the rest in ``c``."""
    at_a = start(engine, v1, {"n": 0})
    at_c = start(engine, v1, {"n": 0})
    engine.complete_user_task(engine.user_tasks(at_c)[0].id)
    templates = []
    with engine._store.transaction() as tx:
        for pid in (at_a, at_c):
            instance = tx.get_process_instance(pid)
            templates.append((instance, tx.load_instance_rows(pid)))
    tables = ("element_instances", "variables", "user_tasks")
    with engine._store.transaction() as tx:
        for first in range(2, count, 5000):
            batch: dict[str, list[dict[str, Any]]] = {t: [] for t in ("process_instances", *tables)}
            for n in range(first, min(first + 5000, count)):
                instance, rows = templates[1 if n % 10 == 0 else 0]
                new_ids = {instance["id"]: uuid.uuid4().hex}
                for table in tables:
                    for row in rows[table]:
                        new_ids.setdefault(row["id"], uuid.uuid4().hex)

                def copy(row: dict[str, Any], new_ids: dict[str, str] = new_ids) -> dict[str, Any]:
                    return {
                        k: new_ids.get(v, v) if isinstance(v, str) else v for k, v in row.items()
                    }

                batch["process_instances"].append(copy(instance))
                for table in tables:
                    batch[table].extend(copy(row) for row in rows[table])
            for table, new_rows in batch.items():
                tx.insert(table, new_rows)


def states(engine: Engine) -> dict[str, tuple[Any, ...]]:
    """process instance id -> (definition, active element, task element, task definition,
    migration marks) for every instance of ``p``."""
    with engine._store.transaction() as tx:
        conn = tx._conn
        rows = conn.execute(
            text(
                "SELECT pi.id, pi.definition_id, ei.element_id, ut.element_id, ut.definition_id "
                "FROM process_instances pi "
                "LEFT JOIN element_instances ei "
                "  ON ei.process_instance_id = pi.id AND ei.parent_id IS NOT NULL "
                # by the instance's index too: element_instance_id has none (and SQLite makes
                # no automatic index for a WITHOUT ROWID table: that join would be quadratic)
                "LEFT JOIN user_tasks ut "
                "  ON ut.process_instance_id = pi.id AND ut.element_instance_id = ei.id "
                "WHERE pi.definition_key = 'p'"
            )
        ).all()
        marks: Counter[str] = Counter()
        for pid, events in conn.execute(select(history.c.process_instance_id, history.c.events)):
            # a row packs one command's events: [id, event, element instance, element, ...]
            marks[pid] += sum(1 for e in events if e[1] == "process.migrated")
        # the root element instance has no row: the instance's process (its key) stands for it
        roots = dict(
            conn.execute(  # type: ignore[arg-type]
                text("SELECT id, definition_key FROM process_instances")
            ).all()
        )
    found: dict[str, tuple[Any, ...]] = {}
    for pid, definition, element, task_element, task_definition in rows:
        assert pid not in found, f"{pid} has more than one active element"
        found[pid] = (
            definition,
            roots.get(pid),
            element,
            task_element,
            task_definition,
            marks.get(pid, 0),
        )
    return found


def check_consistent(found: dict[str, tuple[Any, ...]], v1: str, v2: str) -> Counter[str]:
    """Every instance wholly on v1 (untouched) or wholly on v2; returns how many are where."""
    where: Counter[str] = Counter()
    for pid, (definition, root, element, task_element, task_definition, marks) in found.items():
        state = (definition, root, element, task_element, task_definition, marks)
        if definition == v1:
            assert element in ("a", "c") and marks == 0, (pid, state)
            assert (root, task_element, task_definition) == ("p", element, v1), (pid, state)
            where["source"] += 1
        else:
            assert definition == v2, (pid, state)
            assert element in ("a2", "c") and marks == 1, (pid, state)
            assert (root, task_element, task_definition) == ("p", element, v2), (pid, state)
            where["target"] += 1
    return where


def test_a_killed_batch_resumes_without_losing_or_half_migrating_an_instance(
    store_url: str, tmp_path: Path
) -> None:
    count = 50_000 if SLOW or store_url.startswith("sqlite") else 5_000
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    with Engine(store_url) as engine:
        v1, v2 = deploy_pair(engine, v1_model().build(), v2_model().build())
        bulk_instances(engine, v1, count)
        plan = engine.migration_plan(v1.id, v2.id).map("a", "a2").map("c", "c").build()
        before = states(engine)
        assert len(before) == count
        assert check_consistent(before, v1.id, v2.id) == {"source": count}
        plan_file = tmp_path / "plan.json"
        plan_file.write_text(plan.to_json())

        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.change.migration._crash_worker",
                store_url,
                str(plan_file),
                str(BATCH_SIZE),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={
                **os.environ,
                "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
            },
        )
        try:
            assert worker.stdout is not None
            batch_id = worker.stdout.readline().strip()
            assert batch_id, worker.stderr.read() if worker.stderr else ""
            # kill it at a random moment: after a random share of the batch, plus a random
            # fraction of a chunk, so the kill may land inside a migration transaction
            target = rng.randrange(BATCH_SIZE, count - 5 * BATCH_SIZE)
            deadline = time.monotonic() + 300
            while engine.batch(batch_id).done < target:
                assert worker.poll() is None, f"the worker ended early (seed {seed})"
                assert time.monotonic() < deadline, f"the batch is too slow (seed {seed})"
                time.sleep(0.005)
            time.sleep(rng.random() * 0.15)  # about half a chunk's time
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(30)
        assert worker.returncode == -signal.SIGKILL, "the worker finished before the kill"

    with Engine(store_url) as engine:
        interrupted = engine.batch(batch_id)
        assert interrupted.state == "RUNNING" and 0 < interrupted.done < count
        where = check_consistent(states(engine), v1.id, v2.id)
        assert where["source"] + where["target"] == count, f"instances lost (seed {seed})"
        assert where["target"] >= interrupted.done  # a chunk may be in but not yet recorded

    with Engine(store_url) as engine:  # a new engine, as after a restart
        resumed = engine.resume_batch(batch_id, wait=True)
        assert (resumed.state, resumed.done, resumed.skipped) == ("COMPLETED", count, 0), (
            f"seed {seed}: {resumed.skipped_reasons and next(iter(resumed.skipped_reasons.values()))}"
        )
        after = check_consistent(states(engine), v1.id, v2.id)
        assert after == {"target": count}
        counts = {d.id: d.running_instances for d in engine.definitions("p")}
        assert counts == {v1.id: 0, v2.id: count}


def test_a_chunk_migrated_but_not_recorded_counts_as_done_on_resume(engine: Engine) -> None:
    """The narrowest crash window: the batch committed a chunk's migrations and died before
    recording them. Resuming finds those instances on the target, migrated by this batch."""
    from midflight.engine._migration import migrate_many

    v1, v2 = deploy_pair(engine, v1_model().build(), v2_model().build())
    ids = [start(engine, v1) for _ in range(6)]
    plan = engine.migration_plan(v1.id, v2.id).map("a", "a2").map("c", "c").build()
    batch = engine.migrate_async(plan, ids, batch_size=4, start=False)
    chunk = migrate_many(engine, plan, ids[:4], operation_id=batch.id, operator=None)
    assert sorted(chunk.migrated) == sorted(ids[:4])
    assert engine.batch(batch.id).pending == 6  # the cursor did not move: the "crash"

    resumed = engine.resume_batch(batch.id, wait=True)

    assert (resumed.state, resumed.done, resumed.skipped) == ("COMPLETED", 6, 0)
    for pid in ids:
        marks = [h for h in engine.history(pid) if h.event == "process.migrated"]
        assert len(marks) == 1 and engine.process_instance(pid).definition_id == v2.id
