"""Leaner writes: id-keyed tables clustered on SQLite, sparse columns indexed only where set.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

Every command writes a few rows into several tables, and each b-tree a row touches is a page
that the commit writes. On SQLite the id-keyed tables become WITHOUT ROWID (the rows live in the
primary key's b-tree instead of a rowid b-tree plus an index of the ids); the business key and
assignee indexes hold only the rows that have one; the variables' scope index, which no query
uses, goes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CLUSTERED_TABLES = (
    "process_instances",
    "element_instances",
    "variables",
    "user_tasks",
    "jobs",
    "event_subscriptions",
    "incidents",
    "join_tokens",
    "operation_items",
)
_SPARSE_INDEXES = (
    ("ix_process_instances_business_key", "process_instances", "business_key"),
    ("ix_user_tasks_assignee", "user_tasks", "assignee"),
)


def _rebuild(with_rowid: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # a SQLite storage option; PostgreSQL tables have no rowid
    for table in _CLUSTERED_TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_with_rowid": with_rowid}
        ):
            pass


def upgrade() -> None:
    op.drop_index("ix_variables_scope_id", table_name="variables")
    for name, table, _ in _SPARSE_INDEXES:
        op.drop_index(name, table_name=table)
    _rebuild(with_rowid=False)
    for name, table, column in _SPARSE_INDEXES:
        condition = sa.text(f"{column} IS NOT NULL")
        op.create_index(name, table, [column], sqlite_where=condition, postgresql_where=condition)


def downgrade() -> None:
    for name, table, _ in _SPARSE_INDEXES:
        op.drop_index(name, table_name=table)
    _rebuild(with_rowid=True)
    for name, table, column in _SPARSE_INDEXES:
        op.create_index(name, table, [column])
    op.create_index("ix_variables_scope_id", "variables", ["scope_id"])
