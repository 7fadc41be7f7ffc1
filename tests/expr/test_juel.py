"""The JUEL subset for Camunda 7 models: values, coercions, templates, errors and bounds."""

from __future__ import annotations

import contextlib
import math
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from midflight.errors import ExpressionError
from midflight.expr.base import MAX_DEPTH, MAX_EXPRESSION_LENGTH
from midflight.expr.juel import JuelExpression, compile_juel, evaluate_juel

VARIABLES: dict[str, Any] = {
    "amount": 1500,
    "approved": True,
    "rejected": False,
    "score": 7,
    "ratio": 0.25,
    "price": Decimal("10.00"),
    "name": "Ann",
    "numeric": "42",
    "decimalText": "2.5",
    "blank": "",
    "nothing": None,
    "items": [],
    "list": [10, 20, 30],
    "customer": {
        "name": "Bo",
        "address": {"city": "Berlin", "zip": "10115"},
        "tags": ["vip", "new"],
    },
    "matrix": [[1, 2], [3, 4]],
    "flags": {"on": "TRUE", "off": "no"},
    "processBusinessKey": "order-17",
    "key": "name",
    "idx": 1,
}

# (expression, expected value); the type of the result must match the expected one exactly.
CASES: list[tuple[str, Any]] = [
    # literals
    ("${42}", 42),
    ("${-7}", -7),
    ("${1.5}", 1.5),
    ("${.5}", 0.5),
    ("${1.}", 1.0),
    ("${1e3}", 1000.0),
    ("${2E-2}", 0.02),
    ("${'single'}", "single"),
    ('${"double"}', "double"),
    ("${'it\\'s'}", "it's"),
    ('${"say \\"hi\\""}', 'say "hi"'),
    ("${'back\\\\slash'}", "back\\slash"),
    ("${'a}b'}", "a}b"),
    ("${true}", True),
    ("${false}", False),
    ("${null}", None),
    # variables, properties and brackets
    ("${amount}", 1500),
    ("${nothing}", None),
    ("${customer.address.city}", "Berlin"),
    ("${customer['address']['zip']}", "10115"),
    ('${customer["name"]}', "Bo"),
    ("${customer[key]}", "Bo"),
    ("${customer . address . city}", "Berlin"),
    ("${customer.missing}", None),
    ("${customer.missing.deeper}", None),
    ("${customer.__class__}", None),  # a map key, never a Python attribute
    ("${nothing.anything}", None),
    ("${list[0]}", 10),
    ("${list[idx]}", 20),
    ("${list[idx + 1]}", 30),
    ("${list['2']}", 30),
    ("${list[3]}", None),
    ("${list[-1]}", None),  # out of range is null, not Python's negative indexing
    ("${list[1.9]}", 20),  # Java's intValue() truncates
    ("${list[null]}", None),
    ("${customer.tags[0]}", "vip"),
    ("${matrix[1][0]}", 3),
    # the Camunda execution idioms
    ("${execution.getVariable('amount')}", 1500),
    ("${execution.getVariable(key)}", "Ann"),
    ("${execution.getVariable('missing')}", None),
    ("${execution.getVariable('customer').address.city}", "Berlin"),
    ("${execution.processBusinessKey}", "order-17"),
    # comparisons
    ("${amount > 1000}", True),
    ("${amount gt 1500}", False),
    ("${amount >= 1500}", True),
    ("${amount ge 1501}", False),
    ("${score < 7}", False),
    ("${score lt 8}", True),
    ("${score <= 7}", True),
    ("${score le 6}", False),
    ("${amount == 1500}", True),
    ("${amount eq 1500.0}", True),
    ("${amount != 1500}", False),
    ("${name ne 'Bob'}", True),
    ("${'abc' < 'abd'}", True),
    ('${name == "Ann"}', True),
    ("${customer.address.city == 'Berlin'}", True),
    ("${1 < 2 == true}", True),
    # a number and a string compare as numbers (the string coerced to the number's type)
    ("${numeric == 42}", True),
    ("${numeric > 41}", True),
    ("${numeric == '42'}", True),
    ("${decimalText == 2.5}", True),
    ("${'5' < 10}", True),
    ("${blank == 0}", True),
    ("${price == 10}", True),  # numerically, unlike Java's scale-sensitive BigDecimal.equals
    ("${price == '10.0'}", True),
    ("${price > 9.99}", True),
    # null compares equal only to null and is never ordered
    ("${nothing == null}", True),
    ("${amount == null}", False),
    ("${nothing < 5}", False),
    ("${nothing > 5}", False),
    # Boolean equality coerces strings
    ("${approved == 'TRUE'}", True),
    ("${rejected == 'no'}", True),
    # logic
    ("${!rejected && score >= 5}", True),
    ("${approved and rejected}", False),
    ("${rejected or approved}", True),
    ("${not approved}", False),
    ("${!!approved}", True),
    ("${flags.on && true}", True),
    ("${flags.off || nothing}", False),
    ("${blank || nothing}", False),
    ("${rejected && undefinedVariable}", False),  # short-circuit: the right side never runs
    ("${approved || undefinedVariable}", True),
    ("${approved && score > 5 || rejected}", True),
    ("${rejected || approved && rejected}", False),  # && binds tighter than ||
    # empty
    ("${empty items}", True),
    ("${empty list}", False),
    ("${empty blank}", True),
    ("${empty nothing}", True),
    ("${empty customer.missing}", True),
    ("${empty name}", False),
    ("${not empty customer}", True),
    ("${empty 0}", False),
    # arithmetic
    ("${1 + 2 * 3}", 7),
    ("${(1 + 2) * 3}", 9),
    ("${10 - 2 - 3}", 5),
    ("${7 / 2}", 3.5),
    ("${8 div 2}", 4.0),
    ("${10 / 4 * 2}", 5.0),
    ("${7 % 3}", 1),
    ("${7 mod -3}", 1),
    ("${-7 % 3}", -1),  # Java's remainder keeps the dividend's sign
    ("${7.5 % 2}", 1.5),
    ("${-amount}", -1500),
    ("${- -3}", 3),
    ("${-2 * -3}", 6),
    ("${-'2'}", -2),
    ("${-'2.5'}", -2.5),
    ("${amount * ratio}", 375.0),
    ("${numeric + 1}", 43),
    ("${'1' + '2'}", 3),  # + never concatenates
    ("${decimalText * 2}", 5.0),
    ("${nothing + 5}", 5),
    ("${null + null}", 0),
    ("${null / null}", 0),
    ("${1 / 0}", math.inf),
    ("${-1 / 0}", -math.inf),
    ("${0.1 + 0.2}", 0.30000000000000004),
    ("${price + 1}", Decimal("11.00")),
    ("${price - 0.5}", Decimal("9.50")),
    ("${price * ratio}", Decimal("2.5000")),
    ("${price / 3}", Decimal("3.33")),  # half up at the dividend's scale, as BigDecimal.divide
    ("${price / 6}", Decimal("1.67")),
    ("${price div 8}", Decimal("1.25")),
    ("${-price / 6}", Decimal("-1.67")),
    ("${price % 3}", 1.0),  # % is a double operation even for BigDecimal
    ("${1 + 2 == 3 && 2 * 3 > 5}", True),
    # choice
    ("${amount > 1000 ? 'big' : 'small'}", "big"),
    ("${rejected ? 1 : approved ? 2 : 3}", 2),
    ("${nothing ? 1 : 2}", 2),
    ("${flags.on ? 'yes' : 'no'}", "yes"),
    ("${(approved ? list : items)[2]}", 30),
    # templates: one ${...} is the raw value, anything else a string
    ("#{amount}", 1500),
    ("${price}", Decimal("10.00")),
    ("Dear ${name}, your order ${customer.address.zip}", "Dear Ann, your order 10115"),
    ("Total: ${amount}", "Total: 1500"),
    ("${amount}${score}", "15007"),
    ("  ${amount}  ", "  1500  "),
    ("${amount} and #{score}", "1500 and 7"),
    ("ratio=${ratio} big=${1e10} tiny=${0.00001}", "ratio=0.25 big=1.0E10 tiny=1.0E-5"),
    ("none=${nothing} ok=${approved} one=${1.0}", "none= ok=true one=1.0"),
    ("price ${price}", "price 10.00"),
    ("${list} ${customer.address}", "[10, 20, 30] {city=Berlin, zip=10115}"),
    ("no expressions", "no expressions"),
    ("", ""),
    ("cost \\${amount} and \\#{score}", "cost ${amount} and #{score}"),
    ("a $ and # and } stay", "a $ and # and } stay"),
]


@pytest.mark.parametrize(("expression", "expected"), CASES)
def test_evaluates(expression: str, expected: Any) -> None:
    result = compile_juel(expression).evaluate(VARIABLES)
    assert result == expected
    assert type(result) is type(expected)


def test_case_table_is_large() -> None:
    assert len(CASES) >= 80


def test_nan_from_zero_by_zero() -> None:
    assert math.isnan(evaluate_juel("${0 / 0}"))


# (expression, fragment of the message, position)
SYNTAX_ERRORS: list[tuple[str, str, int]] = [
    ("${amount +}", "expected an expression but found '}'", 10),
    ("${(amount > 1}", "expected ')'", 13),
    ("${amount", "expected '}' but found the end of the expression", 8),
    ("Hello ${name", "expected '}'", 12),
    ("${}", "expected an expression", 2),
    ("${'open}", "unterminated string", 2),
    ("${'a\\n'}", "invalid escape sequence", 4),
    ("${a = 1}", "unexpected character '='", 4),
    ("${a & b}", "unexpected character '&'", 4),
    ("${{a}}", "unexpected character '{'", 2),
    ("${a instanceof b}", "'instanceof' is not supported", 4),
    ("${a.}", "expected a property name after '.'", 4),
    ("${a.empty}", "expected a property name after '.' but found 'empty'", 4),
    ("${1 2}", "expected '}' but found '2'", 4),
    ("${+1}", "expected an expression but found '+'", 2),
    ("${a ? b}", "expected ':'", 7),
    ("${list[0}", "expected ']'", 8),
]


@pytest.mark.parametrize(("expression", "fragment", "position"), SYNTAX_ERRORS)
def test_syntax_errors_carry_position(expression: str, fragment: str, position: int) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_juel(expression)
    assert fragment in caught.value.reason
    assert caught.value.position == position
    assert caught.value.expression == expression


UNSUPPORTED_CALLS: list[tuple[str, str]] = [
    ("${customer.getName()}", "method calls are not supported: customer.getName()"),
    ("${list.size() > 0}", "method calls are not supported: list.size()"),
    ("${name.equals('Ann')}", "method calls are not supported: name.equals(...)"),
    ("${customer['name'].trim()}", "method calls are not supported: customer['name'].trim()"),
    ("${(customer).getName()}", "method calls are not supported: (customer).getName()"),
    ("${execution.getVariableLocal('x')}", "execution.getVariableLocal(...)"),
    ("${now()}", "function calls are not supported: now()"),
    ("${fn:join(list, ',')}", "function calls are not supported: fn:join(...)"),
    ("${__import__('os')}", "function calls are not supported: __import__(...)"),
    ("${execution}", "'execution' can only be used as execution.getVariable('name')"),
    ("${execution.id}", "execution.id is not supported"),
    ("${execution.getVariable('a', 'b')}", "takes exactly one argument"),
    ("${execution.getVariable()}", "takes exactly one argument"),
]


@pytest.mark.parametrize(("expression", "fragment"), UNSUPPORTED_CALLS)
def test_unsupported_calls_are_refused_when_compiled(expression: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_juel(expression)
    assert fragment in caught.value.reason
    assert caught.value.position is not None


# (expression, fragment of the message, position): these parse, but fail on VARIABLES.
EVALUATION_ERRORS: list[tuple[str, str, int]] = [
    ("${unknownVar > 1}", "Cannot resolve identifier 'unknownVar'", 2),
    ("${empty unknownVar}", "Cannot resolve identifier 'unknownVar'", 8),
    ("Hi ${who}", "Cannot resolve identifier 'who'", 5),
    ("${'a' + 'b'}", "cannot coerce 'a' to an integer", 6),
    ("${name + 1}", "cannot coerce 'Ann' to an integer", 7),
    ("${name == 5}", "cannot coerce 'Ann' to an integer", 7),
    ("${'5.0' == 5}", "cannot coerce '5.0' to an integer", 8),  # JUEL's Long.valueOf
    ("${-name}", "cannot coerce 'Ann' to an integer", 2),
    ("${amount && true}", "cannot coerce 1500 to a boolean", 2),
    ("${!score}", "cannot coerce 7 to a boolean", 2),
    ("${score ? 1 : 2}", "cannot coerce 7 to a boolean", 2),
    ("${approved < 1}", "cannot coerce true to an integer", 11),
    ("${customer < list}", "cannot compare", 11),
    ("${name.first}", "only maps and lists have properties", 7),
    ("${list.first}", "'first' is not a list index", 7),
    ("${list[approved]}", "true is not a list index", 6),
    ("${customer[list]}", "cannot be a map key", 10),
    ("${7 % 0}", "division by zero", 4),
    ("${price / 0}", "division by zero", 8),
    ("${execution.getVariable(5)}", "needs a variable name", 2),
    ("${1 + 1 + 'x'}", "cannot coerce 'x' to an integer", 8),
]


@pytest.mark.parametrize(("expression", "fragment", "position"), EVALUATION_ERRORS)
def test_evaluation_errors_carry_position(expression: str, fragment: str, position: int) -> None:
    compiled = compile_juel(expression)
    with pytest.raises(ExpressionError) as caught:
        compiled.evaluate(VARIABLES)
    assert fragment in caught.value.reason
    assert caught.value.position == position
    assert caught.value.expression == expression


DEEP_INPUTS = {
    "parentheses": "${" + "(" * 5000 + "1" + ")" * 5000 + "}",
    "unclosed parentheses": "${" + "(" * 50000,
    "minus signs": "${" + "-" * 5000 + "1}",
    "negations": "${" + "!" * 5000 + "true}",
    "brackets": "${" + "list[" * 3000 + "0" + "]" * 3000 + "}",
    "choices": "${" + "a ? b : " * 3000 + "c}",
    "getVariable": "${" + "execution.getVariable(" * 3000 + "'x'" + ")" * 3000 + "}",
    "mixed": "${" + "a + (b * -(" * 1000 + "1" + "))" * 1000 + "}",
}


@pytest.mark.parametrize("expression", DEEP_INPUTS.values(), ids=list(DEEP_INPUTS))
def test_deep_nesting_is_an_expression_error(expression: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_juel(expression)
    assert f"more than {MAX_DEPTH} levels" in caught.value.reason


def test_nesting_within_the_limit_evaluates() -> None:
    depth = MAX_DEPTH - 1
    assert evaluate_juel("${" + "(" * depth + "2" + ")" * depth + "}") == 2
    assert evaluate_juel("${" + "-" * (MAX_DEPTH - 2) + "2}") == 2
    assert evaluate_juel("${" + "list[" * 20 + "0" + "]" * 20 + "}", {"list": [0]}) == 0


def test_long_operator_chains_do_not_nest() -> None:
    terms = 20_000
    assert evaluate_juel("${" + " + ".join(["1"] * terms) + "}") == terms
    conjunction = "${" + " && ".join(["x"] * terms) + "}"
    assert evaluate_juel(conjunction, {"x": True}) is True
    path = "${m" + ".m" * terms + "}"
    assert evaluate_juel(path, {"m": {}}) is None


def test_expression_length_is_bounded() -> None:
    with pytest.raises(ExpressionError, match="longer than"):
        compile_juel("x" * (MAX_EXPRESSION_LENGTH + 1))


def test_template_length_is_bounded() -> None:
    template = "${s}" * 200
    with pytest.raises(ExpressionError, match="text longer than"):
        evaluate_juel(template, {"s": "y" * 10_000})


def test_self_containing_list_in_template() -> None:
    looped: list[Any] = []
    looped.append(looped)
    with pytest.raises(ExpressionError, match="levels deep"):
        evaluate_juel("value: ${x}", {"x": looped})


def test_integer_growth_is_bounded() -> None:
    with pytest.raises(ExpressionError, match="integer product longer"):
        evaluate_juel("${x * x}", {"x": 1 << 600_000})


def test_compile_once_evaluate_many() -> None:
    compiled = compile_juel("${amount > limit ? 'manual' : 'auto'}")
    assert isinstance(compiled, JuelExpression)
    assert compiled.source == "${amount > limit ? 'manual' : 'auto'}"
    assert compiled.evaluate({"amount": 10, "limit": 5}) == "manual"
    assert compiled.evaluate({"amount": 1, "limit": 5}) == "auto"
    assert compiled.evaluate({"amount": Decimal("5.01"), "limit": 5}) == "manual"


def test_evaluate_without_variables() -> None:
    assert compile_juel("${1 + 1}").evaluate() == 2
    assert evaluate_juel("plain text") == "plain text"
    with pytest.raises(ExpressionError, match="Cannot resolve identifier 'x'"):
        evaluate_juel("${x}")


def test_variable_holding_null_is_not_unknown() -> None:
    assert evaluate_juel("${x == null}", {"x": None}) is True


def test_execution_is_reserved_even_when_a_variable_has_that_name() -> None:
    variables = {"execution": {"getVariable": "no"}, "a": 1, "processBusinessKey": None}
    assert evaluate_juel("${execution.getVariable('a')}", variables) == 1
    assert evaluate_juel("${execution.processBusinessKey}", variables) is None


# Inputs built from JUEL's own characters, so most of them get past the tokenizer.
_FUZZ_ALPHABET = "${}#()[]'\"\\.,!&|=<>?:+-*/% abexmpty0159eE"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=_FUZZ_ALPHABET, max_size=40))
def test_arbitrary_input_raises_only_expression_errors(expression: str) -> None:
    variables = {"a": [1, {"b": "x"}], "b": Decimal("2.5"), "e": None, "x": "1e3", "m": {}}
    with contextlib.suppress(ExpressionError):
        compile_juel(expression).evaluate(variables)
