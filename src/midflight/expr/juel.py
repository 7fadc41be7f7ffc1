"""JUEL, the expression language of Camunda 7 models: the subset conditions and values use.

Source forms:

* ``${expr}`` or ``#{expr}`` (deferred syntax, treated the same) returns the raw value of
  ``expr``: ``${amount > 1000}`` gives a ``bool``, ``${order.total}`` whatever the variable holds.
* A template mixing text and expressions, ``Dear ${name}, order ${order.id}``, returns the
  concatenation of its parts as a string (null parts give ``""``). Text without any expression is
  returned as is. ``\\${`` and ``\\#{`` in text stand for a literal ``${`` and ``#{``.

Inside an expression: identifiers, properties ``a.b`` and brackets ``a['b']`` / ``list[0]``,
``== != < <= > >=`` (and ``eq ne lt le gt ge``), ``&& || !`` (and ``and or not``), ``empty``,
``+ - * / div % mod``, unary minus, ``c ? a : b``, parentheses and the literals of JUEL: integers,
decimals (``1.5``, ``.5``, ``1e3``), strings in single or double quotes (escapes ``\\\\``, ``\\'``
and ``\\"``), ``true``, ``false``, ``null``. Of method calls only two Camunda idioms are
understood: ``execution.getVariable('name')`` (the variable, or null when absent) and
``execution.processBusinessKey`` (the variable ``processBusinessKey``, or null). ``execution`` is
therefore reserved, as it is in Camunda; every other call raises ``ExpressionError``.

Values are those of the variables given: ``None`` is null, ``bool`` Boolean, ``int`` Long,
``float`` Double, ``Decimal`` BigDecimal, ``str`` String, ``list``/``tuple`` List and ``Mapping``
Map. Evaluation reads only mapping entries and list items; it never looks at attributes, so a
property of anything else is an error. A missing map entry, an index out of range and a property
of null are null; an unknown top-level identifier is an error (Camunda raises
``PropertyNotFoundException``).

Operators follow the coercions of the EL specification (section 1.7-1.12) as JUEL implements
them:

* ``+ - *``: null and ``""`` count as 0; a Decimal operand makes the operation Decimal; a float or a
  string containing ``.``, ``e`` or ``E`` makes it float; otherwise both operands must coerce to
  integers. Strings are never concatenated: ``'a' + 'b'`` fails, ``'1' + 2`` is 3.
* ``/``: float division, where ``x / 0`` is Infinity or NaN as in Java; with a Decimal operand it
  is ``BigDecimal.divide(divisor, HALF_UP)``, i.e. rounded half up to the dividend's scale
  (``Decimal('10.00') / 3`` is ``Decimal('3.33')``, ``Decimal('10') / 4`` is ``Decimal('3')``).
* ``%``: float (``math.fmod``) when either operand is a Decimal, a float or a decimal string,
  otherwise the integer remainder that keeps the dividend's sign, as Java's ``%`` does.
* ``< <= > >=``: null on either side is false; otherwise both sides are coerced to the first of
  Decimal, float, integer, string that either side has, so ``'5' < 10`` compares numbers and
  ``'abc' < 10`` fails. Values of one type among bool, date, time and timedelta compare natively.
* ``== !=``: the same order of coercion, then Boolean and String, then plain equality. A number and
  a string compare as numbers after coercing the string to the number's type: ``'5' == 5`` and
  ``'5.0' == 5.0`` are true, while ``'5.0' == 5`` and ``'abc' == 5`` fail because JUEL coerces the
  string with ``Long.valueOf``. ``true == 'TRUE'`` is true.
* ``&& || ! ?:``: operands coerce to Boolean: null and ``""`` are false, a string is true iff it is
  ``"true"`` in any case, anything else (numbers included) fails.

Deliberate differences from JUEL: integers do not overflow (products are capped at
``MAX_RESULT_LENGTH`` bits instead); Decimals are equal when numerically equal (Java's
``BigDecimal.equals`` also compares the scale, so ``1.0 != 1.00`` there); Decimal ``+ - *`` are
exact to 1000 digits; dates in templates use ``isoformat()``. Floats in templates print as Java's
``Double.toString`` does (``5.0``, ``1.0E10``).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import (
    MAX_EMAX,
    MIN_EMIN,
    ROUND_DOWN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DecimalException,
)
from functools import lru_cache
from typing import Any, NamedTuple, TypeAlias

from midflight.errors import ExpressionError
from midflight.expr.base import MAX_DEPTH, MAX_EXPRESSION_LENGTH, MAX_RESULT_LENGTH

__all__ = ["JuelExpression", "compile_juel", "evaluate_juel"]


# --------------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------------


class _Token(NamedTuple):
    #: "text", "open" (``${``/``#{``), "close" (``}``), "number", "string", "literal"
    #: (true/false/null), "ident", "op" or "eof".
    kind: str
    #: The literal value, identifier name or canonical operator (``and`` becomes ``&&``).
    value: Any
    pos: int
    text: str


_WORD_OPERATORS = {
    "and": "&&",
    "or": "||",
    "not": "!",
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "gt": ">",
    "le": "<=",
    "ge": ">=",
    "div": "/",
    "mod": "%",
    "empty": "empty",
}
_WORD_LITERALS: dict[str, bool | None] = {"true": True, "false": False, "null": None}

# The number syntax is JUEL's scanner: an exponent belongs to the number only if digits follow.
_EXPRESSION_TOKEN = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<number>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
    | (?P<ident>(?:[^\W\d]|\$)(?:\w|\$)*)
    | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<op>==|!=|<=|>=|&&|\|\||[-+*/%<>!?:.,\[\]()}])
    """,
    re.VERBOSE | re.DOTALL,
)
_TEXT_OPENER = re.compile(r"\\?[$#]\{")
_STRING_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def _tokenize(source: str) -> list[_Token]:
    """Split a whole source, text parts and expression parts alike, into tokens."""
    tokens: list[_Token] = []
    pos, end = 0, len(source)
    while pos < end:
        start = pos
        pieces: list[str] = []
        while True:
            match = _TEXT_OPENER.search(source, pos)
            if match is None:
                pieces.append(source[pos:])
                pos = end
                break
            pieces.append(source[pos : match.start()])
            if match.group().startswith("\\"):
                pieces.append(match.group()[1:])
                pos = match.end()
                continue
            pos = match.start()
            break
        if text := "".join(pieces):
            tokens.append(_Token("text", text, start, source[start:pos]))
        if pos < end:
            tokens.append(_Token("open", None, pos, source[pos : pos + 2]))
            pos = _tokenize_expression(source, pos + 2, tokens)
    tokens.append(_Token("eof", None, end, ""))
    return tokens


def _tokenize_expression(source: str, pos: int, tokens: list[_Token]) -> int:
    """Append the tokens of one ``${...}`` body; return the position after its ``}``."""
    while pos < len(source):
        match = _EXPRESSION_TOKEN.match(source, pos)
        if match is None:
            char = source[pos]
            if char in "'\"":
                raise _syntax_error("unterminated string", source, pos)
            hint = " (use '==' to compare)" if char == "=" else ""
            raise _syntax_error(f"unexpected character {char!r}{hint}", source, pos)
        kind, text = match.lastgroup, match.group()
        if kind == "number":
            is_float = any(c in text for c in ".eE")
            tokens.append(_Token("number", float(text) if is_float else int(text), pos, text))
        elif kind == "string":
            tokens.append(_Token("string", _decode_string(source, pos, text), pos, text))
        elif kind == "ident":
            if text in _WORD_OPERATORS:
                tokens.append(_Token("op", _WORD_OPERATORS[text], pos, text))
            elif text in _WORD_LITERALS:
                tokens.append(_Token("literal", _WORD_LITERALS[text], pos, text))
            elif text == "instanceof":
                raise _syntax_error("'instanceof' is not supported", source, pos)
            else:
                tokens.append(_Token("ident", text, pos, text))
        elif kind == "op":
            if text == "}":
                tokens.append(_Token("close", None, pos, text))
                return match.end()
            tokens.append(_Token("op", text, pos, text))
        pos = match.end()
    return pos


def _decode_string(source: str, pos: int, literal: str) -> str:
    body = literal[1:-1]
    if "\\" not in body:
        return body
    for escape in _STRING_ESCAPE.finditer(body):
        if escape.group(1) not in "\\'\"":
            raise _syntax_error(
                f"invalid escape sequence {escape.group()!r} in string: JUEL only knows "
                "\\\\, \\' and \\\"",
                source,
                pos + 1 + escape.start(),
            )
    return _STRING_ESCAPE.sub(lambda escape: escape.group(1), body)


def _syntax_error(message: str, source: str, pos: int) -> ExpressionError:
    return ExpressionError(message, expression=source, position=pos)


def _excerpt(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------------------------
# Syntax tree
# --------------------------------------------------------------------------------------------
# Every node records ``height`` (1 + the tallest child) so the parser can refuse a tree deeper
# than MAX_DEPTH while building it; compiling and evaluating recurse once per level.


@dataclass(slots=True)
class _Literal:
    value: Any
    pos: int
    height: int = 1


@dataclass(slots=True)
class _Identifier:
    name: str
    pos: int
    height: int = 1


@dataclass(slots=True)
class _ExecutionVariable:
    """``execution.getVariable(name)`` and ``execution.processBusinessKey``."""

    name: _Node
    pos: int
    height: int


@dataclass(slots=True)
class _Step:
    """One ``.name`` (key is the name) or ``[expr]`` (key is the node) of a path."""

    key: str | _Node
    pos: int


@dataclass(slots=True)
class _Path:
    """``base.a['b'][0]``: steps kept flat, so a long path does not make the tree deep."""

    base: _Node
    steps: list[_Step]
    pos: int
    height: int


@dataclass(slots=True)
class _Unary:
    operator: str
    operand: _Node
    pos: int
    height: int


@dataclass(slots=True)
class _Chain:
    """Operators of one precedence level, applied left to right: ``a + b - c``.

    Kept flat so that ``a && b && ... && z`` or a long sum does not nest one level per operator.
    """

    level: int
    first: _Node
    rest: list[tuple[str, int, _Node]]  # (operator, its position, right operand)
    pos: int
    height: int


@dataclass(slots=True)
class _Choice:
    condition: _Node
    when_true: _Node
    when_false: _Node
    pos: int
    height: int


_Node: TypeAlias = _Literal | _Identifier | _ExecutionVariable | _Path | _Unary | _Chain | _Choice

_OR, _AND, _EQUALITY, _RELATIONAL, _ADDITIVE, _MULTIPLICATIVE = range(1, 7)
_BINARY_LEVEL = {
    "||": _OR,
    "&&": _AND,
    "==": _EQUALITY,
    "!=": _EQUALITY,
    "<": _RELATIONAL,
    ">": _RELATIONAL,
    "<=": _RELATIONAL,
    ">=": _RELATIONAL,
    "+": _ADDITIVE,
    "-": _ADDITIVE,
    "*": _MULTIPLICATIVE,
    "/": _MULTIPLICATIVE,
    "%": _MULTIPLICATIVE,
}
_PREFIX_OPERATORS = frozenset({"-", "!", "empty"})
_SUPPORTED_CALL = "the only call supported is execution.getVariable('name')"


# --------------------------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------------------------


class _Parser:
    """Recursive descent for nesting, operator precedence by an explicit stack.

    Binary operators use a shunting-yard loop rather than one function per precedence level, so
    one level of parentheses costs three Python frames; with at most MAX_DEPTH levels the parser
    stays far from the interpreter's recursion limit.
    """

    def __init__(self, source: str) -> None:
        self._source = source
        self._tokens = _tokenize(source)
        self._index = 0
        self._depth = 0

    def parse(self) -> list[str | _Node]:
        """The parts of the source: literal text and expressions, in order."""
        parts: list[str | _Node] = []
        while (token := self._next()).kind != "eof":
            if token.kind == "text":
                parts.append(token.value)
                continue
            parts.append(self._parse_expression())
            closing = self._next()
            if closing.kind != "close":
                raise self._unexpected(closing, "'}'")
        return parts

    # -- grammar ------------------------------------------------------------------------------

    def _parse_expression(self) -> _Node:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise self._error(f"expression nested more than {MAX_DEPTH} levels deep", self._peek())
        node = self._parse_binary()
        question = self._peek()
        if self._at("?"):
            self._index += 1
            when_true = self._parse_expression()
            self._expect(":")
            when_false = self._parse_expression()
            height = 1 + max(node.height, when_true.height, when_false.height)
            node = _Choice(node, when_true, when_false, node.pos, self._height(height, question))
        self._depth -= 1
        return node

    def _parse_binary(self) -> _Node:
        operands = [self._parse_operand()]
        operators: list[_Token] = []
        while (token := self._peek()).kind == "op" and token.value in _BINARY_LEVEL:
            level = _BINARY_LEVEL[token.value]
            while operators and _BINARY_LEVEL[operators[-1].value] >= level:
                self._reduce(operands, operators.pop())
            operators.append(token)
            self._index += 1
            operands.append(self._parse_operand())
        while operators:
            self._reduce(operands, operators.pop())
        return operands[0]

    def _reduce(self, operands: list[_Node], token: _Token) -> None:
        right = operands.pop()
        left = operands.pop()
        level = _BINARY_LEVEL[token.value]
        # Extending a chain of the same level is a left fold either way, parenthesised or not.
        if isinstance(left, _Chain) and left.level == level:
            left.rest.append((token.value, token.pos, right))
            left.height = self._height(max(left.height, right.height + 1), token)
            operands.append(left)
        else:
            height = self._height(1 + max(left.height, right.height), token)
            operands.append(
                _Chain(level, left, [(token.value, token.pos, right)], left.pos, height)
            )

    def _parse_operand(self) -> _Node:
        """Prefix operators, then a primary, then ``.name`` and ``[index]`` steps."""
        prefixes: list[_Token] = []
        while (token := self._peek()).kind == "op" and token.value in _PREFIX_OPERATORS:
            prefixes.append(token)
            self._index += 1
        start = self._peek()
        if self._at("("):
            # Parentheses are handled here rather than in _parse_primary to save a Python frame
            # per nesting level.
            self._index += 1
            node = self._parse_expression()
            self._expect(")")
        else:
            node = self._parse_primary()
        steps: list[_Step] = []
        while self._at(".") or self._at("["):
            if self._next().value == ".":
                name = self._next()
                if name.kind != "ident":
                    raise self._unexpected(name, "a property name after '.'")
                if self._at("("):
                    raise self._call_error("method", start.pos)
                steps.append(_Step(name.value, name.pos))
            else:
                bracket = self._tokens[self._index - 1]
                index = self._parse_expression()
                self._expect("]")
                if self._at("("):
                    raise self._call_error("method", start.pos)
                steps.append(_Step(index, bracket.pos))
        if steps:
            heights = [s.key.height for s in steps if not isinstance(s.key, str)]
            node = _Path(
                node, steps, start.pos, self._height(1 + max([node.height, *heights]), start)
            )
        for prefix in reversed(prefixes):
            node = _Unary(prefix.value, node, prefix.pos, self._height(node.height + 1, prefix))
        return node

    def _parse_primary(self) -> _Node:
        token = self._next()
        if token.kind in ("number", "string", "literal"):
            return _Literal(token.value, token.pos)
        if token.kind == "ident":
            if self._at("(") or self._at_namespaced_function():
                raise self._call_error("function", token.pos)
            if token.value == "execution":
                return self._parse_execution(token)
            return _Identifier(token.value, token.pos)
        raise self._unexpected(token, "an expression")

    def _parse_execution(self, execution: _Token) -> _Node:
        """The two Camunda idioms reading variables through ``execution``."""
        if not self._at("."):
            raise self._error(
                "'execution' can only be used as execution.getVariable('name') or "
                "execution.processBusinessKey",
                execution,
            )
        self._index += 1
        name = self._next()
        if name.kind != "ident":
            raise self._unexpected(name, "a property name after '.'")
        if self._at("("):
            if name.value != "getVariable":
                raise self._call_error("method", execution.pos)
            self._index += 1
            if self._at(")"):
                raise self._error("execution.getVariable takes exactly one argument", self._peek())
            # This route costs two frames more per level than parentheses; counting it twice
            # keeps nested getVariable calls as far from the recursion limit as anything else.
            self._depth += 1
            argument = self._parse_expression()
            self._depth -= 1
            if self._at(","):
                raise self._error("execution.getVariable takes exactly one argument", self._peek())
            self._expect(")")
            height = self._height(argument.height + 1, execution)
            return _ExecutionVariable(argument, execution.pos, height)
        if name.value != "processBusinessKey":
            raise self._error(
                f"execution.{name.value} is not supported: only execution.getVariable('name') "
                "and execution.processBusinessKey are",
                name,
            )
        return _ExecutionVariable(_Literal(name.value, name.pos), execution.pos, 2)

    # -- helpers ------------------------------------------------------------------------------

    def _peek(self) -> _Token:
        return self._tokens[self._index]

    def _next(self) -> _Token:
        token = self._tokens[self._index]
        if token.kind != "eof":
            self._index += 1
        return token

    def _at(self, operator: str) -> bool:
        token = self._tokens[self._index]
        return token.kind == "op" and token.value == operator

    def _at_namespaced_function(self) -> bool:
        """``ns:fn(`` right after the identifier ``ns`` (JUEL decides this by lookahead too)."""
        following = self._tokens[self._index : self._index + 3]
        return (
            len(following) == 3
            and following[0].kind == "op"
            and following[0].value == ":"
            and following[1].kind == "ident"
            and following[2].kind == "op"
            and following[2].value == "("
        )

    def _expect(self, operator: str) -> None:
        token = self._next()
        if token.kind != "op" or token.value != operator:
            raise self._unexpected(token, f"'{operator}'")

    def _height(self, height: int, token: _Token) -> int:
        if height > MAX_DEPTH:
            raise self._error(f"expression nested more than {MAX_DEPTH} levels deep", token)
        return height

    def _call_error(self, kind: str, start: int) -> ExpressionError:
        """A call, named as written; the current token is its ``(``."""
        parenthesis = self._peek()
        if kind == "function":
            # _at_namespaced_function looked past the name: skip to the real parenthesis.
            while not (parenthesis.kind == "op" and parenthesis.value == "("):
                self._index += 1
                parenthesis = self._peek()
        callee = self._source[start : parenthesis.pos].rstrip()
        following = self._tokens[self._index + 1]
        arguments = "()" if following.kind == "op" and following.value == ")" else "(...)"
        return ExpressionError(
            f"{kind} calls are not supported: {_excerpt(callee)}{arguments} ({_SUPPORTED_CALL})",
            expression=self._source,
            position=start,
        )

    def _unexpected(self, token: _Token, expected: str) -> ExpressionError:
        if token.kind == "eof":
            found = "the end of the expression"
        elif token.kind == "string":
            found = _excerpt(token.text)
        else:
            found = f"'{_excerpt(token.text)}'"
        return self._error(f"expected {expected} but found {found}", token)

    def _error(self, message: str, token: _Token) -> ExpressionError:
        return ExpressionError(message, expression=self._source, position=token.pos)


# --------------------------------------------------------------------------------------------
# Coercions and operators (EL specification 1.7-1.12, 1.18)
# --------------------------------------------------------------------------------------------


class _Failure(Exception):
    """An operator failed; the compiled node that called it adds the position."""


_LONG_TEXT = re.compile(r"[+-]?[0-9]+")
_DOUBLE_TEXT = re.compile(
    r"[+-]?(?:NaN|Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fFdD]?)"
)
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# Java's Double.valueOf trims every character up to U+0020.
_JAVA_BLANKS = "".join(map(chr, range(33)))
# BigDecimal arithmetic is exact in Java; 1000 digits is exact for any realistic operands while
# keeping a hostile value from making one operation unbounded.
_DECIMAL = Context(prec=1000, Emax=MAX_EMAX, Emin=MIN_EMIN)
_NATIVE_ORDER = frozenset({int, float, str, Decimal})
_COMPARABLE_TYPES = (bool, date, time, timedelta)
_SEQUENCE_TYPES = (list, tuple, set, frozenset)
_COLLECTION_TYPES = (Mapping, *_SEQUENCE_TYPES)
_SIZED_TYPES = (str, *_COLLECTION_TYPES)


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and value.bit_length() > 64:
        return f"an integer of {value.bit_length()} bits"
    if isinstance(value, str | int | float | Decimal):
        return _excerpt(str(value) if isinstance(value, Decimal) else repr(value), 40)
    return f"a value of type {type(value).__name__}"


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_floating(value: Any) -> bool:
    """A Double for arithmetic: a float, or a string that looks like one (``.``, ``e``, ``E``)."""
    return isinstance(value, float) or (
        isinstance(value, str) and ("." in value or "e" in value or "E" in value)
    )


def _to_bool(value: Any) -> bool:
    if value is True or value is False:
        return value
    if value is None:
        return False
    if isinstance(value, str):
        return value.lower() == "true"
    raise _Failure(f"cannot coerce {_describe(value)} to a boolean")


def _to_long(value: Any) -> int:
    if value is None or (isinstance(value, str) and not value):
        return 0
    if _is_integer(value):
        return int(value)
    if isinstance(value, str) and _LONG_TEXT.fullmatch(value):
        try:
            return int(value)
        except ValueError:  # longer than Python's int-from-text limit
            pass
    raise _Failure(f"cannot coerce {_describe(value)} to an integer")


def _to_double(value: Any) -> float:
    if isinstance(value, float):
        return value
    if value is None or (isinstance(value, str) and not value):
        return 0.0
    if _is_integer(value) or isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str):
        text = value.strip(_JAVA_BLANKS)
        if _DOUBLE_TEXT.fullmatch(text):
            return float(text.rstrip("fFdD"))
    raise _Failure(f"cannot coerce {_describe(value)} to a number")


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if value is None or (isinstance(value, str) and not value):
        return Decimal(0)
    if _is_integer(value) or (isinstance(value, float) and math.isfinite(value)):
        return Decimal(value)  # exact, as Java's new BigDecimal(double)
    if isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value):
        return Decimal(value)
    raise _Failure(f"cannot coerce {_describe(value)} to a decimal")


def _add(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        return a + b
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return _DECIMAL.add(_to_decimal(a), _to_decimal(b))
    if _is_floating(a) or _is_floating(b):
        return _to_double(a) + _to_double(b)
    return _to_long(a) + _to_long(b)


def _subtract(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        return a - b
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return _DECIMAL.subtract(_to_decimal(a), _to_decimal(b))
    if _is_floating(a) or _is_floating(b):
        return _to_double(a) - _to_double(b)
    return _to_long(a) - _to_long(b)


def _multiply(a: Any, b: Any) -> Any:
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return _DECIMAL.multiply(_to_decimal(a), _to_decimal(b))
    if _is_floating(a) or _is_floating(b):
        return _to_double(a) * _to_double(b)
    product = _to_long(a) * _to_long(b)
    # Only multiplication can grow an integer fast; Java's Long would overflow long before this.
    if product.bit_length() > MAX_RESULT_LENGTH:
        raise _Failure(f"integer product longer than {MAX_RESULT_LENGTH} bits")
    return product


def _divide(a: Any, b: Any) -> Any:
    if a is None and b is None:
        return 0
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return _divide_decimal(_to_decimal(a), _to_decimal(b))
    dividend, divisor = _to_double(a), _to_double(b)
    if divisor == 0.0:
        # Java's double division: x / 0 is +-Infinity, 0 / 0 and NaN / 0 are NaN.
        if dividend == 0.0 or math.isnan(dividend):
            return math.nan
        return math.copysign(math.inf, dividend) * math.copysign(1.0, divisor)
    return dividend / divisor


def _divide_decimal(dividend: Decimal, divisor: Decimal) -> Decimal:
    """``dividend.divide(divisor, RoundingMode.HALF_UP)``: half up to the dividend's scale."""
    if not (dividend.is_finite() and divisor.is_finite()):
        raise _Failure("cannot divide an infinite or NaN decimal")
    if divisor.is_zero():
        raise _Failure("division by zero")
    exponent = int(dividend.as_tuple().exponent)
    # Digits from the quotient's leading digit down to one below the target exponent. Truncating
    # there and then rounding half up rounds exactly: truncation never crosses the half point.
    digits = max(1, dividend.adjusted() - divisor.adjusted() - exponent + 3)
    if digits > MAX_RESULT_LENGTH:
        raise _Failure(f"decimal quotient longer than {MAX_RESULT_LENGTH} digits")
    context = Context(prec=digits, rounding=ROUND_DOWN, Emax=MAX_EMAX, Emin=MIN_EMIN)
    quotient = context.divide(dividend, divisor).quantize(
        Decimal((0, (1,), exponent)), rounding=ROUND_HALF_UP, context=context
    )
    # BigDecimal has no negative zero.
    return quotient.copy_abs() if quotient.is_zero() else quotient


def _modulo(a: Any, b: Any) -> Any:
    if a is None and b is None:
        return 0
    if isinstance(a, Decimal) or isinstance(b, Decimal) or _is_floating(a) or _is_floating(b):
        try:
            return math.fmod(_to_double(a), _to_double(b))
        except ValueError:  # x % 0.0 and Infinity % y, which are NaN in Java
            return math.nan
    dividend, divisor = _to_long(a), _to_long(b)
    if divisor == 0:
        raise _Failure("division by zero")
    remainder = abs(dividend) % abs(divisor)
    return -remainder if dividend < 0 else remainder


def _negate(value: Any) -> Any:
    if value is None:
        return 0
    if _is_integer(value) or isinstance(value, float | Decimal):
        return -value
    if isinstance(value, str):
        return -_to_double(value) if _is_floating(value) else -_to_long(value)
    raise _Failure(f"cannot negate {_describe(value)}")


def _comparable(a: Any, b: Any) -> tuple[Any, Any]:
    """Both operands coerced to the type an ordering compares them as."""
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return _to_decimal(a), _to_decimal(b)
    if isinstance(a, float) or isinstance(b, float):
        return _to_double(a), _to_double(b)
    if _is_integer(a) or _is_integer(b):
        return _to_long(a), _to_long(b)
    if isinstance(a, str) or isinstance(b, str):
        return _to_text(a), _to_text(b)
    if type(a) is type(b) and isinstance(a, _COMPARABLE_TYPES):
        return a, b
    raise _Failure(f"cannot compare {_describe(a)} with {_describe(b)}")


def _relation(compare: Callable[[Any, Any], Any], reflexive: bool) -> Callable[[Any, Any], bool]:
    def relation(a: Any, b: Any) -> bool:
        if a is b:
            return reflexive
        if a is None or b is None:
            return False
        if type(a) is type(b) and type(a) in _NATIVE_ORDER:
            return bool(compare(a, b))
        x, y = _comparable(a, b)
        return bool(compare(x, y))

    return relation


def _equal(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if a is None or b is None:
        return False
    if type(a) is type(b) and type(a) in _NATIVE_ORDER:
        return bool(a == b)
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return _to_decimal(a) == _to_decimal(b)
    if isinstance(a, float) or isinstance(b, float):
        return _to_double(a) == _to_double(b)
    if _is_integer(a) or _is_integer(b):
        return _to_long(a) == _to_long(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return _to_bool(a) == _to_bool(b)
    if isinstance(a, str) or isinstance(b, str):
        return _to_text(a) == _to_text(b)
    return bool(a == b)


def _not_equal(a: Any, b: Any) -> bool:
    return not _equal(a, b)


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, _SIZED_TYPES):
        return len(value) == 0
    return False


def _member(container: Any, key: Any) -> Any:
    """``container[key]`` under EL rules: maps by key, lists by int index, null when absent."""
    if isinstance(container, Mapping):
        try:
            return container.get(key)
        except TypeError:
            raise _Failure(f"{_describe(key)} cannot be a map key") from None
    if isinstance(container, list | tuple):
        index = _to_index(key)
        return container[index] if 0 <= index < len(container) else None
    raise _Failure(
        f"cannot read property {_describe(key)} of a {type(container).__name__} value: "
        "only maps and lists have properties"
    )


def _to_index(key: Any) -> int:
    if _is_integer(key):
        return int(key)
    if isinstance(key, float | Decimal) and math.isfinite(key):
        return int(key)  # Java's intValue() truncates
    if isinstance(key, str) and _LONG_TEXT.fullmatch(key):
        return int(key)
    raise _Failure(f"{_describe(key)} is not a list index")


def _double_text(value: float) -> str:
    """Java's ``Double.toString``: positional in [1e-3, 1e7), otherwise ``d.dddE±n``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0.0 or 1e-3 <= abs(value) < 1e7:
        return repr(value)  # Python's shortest repr is positional, with ".0", in this range
    sign, digit_tuple, exponent = Decimal(repr(value)).as_tuple()
    digits = "".join(map(str, digit_tuple))
    power = len(digits) + int(exponent) - 1
    digits = digits.rstrip("0")
    return f"{'-' if sign else ''}{digits[0]}.{digits[1:] or '0'}E{power}"


class _TextWriter:
    """Java's ``String.valueOf`` of a value, bounded in length and nesting."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self._length = 0

    def write(self, value: Any, depth: int = 0) -> None:
        if depth > MAX_DEPTH:
            raise _Failure(f"value nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, Mapping):
            self._emit("{")
            for i, (key, item) in enumerate(value.items()):
                self._emit(", " if i else "")
                self.write(key, depth + 1)
                self._emit("=")
                self.write(item, depth + 1)
            self._emit("}")
        elif isinstance(value, _SEQUENCE_TYPES):
            self._emit("[")
            for i, item in enumerate(value):
                self._emit(", " if i else "")
                self.write(item, depth + 1)
            self._emit("]")
        else:
            self._emit(_scalar_text(value))

    def _emit(self, text: str) -> None:
        self._length += len(text)
        if self._length > MAX_RESULT_LENGTH:
            raise _Failure(f"text longer than {MAX_RESULT_LENGTH} characters")
        self.parts.append(text)


def _scalar_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _double_text(value)
    if isinstance(value, int | Decimal):
        try:
            return str(value)  # Decimal's scientific form is BigDecimal.toString's
        except ValueError:  # an int beyond Python's int-to-text limit
            raise _Failure(f"cannot convert {_describe(value)} to a string") from None
    if isinstance(value, date | time):
        return value.isoformat()
    raise _Failure(f"cannot convert {_describe(value)} to a string")


def _to_text(value: Any) -> str:
    """Coerce to String: null is ``""``, everything else as Java would print it."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if not isinstance(value, _COLLECTION_TYPES):
        return _scalar_text(value)
    writer = _TextWriter()
    writer.write(value)
    return "".join(writer.parts)


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": _add,
    "-": _subtract,
    "*": _multiply,
    "/": _divide,
    "%": _modulo,
    "<": _relation(operator.lt, False),
    ">": _relation(operator.gt, False),
    "<=": _relation(operator.le, True),
    ">=": _relation(operator.ge, True),
    "==": _equal,
    "!=": _not_equal,
}


# --------------------------------------------------------------------------------------------
# Compiler: syntax tree to closures
# --------------------------------------------------------------------------------------------

_Evaluator: TypeAlias = Callable[[Mapping[str, Any]], Any]
_Failures = (_Failure, ArithmeticError)


class _Compiler:
    """Turns each node into a closure once, so evaluation does no dispatch on node types."""

    def __init__(self, source: str) -> None:
        self._source = source

    def fail(self, failure: Exception, pos: int) -> ExpressionError:
        if isinstance(failure, _Failure):
            message = str(failure)
        elif isinstance(failure, DecimalException):
            message = f"decimal arithmetic failed ({type(failure).__name__})"
        else:
            message = str(failure) or type(failure).__name__
        return ExpressionError(message, expression=self._source, position=pos)

    def template(self, parts: list[str | _Node]) -> _Evaluator:
        if not parts:
            return lambda variables: ""
        if len(parts) == 1:
            only = parts[0]
            if isinstance(only, str):
                return lambda variables: only
            return self.compile(only)
        compiled = [
            (part, 0) if isinstance(part, str) else (self.compile(part), part.pos) for part in parts
        ]
        fail = self.fail

        def template(variables: Mapping[str, Any]) -> str:
            pieces: list[str] = []
            length = 0
            for part, pos in compiled:
                if isinstance(part, str):
                    piece = part
                else:
                    try:
                        piece = _to_text(part(variables))
                    except _Failure as failure:
                        raise fail(failure, pos) from None
                length += len(piece)
                if length > MAX_RESULT_LENGTH:
                    raise fail(_Failure(f"text longer than {MAX_RESULT_LENGTH} characters"), pos)
                pieces.append(piece)
            return "".join(pieces)

        return template

    def compile(self, node: _Node) -> _Evaluator:
        if isinstance(node, _Literal):
            value = node.value
            return lambda variables: value
        if isinstance(node, _Identifier):
            return self._identifier(node)
        if isinstance(node, _ExecutionVariable):
            return self._execution_variable(node)
        if isinstance(node, _Path):
            return self._path(node)
        if isinstance(node, _Unary):
            return self._unary(node)
        if isinstance(node, _Chain):
            if node.level in (_AND, _OR):
                return self._logic(node)
            return self._chain(node)
        return self._choice(node)

    def _identifier(self, node: _Identifier) -> _Evaluator:
        name, pos, source = node.name, node.pos, self._source

        def identifier(variables: Mapping[str, Any]) -> Any:
            try:
                return variables[name]
            except KeyError:
                raise ExpressionError(
                    f"Cannot resolve identifier '{name}'", expression=source, position=pos
                ) from None

        return identifier

    def _execution_variable(self, node: _ExecutionVariable) -> _Evaluator:
        argument, pos, fail = self.compile(node.name), node.pos, self.fail

        def execution_variable(variables: Mapping[str, Any]) -> Any:
            name = argument(variables)
            if not isinstance(name, str):
                message = f"execution.getVariable needs a variable name, not {_describe(name)}"
                raise fail(_Failure(message), pos)
            return variables.get(name)

        return execution_variable

    def _path(self, node: _Path) -> _Evaluator:
        base, fail = self.compile(node.base), self.fail
        # Names and literal indexes are resolved now; only computed indexes run per evaluation.
        steps: list[tuple[Any, _Evaluator | None, int]] = []
        for step in node.steps:
            if isinstance(step.key, str):
                steps.append((step.key, None, step.pos))
            elif isinstance(step.key, _Literal):
                steps.append((step.key.value, None, step.pos))
            else:
                steps.append((None, self.compile(step.key), step.pos))

        def path(variables: Mapping[str, Any]) -> Any:
            value = base(variables)
            for constant, index, pos in steps:
                if value is None:
                    return None
                key = constant if index is None else index(variables)
                if key is None:
                    return None
                if type(value) is dict:
                    # The common case, a.b.c over plain dicts, without the general rules.
                    try:
                        value = value.get(key)
                        continue
                    except TypeError:
                        pass
                try:
                    value = _member(value, key)
                except _Failure as failure:
                    raise fail(failure, pos) from None
            return value

        return path

    def _unary(self, node: _Unary) -> _Evaluator:
        operand, pos, fail = self.compile(node.operand), node.pos, self.fail
        if node.operator == "empty":
            return lambda variables: _is_empty(operand(variables))
        convert: Callable[[Any], Any] = _negate if node.operator == "-" else _to_bool
        negate = node.operator == "!"

        def unary(variables: Mapping[str, Any]) -> Any:
            try:
                result = convert(operand(variables))
            except _Failures as failure:
                raise fail(failure, pos) from None
            return not result if negate else result

        return unary

    def _chain(self, node: _Chain) -> _Evaluator:
        first, fail = self.compile(node.first), self.fail
        rest = [(_BINARY[op], pos, self.compile(operand)) for op, pos, operand in node.rest]
        if len(rest) == 1:
            # A single operator, as in nearly every gateway condition: no loop.
            ((apply, pos, second),) = rest

            def binary(variables: Mapping[str, Any]) -> Any:
                a, b = first(variables), second(variables)
                try:
                    return apply(a, b)
                except _Failures as failure:
                    raise fail(failure, pos) from None

            return binary

        def chain(variables: Mapping[str, Any]) -> Any:
            result = first(variables)
            for apply, pos, operand in rest:
                b = operand(variables)
                try:
                    result = apply(result, b)
                except _Failures as failure:
                    raise fail(failure, pos) from None
            return result

        return chain

    def _logic(self, node: _Chain) -> _Evaluator:
        """``&&`` / ``||`` chains: short-circuit, every operand coerced to Boolean."""
        operands = [(self.compile(node.first), node.first.pos)]
        operands += [(self.compile(operand), operand.pos) for _, _, operand in node.rest]
        stop_on = node.level == _OR  # || stops at the first true operand, && at the first false
        fail = self.fail

        def logic(variables: Mapping[str, Any]) -> bool:
            for operand, pos in operands:
                value = operand(variables)
                try:
                    if _to_bool(value) is stop_on:
                        return stop_on
                except _Failure as failure:
                    raise fail(failure, pos) from None
            return not stop_on

        return logic

    def _choice(self, node: _Choice) -> _Evaluator:
        condition, pos, fail = self.compile(node.condition), node.condition.pos, self.fail
        when_true, when_false = self.compile(node.when_true), self.compile(node.when_false)

        def choice(variables: Mapping[str, Any]) -> Any:
            try:
                chosen = _to_bool(condition(variables))
            except _Failure as failure:
                raise fail(failure, pos) from None
            return when_true(variables) if chosen else when_false(variables)

        return choice


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------

_NO_VARIABLES: Mapping[str, Any] = {}


class JuelExpression:
    """A JUEL expression or template compiled once; ``evaluate`` it as often as needed."""

    __slots__ = ("_evaluator", "_source")

    def __init__(self, source: str, evaluator: _Evaluator) -> None:
        self._source = source
        self._evaluator = evaluator

    @property
    def source(self) -> str:
        """The expression text as given."""
        return self._source

    def evaluate(self, variables: Mapping[str, Any] | None = None) -> Any:
        """Evaluate against ``variables``; raises ``ExpressionError`` on any failure."""
        try:
            return self._evaluator(_NO_VARIABLES if variables is None else variables)
        except RecursionError:
            # Trees are at most MAX_DEPTH deep; this only trips when the caller's own stack is
            # already nearly exhausted, and must still surface as an expression failure.
            raise ExpressionError(
                "expression too deeply nested to evaluate", expression=self._source
            ) from None

    def __repr__(self) -> str:
        return f"JuelExpression({self._source!r})"


def compile_juel(expression: str) -> JuelExpression:
    """Parse a JUEL expression or template once; raises ``ExpressionError`` if it is invalid."""
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            f"expression longer than {MAX_EXPRESSION_LENGTH} characters",
            expression=_excerpt(expression),
        )
    try:
        parts = _Parser(expression).parse()
        evaluator = _Compiler(expression).template(parts)
    except RecursionError:
        # As in evaluate: only reachable when the caller's stack is nearly exhausted.
        raise ExpressionError("expression too deeply nested", expression=expression) from None
    return JuelExpression(expression, evaluator)


@lru_cache(maxsize=1024)
def _compile_cached(expression: str) -> JuelExpression:
    return compile_juel(expression)


def evaluate_juel(expression: str, variables: Mapping[str, Any] | None = None) -> Any:
    """Compile (cached) and evaluate ``expression`` against ``variables`` in one call."""
    return _compile_cached(expression).evaluate(variables)
