"""FEEL, the Friendly Enough Expression Language of DMN 1.4 and Camunda 8: our own interpreter.

Expressions are parsed once into closures (``compile_feel``) and evaluated many times. Nothing
uses Python ``eval``/``exec``, and evaluation reaches only the variables given: path
expressions read dict entries and a fixed set of date, time and duration properties, never a
Python attribute. Every failure is an ``ExpressionError``; what FEEL defines as null
(``"a" + 1``, ``1 / 0``, an unknown variable, a comparison of a number with a string) is None.

Values in (variables) and out (results)::

    FEEL                        Python in                          Python out
    number                      int, float, Decimal                Decimal (always, even 2)
    string / boolean / null     str / bool / None                  str / bool / None
    list / context              list or tuple / Mapping (str keys) list / dict
    date                        datetime.date                      datetime.date
    time                        datetime.time                      datetime.time
    date and time               datetime.datetime                  datetime.datetime
    days and time duration      datetime.timedelta                 datetime.timedelta
    years and months duration   YearsMonthsDuration                YearsMonthsDuration
    range                       Range                              Range
    function                    -                                  a FeelFunction

Numbers are decimal128 (34 significant digits): ``0.1 + 0.2 = 0.3`` holds. A float is read
through its shortest repr (``0.1`` is exactly 0.1); NaN and infinities are null. Results keep
Python's ``Decimal`` scale (``1.5 * 2`` is ``Decimal("3.0")``), which equals ``Decimal(3)``.
Years are limited to 1..9999 (``datetime``); temporal values outside are null.

Evaluation is bounded: expressions longer than ``MAX_EXPRESSION_LENGTH``, nesting (and
function recursion) deeper than ``MAX_DEPTH``, a string, list or range longer than
``MAX_RESULT_LENGTH``, more loop iterations than ``MAX_RESULT_LENGTH`` or ten times that many
items built in total raise ``ExpressionError``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from midflight.expr.feel._evaluator import (
    FeelExpression,
    UnaryTestsExpression,
    compile_expression,
    compile_tests,
)
from midflight.expr.feel._parser import keyword_names
from midflight.expr.feel._temporal import YearsMonthsDuration
from midflight.expr.feel._values import FeelFunction, Range

__all__ = [
    "FeelExpression",
    "FeelFunction",
    "Range",
    "UnaryTestsExpression",
    "YearsMonthsDuration",
    "compile_feel",
    "evaluate_feel",
    "evaluate_unary_tests",
    "parse_unary_tests",
]

# Compiled expressions are immutable, so the one-shot helpers may share them. Long texts are
# not cached, to keep the cache's memory small.
_CACHED_LENGTH = 2_000


@functools.lru_cache(maxsize=1024)
def _cached(source: str, names: tuple[str, ...]) -> FeelExpression:
    return compile_expression(source, names)


@functools.lru_cache(maxsize=1024)
def _cached_tests(source: str, names: tuple[str, ...]) -> UnaryTestsExpression:
    return compile_tests(source, names)


def _declared(variables: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The variable names the parser must be told of (a keyword among their words)."""
    if not variables or not isinstance(variables, Mapping):
        return ()
    return keyword_names(variables)


def compile_feel(expression: str, *, names: Iterable[str] = ()) -> FeelExpression:
    """Parse ``expression`` once; ``ExpressionError`` with the 0-based ``position`` if invalid.

    ``names`` declares variables whose names have a keyword among their words
    (``shipping and handling``), so the parser reads them as one name; names with spaces but
    no keyword (``first name``) need no declaring.
    """
    return compile_expression(expression, tuple(names))


def evaluate_feel(
    expression: str, variables: Mapping[str, Any] | None = None, *, now: datetime | None = None
) -> Any:
    """Compile (cached) and evaluate ``expression`` against ``variables`` (whose names are
    the names in scope, so ``shipping and handling`` is read as one when it is one of them)."""
    names = _declared(variables)
    compiled = (
        _cached(expression, names)
        if len(expression) <= _CACHED_LENGTH
        else compile_feel(expression, names=names)
    )
    return compiled.evaluate(variables, now=now)


def parse_unary_tests(text: str, *, names: Iterable[str] = ()) -> UnaryTestsExpression:
    """Compile DMN unary tests: ``< 5``, ``[1..3]``, ``"a","b"``, ``not("x")``, ``-``."""
    return compile_tests(text, tuple(names))


def evaluate_unary_tests(
    text: str,
    input_value: Any,
    variables: Mapping[str, Any] | None = None,
    *,
    now: datetime | None = None,
) -> bool | None:
    """Whether ``input_value`` passes the unary tests ``text`` (None: undecidable, no match)."""
    names = _declared(variables)
    compiled = (
        _cached_tests(text, names) if len(text) <= _CACHED_LENGTH else compile_tests(text, names)
    )
    return compiled.evaluate(input_value, variables, now=now)
