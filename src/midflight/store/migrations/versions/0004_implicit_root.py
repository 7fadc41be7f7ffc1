"""The root element instance of a process instance is no longer a row of its own, and user
tasks have no index on their element.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

The process instance row says all that the root element instance's row said (its id, the
process, when it started, that it is active), and every start wrote both, with the root's
index entries. The runtime now makes the root from the instance row when it loads an instance.

Tasks at an element are found through the element instances' (element_id, state) index, so the
user tasks' own element index, which every task wrote to and every completion deleted from,
goes.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM element_instances WHERE parent_id IS NULL")
    op.drop_index("ix_user_tasks_element_id", table_name="user_tasks")


def downgrade() -> None:
    op.create_index("ix_user_tasks_element_id", "user_tasks", ["element_id"])
    op.execute(
        "INSERT INTO element_instances (id, process_instance_id, parent_id, element_id, "
        "element_type, state, started_at, loop_counter, entered_by_flow, revision) "
        "SELECT id, id, NULL, definition_key, 'process', 'ACTIVE', started_at, NULL, NULL, 1 "
        "FROM process_instances WHERE state IN ('ACTIVE', 'SUSPENDED')"
    )
