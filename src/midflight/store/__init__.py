"""Storage of definitions, live process-instance state and history: SQLite or PostgreSQL.

The store knows rows, not semantics: the engine facade hands it dicts made from the runtime's
records and gets dicts back. See ``Store`` and ``StoreTransaction``.
"""

from midflight.store._store import DEFAULT_URL, Store, StoreTransaction

__all__ = ["DEFAULT_URL", "Store", "StoreTransaction"]
