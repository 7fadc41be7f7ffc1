"""Variable values as the engine stores them: JSON-compatible, numbers exact."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from midflight.errors import InvalidArgumentError

__all__ = ["checked_variables", "mapped_name", "with_property"]

_JSON_SCALARS = (str, int, bool, Decimal, datetime, date, type(None))


def checked_variables(variables: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Variables as the engine stores them; floats become exact decimals.

    Raises:
        InvalidArgumentError: not a mapping of names to JSON-compatible values.
    """
    if variables is None:
        return None
    if not isinstance(variables, Mapping):
        raise InvalidArgumentError(
            f"variables must be a dict of name -> value, not {type(variables).__name__}"
        )
    checked: dict[str, Any] = {}
    for name, value in variables.items():
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(f"variable names must be non-empty strings, not {name!r}")
        checked[name] = _checked_value(value, name)
    return checked


def _checked_value(value: Any, path: str) -> Any:
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidArgumentError(f"variable '{path}' is {value}, which JSON cannot hold")
        return Decimal(repr(value))
    if isinstance(value, _JSON_SCALARS):
        return value
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise InvalidArgumentError(f"variable '{path}' has a non-string key {k!r}")
            out[k] = _checked_value(v, f"{path}.{k}")
        return out
    if isinstance(value, (list, tuple)):
        return [_checked_value(v, f"{path}[{i}]") for i, v in enumerate(value)]
    raise InvalidArgumentError(
        f"variable '{path}' has type {type(value).__name__}; use JSON-compatible values "
        "(str, int, float, Decimal, bool, None, date/datetime, list, dict)"
    )


def mapped_name(target: str) -> str:
    """The variable an input or output mapping's target sets: ``order`` for ``order.id``."""
    return target.split(".", 1)[0]


def with_property(base: Any, path: list[str], value: Any) -> dict[str, Any]:
    """A copy of the context ``base`` (a new one if it is none) with ``value`` at ``path``."""
    out = dict(base) if isinstance(base, dict) else {}
    out[path[0]] = value if len(path) == 1 else with_property(out.get(path[0]), path[1:], value)
    return out
