"""Helpers shared by the engine tests: models, tree shapes, history views."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from midflight.engine import ActivityInstance, Engine, HistoryEntry
from midflight.model import Definitions
from midflight.runtime.state import ProcessInstanceRecord, root_element_instance

START = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)  # a Monday


class Clock:
    """A controllable engine clock: ``Engine(url, clock=clock)``; tests call ``advance``."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta | None = None, **parts: float) -> datetime:
        """Move time forward by ``delta`` or by ``timedelta(**parts)``; returns the new now."""
        self.now += delta if delta is not None else timedelta(**parts)
        return self.now


def instance_rows(engine: Engine, pid: str) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """The instance row and its live rows by table, as the engine loads them: the root element
    instance, which has no row of its own, made from the instance row."""
    with engine._store.transaction() as tx:
        instance = tx.get_process_instance(pid)
        assert instance is not None, f"no process instance {pid}"
        rows = tx.load_instance_rows(pid)
    if instance["state"] in ("ACTIVE", "SUSPENDED"):
        root = root_element_instance(ProcessInstanceRecord(**instance)).row()
        rows["element_instances"] = [root, *rows["element_instances"]]
    return instance, rows


ZEEBE_HEADER = (
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
    'id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn">'
)


def bpmn(body: str) -> str:
    """A BPMN document holding ``body`` (processes, messages, errors) in both dialects'
    namespaces (``bpmn:``, ``zeebe:``, ``camunda:``, ``xsi:``)."""
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{ZEEBE_HEADER}\n{body}\n</bpmn:definitions>'


def deploy_one(engine: Engine, source: str | Definitions, **kwargs: Any) -> str:
    """Deploy a model with one executable process; returns the definition id."""
    (definition,) = engine.deploy(source, **kwargs)
    return definition.id


Shape = tuple[str, tuple[Any, ...]]


def shape(node: ActivityInstance) -> Shape:
    """The tree as ``(element_id, (children...))``, children sorted, for equality asserts."""
    return (node.element_id, tuple(sorted(shape(c) for c in node.children)))


def tree_shape(engine: Engine, pid: str) -> Shape:
    return shape(engine.activity_instance_tree(pid))


def leaf(element_id: str) -> Shape:
    return (element_id, ())


def events(engine: Engine, pid: str, *names: str) -> list[HistoryEntry]:
    """History entries of ``pid`` whose event is one of ``names`` (all when none given)."""
    return [h for h in engine.history(pid) if not names or h.event in names]


def trail(engine: Engine, pid: str, event: str = "element.completed") -> list[str]:
    """Element ids of one kind of history event, in order."""
    return [h.element_id or "" for h in engine.history(pid) if h.event == event]


def snapshot(engine: Engine, pid: str) -> dict[str, Any]:
    """Everything observable about one instance, to prove a failed command changed nothing."""
    instance = engine.process_instance(pid)
    live = instance.state in ("ACTIVE", "SUSPENDED")
    return {
        "instance": instance,
        "history": [(h.id, h.event) for h in engine.history(pid)],
        "tree": tree_shape(engine, pid) if live else None,
        "variables": engine.variables(pid),
        "tasks": engine.user_tasks(process_instance_id=pid),
        "incidents": engine.incidents(pid),
    }
