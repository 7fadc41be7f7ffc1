"""Entry points of the OS processes started by test_concurrency_postgres (spawn context).

They live in their own module so a spawned child imports only this and the engine.
"""

from __future__ import annotations

import os
from typing import Any

from midflight.engine import ActivatedJob, Engine
from midflight.errors import ConcurrentModificationError, NotFoundError


def complete_tasks(url: str, task_ids: list[str], barrier: Any, results: Any) -> None:
    """Complete each task right after the barrier; report per task how it went."""
    outcomes: list[str] = []
    try:
        with Engine(url) as engine:
            for task_id in task_ids:
                barrier.wait(timeout=60)
                try:
                    engine.complete_user_task(task_id, {"completed_by": os.getpid()})
                    outcomes.append("ok")
                except ConcurrentModificationError:
                    outcomes.append("conflict")
                except NotFoundError:
                    outcomes.append("not-found")
    except BaseException as exc:  # reported, so the test fails with the reason
        results.put((os.getpid(), f"crashed: {type(exc).__name__}: {exc}"))
        raise
    results.put((os.getpid(), outcomes))


def serve_jobs(url: str, worker_name: str, barrier: Any, results: Any) -> None:
    """Serve ``work`` jobs until none are left; report the ids of the jobs this worker did."""
    handled: list[str] = []
    try:
        with Engine(url) as engine:

            @engine.worker("work")
            def work(job: ActivatedJob) -> dict[str, str]:
                handled.append(job.id)
                return {"worker": worker_name}

            barrier.wait(timeout=60)
            engine.run_workers(until_idle=True, worker_name=worker_name, max_jobs=25)
    except BaseException as exc:
        results.put((worker_name, f"crashed: {type(exc).__name__}: {exc}"))
        raise
    results.put((worker_name, handled))
