"""Migration plans: the builder, map_equal_activities, JSON (and YAML) round trips, plans named
by version tags, and static validation that reports every problem at once."""

from __future__ import annotations

import pytest
import yaml
from tests.change.migration._support import deploy_pair, start

from midflight import Engine, InvalidArgumentError, NotFoundError
from midflight.change.migration import (
    MigrationInstruction,
    MigrationPlan,
    MigrationPlanValidationError,
    map_equal_activities,
)
from midflight.model import ProcessBuilder

BODY = "#multiInstanceBody"


def source_model() -> ProcessBuilder:
    """Every kind of element a plan can get wrong."""
    return (
        ProcessBuilder("p")
        .start_event("s")
        .parallel_gateway("fork")
        .user_task("review")
        .parallel_gateway("join")
        .end_event("e")
        .move_to("fork")
        .sub_process("sub")
        .start_event("sub_s")
        .user_task("inside")
        .end_event("sub_e")
        .sub_process_done()
        .connect_to("join")
        .move_to("fork")
        .user_task("approve")
        .multi_instance(collection="=approvers", element="approver")
        .connect_to("join")
        .move_to("fork")
        .service_task("notify", job_type="notify")
        .connect_to("join")
    )


def target_model() -> ProcessBuilder:
    """review becomes a service task, approve sequential, the join loses a branch (notify)
    and ``inside`` leaves the subprocess."""
    return (
        ProcessBuilder("p")
        .start_event("s")
        .parallel_gateway("fork")
        .service_task("review", job_type="review")
        .parallel_gateway("join")
        .end_event("e")
        .move_to("fork")
        .sub_process("sub")
        .start_event("sub_s")
        .user_task("other")
        .end_event("sub_e")
        .sub_process_done()
        .connect_to("join")
        .move_to("fork")
        .user_task("approve")
        .multi_instance(collection="=approvers", element="approver", sequential=True)
        .connect_to("join")
        .move_to("fork")
        .user_task("inside")
        .end_event("e2")
    )


def test_the_builder_collects_instructions(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, source_model().build(), source_model().build())
    plan = (
        engine.migration_plan(v1.id, v2.id)
        .map("review", "approve")  # replaced below
        .map("review", "review", update_event_trigger=True, timers="reset")
        .map_equal_activities()  # leaves the explicit mapping of review alone
        .annotate("same model, new version")
        .build()
    )
    assert plan.instruction_for("review") == MigrationInstruction("review", "review", True, "reset")
    assert sum(1 for i in plan.instructions if i.source == "review") == 1
    assert plan.target_of("approve" + BODY) == "approve" + BODY
    assert plan.target_of("inside") == "inside" and plan.target_of("sub") == "sub"
    assert plan.annotation == "same model, new version"
    assert (plan.source_definition_id, plan.target_definition_id) == (v1.id, v2.id)


def test_map_equal_activities_needs_same_id_type_and_flow_scope() -> None:
    source = source_model().build().processes[0]
    target = target_model().build().processes[0]

    mapped = {(i.source, i.target) for i in map_equal_activities(source, target)}

    # review changed type, inside changed scope, notify is gone: none of them is mapped;
    # approve changed its loop kind, which is validation's business, not matching's
    same = ["s", "fork", "join", "e", "sub", "sub_s", "sub_e", "approve", "approve" + BODY]
    assert mapped == {(e, e) for e in same}


def test_static_validation_reports_every_problem_at_once(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, source_model().build(), target_model().build())
    builder = (
        engine.migration_plan(v1.id, v2.id)
        .map("review", "review")  # userTask -> serviceTask
        .map("approve" + BODY, "approve" + BODY)  # parallel -> sequential
        .map("approve", "approve")
        .map("sub", "sub")
        .map("inside", "inside")  # leaves its mapped subprocess: hierarchy
        .map("join", "join")  # 4 incoming flows -> 3
        .map("ghost", "review")  # unknown source element
        .map("notify", "nowhere")  # unknown target element
    )
    with pytest.raises(MigrationPlanValidationError) as caught:
        builder.build()

    by_instruction: dict[str | None, list[str]] = {}
    for v in caught.value.violations:
        by_instruction.setdefault(v.instruction, []).append(v.message)
    assert set(by_instruction) == {
        "review -> review",
        "approve#multiInstanceBody -> approve#multiInstanceBody",
        "approve -> approve",
        "inside -> inside",
        "join -> join",
        "ghost -> review",
        "notify -> nowhere",
    }
    assert "userTask to serviceTask" in by_instruction["review -> review"][0]
    assert "sequential and parallel" in by_instruction["approve -> approve"][0]
    assert "hierarchy" in by_instruction["inside -> inside"][0]
    assert "fewer incoming flows (3)" in by_instruction["join -> join"][0]
    assert "no element 'ghost'" in by_instruction["ghost -> review"][0]
    assert "no element 'nowhere'" in by_instruction["notify -> nowhere"][0]
    message = str(caught.value)
    assert message.startswith(f"the migration plan has {len(caught.value.violations)} problem(s)")


def test_a_plan_checked_directly_reports_a_source_mapped_twice(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, source_model().build(), source_model().build())
    plan = MigrationPlan(
        v1.id,
        v2.id,
        (MigrationInstruction("review", "review"), MigrationInstruction("review", "inside")),
        timers="sometimes",
    )
    with pytest.raises(MigrationPlanValidationError) as caught:
        engine.check_migration_plan(plan)
    text = str(caught.value)
    assert "mapped twice" in text and "unknown timer policy 'sometimes'" in text


def test_a_plan_round_trips_through_json_and_yaml(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, source_model().build(), source_model().build())
    plan = (
        engine.migration_plan(v1.id, v2.id)
        .map_equal_activities()
        .map("review", "review", update_event_trigger=True, timers="keep_elapsed")
        .timers("reset")
        .set_variables({"channel": "email"})
        .set_variables({"round": 2}, scope="sub")
        .require_variables(["approvers"])
        .annotate("ticket OPS-12")
        .build()
    )
    text = plan.to_json()
    assert MigrationPlan.from_json(text) == plan
    assert MigrationPlan.from_json(yaml.safe_load(yaml.safe_dump(yaml.safe_load(text)))) == plan
    schema_plan = engine.migration_plan(v1.id, v2.id).require_variables({"type": "object"}).build()
    assert MigrationPlan.from_json(schema_plan.to_json()) == schema_plan


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("{}", "source_definition_id"),
        (
            '{"source_definition_id": "a", "target_definition_id": "b", "instructions": [{}]}',
            "source",
        ),
        ("[1, 2]", "not a migration plan"),
        ("not json", "not a migration plan"),
        (
            '{"source_definition_id": "a", "target_definition_id": "b", '
            '"transform": "no_such_module_xyz:f"}',
            "no_such_module_xyz",
        ),
    ],
)
def test_text_that_is_not_a_plan_is_refused_saying_why(text: str, names: str) -> None:
    with pytest.raises(InvalidArgumentError, match=names):
        MigrationPlan.from_json(text)


def test_a_plan_between_versions_named_by_tag_or_number(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, source_model().build(), target_model().build())
    [v3] = engine.deploy(source_model().build(), version_tag="v3")

    by_tag = engine.migration_plan_between("p", from_version_tag="v1", to_version_tag="v2")
    assert (by_tag.build().source_definition_id, by_tag.build().target_definition_id) == (
        v1.id,
        v2.id,
    )
    latest = engine.migration_plan_between("p", from_version=1).map_equal_activities().build()
    assert latest.target_definition_id == v3.id
    by_number = engine.migration_plan_between("p", from_version=2, to_version=3).build()
    assert (by_number.source_definition_id, by_number.target_definition_id) == (v2.id, v3.id)
    with pytest.raises(NotFoundError, match="source"):
        engine.migration_plan_between("p", from_version_tag="v9")
    with pytest.raises(NotFoundError, match="target"):
        engine.migration_plan_between("p", from_version=1, to_version_tag="v9")
    with pytest.raises(NotFoundError):
        engine.migration_plan_between("nope", from_version=1)


def test_validation_lists_every_unmapped_active_element_of_an_instance(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, source_model().build(), source_model().build())
    pid = start(engine, v1, {"approvers": ["ann"]})
    plan = engine.migration_plan(v1.id, v2.id).map("sub", "sub").build()

    [report] = engine.validate_migration(plan, [pid]).instances

    assert not report.can_migrate
    unmapped = sorted(p.split("'")[1] for p in report.problems)
    assert unmapped == ["approve", "inside", "notify", "review"]
