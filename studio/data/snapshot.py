"""A second, read-only connection that sees one consistent snapshot of the database.

The export reads every table inside one transaction on its own connection, so rows
written meanwhile (an order and its events) appear in the export entirely or not at
all, while the job's progress updates go through the normal connection and are seen
at once. SQLite: a DEFERRED read transaction in WAL mode, which never blocks writers.
PostgreSQL: REPEATABLE READ, READ ONLY.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections, transaction

ALIAS = "reeldesk_export_snapshot"


def _in_memory(name: str) -> bool:
    return name == ":memory:" or "mode=memory" in name


@contextmanager
def snapshot(using: str = "default") -> Iterator[str]:
    """Yield the alias to read from; falls back to `using` inside a transaction (tests)."""
    base = connections[using]
    if base.in_atomic_block or (
        base.vendor == "sqlite" and _in_memory(str(base.settings_dict["NAME"]))
    ):
        # Already inside a transaction (a test, a caller's atomic block): that is the
        # snapshot, and a second connection could not see its rows anyway.
        yield using
        return
    config = copy.deepcopy(base.settings_dict)
    if base.vendor == "sqlite":
        config["OPTIONS"] = {**config.get("OPTIONS", {}), "transaction_mode": "DEFERRED"}
    config["CONN_MAX_AGE"] = 0
    connections.settings[ALIAS] = config
    try:
        with transaction.atomic(using=ALIAS):
            if base.vendor == "postgresql":
                with connections[ALIAS].cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield ALIAS
    finally:
        connections[ALIAS].close()
        del connections[ALIAS]
        del connections.settings[ALIAS]
