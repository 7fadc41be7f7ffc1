"""The migration API: plan builder, per-instance validation and dry run, migration of one or
many instances (each atomic), and batches that run in the background with a persisted cursor."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from midflight.change import snapshot
from midflight.change.migration import (
    TIMER_POLICIES,
    MigrationInstruction,
    MigrationOutcome,
    MigrationPlan,
    MigrationPlanValidationError,
    map_equal_activities,
    migrate_instance,
)
from midflight.errors import (
    ConcurrentModificationError,
    InvalidArgumentError,
    MidflightError,
    ProcessEngineError,
)
from midflight.runtime.execution import DeployedProcess, Execution
from midflight.runtime.state import InstanceState, ProcessInstanceRecord, ProcessInstanceState
from midflight.runtime.variables import checked_variables

if TYPE_CHECKING:
    from midflight.engine._engine import Engine
    from midflight.store import StoreTransaction

__all__ = [
    "Batch",
    "InstanceMigrationReport",
    "MigrationPlanBuilder",
    "MigrationResult",
    "MigrationValidationReport",
]

_LIVE = (ProcessInstanceState.ACTIVE, ProcessInstanceState.SUSPENDED)

#: Instances a step: read from the database, migrated set-wise in one transaction, recorded.
#: Memory stays flat in the size of a selection; steps are big enough that their fixed costs
#: (a representative migrated in memory, a few statements, a commit) vanish per instance.
PAGE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class Selection:
    """The instances an operation works on: those named, then those matching a query (in id
    order, the named ones left out). The query's ids are read a page at a time (keyset
    pagination by id), so a selection of millions never sits in memory."""

    engine: Engine
    named: Sequence[str]
    filters: Mapping[str, Any] | None = None  # of StoreTransaction.list_process_instance_ids

    def pages(
        self, tx: StoreTransaction | None = None, size: int | None = None
    ) -> Iterator[list[str]]:
        """The selected ids, ``size`` (default ``PAGE_SIZE``) at a time; the query's pages are
        read in ``tx``, or each in a read transaction of its own (nothing stays open between
        pages)."""
        size = size or PAGE_SIZE
        for start in range(0, len(self.named), size):
            yield list(self.named[start : start + size])
        if self.filters is None:
            return
        named = set(self.named)
        after: str | None = None
        while True:
            if tx is None:
                with self.engine._tx(read_only=True) as own:
                    page = own.list_process_instance_ids(after=after, limit=size, **self.filters)
            else:
                page = tx.list_process_instance_ids(after=after, limit=size, **self.filters)
            chosen = [pid for pid in page if pid not in named] if named else page
            if chosen:
                yield chosen
            if len(page) < size:
                return
            after = page[-1]

    def is_empty(self) -> bool:
        return next(self.pages(size=1), None) is None


class MigrationPlanBuilder:
    """``engine.migration_plan(source_definition_id, target_definition_id)``."""

    def __init__(self, engine: Engine, source_definition_id: str, target_definition_id: str):
        self._engine = engine
        self._source = source_definition_id
        self._target = target_definition_id
        self._instructions: list[MigrationInstruction] = []
        self._timers = "keep"
        self._set_variables: list[tuple[str | None, Mapping[str, Any]]] = []
        self._transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None
        self._required: tuple[str, ...] = ()
        self._schema: Mapping[str, Any] | None = None
        self._annotation: str | None = None

    def map_equal_activities(self) -> MigrationPlanBuilder:
        """Map every element whose id, type and flow scope are the same in both versions."""
        source, target = self._engine._migration_processes(self._source, self._target)
        explicit = {i.source for i in self._instructions}
        self._instructions.extend(
            i
            for i in map_equal_activities(source.process, target.process)
            if i.source not in explicit
        )
        return self

    def map(
        self,
        source_element_id: str,
        target_element_id: str,
        update_event_trigger: bool = False,
        *,
        timers: str | None = None,
    ) -> MigrationPlanBuilder:
        """Map one element (a later mapping of the same source replaces an earlier one)."""
        self._instructions = [i for i in self._instructions if i.source != source_element_id]
        self._instructions.append(
            MigrationInstruction(source_element_id, target_element_id, update_event_trigger, timers)
        )
        return self

    def timers(self, policy: str) -> MigrationPlanBuilder:
        """``keep`` the due date, ``reset`` it from the target, or ``keep_elapsed``: the time
        already waited counts against the target's duration."""
        if policy not in TIMER_POLICIES:
            raise InvalidArgumentError(
                f"unknown timer policy '{policy}'; use one of {', '.join(TIMER_POLICIES)}"
            )
        self._timers = policy
        return self

    def set_variables(
        self, variables: Mapping[str, Any], scope: str | None = None
    ) -> MigrationPlanBuilder:
        """Set variables on the process (``scope=None``) or on instances of a target element."""
        self._set_variables.append((scope, checked_variables(variables) or {}))
        return self

    def transform(
        self, function: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> MigrationPlanBuilder:
        """A function of the process variables returning the new ones (seed 002's context
        migration); it runs in the instance's migration transaction."""
        if not callable(function):
            raise InvalidArgumentError("transform needs a function(variables) -> variables")
        self._transform = function
        return self

    def require_variables(
        self, contract: Sequence[str] | Mapping[str, Any]
    ) -> MigrationPlanBuilder:
        """The target's contract: variable names, or a JSON schema of the process variables."""
        if isinstance(contract, Mapping):
            self._schema = dict(contract)
        else:
            self._required = tuple(contract)
        return self

    def annotate(self, text: str) -> MigrationPlanBuilder:
        self._annotation = text
        return self

    def build(self) -> MigrationPlan:
        """The validated plan.

        Raises:
            MigrationPlanValidationError: every problem of the plan, each with its instruction.
        """
        plan = MigrationPlan(
            source_definition_id=self._source,
            target_definition_id=self._target,
            instructions=tuple(self._instructions),
            timers=self._timers,
            set_variables=tuple(self._set_variables),
            transform=self._transform,
            required_variables=self._required,
            variables_schema=self._schema,
            annotation=self._annotation,
        )
        return self._engine.check_migration_plan(plan)


@dataclass(frozen=True, slots=True)
class InstanceMigrationReport:
    process_instance_id: str
    can_migrate: bool
    problems: list[str] = field(default_factory=list)
    outcome: dict[str, Any] = field(default_factory=dict)  # what would be kept/created/...
    warnings: list[str] = field(default_factory=list)  # tokens that could never complete


@dataclass(frozen=True, slots=True)
class MigrationValidationReport:
    plan_problems: list[str]
    instances: list[InstanceMigrationReport]

    @property
    def can_migrate_all(self) -> bool:
        return not self.plan_problems and all(i.can_migrate for i in self.instances)


@dataclass(frozen=True, slots=True)
class OperationItem:
    """One process instance of an operation (a migration or a batch), as
    ``engine.operation_items`` lists them."""

    process_instance_id: str
    state: str  # DONE, SKIPPED, or PENDING (a batch's queue)
    reason: str | None = None  # why it was skipped
    warnings: tuple[str, ...] = ()  # a migrated or modified one's soundness warnings

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> OperationItem:
        # A skipped item's reason column says why; a done one's holds its warnings, a line each.
        text = row["reason"]
        if row["state"] == "DONE":
            warnings = tuple(text.split("\n")) if text else ()
            return cls(row["process_instance_id"], "DONE", None, warnings)
        return cls(row["process_instance_id"], row["state"], text)


def item_reason(warnings: Sequence[str]) -> str | None:
    """What a done item's reason column holds: its warnings, a line each."""
    return "\n".join(warnings) or None


@dataclass(slots=True)
class _ResultLists:
    read: bool = False
    migrated: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    warnings: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MigrationResult:
    """What ``engine.migrate`` did. The counts are at hand; ``migrated`` (ids, in the order
    they migrated), ``skipped`` (id -> reason) and ``warnings`` (id -> soundness warnings) are
    read from the operation's items in the database on first use, so a migration of millions
    holds no lists of ids unless asked (``engine.operation_items`` streams them instead)."""

    operation_id: str
    migrated_count: int
    skipped_count: int
    _items: Callable[[], Iterable[OperationItem]] = field(repr=False, compare=False)
    _lists: _ResultLists = field(default_factory=_ResultLists, repr=False, compare=False)

    @property
    def migrated(self) -> list[str]:
        return self._read().migrated

    @property
    def skipped(self) -> dict[str, str]:
        return self._read().skipped

    @property
    def warnings(self) -> dict[str, list[str]]:
        return self._read().warnings

    def _read(self) -> _ResultLists:
        lists = self._lists
        if not lists.read:
            for item in self._items():
                if item.state == "DONE":
                    lists.migrated.append(item.process_instance_id)
                    if item.warnings:
                        lists.warnings[item.process_instance_id] = list(item.warnings)
                else:
                    lists.skipped[item.process_instance_id] = item.reason or ""
            lists.read = True
        return lists


@dataclass(frozen=True, slots=True)
class Batch:
    """A background operation over many instances, with its progress."""

    id: str
    kind: str
    state: str  # RUNNING, PAUSED, CANCELED, COMPLETED
    total: int
    done: int
    skipped: int
    pending: int
    created_at: datetime
    updated_at: datetime | None
    throughput_per_s: float | None
    skipped_reasons: dict[str, str]
    data: dict[str, Any]


class _DryRun(Exception):
    def __init__(self, outcome: MigrationOutcome) -> None:
        self.outcome = outcome


def migrate_one(
    engine: Engine,
    tx: StoreTransaction,
    plan: MigrationPlan,
    process_instance_id: str,
    *,
    operation_id: str | None,
    operator: str | None,
) -> MigrationOutcome:
    """Migrate one instance inside ``tx`` (raise to roll it back)."""
    source = engine._deployed_process(tx, plan.source_definition_id)
    target = engine._deployed_process(tx, plan.target_definition_id)
    state = engine._locked_state(tx, process_instance_id)
    record = state.instance
    if record.definition_id != plan.source_definition_id:
        if operation_id is not None and _migrated_by(tx, process_instance_id, operation_id):
            return MigrationOutcome()  # a resumed batch: it moved before the crash, unrecorded
        raise InvalidArgumentError(
            f"process instance '{process_instance_id}' is an instance of "
            f"'{record.definition_id}', not of the plan's source '{plan.source_definition_id}'"
        )
    if record.state not in _LIVE:
        raise ProcessEngineError(
            f"process instance '{process_instance_id}' has ended ({record.state})"
        )
    before = snapshot(state)
    execution = Execution(state, target, engine._ctx)
    outcome = migrate_instance(execution, source, plan, execution.now)
    execution.history(
        "process.migrated",
        None,
        {
            **_event_data(plan, operation_id, operator, outcome.warnings),
            "outcome": outcome.as_dict(),
            "snapshot": before,
        },
    )
    execution.run()
    engine._save(tx, state)
    engine._follow_up(tx, execution.follow_ups)
    return outcome


def _event_data(
    plan: MigrationPlan, operation_id: str | None, operator: str | None, warnings: list[str]
) -> dict[str, Any]:
    """What every ``process.migrated`` event says, however the instance migrated."""
    return {
        "operation_id": operation_id,
        "source_definition_id": plan.source_definition_id,
        "target_definition_id": plan.target_definition_id,
        "mapping": {i.source: i.target for i in plan.instructions},
        "operator": operator,
        "annotation": plan.annotation,
        "warnings": warnings,
    }


def _migrated_by(tx: StoreTransaction, process_instance_id: str, operation_id: str) -> bool:
    """Whether this operation migrated the instance already: a batch killed after migrating a
    chunk but before recording it finds those instances on the target when it resumes."""
    return any(
        h["event"] == "process.migrated" and (h["data"] or {}).get("operation_id") == operation_id
        for h in tx.list_history(process_instance_id)
    )


_ITEM_COLUMNS = ("process_instance_id", "position", "state", "reason")


def operation_items(
    engine: Engine, operation_id: str, state: str | None = None
) -> Iterator[OperationItem]:
    """``engine.operation_items``: keyset pagination by position, a read transaction a page."""
    after: int | None = None
    while True:
        with engine._tx(read_only=True) as tx:
            rows = tx.list_operation_items(
                operation_id, state, PAGE_SIZE, after_position=after, columns=_ITEM_COLUMNS
            )
        yield from (OperationItem.from_row(row) for row in rows)
        if len(rows) < PAGE_SIZE:
            return
        after = rows[-1]["position"]
        del rows  # before the next page is read: one page in memory, not two


def validate_instances(
    engine: Engine, plan: MigrationPlan, ids: Iterable[str]
) -> list[InstanceMigrationReport]:
    reports = []
    for process_instance_id in ids:
        try:
            with engine._tx() as tx:
                outcome = migrate_one(
                    engine, tx, plan, process_instance_id, operation_id=None, operator=None
                )
                raise _DryRun(outcome)
        except _DryRun as dry:
            reports.append(
                InstanceMigrationReport(
                    process_instance_id,
                    True,
                    [],
                    dry.outcome.as_dict(),
                    dry.outcome.warnings,
                )
            )
        except MigrationPlanValidationError as exc:
            reports.append(
                InstanceMigrationReport(
                    process_instance_id, False, [str(v) for v in exc.violations]
                )
            )
        except MidflightError as exc:
            reports.append(InstanceMigrationReport(process_instance_id, False, [str(exc)]))
    return reports


class ItemLog:
    """The items of a migration that is not a batch (``engine.migrate``): each instance's,
    written in the transaction that migrated it (undo reads them) or, if it was skipped,
    right after, at the next position. A transaction that rolls back leaves a gap in the
    positions, nothing else."""

    def __init__(self, operation_id: str, now: datetime) -> None:
        self.operation_id = operation_id
        self.now = now
        self.position = 0

    def record(
        self, tx: StoreTransaction, ids: Sequence[str], state: str, reason: str | None = None
    ) -> None:
        tx.insert_operation_items(
            self.operation_id,
            ids,
            first_position=self.position,
            state=state,
            updated_at=self.now,
            reason=reason,
        )
        self.position += len(ids)


@dataclass
class ChunkResult:
    """What ``migrate_many`` did with the instances it was given."""

    migrated: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # id -> reason
    warnings: dict[str, list[str]] = field(default_factory=dict)  # id -> soundness warnings


def migrate_many(
    engine: Engine,
    plan: MigrationPlan,
    ids: Sequence[str],
    *,
    operation_id: str,
    operator: str | None,
    items: ItemLog | None = None,
) -> ChunkResult:
    """Migrate ``ids``; each instance lands whole or not at all, and one that fails is skipped
    with its reason. Instances of one shape (the same active elements, subscriptions and
    timers) move set-wise, a few statements for the lot; the rest one by one. ``items``:
    record each instance as an item of the operation (see ``ItemLog``)."""
    result = ChunkResult()
    setwise = (
        plan.transform is None
        and not plan.set_variables
        and not plan.required_variables
        and plan.variables_schema is None
        and not any(i.update_event_trigger for i in plan.instructions)
        and _renames_are_unchained(plan)
    )
    for start in range(0, len(ids), PAGE_SIZE):  # a batch's step may be bigger
        part = list(ids[start : start + PAGE_SIZE])
        if setwise and len(part) > 1:
            try:
                with engine._tx() as tx:
                    moved = _migrate_setwise(engine, tx, plan, part, operation_id, operator, items)
            except ConcurrentModificationError:
                moved = ChunkResult()  # another engine got in between: go one by one
            result.migrated.extend(moved.migrated)
            result.warnings.update(moved.warnings)
            if moved.migrated:
                done = set(moved.migrated)
                part = [pid for pid in part if pid not in done]
        for process_instance_id in part:
            try:
                with engine._tx() as tx:
                    outcome = migrate_one(
                        engine,
                        tx,
                        plan,
                        process_instance_id,
                        operation_id=operation_id,
                        operator=operator,
                    )
                    if items is not None:
                        reason = item_reason(outcome.warnings)
                        items.record(tx, [process_instance_id], "DONE", reason)
            except MidflightError as exc:
                why = _skip_reason(exc)
                result.skipped[process_instance_id] = why
                if items is not None:
                    with engine._tx() as tx:
                        items.record(tx, [process_instance_id], "SKIPPED", why)
                continue
            result.migrated.append(process_instance_id)
            if outcome.warnings:
                result.warnings[process_instance_id] = outcome.warnings
    return result


def _skip_reason(exc: MidflightError) -> str:
    if isinstance(exc, ConcurrentModificationError):
        return f"changed concurrently, retry it: {exc}"
    if isinstance(exc, MigrationPlanValidationError):
        return "; ".join(str(v) for v in exc.violations)
    return str(exc)


def _renames_are_unchained(plan: MigrationPlan) -> bool:
    # Set-wise renames run one UPDATE per mapping, and undo runs them backwards: a target that
    # is another mapping's source, or two sources onto one target, would not reverse cleanly.
    renames = [(i.source, i.target) for i in plan.instructions]
    sources = {s for s, _ in renames}
    targets = [t for _, t in renames]
    return len(targets) == len(set(targets)) and not any(t in sources for s, t in renames if s != t)


def _migrate_setwise(
    engine: Engine,
    tx: StoreTransaction,
    plan: MigrationPlan,
    ids: list[str],
    operation_id: str,
    operator: str | None,
    items: ItemLog | None,
) -> ChunkResult:
    """Migrate the instances of ``ids`` whose shape migrates by pure re-pointing (no scope,
    subscription or timer created or removed): one instance of each shape is migrated in
    memory to prove it, then UPDATEs move the whole group. Returns those migrated."""
    from midflight.engine._engine import _RECORD_BY_TABLE

    source = engine._deployed_process(tx, plan.source_definition_id)
    target = engine._deployed_process(tx, plan.target_definition_id)
    # The shapes are computed by the database, and only the live instances of the source
    # come back (locked): ended or already migrated ones go the one-by-one way, which says why.
    groups: dict[tuple[str | None, ...], list[str]] = {}
    for pid, *shape in tx.migration_shapes(ids, plan.source_definition_id):
        assert pid is not None
        groups.setdefault(tuple(shape), []).append(pid)
    result = ChunkResult()
    now = engine._now()
    renames = {i.source: i.target for i in plan.instructions if i.source != i.target}
    if source.process.id != target.process.id:
        renames[source.process.id] = target.process.id
    for members in groups.values():
        if len(members) < 2:
            continue
        representative = members[0]
        full = tx.load_instance_rows(representative)
        records = [_RECORD_BY_TABLE[t](**r) for t, table_rows in full.items() for r in table_rows]
        record = tx.get_process_instance(representative)
        assert record is not None
        state = InstanceState.load(ProcessInstanceRecord(**record), records)
        execution = Execution(state, target, engine._ctx)
        try:
            outcome = migrate_instance(execution, source, plan, now)
        except MidflightError:
            continue  # the one-by-one path reports why
        if not _pure(outcome, state, full):
            continue
        present = {  # the same shape: what the representative has, every member has
            t: {r["element_id"] for r in table_rows}
            for t, table_rows in full.items()
            if table_rows and t != "variables"
        }
        _apply_renames(tx, renames, members, target, present)
        changed = tx.update_where(
            "process_instances",
            {
                "definition_id": target.definition_id,
                "definition_key": target.key,
                "definition_version": target.version,
            },
            process_instance_ids=members,
            equals={"definition_id": plan.source_definition_id},
        )
        if changed != len(members):
            raise ConcurrentModificationError("instances changed while migrating set-wise")
        data = {
            **_event_data(plan, operation_id, operator, outcome.warnings),
            # Undo reverses these renames: a set-wise migration only re-pointed rows.
            "setwise": {
                "renames": renames,
                "source": [source.definition_id, source.key, source.version],
            },
        }
        tx.insert_history_of_instances(
            members,
            event="process.migrated",
            data=data,
            timestamp=now,
            id_prefix=engine._ctx.new_id(),
        )
        if items is not None:
            items.record(tx, members, "DONE", item_reason(outcome.warnings))
        result.migrated.extend(members)
        if outcome.warnings:
            result.warnings.update((pid, outcome.warnings) for pid in members)
    return result


def _apply_renames(
    tx: StoreTransaction,
    renames: Mapping[str, str],
    members: Sequence[str],
    target: DeployedProcess,
    present: Mapping[str, set[str]] | None = None,
) -> None:
    """Re-point every row of ``members`` from the old elements to the new ones and the
    target definition (also used backwards by undo). ``present``: the element ids each table
    holds for these instances, to skip statements that would change nothing."""
    tables = (
        "element_instances",
        "user_tasks",
        "jobs",
        "event_subscriptions",
        "incidents",
        "join_tokens",
    )
    for old, new in renames.items():
        for table in tables:
            if present is not None and old not in present.get(table, ()):
                continue
            values: dict[str, Any] = {"element_id": new}
            if table == "element_instances" and target.process.has_node(new):
                values["element_type"] = target.process.node(new).type.value
            tx.update_where(table, values, process_instance_ids=members, equals={"element_id": old})
    for table in ("user_tasks", "jobs", "event_subscriptions", "incidents"):
        if present is None or present.get(table):
            tx.update_where(
                table, {"definition_id": target.definition_id}, process_instance_ids=members
            )


def _pure(
    outcome: MigrationOutcome, state: InstanceState, rows: Mapping[str, Sequence[Any]]
) -> bool:
    """Migration of this shape only re-points rows (what a set-wise UPDATE can do)."""
    if (
        outcome.created
        or outcome.removed
        or outcome.subscriptions_added
        or outcome.subscriptions_removed
        or outcome.variables_set
        or outcome.variables_removed
    ):
        return False
    if state.changes.inserted or state.changes.deleted:
        return False
    original = {r["id"]: r for r in rows["jobs"]}
    for job in state.jobs.values():  # timers: neither moved nor re-pointed to another catch
        before = original.get(job.id)
        if before is None or before["due_at"] != job.due_at or before["payload"] != job.payload:
            return False
    parents = {r["id"]: r["parent_id"] for r in rows["element_instances"]}
    return all(parents.get(e.id) == e.parent_id for e in state.elements.values())


# ----------------------------------------------------------------------------------------------
# batches
# ----------------------------------------------------------------------------------------------
class BatchRunner:
    """Runs batches of an engine in background threads; the cursor lives in the database, so
    a batch interrupted by a crash resumes where it stopped (``engine.resume_batch``)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def start(self, batch_id: str) -> None:
        with self._lock:
            thread = self._threads.get(batch_id)
            if thread is not None and thread.is_alive():
                return
            thread = threading.Thread(
                target=self.run,
                args=(batch_id,),
                daemon=True,
                name=f"midflight-batch-{batch_id[:8]}",
            )
            self._threads[batch_id] = thread
            thread.start()

    def wait(self, batch_id: str, timeout: float | None = None) -> None:
        thread = self._threads.get(batch_id)
        if thread is not None:
            thread.join(timeout)

    def run(self, batch_id: str) -> None:
        """Process the batch's pending items chunk by chunk until done, paused or cancelled."""
        engine = self._engine
        while True:
            with engine._tx() as tx:
                row = tx.get_row("operations", batch_id)
                if row is None or row["state"] != "RUNNING":
                    return
                data = row["data"] or {}
                size = int(data["batch_size"])
                canary = int(data.get("canary") or 0)
                if canary and not data.get("canary_done"):  # stop exactly after the canary
                    size = max(1, min(size, canary - int(data.get("processed", 0))))
                chunk = tx.list_operation_items(batch_id, "PENDING", size)
            if not chunk:
                self._finish(batch_id)
                return
            ids = [i["process_instance_id"] for i in chunk]
            started = time.perf_counter()
            if data.get("operation") == "modification":
                result = _modify_chunk(engine, batch_id, data, ids)
            else:
                plan = engine._batch_plans.get(batch_id) or MigrationPlan.from_json(data["plan"])
                result = migrate_many(
                    engine, plan, ids, operation_id=batch_id, operator=data.get("operator")
                )
            elapsed = time.perf_counter() - started
            self._record(batch_id, chunk, result, elapsed)

    def _record(
        self, batch_id: str, chunk: list[dict[str, Any]], result: ChunkResult, elapsed: float
    ) -> None:
        engine = self._engine
        now = engine._now()
        done = set(result.migrated)
        skipped = result.skipped
        for item in chunk:
            pid = item["process_instance_id"]
            item["state"] = "DONE" if pid in done else "SKIPPED"
            item["reason"] = (
                item_reason(result.warnings.get(pid, ())) if pid in done else skipped.get(pid)
            )
            item["updated_at"] = now
        with engine._tx() as tx:
            tx.update("operation_items", chunk)
            row = tx.get_row("operations", batch_id)
            assert row is not None
            data = dict(row["data"] or {})
            data["processed"] = int(data.get("processed", 0)) + len(chunk)
            data["seconds"] = float(data.get("seconds", 0.0)) + elapsed
            data["failures"] = int(data.get("failures", 0)) + len(skipped)
            row["data"] = data
            row["updated_at"] = now
            canary = int(data.get("canary", 0))
            threshold = data.get("max_failure_rate")
            if canary and data["processed"] >= canary and not data.get("canary_done"):
                data["canary_done"] = True
                row["state"] = "PAUSED"
                data["paused_reason"] = f"canary of {canary} instance(s) done; review, then resume"
            elif (
                threshold is not None
                and data["processed"] >= 20
                and (data["failures"] / data["processed"] > float(threshold))
            ):
                row["state"] = "PAUSED"
                data["paused_reason"] = (
                    f"failure rate {data['failures'] / data['processed']:.0%} is above "
                    f"{float(threshold):.0%}; fix and retry_skipped, then resume"
                )
            tx.update("operations", [row])

    def _finish(self, batch_id: str) -> None:
        with self._engine._tx() as tx:
            row = tx.get_row("operations", batch_id)
            if row is None or row["state"] != "RUNNING":
                return
            if tx.list_operation_items(batch_id, "PENDING", 1):
                return
            row["state"] = "COMPLETED"
            row["updated_at"] = self._engine._now()
            tx.update("operations", [row])


def _modify_chunk(
    engine: Engine, batch_id: str, data: Mapping[str, Any], ids: list[str]
) -> ChunkResult:
    from midflight.change import ModificationInstruction
    from midflight.engine._modification import modify_each

    instructions = [ModificationInstruction(**i) for i in data["instructions"]]
    record = {k: data.get(k) for k in ("instructions", "annotation", "operator")}
    modified, failed, warnings = modify_each(
        engine,
        data["definition_id"],
        instructions,
        ids,
        operation_id=batch_id,
        data=record,
        skip_listeners=bool(data.get("skip_listeners")),
        skip_io_mappings=bool(data.get("skip_io_mappings")),
        strict=bool(data.get("strict")),
    )
    return ChunkResult(modified, failed, warnings)


def batch_info(tx: StoreTransaction, row: Mapping[str, Any]) -> Batch:
    counts = tx.count_operation_items(row["id"])
    data = dict(row["data"] or {})
    skipped_items = tx.list_operation_items(row["id"], "SKIPPED", 1000)
    seconds = float(data.get("seconds", 0.0))
    processed = int(data.get("processed", 0))
    public = {k: v for k, v in data.items() if k not in ("plan",)}
    return Batch(
        id=row["id"],
        kind=row["kind"],
        state=row["state"],
        total=sum(counts.values()),
        done=counts.get("DONE", 0),
        skipped=counts.get("SKIPPED", 0),
        pending=counts.get("PENDING", 0),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        throughput_per_s=round(processed / seconds, 1) if seconds > 0 else None,
        skipped_reasons={i["process_instance_id"]: i["reason"] or "" for i in skipped_items},
        data=public,
    )
