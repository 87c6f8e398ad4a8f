"""The import log (importlogboek): who imported which file, and when.

CLI.md stores the acting user on every import. `record_file_import` writes the import's row of
`imports` first, in the import's own transaction: a refused import is rolled back with
it, so the log holds only imports that took. The rows the import then makes point at it
(`import_id` on suppliers, items, orders, receipts, invoices and stock issues).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ledger.clock import utc_now
from purchase.csvfile import cannot_read
from purchase.models import Import


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, as `sha256sum` prints it."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:  # as the import itself refuses a file it cannot read
        raise cannot_read(path, exc) from None
    return digest.hexdigest()


def record_file_import(session: Session, kind: str, path: str | Path, user: str) -> int:
    """Log the import of one file (before its rows are written): its absolute path and the SHA-256
    of its bytes. Returns the import's number, the `import_id` its rows carry."""
    return session.execute(insert(Import).values(kind=kind, source=str(Path(path).absolute()), sha256=file_sha256(path),
                                                 user_name=user, imported_at=utc_now()).returning(Import.id)).scalar_one()


def import_log(session: Session) -> list[Import]:
    """Every import, oldest first."""
    return list(session.scalars(select(Import).order_by(Import.id)))
