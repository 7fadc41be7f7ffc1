"""Compile a FEEL syntax tree into nested Python closures.

Each node becomes one closure taking the current :class:`Scope`; evaluating ``x > 5`` is two
closure calls and a ``Decimal`` comparison, with no tree walk or type dispatch per node.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from midflight.errors import ExpressionError
from midflight.expr.base import MAX_DEPTH, MAX_EXPRESSION_LENGTH, MAX_RESULT_LENGTH
from midflight.expr.feel._builtins import BUILTINS, PARAMETER_NAMES, Builtin
from midflight.expr.feel._operators import add, divide, multiply, negate, power, subtract
from midflight.expr.feel._parser import (
    Arithmetic,
    Between,
    Comparison,
    ContextNode,
    Filter,
    For,
    FunctionDef,
    If,
    InNode,
    InstanceOf,
    Invocation,
    Iteration,
    ListNode,
    Literal,
    Logical,
    Name,
    Negation,
    Node,
    Path,
    Quantified,
    RangeNode,
    TypeSpec,
    UnaryComparison,
    UnaryExpression,
    UnaryTests,
    parse_expression,
    parse_unary_tests,
)
from midflight.expr.feel._temporal import property_of
from midflight.expr.feel._values import (
    CONTEXT,
    FeelFunction,
    Range,
    State,
    check_length,
    compare,
    feel_eq,
    kind,
    to_feel,
    to_int,
)

__all__ = ["FeelExpression", "Scope", "UnaryTestsExpression", "compile_expression", "compile_tests"]


class Scope:
    """Names visible at one point of an evaluation; the root holds the caller's variables."""

    __slots__ = ("parent", "raw", "state", "vars")

    def __init__(
        self, vars: Mapping[str, Any], parent: Scope | None, state: State, raw: bool = False
    ) -> None:
        self.vars = vars
        self.parent = parent
        self.state = state
        self.raw = raw  # values are the caller's Python values, converted when read


Closure = Callable[[Scope], Any]
Test = Callable[[Scope, Any], "bool | None"]
_MISSING = object()


def _lookup(scope: Scope, name: str) -> tuple[Any, bool]:
    """The value bound to ``name`` and whether it is an unconverted caller value.

    Unbound names are null (FEEL), except the built-in functions, which are values too.
    """
    current: Scope | None = scope
    while current is not None:
        value = current.vars.get(name, _MISSING)
        if value is not _MISSING:
            return value, current.raw
        current = current.parent
    return BUILTINS.get(name), False


def _path(value: Any, name: str) -> Any:
    """``value.name``: a context entry, the same on each list element, or a fixed property."""
    t = type(value)
    if t is dict:
        return value.get(name)
    if t is list:
        return [_path(item, name) for item in value]
    if t is Range:
        read = _RANGE_PROPERTIES.get(name)
        return None if read is None else read(value)
    return property_of(value, name)


_RANGE_PROPERTIES: dict[str, Callable[[Range], Any]] = {
    "start": lambda r: r.start,
    "end": lambda r: r.end,
    "start included": lambda r: r.start_included,
    "end included": lambda r: r.end_included,
}


class _Lambda(FeelFunction):
    """``function(a, b) body``: closes over the scope it was created in."""

    __slots__ = ("body", "params", "scope")

    def __init__(self, params: tuple[str, ...], body: Closure, scope: Scope) -> None:
        self.params = params
        self.body = body
        self.scope = scope

    @property
    def name(self) -> str:
        return f"({', '.join(self.params)})"

    def call(self, state: State, args: Sequence[Any]) -> Any:
        if len(args) != len(self.params):
            return None
        return self._run(state, dict(zip(self.params, args, strict=True)))

    def call_named(self, state: State, args: Mapping[str, Any]) -> Any:
        if not set(args) <= set(self.params):
            return None
        return self._run(state, {p: args.get(p) for p in self.params})

    def _run(self, state: State, bindings: dict[str, Any]) -> Any:
        state.step()
        state.depth += 1
        try:
            if state.depth > MAX_DEPTH:
                raise ExpressionError(f"function calls nest deeper than {MAX_DEPTH} levels")
            return self.body(Scope(bindings, self.scope, state))
        finally:
            state.depth -= 1


def _walk(node: Any) -> Iterator[Any]:
    """Every node below ``node`` (iteratively: trees may be deep)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, (Node, Iteration, TypeSpec)):
            stack.extend(getattr(current, f.name) for f in dataclasses.fields(current))
        elif isinstance(current, tuple):
            stack.extend(current)


def _uses_input(node: Node) -> bool:
    return any(isinstance(n, Name) and n.name == "?" for n in _walk(node))


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_DIRECT: dict[str, Callable[[Any, Any], bool]] = {**_ORDER, "=": operator.eq, "!=": operator.ne}
_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": add,
    "-": subtract,
    "*": multiply,
    "/": divide,
    "**": power,
}
_BOOLEAN_NODES = (Comparison, Logical, Between, InNode, InstanceOf, Quantified)


def _compare_op(op: str, a: Any, b: Any) -> bool | None:
    """``a op b`` for the six comparison operators, with FEEL's null for the incomparable."""
    if op == "=":
        return feel_eq(a, b)
    if op == "!=":
        same = feel_eq(a, b)
        return None if same is None else not same
    order = compare(a, b)
    return None if order is None else _ORDER[op](order, 0)


def _and(values: Iterable[Any]) -> bool | None:
    result: bool | None = True
    for value in values:
        if value is False:
            return False
        if value is not True:
            result = None
    return result


def _matches(value: Any, expected: Any) -> bool | None:
    """``value in expected`` for a unary test without ``?``: range, list or equality."""
    if type(expected) is Range:
        return expected.contains(value)
    if type(expected) is list:
        if any(_matches(value, item) is True for item in expected):
            return True
        return feel_eq(value, expected) is True
    return feel_eq(value, expected)


def _any_of(results: Iterable[bool | None]) -> bool | None:
    """Tests joined by commas: true if one is, false if all are false, else null."""
    result: bool | None = False
    for outcome in results:
        if outcome is True:
            return True
        if outcome is None:
            result = None
    return result


def _integer_bounds(start: Any, end: Any) -> range | None:
    """The integers of ``start..end`` (descending when ``end < start``), refused when huge."""
    if type(start) is not Decimal or type(end) is not Decimal:
        return None
    if start != start.to_integral_value() or end != end.to_integral_value():
        return None
    if CONTEXT.abs(CONTEXT.subtract(end, start)) >= MAX_RESULT_LENGTH:
        raise ExpressionError(f"range {start}..{end} has more than {MAX_RESULT_LENGTH} items")
    low, high = int(start), int(end)
    return range(low, high + 1) if low <= high else range(low, high - 1, -1)


def _range_items(value: Range) -> range | None:
    numbers = _integer_bounds(value.start, value.end)
    if numbers is None or numbers.step < 0:
        return None
    first = numbers.start + (0 if value.start_included else 1)
    last = numbers.stop - (0 if value.end_included else 1)
    return range(first, last)


def _type_check(spec: TypeSpec) -> Callable[[Any], bool]:
    name = spec.name
    if name == "Any":
        return lambda v: v is not None
    if name == "list" and spec.args:
        element = _type_check(spec.args[0])
        return lambda v: type(v) is list and all(element(item) for item in v)
    if name == "range" and spec.args:
        endpoint = _type_check(spec.args[0])
        return lambda v: (
            type(v) is Range and all(e is None or endpoint(e) for e in (v.start, v.end))
        )
    if name == "context" and spec.fields:
        fields = [(key, _type_check(t)) for key, t in spec.fields]
        return lambda v: type(v) is dict and all(k in v and check(v[k]) for k, check in fields)
    return lambda v: kind(v) == name


class _Compiler:
    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, message: str, node: Node) -> ExpressionError:
        return ExpressionError(message, expression=self.source, position=node.pos)

    def compile(self, node: Node, bound: frozenset[str], depth: int) -> Closure:
        """``bound``: names bound by enclosing constructs; "*" when any name may be."""
        if depth > MAX_DEPTH:
            raise self.error(f"expression nests too deeply (limit {MAX_DEPTH} levels)", node)
        method: Callable[[Any, frozenset[str], int], Closure] = getattr(
            self, f"_{type(node).__name__}"
        )
        return method(node, bound, depth + 1)

    def _Literal(self, node: Literal, bound: frozenset[str], depth: int) -> Closure:
        value = node.value
        return lambda scope: value

    def _Name(self, node: Name, bound: frozenset[str], depth: int) -> Closure:
        name = node.name

        def name_value(scope: Scope) -> Any:  # _lookup inlined: this runs for every name
            current: Scope | None = scope
            while current is not None:
                value = current.vars.get(name, _MISSING)
                if value is not _MISSING:
                    return to_feel(value) if current.raw else value
                current = current.parent
            return BUILTINS.get(name)

        return name_value

    def _ListNode(self, node: ListNode, bound: frozenset[str], depth: int) -> Closure:
        items = [self.compile(item, bound, depth) for item in node.items]
        return lambda scope: [item(scope) for item in items]

    def _ContextNode(self, node: ContextNode, bound: frozenset[str], depth: int) -> Closure:
        inner = bound | {key for key, _ in node.entries}
        entries = [(key, self.compile(value, inner, depth)) for key, value in node.entries]

        def context(scope: Scope) -> dict[str, Any]:
            result: dict[str, Any] = {}
            entry_scope = Scope(result, scope, scope.state)  # later entries see earlier ones
            for key, value in entries:
                result[key] = value(entry_scope)
            return result

        return context

    def _RangeNode(self, node: RangeNode, bound: frozenset[str], depth: int) -> Closure:
        start = self.compile(node.start, bound, depth)
        end = self.compile(node.end, bound, depth)
        start_included, end_included = node.start_included, node.end_included

        def make_range(scope: Scope) -> Range | None:
            low, high = start(scope), end(scope)
            if low is not None and high is not None and compare(low, high) is None:
                return None
            return Range(low, high, start_included, end_included)

        return make_range

    def _Negation(self, node: Negation, bound: frozenset[str], depth: int) -> Closure:
        operand = self.compile(node.operand, bound, depth)
        return lambda scope: negate(operand(scope))

    def _Arithmetic(self, node: Arithmetic, bound: frozenset[str], depth: int) -> Closure:
        left = self.compile(node.left, bound, depth)
        right = self.compile(node.right, bound, depth)
        apply = _ARITHMETIC[node.op]
        if node.op != "+":
            return lambda scope: apply(left(scope), right(scope))

        def plus(scope: Scope) -> Any:
            result = add(left(scope), right(scope))
            if type(result) is str:  # concatenation is the one operator that can grow data
                check_length(len(result))
                scope.state.allocate(len(result))
            return result

        return plus

    def _Comparison(self, node: Comparison, bound: frozenset[str], depth: int) -> Closure:
        op = node.op
        left = self.compile(node.left, bound, depth)
        direct = _DIRECT[op]  # Python's operator, right for two numbers or two strings
        constant = node.right.value if isinstance(node.right, Literal) else None
        kind_ = type(constant)
        if kind_ is Decimal or kind_ is str or (kind_ is bool and op in ("=", "!=")):
            # the hot case of gateway conditions: ``amount > 1000``, ``status = "approved"``
            def against_constant(scope: Scope) -> bool | None:
                value = left(scope)
                if type(value) is kind_:
                    return direct(value, constant)
                return _compare_op(op, value, constant)

            return against_constant
        right = self.compile(node.right, bound, depth)

        def comparison(scope: Scope) -> bool | None:
            a, b = left(scope), right(scope)
            ta = type(a)
            if ta is type(b) and (ta is Decimal or ta is str):
                return direct(a, b)
            return _compare_op(op, a, b)

        return comparison

    def _Logical(self, node: Logical, bound: frozenset[str], depth: int) -> Closure:
        # a chain ``a or b or c`` becomes one closure over a list, not a deep tree
        operands: list[Node] = []
        current: Node = node
        while isinstance(current, Logical) and current.op == node.op:
            operands.append(current.right)
            current = current.left
        operands.append(current)
        parts = [self.compile(n, bound, depth) for n in reversed(operands)]
        stop = node.op == "or"  # the value that decides the result on its own
        decided: bool | None = stop

        def logical(scope: Scope) -> bool | None:
            result: bool | None = not stop
            for part in parts:
                value = part(scope)
                if value is stop:
                    return decided
                if type(value) is not bool:
                    result = None
            return result

        return logical

    def _Between(self, node: Between, bound: frozenset[str], depth: int) -> Closure:
        value = self.compile(node.value, bound, depth)
        low = self.compile(node.low, bound, depth)
        high = self.compile(node.high, bound, depth)

        def between(scope: Scope) -> bool | None:
            x = value(scope)
            return _and((_compare_op(">=", x, low(scope)), _compare_op("<=", x, high(scope))))

        return between

    def _InNode(self, node: InNode, bound: frozenset[str], depth: int) -> Closure:
        value = self.compile(node.value, bound, depth)
        tests = [self.test(t, bound, depth) for t in node.tests]
        if len(tests) == 1:
            single = tests[0]
            return lambda scope: single(scope, value(scope))

        def in_tests(scope: Scope) -> bool | None:
            x = value(scope)
            return _any_of(test(scope, x) for test in tests)

        return in_tests

    def test(
        self, node: UnaryComparison | UnaryExpression, bound: frozenset[str], depth: int
    ) -> Test:
        """A unary test: a function of the scope and the value tested."""
        if isinstance(node, UnaryComparison):
            operand = self.compile(node.operand, bound, depth)
            op = node.op
            return lambda scope, x: _compare_op(op, x, operand(scope))
        expression = self.compile(node.expression, bound, depth)
        if _uses_input(node.expression):

            def with_input(scope: Scope, x: Any) -> bool | None:
                result = expression(Scope({"?": x}, scope, scope.state))
                return result if type(result) is bool else None

            return with_input
        return lambda scope, x: _matches(x, expression(scope))

    def _InstanceOf(self, node: InstanceOf, bound: frozenset[str], depth: int) -> Closure:
        value = self.compile(node.value, bound, depth)
        check = _type_check(node.type)
        return lambda scope: check(value(scope))

    def _If(self, node: If, bound: frozenset[str], depth: int) -> Closure:
        condition = self.compile(node.condition, bound, depth)
        then = self.compile(node.then, bound, depth)
        otherwise = self.compile(node.otherwise, bound, depth)
        return lambda scope: then(scope) if condition(scope) is True else otherwise(scope)

    def iterations(
        self, iterations: tuple[Iteration, ...], bound: frozenset[str], depth: int
    ) -> tuple[list[tuple[str, Closure, Closure | None]], frozenset[str]]:
        """Compiled ``name in source[..end]`` parts; each sees the names bound before it."""
        compiled = []
        for iteration in iterations:
            source = self.compile(iteration.source, bound, depth)
            end = None if iteration.end is None else self.compile(iteration.end, bound, depth)
            compiled.append((iteration.name, source, end))
            bound = bound | {iteration.name}
        return compiled, bound

    def _For(self, node: For, bound: frozenset[str], depth: int) -> Closure:
        iterations, inner = self.iterations(node.iterations, bound, depth)
        body = self.compile(node.body, inner | {"partial"}, depth)
        last = len(iterations) - 1

        def for_loop(scope: Scope) -> list[Any] | None:
            state = scope.state
            results: list[Any] = []

            def loop(level: int, outer: Scope) -> bool:
                name, source, end = iterations[level]
                values = _iteration_values(source, end, outer)
                if values is None:
                    return False
                for value in values:
                    state.step()
                    if level == last:
                        bindings = {name: value, "partial": results}
                        results.append(body(Scope(bindings, outer, state)))
                    elif not loop(level + 1, Scope({name: value}, outer, state)):
                        return False
                return True

            return results if loop(0, scope) else None

        return for_loop

    def _Quantified(self, node: Quantified, bound: frozenset[str], depth: int) -> Closure:
        iterations, inner = self.iterations(node.iterations, bound, depth)
        condition = self.compile(node.condition, inner, depth)
        last = len(iterations) - 1
        every = node.every

        def quantified(scope: Scope) -> bool | None:
            state = scope.state

            def search(level: int, outer: Scope) -> bool | None:
                """True when a witness (some) / counterexample (every) is found."""
                name, source, end = iterations[level]
                values = _iteration_values(source, end, outer)
                if values is None:
                    return None
                for value in values:
                    state.step()
                    inner_scope = Scope({name: value}, outer, state)
                    if level == last:
                        if (condition(inner_scope) is True) != every:
                            return True
                    else:
                        found = search(level + 1, inner_scope)
                        if found is not False:
                            return found
                return False

            found = search(0, scope)
            return None if found is None else found != every

        return quantified

    def _Filter(self, node: Filter, bound: frozenset[str], depth: int) -> Closure:
        target = self.compile(node.target, bound, depth)
        condition = self.compile(node.condition, bound | {"item", "*"}, depth)
        static_index = isinstance(node.condition, Literal) and type(node.condition.value) is Decimal
        per_item_only = isinstance(node.condition, _BOOLEAN_NODES)

        def select(scope: Scope) -> Any:
            value = target(scope)
            if value is None:
                return None
            items = value if type(value) is list else [value]
            if not per_item_only:
                # ``list[2]``/``list[i]`` index; a condition that needs ``item`` gives no number
                index = condition(scope)
                if static_index or type(index) is Decimal:
                    return _index(items, index)
            state = scope.state
            kept = []
            for item in items:
                state.step()
                item_scope = Scope({"item": item}, scope, state)
                if type(item) is dict:  # the entries of a context item are names too
                    item_scope = Scope(item, item_scope, state)
                if condition(item_scope) is True:
                    kept.append(item)
            return kept

        return select

    def _Path(self, node: Path, bound: frozenset[str], depth: int) -> Closure:
        steps: list[str] = []
        current: Node = node
        while isinstance(current, Path):
            steps.append(current.name)
            current = current.target
        steps.reverse()
        if isinstance(current, Name):
            # walk the caller's nested dicts without converting all of them first
            return self._variable_path(current.name, steps)
        target = self.compile(current, bound, depth)

        def path(scope: Scope) -> Any:
            value = target(scope)
            for step in steps:
                value = _path(value, step)
            return value

        return path

    @staticmethod
    def _variable_path(name: str, steps: list[str]) -> Closure:
        def variable_path(scope: Scope) -> Any:
            value, raw = _lookup(scope, name)
            for i, step in enumerate(steps):
                if raw and isinstance(value, Mapping):
                    value = value.get(step)
                    continue
                if raw:
                    value, raw = to_feel(value), False
                for rest in steps[i:]:
                    value = _path(value, rest)
                return value
            return to_feel(value) if raw else value

        return variable_path

    def _Invocation(self, node: Invocation, bound: frozenset[str], depth: int) -> Closure:
        args = [self.compile(arg, bound, depth) for arg in node.args]
        callee = node.callee
        if isinstance(callee, Name) and callee.name not in bound and "*" not in bound:
            builtin = BUILTINS.get(callee.name)
            if builtin is None:
                raise self.error(f"unknown function {callee.name!r}", callee)
            return self._builtin_call(builtin, node, args)
        function = self.compile(callee, bound, depth)
        names = node.names

        def invoke(scope: Scope) -> Any:
            target = function(scope)
            if not isinstance(target, FeelFunction):
                return None
            values = [arg(scope) for arg in args]
            if names is None:
                return target.call(scope.state, values)
            return target.call_named(scope.state, dict(zip(names, values, strict=True)))

        return invoke

    def _builtin_call(self, builtin: Builtin, node: Invocation, args: list[Closure]) -> Closure:
        """A call of a known built-in: its overload is chosen now, not at every evaluation."""
        if node.names is None:
            signature = builtin.for_count(len(args))
            if signature is None:
                count = f"{len(args)} argument{'' if len(args) == 1 else 's'}"
                raise self.error(f"function {builtin.name!r} does not take {count}", node)
            ordered = args
        else:
            signature = builtin.for_names(node.names)
            if signature is None:
                given = ", ".join(node.names)
                raise self.error(f"function {builtin.name!r} has no parameters ({given})", node)
            by_name = dict(zip(node.names, args, strict=True))
            last = max(signature.params.index(name) for name in node.names)
            ordered = [by_name.get(p, _null) for p in signature.params[: last + 1]]
        invoke = signature.invoke
        return lambda scope: invoke(scope.state, [arg(scope) for arg in ordered])

    def _FunctionDef(self, node: FunctionDef, bound: frozenset[str], depth: int) -> Closure:
        body = self.compile(node.body, bound | set(node.params), depth)
        params = node.params
        return lambda scope: _Lambda(params, body, scope)


def _null(scope: Scope) -> None:
    return None


def _iteration_values(source: Closure, end: Closure | None, scope: Scope) -> Iterable[Any] | None:
    """The values one ``for``/``some``/``every`` variable takes; None when there are none."""
    start = source(scope)
    if end is not None:
        numbers = _integer_bounds(start, end(scope))
        return None if numbers is None else map(Decimal, numbers)
    if type(start) is list:
        return start
    if type(start) is Range:
        numbers = _range_items(start)
        return None if numbers is None else map(Decimal, numbers)
    return None if start is None else [start]


def _index(items: list[Any], index: Any) -> Any:
    """``list[n]``: 1-based, negative from the end; null outside the list."""
    position = to_int(index)
    if position is None:
        return None
    size = len(items)
    if 0 < position <= size:
        return items[position - 1]
    if 0 < -position <= size:
        return items[size + position]
    return None


_EMPTY: Mapping[str, Any] = {}


# Types that passed the (slow, abstract-class) Mapping check once: there are only a few.
_MAPPING_TYPES: set[type] = {dict, type(None)}


def _start(variables: Mapping[str, Any] | None, now: datetime | None) -> Scope:
    if type(variables) not in _MAPPING_TYPES:
        if not isinstance(variables, Mapping):
            raise ExpressionError("variables must be a mapping of names to values")
        _MAPPING_TYPES.add(type(variables))
    if now is not None and not isinstance(now, datetime):
        raise ExpressionError("now must be a datetime")
    return Scope(_EMPTY if variables is None else variables, None, State(now), raw=True)


def _failure(source: str, exc: Exception) -> ExpressionError:
    """The ``ExpressionError`` to raise for any failure of an evaluation of ``source``."""
    if isinstance(exc, ExpressionError):
        if exc.expression is not None:
            return exc
        return ExpressionError(exc.reason, expression=source, position=exc.position)
    if isinstance(exc, RecursionError):
        return ExpressionError("expression recurses too deeply", expression=source)
    # a bug of ours must still not escape as another exception type
    return ExpressionError(f"evaluation failed: {exc!r}", expression=source)


class FeelExpression:
    """A FEEL expression compiled once, to be evaluated any number of times (thread-safe)."""

    __slots__ = ("_closure", "_source")

    def __init__(self, source: str, closure: Closure) -> None:
        self._source = source
        self._closure = closure

    @property
    def source(self) -> str:
        """The expression text as given."""
        return self._source

    def evaluate(
        self, variables: Mapping[str, Any] | None = None, *, now: datetime | None = None
    ) -> Any:
        """Evaluate against ``variables``; ``now`` fixes the clock of ``now()``/``today()``."""
        try:
            return self._closure(_start(variables, now))
        except Exception as exc:  # try costs nothing unless something is raised
            error = _failure(self._source, exc)
            if error is exc:
                raise
            raise error from exc

    def __repr__(self) -> str:
        return f"FeelExpression({self._source!r})"


class UnaryTestsExpression:
    """Compiled DMN unary tests (a decision table input entry such as ``< 5, [10..20]``)."""

    __slots__ = ("_source", "_test")

    def __init__(self, source: str, test: Test) -> None:
        self._source = source
        self._test = test

    @property
    def source(self) -> str:
        """The unary tests text as given."""
        return self._source

    def evaluate(
        self,
        input_value: Any,
        variables: Mapping[str, Any] | None = None,
        *,
        now: datetime | None = None,
    ) -> bool | None:
        """Whether ``input_value`` passes: True, False, or None when it cannot be decided."""
        try:
            return self._test(_start(variables, now), to_feel(input_value))
        except Exception as exc:
            error = _failure(self._source, exc)
            if error is exc:
                raise
            raise error from exc

    def __repr__(self) -> str:
        return f"UnaryTestsExpression({self._source!r})"


_FUNCTION_NAMES = frozenset(BUILTINS)


def compile_expression(source: str, names: Iterable[str] = ()) -> FeelExpression:
    """Parse and compile ``source``; ``ExpressionError`` (with a position) when invalid.

    ``names``: variables known to be given, so a name with a keyword among its words
    (``shipping and handling``) is read as that name.
    """
    node = _parse(source, lambda: parse_expression(source, _FUNCTION_NAMES, PARAMETER_NAMES, names))
    closure: Closure = _parse(source, lambda: _Compiler(source).compile(node, frozenset(), 0))
    return FeelExpression(source, closure)


def compile_tests(source: str, names: Iterable[str] = ()) -> UnaryTestsExpression:
    """Parse and compile DMN unary tests (``names`` as for :func:`compile_expression`)."""
    node = _parse(
        source, lambda: parse_unary_tests(source, _FUNCTION_NAMES, PARAMETER_NAMES, names)
    )
    return UnaryTestsExpression(source, _parse(source, lambda: _compile_tests(source, node)))


def _compile_tests(source: str, node: UnaryTests) -> Test:
    if node.any:
        return lambda scope, x: True
    compiler = _Compiler(source)
    tests = [compiler.test(t, frozenset(), 1) for t in node.tests]
    if not node.negated:
        return lambda scope, x: _any_of(test(scope, x) for test in tests)

    def negated(scope: Scope, x: Any) -> bool | None:
        result = _any_of(test(scope, x) for test in tests)
        return None if result is None else not result

    return negated


def _parse(source: str, step: Callable[[], Any]) -> Any:
    """Run a parse or compile step, turning Python's recursion limit into ``ExpressionError``."""
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_EXPRESSION_LENGTH} characters")
    try:
        return step()
    except ExpressionError:
        raise
    except RecursionError:
        raise ExpressionError("expression nests too deeply", expression=source) from None
    except Exception as exc:  # a bug of ours must still not escape as another exception type
        raise ExpressionError(f"cannot compile: {exc!r}", expression=source) from exc
