"""The CLI's application context: one engine and one Session per command invocation.

The CLI owns the transaction (STYLE.md): services take the Session and never commit.
`app.transaction()` commits when the command's work succeeds and rolls back on any
error; `app.trial()` always rolls back, which is how a trial runs the real code path
and leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import getpass
import os
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ledger.db import make_engine, make_sessionmaker, normalize_url


def default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (containers): still someone must be named
        return os.environ.get("USER") or "unknown"


@dataclass
class App:
    db_url: str
    user: str
    output_format: str = "table"
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.db_url)
        return self._engine

    @contextlib.contextmanager
    def transaction(self, *, readonly: bool = False):
        """A Session in one transaction: committed on success, rolled back on error."""
        maker = make_sessionmaker(self.engine)
        options = {"sqlite_begin": "DEFERRED"} if readonly else {}
        with maker() as session:
            if options:
                session.connection(execution_options=options)
            try:
                yield session
                if readonly:
                    session.rollback()
                else:
                    session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextlib.contextmanager
    def trial(self):
        """A Session whose transaction is always rolled back."""
        maker = make_sessionmaker(self.engine)
        with maker() as session:
            try:
                yield session
            finally:
                session.rollback()

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def make_app(db: str | None, user: str | None, output_format: str) -> App:
    return App(db_url=normalize_url(db), user=user or default_user(), output_format=output_format)
