"""Evaluates model ``Expression``s (FEEL, JUEL, static) with a cache of compiled forms."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from midflight.expr import compile_feel, compile_juel
from midflight.expr.feel import FeelExpression
from midflight.expr.juel import JuelExpression
from midflight.model import Expression, ExpressionLanguage

__all__ = ["ExpressionEvaluator"]

_FEEL = ExpressionLanguage.FEEL
_STATIC = ExpressionLanguage.STATIC


class ExpressionEvaluator:
    """Compiles each distinct expression once; evaluation raises ``ExpressionError``."""

    # One cache per language, keyed by the text: a string's hash is computed once and kept,
    # where hashing an ``Expression`` runs Python code on every lookup.
    __slots__ = ("_feel", "_juel")

    def __init__(self) -> None:
        self._feel: dict[str, FeelExpression] = {}
        self._juel: dict[str, JuelExpression] = {}

    def evaluate(
        self, expression: Expression, variables: Mapping[str, Any], *, now: datetime | None = None
    ) -> Any:
        """Evaluate; FEEL's ``now()``/``today()`` read ``now`` (the engine clock) when given."""
        language = expression.language
        if language is _FEEL:
            feel = self._feel.get(expression.text)
            if feel is None:
                feel = self._feel[expression.text] = compile_feel(expression.text)
            return feel.evaluate(variables, now=now)
        if language is _STATIC:
            return expression.text
        juel = self._juel.get(expression.text)
        if juel is None:
            juel = self._juel[expression.text] = compile_juel(expression.text)
        return juel.evaluate(variables)
