"""The CLI's application context: one engine and one Session per command invocation.

The CLI owns the transaction (STYLE.md): services take the Session and never commit.
`app.transaction()` commits when the command's work succeeds and rolls back on any
error; `app.trial()` always rolls back, which is how a trial runs the real code path
and leaves nothing behind.

`app.run_in_transaction(fn)` is how a writing command runs its unit of work: `fn(session)`
in one transaction, and when the database gives up on that transaction because of
another writer (PostgreSQL serialization_failure 40001 or deadlock_detected 40P01, a
unique_violation 23505 lost in a race such as two first close-outs creating the counter
row, SQLite "database is locked" after the busy timeout), the WHOLE unit is run again in
a new transaction after a short randomized backoff, at most `RETRY_ATTEMPTS` times. The
work is never resumed half-way: what the failed attempt did was rolled back by the
database. `fn` must therefore do nothing outside the database that cannot be repeated
(print after it returns).

Who acts: `--user` (or PLEDGER_USER), default the operating-system login. On PostgreSQL,
when the connected login is a member of one of the application roles of `pledger db
roles` (ledger/roles.py), the acting user is the database login itself: `--user` may be
left out or name that login; any other name is refused.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import os
import random
import shlex
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable, TypeVar

from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from cli.progress import ERASE_LINE
from ledger.db import make_engine, make_sessionmaker, marked_commit, missing_sqlite_file, normalize_url, sqlite_busy
from ledger.errors import PledgerError
from ledger.lockwait import LockWatch, Wait
from migrations import NewerSchema, OlderSchema, is_newer, is_older
from purchase.settings import refuse_not_installed

T = TypeVar("T")

RETRY_ATTEMPTS = 5
RETRY_SQLSTATES = {
    "40001": "serialization failure",
    "40P01": "deadlock",
    "23505": "concurrent insert of the same key",
}


def default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (containers): still someone must be named
        return os.environ.get("USER") or "unknown"


def retry_reason(exc: BaseException) -> str | None:
    """Why the database gave up on a transaction another writer was in the way of; None if not that."""
    orig = getattr(exc, "orig", exc)
    sqlstate = getattr(orig, "sqlstate", None)  # psycopg 3
    if sqlstate in RETRY_SQLSTATES:
        return RETRY_SQLSTATES[sqlstate]
    if sqlite_busy(orig):
        return "database is locked"
    return None


def first_line(exc) -> str:
    """The first line of what an error says (a driver's may run to several), or its kind."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _given_up(exc: BaseException, reason: str, attempts: int) -> str:
    """Why a command was given up after `attempts` tries. A key found taken on every try is
    said with the key: another writer may have kept taking it, or the books were changed
    outside pledger (a counter set back made every next number one already given, which read
    "other writers kept the database busy" though no one else was writing)."""
    orig = getattr(exc, "orig", exc)
    if getattr(orig, "sqlstate", None) == "23505":
        detail = getattr(getattr(orig, "diag", None), "message_detail", None)
        said = first_line(orig) + (f": {detail}" if detail else "")
        return (f"the database found a key already taken on every one of {attempts} tries ({said}); nothing was "
                f"written: run it again if others are writing, else the books were changed outside pledger: run 'pledger check'")
    return f"other writers kept the database busy: it gave up on this command {attempts} times ({reason}); nothing was written: run it again"


def waiting_line(wait: Wait, committed: int = 0, gives_up_after: Decimal | None = None) -> str:
    """What a command that has waited `ledger.lockwait.notice_after()` seconds on a lock says:
    who holds it (the session whose transaction is oldest, when several do), that it goes on
    when they end (or gives up after PLEDGER_LOCK_TIMEOUT), and what Ctrl-C would leave behind."""
    first, others = wait.blockers[0], len(wait.blockers) - 1
    if first.pid == 0:  # pg_blocking_pids' zero: a transaction prepared for two-phase commit
        who = "a prepared transaction that holds the books (see pg_prepared_xacts)"
    else:
        since = None
        if first.xact_start is not None:
            idle = "idle " if first.state == "idle in transaction" else ""
            since = f"{idle}in a transaction since {_clock_time(first.xact_start)}"
        details = [f"user {first.user}" if first.user else None, f"pid {first.pid}",
                   f"application '{first.application}'" if first.application else None, since]
        who = f"another session that holds the books ({', '.join(filter(None, details))})"
    if others:
        who += f" and {others} other session{'s' if others > 1 else ''}"
    stop = "Ctrl-C stops it and writes nothing" if not committed else \
        "Ctrl-C stops it here, and what it committed before stands"
    goes_on = f"pledger goes on when {'they end' if others else 'it ends'}"
    if gives_up_after:
        goes_on += f", or gives up after PLEDGER_LOCK_TIMEOUT ({gives_up_after.normalize():f} s)"
    return f"waiting for {who}: {goes_on}; {stop}"


def _clock_time(moment: dt.datetime) -> str:
    """A server's time in local time: the time of day if today, else with its date."""
    local = moment.astimezone()
    return local.strftime("%H:%M:%S" if local.date() == dt.datetime.now().astimezone().date() else "%Y-%m-%d %H:%M:%S")


def backoff(attempt: int) -> float:
    """Seconds to wait before attempt `attempt + 1`: randomized, growing, below a second."""
    return random.uniform(0.02, 0.1) * (2 ** (attempt - 1))


@dataclass
class App:
    db_url: str
    user: str
    output_format: str = "table"
    claimed_user: str | None = None  # --user / PLEDGER_USER as given, None when left out
    retries: int = 0  # transactions run again in this invocation (for tests and diagnostics)
    creates: bool = False  # the command makes the database if it is not there (init, demo)
    on_any_book: bool = False  # the command works on a book without its defaults (init, demo, db roles)
    committed: int = 0  # transactions committed so far (a command whose output is then lost says so)
    committing: bool = False  # a COMMIT is under way: an interruption now cannot tell whether it was made
    command: str = "pledger"  # the command run ('pledger closeout run'): its connections' application_name
    lock_timeout: Decimal | None = None  # PLEDGER_LOCK_TIMEOUT, seconds (PostgreSQL's lock_timeout); None: the server's
    _engine: Engine | None = field(default=None, repr=False)
    _watch: LockWatch | None = field(default=None, repr=False)
    _login_checked: bool = field(default=False, repr=False)
    _schema_checked: bool = field(default=False, repr=False)
    _installed_checked: bool = field(default=False, repr=False)

    @property
    def shown_url(self) -> str:
        """The database URL as pledger prints it: any password as ***."""
        return make_url(self.db_url).render_as_string(hide_password=True)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            missing = missing_sqlite_file(self.db_url)
            if missing is not None and not self.creates:  # SQLite would make an empty file there
                raise PledgerError(f"the database file {missing} does not exist: to make the books there, run "
                                   f"'pledger --db {shlex.quote(str(missing))} init' (or check --db / PLEDGER_DB)")
            self._engine = make_engine(self.db_url, application_name=self.command,
                                       lock_timeout_ms=None if self.lock_timeout is None else max(1, round(self.lock_timeout * 1000)))
            # after make_engine's own hooks (a run's writer ended, the SQLite file still the books): the COMMIT itself
            event.listen(self._engine, "commit", self._commit_under_way)
            if self._engine.dialect.name == "postgresql":  # SQLite's writers queue on its busy timeout
                self._watch = LockWatch(self._engine, self._waiting).start()
        return self._engine

    def _commit_under_way(self, connection) -> None:
        """Just before the driver's COMMIT: from here until the command hears that it was made
        (`_committed`), Ctrl-C cannot tell whether it was (SQLite raises it just after the
        commit returned; psycopg, waiting for the server's answer)."""
        self.committing = True

    def _committed(self, wrote: bool = True) -> None:
        """A COMMIT was made: counted if it wrote anything; none under way any more."""
        self.committed += 1 if wrote else 0
        self.committing = False

    def committed_apart(self, wrote: bool) -> None:
        """A transaction committed on the engine outside `transaction` (`init` and `demo`:
        the migrations, `migrations.runner.upgrade`), which wrote if the tables changed."""
        self._committed(wrote)

    def _waiting(self, wait: Wait) -> None:
        """One line on stderr, from the lock watch's thread (`ledger.lockwait`): over a progress
        bar's line on the terminal, which is drawn again below it when the command goes on."""
        line = f"pledger: {waiting_line(wait, self.committed, self.lock_timeout)}\n"
        sys.stderr.write((ERASE_LINE if sys.stderr.isatty() else "") + line)
        sys.stderr.flush()

    def _settle(self, session: Session) -> None:
        """Before a command's first statement: the books are not a newer pledger's, their
        defaults are installed, and who acts."""
        self._settle_schema(session)
        self._settle_installed(session)
        self._settle_user(session)

    def _settle_schema(self, session: Session) -> None:
        """Refuse books a newer pledger upgraded (`migrations.is_newer`): this one would write
        them without what the newer migrations ask (their tables, columns and rules), and read
        them without knowing what those mean. Refuse an older pledger's too (`is_older`), until
        `pledger init` upgrades them: this one would write them without what its own newer
        migrations keep (a book at 0014 took orders, then `po show` failed on the column 0015
        adds), and some commands ran while others failed, each in its own words. One read of
        Alembic's revision per command (`init` upgrades first); a database without it has no
        pledger tables, which the CLI says as such."""
        if self._schema_checked:
            return
        revision = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if is_newer(revision):
            raise NewerSchema(revision)
        if is_older(revision):
            raise OlderSchema(revision, f"pledger --db {shlex.quote(self.shown_url)} init")
        self._schema_checked = True

    def _settle_installed(self, session: Session) -> None:
        """Refuse a book `init` left half made (its tables, no defaults: `purchase.settings.
        refuse_not_installed`), for every command but those that work on any database
        (`on_any_book`). Before, the lists printed "(nothing)", exit 0, and `import items`,
        `settings company`, `year open` wrote to such a book, leaving it further half made;
        only `check` and `settings` said to run `pledger init`. One read per command."""
        if self._installed_checked or self.on_any_book:
            return
        # the books named as the missing file's and an older schema's refusals name them: `init` alone
        # would go to PLEDGER_DB or pledger.db, not to the books given with --db (review of 7 December 2026)
        refuse_not_installed(session, f"pledger --db {shlex.quote(self.shown_url)} init")
        self._installed_checked = True

    def _settle_user(self, session: Session) -> None:
        """On PostgreSQL, an application role's login is who acts, not a name on the command line."""
        if self._login_checked or self.engine.dialect.name != "postgresql":
            return
        from ledger.roles import acting_login

        login, role = acting_login(session)
        if role is not None:
            if self.claimed_user is not None and self.claimed_user != login:
                raise PledgerError(
                    f"--user {self.claimed_user} is not who is connected: the database login {login} "
                    f"(role pledger_{role}) is recorded as the acting user; leave --user out"
                )
            self.user = login
        self._login_checked = True

    @contextlib.contextmanager
    def transaction(self, *, readonly: bool = False):
        """A Session in one transaction: committed on success, rolled back on error.

        `readonly`: a command that only reads (a report, `check`) reads one state of the
        books, whatever commits meanwhile: SQLite's deferred transaction holds its first
        read's snapshot; on PostgreSQL it runs REPEATABLE READ (read committed gives each
        statement its own, and a receipt committed between the lines' and the accounts'
        reads made `check` fail and `report grir` say the GR/IR accounts did not tie out)."""
        maker = make_sessionmaker(self.engine)
        options = {}
        if readonly:
            options = {"isolation_level": "REPEATABLE READ"} if self.engine.dialect.name == "postgresql" else {"sqlite_begin": "DEFERRED"}
        with maker() as session:
            if options:
                session.connection(execution_options=options)
            try:
                self._settle(session)
                yield session
                if readonly:
                    session.rollback()
                else:
                    with marked_commit():  # a connection lost in it may or may not have committed
                        session.commit()
                    self._committed()
            except BaseException as exc:
                if not isinstance(exc, KeyboardInterrupt):  # refused (a retry, a lost connection is said as such)
                    self.committing = False
                session.rollback()
                raise

    @contextlib.contextmanager
    def trial(self):
        """A Session whose transaction is always rolled back."""
        maker = make_sessionmaker(self.engine)
        with maker() as session:
            try:
                self._settle(session)
                yield session
            finally:
                session.rollback()

    def run_in_transaction(self, fn: Callable[[Session], T], *, trial: bool = False, attempts: int = RETRY_ATTEMPTS) -> T:
        """`fn(session)` in one transaction (committed; rolled back when `trial`), run whole again
        when a concurrent writer made the database give up on it."""
        for attempt in range(1, attempts + 1):
            try:
                with (self.trial() if trial else self.transaction()) as session:
                    return fn(session)
            except DBAPIError as exc:
                reason = retry_reason(exc)
                if reason is None:
                    raise
                if attempt == attempts:
                    raise PledgerError(_given_up(exc, reason, attempts)) from exc
                self.retries += 1
                time.sleep(backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        if self._watch is not None:
            self._watch.stop()
        if self._engine is not None:
            self._engine.dispose()


LOCK_TIMEOUT_VARIABLE = "PLEDGER_LOCK_TIMEOUT"


def lock_timeout(value: str | None) -> Decimal | None:
    """PLEDGER_LOCK_TIMEOUT as seconds: None when unset, empty or 0 (wait as long as it takes);
    ValueError saying why for anything but a number of seconds."""
    if value is None or not value.strip():
        return None
    try:
        seconds = Decimal(value.strip())
    except ArithmeticError:
        seconds = Decimal("NaN")
    if not seconds.is_finite() or not 0 <= seconds <= 2_147_483:  # negative, beyond what lock_timeout holds (ms, an int)
        raise ValueError(f"{LOCK_TIMEOUT_VARIABLE}='{value}' is not a number of seconds (0 to 2147483; 0 or unset: "
                         f"wait for another session's lock as long as it takes)")
    return seconds or None


def make_app(db: str | None, user: str | None, output_format: str) -> App:
    return App(db_url=normalize_url(db), user=user or default_user(), output_format=output_format, claimed_user=user or None,
               lock_timeout=lock_timeout(os.environ.get(LOCK_TIMEOUT_VARIABLE)))
