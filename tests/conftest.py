"""Test databases: every test gets a fresh, migrated database on SQLite and on PostgreSQL.

The schema comes from the Alembic migrations only, run once per session into a template
(a SQLite file copied per test; a PostgreSQL database cloned with CREATE DATABASE ...
TEMPLATE). PostgreSQL tests skip with the reason when no server is reachable, except
under CI (CI=true), where an unreachable server fails them: CI must not skip them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ledger.db import make_engine, make_sessionmaker
from ledger.periods import open_year
from migrations import runner
from purchase.settings import install_defaults

PG_ADMIN_URLS = [
    os.environ.get("PLEDGER_TEST_PG", ""),
    "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "postgresql+psycopg://root@127.0.0.1:5432/test",
]
TEST_YEAR = 2026


def _pg_admin_url() -> str | None:
    for url in filter(None, PG_ADMIN_URLS):
        try:
            engine = create_engine(url, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.execute(text("select 1"))
            engine.dispose()
            return url
        except Exception:
            continue
    return None


@dataclass
class Books:
    """A fresh migrated database with the default settings, and ways to use it."""

    url: str
    dialect: str

    def __post_init__(self):
        self.engine = make_engine(self.url)
        self.maker = make_sessionmaker(self.engine)

    @contextlib.contextmanager
    def session(self):
        """A Session whose work is committed at the end (like one CLI command)."""
        with self.maker() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def cli(self, *args, user: str = "ann", input: str | None = None):
        """Run pledger against this database; returns the Click result."""
        from cli import commands  # noqa: F401
        from cli.main import cli

        runner_ = CliRunner()
        return runner_.invoke(cli, ["--db", self.url, "--user", user, *map(str, args)], input=input, catch_exceptions=False,
                              prog_name="pledger")  # as installed (Click would name it after the function)

    def raw(self, sql: str, **params):
        with self.engine.begin() as conn:
            return conn.execute(text(sql), params)

    def start_waiting(self, work, what: str) -> threading.Thread:
        """Start `work` in a thread of its own and return once it waits for a lock (PostgreSQL)
        or has ended: a second user's command against the caller's uncommitted transaction,
        seen waiting rather than slept for. `what` names it if it does neither in 30 s."""
        thread = threading.Thread(target=work)
        thread.start()
        self.until_waiting(thread.is_alive, what)
        return thread

    def until_waiting(self, running, what: str, seconds: float = 30) -> None:
        """Return once a session of these books waits for a lock (PostgreSQL), or `running()`
        is false: seen, not slept for (a fixed sleep let a thread or command that had not
        reached its lock yet, on a loaded host, pass a test without the wait it is about).
        `what` names it if it does neither in `seconds`."""
        deadline = time.monotonic() + seconds
        while running() and not self.raw("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                          "AND datname = current_database()").scalar():
            assert time.monotonic() < deadline, f"{what} neither waited nor ended in {seconds:g} s"
            time.sleep(0.05)


class _Templates:
    def __init__(self, tmp_root: Path):
        self.tmp_root = tmp_root
        self.sqlite_template: Path | None = None
        self.pg_admin: str | None = None
        self.pg_template: str | None = None
        self.pg_checked = False
        self.created_pg: list[str] = []
        self._dropping: ThreadPoolExecutor | None = None
        self._dropper = None  # the admin engine of the background drops

    def _prepare(self, url: str) -> None:
        engine = make_engine(url)
        runner.upgrade(engine)
        with make_sessionmaker(engine)() as session:
            install_defaults(session, "EUR", dt.date(TEST_YEAR, 6, 1))
            open_year(session, TEST_YEAR)
            session.commit()
        engine.dispose()

    def sqlite(self) -> str:
        if self.sqlite_template is None:
            path = self.tmp_root / "template.db"
            self._prepare(f"sqlite:///{path}")
            self.sqlite_template = path
        target = self.tmp_root / f"t-{uuid.uuid4().hex[:10]}.db"
        shutil.copy(self.sqlite_template, target)
        return f"sqlite:///{target}"

    def postgresql(self) -> str:
        if not self.pg_checked:
            self.pg_checked = True
            self.pg_admin = _pg_admin_url()
        if self.pg_admin is None:
            reason = "no PostgreSQL server reachable on 127.0.0.1:5432 (start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)"
            if os.environ.get("CI"):
                pytest.fail(f"CI must run the PostgreSQL tests, but {reason}")
            pytest.skip(reason)
        admin = create_engine(self.pg_admin, isolation_level="AUTOCOMMIT")
        base = make_url(self.pg_admin)
        if self.pg_template is None:
            name = f"pledger_tpl_{os.getpid()}"
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            self._prepare(base.set(database=name).render_as_string(hide_password=False))
            self.pg_template = name
            self.created_pg.append(name)
        name = f"pledger_t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.pg_template}"'))
        admin.dispose()
        self.created_pg.append(name)
        return base.set(database=name).render_as_string(hide_password=False)

    def release(self, url: str) -> None:
        """A test is done with its database: a PostgreSQL one is dropped behind, in threads
        of their own, while the next tests run (the suite makes about 900, and dropped them
        all at its end: 51 to 121 s). Each DROP DATABASE waits for a checkpoint; drops side
        by side share theirs (16 databases: 2.30 s one at a time, 1.41 s four at a time,
        0.82 s eight at a time), so when they queue up, four go at once. Only when the suite
        runs in several processes (pytest-xdist): in one, the checkpoints the drops force kept
        the tests waiting (1,088 s, against 733 s with every drop at the end, 6 December), and
        `drop_all` drops them at the end. A SQLite file is left to the temporary folder."""
        if not url.startswith("postgresql") or self.pg_admin is None or not os.environ.get("PYTEST_XDIST_WORKER"):
            return
        name = make_url(url).database
        if self._dropping is None:
            self._dropping = ThreadPoolExecutor(4, thread_name_prefix="drop-database")
            self._dropper = create_engine(self.pg_admin, isolation_level="AUTOCOMMIT", pool_size=4)

        def drop() -> None:
            with self._dropper.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            self.created_pg.remove(name)  # dropped: drop_all need not (a failed drop it tries again)

        self._dropping.submit(drop)

    def drop_all(self) -> None:
        """Drop every database the session made and has not dropped yet, the template last.
        Four at a time: one DROP DATABASE waits about 0.13 s on this server, mostly for its
        files, and four side by side take 0.03 s each."""
        if self._dropping is not None:
            self._dropping.shutdown(wait=True)
            self._dropper.dispose()
        if not self.pg_admin or not self.created_pg:
            return
        admin = create_engine(self.pg_admin, isolation_level="AUTOCOMMIT", pool_size=4)

        def drop(name: str) -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

        templates = {self.pg_template}
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(drop, [name for name in self.created_pg if name not in templates]))
        for name in templates - {None}:
            drop(name)
        admin.dispose()


def a_day_that_lasts(seconds: float = 120) -> dt.date:
    """Today, as the commands a test runs next will take it: where local midnight is less than
    `seconds` away, wait past it first, so that a test comparing the date a command took (no
    --date: today) with the date it read itself cannot see the day change in between."""
    now = dt.datetime.now()
    left = (dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time()) - now).total_seconds()
    if left < seconds:
        time.sleep(left + 0.5)
    return dt.date.today()


@pytest.fixture
def brussels(monkeypatch):
    """The machine's zone: Europe/Brussels (UTC+1 in winter, UTC+2 in summer)."""
    monkeypatch.setenv("TZ", "Europe/Brussels")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(scope="session")
def templates(tmp_path_factory):
    t = _Templates(tmp_path_factory.mktemp("dbs"))
    yield t
    t.drop_all()


def pytest_generate_tests(metafunc):
    if "db_kind" in metafunc.fixturenames:
        kinds = [pytest.param("sqlite", id="sqlite"), pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql)]
        if metafunc.definition.get_closest_marker("postgresql_only"):
            kinds = kinds[1:]
        metafunc.parametrize("db_kind", kinds)


@pytest.fixture
def books(templates, db_kind) -> Books:
    url = templates.sqlite() if db_kind == "sqlite" else templates.postgresql()
    b = Books(url=url, dialect=db_kind)
    yield b
    b.engine.dispose()
    templates.release(url)


@pytest.fixture
def fresh_url(templates, db_kind, tmp_path) -> str:
    """An empty database (no schema) on the given kind, for migration tests."""
    if db_kind == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    templates.postgresql()  # skips or fails when no server
    admin = create_engine(templates.pg_admin, isolation_level="AUTOCOMMIT")
    name = f"pledger_e_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    templates.created_pg.append(name)
    return make_url(templates.pg_admin).set(database=name).render_as_string(hide_password=False)


def pytest_collection_modifyitems(config, items):
    """`long` variants run only when asked for (`-m long`, or PLEDGER_LONG=1), as README.md says."""
    if "long" in (config.getoption("-m") or "") or os.environ.get("PLEDGER_LONG"):
        return
    skip = pytest.mark.skip(reason="long-running variant: run with -m long")
    for item in items:
        if item.get_closest_marker("long"):
            item.add_marker(skip)
