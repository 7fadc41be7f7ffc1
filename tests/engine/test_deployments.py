"""Versioned deployments: versions, tags, identical redeploys, pinning, suspension, deletion."""

from __future__ import annotations

from pathlib import Path

import pytest

from midflight.engine import Engine
from midflight.errors import (
    BpmnParseError,
    InvalidArgumentError,
    ModelValidationError,
    NotFoundError,
    ProcessEngineError,
)
from midflight.model import Definitions
from midflight.model.builder import ProcessBuilder

from ._support import Clock, bpmn, deploy_one, leaf, trail, tree_shape


def review(
    task_after: str = "approve", *, name: str = "Review", tag: str | None = None
) -> Definitions:
    """start -> review (user task) -> <task_after> (user task) -> end."""
    return (
        ProcessBuilder("review", name=name, version_tag=tag)
        .start_event("start")
        .user_task("review_task")
        .user_task(task_after)
        .end_event("end")
        .build()
    )


def test_deploy_returns_the_first_version(engine: Engine, clock: Clock) -> None:
    (definition,) = engine.deploy(review(tag="2030.1"))

    assert definition.key == "review"
    assert definition.version == 1
    assert definition.version_tag == "2030.1"
    assert definition.name == "Review"
    assert definition.deployed_at == clock.now
    assert not definition.suspended
    assert definition.running_instances == 0
    assert engine.definition(definition.id) == definition


def test_each_new_deployment_of_a_key_gets_the_next_version(engine: Engine) -> None:
    first = deploy_one(engine, review("approve"))
    second = deploy_one(engine, review("sign"))
    third = deploy_one(engine, review("archive"))

    versions = engine.definitions("review")
    assert [(d.id, d.version) for d in versions] == [(first, 1), (second, 2), (third, 3)]
    assert len({first, second, third}) == 3


def test_redeploying_identical_xml_returns_the_existing_version(engine: Engine) -> None:
    xml = bpmn(
        '<bpmn:process id="same" isExecutable="true">'
        '<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>'
        '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"/></bpmn:process>'
    )
    (first,) = engine.deploy(xml)
    (again,) = engine.deploy(xml)
    (as_bytes,) = engine.deploy(xml.encode())

    assert again == first
    assert as_bytes.id == first.id
    assert [d.version for d in engine.definitions("same")] == [1]


def test_redeploying_an_older_model_after_a_change_is_a_new_version(engine: Engine) -> None:
    deploy_one(engine, review("approve"))
    deploy_one(engine, review("sign"))
    (back,) = engine.deploy(review("approve"))

    assert back.version == 3


def test_a_new_version_tag_makes_a_new_version(engine: Engine) -> None:
    (v1,) = engine.deploy(review(), version_tag="a")
    (v2,) = engine.deploy(review(), version_tag="b")
    (v2_again,) = engine.deploy(review(), version_tag="b")

    assert (v1.version, v1.version_tag) == (1, "a")
    assert (v2.version, v2.version_tag) == (2, "b")
    assert v2_again.id == v2.id


def test_deploy_from_a_file_records_the_resource_name(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "invoice.bpmn"
    path.write_text(
        bpmn(
            '<bpmn:process id="invoice" name="Invoice" isExecutable="true">'
            '<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>'
            '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"/></bpmn:process>'
        ),
        encoding="utf-8",
    )
    (from_path,) = engine.deploy(path)
    (from_str,) = engine.deploy(str(path))

    assert (from_path.key, from_path.name, from_path.resource_name) == (
        "invoice",
        "Invoice",
        "invoice.bpmn",
    )
    assert from_str.id == from_path.id


def test_every_executable_process_of_a_model_is_deployed(engine: Engine) -> None:
    xml = bpmn(
        '<bpmn:process id="one" isExecutable="true"><bpmn:startEvent id="s1"/></bpmn:process>'
        '<bpmn:process id="two" isExecutable="true"><bpmn:startEvent id="s2"/></bpmn:process>'
        '<bpmn:process id="sketch" isExecutable="false"><bpmn:startEvent id="s3"/></bpmn:process>'
    )
    deployed = engine.deploy(xml)

    assert sorted((d.key, d.version) for d in deployed) == [("one", 1), ("two", 1)]
    assert engine.definitions("sketch") == []
    assert {d.key for d in engine.definitions()} == {"one", "two"}


def test_a_model_without_executable_process_is_refused(engine: Engine) -> None:
    xml = bpmn(
        '<bpmn:process id="sketch" isExecutable="false"><bpmn:startEvent id="s"/></bpmn:process>'
    )
    with pytest.raises(InvalidArgumentError, match="executable"):
        engine.deploy(xml)
    assert engine.definitions() == []


def test_unreadable_and_invalid_models_are_refused(engine: Engine) -> None:
    with pytest.raises(BpmnParseError):
        engine.deploy("<bpmn:definitions")
    invalid = bpmn(
        '<bpmn:process id="bad" isExecutable="true"><bpmn:startEvent id="s"/>'
        '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="nowhere"/></bpmn:process>'
    )
    with pytest.raises(ModelValidationError):
        engine.deploy(invalid)
    assert engine.definitions() == []


def test_start_uses_the_latest_version_unless_pinned(engine: Engine) -> None:
    v1 = deploy_one(engine, review("approve"), version_tag="spring")
    v2 = deploy_one(engine, review("sign"), version_tag="summer")

    latest = engine.start_process("review")
    by_version = engine.start_process("review", version=1)
    by_tag = engine.start_process("review", version_tag="spring")

    assert (latest.definition_id, latest.definition_version) == (v2, 2)
    assert (by_version.definition_id, by_version.definition_version) == (v1, 1)
    assert by_tag.definition_id == v1
    with pytest.raises(NotFoundError):
        engine.start_process("review", version=3)
    with pytest.raises(NotFoundError):
        engine.start_process("review", version_tag="winter")
    with pytest.raises(NotFoundError):
        engine.start_process("review", version=2, version_tag="spring")


def test_running_instances_stay_on_their_version(engine: Engine) -> None:
    deploy_one(engine, review("approve"))
    old = engine.start_process("review")
    deploy_one(engine, review("sign"))
    new = engine.start_process("review")

    for pid in (old.id, new.id):
        (task,) = engine.user_tasks(process_instance_id=pid)
        engine.complete_user_task(task.id)

    assert tree_shape(engine, old.id) == ("review", (leaf("approve"),))
    assert tree_shape(engine, new.id) == ("review", (leaf("sign"),))
    assert engine.process_instance(old.id).definition_version == 1


def test_definitions_count_running_instances_per_version(engine: Engine) -> None:
    v1 = deploy_one(engine, review("approve"))
    a = engine.start_process("review")
    engine.start_process("review")
    v2 = deploy_one(engine, review("sign"))
    engine.start_process("review")
    counts = {d.id: d.running_instances for d in engine.definitions("review")}
    assert counts == {v1: 2, v2: 1}

    engine.cancel_process_instance(a.id)
    for task in engine.user_tasks(element_id="review_task"):
        if engine.process_instance(task.process_instance_id).definition_id == v2:
            engine.complete_user_task(task.id)
            (after,) = engine.user_tasks(process_instance_id=task.process_instance_id)
            engine.complete_user_task(after.id)
            assert engine.process_instance(task.process_instance_id).state == "COMPLETED"

    counts = {d.id: d.running_instances for d in engine.definitions("review")}
    assert counts == {v1: 1, v2: 0}
    assert engine.definition(v1).running_instances == 1


def test_a_suspended_version_refuses_starts_but_runs_its_instances(engine: Engine) -> None:
    v1 = deploy_one(engine, review())
    running = engine.start_process("review")

    suspended = engine.suspend_definition(v1)
    assert suspended.suspended
    assert engine.definitions("review")[0].suspended
    with pytest.raises(ProcessEngineError, match="suspended"):
        engine.start_process("review")
    assert [p.id for p in engine.process_instances(key="review")] == [running.id]

    (task,) = engine.user_tasks(process_instance_id=running.id)
    engine.complete_user_task(task.id)  # running instances go on
    assert tree_shape(engine, running.id) == ("review", (leaf("approve"),))

    assert not engine.activate_definition(v1).suspended
    assert engine.start_process("review").definition_id == v1


def test_suspending_an_old_version_leaves_the_latest_startable(engine: Engine) -> None:
    v1 = deploy_one(engine, review("approve"))
    v2 = deploy_one(engine, review("sign"))
    engine.suspend_definition(v1)

    assert engine.start_process("review").definition_id == v2
    with pytest.raises(ProcessEngineError):
        engine.start_process("review", version=1)


def test_a_version_without_instances_can_be_deleted(engine: Engine) -> None:
    v1 = deploy_one(engine, review("approve"))
    v2 = deploy_one(engine, review("sign"))
    engine.start_process("review", version=1)

    with pytest.raises(ProcessEngineError, match="instance"):
        engine.delete_definition(v1)
    engine.delete_definition(v2)

    assert [d.id for d in engine.definitions("review")] == [v1]
    with pytest.raises(NotFoundError):
        engine.definition(v2)
    with pytest.raises(NotFoundError):
        engine.delete_definition(v2)
    assert engine.start_process("review").definition_id == v1


def test_a_version_with_only_finished_instances_is_not_deleted(engine: Engine) -> None:
    straight = ProcessBuilder("straight").start_event("s").end_event("e").build()
    v1 = deploy_one(engine, straight)
    done = engine.start_process("straight")
    assert engine.process_instance(done.id).state == "COMPLETED"
    assert trail(engine, done.id) == ["s", "e"]

    with pytest.raises(ProcessEngineError):
        engine.delete_definition(v1)
    assert [d.id for d in engine.definitions("straight")] == [v1]


def test_a_built_model_that_skipped_validation_is_checked_at_deploy(engine: Engine) -> None:
    from midflight import ModelValidationError
    from midflight.model import ProcessBuilder

    # A service task without a job type: build(validate=False) lets it through, deploy does not.
    definitions = (
        ProcessBuilder("unchecked")
        .start_event("s")
        .service_task("work")
        .end_event("e")
        .build(validate=False)
    )
    with pytest.raises(ModelValidationError) as error:
        engine.deploy(definitions)
    assert any(p.element_id == "work" for p in error.value.problems)
    assert engine.definitions("unchecked") == []
