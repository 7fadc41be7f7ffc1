"""Run by ``test_crash_resume`` in a subprocess: start a migration batch over every instance of
the plan's source and run it in this process, until it ends or the test kills the process.

    python -m tests.change.migration._crash_worker URL PLAN_FILE BATCH_SIZE

Prints the batch id as soon as the batch exists, then ``done`` if it was not killed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from midflight import Engine
from midflight.change.migration import MigrationPlan


def main(url: str, plan_file: str, batch_size: int) -> None:
    with Engine(url) as engine:
        plan = MigrationPlan.from_json(Path(plan_file).read_text())
        batch = engine.migrate_async(plan, query={}, batch_size=batch_size, start=False)
        print(batch.id, flush=True)
        engine.resume_batch(batch.id, wait=True)
        print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
