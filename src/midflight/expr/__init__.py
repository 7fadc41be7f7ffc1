"""Expressions in models: a FEEL interpreter of our own and a JUEL subset for Camunda 7 models.

Nothing here uses Python ``eval``/``exec``; evaluation sees only the variables it is given and
turns every failure into ``ExpressionError``.

Public API::

    compile_feel(expression) -> CompiledExpression   # parse once, .evaluate(variables) many times
    evaluate_feel(expression, variables=None)
    compile_juel(expression) -> CompiledExpression
    evaluate_juel(expression, variables=None)
"""

from midflight.errors import ExpressionError
from midflight.expr.base import CompiledExpression
from midflight.expr.feel import compile_feel, evaluate_feel
from midflight.expr.juel import compile_juel, evaluate_juel

__all__ = [
    "CompiledExpression",
    "ExpressionError",
    "compile_feel",
    "compile_juel",
    "evaluate_feel",
    "evaluate_juel",
]
