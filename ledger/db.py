"""Engines and sessions: SQLite done right, PostgreSQL through psycopg 3.

SQLite: WAL, foreign keys, a busy timeout, synchronous=FULL (a committed entry survives
a power cut, not only a crash of the program), and the documented SQLAlchemy recipe that
takes transaction control away from the sqlite3 driver so that every transaction starts
with `BEGIN IMMEDIATE`: two writers queue on the busy timeout instead of one failing
with "database is locked" half-way. Read-only commands may ask for a deferred BEGIN
with the execution option `sqlite_begin="DEFERRED"`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import time
from pathlib import Path

from sqlalchemy import Engine, String, any_, bindparam, cast, create_engine, event, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from ledger.bulk import SQLITE_JSON, before_statement, end_writer
from ledger.errors import PledgerError

BUSY_TIMEOUT_MS = 60_000
IDLE_IN_TRANSACTION_MS = BUSY_TIMEOUT_MS
"""PostgreSQL: how long a session of pledger's may stand idle inside a transaction before the
server ends it (`idle_in_transaction_session_timeout`). pledger never waits on anything but
the database inside a transaction (reports are read into spills and printed after it), so a
transaction that stands idle this long belongs to a pledger that cannot go on: suspended
(Ctrl-Z), its output blocked, its machine asleep or cut off the network. Its row and
advisory locks would hold every other writer of those lines (and, through a period lock
queued behind them, every posting) for ever; the server ends it instead, rolls it back
whole, and the others go on. As SQLite's busy timeout, the same 60 seconds."""
DEFAULT_URL = "sqlite:///pledger.db"


_URL_READS_OTHERWISE = re.compile(r"[%?#]")
"""What a URL reads as other than a file name's characters: '%' an escape, '?' its options, '#'."""


def normalize_url(url: str | None) -> str:
    """A SQLAlchemy URL; a bare path means a SQLite file, postgresql:// means psycopg 3.
    A bare path's characters that a URL reads otherwise ('?' its options, '%' an escape,
    '#') are escaped, and only those (a name like `boeken-é 2026.db` stays as typed in the
    messages that show the URL): `books?2026.db` is that file, not a file 'books' with options."""
    url = url or os.environ.get("PLEDGER_DB") or DEFAULT_URL
    if "://" not in url:
        url = "sqlite:///" + _URL_READS_OTHERWISE.sub(lambda m: f"%{ord(m.group()):02X}", str(Path(url)))
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names, there or not; None for memory, a `file:` URI and PostgreSQL."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:" \
            or parsed.database.startswith("file:"):
        return None
    return Path(parsed.database)


SQLITE_COMPANIONS = ("", "-journal", "-wal", "-shm")
"""The books' file and the journal files SQLite keeps beside it: each is the books."""


def missing_sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names, when it does not exist (connecting would create it empty);
    None for anything else (an existing file, memory, PostgreSQL)."""
    path = sqlite_file(url)
    return None if path is None or path.exists() else path


SUPPORTED = {"sqlite": "pysqlite", "postgresql": "psycopg"}  # backend: the driver make_engine is written for
URL_FORMS = "a SQLite file path, sqlite:///FILE or postgresql://USER@HOST/DATABASE"


def usable_url(url: str | None) -> str:
    """The normalized URL, or ValueError saying in one line why it cannot be used.

    What a bare path is (a SQLite file) is `normalize_url`'s; this only refuses what would
    fail later as an unexpected error: an unparseable URL, an unknown kind of database, a
    driver pledger is not written for or that is not installed."""
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except Exception as exc:  # ArgumentError (no URL at all), ValueError (a port that is not a number)
        shown = re.sub(r"://([^:/@]*):[^@/]*@", r"://\1:***@", url)  # no password in the message
        raise ValueError(f"'{shown}' is not a database URL ({str(exc).strip() or type(exc).__name__}); use {URL_FORMS}") from None
    shown = parsed.render_as_string(hide_password=True)
    backend = parsed.get_backend_name()
    try:
        dialect = parsed.get_dialect()
    except Exception:  # NoSuchModuleError: no such kind of database, or no such driver, in SQLAlchemy
        if backend in SUPPORTED and "+" in parsed.drivername:
            raise ValueError(f"'{shown}': no database driver '{parsed.drivername.partition('+')[2]}' for {backend}; "
                             f"use {URL_FORMS}") from None
        raise ValueError(f"'{shown}': unknown kind of database '{backend}'; use {URL_FORMS}") from None
    if SUPPORTED.get(backend) != dialect.driver:
        raise ValueError(f"'{shown}': pledger does not work with {parsed.drivername}; use {URL_FORMS}")
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        raise ValueError(f"'{shown}': the {parsed.drivername} driver is not installed ({exc})") from None
    return url


def make_engine(url: str | None = None, *, application_name: str | None = None, lock_timeout_ms: int | None = None,
                **kwargs) -> Engine:
    """An engine for `url`. `application_name` (PostgreSQL; nothing on SQLite): what its
    connections show in `pg_stat_activity` ('pledger closeout run'), so that a session
    waiting for one of them sees what it does. A name the URL gives (`?application_name=`)
    or PGAPPNAME is kept: this one is libpq's fallback. `lock_timeout_ms` (PostgreSQL; 0 or
    None: the server's own): how long a statement of its connections waits for a lock
    before the server refuses it (`lock_timeout`, SQLSTATE 55P03)."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}, **kwargs)
        _sqlite_recipe(engine)
        _writer_hooks(engine)
        return engine
    # No statement prepared by psycopg (it prepares one on its fifth execution): PostgreSQL
    # then settles on a generic plan, made without the parameters and from the statistics of
    # that moment, and keeps it while a batch grows the table. Measured: an import's check
    # for existing order numbers (`number = ANY(500 numbers)`) kept a sequential scan planned
    # when purchase_orders was nearly empty, 100 to 346 ms a batch as it grew to 18,000
    # orders (4.1 s of a 100,000-line import). Unprepared, each execution is planned with
    # its parameters: an index search. (Not `plan_cache_mode = force_custom_plan`: that also
    # re-plans the foreign-key checks PostgreSQL runs for every row inserted.)
    connect_args = {"prepare_threshold": None, **kwargs.pop("connect_args", {})}
    if application_name:
        connect_args.setdefault("fallback_application_name", application_name)
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    _postgresql_session(engine, lock_timeout_ms)
    _writer_hooks(engine)
    return engine


def _postgresql_session(engine: Engine, lock_timeout_ms: int | None = None) -> None:
    """Every connection ends a transaction that stands idle for `IDLE_IN_TRANSACTION_MS`
    (set on the session, outside any transaction: psycopg would otherwise open one), unless
    the server, the database or the login already has a timeout of its own: the
    administrator's is kept. `lock_timeout_ms`, given, is set over the server's: the user
    asked for it for this command (PLEDGER_LOCK_TIMEOUT)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record):
        autocommit, dbapi_connection.autocommit = dbapi_connection.autocommit, True
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT set_config('idle_in_transaction_session_timeout', %s, false) "
                               "WHERE current_setting('idle_in_transaction_session_timeout') = '0'",
                               (str(int(IDLE_IN_TRANSACTION_MS)),))
                if lock_timeout_ms:
                    cursor.execute("SELECT set_config('lock_timeout', %s, false)", (str(int(lock_timeout_ms)),))
        finally:
            dbapi_connection.autocommit = autocommit


def _writer_hooks(engine: Engine) -> None:
    """A run writing behind (`ledger.bulk.write_behind`) is done before any other statement,
    written before a commit, and dropped on a rollback or when its connection goes back to
    the pool.

    A connection SQLAlchemy gave up on (invalidated: Ctrl-C or SIGTERM arrived inside a
    statement, or the server went away) has no `info` to look in: reading it raises
    PendingRollbackError, which would take the place of the interruption the user is to
    see. Its transaction is gone with it, and its writer, if it had one, was stopped as
    SQLAlchemy gave it up, before it closed it."""

    @event.listens_for(engine, "before_cursor_execute")
    def _after_the_writer(conn, cursor, statement, parameters, context, executemany):
        before_statement(conn, statement)  # a run writing behind (`ledger.bulk.write_behind`) is done first

    @event.listens_for(engine, "commit")
    def _commit_after_the_writer(conn):
        if not conn.invalidated:
            end_writer(conn.info, cancel=False)

    @event.listens_for(engine, "rollback")
    def _rollback_without_the_writer(conn):
        if not conn.invalidated:
            end_writer(conn.info, cancel=True)

    @event.listens_for(engine, "invalidate")
    def _invalidated_without_the_writer(dbapi_connection, connection_record, exception):
        # before SQLAlchemy closes the connection: a writer left running would go on with it
        # closed (seen, SIGTERM during a close-out on SQLite: the writer's error printed, or
        # SQLite crashing the program, exit -11)
        end_writer(connection_record.info, cancel=True)

    @event.listens_for(engine, "reset")
    def _reset_without_the_writer(dbapi_connection, connection_record, reset_state):
        end_writer(connection_record.info, cancel=True)


class BooksFileGone(PledgerError):
    """The SQLite books' file was deleted or replaced while a command ran: a commit would go
    into the file the connection holds open, which is no longer the books."""

    def __init__(self, path: str, how: str):
        super().__init__(f"the books' file {path} was {how} while this command ran: nothing was written to the books; "
                         f"run it again on the books as they are now")


def _file_id(path: str) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return found.st_dev, found.st_ino


def _sqlite_recipe(engine: Engine) -> None:
    path = sqlite_file(str(engine.url))

    @event.listens_for(engine, "commit")
    def _still_the_books(conn):
        """Before a COMMIT: the file the connection opened is still the books' file. SQLite
        commits into the file it holds open, even deleted or replaced (a restore, a copy over
        it): the command said it was done and its work was nowhere to be found."""
        opened = conn.info.get("sqlite_file_id")
        if path is None or opened is None:
            return
        now = _file_id(str(path))
        if now != opened:
            raise BooksFileGone(str(path), "deleted" if now is None else "replaced")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record):
        opened = _file_id(str(path)) if path is not None else None
        if opened is not None:  # a file SQLite makes now (init) is the books whatever it becomes
            connection_record.info["sqlite_file_id"] = opened
        # take BEGIN away from the pysqlite driver (SQLAlchemy docs, "Serializable isolation /
        # Savepoints / Transactional DDL"); we emit our own below
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        if mode == "IMMEDIATE":
            _begin_immediate(conn)
        else:
            conn.exec_driver_sql(f"BEGIN {mode}")


BUSY_SLICE_MS = 100
"""SQLite: how long one try of BEGIN IMMEDIATE waits for another writer (see `_begin_immediate`)."""


def _begin_immediate(conn) -> None:
    """BEGIN IMMEDIATE, waiting up to `BUSY_TIMEOUT_MS` for another writer, as the busy
    timeout does, but in tries of `BUSY_SLICE_MS`. SQLite waits inside one call of the
    driver, where Python runs no signal handler: Ctrl-C or SIGTERM to a command queued behind
    a long import did nothing until the whole busy timeout (60 s) had gone by. Between tries
    the signal stops the command at once. The last try is SQLAlchemy's, so that giving up
    raises its OperationalError ("database is locked"), which `cli.app` runs again."""
    raw = conn.connection.dbapi_connection
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    raw.execute(f"PRAGMA busy_timeout = {min(BUSY_SLICE_MS, BUSY_TIMEOUT_MS)}")
    try:
        while (deadline - time.monotonic()) * 1000 > BUSY_SLICE_MS:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not sqlite_busy(exc):
                    break  # said by the last try, as SQLAlchemy says it
        raw.execute(f"PRAGMA busy_timeout = {max(0, int((deadline - time.monotonic()) * 1000))}")
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    finally:
        raw.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def sqlite_busy(error: BaseException) -> bool:
    """Whether SQLite gave up because another connection was writing ("database is locked",
    after the busy timeout): the one rule for it, here and where `cli.app` runs a command again."""
    if not isinstance(error, sqlite3.OperationalError):
        return False
    said = str(error).lower()
    return "database is locked" in said or "database is busy" in said or "database table is locked" in said


@contextlib.contextmanager
def marked_commit():
    """Around a COMMIT: a database error raised in it is marked `during_commit`. A connection
    lost then (an administrator's pg_terminate_backend, a failover) may have committed or
    not; lost before it, the transaction wrote nothing. The CLI says which."""
    try:
        yield
    except DBAPIError as exc:
        exc.during_commit = True
        raise


def is_sqlite(bind) -> bool:
    return bind.dialect.name == "sqlite"


def one_of(bind, column, values):
    """`column IN values`, as the database takes it fastest.

    PostgreSQL: `column = ANY(array)`, one parameter. An IN list is a new statement text
    for every number of values, which psycopg parses and SQLAlchemy renders anew each
    time (measured: a third of the time a close-out spent reading its lines); the array
    form is one statement text, which SQLAlchemy compiles once. The array is given as a
    scalar subquery, `ANY ((SELECT %s::type[])::type[])`, whose length the planner does not
    look into: it then reckons with a few values and finds them through the column's
    index. Given the array itself, it weighs that many index lookups against reading the
    whole table, and on a vacuumed book (its pages all-visible) it chose to read the whole
    table: measured at 100,000 order lines, 21 ms to read the 3,214 lines of a close-out
    chunk's 615 orders that way, 3 ms through the index, for each of a run's 31 chunks.

    SQLite: whole numbers and texts as one JSON array, `column IN (SELECT value FROM
    json_each(?))`: one statement text too, searched through the column's index like an
    IN list (EXPLAIN QUERY PLAN: SEARCH ... LIST SUBQUERY), without SQLAlchemy's work for
    each value of an IN list (measured: a few microseconds a value). Other values, or a
    SQLite without json_each: the IN list. `bind` is a Session or Connection.
    """
    values = list(values)
    dialect = (bind.get_bind() if isinstance(bind, Session) else bind).dialect
    if dialect.name == "postgresql":
        array = postgresql.ARRAY(column.type)
        return column == any_(cast(select(bindparam(None, values, type_=array)).scalar_subquery(), array))
    if has_json_each() and all(type(v) is int or type(v) is str for v in values):
        listed = func.json_each(bindparam(None, json.dumps(values), type_=String)).table_valued("value")
        return column.in_(select(listed.c.value))
    return column.in_(values)


_HAS_JSON_EACH = SQLITE_JSON


def has_json_each() -> bool:
    """Whether this Python's SQLite has the JSON functions (`json_each`, `json_extract`)."""
    return _HAS_JSON_EACH


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
