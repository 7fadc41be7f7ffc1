"""FEEL arithmetic: numbers, string concatenation, and dates, times and durations.

Every operator answers null for operand kinds FEEL does not define it for (``"a" + 1``), for
division by zero and for results out of range, as DMN specifies.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from typing import Any

from midflight.expr.feel._temporal import (
    YearsMonthsDuration,
    add_months,
    datetime_add,
    datetime_sub,
    time_add,
    time_sub,
)
from midflight.expr.feel._values import CONTEXT

__all__ = ["add", "divide", "multiply", "negate", "power", "subtract"]

_Binary = Callable[[Any, Any], Any]
_YM = YearsMonthsDuration
_MICRO = timedelta(microseconds=1)


def _micros(delta: timedelta) -> int:
    return delta // _MICRO


def _day_plus(day: date, delta: timedelta) -> date:
    """A date moved by a days-and-time duration: only whole days move it."""
    return (datetime(day.year, day.month, day.day) + delta).date()


def _scale(delta: timedelta, factor: Decimal) -> timedelta:
    micros = CONTEXT.multiply(Decimal(_micros(delta)), factor)
    return timedelta(microseconds=int(micros.to_integral_value(ROUND_HALF_EVEN)))


def _scale_months(duration: _YM, factor: Decimal) -> _YM:
    months = CONTEXT.multiply(Decimal(duration.months), factor)
    return _YM(int(months.to_integral_value(ROUND_DOWN)))


_ADD: dict[tuple[type, type], _Binary] = {
    (datetime, timedelta): datetime_add,
    (timedelta, datetime): lambda a, b: datetime_add(b, a),
    (datetime, _YM): lambda a, b: add_months(a, b.months),
    (_YM, datetime): lambda a, b: add_months(b, a.months),
    (date, timedelta): _day_plus,
    (timedelta, date): lambda a, b: _day_plus(b, a),
    (date, _YM): lambda a, b: add_months(a, b.months),
    (_YM, date): lambda a, b: add_months(b, a.months),
    (time, timedelta): time_add,
    (timedelta, time): lambda a, b: time_add(b, a),
    (timedelta, timedelta): lambda a, b: a + b,
    (_YM, _YM): lambda a, b: _YM(a.months + b.months),
}

_SUBTRACT: dict[tuple[type, type], _Binary] = {
    (date, date): lambda a, b: timedelta(days=(a - b).days),
    (datetime, datetime): datetime_sub,
    (time, time): time_sub,
    (datetime, timedelta): lambda a, b: datetime_add(a, -b),
    (date, timedelta): lambda a, b: _day_plus(a, -b),
    (time, timedelta): lambda a, b: time_add(a, -b),
    (datetime, _YM): lambda a, b: add_months(a, -b.months),
    (date, _YM): lambda a, b: add_months(a, -b.months),
    (timedelta, timedelta): lambda a, b: a - b,
    (_YM, _YM): lambda a, b: _YM(a.months - b.months),
}

_MULTIPLY: dict[tuple[type, type], _Binary] = {
    (timedelta, Decimal): _scale,
    (Decimal, timedelta): lambda a, b: _scale(b, a),
    (_YM, Decimal): _scale_months,
    (Decimal, _YM): lambda a, b: _scale_months(b, a),
}

_DIVIDE: dict[tuple[type, type], _Binary] = {
    (timedelta, Decimal): lambda a, b: _scale(a, CONTEXT.divide(1, b)),
    (timedelta, timedelta): lambda a, b: CONTEXT.divide(_micros(a), _micros(b)),
    (_YM, Decimal): lambda a, b: _scale_months(a, CONTEXT.divide(1, b)),
    (_YM, _YM): lambda a, b: CONTEXT.divide(a.months, b.months),
}


def _apply(table: dict[tuple[type, type], _Binary], a: Any, b: Any) -> Any:
    operation = table.get((type(a), type(b)))
    if operation is None:
        return None
    try:
        return operation(a, b)
    except ArithmeticError:  # decimal traps, datetime overflow, division by zero
        return None


def add(a: Any, b: Any) -> Any:
    """``a + b``."""
    if type(a) is Decimal and type(b) is Decimal:
        try:
            return CONTEXT.add(a, b)
        except ArithmeticError:
            return None
    if type(a) is str and type(b) is str:
        return a + b
    return _apply(_ADD, a, b)


def subtract(a: Any, b: Any) -> Any:
    """``a - b``."""
    if type(a) is Decimal and type(b) is Decimal:
        try:
            return CONTEXT.subtract(a, b)
        except ArithmeticError:
            return None
    return _apply(_SUBTRACT, a, b)


def multiply(a: Any, b: Any) -> Any:
    """``a * b``."""
    if type(a) is Decimal and type(b) is Decimal:
        try:
            return CONTEXT.multiply(a, b)
        except ArithmeticError:
            return None
    return _apply(_MULTIPLY, a, b)


def divide(a: Any, b: Any) -> Any:
    """``a / b``; null when dividing by zero."""
    if type(a) is Decimal and type(b) is Decimal:
        try:
            return CONTEXT.divide(a, b)
        except ArithmeticError:
            return None
    return _apply(_DIVIDE, a, b)


def power(a: Any, b: Any) -> Any:
    """``a ** b``, numbers only."""
    if type(a) is not Decimal or type(b) is not Decimal:
        return None
    try:
        return CONTEXT.power(a, b)
    except ArithmeticError:
        return None


def negate(a: Any) -> Any:
    """``-a`` for numbers and durations."""
    try:
        if type(a) is Decimal:
            return CONTEXT.minus(a)
        if type(a) is timedelta:
            return -a
    except ArithmeticError:
        return None
    return _YM(-a.months) if type(a) is _YM else None
