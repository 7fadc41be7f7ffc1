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
        err_console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    except MidflightError as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}")
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
        err_console.print(f"[red]error:[/red] {escape(str(exc))}")
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
    try:
        loaded = importlib.import_module(module)
    except ImportError as exc:
        err_console.print(
            f"[red]error:[/red] cannot import worker module '{module}': {escape(str(exc))}"
        )
        raise typer.Exit(2) from None
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
    start_before: Annotated[
        list[str] | None, typer.Option(help="Start before this element (repeatable).")
    ] = None,
    start_after: Annotated[
        list[str] | None,
        typer.Option(help="Start on the single outgoing flow of this element (repeatable)."),
    ] = None,
    start_transition: Annotated[
        list[str] | None, typer.Option(help="Start on this sequence flow (repeatable).")
    ] = None,
    cancel_instance: Annotated[
        list[str] | None,
        typer.Option(help="Cancel this activity or transition instance (repeatable)."),
    ] = None,
    cancel_all: Annotated[
        list[str] | None,
        typer.Option(help="Cancel every instance of this element (repeatable)."),
    ] = None,
    var: Annotated[
        list[str] | None,
        typer.Option("--var", help="A variable NAME=VALUE set with the first start instruction."),
    ] = None,
    preview: Annotated[bool, typer.Option(help="Show the outcome; change nothing.")] = False,
    strict: Annotated[
        bool, typer.Option(help="Refuse if tokens would be left that can never complete.")
    ] = False,
    annotate: Annotated[str | None, typer.Option(help="Why, kept with the operation.")] = None,
    skip_listeners: Annotated[
        bool, typer.Option(help="Run no execution or task listeners in this change.")
    ] = False,
    skip_io_mappings: Annotated[
        bool, typer.Option(help="Run no input/output mappings in this change.")
    ] = False,
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


# ---------------------------------------------------------------------------------------------
# migration: midflight migrate plan|validate|run|status|resume|undo
# ---------------------------------------------------------------------------------------------
migrate_app = typer.Typer(
    help="Move running instances to another version of their process (Camunda 7 semantics).",
    no_args_is_help=True,
)
app.add_typer(migrate_app, name="migrate")

InstanceOption = Annotated[
    list[str] | None,
    typer.Option(
        "--instance", help="A process instance to migrate (repeatable).", show_default=False
    ),
]
AllOption = Annotated[
    bool, typer.Option("--all", help="Every running instance of the plan's source version.")
]


def _bad_usage(message: str) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {escape(message)}")
    return typer.Exit(2)


def _definition_ref(engine: Engine, ref: str) -> str:
    """A definition id, or ``KEY@VERSION`` / ``KEY@TAG`` (a number is a version, else a tag)."""
    key, at, selector = ref.rpartition("@")
    if not at:
        return engine.definition(ref).id
    for d in engine.definitions(key):
        if (selector.isdigit() and d.version == int(selector)) or d.version_tag == selector:
            return d.id
    raise _bad_usage(f"no version of '{key}' is '{selector}' (give a version number or tag)")


def _read_plan(path: Path) -> Any:
    """A plan from a JSON or YAML file (as ``migrate plan`` writes them)."""
    import yaml

    from midflight.change.migration import MigrationPlan

    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
        return MigrationPlan.from_json(data)
    except (OSError, ValueError, yaml.YAMLError, MidflightError) as exc:
        raise _bad_usage(f"cannot read the plan {path}: {exc}") from None


def _selection(instance: list[str] | None, all_: bool) -> tuple[list[str] | None, Any]:
    """(process instance ids, query) of ``--instance``/``--all``."""
    if bool(instance) == all_:
        raise _bad_usage("give --instance ID (repeatable) or --all")
    return (list(instance or []) or None), ({} if all_ else None)


def _outcome_text(outcome: dict[str, Any]) -> str:
    """What a dry run found, in a few words (only what would change)."""
    counts = [
        ("re-pointed", len(outcome.get("repointed", {}))),
        ("scope(s) created", len(outcome.get("created", []))),
        ("scope(s) removed", len(outcome.get("removed", []))),
        ("subscription(s)/timer(s) added", len(outcome.get("subscriptions_added", []))),
        ("subscription(s)/timer(s) removed", len(outcome.get("subscriptions_removed", []))),
        ("timer(s) kept or moved", len(outcome.get("timers", {}))),
    ]
    parts = [f"{n} {what}" for what, n in counts if n]
    changed = {*outcome.get("variables_set", []), *outcome.get("variables_removed", [])}
    if changed:
        parts.append("variables " + ", ".join(sorted(changed)))
    return ", ".join(parts) or "nothing to change but the version"


def _id_table(first: str, *headers: str) -> Table:
    """A table whose first column holds ids, which are never cut or wrapped."""
    table = Table()
    table.add_column(first, no_wrap=True, min_width=32)
    for header in headers:
        table.add_column(header)
    return table


def _progress_text(batch: Any) -> str:
    return f"{batch.done}/{batch.total} done, {batch.skipped} skipped, {batch.pending} pending" + (
        f", {batch.throughput_per_s}/s" if batch.throughput_per_s else ""
    )


def _print_batch(batch: Any) -> None:
    console.print(f"batch [cyan]{batch.id}[/cyan] {batch.state}: {_progress_text(batch)}")
    if batch.data.get("paused_reason") and batch.state == "PAUSED":
        console.print(f"paused: {escape(batch.data['paused_reason'])}")
    if batch.skipped_reasons:
        skipped = _id_table("skipped instance", "reason")
        for pid, reason in batch.skipped_reasons.items():
            skipped.add_row(pid, escape(reason))
        console.print(skipped)


@migrate_app.command("plan")
def migrate_plan(
    source: Annotated[str, typer.Argument(help="Source definition id, or KEY@VERSION/KEY@TAG.")],
    target: Annotated[str, typer.Argument(help="Target definition id, or KEY@VERSION/KEY@TAG.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Plan file to write (.json, .yaml or .yml).")
    ],
    auto: Annotated[
        bool, typer.Option("--auto", help="Map elements with the same id, type and scope.")
    ] = False,
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map", help="SOURCE=TARGET element mapping (repeatable).", show_default=False
        ),
    ] = None,
    timers: Annotated[
        str, typer.Option(help="Timer policy: keep, reset or keep_elapsed.")
    ] = "keep",
    annotate: Annotated[str | None, typer.Option(help="Why, kept with the plan.")] = None,
    db: DbOption = None,
) -> None:
    """Write a migration plan, checked against both versions (every problem at once)."""
    pairs = []
    for pair in map_ or []:
        left, sep, right = pair.partition("=")
        if not sep or not left or not right:
            raise _bad_usage(f"--map '{pair}' is not SOURCE=TARGET")
        pairs.append((left, right))
    if not auto and not pairs:
        raise _bad_usage("give --auto and/or --map SOURCE=TARGET")
    with _engine(db) as engine:
        builder = engine.migration_plan(
            _definition_ref(engine, source), _definition_ref(engine, target)
        )
        for left, right in pairs:
            builder.map(left, right)
        if auto:
            builder.map_equal_activities()
        builder.timers(timers)
        if annotate:
            builder.annotate(annotate)
        plan = builder.build()
    if output.suffix in (".yaml", ".yml"):
        import yaml

        output.write_text(yaml.safe_dump(json.loads(plan.to_json()), sort_keys=False))
    else:
        output.write_text(plan.to_json() + "\n")
    table = Table("source element", "target element")
    for instruction in plan.instructions:
        table.add_row(instruction.source, instruction.target)
    console.print(table)
    console.print(
        f"plan [cyan]{plan.source_definition_id}[/cyan] -> [cyan]{plan.target_definition_id}"
        f"[/cyan] ({len(plan.instructions)} mappings, timers {plan.timers}) written to {output}"
    )


@migrate_app.command("validate")
def migrate_validate(
    plan_file: Annotated[Path, typer.Argument(metavar="PLAN", help="A plan file (JSON or YAML).")],
    instance: InstanceOption = None,
    all_: AllOption = False,
    db: DbOption = None,
) -> None:
    """Dry-run a plan: for each instance, whether it can migrate and what would change.
    Exits 1 if any instance cannot migrate."""
    plan = _read_plan(plan_file)
    ids, query = _selection(instance, all_)
    with _engine(db) as engine:
        report = engine.validate_migration(plan, ids, query)
    table = _id_table("instance", "can migrate", "what would happen / why not")
    for item in report.instances:
        table.add_row(
            item.process_instance_id,
            "[green]yes[/green]" if item.can_migrate else "[red]no[/red]",
            _outcome_text(item.outcome) if item.can_migrate else escape("; ".join(item.problems)),
        )
    console.print(table)
    able = sum(1 for i in report.instances if i.can_migrate)
    console.print(f"{able} of {len(report.instances)} instance(s) can migrate")
    if not report.can_migrate_all:
        raise typer.Exit(1)


@migrate_app.command("run")
def migrate_run(
    plan_file: Annotated[Path, typer.Argument(metavar="PLAN", help="A plan file (JSON or YAML).")],
    instance: InstanceOption = None,
    all_: AllOption = False,
    batch_size: Annotated[int, typer.Option(help="Instances per step.")] = 500,
    canary: Annotated[
        int, typer.Option(help="Pause after this many instances for review (0: no canary).")
    ] = 0,
    max_failure_rate: Annotated[
        float | None, typer.Option(help="Pause when this share of instances is skipped.")
    ] = None,
    operator: Annotated[str | None, typer.Option(help="Who runs it (kept in history).")] = None,
    db: DbOption = None,
) -> None:
    """Migrate instances as a batch, with a progress bar. Exits 1 if instances were skipped."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    plan = _read_plan(plan_file)
    ids, query = _selection(instance, all_)
    with _engine(db) as engine:
        batch = engine.migrate_async(
            plan,
            ids,
            query,
            batch_size=batch_size,
            canary=canary,
            max_failure_rate=max_failure_rate,
            operator=operator,
        )
        with Progress(
            TextColumn("migrating"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[skipped]} skipped"),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            bar = progress.add_task("migrate", total=batch.total, skipped=0)
            while True:
                batch = engine.batch(batch.id)
                progress.update(bar, completed=batch.done + batch.skipped, skipped=batch.skipped)
                if batch.state != "RUNNING":
                    break
                time.sleep(0.1)
        engine.wait_batch(batch.id)
        _print_batch(engine.batch(batch.id))
        console.print(
            f"undo: midflight migrate undo {batch.id}"
            + (f"; resume: midflight migrate resume {batch.id}" if batch.state == "PAUSED" else "")
        )
    if batch.skipped:
        raise typer.Exit(1)


@migrate_app.command("status")
def migrate_status(
    batch_id: Annotated[str | None, typer.Argument(metavar="[BATCH]")] = None,
    db: DbOption = None,
) -> None:
    """Show one batch (progress, skipped instances with reasons) or list them all."""
    with _engine(db) as engine:
        if batch_id is not None:
            _print_batch(engine.batch(batch_id))
            return
        table = _id_table("batch", "state", "progress", "created")
        for batch in engine.batches():
            table.add_row(
                batch.id,
                batch.state,
                _progress_text(batch),
                batch.created_at.isoformat(timespec="seconds"),
            )
        console.print(table)


@migrate_app.command("resume")
def migrate_resume(
    batch_id: Annotated[str, typer.Argument(metavar="BATCH")],
    retry_skipped: Annotated[
        bool, typer.Option(help="Put the skipped instances back in line first.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Continue a paused (or interrupted) batch here until it stops."""
    with _engine(db) as engine:
        if retry_skipped:
            batch = engine.retry_skipped(batch_id, wait=True)
        else:
            batch = engine.resume_batch(batch_id, wait=True)
        _print_batch(batch)
    if batch.skipped:
        raise typer.Exit(1)


@migrate_app.command("undo")
def migrate_undo(
    operation_id: Annotated[str, typer.Argument(metavar="OPERATION")],
    db: DbOption = None,
) -> None:
    """Undo a migration (a batch or a direct one): each instance that has not moved on since is
    restored exactly; the others are listed with what happened to them."""
    with _engine(db) as engine:
        for process_instance_id, outcome in engine.undo(operation_id).items():
            if outcome == "restored":
                console.print(f"[green]restored[/green] {process_instance_id}")
            else:
                console.print(
                    f"[yellow]left alone[/yellow] {process_instance_id}: {escape(outcome)}"
                )
