"""FEEL failures: parse errors carry a position; everything raises ExpressionError only."""

from __future__ import annotations

from typing import Any

import pytest

from midflight.errors import ExpressionError
from midflight.expr.base import MAX_EXPRESSION_LENGTH
from midflight.expr.feel import compile_feel, evaluate_feel, parse_unary_tests

PARSE_ERRORS: list[tuple[str, int, str]] = [
    ("1 +", 3, "expected an expression"),
    ("1 + * 2", 4, "expected an expression"),
    ("(1 + 2", 6, "expected ')'"),
    ("[1, 2", 5, "expected ']'"),
    ("{a 1}", 3, "expected ':'"),
    ("{a: 1, a: 2}", 7, "duplicate context key"),
    ("if x then 1", 11, "expected 'else'"),
    ("if x 1 else 2", 5, "expected 'then'"),
    ("for i in [1] i", 13, "expected 'return'"),
    ("some x in [1]", 13, "expected 'satisfies'"),
    ('"abc', 0, "unterminated string"),
    ("1 $ 2", 2, "unexpected character"),
    ("1 /* never closed", 2, "unterminated comment"),
    ("x instance of numbr", 14, "unknown type"),
    ('@"2024-13-01"', 1, "invalid date"),
    ("@1", 1, "expected a string after '@'"),
    ('"\\u12"', 1, "invalid \\u escape"),
    ("1 2", 2, "expected end of expression"),
    ("then", 0, "expected an expression"),
    ("function(a, a) a", 12, "declared twice"),
    ("[1..]", 4, "expected an expression"),
    ("[1..2", 5, "expected ']', ')' or '['"),
    ('substring(string: "a", string: "b")', 23, "given twice"),
    ("x.", 2, "expected a name"),
    ("{a: 1}.", 7, "expected a name"),
    ("`first name", 0, "backticks must be closed"),
    ("``", 0, "backticks must be closed"),
    ("first name name2 1", 17, "expected end of expression"),
    ("x.first name (", 14, "expected an expression"),
]


@pytest.mark.parametrize(("expression", "position", "message"), PARSE_ERRORS)
def test_parse_error_has_position(expression: str, position: int, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_feel(expression)
    assert caught.value.position == position
    assert message in caught.value.reason
    assert caught.value.expression == expression


def test_unknown_function_is_a_compile_error_naming_it() -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_feel("1 + foo(2)")
    assert caught.value.reason == "unknown function 'foo'"
    assert caught.value.position == 4


def test_function_of_a_bound_name_is_not_a_compile_error() -> None:
    # ``f`` is a context entry, so it is resolved when evaluated, not when compiled
    assert evaluate_feel("{f: 1, r: f(2)}.r") is None


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ('substring("a")', "function 'substring' does not take 1 argument"),
        ("today(1)", "function 'today' does not take 1 argument"),
        ("sum()", "function 'sum' does not take 0 arguments"),
        ('upper case(text: "a")', "function 'upper case' has no parameters (text)"),
    ],
)
def test_builtin_arity_is_checked_at_compile_time(expression: str, reason: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_feel(expression)
    assert caught.value.reason == reason


def test_expression_too_long() -> None:
    with pytest.raises(ExpressionError, match="longer than"):
        compile_feel("1" + " " * MAX_EXPRESSION_LENGTH)


def test_unary_tests_parse_error_has_position() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_unary_tests("< 5,, 6")
    assert caught.value.position == 4


@pytest.mark.parametrize(
    "variables",
    [
        {"x": object()},
        {"x": {"nested": [1, {2: "non-string key"}]}},
        {"x": b"bytes"},
        {"x": {1, 2}},
    ],
)
def test_unsupported_variable_values_raise_expression_error(variables: dict[str, Any]) -> None:
    with pytest.raises(ExpressionError):
        evaluate_feel("x", variables)


def test_variables_must_be_a_mapping() -> None:
    with pytest.raises(ExpressionError, match="mapping"):
        compile_feel("1").evaluate([("x", 1)])  # type: ignore[arg-type]


def test_now_must_be_a_datetime() -> None:
    with pytest.raises(ExpressionError, match="now"):
        compile_feel("now()").evaluate({}, now="2024-01-01")  # type: ignore[arg-type]


def test_assert_failure_raises_with_cause() -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate_feel('assert(x, x > 0, "x must be positive")', {"x": -1})
    assert caught.value.reason == "assertion failed: x must be positive"
    assert caught.value.expression == 'assert(x, x > 0, "x must be positive")'


def test_null_semantics_never_raise() -> None:
    # what DMN defines as null must not surface as an error
    for expression in ['"a" + 1', "1 / 0", 'date("x")', "[1][5]", 'substring("a", 9)']:
        assert evaluate_feel(expression) is None, expression
