"""Split FEEL text into tokens.

Keywords are not special here: ``and``, ``if``, ``instance`` ... come out as ``name`` tokens and
the parser decides what they mean, because FEEL names may contain keywords
(``date and time``, ``get or else``). Each word of a name with spaces (``first name``) is a token
of its own; the parser joins them. A name in backticks (`` `first name` ``, a Camunda 8
extension) is one ``qname`` token, whatever it holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from midflight.errors import ExpressionError

__all__ = ["Token", "tokenize"]

TokenKind = Literal["name", "qname", "number", "string", "op", "eof"]


@dataclass(frozen=True, slots=True)
class Token:
    """One token; ``value`` is the name (without backticks), operator, number text or the
    unescaped string."""

    kind: TokenKind
    value: str
    pos: int


_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    | (?P<comment>//[^\n]*|/\*.*?\*/)
    | (?P<number>\d+(?:\.\d+)?|\.\d+)
    | (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<qname>`[^`\n]+`)
    | (?P<name>[^\W\d]\w*|\?)
    | (?P<op>\*\*|\.\.|<=|>=|!=|[-+*/=<>()\[\]{},:.@])
    """,
    re.VERBOSE | re.DOTALL,
)
_KINDS: dict[str, TokenKind] = {"number": "number", "name": "name", "op": "op"}
_OPERAND_END = frozenset({")", "]", "}"})
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}


def tokenize(source: str) -> list[Token]:
    """The tokens of ``source``, ending with an ``eof`` token; ``ExpressionError`` if invalid."""
    tokens: list[Token] = []
    pos, length = 0, len(source)
    while pos < length:
        m = _TOKEN.match(source, pos)
        if m is None:
            raise _unexpected(source, pos)
        group = m.lastgroup
        text = m.group()
        if text == "/" and source.startswith("/*", pos):  # the comment pattern found no end
            raise _unexpected(source, pos)
        if group == "number" and text[0] == "." and _ends_operand(tokens):
            # ``a.5`` is a path step, not the number .5
            tokens.append(Token("op", ".", pos))
            pos += 1
            continue
        if group == "string":
            tokens.append(Token("string", _unescape(source, pos, text[1:-1]), pos))
        elif group == "qname":
            tokens.append(Token("qname", text[1:-1], pos))
        elif group in _KINDS:
            tokens.append(Token(_KINDS[group], text, pos))
        pos = m.end()
    tokens.append(Token("eof", "", length))
    return tokens


def _ends_operand(tokens: list[Token]) -> bool:
    if not tokens:
        return False
    last = tokens[-1]
    return last.kind in ("name", "qname", "number", "string") or last.value in _OPERAND_END


def _unexpected(source: str, pos: int) -> ExpressionError:
    char = source[pos]
    if char == '"':
        message = "unterminated string literal"
    elif char == "`":
        message = "a name in backticks must be closed on the same line and not be empty"
    elif source.startswith("/*", pos):
        message = "unterminated comment"
    else:
        message = f"unexpected character {char!r}"
    return ExpressionError(message, expression=source, position=pos)


def _unescape(source: str, start: int, body: str) -> str:
    """Resolve escapes; an unknown one (``\\d`` in a regex) keeps its backslash, as Camunda."""
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "u":
            code, i = _unicode_escape(source, start + 1 + i, body, i)
            out.append(code)
        else:
            out.append(char + nxt)
            i += 2
    return "".join(out)


def _unicode_escape(source: str, pos: int, body: str, i: int) -> tuple[str, int]:
    """``\\uXXXX``, joining a UTF-16 surrogate pair into one character."""
    hex_digits = body[i + 2 : i + 6]
    if not re.fullmatch(r"[0-9a-fA-F]{4}", hex_digits):
        raise ExpressionError("invalid \\u escape", expression=source, position=pos)
    code = int(hex_digits, 16)
    if 0xD800 <= code < 0xDC00:
        low = body[i + 6 : i + 12]
        if re.fullmatch(r"\\u[dD][c-fC-F][0-9a-fA-F]{2}", low):
            pair = 0x10000 + ((code - 0xD800) << 10) + (int(low[2:], 16) - 0xDC00)
            return chr(pair), i + 12
    if 0xD800 <= code < 0xE000:
        raise ExpressionError("unpaired surrogate in \\u escape", expression=source, position=pos)
    return chr(code), i + 6
