"""The public surface and the layering of DESIGN.md, checked."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import midflight

SRC = Path(midflight.__file__).parent

# package -> packages of ours it must never import (imports point down only)
FORBIDDEN = {
    "expr": ("model", "runtime", "store", "change", "engine", "cli"),
    "model": ("runtime", "store", "change", "engine", "cli"),
    "runtime": ("store", "change", "engine", "cli"),
    "store": ("runtime", "change", "engine", "cli"),
    "change": ("store", "engine", "cli"),
    "engine": ("cli",),
}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_import_downward_only(package: str) -> None:
    offenders = []
    for path in sorted((SRC / package).rglob("*.py")):
        for module in _imports(path):
            parts = module.split(".")
            if parts[0] == "midflight" and len(parts) > 1 and parts[1] in FORBIDDEN[package]:
                offenders.append(f"{path.relative_to(SRC)} imports {module}")
    assert offenders == []


@pytest.mark.parametrize(
    "module",
    [
        "midflight",
        "midflight.engine",
        "midflight.model",
        "midflight.expr",
        "midflight.change",
        "midflight.store",
        "midflight.errors",
    ],
)
def test_every_exported_name_exists(module: str) -> None:
    loaded = importlib.import_module(module)
    missing = [name for name in loaded.__all__ if not hasattr(loaded, name)]
    assert missing == []
    assert len(set(loaded.__all__)) == len(loaded.__all__)


def test_the_package_exports_the_engine_api() -> None:
    for name in (
        "Engine",
        "ProcessBuilder",
        "parse_bpmn",
        "write_bpmn",
        "evaluate_feel",
        "MidflightError",
        "ConcurrentModificationError",
        "job_worker",
    ):
        assert name in midflight.__all__


def test_no_python_eval_on_model_text() -> None:
    # Expressions are interpreted by our own FEEL/JUEL code, never by eval/exec/compile.
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("eval", "exec", "compile")
            ):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno} {node.func.id}()")
    assert offenders == []
