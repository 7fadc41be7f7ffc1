"""FEEL evaluation reaches nothing but the variables given: no Python internals, no eval."""

from __future__ import annotations

import builtins
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest

from midflight.expr.feel import (
    FeelFunction,
    Range,
    YearsMonthsDuration,
    compile_feel,
    evaluate_feel,
)

PYTHON_VALUES: dict[str, Any] = {
    "ctx": {"a": 1},
    "text": "abc",
    "number": 5,
    "decimal": Decimal("1.5"),
    "items": [1, 2],
    "day": date(2024, 1, 1),
    "moment": datetime(2024, 1, 1, 10),
    "clock": time(10),
    "delta": timedelta(hours=1),
}

INTERNAL_NAMES = [
    "__class__",
    "__dict__",
    "__globals__",
    "__module__",
    "__init__",
    "real",  # Decimal attribute
    "imag",
    "upper",  # str method
    "append",  # list method
    "tzinfo",  # datetime attribute, not a FEEL property
    "max",
    "total_seconds",
    "keys",
    "get",
]


@pytest.mark.parametrize("name", INTERNAL_NAMES)
@pytest.mark.parametrize("variable", sorted(PYTHON_VALUES))
def test_path_never_reaches_python_attributes(variable: str, name: str) -> None:
    result = evaluate_feel(f"{variable}.{name}", PYTHON_VALUES)
    # a list maps the path over its items, each of them null
    assert result == ([None, None] if variable == "items" else None)


@pytest.mark.parametrize("name", ["__class__", "__dict__", "keys"])
def test_other_routes_to_attributes_give_null(name: str) -> None:
    assert evaluate_feel(f'get value(ctx, "{name}")', PYTHON_VALUES) is None
    assert evaluate_feel(f'ctx["{name}"]', PYTHON_VALUES) == []
    assert evaluate_feel(f"(function(x) x).{name}") is None
    assert evaluate_feel(f"count.{name}") is None
    assert evaluate_feel(f"[1..2].{name}") is None


def test_dunder_names_are_plain_variables() -> None:
    assert evaluate_feel("__import__") is None
    assert evaluate_feel("__builtins__") is None
    assert evaluate_feel("__import__", {"__import__": 3}) == 3


def test_python_code_in_strings_stays_a_string() -> None:
    source = "__import__('os').system('echo hacked')"
    assert evaluate_feel('"' + source.replace("'", "\\'") + '"') == source
    assert evaluate_feel('x + "1"', {"x": "1 + 1"}) == "1 + 11"


def test_no_eval_or_exec_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("eval/exec/compile used")

    expressions = [
        "x > 5 and y",
        'for i in 1..3 return string(i) + "!"',
        "{f: function(a) a * 2}.f(x)",
        'matches("abc", "b") and date("2024-01-01").year = 2024',
    ]
    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(builtins, "compile", forbidden)
    for expression in expressions:
        compile_feel(expression).evaluate({"x": 7, "y": True})


_FEEL_TYPES = (
    type(None),
    bool,
    str,
    Decimal,
    date,
    datetime,
    time,
    timedelta,
    YearsMonthsDuration,
    Range,
)


def _only_feel_values(value: Any) -> bool:
    if isinstance(value, list):
        return all(_only_feel_values(v) for v in value)
    if isinstance(value, dict):
        return all(type(k) is str and _only_feel_values(v) for k, v in value.items())
    return type(value) in _FEEL_TYPES or isinstance(value, FeelFunction)


@pytest.mark.parametrize(
    "expression",
    [
        "[ctx, text, number, decimal, items, day, moment, clock, delta]",
        "{a: ctx, b: [items, {c: number}]}",
        "for v in [ctx, items, number] return v",
        "get entries(ctx)",
        "[1..number]",
        "count",
        "x",
    ],
)
def test_results_hold_only_feel_values(expression: str) -> None:
    variables = {**PYTHON_VALUES, "x": {"a": [1, 2.5, (3, {"b": 4})]}}
    assert _only_feel_values(evaluate_feel(expression, variables))


def test_results_do_not_alias_the_callers_values() -> None:
    data = {"items": [1, 2], "ctx": {"a": [1]}}
    result = evaluate_feel("[items, ctx]", data)
    result[0].append(99)
    result[1]["a"].append(99)
    assert data == {"items": [1, 2], "ctx": {"a": [1]}}


def test_mutating_a_result_does_not_change_the_next_evaluation() -> None:
    compiled = compile_feel('{a: [1, 2], b: "x"}')
    first = compiled.evaluate()
    first["a"].append(3)
    first["b"] = "changed"
    assert compiled.evaluate() == {"a": [Decimal(1), Decimal(2)], "b": "x"}
