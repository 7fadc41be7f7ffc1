"""The public FEEL API: compile once / evaluate many, value mapping, unary tests."""

from __future__ import annotations

import decimal
import enum
import threading
from collections import OrderedDict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest

from midflight.errors import ExpressionError
from midflight.expr.base import CompiledExpression
from midflight.expr.feel import (
    FeelExpression,
    Range,
    compile_feel,
    evaluate_feel,
    evaluate_unary_tests,
    parse_unary_tests,
)


def test_compile_once_evaluate_many() -> None:
    compiled = compile_feel('if amount > limit then "review" else "auto"')
    assert compiled.source == 'if amount > limit then "review" else "auto"'
    outcomes = [compiled.evaluate({"amount": n, "limit": 50}) for n in range(0, 100, 10)]
    assert outcomes == ["auto"] * 6 + ["review"] * 4
    assert compiled.evaluate({"amount": 60}) == "auto"  # unknown limit: null, so else branch


def test_compiled_expression_follows_the_protocol() -> None:
    compiled: CompiledExpression = compile_feel("1 + 1")
    assert compiled.source == "1 + 1"
    assert compiled.evaluate() == Decimal(2)
    assert compiled.evaluate(None) == Decimal(2)
    assert isinstance(compiled, FeelExpression)


def test_evaluate_feel_reuses_compiled_expressions() -> None:
    from midflight.expr.feel import _cached

    _cached.cache_clear()
    for n in range(5):
        assert evaluate_feel("x * 2", {"x": n}) == Decimal(2 * n)
    assert _cached.cache_info().hits == 4


def test_concurrent_evaluations_do_not_interfere() -> None:
    compiled = compile_feel("sum(for i in 1..n return i) + n * 0")
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for _ in range(200):
                assert compiled.evaluate({"n": n}) == Decimal(n * (n + 1) // 2)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_step_budget_is_per_evaluation() -> None:
    # each evaluation may use almost the whole budget; budgets must not add up
    compiled = compile_feel("count(for i in 1..900000 return i)")
    for _ in range(3):
        assert compiled.evaluate() == Decimal(900000)


def test_clock_comes_from_the_evaluation() -> None:
    compiled = compile_feel('today() + duration("P1D")')
    assert compiled.evaluate(now=datetime(2024, 2, 28, 23, tzinfo=UTC)) == date(2024, 2, 29)
    assert compiled.evaluate(now=datetime(2023, 2, 28, 23, tzinfo=UTC)) == date(2023, 3, 1)


def test_now_without_a_clock_is_current_utc() -> None:
    before = datetime.now(UTC)
    value = evaluate_feel("now()")
    assert before <= value <= datetime.now(UTC)


def test_numbers_come_back_as_decimal() -> None:
    assert type(evaluate_feel("1 + 1")) is Decimal
    assert type(evaluate_feel("x", {"x": 3})) is Decimal
    assert type(evaluate_feel("x", {"x": 0.1})) is Decimal
    assert evaluate_feel("x", {"x": 0.1}) == Decimal("0.1")  # shortest repr, not binary noise


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Moment(datetime):
    pass


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Colour.RED, "red"),
        (Level.HIGH, Decimal(3)),
        (Moment(2024, 1, 1, 10), datetime(2024, 1, 1, 10)),
        (OrderedDict(a=1), {"a": Decimal(1)}),
        (Decimal("NaN"), None),
        (float("inf"), None),
        (10**40, Decimal("1.000000000000000000000000000000000E+40")),
    ],
)
def test_python_values_are_converted(value: Any, expected: Any) -> None:
    result = evaluate_feel("x", {"x": value})
    assert result == expected
    assert type(result) is type(expected)


def test_booleans_are_not_numbers() -> None:
    assert evaluate_feel("x + 1", {"x": True}) is None
    assert evaluate_feel("x = 1", {"x": True}) is None


def test_variable_paths_convert_only_what_they_read() -> None:
    # ``blob`` cannot be converted; a path that does not reach it must not try
    order = {"customer": {"vip": True}, "lines": [{"price": 1}, {"price": 2}], "blob": object()}
    assert evaluate_feel("order.customer.vip", {"order": order}) is True
    assert evaluate_feel("order.lines[2].price", {"order": order}) == Decimal(2)
    assert evaluate_feel("order.missing.deeper", {"order": order}) is None
    with pytest.raises(ExpressionError, match="unsupported value"):
        evaluate_feel("order", {"order": order})


UNARY: list[tuple[str, Any, bool | None]] = [
    ("< 5", 3, True),
    ("< 5", 5, False),
    ("<= 5", 5, True),
    ("> 5", "a", None),
    ("[1..3]", 2, True),
    ("[1..3]", 4, False),
    ("(1..3)", 3, False),
    ('"a","b"', "b", True),
    ('"a","b"', "c", False),
    ('not("x")', "y", True),
    ('not("x")', "x", False),
    ("not(< 5, > 10)", 7, True),
    ("not(< 5)", "a", None),
    ("-", "anything", True),
    ("-", None, True),
    ("null", None, True),
    ("null", 1, False),
    ("? > 3", 4, True),
    ("? > 3 and ? < 5", 6, False),
    ("< limit", 3, True),
    ('date("2024-01-01")', date(2024, 1, 1), True),
    ('[date("2024-01-01")..date("2024-12-31")]', date(2024, 6, 1), True),
    ("> 5, < 0", -1, True),
    ("[1, 2, 3]", 2, True),
    ("count(?) > 1", [1, 2], True),
    ('string length(?) = 3, "x"', "abc", True),
    ("= 5", 5, True),
    ("!= 5", 5, False),
    ('>= duration("P1D")', timedelta(days=2), True),
]


@pytest.mark.parametrize(("tests", "value", "expected"), UNARY)
def test_unary_tests(tests: str, value: Any, expected: bool | None) -> None:
    assert evaluate_unary_tests(tests, value, {"limit": 5}) is expected


def test_unary_tests_compile_once() -> None:
    compiled = parse_unary_tests("[1..10], > 100")
    assert compiled.source == "[1..10], > 100"
    assert [compiled.evaluate(v) for v in (0, 5, 50, 500)] == [False, True, False, True]


def test_the_callers_decimal_context_does_not_matter() -> None:
    with decimal.localcontext() as context:
        context.prec = 5
        context.traps[decimal.Inexact] = True
        assert evaluate_feel("1 / 3") == Decimal("0.3333333333333333333333333333333333")
        assert evaluate_feel("-1234567890.123456789") == Decimal("-1234567890.123456789")
        assert evaluate_feel("time(10, 0, 1.25)") == time(10, 0, 1, 250000)


def test_ranges_given_as_variables_are_converted() -> None:
    assert evaluate_feel("x in r", {"x": 5, "r": Range(1, 10)}) is True
    assert evaluate_feel("r.end", {"r": Range(1, 10.5)}) == Decimal("10.5")


def test_from_ai_returns_the_value_the_agent_supplies() -> None:
    # Camunda 8.8 agent tool models wrap tool inputs in fromAi(value, description, type).
    tool_call = {"toolCall": {"recipient": "joyce@example.org"}}
    assert evaluate_feel('fromAi(toolCall.recipient, "who gets it", "string")', tool_call) == (
        "joyce@example.org"
    )
    assert evaluate_feel("fromAi(toolCall.missing)", tool_call) is None


def test_names_with_a_keyword_are_read_as_one_name_when_declared() -> None:
    # without being told, "and" is the operator ...
    assert compile_feel("shipping and handling").evaluate({"shipping": True, "handling": True})
    # ... declared, it is part of the name (DMN: names are resolved against those in scope)
    declared = compile_feel("shipping and handling * 2", names=["shipping and handling"])
    assert declared.evaluate({"shipping and handling": 5}) == Decimal(10)
    # evaluate_feel declares the variables it is given; its cache keeps the two readings apart
    assert evaluate_feel("a and b", {"a and b": 7}) == Decimal(7)
    assert evaluate_feel("a and b", {"a": True, "b": False}) is False
    assert evaluate_feel("a and b", {"a and b": 7}) == Decimal(7)
    # names without a keyword need no declaring, and backticks quote anything
    assert compile_feel("unit price * 2").evaluate({"unit price": 3}) == Decimal(6)
    assert compile_feel("`a and b` + 1").evaluate({"a and b": 1}) == Decimal(2)


def test_unary_tests_read_names_with_spaces() -> None:
    assert evaluate_unary_tests("< credit limit", 5, {"credit limit": 10}) is True
    assert evaluate_unary_tests("[low and high]", 5, {"low and high": 5}) is True  # a list of it
    assert evaluate_unary_tests("= min and max", 5, {"min and max": 5}) is True
    assert parse_unary_tests("> x and y", names=["x and y"]).evaluate(5, {"x and y": 1}) is True
