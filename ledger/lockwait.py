"""Who a command waits for (PostgreSQL): a lock held by another session, found and told.

A writing command that meets a row, advisory or table lock another session holds waits for
it without limit and without a word (a psql session's `SELECT ... FOR UPDATE` left open, a
colleague's close-out): the user took pledger for frozen and killed it. `LockWatch` looks,
from a daemon thread and a connection of its own, whether one of the command's connections
has waited on a lock for `notice_after()` seconds, and then tells `report` once, with the
sessions that hold it (`pg_blocking_pids`, `pg_stat_activity`).

It never stands in the command's way: it takes no lock, runs in autocommit with a short
statement timeout, opens its connection only once the command has run `notice_after()`
seconds (a short command never sees it), reads `pg_stat_activity` (shared memory, no lock)
every half of that, and the lock manager's state (`pg_locks`, `pg_blocking_pids`) only
when a connection of the command does wait on a lock (`pg_locks.waitstart`: PostgreSQL 14
or later; on an older server the query fails and the watch ends). Any error of its own
ends the watch silently. `stop()` ends it when the command ends; from then on it reports nothing.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable

from sqlalchemy import Engine, event

LOCK_WAIT_NOTICE_S = 3.0
"""Seconds a command waits on a lock before it says for whom."""
NOTICE_VARIABLE = "PLEDGER_LOCK_NOTICE"
"""Sets `LOCK_WAIT_NOTICE_S` for one run, in seconds (tests lower it; 0 or less: never said)."""
POLL_LEAST = 0.1
"""The watch asks the server at most this often (seconds): PLEDGER_LOCK_NOTICE=0.001 asked it
every half millisecond for as long as the command ran."""
NOTICE_LONGEST = 2_147_483
"""The longest notice, in seconds (as PLEDGER_LOCK_TIMEOUT's): a longer one is this long."""


def notice_after() -> float:
    """`PLEDGER_LOCK_NOTICE` when it is a number, else `LOCK_WAIT_NOTICE_S` (read as a
    Decimal, as every number pledger reads: to the millisecond), at most `NOTICE_LONGEST`
    (1e400 failed every command on PostgreSQL as "internal error": no float holds it)."""
    try:
        seconds = Decimal(os.environ[NOTICE_VARIABLE])
    except (KeyError, ArithmeticError):
        return LOCK_WAIT_NOTICE_S
    return int(min(seconds, NOTICE_LONGEST) * 1000) / 1000 if seconds.is_finite() else LOCK_WAIT_NOTICE_S


@dataclass(frozen=True)
class Blocker:
    """A session that holds what a command waits for, as `pg_stat_activity` shows it to this
    login (another login's `xact_start` is hidden from a login without pg_read_all_stats: None)."""

    pid: int  # 0: a prepared transaction (no session)
    user: str | None
    application: str | None
    xact_start: dt.datetime | None  # aware
    state: str | None


@dataclass(frozen=True)
class Wait:
    """One wait of one of the command's connections: since when, and who holds the lock."""

    pid: int
    since: dt.datetime  # aware, the server's clock
    blockers: tuple[Blocker, ...]  # the oldest transaction first


_WAITING = "SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s) AND wait_event_type = 'Lock'"
_WAITS = """
SELECT l.pid, l.waitstart, now(), pg_blocking_pids(l.pid)
FROM pg_locks l WHERE l.pid = ANY(%s) AND NOT l.granted AND l.waitstart IS NOT NULL
"""
_BLOCKERS = """
SELECT b.pid, a.usename, a.application_name, a.xact_start, a.state
FROM unnest(%s::int[]) AS b(pid) LEFT JOIN pg_stat_activity a ON a.pid = b.pid
ORDER BY a.xact_start NULLS LAST, b.pid
"""


class LockWatch:
    """Watches the connections of `engine` (PostgreSQL) for a lock wait longer than `after`
    seconds, and calls `report(wait)` once for each (from its own thread)."""

    def __init__(self, engine: Engine, report: Callable[[Wait], None], after: float | None = None) -> None:
        self.after = notice_after() if after is None else after
        self._engine = engine
        self._report = report
        self._pids: set[int] = set()  # the backends of the command's open connections
        self._changing = threading.Lock()  # `_pids` changes in the command's threads, is read in the watch's
        self._told: set[tuple[int, dt.datetime]] = set()
        self._stopped = threading.Event()
        self._saying = threading.Lock()  # a report under way finishes before `stop` returns
        self._thread: threading.Thread | None = None
        event.listen(engine, "connect", self._connected)
        event.listen(engine, "close", self._closed)

    def _connected(self, dbapi_connection, connection_record) -> None:
        pid = dbapi_connection.info.backend_pid  # known to the driver: no round trip
        connection_record.info["backend_pid"] = pid
        with self._changing:
            self._pids.add(pid)

    def _closed(self, dbapi_connection, connection_record) -> None:
        with self._changing:
            self._pids.discard(connection_record.info.get("backend_pid"))

    def start(self) -> LockWatch:
        if self.after > 0:
            self._thread = threading.Thread(target=self._watch, name="pledger-lockwait", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """No report after this returns; the thread closes its connection and ends by itself."""
        self._stopped.set()
        with self._saying:
            pass

    def _watch(self) -> None:
        connection = None
        try:
            delay = self.after
            while not self._stopped.wait(delay):
                delay = max(self.after / 2, POLL_LEAST)
                with self._changing:
                    pids = sorted(self._pids)
                if not pids:
                    continue
                if connection is None:
                    connection = self._connect()
                with connection.cursor() as cursor:
                    if not cursor.execute(_WAITING, (pids,)).fetchall():
                        continue
                    waits = cursor.execute(_WAITS, (pids,)).fetchall()
                    for pid, since, now, blocking in waits:
                        waited = (now - since).total_seconds()
                        if waited < self.after:
                            delay = min(delay, max(self.after - waited, 0.01))
                            continue
                        if (pid, since) in self._told or not blocking:
                            continue
                        blockers = tuple(Blocker(*row) for row in cursor.execute(_BLOCKERS, (blocking,)).fetchall())
                        self._told.add((pid, since))
                        self._say(Wait(pid, since, blockers))
        except Exception:  # noqa: BLE001 - the watch is a help: it never breaks the command
            pass
        finally:
            if connection is not None:
                try:
                    connection.close()
                except Exception:  # noqa: BLE001
                    pass

    def _say(self, wait: Wait) -> None:
        with self._saying:
            if not self._stopped.is_set():
                self._report(wait)

    def _connect(self):
        """A connection of its own (not the pool's: no event, no checkout the command could
        wait for), in autocommit, that no statement of it can hold up for long."""
        dialect = self._engine.dialect
        cargs, cparams = dialect.create_connect_args(self._engine.url)
        cparams = {**cparams, "autocommit": True, "connect_timeout": 5,
                   "fallback_application_name": "pledger (who holds a lock)"}
        connection = dialect.loaded_dbapi.connect(*cargs, **cparams)
        connection.execute("SELECT set_config('statement_timeout', '5000', false), set_config('lock_timeout', '1000', false)")
        return connection
