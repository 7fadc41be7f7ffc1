"""Initial schema: process definitions, the live state of process instances, history.

Revision ID: 0001
Revises:
Create Date: 2025-11-22

Column types are the storage types of midflight.store.schema's decorators: UtcDateTime is
DateTime(timezone=True), ExactJson is Text.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.String(64)
_NAME = sa.String(255)
_TIME = sa.DateTime(timezone=True)


def _pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=f"pk_{table}")


def _index(table: str, *columns: str) -> None:
    op.create_index(f"ix_{table}_{'_'.join(columns)}", table, list(columns))


def upgrade() -> None:
    op.create_table(
        "process_definitions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("key", _NAME, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("version_tag", _NAME, nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("resource_name", sa.Text(), nullable=True),
        sa.Column("xml", sa.Text(), nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("suspended", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("deployed_at", _TIME, nullable=False),
        sa.Column("deployment_id", _ID, nullable=False),
        _pk("process_definitions"),
        sa.UniqueConstraint("key", "version", name="uq_process_definitions_key_version"),
    )
    _index("process_definitions", "key", "checksum")

    op.create_table(
        "process_instances",
        sa.Column("id", _ID, nullable=False),
        sa.Column("definition_id", _ID, nullable=False),
        sa.Column("definition_key", _NAME, nullable=False),
        sa.Column("definition_version", sa.Integer(), nullable=False),
        sa.Column("business_key", _NAME, nullable=True),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("started_at", _TIME, nullable=False),
        sa.Column("ended_at", _TIME, nullable=True),
        sa.Column("parent_process_instance_id", _ID, nullable=True),
        sa.Column("parent_element_instance_id", _ID, nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        _pk("process_instances"),
    )
    _index("process_instances", "definition_id", "state")
    _index("process_instances", "business_key")

    op.create_table(
        "element_instances",
        sa.Column("id", _ID, nullable=False),
        sa.Column("process_instance_id", _ID, nullable=False),
        sa.Column("parent_id", _ID, nullable=True),
        sa.Column("element_id", _NAME, nullable=False),
        sa.Column("element_type", sa.String(64), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("started_at", _TIME, nullable=False),
        sa.Column("loop_counter", sa.Integer(), nullable=True),
        sa.Column("entered_by_flow", _NAME, nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        _pk("element_instances"),
    )
    _index("element_instances", "process_instance_id")
    _index("element_instances", "element_id", "state")

    op.create_table(
        "variables",
        sa.Column("id", _ID, nullable=False),
        sa.Column("process_instance_id", _ID, nullable=False),
        sa.Column("scope_id", _ID, nullable=False),
        sa.Column("name", _NAME, nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        _pk("variables"),
    )
    _index("variables", "process_instance_id")
    _index("variables", "scope_id")

    op.create_table(
        "user_tasks",
        sa.Column("id", _ID, nullable=False),
        sa.Column("process_instance_id", _ID, nullable=False),
        sa.Column("element_instance_id", _ID, nullable=False),
        sa.Column("element_id", _NAME, nullable=False),
        sa.Column("definition_id", _ID, nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("assignee", _NAME, nullable=True),
        sa.Column("candidate_groups", sa.Text(), nullable=True),
        sa.Column("candidate_users", sa.Text(), nullable=True),
        sa.Column("due_date", _TIME, nullable=True),
        sa.Column("follow_up_date", _TIME, nullable=True),
        sa.Column("priority", sa.Integer(), nullable=True),
        sa.Column("form_key", sa.Text(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        _pk("user_tasks"),
    )
    _index("user_tasks", "process_instance_id")
    _index("user_tasks", "assignee")
    _index("user_tasks", "element_id")

    op.create_table(
        "jobs",
        sa.Column("id", _ID, nullable=False),
        sa.Column("process_instance_id", _ID, nullable=False),
        sa.Column("element_instance_id", _ID, nullable=False),
        sa.Column("element_id", _NAME, nullable=False),
        sa.Column("definition_id", _ID, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("type", _NAME, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("due_at", _TIME, nullable=True),
        sa.Column("worker", _NAME, nullable=True),
        sa.Column("lock_expires_at", _TIME, nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        _pk("jobs"),
    )
    _index("jobs", "state", "type", "due_at")
    _index("jobs", "kind", "state", "due_at")
    _index("jobs", "process_instance_id")

    op.create_table(
        "event_subscriptions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("process_instance_id", _ID, nullable=False),
        sa.Column("element_instance_id", _ID, nullable=False),
        sa.Column("element_id", _NAME, nullable=False),
        sa.Column("definition_id", _ID, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", _NAME, nullable=False),
        sa.Column("correlation_key", _NAME, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        _pk("event_subscriptions"),
    )
    _index("event_subscriptions", "kind", "name", "correlation_key")
    _index("event_subscriptions", "process_instance_id")

    op.create_table(
        "incidents",
        sa.Column("id", _ID, nullable=False),
        sa.Column("process_instance_id", _ID, nullable=False),
        sa.Column("element_instance_id", _ID, nullable=False),
        sa.Column("element_id", _NAME, nullable=False),
        sa.Column("definition_id", _ID, nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("job_id", _ID, nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        _pk("incidents"),
    )
    _index("incidents", "process_instance_id")

    op.create_table(
        "join_tokens",
        sa.Column("id", _ID, nullable=False),
        sa.Column("process_instance_id", _ID, nullable=False),
        sa.Column("scope_id", _ID, nullable=False),
        sa.Column("element_id", _NAME, nullable=False),
        sa.Column("flow_id", _NAME, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        _pk("join_tokens"),
    )
    _index("join_tokens", "process_instance_id")

    op.create_table(
        "history",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", _ID, nullable=False),
        sa.Column("process_instance_id", _ID, nullable=False),
        sa.Column("timestamp", _TIME, nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_history"),
    )
    _index("history", "process_instance_id", "seq")


def downgrade() -> None:
    for table in (
        "history",
        "join_tokens",
        "incidents",
        "event_subscriptions",
        "jobs",
        "user_tasks",
        "variables",
        "element_instances",
        "process_instances",
        "process_definitions",
    ):
        op.drop_table(table)
