"""A small language for conformance scenarios: a model, a run, and what must hold after it.

A scenario is data: ``Scenario(name, model, steps)``. Steps drive an engine the way a user
would (start, complete a task or job, correlate, signal, move the clock) and ``Expect`` steps
check the activity-instance tree, variables, instance state, open tasks, incidents and history.
``run_scenario`` executes one against a real engine, so every scenario runs on SQLite and on
PostgreSQL through the ``engine`` fixture.

Trees are written as indented element ids, children sorted, transitions as ``id (async before)``:

    proc
      sub
        task_a
        task_b
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from midflight import ActivityInstance, Engine
from midflight.model import Definitions

__all__ = [
    "Advance",
    "AsyncJobs",
    "Cancel",
    "Clock",
    "CompleteJob",
    "CompleteTask",
    "Correlate",
    "Custom",
    "Expect",
    "FailJob",
    "Scenario",
    "Signal",
    "Start",
    "ThrowError",
    "render_ids",
    "run_scenario",
]


class Clock:
    """A controllable engine clock."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def render_ids(tree: ActivityInstance) -> str:
    """The tree as indented element ids (children in a stable order)."""
    lines: list[str] = []

    def visit(node: ActivityInstance, depth: int) -> None:
        lines.append("  " * depth + node.element_id)
        entries = [
            ("  " * (depth + 1) + f"{t.element_id} (async {t.direction})", None)
            for t in node.transitions
        ]
        for child in sorted(node.children, key=lambda c: (c.element_id, c.loop_counter or 0)):
            entries.append(("", child))
        for text, child in entries:
            if child is None:
                lines.append(text)
            else:
                visit(child, depth + 1)

    visit(tree, 0)
    return "\n".join(lines)


def _dedent(text: str) -> str:
    rows = [r for r in text.splitlines() if r.strip()]
    indent = min(len(r) - len(r.lstrip()) for r in rows)
    return "\n".join(r[indent:].rstrip() for r in rows)


@dataclass
class Context:
    engine: Engine
    clock: Clock
    process_instance_id: str = ""
    instances: dict[str, str] = field(default_factory=dict)  # alias -> process instance id


@dataclass(frozen=True)
class Start:
    key: str | None = None  # default: the first process of the scenario's model
    variables: Mapping[str, Any] | None = None
    business_key: str | None = None
    alias: str | None = None

    def __call__(self, ctx: Context, default_key: str) -> None:
        instance = ctx.engine.start_process(
            self.key or default_key, self.variables, self.business_key
        )
        ctx.process_instance_id = instance.id
        ctx.instances[self.alias or "main"] = instance.id


@dataclass(frozen=True)
class CompleteTask:
    element_id: str
    variables: Mapping[str, Any] | None = None
    all: bool = False  # every open task of the element (else exactly one must be open)

    def __call__(self, ctx: Context, default_key: str) -> None:
        tasks = [t for t in ctx.engine.user_tasks() if t.element_id == self.element_id]
        assert tasks, f"no open user task of '{self.element_id}'"
        if not self.all:
            assert len(tasks) == 1, f"{len(tasks)} open tasks of '{self.element_id}'"
        for task in tasks:
            ctx.engine.complete_user_task(task.id, self.variables)


@dataclass(frozen=True)
class CompleteJob:
    job_type: str
    variables: Mapping[str, Any] | None = None
    count: int = 1

    def __call__(self, ctx: Context, default_key: str) -> None:
        jobs = ctx.engine.activate_jobs(self.job_type, "conformance", max_jobs=self.count)
        assert len(jobs) == self.count, f"{len(jobs)} '{self.job_type}' jobs, wanted {self.count}"
        for job in jobs:
            ctx.engine.complete_job(job.id, self.variables)


@dataclass(frozen=True)
class FailJob:
    job_type: str
    retries: int = 0
    message: str = "boom"

    def __call__(self, ctx: Context, default_key: str) -> None:
        [job] = ctx.engine.activate_jobs(self.job_type, "conformance", max_jobs=1)
        ctx.engine.fail_job(job.id, self.message, self.retries)


@dataclass(frozen=True)
class ThrowError:
    job_type: str
    error_code: str
    variables: Mapping[str, Any] | None = None

    def __call__(self, ctx: Context, default_key: str) -> None:
        [job] = ctx.engine.activate_jobs(self.job_type, "conformance", max_jobs=1)
        ctx.engine.throw_error(job.id, self.error_code, "thrown by the scenario", self.variables)


@dataclass(frozen=True)
class Correlate:
    name: str
    correlation_key: str | int | None = None
    variables: Mapping[str, Any] | None = None

    def __call__(self, ctx: Context, default_key: str) -> None:
        ctx.engine.correlate_message(self.name, self.correlation_key, self.variables)


@dataclass(frozen=True)
class Signal:
    name: str
    variables: Mapping[str, Any] | None = None

    def __call__(self, ctx: Context, default_key: str) -> None:
        ctx.engine.broadcast_signal(self.name, self.variables)


@dataclass(frozen=True)
class Advance:
    """Move the clock and fire due timers (``fired``: how many must fire, if given)."""

    minutes: float = 0
    hours: float = 0
    days: float = 0
    fired: int | None = None

    def __call__(self, ctx: Context, default_key: str) -> None:
        ctx.clock.advance(timedelta(days=self.days, hours=self.hours, minutes=self.minutes))
        count = ctx.engine.fire_due_timers()
        if self.fired is not None:
            assert count == self.fired, f"{count} timers fired, expected {self.fired}"


@dataclass(frozen=True)
class AsyncJobs:
    """Run due async continuations (``ran``: how many must run, if given)."""

    ran: int | None = None

    def __call__(self, ctx: Context, default_key: str) -> None:
        count = ctx.engine.execute_async_jobs()
        if self.ran is not None:
            assert count == self.ran, f"{count} async continuations ran, expected {self.ran}"


@dataclass(frozen=True)
class Cancel:
    def __call__(self, ctx: Context, default_key: str) -> None:
        ctx.engine.cancel_process_instance(ctx.process_instance_id)


@dataclass(frozen=True)
class Custom:
    """Anything else: ``action(engine, process_instance_id)``."""

    action: Callable[[Engine, str], None]

    def __call__(self, ctx: Context, default_key: str) -> None:
        self.action(ctx.engine, ctx.process_instance_id)


@dataclass(frozen=True)
class Expect:
    """What must hold now. Only the fields given are checked."""

    tree: str | None = None
    state: str | None = None
    variables: Mapping[str, Any] | None = None  # a subset of the root scope's variables
    tasks: Sequence[str] | None = None  # element ids of open user tasks (sorted)
    incidents: Sequence[str] | None = None  # incident types (sorted)
    history: Sequence[tuple[str, str | None]] | None = None  # (event, element) pairs, in order
    instance: str = "main"

    def __call__(self, ctx: Context, default_key: str) -> None:
        engine, pid = ctx.engine, ctx.instances[self.instance]
        if self.state is not None:
            assert engine.process_instance(pid).state == self.state
        if self.tree is not None:
            assert render_ids(engine.activity_instance_tree(pid)) == _dedent(self.tree)
        if self.variables is not None:
            actual = engine.variables(pid)
            for name, value in self.variables.items():
                assert name in actual, f"variable '{name}' missing: {actual}"
                assert actual[name] == value, f"{name} = {actual[name]!r}, expected {value!r}"
        if self.tasks is not None:
            open_tasks = sorted(t.element_id for t in engine.user_tasks(process_instance_id=pid))
            assert open_tasks == sorted(self.tasks)
        if self.incidents is not None:
            types = sorted(i.type for i in engine.incidents(pid))
            assert types == sorted(self.incidents)
        if self.history is not None:
            events = [(h.event, h.element_id) for h in engine.history(pid)]
            position = 0
            for wanted in self.history:
                while position < len(events) and events[position] != wanted:
                    position += 1
                assert position < len(events), f"history lacks {wanted} in order: {events}"
                position += 1


Step = (
    Start
    | CompleteTask
    | CompleteJob
    | FailJob
    | ThrowError
    | Correlate
    | Signal
    | Advance
    | AsyncJobs
    | Cancel
    | Custom
    | Expect
)


@dataclass(frozen=True)
class Scenario:
    """One conformance case: deploy ``models`` (XML text or built Definitions), run ``steps``."""

    name: str
    models: Sequence[str | Definitions]
    steps: Sequence[Any]

    def __str__(self) -> str:
        return self.name


def run_scenario(engine: Engine, clock: Clock, scenario: Scenario) -> None:
    default_key = ""
    for model in scenario.models:
        deployed = engine.deploy(model)
        default_key = default_key or deployed[0].key
    ctx = Context(engine=engine, clock=clock)
    for step in scenario.steps:
        step(ctx, default_key)
