"""Variables on migration (seed 002's context migration): set, transform, and the target's
contract. A transform or contract that fails skips that instance whole: nothing of it changes."""

from __future__ import annotations

from typing import Any

import pytest
from tests.change.migration._support import (
    deploy_pair,
    history_events,
    instance_id,
    live_rows,
    task_ids,
)

from midflight import Engine
from midflight.change.migration import MigrationPlan
from midflight.model import ProcessBuilder


def upgrade_context(variables: dict[str, Any]) -> dict[str, Any]:
    """Agent context v1 -> v2: ``message`` becomes ``draft``, memory gets a schema version."""
    out = dict(variables)
    out["draft"] = {"text": out.pop("message"), "language": "en"}
    out["memory"] = {"schemaVersion": 2, "turns": out.pop("turns", [])}
    return out


def broken_transform(variables: dict[str, Any]) -> dict[str, Any]:
    if variables.get("message") == "boom":
        raise KeyError("customerId")
    return {**variables, "checked": True}


def not_a_dict(variables: dict[str, Any]) -> Any:
    return ["nope"]


def model(*, sub: bool = False) -> ProcessBuilder:
    builder = ProcessBuilder("p").start_event("s")
    if sub:
        builder = builder.sub_process("review_sub").start_event("rs")
    builder = builder.user_task("review")
    if sub:
        builder = builder.end_event("re").sub_process_done()
    return builder.user_task("send").end_event("e")


@pytest.fixture
def pair(engine: Engine) -> tuple[str, str]:
    v1, v2 = deploy_pair(engine, model().build(), model(sub=True).build())
    return v1.id, v2.id


def plan_for(engine: Engine, pair: tuple[str, str]) -> Any:
    return engine.migration_plan(*pair).map_equal_activities().map("review", "review")


def test_set_variables_on_the_process_and_on_a_target_scope(
    engine: Engine, pair: tuple[str, str]
) -> None:
    pid = engine.start_process("p", {"message": "hi"}, version=1).id
    plan = (
        plan_for(engine, pair)
        .set_variables({"channel": "email"})
        .set_variables({"reviewRound": 1}, scope="review_sub")
        .build()
    )
    [report] = engine.validate_migration(plan, [pid]).instances
    assert sorted(report.outcome["variables_set"]) == ["channel", "reviewRound"]

    engine.migrate(plan, [pid])

    sub = instance_id(engine, pid, "review_sub")
    assert engine.variables(pid) == {"message": "hi", "channel": "email"}
    assert engine.variables(pid, sub) == {"message": "hi", "channel": "email", "reviewRound": 1}


def test_seed_002_a_transform_migrates_the_agent_context(
    engine: Engine, pair: tuple[str, str]
) -> None:
    pid = engine.start_process("p", {"message": "hi", "turns": ["q1"]}, version=1).id
    plan = plan_for(engine, pair).transform(upgrade_context).build()

    [report] = engine.validate_migration(plan, [pid]).instances
    assert engine.variables(pid) == {"message": "hi", "turns": ["q1"]}  # a dry run
    assert sorted(report.outcome["variables_set"]) == ["draft", "memory"]
    assert sorted(report.outcome["variables_removed"]) == ["message", "turns"]
    engine.migrate(plan, [pid])

    assert engine.variables(pid) == {
        "draft": {"text": "hi", "language": "en"},
        "memory": {"schemaVersion": 2, "turns": ["q1"]},
    }
    assert "variable.deleted" in history_events(engine, pid)


def test_a_transform_is_kept_in_the_plan_by_name(engine: Engine, pair: tuple[str, str]) -> None:
    plan = plan_for(engine, pair).transform(upgrade_context).build()
    data = plan.to_json()
    assert f"{__name__}:upgrade_context" in data
    again = MigrationPlan.from_json(data)
    assert again.transform is upgrade_context
    pid = engine.start_process("p", {"message": "hi"}, version=1).id
    engine.migrate(again, [pid])
    assert engine.variables(pid)["draft"]["text"] == "hi"


def test_a_transform_that_raises_skips_that_instance_and_changes_nothing(
    engine: Engine, pair: tuple[str, str]
) -> None:
    good = engine.start_process("p", {"message": "fine"}, version=1).id
    bad = engine.start_process("p", {"message": "boom"}, version=1).id
    before = live_rows(engine, bad)
    events = history_events(engine, bad)
    plan = plan_for(engine, pair).set_variables({"channel": "email"}).transform(broken_transform)

    result = engine.migrate(plan.build(), [good, bad])

    assert result.migrated == [good]
    assert "broken_transform raised KeyError" in result.skipped[bad]
    assert "customerId" in result.skipped[bad]
    assert live_rows(engine, bad) == before  # the variables set before it failed rolled back
    assert history_events(engine, bad) == events
    assert engine.variables(good) == {"message": "fine", "channel": "email", "checked": True}


def test_a_transform_must_return_variables(engine: Engine, pair: tuple[str, str]) -> None:
    pid = engine.start_process("p", {"message": "hi"}, version=1).id
    result = engine.migrate(plan_for(engine, pair).transform(not_a_dict).build(), [pid])
    assert "must return a dict" in result.skipped[pid]
    assert engine.process_instance(pid).definition_id == pair[0]


def test_the_targets_required_variables(engine: Engine, pair: tuple[str, str]) -> None:
    ok = engine.start_process("p", {"message": "hi", "customerId": "c-1"}, version=1).id
    lacking = engine.start_process("p", {"message": "hi"}, version=1).id
    before = live_rows(engine, lacking)
    plan = plan_for(engine, pair).require_variables(["customerId", "message"]).build()

    report = engine.validate_migration(plan, [ok, lacking])
    result = engine.migrate(plan, [ok, lacking])

    assert [r.can_migrate for r in report.instances] == [True, False]
    assert "customerId" in report.instances[1].problems[0]
    assert result.migrated == [ok]
    assert result.skipped[lacking] == report.instances[1].problems[0]
    assert live_rows(engine, lacking) == before


def test_a_json_schema_contract(engine: Engine, pair: tuple[str, str]) -> None:
    ok = engine.start_process("p", {"message": "hi", "amount": 5}, version=1).id
    wrong = engine.start_process("p", {"message": "hi", "amount": "five"}, version=1).id
    schema = {
        "type": "object",
        "required": ["amount"],
        "properties": {"amount": {"type": "number"}},
    }
    plan = plan_for(engine, pair).require_variables(schema).build()

    result = engine.migrate(plan, [ok, wrong])

    assert result.migrated == [ok]
    assert "amount" in result.skipped[wrong] and "schema" in result.skipped[wrong]
    assert MigrationPlan.from_json(plan.to_json()).variables_schema == schema


def test_setting_variables_on_a_scope_without_an_instance_is_an_error(
    engine: Engine, pair: tuple[str, str]
) -> None:
    pid = engine.start_process("p", {"message": "hi"}, version=1).id
    engine.complete_user_task(engine.user_tasks(pid)[0].id)  # now waiting in send
    before = live_rows(engine, pid)
    plan = plan_for(engine, pair).set_variables({"x": 1}, scope="review_sub").build()

    result = engine.migrate(plan, [pid])

    assert "review_sub" in result.skipped[pid]
    assert live_rows(engine, pid) == before
    assert task_ids(engine, pid) == ["send"]
