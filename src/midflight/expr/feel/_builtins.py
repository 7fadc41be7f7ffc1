"""The FEEL standard library (DMN 1.4) and the common Camunda 8 additions.

Each function checks its arguments itself; arguments FEEL cannot use give null (the DMN rule),
never a Python exception. Strings and lists built are bounded by ``MAX_RESULT_LENGTH`` *before*
they are built, so ``string join`` or ``replace`` cannot exhaust memory.

Regular expressions use Python's ``re`` syntax, which agrees with the XML Schema syntax of DMN
for the usual patterns (classes, groups, quantifiers, anchors); ``\\p{..}`` classes are not
supported. Patterns run without a time limit.
"""

from __future__ import annotations

import calendar
import decimal
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from midflight.errors import ExpressionError
from midflight.expr.feel._temporal import (
    YearsMonthsDuration,
    make_offset,
    months_between,
    parse_date,
    parse_date_time,
    parse_duration,
    parse_time,
)
from midflight.expr.feel._values import (
    CONTEXT,
    FeelFunction,
    State,
    check_length,
    compare,
    feel_eq,
    hash_key,
    kind,
    to_int,
    to_string,
)

__all__ = ["BUILTINS", "PARAMETER_NAMES", "Builtin", "Signature"]


class _Invalid(Exception):
    """An argument FEEL answers with null."""


@dataclass(frozen=True, slots=True)
class Signature:
    """One way to call a built-in: parameter names, how many are required, the code."""

    params: tuple[str, ...]
    required: int
    variadic: bool
    impl: Callable[..., Any]
    needs_state: bool

    def fits(self, count: int) -> bool:
        return self.required <= count and (self.variadic or count <= len(self.params))

    def fits_names(self, names: Sequence[str]) -> bool:
        return set(names) <= set(self.params) and set(self.params[: self.required]) <= set(names)

    def order(self, named: Mapping[str, Any]) -> list[Any]:
        """Named arguments in parameter order; a gap before a given one is passed as null."""
        last = max(self.params.index(name) for name in named) if named else -1
        return [named.get(param) for param in self.params[: last + 1]]

    def invoke(self, state: State, args: Sequence[Any]) -> Any:
        try:
            result = self.impl(state, *args) if self.needs_state else self.impl(*args)
        except (_Invalid, ArithmeticError, ValueError):  # DMN: unusable arguments give null
            return None
        if type(result) is str or type(result) is list:
            check_length(len(result))
            state.allocate(len(result))
        return result


class Builtin(FeelFunction):
    """A built-in function; several signatures when FEEL overloads it (``date``, ``time``)."""

    __slots__ = ("_name", "signatures")

    def __init__(self, name: str) -> None:
        self._name = name
        self.signatures: tuple[Signature, ...] = ()

    @property
    def name(self) -> str:
        return self._name

    def for_count(self, count: int) -> Signature | None:
        return next((s for s in self.signatures if s.fits(count)), None)

    def for_names(self, names: Sequence[str]) -> Signature | None:
        return next((s for s in self.signatures if s.fits_names(names)), None)

    def call(self, state: State, args: Sequence[Any]) -> Any:
        signature = self.for_count(len(args))
        return None if signature is None else signature.invoke(state, args)

    def call_named(self, state: State, args: Mapping[str, Any]) -> Any:
        signature = self.for_names(list(args))
        return None if signature is None else signature.invoke(state, signature.order(args))


BUILTINS: dict[str, Builtin] = {}


def _builtin(
    name: str, params: str = "", *, state: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a signature: ``params`` like ``"string, start position, length?"``;
    a trailing ``...`` makes the last parameter repeat."""
    names = [p.strip() for p in params.split(",") if p.strip()]
    variadic = bool(names) and names[-1].endswith("...")
    required = sum(1 for n in names if not n.endswith("?"))
    cleaned = tuple(n.rstrip("?.") for n in names)

    def register(impl: Callable[..., Any]) -> Callable[..., Any]:
        function = BUILTINS.setdefault(name, Builtin(name))
        signature = Signature(cleaned, required, variadic, impl, state)
        function.signatures = (*function.signatures, signature)
        return impl

    return register


# -- argument checks --------------------------------------------------------------------------


def _num(value: Any) -> Decimal:
    if type(value) is not Decimal:
        raise _Invalid
    return value


def _int(value: Any) -> int:
    number = to_int(value)
    if number is None:
        raise _Invalid
    return number


def _str(value: Any) -> str:
    if type(value) is not str:
        raise _Invalid
    return value


def _list(value: Any) -> list[Any]:
    """A list argument; any other value but null counts as a list of itself (DMN 10.3.2.9.4)."""
    if type(value) is list:
        return value
    if value is None:
        raise _Invalid
    return [value]


def _context(value: Any) -> dict[str, Any]:
    if type(value) is not dict:
        raise _Invalid
    return value


def _day(value: Any) -> date:
    if type(value) is date:
        return value
    if type(value) is datetime:
        return value.date()
    raise _Invalid


def _items(args: tuple[Any, ...]) -> list[Any]:
    """``min([1, 2])`` and ``min(1, 2)`` alike."""
    if len(args) == 1:
        return _list(args[0])
    return list(args)


def _numbers(args: tuple[Any, ...]) -> list[Decimal]:
    return [_num(v) for v in _items(args)]


def _position(position: Any, size: int) -> int:
    """0-based index of a FEEL position: 1-based, negative counts from the end."""
    index = _int(position)
    if index > 0 and index <= size:
        return index - 1
    if index < 0 and -index <= size:
        return size + index
    raise _Invalid


# -- conversion --------------------------------------------------------------------------------


@_builtin("date", "from")
def _date(value: Any) -> date | None:
    if type(value) is str:
        return parse_date(value)
    return _day(value)


@_builtin("date", "year, month, day")
def _date_of(year: Any, month: Any, day: Any) -> date:
    return date(_int(year), _int(month), _int(day))


@_builtin("date and time", "from")
def _date_time(value: Any) -> datetime | None:
    if type(value) is str:
        return parse_date_time(value)
    if type(value) is datetime:
        return value
    day = _day(value)
    return datetime(day.year, day.month, day.day)


@_builtin("date and time", "date, time")
def _date_time_of(day: Any, clock: Any) -> datetime:
    if type(clock) is not time:
        raise _Invalid
    return datetime.combine(_day(day), clock)


@_builtin("time", "from")
def _time(value: Any) -> time | None:
    if type(value) is str:
        return parse_time(value)
    if type(value) is time:
        return value
    if type(value) is datetime:
        return value.timetz()
    raise _Invalid


@_builtin("time", "hour, minute, second, offset?")
def _time_of(hour: Any, minute: Any, second: Any, offset: Any = None) -> time:
    seconds = _num(second)
    whole = _int(seconds.to_integral_value(rounding=decimal.ROUND_FLOOR))
    micros = int(CONTEXT.multiply(CONTEXT.subtract(seconds, whole), 1_000_000))
    zone = None
    if offset is not None:
        if type(offset) is not timedelta:
            raise _Invalid
        zone = make_offset(offset)
        if zone is None:
            raise _Invalid
    return time(_int(hour), _int(minute), whole, micros, zone)


_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


@_builtin("number", "from, grouping separator?, decimal separator?")
def _number(text: Any, grouping: Any = None, separator: Any = None) -> Decimal:
    value = _str(text)
    if grouping not in (None, " ", ",", ".") or separator not in (None, ",", "."):
        raise _Invalid
    if grouping is not None and grouping == separator:
        raise _Invalid
    if grouping is not None:
        value = value.replace(grouping, "")
    if separator is not None:
        value = value.replace(separator, ".")
    if not _NUMBER_TEXT.fullmatch(value):
        raise _Invalid
    return CONTEXT.create_decimal(value)


@_builtin("string", "from")
def _string(value: Any) -> str | None:
    return None if value is None else to_string(value)


@_builtin("duration", "from")
def _duration(value: Any) -> timedelta | YearsMonthsDuration | None:
    return parse_duration(_str(value))


@_builtin("years and months duration", "from, to")
def _years_and_months(start: Any, end: Any) -> YearsMonthsDuration:
    if type(start) not in (date, datetime) or type(end) not in (date, datetime):
        raise _Invalid
    return YearsMonthsDuration(months_between(start, end))


@_builtin("context", "entries")
def _context_of(entries: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for entry in _list(entries):
        key = _str(_context(entry).get("key"))
        if key in result or "value" not in entry:
            raise _Invalid
        result[key] = entry["value"]
    return result


# -- boolean -----------------------------------------------------------------------------------


@_builtin("not", "negand")
def _not(value: Any) -> bool | None:
    return not value if type(value) is bool else None


@_builtin("is defined", "value")
def _is_defined(value: Any) -> bool:
    return value is not None


@_builtin("get or else", "value, default")
def _get_or_else(value: Any, default: Any) -> Any:
    return default if value is None else value


@_builtin("fromAi", "value, description?, type?, schema?, options?")
def _from_ai(
    value: Any, description: Any = None, type: Any = None, schema: Any = None, options: Any = None
) -> Any:
    # Camunda 8.8 agent tools: marks a value the AI agent supplies; at run time it is the value.
    return value


@_builtin("assert", "value, condition, cause?")
def _assert(value: Any, condition: Any, cause: Any = None) -> Any:
    if condition is not True:
        detail = f": {cause}" if type(cause) is str else ""
        raise ExpressionError(f"assertion failed{detail}")
    return value


@_builtin("is", "value1, value2")
def _is(first: Any, second: Any) -> bool:
    return kind(first) == kind(second) and feel_eq(first, second) is True


# -- strings -----------------------------------------------------------------------------------


@_builtin("substring", "string, start position, length?")
def _substring(text: Any, start: Any, length: Any = None) -> str:
    value = _str(text)
    index = _position(start, len(value))
    if length is None:
        return value[index:]
    count = _int(length)
    if count < 0:
        raise _Invalid
    return value[index : index + count]


@_builtin("string length", "string")
def _string_length(text: Any) -> Decimal:
    return Decimal(len(_str(text)))


@_builtin("upper case", "string")
def _upper(text: Any) -> str:
    return _str(text).upper()


@_builtin("lower case", "string")
def _lower(text: Any) -> str:
    return _str(text).lower()


@_builtin("substring before", "string, match")
def _before(text: Any, match: Any) -> str:
    value, found = _str(text), _str(match)
    index = value.find(found)
    return value[:index] if index >= 0 else ""


@_builtin("substring after", "string, match")
def _after(text: Any, match: Any) -> str:
    value, found = _str(text), _str(match)
    index = value.find(found)
    return value[index + len(found) :] if index >= 0 else ""


@_builtin("contains", "string, match")
def _contains(text: Any, match: Any) -> bool:
    return _str(match) in _str(text)


@_builtin("starts with", "string, match")
def _starts_with(text: Any, match: Any) -> bool:
    return _str(text).startswith(_str(match))


@_builtin("ends with", "string, match")
def _ends_with(text: Any, match: Any) -> bool:
    return _str(text).endswith(_str(match))


@_builtin("trim", "string")
def _trim(text: Any) -> str:
    return _str(text).strip()


@_builtin("is blank", "string")
def _is_blank(text: Any) -> bool:
    return not _str(text).strip()


_FLAGS = {"i": re.IGNORECASE, "s": re.DOTALL, "m": re.MULTILINE, "x": re.VERBOSE}


@functools.lru_cache(maxsize=256)
def _compile_regex(pattern: str, flags: str) -> re.Pattern[str]:
    bits = 0
    for flag in flags:
        if flag == "q":
            pattern = re.escape(pattern)
        elif flag in _FLAGS:
            bits |= _FLAGS[flag]
        else:
            raise _Invalid
    try:
        return re.compile(pattern, bits)
    except re.error:
        raise _Invalid from None


def _regex(pattern: Any, flags: Any = None, *, may_match_empty: bool = True) -> re.Pattern[str]:
    regex = _compile_regex(_str(pattern), "" if flags is None else _str(flags))
    if not may_match_empty and regex.search("") is not None:
        raise _Invalid  # XPath refuses such patterns in replace/split (FORX0003)
    return regex


@_builtin("matches", "input, pattern, flags?")
def _matches(text: Any, pattern: Any, flags: Any = None) -> bool:
    return _regex(pattern, flags).search(_str(text)) is not None


def _replacement(template: str) -> list[str | int]:
    """An XPath replacement (``$1`` a group, ``\\$`` a dollar) as literal and group parts."""
    parts: list[str | int] = []
    for m in re.finditer(r"\\([\\$])|\$(\d+)|([\\$])|([^\\$]+)", template):
        escaped, group, stray, text = m.groups()
        if stray:
            raise _Invalid
        parts.append(int(group) if group else escaped or text)
    return parts


@_builtin("replace", "input, pattern, replacement, flags?")
def _replace(text: Any, pattern: Any, replacement: Any, flags: Any = None) -> str:
    value = _str(text)
    regex = _regex(pattern, flags, may_match_empty=False)
    parts = _replacement(_str(replacement))
    out: list[str] = []
    size, last = 0, 0
    for m in regex.finditer(value):
        groups = m.re.groups
        piece = value[last : m.start()] + "".join(
            p if isinstance(p, str) else (m.group(p) or "") if p <= groups else "" for p in parts
        )
        size += len(piece)
        check_length(size)
        out.append(piece)
        last = m.end()
    out.append(value[last:])
    return "".join(out)


@_builtin("split", "string, delimiter")
def _split(text: Any, delimiter: Any) -> list[str]:
    value = _str(text)
    regex = _regex(delimiter, may_match_empty=False)
    pieces, last = [], 0
    for m in regex.finditer(value):
        pieces.append(value[last : m.start()])
        last = m.end()
    pieces.append(value[last:])
    return pieces


@_builtin("extract", "string, pattern")
def _extract(text: Any, pattern: Any) -> list[str]:
    return [m.group() for m in _regex(pattern).finditer(_str(text))]


@_builtin("string join", "list, delimiter?, prefix?, suffix?")
def _string_join(items: Any, delimiter: Any = None, prefix: Any = None, suffix: Any = None) -> str:
    texts = [_str(item) for item in _list(items) if item is not None]
    glue, start, end = (("" if v is None else _str(v)) for v in (delimiter, prefix, suffix))
    check_length(sum(map(len, texts)) + len(glue) * max(len(texts) - 1, 0) + len(start + end))
    return start + glue.join(texts) + end


# -- lists -------------------------------------------------------------------------------------


@_builtin("list contains", "list, element")
def _list_contains(items: Any, element: Any) -> bool:
    return any(feel_eq(item, element) is True for item in _list(items))


@_builtin("count", "list")
def _count(items: Any) -> Decimal:
    return Decimal(len(_list(items)))


def _extreme(args: tuple[Any, ...], sign: int) -> Any:
    values = _items(args)
    if not values:
        return None
    best = values[0]
    for value in values[1:]:
        order = compare(value, best)
        if order is None:
            raise _Invalid
        if order == sign:
            best = value
    if compare(best, best) is None:  # a single value that has no order (a boolean, a list)
        raise _Invalid
    return best


@_builtin("min", "list...")
def _min(*args: Any) -> Any:
    return _extreme(args, -1)


@_builtin("max", "list...")
def _max(*args: Any) -> Any:
    return _extreme(args, 1)


def _total(numbers: list[Decimal]) -> Decimal:
    result = Decimal(0)
    for number in numbers:
        result = CONTEXT.add(result, number)
    return result


@_builtin("sum", "list...")
def _sum(*args: Any) -> Decimal | None:
    numbers = _numbers(args)
    return _total(numbers) if numbers else None


@_builtin("product", "list...")
def _product(*args: Any) -> Decimal | None:
    numbers = _numbers(args)
    if not numbers:
        return None
    result = Decimal(1)
    for number in numbers:
        result = CONTEXT.multiply(result, number)
    return result


@_builtin("mean", "list...")
def _mean(*args: Any) -> Decimal | None:
    numbers = _numbers(args)
    return CONTEXT.divide(_total(numbers), len(numbers)) if numbers else None


@_builtin("median", "list...")
def _median(*args: Any) -> Decimal | None:
    numbers = sorted(_numbers(args))
    if not numbers:
        return None
    middle = len(numbers) // 2
    if len(numbers) % 2:
        return numbers[middle]
    return CONTEXT.divide(CONTEXT.add(numbers[middle - 1], numbers[middle]), 2)


@_builtin("stddev", "list...")
def _stddev(*args: Any) -> Decimal | None:
    numbers = _numbers(args)
    if len(numbers) < 2:
        return None
    mean = CONTEXT.divide(_total(numbers), len(numbers))
    squares = _total([CONTEXT.power(CONTEXT.subtract(n, mean), 2) for n in numbers])
    return CONTEXT.sqrt(CONTEXT.divide(squares, len(numbers) - 1))


@_builtin("mode", "list...")
def _mode(*args: Any) -> list[Decimal]:
    counts: dict[Decimal, int] = {}
    for number in _numbers(args):
        counts[number] = counts.get(number, 0) + 1
    if not counts:
        return []
    most = max(counts.values())
    return sorted(n for n, c in counts.items() if c == most)


@_builtin("all", "list...")
def _all(*args: Any) -> bool | None:
    values = _items(args)
    if any(v is False for v in values):
        return False
    return True if all(v is True for v in values) else None


@_builtin("any", "list...")
def _any(*args: Any) -> bool | None:
    values = _items(args)
    if any(v is True for v in values):
        return True
    return False if all(v is False for v in values) else None


@_builtin("sublist", "list, start position, length?")
def _sublist(items: Any, start: Any, length: Any = None) -> list[Any]:
    values = _list(items)
    index = _position(start, len(values))
    if length is None:
        return values[index:]
    count = _int(length)
    if count < 0:
        raise _Invalid
    return values[index : index + count]


@_builtin("append", "list, item...")
def _append(items: Any, *more: Any) -> list[Any]:
    values = _list(items)
    check_length(len(values) + len(more))
    return [*values, *more]


@_builtin("concatenate", "list...")
def _concatenate(*lists: Any) -> list[Any]:
    parts = [_list(part) for part in lists]
    check_length(sum(map(len, parts)))
    return [item for part in parts for item in part]


@_builtin("insert before", "list, position, newItem")
def _insert_before(items: Any, position: Any, item: Any) -> list[Any]:
    values = _list(items)
    index = _position(position, len(values))
    return [*values[:index], item, *values[index:]]


@_builtin("remove", "list, position")
def _remove(items: Any, position: Any) -> list[Any]:
    values = _list(items)
    index = _position(position, len(values))
    return values[:index] + values[index + 1 :]


@_builtin("reverse", "list")
def _reverse(items: Any) -> list[Any]:
    return _list(items)[::-1]


@_builtin("index of", "list, match")
def _index_of(items: Any, match: Any) -> list[Decimal]:
    return [Decimal(i) for i, v in enumerate(_list(items), 1) if feel_eq(v, match) is True]


def _distinct(values: list[Any]) -> list[Any]:
    seen: set[Any] = set()
    result = []
    for value in values:
        key = hash_key(value)
        if key not in seen:
            seen.add(key)
            result.append(value)
    return result


@_builtin("union", "list...")
def _union(*lists: Any) -> list[Any]:
    return _distinct(_concatenate(*lists))


@_builtin("distinct values", "list")
def _distinct_values(items: Any) -> list[Any]:
    return _distinct(_list(items))


@_builtin("duplicate values", "list")
def _duplicate_values(items: Any) -> list[Any]:
    counts: dict[Any, int] = {}
    for value in _list(items):
        key = hash_key(value)
        counts[key] = counts.get(key, 0) + 1
    return [v for v in _distinct(_list(items)) if counts[hash_key(v)] > 1]


_END = object()


@_builtin("flatten", "list")
def _flatten(items: Any) -> list[Any]:
    result: list[Any] = []
    stack = [iter(_list(items))]  # explicit stack: nesting depth never recurses in Python
    while stack:
        value = next(stack[-1], _END)
        if value is _END:
            stack.pop()
        elif type(value) is list:
            stack.append(iter(value))
        else:
            result.append(value)
            check_length(len(result))
    return result


@_builtin("sort", "list, precedes?", state=True)
def _sort(state: State, items: Any, precedes: Any = None) -> list[Any]:
    values = _list(items)
    if precedes is None:
        if any(compare(v, values[0]) is None for v in values):
            raise _Invalid
        return sorted(values, key=functools.cmp_to_key(lambda a, b: compare(a, b) or 0))
    if not isinstance(precedes, FeelFunction):
        raise _Invalid

    def order(a: Any, b: Any) -> int:
        if precedes.call(state, [a, b]) is True:
            return -1
        return 1 if precedes.call(state, [b, a]) is True else 0

    return sorted(values, key=functools.cmp_to_key(order))


@_builtin("is empty", "list")
def _is_empty(items: Any) -> bool:
    return not _list(items)


@_builtin("partition", "list, size")
def _partition(items: Any, size: Any) -> list[list[Any]]:
    values, step = _list(items), _int(size)
    if step < 1:
        raise _Invalid
    return [values[i : i + step] for i in range(0, len(values), step)]


# -- numbers -----------------------------------------------------------------------------------


def _round(number: Any, scale: Any, rounding: str) -> Decimal:
    digits = _int(scale)
    if not -6111 <= digits <= 6176:  # the scale range DMN allows
        raise _Invalid
    exponent = Decimal((0, (1,), -digits))
    return _num(number).quantize(exponent, rounding=rounding, context=CONTEXT)


@_builtin("decimal", "n, scale")
def _decimal(number: Any, scale: Any) -> Decimal:
    return _round(number, scale, decimal.ROUND_HALF_EVEN)


@_builtin("floor", "n, scale?")
def _floor(number: Any, scale: Any = None) -> Decimal:
    return _round(number, Decimal(0) if scale is None else scale, decimal.ROUND_FLOOR)


@_builtin("ceiling", "n, scale?")
def _ceiling(number: Any, scale: Any = None) -> Decimal:
    return _round(number, Decimal(0) if scale is None else scale, decimal.ROUND_CEILING)


@_builtin("round up", "n, scale")
def _round_up(number: Any, scale: Any) -> Decimal:
    return _round(number, scale, decimal.ROUND_UP)


@_builtin("round down", "n, scale")
def _round_down(number: Any, scale: Any) -> Decimal:
    return _round(number, scale, decimal.ROUND_DOWN)


@_builtin("round half up", "n, scale")
def _round_half_up(number: Any, scale: Any) -> Decimal:
    return _round(number, scale, decimal.ROUND_HALF_UP)


@_builtin("round half down", "n, scale")
def _round_half_down(number: Any, scale: Any) -> Decimal:
    return _round(number, scale, decimal.ROUND_HALF_DOWN)


@_builtin("abs", "n")
def _abs(value: Any) -> Decimal | timedelta | YearsMonthsDuration:
    if type(value) is timedelta:
        return abs(value)
    if type(value) is YearsMonthsDuration:
        return YearsMonthsDuration(abs(value.months))
    return CONTEXT.abs(_num(value))


@_builtin("modulo", "dividend, divisor")
def _modulo(dividend: Any, divisor: Any) -> Decimal:
    a, b = _num(dividend), _num(divisor)
    rest = CONTEXT.remainder(a, b)
    if rest and (rest < 0) != (b < 0):  # the result takes the divisor's sign
        rest = CONTEXT.add(rest, b)
    return rest


@_builtin("sqrt", "number")
def _sqrt(number: Any) -> Decimal:
    return CONTEXT.sqrt(_num(number))


@_builtin("log", "number")
def _log(number: Any) -> Decimal:
    value = _num(number)
    if value <= 0:
        raise _Invalid
    return CONTEXT.ln(value)


@_builtin("exp", "number")
def _exp(number: Any) -> Decimal:
    return CONTEXT.exp(_num(number))


@_builtin("odd", "number")
def _odd(number: Any) -> bool:
    return _int(number) % 2 == 1


@_builtin("even", "number")
def _even(number: Any) -> bool:
    return _int(number) % 2 == 0


# -- contexts ----------------------------------------------------------------------------------


@_builtin("get value", "m, key")
def _get_value(context: Any, key: Any) -> Any:
    value: Any = _context(context)
    for step in _list(key):
        if type(value) is not dict:
            return None
        value = value.get(_str(step))
    return value


@_builtin("get entries", "m")
def _get_entries(context: Any) -> list[dict[str, Any]]:
    return [{"key": k, "value": v} for k, v in _context(context).items()]


@_builtin("context put", "context, key, value")
def _context_put(context: Any, key: Any, value: Any) -> dict[str, Any]:
    keys = [_str(k) for k in _list(key)]
    if not keys:
        raise _Invalid
    return _put(_context(context), keys, value)


def _put(context: dict[str, Any], keys: list[str], value: Any) -> dict[str, Any]:
    first, rest = keys[0], keys[1:]
    if rest:
        inner = context.get(first)
        value = _put(inner if type(inner) is dict else {}, rest, value)
    return {**context, first: value}


@_builtin("context merge", "contexts")
def _context_merge(contexts: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for context in _list(contexts):
        result.update(_context(context))
    return result


# -- dates and times ---------------------------------------------------------------------------


@_builtin("now", state=True)
def _now(state: State) -> datetime:
    return state.now()


@_builtin("today", state=True)
def _today(state: State) -> date:
    return state.now().date()


# Fixed English names: ``calendar.day_name`` would follow the process locale.
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@_builtin("day of week", "date")
def _day_of_week(value: Any) -> str:
    return _DAY_NAMES[_day(value).weekday()]


@_builtin("day of year", "date")
def _day_of_year(value: Any) -> Decimal:
    return Decimal(_day(value).timetuple().tm_yday)


@_builtin("week of year", "date")
def _week_of_year(value: Any) -> Decimal:
    return Decimal(_day(value).isocalendar().week)


@_builtin("month of year", "date")
def _month_of_year(value: Any) -> str:
    return _MONTH_NAMES[_day(value).month - 1]


@_builtin("last day of month", "date")
def _last_day_of_month(value: Any) -> date:
    day = _day(value)
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


#: Names of built-in parameters, for the parser to recognise those with spaces.
PARAMETER_NAMES = frozenset(p for f in BUILTINS.values() for s in f.signatures for p in s.params)
