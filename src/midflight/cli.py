"""The ``midflight`` command line (Typer + Rich)."""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from midflight.engine import ActivityInstance, Engine
from midflight.errors import MidflightError, ModelValidationError
from midflight.model import ElementType, Process, parse_bpmn

app = typer.Typer(
    help="Midflight: a BPMN process engine built to change processes while they run.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="MIDFLIGHT_DB_URL",
        help="Database URL (default: sqlite:///./midflight.db). Env: MIDFLIGHT_DB_URL.",
    ),
]
VarOption = Annotated[
    list[str] | None,
    typer.Option("--var", help="A variable as name=value (value read as JSON when it parses)."),
]


def main() -> None:
    app()


@contextmanager
def _engine(db: str | None) -> Iterator[Engine]:
    try:
        with Engine(db) as engine:
            yield engine
    except ModelValidationError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    except MidflightError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None


def _parse_vars(pairs: list[str] | None) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for pair in pairs or []:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            err_console.print(f"[red]error:[/red] --var '{pair}' is not name=value")
            raise typer.Exit(2)
        try:
            result[name] = json.loads(raw)
        except json.JSONDecodeError:
            result[name] = raw
    return result


# ---------------------------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------------------------
def _print_structure(title: str, process: Process) -> None:
    tree = Tree(
        f"[bold]{title}[/bold] — process [cyan]{process.id}[/cyan]"
        f"{' (' + process.name + ')' if process.name else ''}"
        f"{'' if process.is_executable else ' [dim](not executable)[/dim]'}"
    )

    def add(branch: Tree, container: str | None) -> None:
        for node in process.children_of(container):
            label = f"{node.type.value} [cyan]{node.id}[/cyan]"
            if node.name:
                label += f" “{node.name}”"
            if node.event_definitions:
                label += " [" + ", ".join(d.type.value for d in node.event_definitions) + "]"
            if node.attached_to:
                label += f" on {node.attached_to}"
            if node.is_multi_instance:
                label += f" (multi-instance body {node.id}#multiInstanceBody)"
            if node.outgoing:
                label += " → " + ", ".join(process.flows[f].target_id for f in node.outgoing)
            child = branch.add(label)
            if node.type in (
                ElementType.SUB_PROCESS,
                ElementType.EVENT_SUB_PROCESS,
                ElementType.AD_HOC_SUB_PROCESS,
                ElementType.TRANSACTION,
            ):
                add(child, node.id)

    add(tree, None)
    console.print(tree)


def _example_paths() -> list[Path]:
    folder = resources.files("midflight") / "examples"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".bpmn"))


@app.command()
def parse(file: Path) -> None:
    """Parse and validate a BPMN file and print its structure."""
    try:
        definitions = parse_bpmn(file)
    except MidflightError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    for process in definitions.processes:
        _print_structure(file.name, process)


# ---------------------------------------------------------------------------------------------
# deployments and instances
# ---------------------------------------------------------------------------------------------
@app.command()
def deploy(
    file: Path,
    db: DbOption = None,
    version_tag: Annotated[str | None, typer.Option(help="Tag the new version.")] = None,
) -> None:
    """Deploy a BPMN file: each executable process becomes a new version of its key."""
    with _engine(db) as engine:
        for d in engine.deploy(file, version_tag=version_tag):
            console.print(
                f"deployed [cyan]{d.key}[/cyan] version {d.version} "
                f"(id {d.id}{', tag ' + d.version_tag if d.version_tag else ''})"
            )


@app.command()
def definitions(db: DbOption = None, key: str | None = None) -> None:
    """List deployed process versions with their running instances."""
    with _engine(db) as engine:
        table = Table("id", "key", "version", "tag", "running", "suspended")
        for d in engine.definitions(key):
            table.add_row(
                d.id,
                d.key,
                str(d.version),
                d.version_tag or "",
                str(d.running_instances),
                "yes" if d.suspended else "",
            )
        console.print(table)


@app.command()
def start(
    key: str,
    db: DbOption = None,
    var: VarOption = None,
    business_key: Annotated[str | None, typer.Option("--business-key")] = None,
    version: int | None = None,
) -> None:
    """Start an instance of the latest (or a pinned) version of a process."""
    with _engine(db) as engine:
        instance = engine.start_process(key, _parse_vars(var), business_key, version=version)
        console.print(f"started {instance.id} ({instance.definition_id}): {instance.state}")


@app.command()
def instances(
    db: DbOption = None,
    key: str | None = None,
    version: int | None = None,
    element: str | None = None,
    state: str | None = None,
    limit: int = 100,
) -> None:
    """List process instances (filter by key, version, active element, state)."""
    with _engine(db) as engine:
        table = Table("id", "definition", "business key", "state", "started")
        for i in engine.process_instances(
            key=key, version=version, element_id=element, state=state, limit=limit
        ):
            table.add_row(
                i.id,
                i.definition_id,
                i.business_key or "",
                i.state,
                i.started_at.isoformat(timespec="seconds"),
            )
        console.print(table)


def _tree_view(node: ActivityInstance, branch: Tree | None = None) -> Tree:
    label = f"{node.name or node.element_id} [dim]{node.element_type} {node.id}[/dim]"
    here = Tree(label) if branch is None else branch.add(label)
    for transition in node.transitions:
        here.add(
            f"[yellow]{transition.element_id}[/yellow] [dim]async {transition.direction} "
            f"{transition.id}[/dim]"
        )
    for child in node.children:
        _tree_view(child, here)
    return here


@app.command()
def show(process_instance_id: str, db: DbOption = None) -> None:
    """Draw an instance's activity-instance tree and its variables."""
    with _engine(db) as engine:
        info = engine.process_instance(process_instance_id)
        console.print(f"[bold]{info.id}[/bold] {info.definition_id} {info.state}")
        if info.state in ("ACTIVE", "SUSPENDED"):
            console.print(_tree_view(engine.activity_instance_tree(process_instance_id)))
        console.print_json(data=engine.variables(process_instance_id), default=str)


@app.command()
def tasks(db: DbOption = None, instance: str | None = None, assignee: str | None = None) -> None:
    """List open user tasks."""
    with _engine(db) as engine:
        table = Table("id", "name", "element", "instance", "assignee", "groups")
        for t in engine.user_tasks(process_instance_id=instance, assignee=assignee):
            table.add_row(
                t.id,
                t.name or "",
                t.element_id,
                t.process_instance_id,
                t.assignee or "",
                ",".join(t.candidate_groups or []),
            )
        console.print(table)


@app.command()
def complete(task_id: str, db: DbOption = None, var: VarOption = None) -> None:
    """Complete a user task."""
    with _engine(db) as engine:
        engine.complete_user_task(task_id, _parse_vars(var))
        console.print(f"completed task {task_id}")


@app.command()
def history(process_instance_id: str, db: DbOption = None) -> None:
    """Print an instance's audit trail."""
    with _engine(db) as engine:
        table = Table("time", "event", "element", "data")
        for e in engine.history(process_instance_id):
            table.add_row(
                e.timestamp.isoformat(timespec="seconds"),
                e.event,
                e.element_id or "",
                json.dumps(e.data, default=str) if e.data else "",
            )
        console.print(table)


@app.command()
def worker(
    module: str,
    db: DbOption = None,
    once: Annotated[bool, typer.Option(help="Stop when no work is left.")] = False,
) -> None:
    """Serve the job workers of a Python module (functions marked with @midflight.job_worker)."""
    sys.path.insert(0, os.getcwd())
    loaded = importlib.import_module(module)
    with _engine(db) as engine:
        count = 0
        for value in vars(loaded).values():
            job_type = getattr(value, "__midflight_job_type__", None)
            if job_type is not None:
                engine.worker(job_type)(value)
                count += 1
                console.print(f"serving job type [cyan]{job_type}[/cyan] with {value.__name__}")
        if count == 0:
            err_console.print(f"[red]error:[/red] module '{module}' has no @job_worker functions")
            raise typer.Exit(2)
        try:
            handled = engine.run_workers(until_idle=once)
        except KeyboardInterrupt:
            handled = 0
        console.print(f"handled {handled} job(s) and timer(s)")


# ---------------------------------------------------------------------------------------------
# changing running instances
# ---------------------------------------------------------------------------------------------
_DO_KINDS = {
    "start-before": "start_before",
    "start-after": "start_after",
    "start-transition": "start_transition",
    "cancel-all": "cancel_all",
    "cancel-instance": "cancel_instance",
    "cancel-activity-instance": "cancel_activity_instance",
    "cancel-transition-instance": "cancel_transition_instance",
    "var": "var",
    "local-var": "local_var",
}
_NAMED = ("start_before", "start_after", "start_transition", "cancel_instance", "cancel_all")
Repeated = Annotated[list[str] | None, typer.Option(show_default=False)]


def _usage_error(message: str) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {escape(message)}")
    return typer.Exit(2)


def _parse_do(step: str) -> tuple[str, str]:
    """``kind:argument`` of a ``--do`` option."""
    kind, sep, argument = step.partition(":")
    if not sep or not argument or kind not in _DO_KINDS:
        raise _usage_error(
            f"--do '{step}' is not KIND:ARGUMENT with KIND one of {', '.join(_DO_KINDS)}"
        )
    return _DO_KINDS[kind], argument


def _transition_ids(tree: ActivityInstance) -> set[str]:
    return {t.id for node in tree.walk() for t in node.transitions}


def _instruct(modification: Any, steps: list[tuple[str, str]], transitions: set[str]) -> None:
    """Add ``(kind, argument)`` steps to a modification builder, in order."""
    started = False
    for kind, argument in steps:
        if kind in ("var", "local_var"):
            if not started:
                raise _usage_error(
                    f"--do {kind.replace('_', '-')}:{argument} (or --var) needs a start "
                    "instruction before it"
                )
            variables = _parse_vars([argument])
            if kind == "var":
                modification.set_variables(variables)
            else:
                modification.set_variables_local(variables)
        elif kind == "cancel_instance":
            if argument in transitions:
                modification.cancel_transition_instance(argument)
            else:
                modification.cancel_activity_instance(argument)
        elif kind.startswith("start"):
            target, _, ancestor = argument.partition("@")
            getattr(modification, kind)(target, ancestor or None)
            started = True
        else:
            getattr(modification, kind)(argument)


def _print_outcome(outcome: Any, *, preview: bool) -> None:
    if outcome.tree is not None:
        console.print(_tree_view(outcome.tree))
    else:
        console.print(
            f"the process instance would end: {outcome.state}"
            if preview
            else f"the process instance ended: {outcome.state}"
        )
    console.print(
        f"{'would create' if preview else 'created'} {len(outcome.created)}, "
        f"{'would cancel' if preview else 'cancelled'} {len(outcome.cancelled)} "
        "element instance(s)"
    )
    for warning in outcome.warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}")


@app.command()
def modify(
    process_instance_id: str,
    db: DbOption = None,
    do: Annotated[
        list[str] | None,
        typer.Option(
            "--do",
            help="An instruction KIND:ARGUMENT, in the order given: start-before:ELEMENT, "
            "start-after:ELEMENT, start-transition:FLOW (each with an optional @ANCESTOR "
            "instance id), cancel-all:ELEMENT, cancel-instance:INSTANCE, and var:NAME=VALUE / "
            "local-var:NAME=VALUE for the start instruction before it.",
            show_default=False,
        ),
    ] = None,
    start_before: Repeated = None,
    start_after: Repeated = None,
    start_transition: Repeated = None,
    cancel_instance: Repeated = None,
    cancel_all: Repeated = None,
    var: Annotated[
        list[str] | None,
        typer.Option("--var", help="A variable NAME=VALUE set with the first start instruction."),
    ] = None,
    preview: Annotated[bool, typer.Option(help="Show the outcome; change nothing.")] = False,
    strict: Annotated[
        bool, typer.Option(help="Refuse if tokens would be left that can never complete.")
    ] = False,
    annotate: Annotated[str | None, typer.Option(help="Why, kept with the operation.")] = None,
    skip_listeners: bool = False,
    skip_io_mappings: bool = False,
) -> None:
    """Start and cancel activities of a running instance (seed 003 semantics).

    The --do instructions run first, in the order given; then the named options, starts
    (--start-before, --start-after, --start-transition) before cancels (--cancel-instance,
    --cancel-all). --var variables go with the first start instruction.
    """
    steps = [_parse_do(step) for step in do or []]
    named = {
        "start_before": start_before,
        "start_after": start_after,
        "start_transition": start_transition,
        "cancel_instance": cancel_instance,
        "cancel_all": cancel_all,
    }
    steps += [(kind, target) for kind in _NAMED for target in named[kind] or []]
    if var:
        first = next((i for i, (kind, _) in enumerate(steps) if kind.startswith("start")), None)
        if first is None:
            raise _usage_error("--var needs a start instruction to go with")
        steps[first + 1 : first + 1] = [("var", pair) for pair in var]
    if not steps:
        raise _usage_error(
            "give at least one instruction (--do, --start-before, --cancel-all, ...)"
        )
    with _engine(db) as engine:
        transitions: set[str] = set()
        if any(kind == "cancel_instance" for kind, _ in steps):
            transitions = _transition_ids(engine.activity_instance_tree(process_instance_id))
        modification = engine.modify(process_instance_id)
        _instruct(modification, steps, transitions)
        if annotate:
            modification.annotate(annotate)
        if preview:
            console.print("[bold]preview[/bold] (nothing was changed)")
            outcome = modification.preview(
                skip_listeners=skip_listeners, skip_io_mappings=skip_io_mappings
            )
            _print_outcome(outcome, preview=True)
            return
        result = modification.execute(
            strict=strict, skip_listeners=skip_listeners, skip_io_mappings=skip_io_mappings
        )
        _print_outcome(result, preview=False)
        console.print(f"operation [cyan]{result.operation_id}[/cyan] (undo: midflight undo ID)")


@app.command()
def undo(operation_id: str, db: DbOption = None) -> None:
    """Undo a modification: restore each instance that has not moved on since."""
    with _engine(db) as engine:
        for process_instance_id, outcome in engine.undo(operation_id).items():
            if outcome == "restored":
                console.print(f"[green]restored[/green] {process_instance_id}")
            else:
                console.print(
                    f"[yellow]left alone[/yellow] {process_instance_id}: {escape(outcome)}"
                )


# ---------------------------------------------------------------------------------------------
# demo
# ---------------------------------------------------------------------------------------------
@app.command()
def demo(db: DbOption = None) -> None:
    """Parse the bundled example models, run instances through tasks and jobs, show their trees."""
    paths = _example_paths()
    for path in paths:
        for process in parse_bpmn(path).processes:
            _print_structure(path.name, process)
    with _engine(db) as engine:
        for path in paths:
            for d in engine.deploy(path):
                console.print(f"deployed [cyan]{d.key}[/cyan] v{d.version} ({d.id})")
        runs = [
            engine.start_process(
                "loan_application",
                {"approved": i % 2 == 0, "approver": "joe"},
                business_key=f"loan-{i}",
            )
            for i in range(3)
        ]
        console.rule("loan applications waiting in the evaluation subprocess")
        console.print(_tree_view(engine.activity_instance_tree(runs[0].id)))

        @engine.worker("credit-check")
        def credit_check(job: Any) -> dict[str, Any]:
            return {"score": 720}

        engine.run_workers(until_idle=True)
        for run in runs:
            for task in engine.user_tasks(process_instance_id=run.id):
                engine.complete_user_task(task.id, {"registered": True})
        console.rule("after the credit check and registration")
        for run in runs:
            tree = engine.activity_instance_tree(run.id)
            console.print(
                f"{run.business_key}: " + ", ".join(c.name or c.element_id for c in tree.children)
            )
        claim = engine.start_process("claim_handling", business_key="claim-1")
        engine.correlate_message(
            "claimDocuments", variables={"amount": 2400}, process_instance_id=claim.id
        )
        console.rule("claim after its documents arrived (payout computed in FEEL)")
        console.print(_tree_view(engine.activity_instance_tree(claim.id)))
        console.print_json(data=engine.variables(claim.id), default=str)

        @engine.worker("payment")
        def pay(job: Any) -> dict[str, Any]:
            return {"paid": True}

        engine.run_workers(until_idle=True)
        console.print(f"claim {claim.id}: {engine.process_instance(claim.id).state}")
