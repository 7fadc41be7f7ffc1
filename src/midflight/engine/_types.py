"""Typed, read-only results of the Engine API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "ActivatedJob",
    "ActivityInstance",
    "HistoryEntry",
    "IncidentInfo",
    "MessageCorrelation",
    "ProcessDefinition",
    "ProcessInstance",
    "TransitionInstance",
    "UserTaskInfo",
]


@dataclass(frozen=True, slots=True)
class ProcessDefinition:
    """One deployed version of a process."""

    id: str
    key: str
    version: int
    version_tag: str | None
    name: str | None
    deployed_at: datetime
    suspended: bool = False
    running_instances: int = 0
    resource_name: str | None = None


@dataclass(frozen=True, slots=True)
class ProcessInstance:
    id: str
    definition_id: str
    definition_key: str
    definition_version: int
    business_key: str | None
    state: str  # ACTIVE, SUSPENDED, COMPLETED, CANCELED
    started_at: datetime
    ended_at: datetime | None = None
    parent_process_instance_id: str | None = None


@dataclass(frozen=True, slots=True)
class TransitionInstance:
    """A token about to enter (async before) or leave (async after) an activity."""

    id: str
    element_id: str
    element_type: str
    parent_id: str
    direction: str  # "before" | "after"


@dataclass(frozen=True, slots=True)
class ActivityInstance:
    """A node of the activity-instance tree; the root is the process instance itself."""

    id: str
    element_id: str
    element_type: str
    name: str | None
    parent_id: str | None
    children: list[ActivityInstance] = field(default_factory=list)
    transitions: list[TransitionInstance] = field(default_factory=list)
    loop_counter: int | None = None

    def walk(self) -> Iterator[ActivityInstance]:
        """This instance and every descendant, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

    def instances_of(self, element_id: str) -> list[ActivityInstance]:
        """Every activity instance of ``element_id`` in this subtree (Camunda's getActivityInstances)."""
        return [a for a in self.walk() if a.element_id == element_id]

    def render(self) -> str:
        """The tree as indented text, one instance a line (as seed 003 draws it)."""
        lines: list[str] = []

        def visit(node: ActivityInstance, depth: int) -> None:
            label = node.name or node.element_id
            lines.append(f"{'  ' * depth}{label}")
            for transition in node.transitions:
                lines.append(
                    f"{'  ' * (depth + 1)}{transition.element_id} (async {transition.direction})"
                )
            for child in node.children:
                visit(child, depth + 1)

        visit(self, 0)
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class UserTaskInfo:
    id: str
    process_instance_id: str
    element_instance_id: str
    element_id: str
    definition_id: str
    name: str | None
    created_at: datetime
    assignee: str | None = None
    candidate_groups: list[str] | None = None
    candidate_users: list[str] | None = None
    due_date: datetime | None = None
    follow_up_date: datetime | None = None
    priority: int | None = None
    form_key: str | None = None


@dataclass(frozen=True, slots=True)
class ActivatedJob:
    """A job handed to a worker, with the variables visible at its element."""

    id: str
    type: str
    process_instance_id: str
    element_instance_id: str
    element_id: str
    definition_id: str
    retries: int
    worker: str
    lock_expires_at: datetime
    variables: dict[str, Any]
    headers: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IncidentInfo:
    id: str
    process_instance_id: str
    element_instance_id: str
    element_id: str
    type: str
    message: str
    created_at: datetime
    job_id: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    id: str
    process_instance_id: str
    timestamp: datetime
    event: str
    element_instance_id: str | None
    element_id: str | None
    data: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class MessageCorrelation:
    """Where a correlated message landed."""

    process_instance_id: str
    element_id: str
    element_instance_id: str
