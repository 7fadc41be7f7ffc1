"""Alembic environment for Midflight's schema.

Migrations run only through ``midflight.store.Store``, which opens the transaction, passes its
connection in ``config.attributes["connection"]`` and calls ``alembic upgrade head`` in code; there
is no alembic.ini. To write a new revision, build the same ``Config`` (see
``midflight.store._store._upgrade``) with a connection to an up-to-date database and call
``alembic.command.revision(config, message, autogenerate=True)``, then edit the result.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from midflight.store.schema import metadata

if context.is_offline_mode():
    raise RuntimeError("Midflight's migrations run online only, through midflight.store.Store")

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "Midflight's migrations need a connection in config.attributes['connection']; "
        "open a midflight.store.Store to migrate a database"
    )

context.configure(connection=connection, target_metadata=metadata)
# The Store's transaction is already open, so this joins it: the migration commits or rolls
# back with it, as one unit.
with context.begin_transaction():
    context.run_migrations()
