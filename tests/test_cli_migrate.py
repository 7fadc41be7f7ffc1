"""``midflight migrate plan|validate|run|status|resume|undo`` through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from midflight import Engine
from midflight.cli import app
from midflight.model import ProcessBuilder

runner = CliRunner()


def model(*, extra: bool) -> ProcessBuilder:
    builder = ProcessBuilder("p").start_event("s").user_task("review")
    if extra:
        builder = builder.user_task("audit")
    return builder.end_event("e")


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A database with v1 and v2 of ``p`` and five instances of v1 waiting in ``review``."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    with Engine(url) as engine:
        engine.deploy(model(extra=False).build(), version_tag="v1")
        for n in range(5):
            engine.start_process("p", {"n": n})
        engine.deploy(model(extra=True).build(), version_tag="v2")
    return url


def invoke(db: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["migrate", *args, "--db", db])
    return result.exit_code, result.output


def instance_ids(db: str, version: int) -> list[str]:
    with Engine(db) as engine:
        return sorted(i.id for i in engine.process_instances(key="p", version=version))


def test_plan_validate_run_status_undo(db: str, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    code, out = invoke(
        db, "plan", "p@v1", "p@2", "--auto", "--timers", "reset", "-o", str(plan_file)
    )
    assert code == 0, out
    assert "written to" in out and "review" in out
    plan = json.loads(plan_file.read_text())
    assert plan["timers"] == "reset"
    assert {"source": "review", "target": "review"} in plan["instructions"]

    code, out = invoke(db, "validate", str(plan_file), "--all")
    assert code == 0, out
    assert "5 of 5 instance(s) can migrate" in out and "1 re-pointed" in out

    code, out = invoke(db, "run", str(plan_file), "--all", "--batch-size", "2")
    assert code == 0, out
    assert "COMPLETED" in out and "5/5" in out
    assert instance_ids(db, 1) == [] and len(instance_ids(db, 2)) == 5
    batch_id = out.split("migrate undo ")[1].split()[0]

    code, out = invoke(db, "status")
    assert code == 0 and batch_id[:8] in out and "COMPLETED" in out
    code, out = invoke(db, "status", batch_id)
    assert code == 0 and "5/5" in out

    code, out = invoke(db, "undo", batch_id)
    assert code == 0, out
    assert out.count("restored") == 5
    assert len(instance_ids(db, 1)) == 5


def test_a_yaml_plan_with_manual_mappings_and_chosen_instances(db: str, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.yaml"
    code, out = invoke(db, "plan", "p@v1", "p@v2", "--map", "review=review", "-o", str(plan_file))
    assert code == 0, out
    assert yaml.safe_load(plan_file.read_text())["instructions"] == [
        {"source": "review", "target": "review"}
    ]
    first, second, *_ = instance_ids(db, 1)

    code, out = invoke(db, "validate", str(plan_file), "--instance", first)
    assert code == 0 and first in out and "1 of 1" in out

    code, out = invoke(db, "run", str(plan_file), "--instance", first, "--instance", second)
    assert code == 0, out
    assert sorted(instance_ids(db, 2)) == sorted([first, second])


def test_canary_pauses_and_resume_finishes(db: str, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    assert invoke(db, "plan", "p@1", "p@2", "--auto", "-o", str(plan_file))[0] == 0

    code, out = invoke(db, "run", str(plan_file), "--all", "--batch-size", "1", "--canary", "2")

    assert code == 0, out
    assert "PAUSED" in out and "canary" in out and "2/5" in out
    batch_id = out.split("migrate resume ")[1].split()[0]
    code, out = invoke(db, "resume", batch_id)
    assert code == 0 and "COMPLETED" in out and "5/5" in out


def test_validate_reports_instances_that_cannot_migrate(db: str, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    with Engine(db) as engine:
        v1, v2 = engine.definitions("p")
        plan = engine.migration_plan(v1.id, v2.id).map("s", "s").build()
    plan_file.write_text(plan.to_json())

    code, out = invoke(db, "validate", str(plan_file), "--all")
    assert code == 1
    assert "0 of 5" in out and "no mapping" in out

    code, out = invoke(db, "run", str(plan_file), "--all")
    assert code == 1 and "skipped instance" in out and "0/5" in out
    assert len(instance_ids(db, 1)) == 5


def test_plan_problems_and_usage_errors(db: str, tmp_path: Path) -> None:
    out_file = str(tmp_path / "plan.json")
    code, out = invoke(
        db, "plan", "p@v1", "p@v2", "--map", "review=ghost", "--map", "s=e", "-o", out_file
    )
    assert code == 1
    assert "no element 'ghost'" in out and "startEvent to endEvent" in out  # every problem
    assert not Path(out_file).exists()

    assert invoke(db, "plan", "p@v1", "p@v2", "-o", out_file)[0] == 2  # neither --auto nor --map
    assert invoke(db, "plan", "p@v1", "p@v2", "--map", "nope", "-o", out_file)[0] == 2
    assert invoke(db, "plan", "p@v9", "p@v2", "--auto", "-o", out_file)[0] == 2
    assert invoke(db, "plan", "p:9:x", "p@v2", "--auto", "-o", out_file)[0] == 1
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, out = invoke(db, "validate", str(bad), "--all")
    assert code == 2 and "cannot read the plan" in out
    assert invoke(db, "validate", str(tmp_path / "missing.json"), "--all")[0] == 2
    code, out = invoke(db, "plan", "p@v1", "p@v2", "--auto", "-o", out_file)
    assert code == 0
    assert invoke(db, "run", out_file)[0] == 2  # neither --instance nor --all
    code, out = invoke(db, "undo", "no-such-operation")
    assert code == 1 and "no operation" in out
    assert invoke(db, "status", "no-such-batch")[0] == 1
