#!/usr/bin/env python3
"""Midflight beside SpiffWorkflow 3.2.0: the same workloads, in one run, with the ratio.

Usage:
    python bench/run.py N                          # every workload, both engines, a table
    python bench/run.py N --workloads w1           # a subset
    python bench/run.py N --json                   # the raw records (one JSON line each) too
    python bench/run.py N --skip-spiff             # Midflight only
    python bench/run.py --flat-check 1000,10000    # Midflight's peak RSS at two sizes
    python bench/run.py N --repeat 3               # best of 3 runs each (a noisy machine)
    python bench/run.py N --profile DIR            # also write cProfile stats per workload

Every workload of each engine runs in a fresh child process, so its peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) is its own. SpiffWorkflow's side is the
baseline script ``spiff_bench.py N --workload wX`` (from ``--spiff-dir``,
``$MIDFLIGHT_SPIFF_BENCH_DIR``, or ``<repo>/../shared/bench/spiff``); Midflight's side is this
script run as ``bench/run.py N --midflight-workload wX``. Both print one JSON line.

Midflight's models (``bench/models``) have the shape and ids of the baseline's, with FEEL
scripts where SpiffWorkflow's run Python. Midflight always persists: each workload uses a fresh
SQLite file in a temporary directory, and every command writes its history events.

Adding a workload: write ``midflight_wX(n, args) -> dict`` returning the
same metric keys the baseline prints for it, and register a ``Workload`` in ``WORKLOADS``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MODELS = HERE / "models"
DEFAULT_SPIFF_DIR = REPO.parent / "shared" / "bench" / "spiff"
SPIFF_SCRIPT = "spiff_bench.py"


# ----------------------------------------------------------------------------------------------
# helpers (measured exactly as the baseline measures)
# ----------------------------------------------------------------------------------------------
def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def rate(n: int, seconds: float) -> float | None:
    return round(n / seconds, 1) if seconds > 0 else None


def sample_indexes(n: int, k: int) -> list[int]:
    """Up to ``k`` indexes in 1..n, spread evenly, first and last included."""
    return sorted({int(1 + j * (n - 1) / max(1, k - 1)) for j in range(min(n, k))})


def import_midflight() -> Any:
    try:
        import midflight
    except ImportError:  # not installed: use the source tree next to this script
        sys.path.insert(0, str(REPO / "src"))
        import midflight
    return midflight


def open_engine(db_dir: str, name: str) -> Any:
    from midflight import Engine

    path = Path(db_dir) / name
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return Engine(f"sqlite:///{path}"), path


def base_record(workload: str, n: int) -> dict[str, Any]:
    midflight = import_midflight()
    return {
        "engine": "midflight",
        "engine_version": getattr(midflight, "__version__", "?"),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "workload": workload,
        "n": n,
    }


def db_bytes(path: Path) -> int:
    return sum(
        os.path.getsize(f"{path}{suffix}")
        for suffix in ("", "-wal")
        if os.path.exists(f"{path}{suffix}")
    )


# ----------------------------------------------------------------------------------------------
# W1: straight-through, history persisted
# ----------------------------------------------------------------------------------------------
def midflight_w1(n: int, args: argparse.Namespace) -> dict[str, Any]:
    """start -> 10 FEEL script tasks (x = x + 1) -> end, N instances, each one transaction that
    writes the instance row and its history (~50 events) to SQLite."""
    t0 = time.perf_counter()
    engine, db_path = open_engine(args.db_dir, f"midflight_w1_{n}.sqlite")
    engine.deploy(MODELS / "w1_straight.bpmn")
    deploy_s = time.perf_counter() - t0
    rss_before = peak_rss_mb()

    completed = 0
    pids: list[str] = []
    keep = set(sample_indexes(n, args.sample))
    start = time.perf_counter()
    for i in range(1, n + 1):
        instance = engine.start_process("w1_straight", {"x": 0})
        if instance.state != "COMPLETED":
            raise AssertionError(f"w1 instance {instance.id} is {instance.state}, not COMPLETED")
        completed += 1
        if i in keep:
            pids.append(instance.id)
    elapsed = time.perf_counter() - start

    # Verification outside the timing (SpiffWorkflow's check is an in-memory dict lookup): the
    # stored state of every instance, and the final x of a sample (read back from history).
    stored = _count(db_path, "process_instances", "state = 'COMPLETED'")
    if stored != n or completed != n:
        raise AssertionError(f"w1: {stored} of {n} instances stored as COMPLETED")
    for pid in pids:
        x = engine.variables(pid).get("x")
        if x != 10:
            raise AssertionError(f"w1 instance {pid} ended with x = {x!r}, not 10")
    history_rows = _count(db_path, "history")
    engine.close()

    rec = base_record("w1_straight_through", n)
    rec.update(
        {
            "wall_s": round(elapsed, 3),
            "instances_per_s": rate(n, elapsed),
            "activities_per_s": rate(n * 12, elapsed),  # start event + 10 scripts + end event
            "deploy_s": round(deploy_s, 4),
            "verified_completed": n,
            "verified_x_sample": len(pids),
            "history_rows": history_rows,
            "db_file_bytes": db_bytes(db_path),
            "peak_rss_mb_before": rss_before,
            "peak_rss_mb": peak_rss_mb(),
        }
    )
    return rec


# ----------------------------------------------------------------------------------------------
# W2: wait states with persistence
# ----------------------------------------------------------------------------------------------
def midflight_w2(n: int, args: argparse.Namespace) -> dict[str, Any]:
    """start -> user A -> 3 FEEL scripts -> user B -> end.

    Phase 1: start N instances; each runs to A and is saved (one transaction each).
    Phase 2: per instance, find its open task A and complete it with {a_value: i}: the engine
    loads the instance, runs the scripts to B and saves it (one command each).
    """
    engine, db_path = open_engine(args.db_dir, f"midflight_w2_{n}.sqlite")
    engine.deploy(MODELS / "w2_wait.bpmn")
    rss_before = peak_rss_mb()

    every = args.commit_every

    def grouped(count: int) -> Any:
        # --commit-every K: K commands a transaction (engine.transaction()), as the baseline
        # commits every 100 rows; 1 (the default) is one transaction per command.
        for first in range(0, count, every):
            if every == 1:
                yield range(first, first + 1)
            else:
                with engine.transaction():
                    yield range(first, min(first + every, count))

    pids: list[str] = []
    start = time.perf_counter()
    for group in grouped(n):
        for _ in group:
            instance = engine.start_process("w2_wait")
            if instance.state != "ACTIVE":
                raise AssertionError(f"w2 instance {instance.id} is {instance.state} after start")
            pids.append(instance.id)
    p1 = time.perf_counter() - start
    rss_after_p1 = peak_rss_mb()

    start = time.perf_counter()
    for group in grouped(n):
        for i in group:
            pid = pids[i]
            tasks = engine.user_tasks(process_instance_id=pid)
            if len(tasks) != 1 or tasks[0].element_id != "A":
                raise AssertionError(f"w2 instance {i + 1} does not wait at A: {tasks}")
            engine.complete_user_task(tasks[0].id, {"a_value": i + 1})
    p2 = time.perf_counter() - start

    # The cheap check for all (counted in SQL, so it costs no memory): N open tasks, all at B,
    # one per instance, and every instance still ACTIVE.
    at_b = _count(db_path, "user_tasks", "element_id = 'B'")
    per_instance = _count(db_path, "(SELECT DISTINCT process_instance_id FROM user_tasks)")
    open_tasks = _count(db_path, "user_tasks")
    active = _count(db_path, "process_instances", "state = 'ACTIVE'")
    if not at_b == per_instance == open_tasks == active == n:
        raise AssertionError(f"w2: {at_b} tasks at B, {open_tasks} open, {active} active of {n}")

    # A sample in full: waiting at B with the scripts' results.
    sample = sample_indexes(n, args.sample)
    for i in sample:
        pid = pids[i - 1]
        tasks = engine.user_tasks(process_instance_id=pid)
        variables = engine.variables(pid)
        y = (i + 1) * 2
        if [t.element_id for t in tasks] != ["B"] or variables.get("y") != y:
            raise AssertionError(f"w2 instance {i}: tasks {tasks}, variables {variables}")
        if variables.get("label") != f"done-{y}" or variables.get("a_value") != i:
            raise AssertionError(f"w2 instance {i}: variables {variables}")
    history_rows = _count(db_path, "history")
    engine.close()

    rec = base_record("w2_wait_states_sqlite", n)
    rec.update(
        {
            "phase1_create_run_to_A_save_s": round(p1, 3),
            "phase1_instances_per_s": rate(n, p1),
            "phase2_load_complete_A_run_to_B_save_s": round(p2, 3),
            "phase2_instances_per_s": rate(n, p2),
            "commit_every": every,
            "verified_at_B": n,
            "verified_sample": len(sample),
            "history_rows": history_rows,
            "db_file_bytes": db_bytes(db_path),
            "peak_rss_mb_before": rss_before,
            "peak_rss_mb_after_phase1": rss_after_p1,
            "peak_rss_mb": peak_rss_mb(),
        }
    )
    return rec


# ----------------------------------------------------------------------------------------------
# W3 / W4: migration (the baseline's BPMN files, which hold no scripts)
# ----------------------------------------------------------------------------------------------
def _migration_workload(
    n: int,
    args: argparse.Namespace,
    workload: str,
    v1_file: str,
    v2_file: str,
    key: str,
    expect_v1: list[str],
    path_v2: list[str],
) -> dict[str, Any]:
    """Create N v1 instances (waiting at ``expect_v1``), migrate them all to v2 with an
    auto-mapped plan, then drive a sample through ``path_v2`` on v2."""
    engine, db_path = open_engine(args.db_dir, f"midflight_{workload}_{n}.sqlite")
    spiff_dir = Path(args.spiff_dir)
    [v1] = engine.deploy(spiff_dir / v1_file)
    [v2] = engine.deploy(spiff_dir / v2_file)
    rss_before = peak_rss_mb()

    start = time.perf_counter()
    chunk = 1000  # setup only: 1,000 starts a transaction (the migration is what is measured)
    for first in range(1, n + 1, chunk):
        with engine.transaction():
            for i in range(first, min(first + chunk, n + 1)):
                engine.start_process(key, {"case": i}, version=v1.version)
    setup_s = time.perf_counter() - start
    waiting = sorted(
        t.element_id
        for t in engine.user_tasks(
            process_instance_id=engine.process_instances(key=key, limit=1)[0].id
        )
    )
    if waiting != sorted(expect_v1):
        raise AssertionError(f"{workload}: v1 instance waits at {waiting}, expected {expect_v1}")
    rss_after_setup = peak_rss_mb()

    start = time.perf_counter()
    plan = engine.migration_plan(v1.id, v2.id).map_equal_activities().build()
    result = engine.migrate(plan, query={"definition_id": v1.id})
    migrate_s = time.perf_counter() - start
    if result.skipped_count or result.migrated_count != n:
        raise AssertionError(
            f"{workload}: {result.skipped_count} skipped: {list(result.skipped.items())[:3]}"
        )
    on_v2 = _count(db_path, "process_instances", f"definition_id = '{v2.id}'")
    if on_v2 != n:
        raise AssertionError(f"{workload}: {on_v2} of {n} instances on v2")

    sample = sample_indexes(n, args.sample)
    # The sample's ids streamed from the operation's items: result.migrated would read all N.
    wanted = set(sample)
    ids = {
        i: item.process_instance_id
        for i, item in enumerate(engine.operation_items(result.operation_id, "DONE"), start=1)
        if i in wanted
    }
    paths: dict[str, int] = {}
    for i in sample:
        pid = ids[i]
        walked: list[str] = []
        for wanted in path_v2:
            tasks = [
                t for t in engine.user_tasks(process_instance_id=pid) if t.element_id == wanted
            ]
            if not tasks:
                raise AssertionError(f"{workload} instance {pid}: no task {wanted} on v2")
            engine.complete_user_task(tasks[0].id)
            walked.append(wanted)
        if engine.process_instance(pid).state != "COMPLETED":
            raise AssertionError(f"{workload} instance {pid} did not complete on v2")
        paths[" -> ".join(walked)] = paths.get(" -> ".join(walked), 0) + 1
    engine.close()

    rec = base_record(workload, n)
    rec.update(
        {
            "setup_create_v1_save_s": round(setup_s, 3),
            "setup_instances_per_s": rate(n, setup_s),
            "migrate_s": round(migrate_s, 3),
            "migrated_instances_per_s": rate(n, migrate_s),
            "refused_by_validation": result.skipped_count,
            "verified_sample": len(sample),
            "verify_failures": 0,
            "verified_paths": paths,
            "db_file_bytes": db_bytes(db_path),
            "peak_rss_mb_before": rss_before,
            "peak_rss_mb_after_setup": rss_after_setup,
            "peak_rss_mb": peak_rss_mb(),
        }
    )
    return rec


def midflight_m1(n: int, args: argparse.Namespace) -> dict[str, Any]:
    """N instances wait at user task A (the W2 model); one modify_many moves every token to B
    (start before B, cancel all A), run as a background batch, as an operator would."""
    engine, db_path = open_engine(args.db_dir, f"midflight_m1_{n}.sqlite")
    [definition] = engine.deploy(MODELS / "w2_wait.bpmn")
    rss_before = peak_rss_mb()
    start = time.perf_counter()
    for first in range(0, n, 1000):  # setup, not measured: 1,000 starts a transaction
        with engine.transaction():
            for _ in range(first, min(first + 1000, n)):
                engine.start_process("w2_wait")
    setup_s = time.perf_counter() - start
    rss_after_setup = peak_rss_mb()

    start = time.perf_counter()
    batch = (
        engine.modify_many(definition.id)
        .start_before("B")
        .cancel_all("A")
        .process_instances(query={"state": "ACTIVE"})
        .execute_async(batch_size=1000)
    )
    batch = engine.wait_batch(batch.id)
    modify_s = time.perf_counter() - start
    if (batch.state, batch.done, batch.skipped) != ("COMPLETED", n, 0):
        raise AssertionError(f"m1: batch {batch.state}, {batch.done} done, {batch.skipped} skipped")
    at_b = _count(db_path, "user_tasks", "element_id = 'B'")
    at_a = _count(db_path, "user_tasks", "element_id = 'A'")
    if (at_a, at_b) != (0, n):
        raise AssertionError(f"m1: {at_a} tasks at A and {at_b} at B after the batch")
    engine.close()
    rec = base_record("m1_batch_modification", n)
    rec.update(
        {
            "setup_s": round(setup_s, 3),
            "modify_s": round(modify_s, 3),
            "modified_instances_per_s": rate(n, modify_s),
            "db_file_bytes": db_bytes(db_path),
            "peak_rss_mb_before": rss_before,
            "peak_rss_mb_after_setup": rss_after_setup,
            "peak_rss_mb": peak_rss_mb(),
        }
    )
    return rec


def midflight_w3(n: int, args: argparse.Namespace) -> dict[str, Any]:
    return _migration_workload(
        n,
        args,
        "w3_migration_sequential",
        "w3_v1.bpmn",
        "w3_v2.bpmn",
        "w3_review",
        ["review"],
        ["review", "hr_review", "approve"],
    )


def midflight_w4(n: int, args: argparse.Namespace) -> dict[str, Any]:
    return _migration_workload(
        n,
        args,
        "w4_migration_parallel_2_tokens",
        "w4_v1.bpmn",
        "w4_v2.bpmn",
        "w4_parallel",
        ["task_a", "task_b"],
        ["task_b", "task_a", "task_a2", "final_check"],
    )


def _count(db_path: Path, table: str, where: str = "1 = 1") -> int:
    conn = sqlite3.connect(db_path)
    try:
        (count,) = conn.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()
    finally:
        conn.close()
    return int(count)


# ----------------------------------------------------------------------------------------------
# the workload registry
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Metric:
    key: str  # the key in both engines' JSON records
    label: str
    higher_is_better: bool
    target: float | None = None  # minimum Midflight/SpiffWorkflow ratio (throughput)


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    midflight: Callable[[int, argparse.Namespace], dict[str, Any]]
    metrics: tuple[Metric, ...]
    baseline: bool = True  # SpiffWorkflow has this workload (it cannot modify instances)


RSS = Metric("peak_rss_mb", "peak RSS MB", higher_is_better=False)

WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload(
            "w1",
            "W1 straight-through (10 scripts, history persisted)",
            midflight_w1,
            (Metric("instances_per_s", "instances/s", True, 2.0), RSS),
        ),
        Workload(
            "w2",
            "W2 wait states + persistence (A -> 3 scripts -> B)",
            midflight_w2,
            (
                Metric(
                    "phase1_instances_per_s",
                    "phase 1 instances/s (start, run to A, save)",
                    True,
                    2.0,
                ),
                Metric(
                    "phase2_instances_per_s",
                    "phase 2 instances/s (load, complete A, run to B, save)",
                    True,
                    2.0,
                ),
                RSS,
            ),
        ),
        Workload(
            "m1",
            "M1 batch modification: move every token from task A to task B (no baseline)",
            midflight_m1,
            (Metric("modified_instances_per_s", "modified instances/s", True), RSS),
            baseline=False,
        ),
        Workload(
            "w3",
            "W3 migration v1 -> v2 (review -> hr_review -> approve), all instances",
            midflight_w3,
            (Metric("migrated_instances_per_s", "migrated instances/s", True, 20.0), RSS),
        ),
        Workload(
            "w4",
            "W4 migration of a parallel fork/join with 2 active tokens",
            midflight_w4,
            (Metric("migrated_instances_per_s", "migrated instances/s", True, 5.0), RSS),
        ),
    )
}


# ----------------------------------------------------------------------------------------------
# running the children
# ----------------------------------------------------------------------------------------------
def run_child(cmd: list[str], label: str) -> dict[str, Any]:
    res = subprocess.run(cmd, capture_output=True, text=True)
    lines = [line for line in res.stdout.splitlines() if line.startswith("{")]
    if res.returncode != 0 or not lines:
        sys.stderr.write(res.stderr)
        tail = (res.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"{label}: {tail}"}
    record: dict[str, Any] = json.loads(lines[-1])
    return record


def run_spiff(name: str, n: int, args: argparse.Namespace) -> dict[str, Any]:
    script = Path(args.spiff_dir) / SPIFF_SCRIPT
    if not script.is_file():
        return {"error": f"no {SPIFF_SCRIPT} in {args.spiff_dir} (use --spiff-dir)"}
    cmd = [sys.executable, str(script), str(n), "--workload", name, "--db-dir", args.db_dir]
    return run_child(cmd, f"SpiffWorkflow {name}")


def run_midflight(name: str, n: int, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), str(n), "--midflight-workload", name]
    cmd += ["--db-dir", args.db_dir, "--sample", str(args.sample), "--spiff-dir", args.spiff_dir]
    cmd += ["--commit-every", str(args.commit_every)]
    if args.profile:
        cmd += ["--profile", args.profile]
    return run_child(cmd, f"Midflight {name}")


def child_main(args: argparse.Namespace) -> None:
    workload = WORKLOADS[args.midflight_workload]
    import_midflight()
    if args.profile:
        import cProfile

        os.makedirs(args.profile, exist_ok=True)
        profiler = cProfile.Profile()
        record = profiler.runcall(workload.midflight, args.n, args)
        out = Path(args.profile) / f"midflight_{workload.name}_{args.n}.prof"
        profiler.dump_stats(out)
        record["profile"] = str(out)
    else:
        record = workload.midflight(args.n, args)
    print(json.dumps(record), flush=True)


# ----------------------------------------------------------------------------------------------
# output
# ----------------------------------------------------------------------------------------------
def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


def print_table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    right = {2, 3, 4}

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    print(line(header))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))


def comparison_rows(
    workload: Workload, spiff: dict[str, Any], mid: dict[str, Any]
) -> list[list[str]]:
    rows = []
    for metric in workload.metrics:
        s, m = spiff.get(metric.key), mid.get(metric.key)
        ratio = m / s if isinstance(s, (int, float)) and isinstance(m, (int, float)) and s else None
        if metric.target is not None and ratio is not None:
            note = f">= {metric.target:g}x " + ("ok" if ratio >= metric.target else "BELOW")
        else:
            note = "" if metric.higher_is_better else "(lower is better)"
        shown = "-" if ratio is None else f"{ratio:.2f}x"
        rows.append([workload.name, metric.label, fmt(s), fmt(m), shown, note])
    return rows


def best(workload: Workload, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each metric's best value over the runs that succeeded (throughput: the highest, peak RSS:
    the highest too, to stay on the safe side); {} when none did."""
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return {}
    merged = dict(ok[0])
    for metric in workload.metrics:
        values = [r[metric.key] for r in ok if isinstance(r.get(metric.key), (int, float))]
        if values:
            merged[metric.key] = max(values)
    return merged


def compare(args: argparse.Namespace, names: list[str]) -> int:
    rows: list[list[str]] = []
    errors = 0
    for name in names:
        workload = WORKLOADS[name]
        spiff_runs: list[dict[str, Any]] = []
        mid_runs: list[dict[str, Any]] = []
        for _ in range(args.repeat):  # alternated, so both engines see the same machine load
            if not args.skip_spiff and workload.baseline:
                spiff_runs.append(run_spiff(name, args.n, args))
            mid_runs.append(run_midflight(name, args.n, args))
        for label, runs in (("SpiffWorkflow", spiff_runs), ("Midflight", mid_runs)):
            for rec in runs:
                if "error" in rec:
                    errors += 1
                    print(f"{name}: {label} failed: {rec['error']}", file=sys.stderr)
                elif args.json:
                    print(json.dumps(rec), flush=True)
        spiff, mid = best(workload, spiff_runs), best(workload, mid_runs)
        rows.extend(comparison_rows(workload, spiff, mid))
    spiff_version = "not run" if args.skip_spiff else "3.2.0 baseline"
    repeat = f", best of {args.repeat} runs" if args.repeat > 1 else ""
    print(
        f"\nN = {args.n}{repeat}   (SpiffWorkflow: {spiff_version}, W1 in memory; "
        f"Midflight: SQLite file, history persisted; ratio = Midflight / SpiffWorkflow)"
    )
    print_table(rows, ["workload", "metric", "SpiffWorkflow", "Midflight", "ratio", "target"])
    return 1 if errors else 0


def flat_check(args: argparse.Namespace, names: list[str]) -> int:
    sizes = [int(s) for s in args.flat_check.split(",") if s.strip()]
    if len(sizes) < 2:
        raise SystemExit("--flat-check takes at least two sizes, e.g. 1000,10000")
    header = ["workload", "N", "peak RSS MB", "RSS before run MB", "throughput"]
    rows: list[list[str]] = []
    peaks: dict[str, list[float]] = {}
    errors = 0
    for name in names:
        workload = WORKLOADS[name]
        throughput = [m for m in workload.metrics if m.higher_is_better]
        for n in sizes:
            rec = run_midflight(name, n, args)
            if "error" in rec:
                errors += 1
                print(f"{name} N={n}: Midflight failed: {rec['error']}", file=sys.stderr)
                continue
            if args.json:
                print(json.dumps(rec), flush=True)
            peaks.setdefault(name, []).append(rec["peak_rss_mb"])
            rates = ", ".join(
                f"{m.key.removesuffix('_per_s')}={fmt(rec.get(m.key))}/s" for m in throughput
            )
            rows.append(
                [name, str(n), fmt(rec["peak_rss_mb"]), fmt(rec.get("peak_rss_mb_before")), rates]
            )
    print(f"\nMidflight peak RSS at N = {', '.join(map(str, sizes))} (each run a fresh process)")
    print_table(rows, header)
    for name, values in peaks.items():
        growth = values[-1] - values[0]
        print(
            f"{name}: peak RSS {values[0]} MB -> {values[-1]} MB ({growth:+.1f} MB for "
            f"{sizes[-1] // max(1, sizes[0])}x the instances)"
        )
    return 1 if errors else 0


# ----------------------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("n", type=int, nargs="?", default=1000, help="instances per workload")
    ap.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated subset")
    ap.add_argument(
        "--commit-every",
        type=int,
        default=1,
        help="W2: commands per transaction (1 = one each, the default; the "
        "baseline commits every 100)",
    )
    ap.add_argument(
        "--spiff-dir",
        default=os.environ.get("MIDFLIGHT_SPIFF_BENCH_DIR", str(DEFAULT_SPIFF_DIR)),
        help=f"directory of {SPIFF_SCRIPT} (default: $MIDFLIGHT_SPIFF_BENCH_DIR or {DEFAULT_SPIFF_DIR})",
    )
    ap.add_argument("--json", action="store_true", help="also print each engine's JSON record")
    ap.add_argument("--skip-spiff", action="store_true", help="run Midflight only")
    ap.add_argument("--flat-check", metavar="N1,N2", help="Midflight's peak RSS at several sizes")
    ap.add_argument("--sample", type=int, default=100, help="instances verified in full")
    ap.add_argument(
        "--repeat", type=int, default=1, help="run each workload K times, report the best"
    )
    ap.add_argument("--profile", metavar="DIR", help="write cProfile stats of Midflight's runs")
    ap.add_argument("--db-dir", help="where the SQLite files go (default: a temporary directory)")
    ap.add_argument("--midflight-workload", help=argparse.SUPPRESS)  # the child process
    args = ap.parse_args()

    if args.midflight_workload:
        if args.midflight_workload not in WORKLOADS:
            raise SystemExit(f"unknown workload {args.midflight_workload!r}")
        if args.db_dir is None:
            raise SystemExit("--midflight-workload needs --db-dir")
        child_main(args)
        return 0

    names = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = [w for w in names if w not in WORKLOADS]
    if unknown or not names:
        raise SystemExit(
            f"unknown workload(s) {', '.join(unknown) or '(none given)'}; "
            f"known: {', '.join(WORKLOADS)}"
        )
    if args.n < 1 or args.repeat < 1:
        raise SystemExit("N and --repeat must be at least 1")

    own_dir = args.db_dir is None
    if own_dir:
        args.db_dir = tempfile.mkdtemp(prefix="midflight_bench_")
    try:
        return flat_check(args, names) if args.flat_check else compare(args, names)
    finally:
        if own_dir:
            shutil.rmtree(args.db_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
