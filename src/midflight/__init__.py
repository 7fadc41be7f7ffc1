"""Midflight: a BPMN process engine built to change processes while they run.

Public API (grouped as in the docs)::

    Engine                                   # the engine facade (midflight.engine)
    parse_bpmn, write_bpmn, ProcessBuilder   # models (midflight.model)
    evaluate_feel, compile_feel, evaluate_juel
    job_worker                               # mark functions for `midflight worker MODULE`
    errors: MidflightError and subclasses (midflight.errors)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from midflight.change.migration import MigrationPlan, MigrationPlanValidationError
from midflight.engine import (
    ActivatedJob,
    ActivityInstance,
    Batch,
    Engine,
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
    BpmnParseError,
    ConcurrentModificationError,
    ExpressionError,
    InvalidArgumentError,
    MidflightError,
    ModelValidationError,
    NotFoundError,
    ProcessEngineError,
)
from midflight.expr import compile_feel, compile_juel, evaluate_feel, evaluate_juel
from midflight.model import ProcessBuilder, parse_bpmn, write_bpmn

__version__ = "0.1.0"

F = TypeVar("F", bound=Callable[..., Any])


def job_worker(job_type: str) -> Callable[[F], F]:
    """Mark a function as the worker for ``job_type``; ``midflight worker MODULE`` serves it."""

    def mark(func: F) -> F:
        func.__midflight_job_type__ = job_type  # type: ignore[attr-defined]
        return func

    return mark


__all__ = [
    # engine
    "ActivatedJob",
    "ActivityInstance",
    "Batch",
    "Engine",
    "MigrationPlan",
    "MigrationPlanValidationError",
    "HistoryEntry",
    "IncidentInfo",
    "MessageCorrelation",
    "ProcessDefinition",
    "ProcessInstance",
    "TransitionInstance",
    "UserTaskInfo",
    "job_worker",
    # models and expressions
    "ProcessBuilder",
    "compile_feel",
    "compile_juel",
    "evaluate_feel",
    "evaluate_juel",
    "parse_bpmn",
    "write_bpmn",
    # errors
    "BpmnError",
    "BpmnParseError",
    "ConcurrentModificationError",
    "ExpressionError",
    "InvalidArgumentError",
    "MidflightError",
    "ModelValidationError",
    "NotFoundError",
    "ProcessEngineError",
    "__version__",
]
