"""Process instance migration: plans, their static validation, and migrating one instance.

A ``MigrationPlan`` maps source elements to target elements. Migrating an instance re-points its
element instances to their targets *keeping their ids* (and with them user tasks, jobs,
subscriptions, incidents and variables), creates scopes the target adds (top-down, with their
subscriptions) and removes scopes it drops (bottom-up). Checks are named ``require_*`` functions
that return violations, so a dry run and a refusal read the same report (Zeebe's style).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from midflight.change.soundness import soundness_warnings
from midflight.errors import InvalidArgumentError, MidflightError
from midflight.model import (
    MULTI_INSTANCE_BODY_SUFFIX,
    ElementType,
    EventDefinitionType,
    FlowNode,
    MultiInstance,
    Process,
)
from midflight.runtime import events
from midflight.runtime.execution import DeployedProcess, Execution
from midflight.runtime.state import ElementInstance, ElementState, JobKind
from midflight.runtime.timers import parse_timer
from midflight.runtime.variables import checked_variables

__all__ = [
    "TIMER_POLICIES",
    "MigrationInstruction",
    "MigrationPlan",
    "MigrationPlanValidationError",
    "Violation",
    "instance_violations",
    "map_equal_activities",
    "migrate_instance",
    "plan_violations",
]

TIMER_POLICIES = ("keep", "reset", "keep_elapsed")
Transform = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Violation:
    """One reason a plan or an instance cannot migrate."""

    message: str
    element_id: str | None = None
    instruction: str | None = None  # "source -> target" of the instruction concerned

    def __str__(self) -> str:
        where = (
            f"[{self.instruction}] "
            if self.instruction
            else (f"[{self.element_id}] " if self.element_id else "")
        )
        return where + self.message


class MigrationPlanValidationError(InvalidArgumentError):
    """A plan that cannot be used; ``violations`` lists every problem at once."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        self.violations = tuple(violations)
        body = "\n".join(f"  - {v}" for v in self.violations)
        super().__init__(f"the migration plan has {len(self.violations)} problem(s):\n{body}")


@dataclass(frozen=True, slots=True)
class MigrationInstruction:
    source: str
    target: str
    update_event_trigger: bool = False
    timers: str | None = None  # overrides the plan's timer policy for this mapping

    @property
    def label(self) -> str:
        return f"{self.source} -> {self.target}"


@dataclass(frozen=True, slots=True)
class MigrationPlan:
    """What to move where. Built with ``engine.migration_plan(...)...build()``; portable as JSON
    (``to_json``/``from_json``), except a transform given as a Python callable, which is kept
    as its importable ``module:qualname``."""

    source_definition_id: str
    target_definition_id: str
    instructions: tuple[MigrationInstruction, ...]
    timers: str = "keep"
    set_variables: tuple[tuple[str | None, Mapping[str, Any]], ...] = ()
    transform: Transform | None = None
    required_variables: tuple[str, ...] = ()
    variables_schema: Mapping[str, Any] | None = None
    annotation: str | None = None

    def target_of(self, source_element: str) -> str | None:
        for instruction in self.instructions:
            if instruction.source == source_element:
                return instruction.target
        return None

    def instruction_for(self, source_element: str) -> MigrationInstruction | None:
        return next((i for i in self.instructions if i.source == source_element), None)

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "source_definition_id": self.source_definition_id,
            "target_definition_id": self.target_definition_id,
            "instructions": [
                {
                    k: v
                    for k, v in (
                        ("source", i.source),
                        ("target", i.target),
                        ("update_event_trigger", i.update_event_trigger),
                        ("timers", i.timers),
                    )
                    if v not in (None, False)
                }
                for i in self.instructions
            ],
            "timers": self.timers,
            "set_variables": [{"scope": s, "variables": dict(v)} for s, v in self.set_variables],
            "require_variables": list(self.required_variables),
        }
        if self.variables_schema is not None:
            data["variables_schema"] = dict(self.variables_schema)
        if self.transform is not None:
            data["transform"] = _callable_name(self.transform)
        if self.annotation:
            data["annotation"] = self.annotation
        return json.dumps(data, indent=2, sort_keys=True, default=str)

    @classmethod
    def from_json(cls, text: str | Mapping[str, Any]) -> MigrationPlan:
        """Read a plan written by ``to_json`` (or the same structure from YAML).

        Raises:
            InvalidArgumentError: the text is not a plan (the message says which field).
        """
        try:
            data = json.loads(text) if isinstance(text, str) else dict(text)
            instructions = tuple(
                MigrationInstruction(
                    source=str(i["source"]),
                    target=str(i["target"]),
                    update_event_trigger=bool(i.get("update_event_trigger", False)),
                    timers=i.get("timers"),
                )
                for i in data.get("instructions", [])
            )
            transform = data.get("transform")
            return cls(
                source_definition_id=str(data["source_definition_id"]),
                target_definition_id=str(data["target_definition_id"]),
                instructions=instructions,
                timers=str(data.get("timers", "keep")),
                set_variables=tuple(
                    (s.get("scope"), dict(s["variables"])) for s in data.get("set_variables", [])
                ),
                transform=_import_callable(transform) if transform else None,
                required_variables=tuple(data.get("require_variables", [])),
                variables_schema=data.get("variables_schema"),
                annotation=data.get("annotation"),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidArgumentError(f"not a migration plan: {exc}") from None


def _callable_name(func: Callable[..., Any]) -> str:
    return f"{func.__module__}:{func.__qualname__}"


def _import_callable(name: str) -> Transform:
    module_name, _, qualname = name.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise InvalidArgumentError(f"transform '{name}' cannot be imported: {exc}") from None
    if not callable(target):
        raise InvalidArgumentError(f"transform '{name}' is not callable")
    result: Transform = target
    return result


# ----------------------------------------------------------------------------------------------
# static validation
# ----------------------------------------------------------------------------------------------
def map_equal_activities(source: Process, target: Process) -> list[MigrationInstruction]:
    """Same id, same type and the same flow scope (multi-instance bodies follow their
    activity): the instructions a new version that only added things needs."""

    def scope(process: Process, element_id: str) -> str:
        found = process.flow_scope_id(element_id).removesuffix(MULTI_INSTANCE_BODY_SUFFIX)
        return "" if found == process.id else found

    found: list[MigrationInstruction] = []
    for node in source.elements.values():
        if not target.has_node(node.id):
            continue
        other = target.node(node.id)
        if other.type is not node.type or scope(source, node.id) != scope(target, node.id):
            continue
        found.append(MigrationInstruction(node.id, node.id))
        if node.is_multi_instance and other.is_multi_instance:
            body = node.id + MULTI_INSTANCE_BODY_SUFFIX
            found.append(MigrationInstruction(body, body))
    return found


def plan_violations(plan: MigrationPlan, source: Process, target: Process) -> list[Violation]:
    """Every problem of a plan, independent of any instance."""
    violations: list[Violation] = []
    for check in (
        _require_known_elements,
        _require_unique_sources,
        _require_same_types,
        _require_hierarchy,
        _require_same_loop_kind,
        _require_body_mapped,
        _require_join_flows,
        _require_timer_policies,
    ):
        violations.extend(check(plan, source, target))
    return violations


def _require_known_elements(
    plan: MigrationPlan, source: Process, target: Process
) -> list[Violation]:
    out = []
    for i in plan.instructions:
        if not source.has_node(i.source):
            out.append(
                Violation(
                    f"source process '{source.id}' has no element '{i.source}'", i.source, i.label
                )
            )
        if not target.has_node(i.target):
            out.append(
                Violation(
                    f"target process '{target.id}' has no element '{i.target}'", i.target, i.label
                )
            )
    return out


def _require_unique_sources(
    plan: MigrationPlan, source: Process, target: Process
) -> list[Violation]:
    seen: dict[str, str] = {}
    out = []
    for i in plan.instructions:
        if i.source in seen and seen[i.source] != i.target:
            out.append(
                Violation(
                    f"'{i.source}' is mapped twice (to '{seen[i.source]}' and "
                    f"'{i.target}'); map each source element once",
                    i.source,
                    i.label,
                )
            )
        seen[i.source] = i.target
    return out


def _both(
    plan: MigrationPlan, source: Process, target: Process
) -> list[tuple[MigrationInstruction, FlowNode, FlowNode]]:
    return [
        (i, source.node(i.source), target.node(i.target))
        for i in plan.instructions
        if source.has_node(i.source) and target.has_node(i.target)
    ]


def _require_same_types(plan: MigrationPlan, source: Process, target: Process) -> list[Violation]:
    return [
        Violation(
            f"element type changes from {s.type.value} to {t.type.value}; map it to an "
            f"element of the same type",
            s.id,
            i.label,
        )
        for i, s, t in _both(plan, source, target)
        if s.type is not t.type
    ]


def _require_same_loop_kind(
    plan: MigrationPlan, source: Process, target: Process
) -> list[Violation]:
    out = []
    for i, s, t in _both(plan, source, target):
        if isinstance(s.loop, MultiInstance) != isinstance(t.loop, MultiInstance):
            out.append(
                Violation(
                    "multi-instance on one side only; map multi-instance "
                    "activities to multi-instance activities",
                    s.id,
                    i.label,
                )
            )
        elif (
            isinstance(s.loop, MultiInstance)
            and isinstance(t.loop, MultiInstance)
            and (s.loop.is_sequential != t.loop.is_sequential)
        ):
            out.append(
                Violation(
                    "multi-instance kind changes between sequential and parallel", s.id, i.label
                )
            )
    return out


def _require_body_mapped(plan: MigrationPlan, source: Process, target: Process) -> list[Violation]:
    """A multi-instance activity moves with its body (Camunda 7's
    CannotAddMultiInstanceInnerActivityValidator): inner instances need their body's counters."""
    out = []
    for i, s, t in _both(plan, source, target):
        if not (isinstance(s.loop, MultiInstance) and isinstance(t.loop, MultiInstance)):
            continue
        if s.id.endswith(MULTI_INSTANCE_BODY_SUFFIX):
            continue
        body, target_body = s.id + MULTI_INSTANCE_BODY_SUFFIX, t.id + MULTI_INSTANCE_BODY_SUFFIX
        if plan.target_of(body) != target_body:
            out.append(
                Violation(
                    f"the multi-instance activity is mapped without its multi-instance body; "
                    f"map '{body}' to '{target_body}' too",
                    s.id,
                    i.label,
                )
            )
    return out


def _require_join_flows(plan: MigrationPlan, source: Process, target: Process) -> list[Violation]:
    out = []
    for i, s, t in _both(plan, source, target):
        if s.type in (ElementType.PARALLEL_GATEWAY, ElementType.INCLUSIVE_GATEWAY) and len(
            t.incoming
        ) < len(s.incoming):
            out.append(
                Violation(
                    f"joining gateway '{t.id}' has fewer incoming flows ({len(t.incoming)}) than "
                    f"'{s.id}' ({len(s.incoming)}); tokens waiting there could not be kept",
                    s.id,
                    i.label,
                )
            )
    return out


def _require_timer_policies(
    plan: MigrationPlan, source: Process, target: Process
) -> list[Violation]:
    out = []
    for policy, label in [(plan.timers, None)] + [(i.timers, i.label) for i in plan.instructions]:
        if policy is not None and policy not in TIMER_POLICIES:
            out.append(
                Violation(
                    f"unknown timer policy '{policy}'; use one of {', '.join(TIMER_POLICIES)}",
                    None,
                    label,
                )
            )
    return out


def _mapped_ancestor(plan: MigrationPlan, process: Process, element_id: str) -> tuple[str, str]:
    """(source scope, its target) of the nearest mapped scope above ``element_id``; the process
    itself always maps to the target process."""
    scope = process.flow_scope_id(element_id)
    while scope != process.id:
        mapped = plan.target_of(scope)
        if mapped is not None:
            return scope, mapped
        scope = process.flow_scope_id(scope)
    return process.id, ""


def _require_hierarchy(plan: MigrationPlan, source: Process, target: Process) -> list[Violation]:
    """A mapped element's nearest mapped source scope must map to an ancestor scope of its
    target: scopes may be added or removed around it, never crossed."""
    out = []
    for i, s, t in _both(plan, source, target):
        scope, mapped = _mapped_ancestor(plan, source, s.id)
        if scope == source.id:
            continue
        if mapped not in target.scope_path(t.id):
            out.append(
                Violation(
                    f"'{s.id}' lies in '{scope}', which maps to '{mapped}', but '{t.id}' does not "
                    f"lie in '{mapped}'; the mapping breaks the scope hierarchy",
                    s.id,
                    i.label,
                )
            )
    return out


# ----------------------------------------------------------------------------------------------
# one instance
# ----------------------------------------------------------------------------------------------
def instance_violations(
    plan: MigrationPlan,
    source: Process,
    state_elements: Sequence[ElementInstance],
    children_of: Callable[[str], Sequence[ElementInstance]],
) -> list[Violation]:
    """Why one instance cannot migrate: active elements without a mapping (scopes without one
    are dropped, but only if nothing of theirs stays behind)."""
    out = []
    for instance in state_elements:
        if instance.parent_id is None:
            continue
        if plan.target_of(instance.element_id) is None and not children_of(instance.id):
            kind = "transition instance" if instance.state != ElementState.ACTIVE else "instance"
            out.append(
                Violation(
                    f"active {kind} {instance.id} of '{instance.element_id}' has no mapping; map "
                    f"'{instance.element_id}' to an element of the target",
                    instance.element_id,
                )
            )
    return out


@dataclass
class MigrationOutcome:
    """What migrating one instance did (or, in a dry run, would do)."""

    repointed: dict[str, str] = field(default_factory=dict)  # element instance id -> target
    created: list[str] = field(default_factory=list)  # scope instances the target added
    removed: list[str] = field(default_factory=list)  # scope instances the target dropped
    subscriptions_added: list[str] = field(default_factory=list)
    subscriptions_removed: list[str] = field(default_factory=list)
    timers: dict[str, str] = field(default_factory=dict)  # job id -> new due date
    variables_set: list[str] = field(default_factory=list)
    variables_removed: list[str] = field(default_factory=list)
    # Tokens the migrated instance can never complete (a parallel join no branch can reach
    # any more, ...): reported, not refused, as a modification does (soundness_warnings).
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """What the migration changes (the warnings are reported on their own)."""
        return {k: v for k, v in self.__dict__.items() if k != "warnings"}


def migrate_instance(
    ex: Execution, source: DeployedProcess, plan: MigrationPlan, now: datetime
) -> MigrationOutcome:
    """Move the instance of ``ex`` (an Execution on the *target* model) from ``source``.

    Raises:
        MigrationPlanValidationError: the instance cannot migrate with this plan.
        InvalidArgumentError / MidflightError: a transform or variable contract failed.
    """
    state = ex.state
    target = ex.process
    elements = list(state.elements.values())
    problems = instance_violations(plan, source.process, elements, state.children)
    for token in state.join_tokens.values():
        gateway = plan.target_of(token.element_id)
        if gateway is None:
            problems.append(
                Violation(
                    f"a token waits at joining gateway '{token.element_id}', which has no mapping",
                    token.element_id,
                )
            )
        elif token.flow_id not in target.node(gateway).incoming:
            problems.append(
                Violation(
                    f"a token arrived at '{token.element_id}' over '{token.flow_id}', which is not "
                    f"an incoming flow of '{gateway}' in the target",
                    token.element_id,
                )
            )
    if problems:
        raise MigrationPlanValidationError(problems)

    outcome = MigrationOutcome()
    root = state.elements[state.instance.id]
    root.element_id = target.id
    state.touch(root)
    # (mapped parent instance id, target scope element) -> the scope instance created for it
    created_scopes: dict[tuple[str, str], ElementInstance] = {}
    new_parent: dict[str, str] = {}  # element instance id -> its parent after migration
    queue = [c for c in state.children(root.id)]
    order: list[ElementInstance] = []
    while queue:  # breadth first: parents are placed before their children
        instance = queue.pop(0)
        order.append(instance)
        queue.extend(state.children(instance.id))
    old_parents = {i.id: i.parent_id for i in order}
    old_elements = {i.id: i.element_id for i in order}  # source element ids, before re-pointing
    dropped = [i for i in order if plan.target_of(i.element_id) is None]
    for instance in order:
        target_id = plan.target_of(instance.element_id)
        if target_id is None:
            continue
        mapped_parent = _mapped_parent(plan, state, old_parents, old_elements, instance, root)
        parent = _target_parent(
            ex, plan, target, mapped_parent, target_id, created_scopes, new_parent, outcome
        )
        _repoint(ex, source, plan, instance, target.node(target_id), parent, now, outcome)
        new_parent[instance.id] = parent.id
    for token in list(state.join_tokens.values()):
        token.element_id = plan.target_of(token.element_id) or token.element_id
        if token.scope_id in new_parent or token.scope_id == root.id:
            state.touch(token)
    for instance in reversed(dropped):  # bottom-up: the source had it, the target does not
        if instance.id in state.elements and not state.children(instance.id):
            _terminate_dropped(ex, source, instance, outcome)
    _repoint_root_subscriptions(ex, source, plan, root, outcome)
    _migrate_variables(ex, plan, outcome)
    record = state.instance
    record.definition_id = ex.deployed.definition_id
    record.definition_key = ex.deployed.key
    record.definition_version = ex.deployed.version
    state.touch(record)
    outcome.warnings = soundness_warnings(ex)
    return outcome


def _event_ids(ex: Execution) -> set[str]:
    """Ids of the instance's subscriptions and timers."""
    return set(ex.state.subscriptions) | {
        j.id for j in ex.state.jobs.values() if j.kind == JobKind.TIMER
    }


def _terminate_dropped(
    ex: Execution, source: DeployedProcess, instance: ElementInstance, outcome: MigrationOutcome
) -> None:
    """Terminate a scope the target drops; its element only exists in the source model, so
    its behaviour (subscriptions, variables, listeners) is the source's."""
    target = ex.deployed
    before = _event_ids(ex)
    ex.deployed = source  # its setter points process and plans at it too
    try:
        ex.terminate(instance)
    finally:
        ex.deployed = target
    outcome.removed.append(instance.id)
    outcome.subscriptions_removed.extend(sorted(before - _event_ids(ex)))


def _mapped_parent(
    plan: MigrationPlan,
    state: Any,
    old_parents: Mapping[str, str | None],
    old_elements: Mapping[str, str],
    instance: ElementInstance,
    root: ElementInstance,
) -> ElementInstance:
    """The nearest ancestor instance whose *source* element is mapped (it may have been
    re-pointed already: its element id is then a target id, which must not be looked up)."""
    parent_id = old_parents[instance.id]
    while parent_id is not None and parent_id != root.id:
        parent = state.elements[parent_id]
        if plan.target_of(old_elements[parent_id]) is not None:
            return parent  # type: ignore[no-any-return]
        parent_id = old_parents.get(parent_id)
    return root


def _target_parent(
    ex: Execution,
    plan: MigrationPlan,
    target: Process,
    mapped_parent: ElementInstance,
    target_id: str,
    created: dict[tuple[str, str], ElementInstance],
    new_parent: Mapping[str, str],
    outcome: MigrationOutcome,
) -> ElementInstance:
    """The instance the migrated element goes into, creating scopes the target adds."""
    path = list(target.scope_path(target_id))
    anchor = mapped_parent.element_id  # already re-pointed: a target element id
    start = path.index(anchor) + 1 if anchor in path else 1
    current = mapped_parent
    for scope_id in path[start:]:
        key = (current.id, scope_id)
        if key not in created:
            before = _event_ids(ex)
            scope = ex.activate(target.node(scope_id), current, scope_only=True)
            created[key] = scope
            outcome.created.append(scope.id)
            outcome.subscriptions_added.extend(sorted(_event_ids(ex) - before))
        current = created[key]
    return current


def _repoint(
    ex: Execution,
    source: DeployedProcess,
    plan: MigrationPlan,
    instance: ElementInstance,
    node: FlowNode,
    parent: ElementInstance,
    now: datetime,
    outcome: MigrationOutcome,
) -> None:
    state = ex.state
    old_element = instance.element_id
    if instance.parent_id != parent.id:
        state.remove(instance)  # re-index under the new parent (same id, same row)
        state.changes.deleted.pop(f"{instance.TABLE}:{instance.id}", None)
        instance.parent_id = parent.id
        state._index(instance)
    instance.element_id = node.id
    instance.element_type = node.type.value
    state.touch(instance)
    outcome.repointed[instance.id] = node.id
    ex.history("element.migrated", instance, {"from": old_element, "to": node.id})
    for task in [t for t in state.user_tasks.values() if t.element_instance_id == instance.id]:
        task.element_id = node.id
        task.definition_id = ex.deployed.definition_id
        state.touch(task)
    for incident in [i for i in state.incidents.values() if i.element_instance_id == instance.id]:
        incident.element_id = node.id
        incident.definition_id = ex.deployed.definition_id
        state.touch(incident)
    instruction = plan.instruction_for(old_element)
    _repoint_owned_events(ex, source, plan, instance, node, instruction, now, outcome)


def _event_targets(ex: Execution, instance: ElementInstance, node: FlowNode | None) -> set[str]:
    """Catch elements whose subscriptions ``instance`` owns in the target model."""
    catches: set[str] = set()
    if node is None:
        for esp in ex.process.event_subprocesses(None):
            catches.update(s.id for s in ex.process.start_events(esp.id))
        return catches
    if node.type.value in ("intermediateCatchEvent", "receiveTask", "eventBasedGateway"):
        catches.add(node.id)
        if node.type is ElementType.EVENT_BASED_GATEWAY:
            catches.update(f.target_id for f in ex.process.outgoing_flows(node.id))
    host = events.boundary_host(node)
    if host is not None:
        catches.update(b.id for b in ex.process.boundary_events(host))
    if node.type in (
        ElementType.SUB_PROCESS,
        ElementType.EVENT_SUB_PROCESS,
        ElementType.TRANSACTION,
        ElementType.AD_HOC_SUB_PROCESS,
    ):
        for esp in ex.process.event_subprocesses(node.id):
            catches.update(s.id for s in ex.process.start_events(esp.id))
    return catches


def _repoint_owned_events(
    ex: Execution,
    source: DeployedProcess,
    plan: MigrationPlan,
    owner: ElementInstance,
    node: FlowNode | None,
    instruction: MigrationInstruction | None,
    now: datetime,
    outcome: MigrationOutcome,
) -> None:
    """Keep (re-point) subscriptions and timers whose catch element is mapped, delete those
    the target drops, and subscribe to catch elements the target adds."""
    state = ex.state
    wanted = _event_targets(ex, owner, node)
    kept: set[str] = set()
    owned_subs = [
        s
        for s in state.subscriptions.values()
        if s.element_instance_id == owner.id and s.kind != "compensate"
    ]
    owned_timers = [
        j
        for j in state.jobs.values()
        if j.element_instance_id == owner.id and j.kind == JobKind.TIMER
    ]
    for sub in owned_subs:
        mapped = plan.target_of(sub.element_id) or (
            sub.element_id if sub.element_id == owner.element_id else None
        )
        if sub.element_id == (instruction.source if instruction else None):
            mapped = node.id if node else None
        if mapped is None or mapped not in wanted:
            state.remove(sub)
            outcome.subscriptions_removed.append(sub.id)
            continue
        sub.element_id = mapped
        sub.definition_id = ex.deployed.definition_id
        catch_instruction = plan.instruction_for(sub.element_id) or instruction
        if catch_instruction is not None and catch_instruction.update_event_trigger:
            _refresh_subscription(ex, owner, sub)
        state.touch(sub)
        kept.add(mapped)
    for job in owned_timers:
        catch_id = str((job.payload or {}).get("catch", job.element_id))
        mapped = plan.target_of(catch_id)
        if (
            catch_id == (instruction.source if instruction else None)
            or catch_id == owner.element_id
        ):
            mapped = node.id if node else mapped
        if mapped is None or mapped not in wanted:
            state.remove(job)
            outcome.subscriptions_removed.append(job.id)
            continue
        catch_instruction = plan.instruction_for(catch_id)
        policy = (
            catch_instruction.timers
            if catch_instruction and catch_instruction.timers
            else plan.timers
        )
        _retime(ex, job, ex.process.node(mapped), policy, now, owner)
        job.payload = {**(job.payload or {}), "catch": mapped}
        job.element_id = owner.element_id
        job.definition_id = ex.deployed.definition_id
        state.touch(job)
        kept.add(mapped)
        outcome.timers[job.id] = job.due_at.isoformat() if job.due_at else ""
    for job in [
        j
        for j in state.jobs.values()
        if j.element_instance_id == owner.id and j.kind != JobKind.TIMER
    ]:
        job.element_id = owner.element_id
        job.definition_id = ex.deployed.definition_id
        state.touch(job)
    for catch_id in sorted(wanted - kept):
        catch = ex.process.node(catch_id)
        if (
            node is not None
            and catch_id == node.id
            and node.type is not ElementType.EVENT_BASED_GATEWAY
        ):
            continue  # the element's own wait state: kept above or it never subscribed
        if (
            node is not None
            and node.type is ElementType.EVENT_BASED_GATEWAY
            and catch_id == node.id
        ):
            continue
        before = set(state.subscriptions) | set(state.jobs)
        for definition in catch.event_definitions:
            events.subscribe_definition(ex, owner, catch, definition)
        if (
            catch.message_ref is not None
            and node is not None
            and node.type is ElementType.EVENT_BASED_GATEWAY
        ):
            events.subscribe_message(ex, owner, catch, catch.message_ref)
        outcome.subscriptions_added.extend(
            sorted((set(state.subscriptions) | set(state.jobs)) - before)
        )


def _refresh_subscription(ex: Execution, owner: ElementInstance, sub: Any) -> None:
    catch = ex.process.node(sub.element_id)
    ref = catch.message_ref or next(
        (d.ref for d in catch.event_definitions if d.type is EventDefinitionType.MESSAGE), None
    )
    message = ex.deployed.definitions.messages.get(ref or "")
    if message is not None:
        sub.name = message.name or message.id
        if message.correlation_key is not None:
            value = ex.evaluate(message.correlation_key, owner.id)
            sub.correlation_key = None if value is None else events.correlation_key_text(value)


def _retime(
    ex: Execution, job: Any, catch: FlowNode, policy: str, now: datetime, owner: ElementInstance
) -> None:
    if policy == "keep":
        return
    definition = next(
        (d for d in catch.event_definitions if d.type is EventDefinitionType.TIMER), None
    )
    if definition is None or definition.timer is None:
        return
    value = ex.evaluate(definition.timer.expression, owner.id)
    if policy == "reset":
        job.due_at = parse_timer(definition.timer.kind.value, value, now).due_at
    else:  # keep_elapsed: the time already waited counts against the new duration
        job.due_at = parse_timer(definition.timer.kind.value, value, job.created_at).due_at


def _repoint_root_subscriptions(
    ex: Execution,
    source: DeployedProcess,
    plan: MigrationPlan,
    root: ElementInstance,
    outcome: MigrationOutcome,
) -> None:
    _repoint_owned_events(ex, source, plan, root, None, None, ex.now, outcome)


def _migrate_variables(ex: Execution, plan: MigrationPlan, outcome: MigrationOutcome) -> None:
    state = ex.state
    root_id = state.instance.id
    for scope, variables in plan.set_variables:
        scope_ids = (
            [root_id]
            if scope is None
            else [e.id for e in state.elements.values() if e.element_id == scope]
        )
        if scope is not None and not scope_ids:
            raise InvalidArgumentError(f"set_variables scope '{scope}' has no instance to set on")
        for scope_id in scope_ids:
            ex.set_variables(scope_id, variables, local=True)
            outcome.variables_set.extend(variables)
    if plan.transform is not None:
        before = dict(state.visible_variables(root_id))
        try:
            after = plan.transform(dict(before))
        except MidflightError:
            raise
        except Exception as exc:  # the user's function failed: the instance is skipped
            raise InvalidArgumentError(
                f"transform {getattr(plan.transform, '__name__', 'function')} raised "
                f"{type(exc).__name__}: {exc}"
            ) from None
        if not isinstance(after, Mapping):
            raise InvalidArgumentError(
                f"transform must return a dict of variables, not {type(after).__name__}"
            )
        checked = checked_variables(after) or {}
        for name, value in checked.items():
            if name not in before or before[name] != value:
                ex.set_variable(root_id, name, value)
                outcome.variables_set.append(name)
        for name in set(before) - set(checked):
            variable = state.scope_variables(root_id).get(name)
            if variable is not None:
                state.remove(variable)
                ex.history("variable.deleted", None, {"name": name, "scope_id": root_id})
                outcome.variables_removed.append(name)
    _require_variable_contract(ex, plan)


def _require_variable_contract(ex: Execution, plan: MigrationPlan) -> None:
    variables = ex.state.visible_variables(ex.state.instance.id)
    missing = [n for n in plan.required_variables if n not in variables]
    if missing:
        raise InvalidArgumentError(
            f"the target requires variables {', '.join(missing)}, which the instance lacks"
        )
    if plan.variables_schema is not None:
        import jsonschema

        try:
            jsonschema.validate(_jsonable(variables), dict(plan.variables_schema))
        except jsonschema.ValidationError as exc:
            path = "/".join(str(p) for p in exc.absolute_path) or "(variables)"
            raise InvalidArgumentError(
                f"variables break the target's schema at {path}: {exc.message}"
            ) from None


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
