"""Snapshots of an instance's live rows, so an operation can be undone exactly."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

from midflight.runtime.state import RECORD_TABLES, InstanceState

__all__ = ["restore_rows", "snapshot"]

_DATETIME_FIELDS = {
    cls.TABLE: {f.name for f in fields(cls) if "datetime" in str(f.type)}  # type: ignore[arg-type]
    for cls in RECORD_TABLES
}


def snapshot(state: InstanceState) -> dict[str, Any]:
    """Every live row of the instance (the instance row included), as plain data."""
    rows: dict[str, list[dict[str, Any]]] = {}
    tables: tuple[dict[str, Any], ...] = (
        state.elements,
        state.variables,
        state.user_tasks,
        state.jobs,
        state.subscriptions,
        state.incidents,
        state.join_tokens,
    )
    for table in tables:
        for record in table.values():
            rows.setdefault(record.TABLE, []).append(record.row())
    return {"process_instance": state.instance.row(), "rows": rows}


def restore_rows(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """The instance row and live rows of a snapshot, with their datetimes back as datetimes
    (a snapshot kept as JSON holds them as ISO text)."""

    def revive(table: str, row: dict[str, Any]) -> dict[str, Any]:
        out = dict(row)
        for name in _DATETIME_FIELDS.get(table, ()):
            if isinstance(out.get(name), str):
                out[name] = datetime.fromisoformat(out[name])
        return out

    instance = revive("process_instances", data["process_instance"])
    rows = {t: [revive(t, r) for r in rs] for t, rs in data["rows"].items()}
    return instance, rows
