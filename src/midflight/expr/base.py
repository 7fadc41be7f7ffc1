"""What every compiled expression offers, and the bounds that keep evaluation safe."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

__all__ = ["MAX_DEPTH", "MAX_EXPRESSION_LENGTH", "MAX_RESULT_LENGTH", "CompiledExpression"]

#: Longest expression text accepted (characters).
MAX_EXPRESSION_LENGTH = 100_000
#: Deepest nesting of the parse tree / evaluation recursion.
MAX_DEPTH = 200
#: Longest string or list an evaluation may build (guards `for x in 1..10000000000` and friends).
MAX_RESULT_LENGTH = 1_000_000


class CompiledExpression(Protocol):
    """An expression parsed once and evaluated many times."""

    @property
    def source(self) -> str:
        """The expression text as given."""
        ...

    def evaluate(self, variables: Mapping[str, Any] | None = None) -> Any:
        """Evaluate against ``variables``; raises ``ExpressionError`` on any failure."""
        ...
