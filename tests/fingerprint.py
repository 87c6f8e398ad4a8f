"""A fingerprint of every table (all rows, hashed), to prove that nothing changed."""

from __future__ import annotations

import hashlib

from sqlalchemy import select, text

from ledger.models import Base
import purchase.models  # noqa: F401
import matching.models  # noqa: F401


def table_names(connection) -> list[str]:
    from sqlalchemy import inspect

    return sorted(inspect(connection).get_table_names())


def fingerprint(connection) -> dict[str, tuple[int, str]]:
    """table -> (row count, sha256 of the sorted rows); works on a Session or a Connection."""
    out = {}
    bind = connection.connection() if hasattr(connection, "connection") and callable(connection.connection) else connection
    for name in table_names(bind):
        rows = sorted(repr(tuple(r)) for r in connection.execute(text(f'SELECT * FROM "{name}"')))
        out[name] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    return out
