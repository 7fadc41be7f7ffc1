"""Parse FEEL text into an immutable syntax tree.

Precedence, loosest first: ``or``; ``and``; comparisons (``= != < <= > >=``, ``between``,
``in``, ``instance of``); ``+ -``; ``* /``; ``**``; unary ``-``; postfix ``.name``, ``[filter]``
and ``(arguments)``. ``if``, ``for``, ``some``/``every`` and ``function`` extend as far right as
they can.

Names may have spaces (DMN 1.3+ section 10.3.1.2): words that follow a name with nothing
between them belong to it, so ``first name`` is one name and ``order.total price`` a path step
``total price``, until a keyword (``and``, ``in``, ``then`` ...) or an operator. A name with a
keyword among its words (``shipping and handling``) is read as one only where it is known: a
name the caller declares, a key of an enclosing context literal given earlier, or a key of the
literal context a path step reads (the longest known name wins, as the spec resolves names
against those in scope). Backticks quote any name (`` `shipping and handling` ``, Camunda 8).

The parser recurses through few frames per nesting level and counts nesting itself, so deep
input ends in ``ExpressionError`` long before Python's recursion limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, DecimalException
from typing import Any

from midflight.errors import ExpressionError
from midflight.expr.base import MAX_DEPTH
from midflight.expr.feel._lexer import Token, tokenize
from midflight.expr.feel._temporal import parse_temporal_literal
from midflight.expr.feel._values import CONTEXT

__all__ = [
    "Arithmetic",
    "Between",
    "Comparison",
    "ContextNode",
    "Filter",
    "For",
    "FunctionDef",
    "If",
    "InNode",
    "InstanceOf",
    "Invocation",
    "Iteration",
    "ListNode",
    "Literal",
    "Logical",
    "Name",
    "Negation",
    "Node",
    "Path",
    "Quantified",
    "RangeNode",
    "TypeSpec",
    "UnaryComparison",
    "UnaryExpression",
    "UnaryTests",
    "keyword_names",
    "parse_expression",
    "parse_unary_tests",
]


@dataclass(frozen=True, slots=True)
class Node:
    """A syntax tree node; ``pos`` is its 0-based offset in the source."""

    pos: int


@dataclass(frozen=True, slots=True)
class Literal(Node):
    value: Any


@dataclass(frozen=True, slots=True)
class Name(Node):
    name: str


@dataclass(frozen=True, slots=True)
class ListNode(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class ContextNode(Node):
    entries: tuple[tuple[str, Node], ...]


@dataclass(frozen=True, slots=True)
class RangeNode(Node):
    start: Node
    end: Node
    start_included: bool
    end_included: bool


@dataclass(frozen=True, slots=True)
class Negation(Node):
    operand: Node


@dataclass(frozen=True, slots=True)
class Arithmetic(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Comparison(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Logical(Node):
    op: str  # "and" | "or"
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Between(Node):
    value: Node
    low: Node
    high: Node


@dataclass(frozen=True, slots=True)
class UnaryComparison(Node):
    """``< 5`` in a unary test: compares the input value with ``operand``."""

    op: str
    operand: Node


@dataclass(frozen=True, slots=True)
class UnaryExpression(Node):
    """A unary test that is an expression: a range, a list, a value to equal, or uses ``?``."""

    expression: Node


@dataclass(frozen=True, slots=True)
class UnaryTests(Node):
    """A DMN input entry: ``-`` (anything), tests joined by commas, or ``not(...)`` of them."""

    tests: tuple[UnaryComparison | UnaryExpression, ...]
    negated: bool = False
    any: bool = False


@dataclass(frozen=True, slots=True)
class InNode(Node):
    value: Node
    tests: tuple[UnaryComparison | UnaryExpression, ...]


@dataclass(frozen=True, slots=True)
class TypeSpec:
    """A FEEL type: ``number``, ``list<string>``, ``context<a: number>``, ..."""

    name: str
    args: tuple[TypeSpec, ...] = ()
    fields: tuple[tuple[str, TypeSpec], ...] = ()


@dataclass(frozen=True, slots=True)
class InstanceOf(Node):
    value: Node
    type: TypeSpec


@dataclass(frozen=True, slots=True)
class If(Node):
    condition: Node
    then: Node
    otherwise: Node


@dataclass(frozen=True, slots=True)
class Iteration:
    """``name in source`` or ``name in source..end`` of a ``for``/``some``/``every``."""

    name: str
    source: Node
    end: Node | None


@dataclass(frozen=True, slots=True)
class For(Node):
    iterations: tuple[Iteration, ...]
    body: Node


@dataclass(frozen=True, slots=True)
class Quantified(Node):
    every: bool
    iterations: tuple[Iteration, ...]
    condition: Node


@dataclass(frozen=True, slots=True)
class Filter(Node):
    target: Node
    condition: Node


@dataclass(frozen=True, slots=True)
class Path(Node):
    target: Node
    name: str


@dataclass(frozen=True, slots=True)
class Invocation(Node):
    """A call; ``names`` is None for positional arguments, else the parameter of each."""

    callee: Node
    args: tuple[Node, ...]
    names: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class FunctionDef(Node):
    params: tuple[str, ...]
    body: Node


_KEYWORDS = (
    "if then else for in return some every satisfies and or between instance of function "
    "true false null"
)
_RESERVED = frozenset(_KEYWORDS.split())
_COMPARISONS = frozenset({"=", "!=", "<", "<=", ">", ">="})
_ADDITIVE = 4
_PRECEDENCE: dict[tuple[str, str], int] = {
    ("name", "or"): 1,
    ("name", "and"): 2,
    **{("op", op): 3 for op in _COMPARISONS},
    ("name", "between"): 3,
    ("name", "in"): 3,
    ("name", "instance"): 3,
    ("op", "+"): _ADDITIVE,
    ("op", "-"): _ADDITIVE,
    ("op", "*"): 5,
    ("op", "/"): 5,
    ("op", "**"): 6,
}
_TYPE_NAMES = frozenset(
    {
        "Any",
        "Null",
        "number",
        "string",
        "boolean",
        "date",
        "time",
        "date and time",
        "days and time duration",
        "years and months duration",
        "list",
        "context",
        "range",
        "function",
    }
)


def _phrases(names: Iterable[str]) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Multi-word names by their first word, longest first."""
    table: dict[str, list[tuple[str, ...]]] = {}
    for name in names:
        words = tuple(name.split())
        if len(words) > 1:
            table.setdefault(words[0], []).append(words)
    return {k: tuple(sorted(v, key=len, reverse=True)) for k, v in table.items()}


_TYPE_PHRASES = _phrases(_TYPE_NAMES)


def keyword_names(names: Iterable[str]) -> tuple[str, ...]:
    """The names among ``names`` the parser reads as one name only when told: those of several
    words with a keyword among them (``shipping and handling``), sorted. Other names with
    spaces (``first name``) are read without help."""
    return tuple(
        sorted(
            name
            for name in names
            if isinstance(name, str) and " " in name and not _RESERVED.isdisjoint(name.split())
        )
    )


@dataclass(frozen=True, slots=True)
class _KnownName:
    """A multi-word name the parser was told of or saw as a context key, word by word."""

    words: tuple[str, ...]
    name: str

    @staticmethod
    def of(name: str) -> _KnownName | None:
        words = tuple(name.split())
        return _KnownName(words, name) if len(words) > 1 else None


class _Parser:
    def __init__(
        self,
        source: str,
        functions: Iterable[str],
        parameters: Iterable[str],
        names: Iterable[str] = (),
    ):
        self.source = source
        self.tokens = tokenize(source)
        self.i = 0
        self.depth = 0
        self.function_phrases = _phrases(functions)
        self.parameter_phrases = _phrases(parameters)
        # multi-word names known here: the caller's, then context keys of enclosing literals
        self.known: list[_KnownName] = [k for k in map(_KnownName.of, names) if k is not None]
        self.nested: dict[tuple[str, str], Callable[[], Node]] = {
            ("op", "["): self.bracket,
            ("op", "{"): self.context,
            ("name", "if"): self.if_expression,
            ("name", "for"): self.for_expression,
            ("name", "some"): self.quantified,
            ("name", "every"): self.quantified,
            ("name", "function"): self.function_definition,
        }

    # -- token helpers -------------------------------------------------------------------------

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != "eof":
            self.i += 1
        return tok

    def at_op(self, value: str) -> bool:
        tok = self.tokens[self.i]
        return tok.kind == "op" and tok.value == value

    def at_word(self, value: str) -> bool:
        tok = self.tokens[self.i]
        return tok.kind == "name" and tok.value == value

    def error(self, message: str, pos: int | None = None) -> ExpressionError:
        where = self.tok.pos if pos is None else pos
        return ExpressionError(message, expression=self.source, position=where)

    def unexpected(self, wanted: str) -> ExpressionError:
        tok = self.tok
        found = "end of expression" if tok.kind == "eof" else repr(tok.value)
        return self.error(f"expected {wanted} but found {found}")

    def expect_op(self, value: str) -> Token:
        if not self.at_op(value):
            raise self.unexpected(repr(value))
        return self.advance()

    def expect_word(self, value: str) -> Token:
        if not self.at_word(value):
            raise self.unexpected(repr(value))
        return self.advance()

    def expect_eof(self) -> None:
        if self.tok.kind != "eof":
            raise self.unexpected("end of expression")

    def match_phrase(
        self, table: dict[str, tuple[tuple[str, ...], ...]], follow: str | None
    ) -> int:
        """How many words of a multi-word name from ``table`` start here, followed by op
        ``follow`` (None: by anything); 0 when none does."""
        first = self.tok
        for words in table.get(first.value, ()) if first.kind == "name" else ():
            n = len(words)
            if all(
                self.peek(k).kind == "name" and self.peek(k).value == words[k] for k in range(n)
            ):
                after = self.peek(n)
                if follow is None or (after.kind == "op" and after.value == follow):
                    return n
        return 0

    def phrase(self, table: dict[str, tuple[tuple[str, ...], ...]], follow: str | None) -> str:
        """Consume the multi-word name :meth:`match_phrase` finds; "" when there is none."""
        n = self.match_phrase(table, follow)
        words = [tok.value for tok in self.tokens[self.i : self.i + n]]
        self.i += n
        return " ".join(words)

    def plain_name(self, what: str) -> Token:
        tok = self.tok
        if tok.kind == "qname":
            return self.advance()
        if tok.kind != "name" or tok.value in _RESERVED:
            raise self.unexpected(what)
        return self.advance()

    def words_ahead(self) -> int:
        """How many name tokens from here on form one name by themselves: this one and the
        words after it that are not keywords."""
        n = 1
        while (ahead := self.peek(n)).kind == "name" and ahead.value not in _RESERVED:
            n += 1
        return n

    def known_ahead(self, extra: Sequence[_KnownName] = ()) -> _KnownName | None:
        """The longest known multi-word name (keywords allowed) starting here, if any."""
        best: _KnownName | None = None
        for known in (*self.known, *extra):
            n = len(known.words)
            if (best is None or n > len(best.words)) and all(
                self.peek(k).kind == "name" and self.peek(k).value == known.words[k]
                for k in range(n)
            ):
                best = known
        return best

    def spaced_name(self, extra: Sequence[_KnownName] = ()) -> str:
        """Consume a name that may have spaces, starting at a name token: the longer of the
        known name found here and the words that are no keywords (DMN's longest match)."""
        n = self.words_ahead()
        known = self.known_ahead(extra) if self.known or extra else None
        if known is not None and len(known.words) >= n:
            self.i += len(known.words)
            return known.name
        words = [tok.value for tok in self.tokens[self.i : self.i + n]]
        self.i += n
        return " ".join(words)

    # -- expressions ---------------------------------------------------------------------------

    def binary(self, min_prec: int, allow_filter: bool = True) -> Node:
        """Operators of precedence >= ``min_prec``; ``min_prec`` 0 starts a nested expression."""
        if min_prec == 0:
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.error(f"expression nests too deeply (limit {MAX_DEPTH} levels)")
        left = self.operand(allow_filter)
        while True:
            tok = self.tok
            prec = _PRECEDENCE.get((tok.kind, tok.value))
            if prec is None or prec < min_prec:
                break
            self.advance()
            if tok.value == "between":
                low = self.binary(_ADDITIVE, allow_filter)
                self.expect_word("and")
                high = self.binary(_ADDITIVE, allow_filter)
                left = Between(tok.pos, left, low, high)
            elif tok.value == "in":
                left = InNode(tok.pos, left, self.in_tests())
            elif tok.value == "instance":
                self.expect_word("of")
                left = InstanceOf(tok.pos, left, self.type_spec())
            else:
                right = self.binary(prec + 1, allow_filter)
                if prec == 1 or prec == 2:
                    left = Logical(tok.pos, tok.value, left, right)
                elif prec == 3:
                    left = Comparison(tok.pos, tok.value, left, right)
                else:
                    left = Arithmetic(tok.pos, tok.value, left, right)
        if min_prec == 0:
            self.depth -= 1
        return left

    def expression(self) -> Node:
        return self.binary(0)

    def operand(self, allow_filter: bool) -> Node:
        """Unary minus, a primary and its postfix steps (paths, filters, calls)."""
        start = self.tok.pos
        negations = 0
        while self.at_op("-"):
            self.advance()
            negations += 1
        tok = self.tok
        if tok.kind == "op" and tok.value == "(":
            # inline, not a method: parentheses are the usual way to nest deeply
            self.advance()
            inner = self.binary(0)
            node = self.range_rest(inner, False, tok.pos) if self.at_op("..") else inner
            if node is inner:
                self.expect_op(")")
        else:
            # constructs that nest are called from here directly: fewer frames per level
            nested = self.nested.get((tok.kind, tok.value))
            node = nested() if nested is not None else self.primary()
        node = self.postfix(node, allow_filter)
        for _ in range(negations):
            if isinstance(node, Literal) and type(node.value) is Decimal:
                node = Literal(start, CONTEXT.minus(node.value))
            else:
                node = Negation(start, node)
        return node

    def primary(self) -> Node:
        tok = self.tok
        if tok.kind == "number":
            self.advance()
            try:
                return Literal(tok.pos, CONTEXT.create_decimal(tok.value))
            except DecimalException:
                raise self.error("number too large", tok.pos) from None
        if tok.kind == "string":
            self.advance()
            return Literal(tok.pos, tok.value)
        if tok.kind == "name":
            return self.name_primary(tok)
        if tok.kind == "qname":
            self.advance()
            return Name(tok.pos, tok.value)
        if tok.kind == "op":
            if tok.value == "]":
                self.advance()
                start = self.binary(_ADDITIVE)
                if not self.at_op(".."):
                    raise self.unexpected("'..'")
                return self.range_rest(start, False, tok.pos)
            if tok.value == "@":
                return self.temporal_literal()
        raise self.unexpected("an expression")

    def name_primary(self, tok: Token) -> Node:
        word = tok.value
        if word in ("true", "false", "null"):
            self.advance()
            return Literal(tok.pos, None if word == "null" else word == "true")
        phrase = self.phrase(self.function_phrases, "(")
        if phrase:
            return Name(tok.pos, phrase)
        if word in _RESERVED:
            raise self.unexpected("an expression")
        return Name(tok.pos, self.spaced_name())

    def postfix(self, node: Node, allow_filter: bool) -> Node:
        while True:
            tok = self.tok
            if tok.kind != "op":
                return node
            if tok.value == ".":
                self.advance()
                step = self.tok
                if step.kind == "qname":
                    name = self.advance().value
                elif step.kind == "name":
                    # a literal context's own keys are known names of its path steps
                    keys = (
                        [k for k in (_KnownName.of(key) for key, _ in node.entries) if k]
                        if isinstance(node, ContextNode)
                        else []
                    )
                    name = self.spaced_name(keys)
                else:
                    raise self.unexpected("a name")
                node = Path(tok.pos, node, name)
            elif tok.value == "[" and allow_filter:
                self.advance()
                condition = self.binary(0)
                self.expect_op("]")
                node = Filter(tok.pos, node, condition)
            elif tok.value == "(":
                node = self.invocation(node)
            else:
                return node

    def invocation(self, callee: Node) -> Node:
        start = self.expect_op("(").pos
        args: list[Node] = []
        names: list[str] | None = None
        if not self.at_op(")"):
            if self.tok.kind == "name" and (
                (self.peek().kind == "op" and self.peek().value == ":")
                or self.match_phrase(self.parameter_phrases, ":")
            ):
                names = []
            while True:
                if names is not None:
                    names.append(self.parameter_name(names))
                args.append(self.binary(0))
                if not self.at_op(","):
                    break
                self.advance()
        self.expect_op(")")
        return Invocation(start, callee, tuple(args), None if names is None else tuple(names))

    def parameter_name(self, seen: list[str]) -> str:
        tok = self.tok
        name = self.phrase(self.parameter_phrases, ":") or self.plain_name("a parameter").value
        if name in seen:
            raise self.error(f"parameter {name!r} given twice", tok.pos)
        self.expect_op(":")
        return name

    def bracket(self) -> Node:
        start = self.expect_op("[").pos
        if self.at_op("]"):
            self.advance()
            return ListNode(start, ())
        first = self.binary(0)
        if self.at_op(".."):
            return self.range_rest(first, True, start)
        items = [first]
        while self.at_op(","):
            self.advance()
            items.append(self.binary(0))
        self.expect_op("]")
        return ListNode(start, tuple(items))

    def range_rest(self, start: Node, start_included: bool, pos: int) -> Node:
        """After the start of a range, from ``..`` to the closing bracket."""
        self.expect_op("..")
        if self.tok.kind == "op" and self.tok.value in ("]", ")"):
            raise self.unexpected("an expression")  # not the start of another range
        end = self.binary(_ADDITIVE, allow_filter=False)  # ``[1..10[``: "[" closes, not filters
        tok = self.tok
        if tok.kind != "op" or tok.value not in ("]", ")", "["):
            raise self.unexpected("']', ')' or '['")
        self.advance()
        return RangeNode(pos, start, end, start_included, tok.value == "]")

    def context(self) -> Node:
        start = self.expect_op("{").pos
        entries: list[tuple[str, Node]] = []
        seen: set[str] = set()
        known_before = len(self.known)
        if not self.at_op("}"):
            while True:
                key_tok = self.tok
                if key_tok.kind in ("string", "qname"):
                    key = self.advance().value
                elif key_tok.kind == "name":
                    words = []  # a key may have spaces: {first name: "Ann"}
                    while self.tok.kind == "name":
                        words.append(self.advance().value)
                    key = " ".join(words)
                else:
                    raise self.unexpected("a context key")
                if key in seen:
                    raise self.error(f"duplicate context key {key!r}", key_tok.pos)
                seen.add(key)
                self.expect_op(":")
                entries.append((key, self.binary(0)))
                known = _KnownName.of(key)
                if known is not None:  # later entries see this one: its name is in scope
                    self.known.append(known)
                if not self.at_op(","):
                    break
                self.advance()
        del self.known[known_before:]
        self.expect_op("}")
        return ContextNode(start, tuple(entries))

    def temporal_literal(self) -> Node:
        start = self.expect_op("@").pos
        tok = self.tok
        if tok.kind != "string":
            raise self.unexpected("a string after '@'")
        self.advance()
        value = parse_temporal_literal(tok.value)
        if value is None:
            raise self.error(f"invalid date, time or duration {tok.value!r}", tok.pos)
        return Literal(start, value)

    def if_expression(self) -> Node:
        start = self.expect_word("if").pos
        condition = self.binary(0)
        self.expect_word("then")
        then = self.binary(0)
        self.expect_word("else")
        return If(start, condition, then, self.binary(0))

    def iterations(self) -> tuple[Iteration, ...]:
        found: list[Iteration] = []
        while True:
            name = self.plain_name("a variable name").value
            self.expect_word("in")
            source = self.binary(0)
            end = None
            if self.at_op(".."):
                self.advance()
                end = self.binary(0)
            found.append(Iteration(name, source, end))
            if not self.at_op(","):
                return tuple(found)
            self.advance()

    def for_expression(self) -> Node:
        start = self.expect_word("for").pos
        iterations = self.iterations()
        self.expect_word("return")
        return For(start, iterations, self.binary(0))

    def quantified(self) -> Node:
        tok = self.advance()
        iterations = self.iterations()
        self.expect_word("satisfies")
        return Quantified(tok.pos, tok.value == "every", iterations, self.binary(0))

    def function_definition(self) -> Node:
        start = self.expect_word("function").pos
        self.expect_op("(")
        params: list[str] = []
        if not self.at_op(")"):
            while True:
                tok = self.plain_name("a parameter name")
                if tok.value in params:
                    raise self.error(f"parameter {tok.value!r} declared twice", tok.pos)
                params.append(tok.value)
                if not self.at_op(","):
                    break
                self.advance()
        self.expect_op(")")
        if self.at_word("external"):
            raise self.error("external functions are not supported")
        return FunctionDef(start, tuple(params), self.binary(0))

    def type_spec(self) -> TypeSpec:
        tok = self.tok
        name = self.phrase(_TYPE_PHRASES, None)
        if not name:
            if tok.kind != "name":
                raise self.unexpected("a type name")
            name = self.advance().value
        if name not in _TYPE_NAMES:
            raise self.error(f"unknown type {name!r}", tok.pos)
        if not self.at_op("<") or name not in ("list", "range", "context", "function"):
            return TypeSpec(name)
        self.advance()
        args: list[TypeSpec] = []
        fields: list[tuple[str, TypeSpec]] = []
        while True:
            if name == "context":
                key = self.plain_name("a context key").value
                self.expect_op(":")
                fields.append((key, self.type_spec()))
            else:
                args.append(self.type_spec())
            if not self.at_op(","):
                break
            self.advance()
        self.expect_op(">")
        if name == "function":  # function<number> -> string: the result type follows
            self.expect_op("-")
            self.expect_op(">")
            args.append(self.type_spec())
        return TypeSpec(name, tuple(args), tuple(fields))

    # -- unary tests -----------------------------------------------------------------------------

    def in_tests(self) -> tuple[UnaryComparison | UnaryExpression, ...]:
        """The right side of ``in``: one test, or ``(test, test, ...)``."""
        if not self.at_op("("):
            return (self.positive_test(full=False),)
        start = self.advance().pos
        first = self.positive_test(full=True)
        if isinstance(first, UnaryExpression) and self.at_op(".."):
            # ``x in (1..5)``: the parenthesis opened a range
            return (UnaryExpression(start, self.range_rest(first.expression, False, start)),)
        tests = [first]
        while self.at_op(","):
            self.advance()
            tests.append(self.positive_test(full=True))
        self.expect_op(")")
        return tuple(tests)

    def positive_test(self, *, full: bool) -> UnaryComparison | UnaryExpression:
        tok = self.tok
        if tok.kind == "op" and tok.value in _COMPARISONS:
            self.advance()
            return UnaryComparison(tok.pos, tok.value, self.binary(_ADDITIVE))
        return UnaryExpression(tok.pos, self.binary(0) if full else self.binary(_ADDITIVE))

    def unary_tests(self) -> UnaryTests:
        start = self.tok.pos
        if self.at_op("-") and self.peek().kind == "eof":
            return UnaryTests(start, (), any=True)
        negated = self.at_word("not") and self.peek().value == "("
        if negated:
            self.advance()
            self.advance()
        tests = [self.positive_test(full=True)]
        while self.at_op(","):
            self.advance()
            tests.append(self.positive_test(full=True))
        if negated:
            self.expect_op(")")
        self.expect_eof()
        return UnaryTests(start, tuple(tests), negated=negated)


def parse_expression(
    source: str, functions: Iterable[str], parameters: Iterable[str], names: Iterable[str] = ()
) -> Node:
    """Parse a FEEL expression; ``functions``/``parameters`` list names that may contain spaces,
    ``names`` the variables known to be in scope (those with keywords among their words need
    it)."""
    parser = _Parser(source, functions, parameters, names)
    try:
        node = parser.expression()
    except RecursionError:  # a deep call stack left less room than MAX_DEPTH levels need
        raise parser.error("expression nests too deeply") from None
    parser.expect_eof()
    return node


def parse_unary_tests(
    source: str, functions: Iterable[str], parameters: Iterable[str], names: Iterable[str] = ()
) -> UnaryTests:
    """Parse DMN unary tests (a decision table input entry)."""
    parser = _Parser(source, functions, parameters, names)
    try:
        return parser.unary_tests()
    except RecursionError:
        raise parser.error("expression nests too deeply") from None
