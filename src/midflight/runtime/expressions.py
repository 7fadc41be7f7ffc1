"""Evaluates model ``Expression``s (FEEL, JUEL, static) with a cache of compiled forms."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from midflight.expr import CompiledExpression, compile_feel, compile_juel
from midflight.expr.feel import FeelExpression
from midflight.model import Expression, ExpressionLanguage

__all__ = ["ExpressionEvaluator"]


class ExpressionEvaluator:
    """Compiles each distinct expression once; evaluation raises ``ExpressionError``."""

    __slots__ = ("_cache",)

    def __init__(self) -> None:
        self._cache: dict[Expression, CompiledExpression] = {}

    def compiled(self, expression: Expression) -> CompiledExpression:
        found = self._cache.get(expression)
        if found is None:
            if expression.language is ExpressionLanguage.FEEL:
                found = compile_feel(expression.text)
            else:
                found = compile_juel(expression.text)
            self._cache[expression] = found
        return found

    def evaluate(
        self, expression: Expression, variables: Mapping[str, Any], *, now: datetime | None = None
    ) -> Any:
        """Evaluate; FEEL's ``now()``/``today()`` read ``now`` (the engine clock) when given."""
        if expression.language is ExpressionLanguage.STATIC:
            return expression.text
        compiled = self.compiled(expression)
        if now is not None and isinstance(compiled, FeelExpression):
            return compiled.evaluate(variables, now=now)
        return compiled.evaluate(variables)
