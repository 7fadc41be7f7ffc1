"""The facade: one transaction per command, the public Python API of Midflight.

Each command loads the live rows of the process instance it touches, lets the runtime decide
what changes, and saves those changes together with their history events. On PostgreSQL the
process-instance row is locked for the command and every changed row carries a revision, so
several Engine objects in several processes can share one database.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import inspect
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from midflight.change.migration import (
    MigrationPlan,
    MigrationPlanValidationError,
    plan_violations,
)
from midflight.engine._migration import (
    Batch,
    BatchRunner,
    ItemLog,
    MigrationPlanBuilder,
    MigrationResult,
    MigrationValidationReport,
    OperationItem,
    Selection,
    batch_info,
    migrate_many,
    operation_items,
    validate_instances,
)
from midflight.engine._modification import (
    MultipleInstanceModification,
    ProcessInstanceModification,
    ProcessInstantiation,
    undo_operation,
)
from midflight.engine._types import (
    ActivatedJob,
    ActivityInstance,
    HistoryEntry,
    IncidentInfo,
    MessageCorrelation,
    ProcessDefinition,
    ProcessInstance,
    TransitionInstance,
    UserTaskInfo,
)
from midflight.errors import (
    BpmnError,
    ConcurrentModificationError,
    InvalidArgumentError,
    ModelValidationError,
    NotFoundError,
    ProcessEngineError,
)
from midflight.model import (
    Definitions,
    EventDefinitionType,
    parse_bpmn,
    validate_definitions,
    write_bpmn,
)
from midflight.runtime import events
from midflight.runtime.behaviors import user_task as user_tasks
from midflight.runtime.execution import DeployedProcess, Execution, FollowUp, RuntimeContext
from midflight.runtime.state import (
    RECORD_TABLES,
    ElementInstance,
    ElementState,
    InstanceState,
    Job,
    JobKind,
    JobState,
    ProcessInstanceRecord,
    ProcessInstanceState,
    Record,
    UserTask,
)
from midflight.runtime.timers import next_occurrence, parse_timer, timer_payload
from midflight.runtime.variables import checked_variables
from midflight.store import Store, StoreTransaction

__all__ = ["Engine"]

T = TypeVar("T")
Clock = Callable[[], datetime]
JobHandler = Callable[[ActivatedJob], Any]

_RECORD_BY_TABLE: dict[str, type[Record]] = {cls.TABLE: cls for cls in RECORD_TABLES}
_LIVE = (ProcessInstanceState.ACTIVE, ProcessInstanceState.SUSPENDED)


def _runner() -> dict[str, Any]:
    """The process carrying out a synchronous operation."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


def _operation_record(row: dict[str, Any]) -> dict[str, Any]:
    """An operation's row, ``INTERRUPTED`` if it still says ``RUNNING`` but the process that
    ran it has ended."""
    runner = (row["data"] or {}).get("runner")
    if row["state"] == "RUNNING" and runner is not None and _runner_gone(runner):
        row["state"] = "INTERRUPTED"
    return row


def _runner_gone(runner: Mapping[str, Any]) -> bool:
    """Whether the process that ran an operation has ended (known only on its own machine)."""
    if runner.get("host") != socket.gethostname():
        return False
    pid = runner.get("pid")
    if not isinstance(pid, int) or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it exists, run by another user
    return False


def _system_clock() -> datetime:
    return datetime.now(UTC)


_ID_NODE = os.urandom(5).hex()
_ID_COUNTER = itertools.count()


def _new_id() -> str:
    """A unique, time-ordered id: nanoseconds, a per-process random node and a counter.

    Time order keeps new rows together at the end of every index (random UUIDs scatter writes
    over the whole index and made each commit write several times more pages)."""
    return f"{time.time_ns():016x}{_ID_NODE}{next(_ID_COUNTER) & 0xFFFFFF:06x}"


class Engine:
    """A Midflight process engine on one database.

    Args:
        url: SQLAlchemy URL of the database; ``None`` opens ``./midflight.db`` (SQLite).
            PostgreSQL: ``postgresql+psycopg://user@host/db``.
        clock: returns the current time as an aware UTC datetime; tests move time with it.
        id_generator: returns new unique ids (default: time-ordered ids, see ``_new_id``).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        clock: Clock | None = None,
        id_generator: Callable[[], str] | None = None,
    ) -> None:
        self._store = Store(url)
        self._clock = clock or _system_clock
        self._ctx = RuntimeContext(clock=self._now, new_id=id_generator or _new_id)
        self._deployed: dict[str, DeployedProcess] = {}
        self._workers: dict[str, JobHandler] = {}
        self._batch_plans: dict[str, MigrationPlan] = {}
        self._local = threading.local()
        self._batch_runner = BatchRunner(self)

    # ------------------------------------------------------------------------------------------
    # lifecycle and transactions
    # ------------------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run several commands in one database transaction: all of them land, or none.

        Inside, each command still runs atomically (a savepoint), so one that fails changes
        nothing while the others stay. Useful to create or drive many instances with one
        commit; a nested ``transaction()`` joins the outer one. Per thread.
        """
        if getattr(self._local, "tx", None) is not None:
            yield
            return
        with self._store.transaction() as tx:
            self._local.tx = tx
            try:
                yield
            finally:
                self._local.tx = None

    @contextmanager
    def _tx(self, *, read_only: bool = False) -> Iterator[StoreTransaction]:
        """The store transaction of one command: its own, or a savepoint inside
        ``transaction()``."""
        outer: StoreTransaction | None = getattr(self._local, "tx", None)
        if outer is None:
            with self._store.transaction(read_only=read_only) as tx:
                yield tx
        elif read_only:
            yield outer  # a read writes nothing a savepoint would have to undo
        else:
            with outer.savepoint():
                yield outer

    def close(self) -> None:
        self._store.dispose()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise InvalidArgumentError("the engine clock must return an aware datetime (UTC)")
        return now

    # ------------------------------------------------------------------------------------------
    # deployments
    # ------------------------------------------------------------------------------------------
    def deploy(
        self,
        source: str | bytes | os.PathLike[str] | Definitions,
        *,
        version_tag: str | None = None,
    ) -> list[ProcessDefinition]:
        """Deploy every executable process of a BPMN model as a new version of its key.

        Args:
            source: a path, BPMN XML (str or bytes) or a model built with ``ProcessBuilder``.
            version_tag: tags the new versions (overrides the model's own version tag).

        Returns:
            One ``ProcessDefinition`` per executable process; redeploying identical XML returns
            the versions that already exist.

        Raises:
            BpmnParseError / ModelValidationError: the model cannot be read or is wrong.
            InvalidArgumentError: the model has no executable process.
        """
        resource_name: str | None = None
        if isinstance(source, Definitions):
            definitions = source
            errors = [p for p in validate_definitions(definitions) if p.severity == "error"]
            if errors:  # a model built with build(validate=False) is checked here
                raise ModelValidationError(errors)
            xml = write_bpmn(definitions)
        elif isinstance(source, bytes):
            definitions = parse_bpmn(source)
            xml = source.decode("utf-8")
        elif isinstance(source, str) and source.lstrip("\ufeff \t\r\n").startswith("<"):
            definitions = parse_bpmn(source)
            xml = source
        else:
            path = Path(source)
            resource_name = path.name
            definitions = parse_bpmn(path)
            xml = path.read_text(encoding="utf-8")
        executable = [p for p in definitions.processes if p.is_executable]
        if not executable:
            raise InvalidArgumentError(
                'the model has no executable process (isExecutable="true"); nothing to deploy'
            )
        deployment_id = _new_id()
        result: list[ProcessDefinition] = []
        with self._tx() as tx:
            for process in executable:
                tag = version_tag if version_tag is not None else process.version_tag
                checksum = hashlib.sha256(f"{process.id}\0{tag}\0{xml}".encode()).hexdigest()
                latest = tx.find_definition(process.id)
                if latest is not None and latest["checksum"] == checksum:
                    result.append(self._definition_info(tx, latest))
                    continue
                version = tx.max_version(process.id) + 1
                row = {
                    "id": f"{process.id}:{version}:{deployment_id[:12]}",
                    "key": process.id,
                    "version": version,
                    "version_tag": tag,
                    "name": process.name,
                    "resource_name": resource_name,
                    "xml": xml,
                    "checksum": checksum,
                    "suspended": False,
                    "deployed_at": self._now(),
                    "deployment_id": deployment_id,
                }
                tx.insert_definition(row)
                self._schedule_start_timers(tx, row)
                result.append(self._definition_info(tx, row))
        return result

    def _schedule_start_timers(self, tx: StoreTransaction, row: Mapping[str, Any]) -> None:
        """Timer start events of the newest version replace those of the versions before it."""
        for old in tx.list_definitions(row["key"]):
            if old["id"] != row["id"]:
                tx.delete(
                    "jobs", tx.list_rows("jobs", process_instance_id="", definition_id=old["id"])
                )
        deployed = self._deployed_process(tx, row["id"])
        now = self._now()
        for start in deployed.process.start_events():
            for definition in start.event_definitions:
                if definition.type is not EventDefinitionType.TIMER or definition.timer is None:
                    continue
                value = self._ctx.expressions.evaluate(definition.timer.expression, {})
                schedule = parse_timer(definition.timer.kind.value, value, now)
                job = Job(
                    id=self._ctx.new_id(),
                    process_instance_id="",
                    element_instance_id=row["id"],
                    element_id=start.id,
                    definition_id=row["id"],
                    kind=JobKind.TIMER,
                    type="timer",
                    state=JobState.ACTIVATABLE,
                    retries=1,
                    created_at=now,
                    due_at=schedule.due_at,
                    payload=timer_payload(start.id, schedule),
                )
                tx.insert("jobs", [job.row()])

    def definitions(self, key: str | None = None) -> list[ProcessDefinition]:
        """Deployed versions (of one key, or all), with their counts of running instances."""
        with self._tx(read_only=True) as tx:
            return [self._definition_info(tx, row, count=False) for row in tx.list_definitions(key)]

    def definition(self, definition_id: str) -> ProcessDefinition:
        with self._tx(read_only=True) as tx:
            return self._definition_info(tx, self._definition_row(tx, definition_id))

    def suspend_definition(self, definition_id: str) -> ProcessDefinition:
        """Refuse new starts of this version; running instances go on."""
        return self._set_definition_suspended(definition_id, True)

    def activate_definition(self, definition_id: str) -> ProcessDefinition:
        return self._set_definition_suspended(definition_id, False)

    def _set_definition_suspended(self, definition_id: str, suspended: bool) -> ProcessDefinition:
        with self._tx() as tx:
            self._definition_row(tx, definition_id)
            tx.set_definition_suspended(definition_id, suspended)
            return self._definition_info(tx, self._definition_row(tx, definition_id))

    def delete_definition(self, definition_id: str) -> None:
        """Delete a version that has no instances at all (running or finished).

        Raises:
            ProcessEngineError: instances of the version exist.
        """
        with self._tx() as tx:
            self._definition_row(tx, definition_id)
            count = tx.count_instances(definition_id, None)
            if count:
                raise ProcessEngineError(
                    f"definition '{definition_id}' still has {count} instance(s); "
                    "migrate or delete them first"
                )
            tx.delete_definition(definition_id)
        self._deployed.pop(definition_id, None)

    def _definition_row(self, tx: StoreTransaction, definition_id: str) -> dict[str, Any]:
        row = tx.get_definition(definition_id)
        if row is None:
            raise NotFoundError(f"no process definition with id '{definition_id}'")
        return row

    def _definition_info(
        self, tx: StoreTransaction, row: Mapping[str, Any], *, count: bool = True
    ) -> ProcessDefinition:
        running = row.get("running_instances")
        if running is None:
            running = tx.count_instances(row["id"], [s.value for s in _LIVE]) if count else 0
        return ProcessDefinition(
            id=row["id"],
            key=row["key"],
            version=row["version"],
            version_tag=row["version_tag"],
            name=row["name"],
            deployed_at=row["deployed_at"],
            suspended=bool(row["suspended"]),
            running_instances=int(running),
            resource_name=row.get("resource_name"),
        )

    def _deployed_process(self, tx: StoreTransaction, definition_id: str) -> DeployedProcess:
        deployed = self._deployed.get(definition_id)
        if deployed is None:
            row = self._definition_row(tx, definition_id)
            definitions = parse_bpmn(row["xml"], validate=False)
            deployed = DeployedProcess(
                definition_id=definition_id,
                key=row["key"],
                version=row["version"],
                definitions=definitions,
                process=definitions.process(row["key"]),
            )
            self._deployed[definition_id] = deployed
        return deployed

    # ------------------------------------------------------------------------------------------
    # process instances
    # ------------------------------------------------------------------------------------------
    def start_process(
        self,
        key: str,
        variables: Mapping[str, Any] | None = None,
        business_key: str | None = None,
        *,
        version: int | None = None,
        version_tag: str | None = None,
    ) -> ProcessInstance:
        """Start an instance of the latest version of ``key`` (or the pinned one).

        Raises:
            NotFoundError: no such key, version or version tag.
            ProcessEngineError: the version is suspended.
            InvalidArgumentError: variables that are not a dict of JSON-compatible values.
        """
        checked = checked_variables(variables)
        with self._tx() as tx:
            row = tx.find_definition(
                key, version=version, version_tag=version_tag, columns=("id", "suspended")
            )
            if row is None:
                pinned = f" version {version}" if version is not None else ""
                pinned += f" with version tag '{version_tag}'" if version_tag is not None else ""
                raise NotFoundError(f"no deployed process '{key}'{pinned}")
            if row["suspended"]:
                raise ProcessEngineError(
                    f"process definition '{row['id']}' is suspended; activate it to start instances"
                )
            deployed = self._deployed_process(tx, row["id"])
            record = self._start(tx, deployed, variables=checked, business_key=business_key)
            return _instance_info(record)

    def process_instance(self, process_instance_id: str) -> ProcessInstance:
        with self._tx(read_only=True) as tx:
            return _instance_info(self._instance_record(tx, process_instance_id))

    def process_instances(
        self,
        query: Mapping[str, Any] | None = None,
        *,
        key: str | None = None,
        version: int | None = None,
        definition_id: str | None = None,
        element_id: str | None = None,
        state: str | None = None,
        business_key: str | None = None,
        limit: int | None = None,
    ) -> list[ProcessInstance]:
        """Instances matching every given filter (``query`` may hold the same names)."""
        filters: dict[str, Any] = {
            "definition_key": key,
            "version": version,
            "definition_id": definition_id,
            "element_id": element_id,
            "state": state,
            "business_key": business_key,
        }
        for name, value in (query or {}).items():
            column = {"key": "definition_key"}.get(name, name)
            if column not in filters:
                raise InvalidArgumentError(
                    f"unknown query field '{name}'; use one of {', '.join(sorted(filters))}"
                )
            filters[column] = value
        with self._tx(read_only=True) as tx:
            rows = tx.list_process_instances(
                limit=limit, **{k: v for k, v in filters.items() if v is not None}
            )
            return [_instance_info(ProcessInstanceRecord(**r)) for r in rows]

    def cancel_process_instance(self, process_instance_id: str, reason: str | None = None) -> None:
        """Cancel a running instance: every token, task, job and subscription goes."""
        self._command(process_instance_id, lambda ex: ex.cancel_instance(reason))

    def activity_instance_tree(self, process_instance_id: str) -> ActivityInstance:
        """The live activity-instance tree; the root is the process instance.

        Raises:
            NotFoundError: unknown instance.
            ProcessEngineError: the instance has ended (it has no live tree).
        """
        with self._tx(read_only=True) as tx:
            record = self._instance_record(tx, process_instance_id)
            state = self._load_state(tx, record)
            deployed = self._deployed_process(tx, record.definition_id)
        if process_instance_id not in state.elements:
            raise ProcessEngineError(
                f"process instance '{process_instance_id}' has ended ({record.state}); "
                "its history shows what happened"
            )
        return _tree(state, deployed, state.elements[process_instance_id])

    # ------------------------------------------------------------------------------------------
    # variables
    # ------------------------------------------------------------------------------------------
    def variables(self, process_instance_id: str, scope_id: str | None = None) -> dict[str, Any]:
        """Variables visible from ``scope_id`` (default: the process instance scope).

        For an ended instance, the values it ended with (from its history).
        """
        with self._tx(read_only=True) as tx:
            record = self._instance_record(tx, process_instance_id)
            state = self._load_state(tx, record)
            if record.state in _LIVE:
                scope = scope_id or process_instance_id
                if scope not in state.elements:
                    raise NotFoundError(
                        f"no live scope '{scope}' in process instance '{process_instance_id}'"
                    )
                return state.visible_variables(scope)
            return _final_variables(tx, process_instance_id)

    def set_variables(
        self, scope_id: str, variables: Mapping[str, Any], *, local: bool = False
    ) -> None:
        """Set variables on an element-instance scope (a process instance id is the root scope).

        Without ``local`` each variable goes where it is already visible from the scope, or on
        the process instance when it is new (Camunda's setVariable).
        """
        checked = checked_variables(variables)
        process_instance_id: str | None = None
        with self._tx(read_only=True) as tx:
            owner = tx.get_row("element_instances", scope_id)
            if owner is not None:
                process_instance_id = str(owner["process_instance_id"])
            else:  # the root scope, which has no row of its own while its instance lives
                instance = tx.get_process_instance(scope_id)
                if instance is not None and instance["state"] in _LIVE:
                    process_instance_id = scope_id
        if process_instance_id is None:
            raise NotFoundError(f"no live element instance or process instance '{scope_id}'")

        def action(ex: Execution) -> None:
            if scope_id not in ex.state.elements:
                raise NotFoundError(f"element instance '{scope_id}' is no longer active")
            ex.set_variables(scope_id, checked or {}, local=local)

        self._command(process_instance_id, action)

    # ------------------------------------------------------------------------------------------
    # user tasks
    # ------------------------------------------------------------------------------------------
    def user_tasks(
        self,
        process_instance_id: str | None = None,
        element_id: str | None = None,
        assignee: str | None = None,
        *,
        definition_id: str | None = None,
        limit: int | None = None,
    ) -> list[UserTaskInfo]:
        with self._tx(read_only=True) as tx:
            rows = tx.list_user_tasks(
                process_instance_id=process_instance_id,
                element_id=element_id,
                assignee=assignee,
                definition_id=definition_id,
                limit=limit,
            )
        return [_info(UserTaskInfo, r) for r in rows]

    def user_task(self, task_id: str) -> UserTaskInfo:
        with self._tx(read_only=True) as tx:
            row = tx.get_row("user_tasks", task_id)
        if row is None:
            raise NotFoundError(_no_task(task_id))
        return _info(UserTaskInfo, row)

    def claim(self, task_id: str, user: str) -> UserTaskInfo:
        """Assign an open task to ``user``.

        Raises:
            ProcessEngineError: the task is assigned to someone else already.
        """
        if not isinstance(user, str) or not user:
            raise InvalidArgumentError("claim needs a non-empty user name")

        def action(ex: Execution) -> UserTaskInfo:
            task = _open_task(ex, task_id)
            if task.assignee not in (None, user):
                raise ProcessEngineError(
                    f"user task '{task_id}' is already assigned to '{task.assignee}'"
                )
            task.assignee = user
            ex.state.touch(task)
            ex.history(
                "task.claimed",
                ex.state.elements.get(task.element_instance_id),
                {"task_id": task_id, "assignee": user},
            )
            user_tasks.notify_listeners(ex, task, "assignment")
            return _task_info(task)

        return self._command_on("user_tasks", task_id, action, gone=_no_task(task_id))

    def unclaim(self, task_id: str) -> UserTaskInfo:
        def action(ex: Execution) -> UserTaskInfo:
            task = _open_task(ex, task_id)
            task.assignee = None
            ex.state.touch(task)
            ex.history(
                "task.unclaimed",
                ex.state.elements.get(task.element_instance_id),
                {"task_id": task_id},
            )
            return _task_info(task)

        return self._command_on("user_tasks", task_id, action, gone=_no_task(task_id))

    def complete_user_task(self, task_id: str, variables: Mapping[str, Any] | None = None) -> None:
        """Complete an open user task; the token moves on to its next wait states.

        Raises:
            NotFoundError: no open task with this id (never existed, or already completed).
            ProcessEngineError: the process instance is suspended.
        """
        checked = checked_variables(variables)

        def action(ex: Execution) -> None:
            task = _open_task(ex, task_id)
            _require_not_suspended(ex)
            user_tasks.complete_task(ex, task, checked)

        self._command_on("user_tasks", task_id, action, gone=_no_task(task_id))

    # ------------------------------------------------------------------------------------------
    # messages
    # ------------------------------------------------------------------------------------------
    def correlate_message(
        self,
        name: str,
        correlation_key: str | int | None = None,
        variables: Mapping[str, Any] | None = None,
        *,
        process_instance_id: str | None = None,
    ) -> MessageCorrelation:
        """Deliver a message to the one waiting subscription with this name and key.

        ``process_instance_id`` narrows the candidates to one instance (models without
        correlation keys, as Camunda 7 ones often are).

        Raises:
            NotFoundError: nothing waits for this message (nothing is changed).
        """
        checked = checked_variables(variables)
        key = None if correlation_key is None else str(correlation_key)
        for _attempt in range(3):
            with self._tx() as tx:
                candidates = tx.find_subscriptions("message", name, key)
            if process_instance_id is not None:
                candidates = [
                    c for c in candidates if c["process_instance_id"] == process_instance_id
                ]
            if not candidates and process_instance_id is None:
                with self._tx() as tx:
                    starts = self._start_events(tx, EventDefinitionType.MESSAGE, name)
                    if starts:
                        deployed, start_id = starts[0]
                        record = self._start(
                            tx,
                            deployed,
                            variables=checked,
                            business_key=None,
                            start_event_id=start_id,
                        )
                        return MessageCorrelation(record.id, start_id, record.id)
            if not candidates:
                raise NotFoundError(
                    f"no process instance waits for message '{name}'"
                    + (f" with correlation key '{key}'" if key is not None else "")
                    + (f" in instance '{process_instance_id}'" if process_instance_id else "")
                )
            sub = candidates[0]

            def action(ex: Execution, sub_id: str = sub["id"]) -> MessageCorrelation | None:
                subscription = ex.state.subscriptions.get(sub_id)
                if subscription is None:
                    return None  # taken by someone else meanwhile: look again
                _require_not_suspended(ex)
                owner = ex.state.elements[subscription.element_instance_id]
                ex.history("message.correlated", owner, {"name": name, "correlation_key": key})
                events.trigger(ex, owner, subscription.element_id, checked)
                return MessageCorrelation(
                    process_instance_id=ex.state.instance.id,
                    element_id=subscription.element_id,
                    element_instance_id=owner.id,
                )

            result = self._command(sub["process_instance_id"], action)
            if result is not None:
                return result
        raise ConcurrentModificationError(f"message '{name}' could not be correlated; try again")

    # ------------------------------------------------------------------------------------------
    # jobs
    # ------------------------------------------------------------------------------------------
    def activate_jobs(
        self, job_type: str, worker: str, max_jobs: int = 10, lock_seconds: float = 300
    ) -> list[ActivatedJob]:
        """Lock up to ``max_jobs`` jobs of ``job_type`` for ``worker`` for ``lock_seconds``.

        A lock that runs out returns the job to the pool; on PostgreSQL several engines may
        activate at once and never receive the same job.
        """
        if max_jobs < 1 or lock_seconds <= 0:
            raise InvalidArgumentError("max_jobs must be >= 1 and lock_seconds > 0")
        now = self._now()
        with self._tx() as tx:
            rows = tx.acquire_jobs(job_type, worker, max_jobs, lock_seconds, now)
            activated: list[ActivatedJob] = []
            for row in rows:
                job = Job(**row)
                record = self._instance_record(tx, job.process_instance_id)
                state = self._load_state(tx, record)
                variables = (
                    state.visible_variables(job.element_instance_id)
                    if job.element_instance_id in state.elements
                    else {}
                )
                assert job.lock_expires_at is not None
                activated.append(
                    ActivatedJob(
                        id=job.id,
                        type=job.type,
                        process_instance_id=job.process_instance_id,
                        element_instance_id=job.element_instance_id,
                        element_id=job.element_id,
                        definition_id=job.definition_id,
                        retries=job.retries,
                        worker=worker,
                        lock_expires_at=job.lock_expires_at,
                        variables=variables,
                        headers=dict((job.payload or {}).get("headers", {})),
                    )
                )
        return activated

    def complete_job(self, job_id: str, variables: Mapping[str, Any] | None = None) -> None:
        """Complete a job; its task completes with ``variables``.

        Raises:
            NotFoundError: no such job (unknown, or already completed).
        """
        checked = checked_variables(variables)

        def action(ex: Execution) -> None:
            job = _open_job(ex, job_id)
            _require_not_suspended(ex)
            instance = ex.state.elements[job.element_instance_id]
            ex.history("job.completed", instance, {"job_id": job_id, "worker": job.worker})
            ex.state.remove(job)  # done, even if end listeners keep the element a while
            if job.kind == JobKind.LISTENER:
                if checked:
                    ex.set_variables(instance.id, checked, local=False)
                payload = job.payload or {}
                if payload.get("listener") == "task":
                    user_tasks.task_listener_completed(ex, instance, payload)
                else:
                    ex.listener_completed(instance, str(payload["event"]), int(payload["index"]))
            else:
                ex.complete_with_variables(instance, checked)

        self._command_on("jobs", job_id, action, gone=_no_job(job_id))

    def fail_job(
        self,
        job_id: str,
        error_message: str,
        retries: int,
        retry_backoff_seconds: float = 0,
    ) -> None:
        """Report a failed attempt; with ``retries`` left at 0 an incident is opened."""
        if not isinstance(retries, int) or retries < 0:
            raise InvalidArgumentError(f"retries must be a whole number >= 0, not {retries!r}")

        def action(ex: Execution) -> None:
            job = _open_job(ex, job_id)
            instance = ex.state.elements[job.element_instance_id]
            job.retries = retries
            job.error_message = error_message
            job.worker = None
            job.lock_expires_at = None
            ex.history(
                "job.failed",
                instance,
                {"job_id": job_id, "message": error_message, "retries": retries},
            )
            if retries > 0:
                job.state = JobState.ACTIVATABLE
                job.due_at = ex.now + timedelta(seconds=retry_backoff_seconds)
            else:
                job.state = JobState.FAILED
                ex.raise_incident(instance, "JOB_NO_RETRIES", error_message, job_id=job_id)
            ex.state.touch(job)

        self._command_on("jobs", job_id, action, gone=_no_job(job_id))

    def update_job_retries(self, job_id: str, retries: int) -> None:
        """Give a job new retries. A job that ran out of retries has an incident: resolving it
        (``resolve_incident``) makes the job activatable again."""
        if not isinstance(retries, int) or retries < 1:
            raise InvalidArgumentError(f"retries must be a whole number >= 1, not {retries!r}")

        def action(ex: Execution) -> None:
            job = _open_job(ex, job_id)
            job.retries = retries
            ex.state.touch(job)

        self._command_on("jobs", job_id, action, gone=_no_job(job_id))

    def throw_error(
        self,
        job_id: str,
        error_code: str,
        message: str | None = None,
        variables: Mapping[str, Any] | None = None,
    ) -> None:
        """A worker reports a business error: the nearest catching error event takes over.

        Uncaught, it becomes an incident on the job's element (never a silent end).
        """
        checked = checked_variables(variables)

        def action(ex: Execution) -> None:
            job = _open_job(ex, job_id)
            instance = ex.state.elements[job.element_instance_id]
            ex.history(
                "job.error_thrown",
                instance,
                {"job_id": job_id, "error_code": error_code, "message": message},
            )
            if not events.throw_error(ex, instance, error_code, message, checked, job_id=job_id):
                job.state = JobState.FAILED
                job.error_message = message or f"error '{error_code}' not caught"
                ex.state.touch(job)

        self._command_on("jobs", job_id, action, gone=_no_job(job_id))

    def worker(self, job_type: str) -> Callable[[JobHandler], JobHandler]:
        """Register a function (sync or async) as the worker for ``job_type``.

        The function receives an ``ActivatedJob``; a returned dict completes the job with those
        variables; raising ``BpmnError`` throws a business error; any other exception fails the
        attempt (retries - 1, 5 s backoff).
        """

        def register(handler: JobHandler) -> JobHandler:
            self._workers[job_type] = handler
            return handler

        return register

    def run_workers(
        self,
        *,
        stop: threading.Event | None = None,
        until_idle: bool = False,
        poll_interval: float = 0.5,
        worker_name: str = "midflight-worker",
        max_jobs: int = 32,
    ) -> int:
        """Serve the registered workers and fire due timers until ``stop`` is set.

        With ``until_idle`` it returns as soon as a round finds no work. Returns how many jobs
        and timers were handled.
        """
        handled = 0
        while stop is None or not stop.is_set():
            round_count = self.fire_due_timers() + self.execute_async_jobs()
            for job_type, handler in list(self._workers.items()):
                for job in self.activate_jobs(job_type, worker_name, max_jobs=max_jobs):
                    round_count += 1
                    self._run_handler(handler, job)
            handled += round_count
            if round_count == 0:
                if until_idle:
                    break
                if stop is not None:
                    stop.wait(poll_interval)
                else:
                    time.sleep(poll_interval)
        return handled

    def _run_handler(self, handler: JobHandler, job: ActivatedJob) -> None:
        try:
            outcome = handler(job)
            if inspect.isawaitable(outcome):
                outcome = asyncio.run(_await(outcome))
        except BpmnError as error:
            self.throw_error(job.id, error.code, str(error), error.variables)
            return
        except Exception as exc:  # a worker's failure is reported, never lost
            self.fail_job(job.id, f"{type(exc).__name__}: {exc}", max(job.retries - 1, 0), 5)
            return
        if outcome is not None and not isinstance(outcome, Mapping):
            self.fail_job(job.id, f"worker returned {type(outcome).__name__}, not a dict", 0)
            return
        self.complete_job(job.id, outcome)

    # ------------------------------------------------------------------------------------------
    # timers
    # ------------------------------------------------------------------------------------------
    def fire_due_timers(self, now: datetime | None = None, *, limit: int = 1000) -> int:
        """Fire every timer due at ``now`` (default: the engine clock), at most ``limit``.

        A cycle that fired re-arms itself; when its next occurrence is due by ``now`` too, it
        fires in the same call (a clock that jumped catches up). Returns how many fired.
        """
        moment = now or self._now()
        fired = 0
        while fired < limit:
            with self._tx() as tx:
                due = tx.due_jobs(JobKind.TIMER.value, moment, limit - fired)
            fired_now = 0
            for row in due:
                try:
                    with self._tx() as tx:
                        fired_now += self._fire_timer(tx, row)
                except ConcurrentModificationError:
                    continue  # another engine fired it or changed the instance first
            if not fired_now:
                break
            fired += fired_now
        return fired

    def _fire_timer(self, tx: StoreTransaction, row: dict[str, Any]) -> int:
        if tx.get_row("jobs", row["id"]) is None:
            return 0  # gone since it was listed: its owner left (or its instance ended)
        if not row["process_instance_id"]:  # a timer start event of a definition
            tx.delete("jobs", [row])
            deployed = self._deployed_process(tx, row["definition_id"])
            again = next_occurrence(row["payload"] or {}, row["due_at"])
            if again is not None:
                due_at, payload = again
                tx.insert(
                    "jobs",
                    [dict(row, revision=1, id=self._ctx.new_id(), due_at=due_at, payload=payload)],
                )
            self._start(tx, deployed, start_event_id=row["element_id"])
            return 1

        def action(ex: Execution, job_id: str = row["id"]) -> int:
            job = ex.state.jobs.get(job_id)
            if job is None or ex.state.instance.state != ProcessInstanceState.ACTIVE:
                return 0
            events.fire_timer(ex, job)
            return 1

        return self._run(tx, row["process_instance_id"], action)

    def execute_async_jobs(self, *, limit: int = 1000) -> int:
        """Run due async continuations (async before/after). Returns how many ran."""
        moment = self._now()
        with self._tx() as tx:
            due = tx.due_jobs(JobKind.ASYNC.value, moment, limit)
        done = 0
        for row in due:

            def action(ex: Execution, job_id: str = row["id"]) -> int:
                job = ex.state.jobs.get(job_id)
                if job is None or ex.state.instance.state != ProcessInstanceState.ACTIVE:
                    return 0
                ex.continue_async(ex.state.elements[job.element_instance_id])
                return 1

            try:
                done += self._command(row["process_instance_id"], action)
            except ConcurrentModificationError:
                continue
        return done

    # ------------------------------------------------------------------------------------------
    # signals, suspension, ad-hoc subprocesses
    # ------------------------------------------------------------------------------------------
    def broadcast_signal(self, name: str, variables: Mapping[str, Any] | None = None) -> int:
        """Deliver a signal to every waiting subscription and signal start event.

        Returns how many subscriptions were triggered and instances started.
        """
        checked = checked_variables(variables)
        with self._tx() as tx:
            return self._broadcast(tx, name, checked)

    def suspend_process_instance(self, process_instance_id: str) -> None:
        """Suspend an instance: no jobs are handed out, no timers fire, no task completes."""
        self._set_suspended(process_instance_id, True)

    def activate_process_instance(self, process_instance_id: str) -> None:
        self._set_suspended(process_instance_id, False)

    def _set_suspended(self, process_instance_id: str, suspended: bool) -> None:
        def action(ex: Execution) -> None:
            record = ex.state.instance
            record.state = (
                ProcessInstanceState.SUSPENDED if suspended else ProcessInstanceState.ACTIVE
            )
            ex.state.touch(record)
            ex.history("process.suspended" if suspended else "process.activated", None)

        with self._tx() as tx:
            self._run(tx, process_instance_id, action)
            if not suspended:
                self._resume_held_calls(tx, process_instance_id)

    def _resume_held_calls(self, tx: StoreTransaction, process_instance_id: str) -> None:
        """Called instances that completed while their caller was suspended resume it now."""
        for row in tx.list_rows(
            "process_instances",
            parent_process_instance_id=process_instance_id,
            state=ProcessInstanceState.COMPLETED.value,
        ):
            follow_up = FollowUp(
                kind="child_completed",
                process_instance_id=process_instance_id,
                element_instance_id=row["parent_element_instance_id"],
                data={"variables": _final_variables(tx, row["id"])},
            )
            self._on_child_completed(tx, follow_up)  # a no-op once the call activity left

    def activate_adhoc_elements(
        self,
        element_instance_id: str,
        element_ids: list[str] | list[str | Mapping[str, Any]],
        variables: Mapping[str, Any] | None = None,
    ) -> list[str]:
        """Start chosen elements inside a running ad-hoc subprocess instance (an agent's tools).

        Each entry of ``element_ids`` is an element id, or ``{"element_id": ..., "variables":
        {...}}`` to give that activation variables of its own. Every activation keeps its own
        variables (Camunda 8.8): ``variables``, with the entry's own on top, become local
        variables of the element instance it starts, set before its input mappings run — two
        tools started together each see their own ``toolCall``. Returns the new element
        instance ids, in order.

        Raises:
            NotFoundError: no live ad-hoc subprocess instance with this id.
            InvalidArgumentError: ``element_ids`` is not a non-empty list of such entries (the
                message names the bad entry), variables that are not JSON-compatible, or an
                element that is not a startable element of it; nothing is started then.
        """
        from midflight.runtime.behaviors.ad_hoc import activate_elements, activations

        ids, each = activations(element_ids, variables)
        with self._tx() as tx:
            owner = tx.get_row("element_instances", element_instance_id)
        if owner is None or owner["element_type"] != "adHocSubProcess":
            raise NotFoundError(f"no active ad-hoc subprocess instance '{element_instance_id}'")

        def action(ex: Execution) -> list[str]:
            _require_not_suspended(ex)
            instance = ex.state.elements[element_instance_id]
            node = ex.process.node(instance.element_id)
            return [i.id for i in activate_elements(ex, instance, node, ids, each)]

        return self._command(str(owner["process_instance_id"]), action)

    # ------------------------------------------------------------------------------------------
    # migration
    # ------------------------------------------------------------------------------------------
    def migration_plan(
        self, source_definition_id: str, target_definition_id: str
    ) -> MigrationPlanBuilder:
        """Start a plan moving instances of one definition version to another.

        Raises:
            NotFoundError: either definition is unknown.
        """
        self._migration_processes(source_definition_id, target_definition_id)
        return MigrationPlanBuilder(self, source_definition_id, target_definition_id)

    def migration_plan_between(
        self,
        key: str,
        *,
        from_version: int | None = None,
        from_version_tag: str | None = None,
        to_version: int | None = None,
        to_version_tag: str | None = None,
    ) -> MigrationPlanBuilder:
        """A plan named by versions or version tags instead of ids, so the same plan file
        works on staging and production. The target defaults to the latest version."""
        with self._tx() as tx:
            source = tx.find_definition(key, version=from_version, version_tag=from_version_tag)
            target = tx.find_definition(key, version=to_version, version_tag=to_version_tag)
        if source is None:
            raise NotFoundError(f"no version of '{key}' matches the migration's source")
        if target is None:
            raise NotFoundError(f"no version of '{key}' matches the migration's target")
        return MigrationPlanBuilder(self, source["id"], target["id"])

    def _migration_processes(
        self, source_definition_id: str, target_definition_id: str
    ) -> tuple[DeployedProcess, DeployedProcess]:
        with self._tx() as tx:
            return (
                self._deployed_process(tx, source_definition_id),
                self._deployed_process(tx, target_definition_id),
            )

    def check_migration_plan(self, plan: MigrationPlan) -> MigrationPlan:
        """The plan, if it is valid against both definitions.

        Raises:
            NotFoundError: a definition of the plan is unknown.
            MigrationPlanValidationError: every problem of the plan at once.
        """
        source, target = self._migration_processes(
            plan.source_definition_id, plan.target_definition_id
        )
        violations = plan_violations(plan, source.process, target.process)
        if violations:
            raise MigrationPlanValidationError(violations)
        return plan

    def _query_filters(self, query: Mapping[str, Any]) -> dict[str, Any]:
        """``query`` (the filters of ``process_instances``) as the store's id listing takes it."""
        allowed = {
            "key": "definition_key",
            "definition_key": "definition_key",
            "version": "version",
            "definition_id": "definition_id",
            "element_id": "element_id",
            "state": "state",
            "business_key": "business_key",
        }
        filters: dict[str, Any] = {}
        for name, value in query.items():
            if name not in allowed:
                raise InvalidArgumentError(
                    f"unknown query field '{name}'; use one of {', '.join(sorted(allowed))}"
                )
            filters[allowed[name]] = value
        # Without a state asked for, a query selects the instances an operation can change.
        filters["live_only"] = "state" not in filters
        return filters

    def _instance_ids(self, query: Mapping[str, Any]) -> list[str]:
        """Ids of the instances matching ``query`` (the filters of ``process_instances``),
        without building an object per instance."""
        selection = Selection(self, (), self._query_filters(query))
        return [pid for page in selection.pages() for pid in page]

    def _migration_selection(
        self,
        plan: MigrationPlan,
        process_instance_ids: list[str] | None,
        query: Mapping[str, Any] | None,
        *,
        strict: bool,
    ) -> Selection:
        named = list(dict.fromkeys(process_instance_ids or []))
        filters = (
            None
            if query is None
            else self._query_filters({**query, "definition_id": plan.source_definition_id})
        )
        selection = Selection(self, named, filters)
        if selection.is_empty():
            raise InvalidArgumentError("no process instances selected for migration")
        if strict and named:
            with self._tx() as tx:
                found = {
                    r["id"]: r
                    for r in tx.get_process_instances(named, columns=("id", "definition_id"))
                }
            unknown = [pid for pid in named if pid not in found]
            if unknown:
                raise NotFoundError(f"no process instance '{unknown[0]}'")
            wrong = [
                f"{pid} ({found[pid]['definition_id']})"
                for pid in named
                if found[pid]["definition_id"] != plan.source_definition_id
            ]
            if wrong:
                raise InvalidArgumentError(
                    f"not instances of the plan's source '{plan.source_definition_id}': "
                    + ", ".join(wrong)
                )
        return selection

    def validate_migration(
        self,
        plan: MigrationPlan,
        process_instance_ids: list[str] | None = None,
        query: Mapping[str, Any] | None = None,
    ) -> MigrationValidationReport:
        """A dry run: for each selected instance, whether it can migrate and exactly what would
        be kept, created, removed and re-pointed, and the soundness warnings it would have.
        Nothing changes."""
        self.check_migration_plan(plan)
        selection = self._migration_selection(plan, process_instance_ids, query, strict=False)
        ids = (pid for page in selection.pages() for pid in page)
        return MigrationValidationReport([], validate_instances(self, plan, ids))

    def migrate(
        self,
        plan: MigrationPlan,
        process_instance_ids: list[str] | None = None,
        query: Mapping[str, Any] | None = None,
        *,
        operator: str | None = None,
    ) -> MigrationResult:
        """Migrate the selected instances now, each atomically; one that fails (a transform
        that raises, a contract not met, an unmapped active element) is skipped whole, with
        its reason. The selection is read and migrated ``PAGE_SIZE`` instances a step, and
        every instance is recorded as an item of the operation (``operation_items``), so
        memory stays flat however many instances move.

        Raises:
            MigrationPlanValidationError: the plan is wrong (nothing changed).
            InvalidArgumentError: an empty selection, or instances of another definition.
        """
        self.check_migration_plan(plan)
        selection = self._migration_selection(plan, process_instance_ids, query, strict=True)
        operation_id = self._ctx.new_id()
        # ``runner``: the process carrying it out, so a run that was killed shows as interrupted
        data: dict[str, Any] = {"plan": plan.to_json(), "operator": operator, "runner": _runner()}
        with self._tx() as tx:
            tx.insert(
                "operations",
                [
                    {
                        "id": operation_id,
                        "kind": "migration",
                        "state": "RUNNING",
                        "created_at": self._now(),
                        "updated_at": None,
                        "revision": 1,
                        "data": data,
                    }
                ],
            )
        items = ItemLog(operation_id, self._now())
        migrated = skipped = 0

        def finish(state: str, **more: Any) -> None:
            with self._tx() as tx:
                row = tx.get_row("operations", operation_id)
                assert row is not None
                row["state"] = state
                row["updated_at"] = self._now()
                row["data"] = {**data, "migrated": migrated, "skipped": skipped, **more}
                tx.update("operations", [row])

        try:
            for page in selection.pages():
                done = migrate_many(
                    self, plan, page, operation_id=operation_id, operator=operator, items=items
                )
                migrated += len(done.migrated)
                skipped += len(done.skipped)
        except BaseException as exc:
            # What moved stays moved (each instance atomically) and is in the items: undo or
            # run the plan again for the rest, which the selection still finds.
            finish("INTERRUPTED", error=f"{type(exc).__name__}: {exc}")
            exc.add_note(
                f"migration operation {operation_id} was interrupted after {migrated} "
                "instance(s) moved: engine.operation_items() lists them, engine.undo() or the "
                "plan run again handles the rest"
            )
            raise
        finish("COMPLETED" if not skipped else "COMPLETED_WITH_SKIPS")
        return MigrationResult(
            operation_id,
            migrated,
            skipped,
            functools.partial(self.operation_items, operation_id),
        )

    def operation_items(
        self, operation_id: str, state: str | None = None
    ) -> Iterator[OperationItem]:
        """The instances of a migration or a batch, in order (of one ``state`` if given:
        ``DONE``, ``SKIPPED``, ``PENDING``), read from the database a page at a time."""
        return operation_items(self, operation_id, state)

    def migrate_async(
        self,
        plan: MigrationPlan,
        process_instance_ids: list[str] | None = None,
        query: Mapping[str, Any] | None = None,
        *,
        batch_size: int = 500,
        canary: int = 0,
        max_failure_rate: float | None = None,
        operator: str | None = None,
        start: bool = True,
    ) -> Batch:
        """Migrate in the background, ``batch_size`` instances a step, with a persisted cursor.

        ``canary``: pause after that many instances for review. ``max_failure_rate``: pause
        when the share of skipped instances passes it. With ``start=False`` the batch waits
        for ``resume_batch`` or ``run_batches``.
        """
        self.check_migration_plan(plan)
        if batch_size < 1 or canary < 0:
            raise InvalidArgumentError("batch_size must be >= 1 and canary >= 0")
        selection = self._migration_selection(plan, process_instance_ids, query, strict=True)
        data = {
            "operation": "migration",
            "plan": plan.to_json(),
            "canary": canary,
            "max_failure_rate": max_failure_rate,
            "operator": operator,
        }
        return self._create_batch(selection, data, batch_size=batch_size, start=start, plan=plan)

    def _create_batch(
        self,
        selection: Selection,
        data: dict[str, Any],
        *,
        batch_size: int,
        start: bool,
        plan: MigrationPlan | None = None,
    ) -> Batch:
        """Persist a batch over the selected instances (its cursor is the items' states), all
        in one transaction, and start it."""
        if batch_size < 1:
            raise InvalidArgumentError("batch_size must be >= 1")
        batch_id = self._ctx.new_id()
        with self._tx() as tx:
            tx.insert(
                "operations",
                [
                    {
                        "id": batch_id,
                        "kind": "batch",
                        "state": "RUNNING",
                        "created_at": self._now(),
                        "updated_at": None,
                        "revision": 1,
                        "data": {
                            **data,
                            "batch_size": batch_size,
                            "processed": 0,
                            "seconds": 0.0,
                            "failures": 0,
                        },
                    }
                ],
            )
            position = 0
            for page in selection.pages(tx):
                tx.insert_operation_items(
                    batch_id, page, first_position=position, state="PENDING", updated_at=None
                )
                position += len(page)
        if plan is not None:
            self._batch_plans[batch_id] = plan
        if start:
            self._batch_runner.start(batch_id)
        return self.batch(batch_id)

    def batches(self) -> list[Batch]:
        with self._tx(read_only=True) as tx:
            return [batch_info(tx, row) for row in tx.list_rows("operations", kind="batch")]

    def batch(self, batch_id: str) -> Batch:
        with self._tx(read_only=True) as tx:
            row = tx.get_row("operations", batch_id)
            if row is None or row["kind"] != "batch":
                raise NotFoundError(f"no batch '{batch_id}'")
            return batch_info(tx, row)

    def wait_batch(self, batch_id: str, timeout: float | None = None) -> Batch:
        """Wait for this engine's thread of the batch to stop (done, paused or cancelled)."""
        self._batch_runner.wait(batch_id, timeout)
        return self.batch(batch_id)

    def pause_batch(self, batch_id: str) -> Batch:
        return self._set_batch_state(batch_id, "PAUSED", ("RUNNING",))

    def resume_batch(self, batch_id: str, *, wait: bool = False) -> Batch:
        """Continue a paused batch, or one whose engine stopped (a crash): from its cursor."""
        self._set_batch_state(batch_id, "RUNNING", ("PAUSED", "RUNNING"))
        if wait:
            self._batch_runner.run(batch_id)
        else:
            self._batch_runner.start(batch_id)
        return self.batch(batch_id)

    def cancel_batch(self, batch_id: str) -> Batch:
        return self._set_batch_state(batch_id, "CANCELED", ("RUNNING", "PAUSED"))

    def retry_skipped(self, batch_id: str, *, wait: bool = False) -> Batch:
        """Put the batch's skipped instances back in line (after a fix) and run it again."""
        with self._tx() as tx:
            row = tx.get_row("operations", batch_id)
            if row is None or row["kind"] != "batch":
                raise NotFoundError(f"no batch '{batch_id}'")
            items = tx.list_operation_items(batch_id, "SKIPPED")
            for item in items:
                item["state"] = "PENDING"
                item["reason"] = None
            if items:
                tx.update("operation_items", items)
            data = dict(row["data"] or {})
            data["failures"] = 0
            data["processed"] = 0
            data["seconds"] = 0.0
            row["data"] = data
            row["state"] = "RUNNING"
            tx.update("operations", [row])
        return self.resume_batch(batch_id, wait=wait)

    def run_batches(self) -> int:
        """Run every RUNNING batch to its end in this thread (for a worker process, or after a
        restart). Returns how many batches were worked on."""
        running = [b for b in self.batches() if b.state == "RUNNING"]
        for batch in running:
            self._batch_runner.run(batch.id)
        return len(running)

    def _set_batch_state(self, batch_id: str, state: str, allowed: tuple[str, ...]) -> Batch:
        with self._tx() as tx:
            row = tx.get_row("operations", batch_id)
            if row is None or row["kind"] != "batch":
                raise NotFoundError(f"no batch '{batch_id}'")
            if row["state"] not in allowed:
                raise ProcessEngineError(
                    f"batch '{batch_id}' is {row['state']}; it cannot become {state}"
                )
            row["state"] = state
            row["updated_at"] = self._now()
            tx.update("operations", [row])
        return self.batch(batch_id)

    # ------------------------------------------------------------------------------------------
    # modification and undo
    # ------------------------------------------------------------------------------------------
    def modify(self, process_instance_id: str) -> ProcessInstanceModification:
        """Start a modification of one running instance (seed 003 semantics)::

        engine.modify(pid).start_before("accept").cancel_all("decline").execute()
        """
        return ProcessInstanceModification(self, process_instance_id)

    def create_process_instance(
        self, key: str, *, business_key: str | None = None, version: int | None = None
    ) -> ProcessInstantiation:
        """Start a new instance at chosen elements instead of its start event::

        engine.create_process_instance("loan").start_before("application_OK")
              .set_variable("approved", True).execute()
        """
        return ProcessInstantiation(self, key, business_key=business_key, version=version)

    def modify_many(self, definition_id: str) -> MultipleInstanceModification:
        """The same start/cancel instructions for many instances of one definition."""
        with self._tx() as tx:
            self._definition_row(tx, definition_id)
        return MultipleInstanceModification(self, definition_id)

    def undo(self, operation_id: str) -> dict[str, str]:
        """Undo a modification (or migration): every instance that has not moved on since is
        restored exactly (ids, variables, tasks, jobs, subscriptions).

        Returns process instance id -> "restored", or why it was left alone.

        Raises:
            NotFoundError: no such operation.
            ProcessEngineError: no instance could be restored; the message says what changed.
        """
        return undo_operation(self, operation_id)

    def operation(self, operation_id: str) -> dict[str, Any]:
        """An operation's record: kind, state, instructions, annotation, instances.

        A synchronous migration whose process ended without finishing it (killed) shows as
        ``INTERRUPTED`` (its process ran on this machine and is gone) though its row still says
        ``RUNNING``: the instances it moved are in its items, the others are untouched.
        """
        with self._tx(read_only=True) as tx:
            row = tx.get_row("operations", operation_id)
        if row is None:
            raise NotFoundError(f"no operation '{operation_id}'")
        return _operation_record(row)

    def operations(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Every operation's record as ``operation`` gives it (``kind``: only ``modification``,
        ``migration`` or ``batch`` ones), in id order, which is the order they began in."""
        with self._tx(read_only=True) as tx:
            rows = tx.list_rows("operations", **({} if kind is None else {"kind": kind}))
        return [_operation_record(row) for row in rows]

    # ------------------------------------------------------------------------------------------
    # incidents and history
    # ------------------------------------------------------------------------------------------
    def incidents(self, process_instance_id: str | None = None) -> list[IncidentInfo]:
        with self._tx(read_only=True) as tx:
            rows = tx.list_incidents(process_instance_id=process_instance_id)
        return [_info(IncidentInfo, r) for r in rows]

    def resolve_incident(self, incident_id: str) -> None:
        """Resolve an incident: a failed job gets another attempt, an element retries its step
        (an element whose input mappings or subscriptions failed is opened again: mappings,
        subscriptions, then its behaviour)."""

        def action(ex: Execution) -> None:
            incident = ex.state.incidents.get(incident_id)
            if incident is None:
                raise NotFoundError(f"no open incident '{incident_id}'")
            instance = ex.state.elements[incident.element_instance_id]
            ex.state.remove(incident)
            ex.history("incident.resolved", instance, {"incident_id": incident_id})
            job = ex.state.jobs.get(incident.job_id) if incident.job_id else None
            if job is not None:
                job.state = JobState.ACTIVATABLE
                job.retries = max(job.retries, 1)
                job.due_at = None
                ex.state.touch(job)
            elif incident.type == events.CONDITIONAL_EVENT_INCIDENT:
                ex.check_conditions()  # evaluated again once the command's steps ran
            elif incident.type in ("EXPRESSION", "CONDITION", "CALLED_ELEMENT"):
                ex.retry_activation(instance, incident)
            elif incident.type == "IO_MAPPING":
                ex.complete(instance)  # the completion (output mappings) failed: retry it

        self._command_on("incidents", incident_id, action, gone=f"no open incident '{incident_id}'")

    def history(self, process_instance_id: str) -> list[HistoryEntry]:
        """The instance's audit trail, oldest first."""
        with self._tx(read_only=True) as tx:
            self._instance_record(tx, process_instance_id)
            rows = tx.list_history(process_instance_id)
        return [_info(HistoryEntry, r) for r in rows]

    # ------------------------------------------------------------------------------------------
    # the command runner
    # ------------------------------------------------------------------------------------------
    def _command(
        self,
        process_instance_id: str,
        action: Callable[[Execution], T],
        *,
        gone: str | None = None,
    ) -> T:
        with self._tx() as tx:
            return self._run(tx, process_instance_id, action, gone=gone)

    def _command_on(
        self, table: str, row_id: str, action: Callable[[Execution], T], *, gone: str
    ) -> T:
        """A command on the instance owning a task, job or incident row: one transaction, the
        instance found and loaded by the row's id in the same query."""
        with self._tx() as tx:
            state = self._locked_state(tx, row_id, owning=table, gone=gone)
            return self._execute(tx, state, action, gone=gone)

    def _run(
        self,
        tx: StoreTransaction,
        process_instance_id: str,
        action: Callable[[Execution], T],
        *,
        gone: str | None = None,
    ) -> T:
        """One command on one instance inside ``tx`` (see ``_execute``)."""
        return self._execute(tx, self._locked_state(tx, process_instance_id), action, gone=gone)

    def _execute(
        self,
        tx: StoreTransaction,
        state: InstanceState,
        action: Callable[[Execution], T],
        *,
        gone: str | None = None,
    ) -> T:
        """One command on one instance (its state loaded and locked inside ``tx``), then its
        effects on other instances.

        ``gone``: the NotFoundError message for a command on a task, job or incident of the
        instance, in case the instance ended since the caller found it (a concurrent command
        completed it): what the command addresses ended with it.
        """
        record = state.instance
        if record.state not in _LIVE:
            if gone is not None:
                raise NotFoundError(gone)
            raise ProcessEngineError(f"process instance '{record.id}' has ended ({record.state})")
        deployed = self._deployed_process(tx, record.definition_id)
        execution = Execution(state, deployed, self._ctx)
        result = action(execution)
        execution.run()
        self._save(tx, state)
        self._follow_up(tx, execution.follow_ups)
        return result

    def _start(
        self,
        tx: StoreTransaction,
        deployed: DeployedProcess,
        *,
        variables: Mapping[str, Any] | None = None,
        business_key: str | None = None,
        start_event_id: str | None = None,
        parent: tuple[str, str] | None = None,
    ) -> ProcessInstanceRecord:
        execution = Execution.start_instance(
            deployed,
            self._ctx,
            process_instance_id=self._ctx.new_id(),
            business_key=business_key,
            variables=variables,
            start_event_id=start_event_id,
            parent_process_instance_id=parent[0] if parent else None,
            parent_element_instance_id=parent[1] if parent else None,
        )
        self._save(tx, execution.state)
        self._follow_up(tx, execution.follow_ups)
        return execution.state.instance

    def _follow_up(self, tx: StoreTransaction, follow_ups: list[FollowUp]) -> None:
        """Carry out effects on other instances in the same transaction (call activities,
        signals): all of them land, or none."""
        for follow_up in follow_ups:
            handler = getattr(self, f"_on_{follow_up.kind}")
            handler(tx, follow_up)

    def _on_start_child(self, tx: StoreTransaction, f: FollowUp) -> None:
        data = f.data
        assert f.process_instance_id is not None and f.element_instance_id is not None
        row = self._called_definition(tx, data)
        if row is None:
            message = (
                f"called process '{data['process_id']}' (binding {data['binding']}"
                + (f", version {data['version']}" if data.get("version") else "")
                + (f", version tag {data['version_tag']}" if data.get("version_tag") else "")
                + ") is not deployed"
            )
            element_instance_id = f.element_instance_id

            def incident(ex: Execution) -> None:
                instance = ex.state.elements.get(element_instance_id)
                if instance is not None:
                    ex.raise_incident(instance, "CALLED_ELEMENT", message)

            self._run(tx, f.process_instance_id, incident)
            return
        self._start(
            tx,
            self._deployed_process(tx, row["id"]),
            variables=checked_variables(data["variables"]),
            business_key=data.get("business_key"),
            parent=(f.process_instance_id, f.element_instance_id),
        )

    def _called_definition(
        self, tx: StoreTransaction, data: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        key, binding = data["process_id"], data["binding"]
        if binding == "version" and data.get("version"):
            try:
                return tx.find_definition(key, version=int(data["version"]))
            except ValueError:
                return None
        if binding == "versionTag" and data.get("version_tag"):
            return tx.find_definition(key, version_tag=data["version_tag"])
        if binding == "deployment":
            calling = tx.get_definition(data["calling_definition_id"])
            for candidate in tx.list_definitions(key):
                if calling is not None and candidate.get("deployment_id") == calling.get(
                    "deployment_id"
                ):
                    return candidate
        return tx.find_definition(key)

    def _on_child_completed(self, tx: StoreTransaction, f: FollowUp) -> None:
        from midflight.runtime.behaviors.call_activity import child_output

        assert f.process_instance_id is not None
        element_instance_id = f.element_instance_id

        def resume(ex: Execution) -> None:
            instance = ex.state.elements.get(element_instance_id or "")
            if instance is None:
                return  # the call activity was cancelled meanwhile
            if ex.state.instance.state == ProcessInstanceState.SUSPENDED:
                return  # a suspended caller stays put; activation resumes it
            ex.complete_with_variables(instance, child_output(ex, instance, f.data["variables"]))

        self._run(tx, f.process_instance_id, resume)

    def _on_child_error(self, tx: StoreTransaction, f: FollowUp) -> None:
        assert f.process_instance_id is not None
        element_instance_id = f.element_instance_id

        def rethrow(ex: Execution) -> None:
            instance = ex.state.elements.get(element_instance_id or "")
            if instance is not None:
                events.throw_error(
                    ex,
                    instance,
                    f.data["error_code"],
                    f.data.get("message"),
                    f.data.get("variables"),
                    origin=f.data.get("origin"),
                )

        self._run(tx, f.process_instance_id, rethrow)

    def _on_unhandled_error(self, tx: StoreTransaction, f: FollowUp) -> None:
        """An error from a called process that no process up the chain caught: the incident
        goes on the element that threw it."""
        assert f.process_instance_id is not None
        element_instance_id = f.element_instance_id

        def incident(ex: Execution) -> None:
            instance = ex.state.elements.get(element_instance_id or "")
            if instance is not None:
                events.raise_unhandled_error(
                    ex, instance, f.data["error_code"], f.data.get("message"), f.data.get("job_id")
                )

        self._run(tx, f.process_instance_id, incident)

    def _on_child_escalation(self, tx: StoreTransaction, f: FollowUp) -> None:
        assert f.process_instance_id is not None
        element_instance_id = f.element_instance_id

        def rethrow(ex: Execution) -> None:
            instance = ex.state.elements.get(element_instance_id or "")
            if instance is not None:
                events.throw_escalation(ex, instance, f.data["escalation_code"])

        self._run(tx, f.process_instance_id, rethrow)

    def _on_cancel_child(self, tx: StoreTransaction, f: FollowUp) -> None:
        for row in tx.list_rows(
            "process_instances", parent_element_instance_id=f.element_instance_id
        ):
            if row["state"] in _LIVE:
                self._run(tx, row["id"], lambda ex: ex.cancel_instance("calling activity ended"))

    def _on_signal(self, tx: StoreTransaction, f: FollowUp) -> None:
        self._broadcast(tx, f.data["name"], f.data.get("variables") or None)

    def _broadcast(
        self, tx: StoreTransaction, name: str, variables: Mapping[str, Any] | None
    ) -> int:
        count = 0
        for sub in tx.find_subscriptions("signal", name, None):

            def deliver(ex: Execution, sub_id: str = sub["id"]) -> bool:
                subscription = ex.state.subscriptions.get(sub_id)
                if subscription is None or ex.state.instance.state != ProcessInstanceState.ACTIVE:
                    return False
                owner = ex.state.elements[subscription.element_instance_id]
                events.trigger(ex, owner, subscription.element_id, variables)
                return True

            instance = tx.get_process_instance(sub["process_instance_id"])
            if instance is not None and instance["state"] == ProcessInstanceState.ACTIVE:
                count += bool(self._run(tx, sub["process_instance_id"], deliver))
        for deployed, start_id in self._start_events(tx, EventDefinitionType.SIGNAL, name):
            self._start(tx, deployed, variables=variables, start_event_id=start_id)
            count += 1
        return count

    def _start_events(
        self, tx: StoreTransaction, kind: EventDefinitionType, name: str
    ) -> list[tuple[DeployedProcess, str]]:
        """Start events of ``kind`` named ``name`` in the latest version of every process."""
        found = []
        latest: dict[str, dict[str, Any]] = {}
        for row in tx.list_definitions():
            if row["key"] not in latest or row["version"] > latest[row["key"]]["version"]:
                latest[row["key"]] = row
        for row in latest.values():
            if row["suspended"]:
                continue
            deployed = self._deployed_process(tx, row["id"])
            for start in deployed.process.start_events():
                for definition in start.event_definitions:
                    if definition.type is not kind:
                        continue
                    table = (
                        deployed.definitions.messages
                        if kind is EventDefinitionType.MESSAGE
                        else deployed.definitions.signals
                    )
                    ref = table.get(definition.ref or "")
                    if ref is not None and (ref.name or ref.id) == name:
                        found.append((deployed, start.id))
        return found

    def _instance_record(
        self, tx: StoreTransaction, process_instance_id: str
    ) -> ProcessInstanceRecord:
        row = tx.get_process_instance(process_instance_id)
        if row is None:
            raise NotFoundError(f"no process instance '{process_instance_id}'")
        return ProcessInstanceRecord(**row)

    def _locked_state(
        self,
        tx: StoreTransaction,
        id: str,
        *,
        owning: str | None = None,
        gone: str | None = None,
    ) -> InstanceState:
        """The instance's row, locked for the transaction, and its live rows: one query for
        the row and which tables hold rows, then the non-empty tables. ``owning``: ``id`` is a
        row of that table (a task, a job, an incident), ``gone`` the error when there is none."""
        loaded = tx.load_instance(id, owning=owning)
        if loaded is None:
            raise NotFoundError(gone or f"no process instance '{id}'")
        return _instance_state(ProcessInstanceRecord(**loaded[0]), loaded[1])

    def _load_state(self, tx: StoreTransaction, record: ProcessInstanceRecord) -> InstanceState:
        return _instance_state(record, tx.load_instance_rows(record.id))

    def _save(self, tx: StoreTransaction, state: InstanceState) -> None:
        changes = state.changes
        # Every command bumps the instance's revision: two commands on one instance never
        # both succeed on stale state. An instance row the command did not change gets only
        # that (writing its other columns would rewrite their index entries for nothing).
        if not changes.touches(state.instance):
            tx.update(state.instance.TABLE, [state.instance.row()], columns=())
        inserts: dict[str, list[dict[str, Any]]] = {}
        updates: dict[str, list[dict[str, Any]]] = {}
        deletes: dict[str, list[dict[str, Any]]] = {}
        for target, records in (
            (inserts, changes.inserted),
            (updates, changes.updated),
            (deletes, changes.deleted),
        ):
            for record in records.values():
                target.setdefault(record.TABLE, []).append(record.row())
        tx.apply(inserts, updates, deletes)
        if changes.history:
            tx.insert_history([event.values() for event in changes.history])


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------
async def _await(awaitable: Any) -> Any:
    return await awaitable


def _instance_state(
    record: ProcessInstanceRecord, rows: Mapping[str, list[dict[str, Any]]]
) -> InstanceState:
    records: list[Record] = []
    for table, table_rows in rows.items():
        cls = _RECORD_BY_TABLE[table]
        records.extend(cls(**r) for r in table_rows)
    return InstanceState.load(record, records)


def _no_task(task_id: str) -> str:
    return f"no open user task '{task_id}' (unknown, or already completed)"


def _no_job(job_id: str) -> str:
    return f"no job '{job_id}' (unknown, or already completed)"


def _final_variables(tx: StoreTransaction, process_instance_id: str) -> dict[str, Any]:
    """The root-scope variables an ended instance ended with (from its history)."""
    values: dict[str, Any] = {}
    for event in tx.list_history(process_instance_id):
        data = event["data"] or {}
        if event["event"] == "variable.set" and data.get("scope_id") == process_instance_id:
            values[data["name"]] = data.get("value")
    return values


def _open_task(ex: Execution, task_id: str) -> UserTask:
    task = ex.state.user_tasks.get(task_id)
    if task is None:
        raise NotFoundError(_no_task(task_id))
    return task


def _open_job(ex: Execution, job_id: str) -> Job:
    job = ex.state.jobs.get(job_id)
    if job is None or job.kind not in (JobKind.TASK, JobKind.LISTENER):
        raise NotFoundError(_no_job(job_id))
    return job


def _require_not_suspended(ex: Execution) -> None:
    if ex.state.instance.state == ProcessInstanceState.SUSPENDED:
        raise ProcessEngineError(
            f"process instance '{ex.state.instance.id}' is suspended; activate it first"
        )


def _instance_info(record: ProcessInstanceRecord) -> ProcessInstance:
    return _info(ProcessInstance, {**record.row(), "state": str(record.state)})


def _task_info(task: UserTask) -> UserTaskInfo:
    return _info(UserTaskInfo, task.row())


def _tree(
    state: InstanceState, deployed: DeployedProcess, element: ElementInstance
) -> ActivityInstance:
    children: list[ActivityInstance] = []
    transitions: list[TransitionInstance] = []
    for child in state.children(element.id):
        if child.state == ElementState.ACTIVE:
            children.append(_tree(state, deployed, child))
        else:
            transitions.append(
                TransitionInstance(
                    id=child.id,
                    element_id=child.element_id,
                    element_type=child.element_type,
                    parent_id=element.id,
                    direction="before"
                    if child.state == ElementState.TRANSITION_BEFORE
                    else "after",
                )
            )
    process = deployed.process
    name = (
        process.name
        if element.parent_id is None
        else (
            process.node(element.element_id).name if process.has_node(element.element_id) else None
        )
    )
    return ActivityInstance(
        id=element.id,
        element_id=element.element_id,
        element_type=element.element_type,
        name=name,
        parent_id=element.parent_id,
        children=children,
        transitions=transitions,
        loop_counter=element.loop_counter,
    )


_InfoT = TypeVar("_InfoT")


def _info(cls: type[_InfoT], row: Mapping[str, Any]) -> _InfoT:
    """A public result dataclass from a row (or record) holding at least its fields."""
    names = _INFO_FIELDS.get(cls)
    if names is None:
        names = _INFO_FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
    return cls(**{name: row[name] for name in names})


_INFO_FIELDS: dict[type, tuple[str, ...]] = {}


def _tree_data(tree: ActivityInstance) -> dict[str, Any]:
    """An activity-instance tree as plain data (for the history)."""
    return {
        "id": tree.id,
        "element_id": tree.element_id,
        "children": [_tree_data(c) for c in tree.children],
        "transitions": [
            {"id": t.id, "element_id": t.element_id, "direction": t.direction}
            for t in tree.transitions
        ],
    }
