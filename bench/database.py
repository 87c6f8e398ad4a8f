"""A fresh database for one bench run: a SQLite file in the work folder (a SQLite URL's own
file is not used), or a new PostgreSQL database `pledger_<name>_<pid>` on the server the URL
names, whatever database it names (that one is only connected to, to make it); the benches
drop it again at the end, but `bench book`, which leaves it for pledger commands. The
benches' `--db` help says so (`bench.__main__.fresh_db_help`)."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import text

from ledger.db import normalize_url


def fresh_database(url: str | None, workdir: Path, name: str = "bench") -> str:
    if url is None or url.startswith("sqlite"):
        path = workdir / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return f"sqlite:///{path}"
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    url = normalize_url(url)
    base = make_url(url)
    name = f"pledger_{name}_{os.getpid()}"
    admin = create_engine(base.set(database="postgres" if base.database in (None, "") else base.database), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    if url.startswith("sqlite"):
        return
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    base = make_url(url)
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{base.database}" WITH (FORCE)'))
    admin.dispose()
