"""The modification API: fluent builders, preview, execution as an operation, undo."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from midflight.change import (
    ModificationInstruction,
    apply_instructions,
    restore_rows,
    snapshot,
    soundness_warnings,
)
from midflight.engine._migration import Selection
from midflight.engine._types import ActivityInstance, ProcessInstance
from midflight.errors import InvalidArgumentError, NotFoundError, ProcessEngineError
from midflight.runtime.execution import Execution, FollowUp
from midflight.runtime.state import HistoryEvent
from midflight.runtime.variables import checked_variables

if TYPE_CHECKING:
    from midflight.engine._engine import Engine
    from midflight.engine._migration import Batch
    from midflight.store import StoreTransaction

__all__ = [
    "ModificationBatchResult",
    "ModificationPreview",
    "ModificationResult",
    "MultipleInstanceModification",
    "ProcessInstanceModification",
    "ProcessInstantiation",
]


@dataclass(frozen=True, slots=True)
class ModificationPreview:
    """What a modification would do, computed and rolled back.

    ``tree`` is None when the instance would end (cancelled: nothing left active).
    """

    process_instance_id: str
    tree: ActivityInstance | None
    created: list[str]  # element instance ids that would be created
    cancelled: list[str]  # element instance ids that would be cancelled
    warnings: list[str]
    state: str


@dataclass(frozen=True, slots=True)
class ModificationResult:
    operation_id: str
    process_instance_id: str
    tree: ActivityInstance | None
    created: list[str]
    cancelled: list[str]
    warnings: list[str]
    state: str


@dataclass(frozen=True, slots=True)
class ModificationBatchResult:
    operation_id: str
    modified: list[str]
    failed: dict[str, str] = field(default_factory=dict)  # process instance id -> reason
    warnings: dict[str, list[str]] = field(default_factory=dict)


class _Rollback(Exception):
    """Carries a preview out of a transaction that must not commit."""

    def __init__(self, preview: ModificationPreview) -> None:
        self.preview = preview


class _InstructionBuilder:
    def __init__(self) -> None:
        self._instructions: list[ModificationInstruction] = []
        self._annotation: str | None = None

    def _add(self, kind: str, target: str, ancestor: str | None = None) -> Any:
        self._instructions.append(ModificationInstruction(kind, target, ancestor))
        return self

    def start_before(self, element_id: str, ancestor: str | None = None) -> Any:
        """Start before an element (respects async before: a transition instance waits)."""
        return self._add("start_before", element_id, ancestor)

    def start_after(self, element_id: str, ancestor: str | None = None) -> Any:
        """Start on the single outgoing flow of an element (async after is not considered)."""
        return self._add("start_after", element_id, ancestor)

    def start_transition(self, sequence_flow_id: str, ancestor: str | None = None) -> Any:
        return self._add("start_transition", sequence_flow_id, ancestor)

    def cancel_all(self, element_id: str) -> Any:
        """Cancel every activity and transition instance of an element."""
        return self._add("cancel_all", element_id)

    def _attach(self, *, variables: Mapping[str, Any], local: bool) -> Any:
        if not self._instructions or not self._instructions[-1].starts:
            raise InvalidArgumentError(
                "set_variable(s) attaches to the previous start instruction; add one first"
            )
        checked = checked_variables(variables) or {}
        last = self._instructions[-1]
        if local:
            last = replace(last, local_variables={**last.local_variables, **checked})
        else:
            last = replace(last, variables={**last.variables, **checked})
        self._instructions[-1] = last
        return self

    def set_variable(self, name: str, value: Any) -> Any:
        return self._attach(variables={name: value}, local=False)

    def set_variables(self, variables: Mapping[str, Any]) -> Any:
        return self._attach(variables=variables, local=False)

    def set_variable_local(self, name: str, value: Any) -> Any:
        return self._attach(variables={name: value}, local=True)

    def set_variables_local(self, variables: Mapping[str, Any]) -> Any:
        return self._attach(variables=variables, local=True)

    def annotate(self, text: str) -> Any:
        self._annotation = text
        return self

    @property
    def instructions(self) -> list[ModificationInstruction]:
        return list(self._instructions)


class ProcessInstanceModification(_InstructionBuilder):
    """``engine.modify(process_instance_id)``: instructions for one instance."""

    def __init__(self, engine: Engine, process_instance_id: str) -> None:
        super().__init__()
        self._engine = engine
        self._process_instance_id = process_instance_id

    def cancel_activity_instance(self, activity_instance_id: str) -> ProcessInstanceModification:
        return self._add("cancel_activity_instance", activity_instance_id)  # type: ignore[no-any-return]

    def cancel_transition_instance(
        self, transition_instance_id: str
    ) -> ProcessInstanceModification:
        return self._add("cancel_transition_instance", transition_instance_id)  # type: ignore[no-any-return]

    def preview(
        self, *, skip_listeners: bool = False, skip_io_mappings: bool = False
    ) -> ModificationPreview:
        """The outcome without committing anything: tree, created, cancelled, warnings."""
        try:
            with self._engine._tx() as tx:
                outcome = _modify_one(
                    self._engine,
                    tx,
                    self._process_instance_id,
                    self._instructions,
                    skip_listeners=skip_listeners,
                    skip_io_mappings=skip_io_mappings,
                    strict=False,
                    record=None,
                )
                raise _Rollback(outcome)
        except _Rollback as rollback:
            return rollback.preview

    def execute(
        self,
        *,
        skip_listeners: bool = False,
        skip_io_mappings: bool = False,
        strict: bool = False,
        operator: str | None = None,
    ) -> ModificationResult:
        """Carry out every instruction, or none (any error rolls everything back).

        Raises:
            NotFoundError / InvalidArgumentError: an instruction names what does not exist or
                cannot be done; the message names the instruction.
            ProcessEngineError: the instance has ended, or ``strict`` and the outcome would
                leave tokens that can never complete.
        """
        engine = self._engine
        operation_id = engine._ctx.new_id()
        data = _operation_data(self._instructions, self._annotation, operator)
        with engine._tx() as tx:
            preview = _modify_one(
                engine,
                tx,
                self._process_instance_id,
                self._instructions,
                skip_listeners=skip_listeners,
                skip_io_mappings=skip_io_mappings,
                strict=strict,
                record=(operation_id, data),
            )
            tx.insert(
                "operations",
                [
                    {
                        "id": operation_id,
                        "kind": "modification",
                        "state": "COMPLETED",
                        "created_at": engine._now(),
                        "updated_at": None,
                        "revision": 1,
                        "data": {**data, "process_instance_ids": [self._process_instance_id]},
                    }
                ],
            )
        return ModificationResult(operation_id=operation_id, **_fields(preview))


class ProcessInstantiation(_InstructionBuilder):
    """A new instance started at chosen elements instead of its start event (seed 003, "in
    JUnit tests"; Camunda's ``createProcessInstanceByKey(key).startBeforeActivity(...)``).

    Only start instructions; they run in order on the empty instance as a modification's do
    (nested instantiation, variables), and an instance left with nothing active is cancelled.
    """

    def __init__(
        self,
        engine: Engine,
        key: str,
        *,
        business_key: str | None = None,
        version: int | None = None,
    ) -> None:
        super().__init__()
        self._engine = engine
        self._key = key
        self._business_key = business_key
        self._version = version

    def _add(self, kind: str, target: str, ancestor: str | None = None) -> Any:
        if not kind.startswith("start"):
            raise InvalidArgumentError(
                f"a new instance can only be started at elements, not given {kind}('{target}')"
            )
        return super()._add(kind, target, ancestor)

    def execute(
        self, *, skip_listeners: bool = False, skip_io_mappings: bool = False
    ) -> ProcessInstance:
        """Create the instance and carry out every instruction, or nothing at all.

        Raises:
            NotFoundError: no such process (version), or an instruction names an unknown
                element or flow.
            InvalidArgumentError: no instruction, or one that cannot be carried out.
            ProcessEngineError: the process version is suspended.
        """
        from midflight.engine._engine import _instance_info

        engine = self._engine
        if not self._instructions:
            raise InvalidArgumentError("name at least one element to start the instance at")
        with engine._tx() as tx:
            row = tx.find_definition(self._key, version=self._version)
            if row is None:
                pinned = f" version {self._version}" if self._version is not None else ""
                raise NotFoundError(f"no deployed process '{self._key}'{pinned}")
            if row["suspended"]:
                raise ProcessEngineError(
                    f"process definition '{row['id']}' is suspended; activate it to start instances"
                )
            ex = Execution.start_instance(
                engine._deployed_process(tx, row["id"]),
                engine._ctx,
                process_instance_id=engine._ctx.new_id(),
                business_key=self._business_key,
                run_start_event=False,
            )
            ex.skip_listeners = skip_listeners
            ex.skip_io_mappings = skip_io_mappings
            apply_instructions(ex, self._instructions)
            ex.run()
            engine._save(tx, ex.state)
            engine._follow_up(tx, ex.follow_ups)
            return _instance_info(ex.state.instance)


class MultipleInstanceModification(_InstructionBuilder):
    """``engine.modify_many(definition_id)``: the same instructions for many instances."""

    def __init__(self, engine: Engine, definition_id: str) -> None:
        super().__init__()
        self._engine = engine
        self._definition_id = definition_id
        self._ids: list[str] = []
        self._query: Mapping[str, Any] | None = None

    def process_instances(
        self, ids: list[str] | None = None, query: Mapping[str, Any] | None = None
    ) -> MultipleInstanceModification:
        """Select instances: the union of ``ids`` and the instances matching ``query``."""
        self._ids.extend(ids or [])
        self._query = query
        return self

    def _selection(self) -> list[str]:
        for kind in ("cancel_activity_instance", "cancel_transition_instance"):
            if any(i.kind == kind for i in self._instructions):
                raise InvalidArgumentError(f"{kind} names one instance's ids; use modify(id)")
        selected = list(dict.fromkeys(self._ids))
        if self._query is not None:
            chosen = set(selected)  # a query may select hundreds of thousands
            found = self._engine._instance_ids(
                {**self._query, "definition_id": self._definition_id}
            )
            selected.extend(pid for pid in found if pid not in chosen)
        if not selected:
            raise InvalidArgumentError("no process instances selected for modification")
        return selected

    def execute(
        self, *, skip_listeners: bool = False, skip_io_mappings: bool = False, strict: bool = False
    ) -> ModificationBatchResult:
        """Modify every selected instance, each atomically in its own transaction."""
        engine = self._engine
        selected = self._selection()
        operation_id = engine._ctx.new_id()
        data = _operation_data(self._instructions, self._annotation, None)
        modified, failed, warnings = modify_each(
            engine,
            self._definition_id,
            self._instructions,
            selected,
            operation_id=operation_id,
            data=data,
            skip_listeners=skip_listeners,
            skip_io_mappings=skip_io_mappings,
            strict=strict,
        )
        with engine._tx() as tx:
            tx.insert(
                "operations",
                [
                    {
                        "id": operation_id,
                        "kind": "modification",
                        "state": "COMPLETED" if not failed else "COMPLETED_WITH_FAILURES",
                        "created_at": engine._now(),
                        "updated_at": None,
                        "revision": 1,
                        "data": {**data, "process_instance_ids": modified, "failed": failed},
                    }
                ],
            )
        return ModificationBatchResult(operation_id, modified, failed, warnings)

    def execute_async(
        self,
        *,
        batch_size: int = 500,
        skip_listeners: bool = False,
        skip_io_mappings: bool = False,
        strict: bool = False,
        start: bool = True,
    ) -> Batch:
        """Modify the selected instances in the background, ``batch_size`` a step, with a
        persisted cursor (``engine.batch(id)`` shows progress; undo with ``engine.undo``)."""
        selected = self._selection()
        data = {
            "operation": "modification",
            "definition_id": self._definition_id,
            **_operation_data(self._instructions, self._annotation, None),
            "skip_listeners": skip_listeners,
            "skip_io_mappings": skip_io_mappings,
            "strict": strict,
        }
        return self._engine._create_batch(
            Selection(self._engine, selected), data, batch_size=batch_size, start=start
        )


def modify_each(
    engine: Engine,
    definition_id: str,
    instructions: list[ModificationInstruction],
    ids: list[str],
    *,
    operation_id: str,
    data: dict[str, Any],
    skip_listeners: bool,
    skip_io_mappings: bool,
    strict: bool,
) -> tuple[list[str], dict[str, str], dict[str, list[str]]]:
    """Modify each instance atomically in its own transaction; a failure skips it, whole."""
    modified: list[str] = []
    failed: dict[str, str] = {}
    warnings: dict[str, list[str]] = {}
    for process_instance_id in ids:
        try:
            with engine._tx() as tx:
                row = tx.get_process_instance(process_instance_id)
                if row is None or row["definition_id"] != definition_id:
                    raise NotFoundError(
                        f"process instance '{process_instance_id}' is not an instance of "
                        f"'{definition_id}'"
                    )
                outcome = _modify_one(
                    engine,
                    tx,
                    process_instance_id,
                    instructions,
                    skip_listeners=skip_listeners,
                    skip_io_mappings=skip_io_mappings,
                    strict=strict,
                    record=(operation_id, data),
                )
            modified.append(process_instance_id)
            if outcome.warnings:
                warnings[process_instance_id] = outcome.warnings
        except (NotFoundError, InvalidArgumentError, ProcessEngineError) as exc:
            failed[process_instance_id] = str(exc)
    return modified, failed, warnings


def _operation_data(
    instructions: list[ModificationInstruction], annotation: str | None, operator: str | None
) -> dict[str, Any]:
    if not instructions:
        raise InvalidArgumentError("a modification needs at least one instruction")
    return {
        "instructions": [i.to_json() for i in instructions],
        "annotation": annotation,
        "operator": operator,
    }


def _fields(preview: ModificationPreview) -> dict[str, Any]:
    return {
        "process_instance_id": preview.process_instance_id,
        "tree": preview.tree,
        "created": preview.created,
        "cancelled": preview.cancelled,
        "warnings": preview.warnings,
        "state": preview.state,
    }


def _modify_one(
    engine: Engine,
    tx: StoreTransaction,
    process_instance_id: str,
    instructions: list[ModificationInstruction],
    *,
    skip_listeners: bool,
    skip_io_mappings: bool,
    strict: bool,
    record: tuple[str, dict[str, Any]] | None,
) -> ModificationPreview:
    from midflight.engine._engine import _tree, _tree_data

    outcome: dict[str, Any] = {}

    def action(ex: Execution) -> None:
        before_ids = set(ex.state.elements)
        before = snapshot(ex.state)
        tree_before = _tree(ex.state, ex.deployed, ex.state.elements[process_instance_id])
        ex.skip_listeners = skip_listeners
        ex.skip_io_mappings = skip_io_mappings
        apply_instructions(ex, instructions)
        warnings = soundness_warnings(ex)
        if strict and warnings:
            raise ProcessEngineError(
                "the modification would leave tokens that can never complete (strict mode): "
                + "; ".join(warnings)
            )
        root = ex.state.elements.get(process_instance_id)
        tree_after = _tree(ex.state, ex.deployed, root) if root is not None else None
        outcome.update(
            tree=tree_after,
            created=sorted(set(ex.state.elements) - before_ids),
            cancelled=sorted(
                before_ids - set(ex.state.elements) - {process_instance_id}
                if root is not None
                else before_ids - set(ex.state.elements)
            ),
            warnings=warnings,
            state=str(ex.state.instance.state),
        )
        if record is not None:
            operation_id, data = record
            ex.history(
                "process.modified",
                None,
                {
                    **data,
                    "operation_id": operation_id,
                    "tree_before": _tree_data(tree_before),
                    "tree_after": _tree_data(tree_after) if tree_after else None,
                    "warnings": warnings,
                    "snapshot": before,
                    # what undo checks: the instance's revision once this command is saved
                    # (every save raises it by one) and the effects on other instances
                    "revision_after": ex.state.instance.revision + 1,
                    "effects": [_effect(ex, f) for f in ex.follow_ups],
                },
            )

    engine._run(tx, process_instance_id, action)
    return ModificationPreview(process_instance_id=process_instance_id, **outcome)


def _effect(ex: Execution, follow_up: FollowUp) -> str:
    """A modification's effect on another process instance, in words."""
    owner = ex.state.elements.get(follow_up.element_instance_id or "")
    element = f"'{owner.element_id}'" if owner is not None else "a call activity"
    if follow_up.kind == "start_child":
        return f"started a called process instance for {element}"
    if follow_up.kind == "cancel_child":
        return f"cancelled the called process instance of {element}"
    if follow_up.kind == "signal":
        return f"broadcast the signal '{follow_up.data.get('name')}'"
    return f"notified its calling process instance ({follow_up.kind.replace('_', ' ')})"


def undo_operation(engine: Engine, operation_id: str) -> dict[str, str]:
    """Restore every instance of an operation that has not moved on since.

    Returns process instance id -> "restored" or the reason it was left alone.

    Raises:
        NotFoundError: no such operation.
        ProcessEngineError: no instance could be restored (each reason is in the message).
    """
    with engine._tx() as tx:
        operation = tx.get_row("operations", operation_id)
    if operation is None:
        raise NotFoundError(f"no operation '{operation_id}'")
    if operation["state"] == "UNDONE":
        raise ProcessEngineError(f"operation '{operation_id}' was undone already")
    outcome: dict[str, str] = {}
    data = operation["data"] or {}
    # A modification lists its instances; a migration or a batch has an item per instance.
    ids: Iterable[str] = (
        data["process_instance_ids"]
        if "process_instance_ids" in data
        else (item.process_instance_id for item in engine.operation_items(operation_id, "DONE"))
    )
    for process_instance_id in ids:
        try:
            with engine._tx() as tx:
                _undo_instance(engine, tx, operation_id, process_instance_id)
            outcome[process_instance_id] = "restored"
        except ProcessEngineError as exc:
            outcome[process_instance_id] = str(exc)
    restored = [pid for pid, how in outcome.items() if how == "restored"]
    if not restored:
        raise ProcessEngineError(
            f"operation '{operation_id}' cannot be undone: "
            + "; ".join(f"{pid}: {why}" for pid, why in outcome.items())
        )
    with engine._tx() as tx:
        row = tx.get_row("operations", operation_id)
        assert row is not None
        row["data"] = {**(row["data"] or {}), "undo": outcome}
        row["state"] = "UNDONE" if len(restored) == len(outcome) else "PARTIALLY_UNDONE"
        row["updated_at"] = engine._now()
        tx.update("operations", [row])
    return outcome


def _undo_instance(
    engine: Engine, tx: StoreTransaction, operation_id: str, process_instance_id: str
) -> None:
    history = tx.list_history(process_instance_id)
    marks = [
        (position, h)
        for position, h in enumerate(history)
        if (h["data"] or {}).get("operation_id") == operation_id
        and h["event"] in ("process.modified", "process.migrated")
    ]
    if not marks:
        raise ProcessEngineError("the operation left no record in this instance's history")
    position, mark = marks[-1]
    later = [h["event"] for h in history[position + 1 :]]
    if later:
        raise ProcessEngineError(
            "the instance has moved on since the operation: "
            + ", ".join(later[:10])
            + (" ..." if len(later) > 10 else "")
        )
    effects = mark["data"].get("effects") or []
    if effects:
        raise ProcessEngineError(
            "the operation reached other process instances, which undo cannot take back: "
            + "; ".join(effects)
        )
    current = tx.get_process_instance_for_update(process_instance_id)
    assert current is not None
    expected = mark["data"].get("revision_after")
    if expected is not None and current["revision"] != expected:
        raise ProcessEngineError(
            "the instance has moved on since the operation: another command changed it "
            f"(revision {current['revision']}, {expected} right after the operation)"
        )
    setwise = mark["data"].get("setwise")
    if setwise is not None:
        # A set-wise migration only re-pointed rows: point them back.
        from midflight.engine._migration import _apply_renames

        source_id, key, version = setwise["source"]
        source = engine._deployed_process(tx, source_id)
        backwards = {new: old for old, new in setwise["renames"].items()}
        _apply_renames(tx, backwards, [process_instance_id], source)
        tx.update_where(
            "process_instances",
            {"definition_id": source_id, "definition_key": key, "definition_version": version},
            process_instance_ids=[process_instance_id],
        )
    else:
        instance, rows = restore_rows(mark["data"]["snapshot"])
        live = tx.load_instance_rows(process_instance_id)
        _refuse_locked_jobs(live.get("jobs", []), rows.get("jobs", []), engine._now())
        instance["revision"] = current["revision"]
        tx.apply(
            {t: r for t, r in rows.items() if r},
            {"process_instances": [instance]},
            {t: r for t, r in live.items() if r},
        )
    now = engine._now()
    undone = HistoryEvent(
        engine._ctx.new_id(),
        process_instance_id,
        now,
        "operation.undone",
        data={"operation_id": operation_id},
    )
    tx.insert_history([undone.values()])


def _refuse_locked_jobs(
    live: list[dict[str, Any]], restored: list[dict[str, Any]], now: datetime
) -> None:
    """A job a worker holds (its lock not run out) must come back as it is, or undo waits:
    handing a job to a worker leaves no history entry and does not touch the instance."""
    kept = {r["id"]: r for r in restored}
    for job in live:
        locked = job["worker"] is not None and (
            job["lock_expires_at"] is None or job["lock_expires_at"] > now
        )
        if locked and kept.get(job["id"], {}).get("worker") != job["worker"]:
            raise ProcessEngineError(
                f"the instance has moved on since the operation: job '{job['id']}' "
                f"({job['type']} at '{job['element_id']}') is locked by worker "
                f"'{job['worker']}'; let it finish or its lock run out first"
            )
