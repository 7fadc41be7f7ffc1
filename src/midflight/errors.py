"""Every error Midflight raises, in one place.

Hierarchy::

    MidflightError
    ├── BpmnParseError              XML that cannot be read (malformed, unsafe, too large)
    ├── ModelValidationError        a readable model that is wrong (.problems lists all of them)
    ├── ExpressionError             a FEEL/JUEL expression that does not parse or evaluate
    ├── NotFoundError               an unknown id (definition, instance, task, job, ...)
    ├── InvalidArgumentError        a call whose arguments are wrong (type, state, combination)
    ├── ConcurrentModificationError another transaction changed the same rows first
    ├── ProcessEngineError          the engine could not carry out a command as asked
    └── BpmnError                   raised by a job worker: a business error for the model to catch

Lower-layer errors (lxml, SQLAlchemy) are translated into these at the layer boundary, so a
caller never has to catch a third-party exception.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "BpmnError",
    "BpmnParseError",
    "ConcurrentModificationError",
    "ExpressionError",
    "InvalidArgumentError",
    "MidflightError",
    "ModelValidationError",
    "NotFoundError",
    "Problem",
    "ProcessEngineError",
]


class MidflightError(Exception):
    """Base class of every error raised by Midflight."""


class BpmnParseError(MidflightError):
    """The BPMN source cannot be read: malformed or unsafe XML, or too large.

    Attributes:
        line: 1-based line of the fault in the source, when known.
        column: 1-based column of the fault, when known.
    """

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None):
        where = f" (line {line}{f', column {column}' if column else ''})" if line else ""
        super().__init__(f"{message}{where}")
        self.line = line
        self.column = column


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a model: where it is and what to do about it."""

    element_id: str | None
    line: int | None
    message: str
    code: str = "invalid"
    severity: str = "error"  # "error" refuses the model; "warning" is reported only

    def __str__(self) -> str:
        where = []
        if self.element_id:
            where.append(f"element '{self.element_id}'")
        if self.line:
            where.append(f"line {self.line}")
        prefix = f"{', '.join(where)}: " if where else ""
        return f"{prefix}{self.message}"


class ModelValidationError(MidflightError):
    """A model that was read but is wrong. ``problems`` holds every problem found, not just one."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems: tuple[Problem, ...] = tuple(problems)
        count = len(self.problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"the model has {count} problem{'s' if count != 1 else ''}:\n{lines}")


class ExpressionError(MidflightError):
    """An expression that does not parse or cannot be evaluated.

    Attributes:
        expression: the expression text.
        position: 0-based character offset of the fault in ``expression``, when known.
    """

    def __init__(self, message: str, *, expression: str | None = None, position: int | None = None):
        detail = message
        if expression is not None:
            at = f" at position {position}" if position is not None else ""
            detail = f"{message}{at} in expression {expression!r}"
        super().__init__(detail)
        self.reason = message
        self.expression = expression
        self.position = position


class NotFoundError(MidflightError, LookupError):
    """An id that names nothing: no such definition, instance, task, job or element."""


class InvalidArgumentError(MidflightError, ValueError):
    """Arguments of the wrong type, in a wrong combination or for an object in the wrong state."""


class ConcurrentModificationError(MidflightError):
    """Another transaction changed the same rows first; nothing of this command was applied."""


class ProcessEngineError(MidflightError):
    """The engine could not carry out the command as asked; nothing of it was applied."""


class BpmnError(MidflightError):
    """Raised by a job worker to throw a BPMN error that an error event in the model catches.

    Args:
        code: the error code the catching event matches.
        message: a human-readable message.
        variables: variables to set where the error is caught.
    """

    def __init__(self, code: str, message: str = "", variables: dict[str, object] | None = None):
        super().__init__(message or code)
        self.code = code
        self.variables = variables
