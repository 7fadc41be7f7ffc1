"""Ad-hoc subprocesses (seed 000): an AI agent's message-delivery process gains an HR review
tool in v2; instances waiting inside the agent migrate and can then pick the new tool."""

from __future__ import annotations

import pytest
from tests.change.migration._support import (
    AGENT_V1,
    AGENT_V2,
    assert_tree,
    assert_well_formed,
    complete_task,
    deploy_pair,
    instance_id,
    start,
    task_ids,
    timers,
)

from midflight import Engine
from midflight.errors import InvalidArgumentError

KEY = "hh-message-delivery-service"
AGENT = "MessageDeliveryAgent"
REQUEST = {
    "sender": "ann",
    "recipient": "Joyce",
    "message": "Joyce, we need to talk about yesterday's incident at the stables.",
    "toolCall": {"elements": []},
    "hrReviewDue": "2026-03-03T09:00:00Z",
}


def tool_call(call_id: str, name: str, **arguments: object) -> dict[str, object]:
    """What the agent's LLM asks for: arguments of the tool plus metadata."""
    return {"toolCall": {"_meta": {"id": call_id, "name": name}, **arguments}}


def waiting_for_the_senders_answer(engine: Engine) -> tuple[str, str]:
    """An instance of v1 inside the agent, which asked the sender a question."""
    [v1] = engine.definitions(KEY)[:1]
    pid = start(engine, v1, REQUEST)
    complete_task(engine, pid, "ConfirmPrompt")
    agent = instance_id(engine, pid, AGENT)
    engine.activate_adhoc_elements(
        agent,
        ["AskForInformation"],
        tool_call("call-1", "AskForInformation", question="Is this the Joyce from the stables?"),
    )
    assert_tree(engine, pid, f"{KEY}\n  {AGENT}\n    AskForInformation")
    return pid, agent


def test_seed_000_an_agent_waiting_in_v1_picks_the_hr_review_tool_after_migration(
    engine: Engine,
) -> None:
    [v1] = engine.deploy(AGENT_V1)
    pid, agent = waiting_for_the_senders_answer(engine)
    [question] = engine.user_tasks(pid)
    timer = timers(engine, pid)
    assert set(timer) == {"AgentTakesTooLong"}
    # v1 has no HR review tool
    with pytest.raises(InvalidArgumentError, match="HumanResourcesReview"):
        engine.activate_adhoc_elements(agent, ["HumanResourcesReview"])

    [v2] = engine.deploy(AGENT_V2)
    assert (v1.version_tag, v2.version_tag) == ("v1", "v2")
    plan = (
        engine.migration_plan_between(KEY, from_version_tag="v1", to_version_tag="v2")
        .map_equal_activities()
        .annotate("add the HR review guardrail to the message delivery agent")
        .build()
    )
    assert (plan.source_definition_id, plan.target_definition_id) == (v1.id, v2.id)
    result = engine.migrate(plan, [pid], operator="operations")

    assert result.migrated == [pid]
    info = engine.process_instance(pid)
    assert (info.definition_id, info.definition_version) == (v2.id, v2.version)
    assert instance_id(engine, pid, AGENT) == agent  # the agent keeps its context (scope)
    assert [t.id for t in engine.user_tasks(pid)] == [question.id]
    assert timers(engine, pid) == timer
    assert_well_formed(engine, pid)

    # the agent now chooses the new tool: HR reviews the draft before it is sent
    [hr] = engine.activate_adhoc_elements(
        agent,
        ["HumanResourcesReview"],
        tool_call("call-2", "HumanResourcesReview", draft="Joyce, ...", reason="conduct"),
    )
    assert_tree(engine, pid, f"{KEY}\n  {AGENT}\n    AskForInformation\n    HumanResourcesReview")
    [review] = [t for t in engine.user_tasks(pid) if t.element_id == "HumanResourcesReview"]
    assert (review.element_instance_id, review.candidate_groups) == (hr, ["human-resources"])
    assert review.priority == 75
    complete_task(engine, pid, "AskForInformation", {"answer": "Yes, Joyce Miller."})
    complete_task(
        engine,
        pid,
        "HumanResourcesReview",
        {"hrApproved": True, "revisedMessage": "Joyce, please see HR.", "hrComments": "ok"},
    )
    assert task_ids(engine, pid) == ["ReviewAgentPerformance"]
    assert timers(engine, pid) == {}
    complete_task(engine, pid, "ReviewAgentPerformance")
    assert engine.process_instance(pid).state == "COMPLETED"
    events = [(h.event, h.element_id) for h in engine.history(pid)]
    assert ("process.migrated", None) in events
    assert ("element.completed", "HumanResourcesReview") in events


def test_an_instance_before_the_agent_migrates_and_later_gets_the_new_tool(
    engine: Engine,
) -> None:
    v1, v2 = deploy_pair(engine, AGENT_V1, AGENT_V2)
    pid = start(engine, v1, REQUEST)
    assert task_ids(engine, pid) == ["ConfirmPrompt"]

    engine.migrate(engine.migration_plan(v1.id, v2.id).map_equal_activities().build(), [pid])

    complete_task(engine, pid, "ConfirmPrompt")
    agent = instance_id(engine, pid, AGENT)
    engine.activate_adhoc_elements(agent, ["HumanResourcesReview"], tool_call("c", "HR"))
    assert task_ids(engine, pid) == ["HumanResourcesReview"]
    assert_well_formed(engine, pid)


def test_an_agent_using_a_tool_the_target_lacks_cannot_go_back(engine: Engine) -> None:
    v1, v2 = deploy_pair(engine, AGENT_V1, AGENT_V2)
    pid = start(engine, v2, REQUEST)
    complete_task(engine, pid, "ConfirmPrompt")
    agent = instance_id(engine, pid, AGENT)
    engine.activate_adhoc_elements(agent, ["HumanResourcesReview"], tool_call("c", "HR"))

    back = engine.migration_plan(v2.id, v1.id).map_equal_activities().build()
    result = engine.migrate(back, [pid])

    assert result.migrated == []
    assert "HumanResourcesReview" in result.skipped[pid] and "no mapping" in result.skipped[pid]
    assert engine.process_instance(pid).definition_id == v2.id
    assert task_ids(engine, pid) == ["HumanResourcesReview"]
