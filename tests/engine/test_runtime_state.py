"""The runtime's row records and variable lookups, checked against their plain definitions."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

import pytest

from midflight.runtime.state import (
    RECORD_TABLES,
    ElementInstance,
    HistoryEvent,
    InstanceState,
    ProcessInstanceRecord,
    Record,
    Variable,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("cls", [*RECORD_TABLES, HistoryEvent], ids=lambda c: c.__name__)
def test_row_is_every_field_in_order(cls: type[Record]) -> None:
    columns = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    # each field gets a distinct value, so a swapped or missing column shows
    record = cls(*(f"v{i}" for i in range(len(columns))))

    assert list(record.row().items()) == [(name, getattr(record, name)) for name in columns]


def _state() -> InstanceState:
    root = ProcessInstanceRecord("pi", "d", "p", 1, None, "ACTIVE", NOW)
    records: list[Record] = [
        ElementInstance("pi", "pi", None, "p", "process", "ACTIVE", NOW),
        ElementInstance("sub", "pi", "pi", "s", "subProcess", "ACTIVE", NOW),
        ElementInstance("task", "pi", "sub", "t", "userTask", "ACTIVE", NOW),
        Variable("v1", "pi", "pi", "a", 1),
        Variable("v2", "pi", "pi", "b", 2),
        Variable("v3", "pi", "sub", "a", 10),
        Variable("v4", "pi", "task", "c", None),
    ]
    return InstanceState.load(root, records)


def test_the_variables_view_reads_what_a_copy_holds() -> None:
    state = _state()
    view = state.variables_view("task")
    copy = state.visible_variables("task")

    assert copy == {"a": 10, "b": 2, "c": None}  # the inner scope shadows the root's ``a``
    assert dict(view) == copy and list(view) == list(copy) and len(view) == 3
    assert (view["a"], view.get("c", "unset"), view.get("x", "unset")) == (10, None, "unset")
    assert "c" in view and "x" not in view
    with pytest.raises(KeyError):
        view["x"]


def test_the_variables_view_is_live() -> None:
    state = _state()
    view = state.variables_view("task")

    state.remove(state.variables["v3"])

    assert view["a"] == 1
