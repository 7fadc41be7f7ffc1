"""Bounded FEEL evaluation: deep nesting, huge ranges and runaway growth end in ExpressionError."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from midflight.errors import ExpressionError
from midflight.expr.base import MAX_DEPTH, MAX_RESULT_LENGTH
from midflight.expr.feel import compile_feel, evaluate_feel


def _fails_fast(action: Callable[[], Any], match: str, seconds: float = 5.0) -> ExpressionError:
    """``action`` raises ExpressionError (never RecursionError/MemoryError) within ``seconds``."""
    started = time.perf_counter()
    with pytest.raises(ExpressionError, match=match) as caught:
        action()
    assert time.perf_counter() - started < seconds
    return caught.value


@pytest.mark.parametrize(
    "expression",
    [
        "(" * 500 + "1" + ")" * 500,
        "[" * 500 + "1" + "]" * 500,
        "{a: " * 500 + "1" + "}" * 500,
        "if true then " * 500 + "1" + " else 0" * 500,
        "not(" * 500 + "true" + ")" * 500,
        "-(" * 500 + "1" + ")" * 500,
        "1" + " + 1" * 500,
        "for x in [1] return " * 500 + "1",
        "function() " * 500 + "1",
    ],
    ids=["parens", "lists", "contexts", "ifs", "calls", "negations", "sum", "fors", "functions"],
)
def test_deep_nesting_is_an_expression_error(expression: str) -> None:
    error = _fails_fast(lambda: compile_feel(expression), "nests too deeply")
    assert error.position is not None


def test_nesting_within_the_limit_works() -> None:
    depth = MAX_DEPTH // 2
    assert evaluate_feel("(" * depth + "1" + ")" * depth) == 1
    nested: Any = evaluate_feel("[" * depth + "1" + "]" * depth)
    for _ in range(depth - 1):
        assert len(nested) == 1
        nested = nested[0]
    assert nested == [1]


def test_long_chains_that_do_not_nest_are_fine() -> None:
    assert evaluate_feel("-" * 501 + "1") == -1
    value: Any = "end"
    for _ in range(150):
        value = {"a": value}
    assert evaluate_feel("x" + ".a" * 150, {"x": value}) == "end"


def test_long_flat_or_chain_is_not_nesting() -> None:
    expression = " or ".join(f"x = {i}" for i in range(2000))
    assert evaluate_feel(expression, {"x": 1999}) is True
    assert evaluate_feel(expression, {"x": -1}) is False


def test_huge_for_range_fails_immediately() -> None:
    _fails_fast(lambda: evaluate_feel("for i in 1..100000000 return i"), "more than", 0.5)


def test_huge_range_from_variable_fails_immediately() -> None:
    expression = "for i in 1..n return i"
    _fails_fast(lambda: evaluate_feel(expression, {"n": 10**30}), "more than", 0.5)


def test_range_at_the_limit_is_allowed() -> None:
    result = evaluate_feel(f"count(for i in 1..{MAX_RESULT_LENGTH - 1} return i)")
    assert result == MAX_RESULT_LENGTH - 1


def test_nested_loops_run_out_of_steps() -> None:
    expression = "for i in 1..1000000, j in 1..1000000 return i"
    _fails_fast(lambda: evaluate_feel(expression), "steps")


def test_quantifier_over_huge_product_runs_out_of_steps() -> None:
    expression = "some i in 1..1000000, j in 1..1000000 satisfies i < 0"
    _fails_fast(lambda: evaluate_feel(expression), "steps")


def test_string_growth_is_bounded() -> None:
    big = "x" * 100_000
    _fails_fast(lambda: evaluate_feel('for i in 1..1000 return s + "x"', {"s": big}), "builds more")
    _fails_fast(lambda: evaluate_feel("string join(for i in 1..20 return s)", {"s": big}), "longer")
    _fails_fast(lambda: evaluate_feel('replace(s, "x", s)', {"s": "x" * 10_000}), "longer")
    _fails_fast(
        lambda: evaluate_feel("s + s + s + s + s + s + s + s + s + s + s", {"s": big}), "longer"
    )


def test_list_growth_is_bounded() -> None:
    items = list(range(600_000))
    _fails_fast(lambda: evaluate_feel("concatenate(xs, xs)", {"xs": items}), "longer")
    _fails_fast(lambda: evaluate_feel("flatten([xs, xs])", {"xs": items}), "longer")
    _fails_fast(lambda: evaluate_feel("string(xs)", {"xs": items}), "longer")


def test_infinite_recursion_is_an_expression_error() -> None:
    _fails_fast(lambda: evaluate_feel("{f: function(n) f(n + 1)}.f(1)"), "deep")


def test_deep_recursion_is_an_expression_error() -> None:
    expression = "{f: function(n) if n = 0 then 0 else 1 + f(n - 1)}.f(5000)"
    _fails_fast(lambda: evaluate_feel(expression), "deep")


def test_shallow_recursion_works() -> None:
    assert evaluate_feel("{f: function(n) if n = 0 then 0 else n + f(n - 1)}.f(50)") == 1275


def test_deeply_nested_variable_value_is_refused() -> None:
    value: Any = 1
    for _ in range(MAX_DEPTH + 10):
        value = {"a": value}
    _fails_fast(lambda: evaluate_feel("x", {"x": value}), "nested deeper")


def test_cyclic_variable_value_is_refused() -> None:
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    _fails_fast(lambda: evaluate_feel("x", {"x": cyclic}), "nested deeper")


def test_huge_power_is_null_not_a_hang() -> None:
    started = time.perf_counter()
    assert evaluate_feel("2 ** 100000000") is None
    assert evaluate_feel("10 ** 6145") is None
    assert time.perf_counter() - started < 1


def test_errors_leave_the_compiled_expression_usable() -> None:
    compiled = compile_feel("for i in 1..n return i")
    with pytest.raises(ExpressionError):
        compiled.evaluate({"n": 10**9})
    assert compiled.evaluate({"n": 3}) == [1, 2, 3]
