"""FEEL values: conversion from Python, kinds, equality, ordering and their string form."""

from __future__ import annotations

import decimal
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from midflight.errors import ExpressionError
from midflight.expr.base import MAX_DEPTH, MAX_RESULT_LENGTH
from midflight.expr.feel._temporal import (
    YearsMonthsDuration,
    format_date_time,
    format_duration,
    format_time,
)

__all__ = [
    "CONTEXT",
    "FeelFunction",
    "Range",
    "State",
    "check_length",
    "compare",
    "feel_eq",
    "hash_key",
    "kind",
    "to_feel",
    "to_int",
    "to_string",
]

#: DMN numbers are IEEE 754 decimal128: 34 significant digits, exponent within ±6143.
CONTEXT = decimal.Context(
    prec=34,
    rounding=decimal.ROUND_HALF_EVEN,
    Emin=-6143,
    Emax=6144,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)

#: Loop iterations and function calls one evaluation may make; bounds its running time.
MAX_STEPS = MAX_RESULT_LENGTH
#: String characters and list items one evaluation may build in total; bounds its memory.
MAX_ALLOCATION = 10 * MAX_RESULT_LENGTH


class State:
    """What one evaluation carries along: the clock and the budgets that bound it."""

    __slots__ = ("_now", "allocated", "depth", "steps")

    def __init__(self, now: datetime | None) -> None:
        self._now = now
        self.depth = 0
        self.steps = 0
        self.allocated = 0

    def now(self) -> datetime:
        """The evaluation's clock: the ``now`` given, else the current UTC time (read once)."""
        if self._now is None:
            self._now = datetime.now(UTC)
        return self._now

    def step(self) -> None:
        """Count one loop iteration or function call."""
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise ExpressionError(f"evaluation takes more than {MAX_STEPS} steps")

    def allocate(self, size: int) -> None:
        """Count ``size`` characters or list items built."""
        self.allocated += size
        if self.allocated > MAX_ALLOCATION:
            raise ExpressionError(f"evaluation builds more than {MAX_ALLOCATION} items")


def check_length(size: int) -> None:
    """Refuse to build a string or list longer than ``MAX_RESULT_LENGTH``."""
    if size > MAX_RESULT_LENGTH:
        raise ExpressionError(f"result longer than {MAX_RESULT_LENGTH} items or characters")


class FeelFunction(ABC):
    """A FEEL function value: a built-in or a ``function(a, b) ...`` defined in an expression."""

    __slots__ = ()

    @property
    @abstractmethod
    def name(self) -> str:
        """The function's name, for messages."""

    @abstractmethod
    def call(self, state: State, args: Sequence[Any]) -> Any:
        """Invoke with positional arguments; FEEL's null when they do not fit."""

    @abstractmethod
    def call_named(self, state: State, args: Mapping[str, Any]) -> Any:
        """Invoke with named arguments; FEEL's null when they do not fit."""

    def __repr__(self) -> str:
        return f"<FEEL function {self.name}>"


@dataclass(frozen=True, slots=True)
class Range:
    """A FEEL range such as ``[1..10)``; a missing endpoint (None) is unbounded."""

    start: Any
    end: Any
    start_included: bool = True
    end_included: bool = True

    def contains(self, value: Any) -> bool | None:
        """Whether ``value`` lies in the range; None when it cannot be compared to the ends."""
        if self.start is not None:
            low = compare(value, self.start)
            if low is None:
                return None
            if low < 0 or (low == 0 and not self.start_included):
                return False
        if self.end is not None:
            high = compare(value, self.end)
            if high is None:
                return None
            if high > 0 or (high == 0 and not self.end_included):
                return False
        return True

    def __str__(self) -> str:
        opening = "[" if self.start_included else "("
        closing = "]" if self.end_included else ")"
        return f"{opening}{to_string(self.start)}..{to_string(self.end)}{closing}"


_KINDS: dict[type, str] = {
    Decimal: "number",
    str: "string",
    bool: "boolean",
    date: "date",
    datetime: "date and time",
    time: "time",
    timedelta: "days and time duration",
    YearsMonthsDuration: "years and months duration",
    list: "list",
    dict: "context",
    Range: "range",
    type(None): "Null",
}


def kind(value: Any) -> str:
    """The FEEL type name of an (already converted) value."""
    found = _KINDS.get(type(value))
    if found is not None:
        return found
    return "function" if isinstance(value, FeelFunction) else "unknown"


_PASS_THROUGH = frozenset(
    {str, bool, type(None), date, datetime, time, timedelta, YearsMonthsDuration}
)


_BIG_INT = 10**34  # ints below this convert exactly, larger ones are rounded to 34 digits


def to_feel(value: Any, depth: int = 0) -> Any:
    """Convert a Python value given by a caller into a FEEL value.

    ``int`` and ``float`` become ``Decimal`` (a float via its shortest repr, so 0.1 stays 0.1);
    NaN, infinities and numbers beyond decimal128 become null, FEEL having none of them.
    Mappings become dicts with string keys, lists and tuples become lists. Anything else raises
    ``ExpressionError``: evaluation never handles a Python object it does not understand.
    """
    t = type(value)
    if t in _PASS_THROUGH:
        return value
    if t is int:
        return Decimal(value) if -_BIG_INT < value < _BIG_INT else _number(Decimal(value))
    if t is Decimal:
        return _number(value)
    if t is float:
        return Decimal(repr(value)) if math.isfinite(value) else None
    if depth >= MAX_DEPTH:
        raise ExpressionError(f"variable value nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, Mapping):
        converted: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ExpressionError(f"context key {key!r} is not a string")
            converted[key] = to_feel(item, depth + 1)
        return converted
    if isinstance(value, (list, tuple)):
        return [to_feel(item, depth + 1) for item in value]
    if isinstance(value, Range):
        start, end = to_feel(value.start, depth + 1), to_feel(value.end, depth + 1)
        return Range(start, end, value.start_included, value.end_included)
    if isinstance(value, FeelFunction):
        return value
    return _to_feel_subclass(value)


def _number(value: Decimal) -> Decimal | None:
    if not value.is_finite():
        return None
    try:
        return CONTEXT.plus(value)
    except decimal.Overflow:
        return None


def _to_feel_subclass(value: Any) -> Any:
    """Instances of subclasses (IntEnum, StrEnum, pendulum's DateTime, ...) as plain values."""
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return _number(Decimal(int(value)))
    if isinstance(value, float):
        return to_feel(float(value))
    if isinstance(value, Decimal):
        return _number(Decimal(value))
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, datetime):
        return datetime.combine(value.date(), value.timetz(), value.tzinfo)
    if isinstance(value, date):
        return date(value.year, value.month, value.day)
    if isinstance(value, time):
        return time(value.hour, value.minute, value.second, value.microsecond, value.tzinfo)
    if isinstance(value, timedelta):
        return timedelta(value.days, value.seconds, value.microseconds)
    raise ExpressionError(f"unsupported value of type {type(value).__name__!r}")


def to_int(value: Any) -> int | None:
    """An integral FEEL number as ``int``; None for anything else or absurdly large numbers."""
    if type(value) is not Decimal or value != value.to_integral_value():
        return None
    if value.adjusted() > 18:  # never a valid position, length, year or scale
        return None
    return int(value)


def _same_zone_kind(a: time | datetime, b: time | datetime) -> bool:
    """Local (zone-less) values compare only with local ones, zoned only with zoned."""
    return (a.utcoffset() is None) == (b.utcoffset() is None)


_ORDERED = frozenset({Decimal, str, date, timedelta, YearsMonthsDuration})


def compare(a: Any, b: Any) -> int | None:
    """-1, 0 or 1 as ``a`` is before, equal to or after ``b``; None when not comparable."""
    t = type(a)
    if t is not type(b):
        return None
    if t in _ORDERED or (t in (datetime, time) and _same_zone_kind(a, b)):
        return -1 if a < b else (1 if a > b else 0)
    return None


def feel_eq(a: Any, b: Any) -> bool | None:
    """FEEL ``=``: null equals only null; values of different kinds are not comparable (None)."""
    if a is None or b is None:
        return a is b
    t = type(a)
    if t is not type(b):
        return None
    if t is list:
        return _list_eq(a, b)
    if t is dict:
        return _context_eq(a, b)
    if t in (datetime, time):
        return a == b if _same_zone_kind(a, b) else None
    if t is Range or t in _KINDS:
        return bool(a == b)
    return a is b  # functions are equal only to themselves


def _list_eq(a: list[Any], b: list[Any]) -> bool | None:
    if len(a) != len(b):
        return False
    result: bool | None = True
    for x, y in zip(a, b, strict=True):
        same = feel_eq(x, y)
        if same is False:
            return False
        if same is None:
            result = None
    return result


def _context_eq(a: dict[str, Any], b: dict[str, Any]) -> bool | None:
    if a.keys() != b.keys():
        return False
    return _list_eq([a[k] for k in a], [b[k] for k in a])


def hash_key(value: Any) -> Any:
    """A hashable key equal for FEEL-equal values (``1`` and ``1.0``), distinct across kinds.

    Python itself treats ``True == Decimal(1)``; the kind in the key keeps them apart.
    """
    t = type(value)
    if t is list:
        return ("list", tuple(hash_key(item) for item in value))
    if t is dict:
        return ("context", frozenset((k, hash_key(v)) for k, v in value.items()))
    if t is datetime and value.utcoffset() is not None:
        return ("date and time", value.astimezone(UTC))
    if isinstance(value, FeelFunction):
        return ("function", id(value))
    return (kind(value), value)


_TYPE_FORMATTERS: dict[type, Callable[[Any], str]] = {
    bool: lambda v: "true" if v else "false",
    Decimal: lambda v: format(v, "f"),
    date: date.isoformat,
    datetime: format_date_time,
    time: format_time,
    timedelta: format_duration,
    YearsMonthsDuration: format_duration,
    Range: str,
}


def to_string(value: Any) -> str:
    """The FEEL string form of a value, as ``string(value)`` gives it (null is ``"null"``)."""
    parts: list[str] = []
    budget = [MAX_RESULT_LENGTH]
    _write(value, parts, budget, quote=False)
    return "".join(parts)


def _write(value: Any, parts: list[str], budget: list[int], *, quote: bool) -> None:
    """Append the string form of ``value`` to ``parts``, refusing to exceed the budget."""
    t = type(value)
    if t is list:
        parts.append("[")
        for i, item in enumerate(value):
            if i:
                parts.append(", ")
            _write(item, parts, budget, quote=True)
        text = "]"
    elif t is dict:
        parts.append("{")
        for i, (key, item) in enumerate(value.items()):
            parts.append(f"{', ' if i else ''}{_quote(key) if not key.isidentifier() else key}: ")
            _write(item, parts, budget, quote=True)
        text = "}"
    elif t is str:
        text = _quote(value) if quote else value
    elif value is None:
        text = "null"
    elif isinstance(value, FeelFunction):
        text = f"function {value.name}"
    else:
        text = _TYPE_FORMATTERS[t](value)
    budget[0] -= len(text) + 2
    if budget[0] < 0:
        check_length(MAX_RESULT_LENGTH + 1)
    parts.append(text)


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
