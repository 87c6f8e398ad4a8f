"""A command waiting on a lock another session holds says so, once, naming who holds it
(`ledger.lockwait`); pledger's connections name their command (`application_name`)."""

import datetime as dt
import os
import queue
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from ledger.lockwait import Blocker, LockWatch, Wait
from tests.builders import item, order, receive, supplier

PLEDGER = str(Path(sys.executable).with_name("pledger"))
NOTICE = "0.3"  # seconds, for PLEDGER_LOCK_NOTICE (3 s by default)
CLOSEOUT = ["closeout", "run", "--order", "PO-1", "--close-fully", "--date", "2026-06-30"]


def _an_order_to_close(books) -> None:
    with books.session() as s:
        supplier(s)
        item(s)
        order(s, "PO-1", ("BOLT", 10, "3.33"))
        receive(s, "PO-1", 1, 4)


def _pledger(books, *args, notice: str = NOTICE) -> subprocess.Popen:
    env = {**os.environ, "PLEDGER_DB": books.url, "PLEDGER_USER": "ann", "PLEDGER_LOCK_NOTICE": notice}
    return subprocess.Popen([PLEDGER, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _first_line(stream, seconds: float = 30) -> str:
    """The first line `stream` gives, read in a thread of its own; '' if none within `seconds`."""
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=seconds)
    except queue.Empty:
        return ""


@pytest.mark.postgresql_only
def test_a_closeout_waiting_for_a_psql_session_says_who_holds_the_books_and_goes_on_when_it_ends(books):
    """An accountant's psql session holds the close-out counter (`BEGIN; SELECT * FROM
    closeout_counter FOR UPDATE;`): `closeout run` waited without a word, and was killed as
    frozen. Now, once it has waited PLEDGER_LOCK_NOTICE seconds, one line on stderr names the
    session (user, pid, application, since when), and the run completes once it ends."""
    _an_order_to_close(books)
    assert books.raw("SELECT count(*) FROM closeout_counter").scalar() == 1  # the row the psql session locks
    holder = books.engine.connect()
    try:
        holder.execute(text("SET application_name = 'psql'"))
        holder.commit()
        holder.execute(text("SELECT * FROM closeout_counter FOR UPDATE"))
        pid, user = holder.execute(text("SELECT pg_backend_pid(), current_user")).one()
        run = _pledger(books, *CLOSEOUT)
        line = _first_line(run.stderr)
        waiting = books.raw("SELECT application_name FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                            "AND datname = current_database()").scalars().all()
        assert run.poll() is None, run.communicate()  # still waiting
    finally:
        holder.rollback()
        holder.close()
    out, err = run.communicate(timeout=60)
    assert run.returncode == 0, err
    assert waiting == ["pledger closeout run"]  # its own connection names the command
    assert line.startswith(f"pledger: waiting for another session that holds the books (user {user}, pid {pid}, "
                           f"application 'psql', idle in a transaction since "), line
    assert line.endswith("): pledger goes on when it ends; Ctrl-C stops it and writes nothing\n"), line
    assert err == ""  # said once
    assert out.startswith("Posting report - Close-out 1\n") and "waiting" not in out  # stdout is the report, only


@pytest.mark.postgresql_only
def test_ctrl_c_while_waiting_stops_the_command_and_writes_nothing_as_the_line_says(books):
    import signal

    _an_order_to_close(books)
    holder = books.engine.connect()
    try:
        holder.execute(text("SELECT * FROM closeout_counter FOR UPDATE"))
        run = _pledger(books, *CLOSEOUT)
        line = _first_line(run.stderr)
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=60)
    finally:
        holder.rollback()
        holder.close()
    assert line.endswith("Ctrl-C stops it and writes nothing\n"), line
    assert (run.returncode, out, err) == (1, "", "pledger: aborted: nothing was written to the books\n")
    assert books.raw("SELECT count(*) FROM closeouts").scalar() == 0
    assert books.raw("SELECT lowered_receive FROM order_lines").scalar() == 0


@pytest.mark.postgresql_only
def test_a_pledger_waiting_for_another_pledger_names_that_command(books):
    """Two close-outs of the same order: the second waits for the first's transaction, and says
    it is 'pledger closeout run' that holds the books (application_name), not an anonymous pid."""
    _an_order_to_close(books)
    holder = books.engine.connect()
    try:
        holder.execute(text("SET application_name = 'pledger closeout run'"))  # as pledger's own connections are named
        holder.commit()
        holder.execute(text("SELECT * FROM order_lines FOR UPDATE"))
        run = _pledger(books, *CLOSEOUT, "--format", "json")
        line = _first_line(run.stderr)
    finally:
        holder.rollback()
        holder.close()
    out, err = run.communicate(timeout=60)
    assert run.returncode == 0, err
    assert "application 'pledger closeout run'" in line and line.count("\n") == 1, line
    assert out.startswith("{") and err == ""


@pytest.mark.postgresql_only
def test_pledgers_connections_are_named_after_the_command(books):
    """`pg_stat_activity` shows what each pledger does; a name the URL gives is kept."""
    from cli.app import make_app

    app = make_app(books.url, "ann", "table")
    app.command = "pledger report grir"
    with app.transaction(readonly=True) as session:
        assert session.execute(text("SELECT current_setting('application_name')")).scalar() == "pledger report grir"
    app.close()
    app = make_app(books.url + "?application_name=nightly", "ann", "table")
    with app.transaction(readonly=True) as session:
        assert session.execute(text("SELECT current_setting('application_name')")).scalar() == "nightly"
    app.close()


def test_a_command_that_waits_for_nothing_says_nothing(books):
    """Watched closely (every few milliseconds), a close-out meeting no other session's lock
    prints its report and nothing on stderr, on PostgreSQL as on SQLite (no watch there)."""
    _an_order_to_close(books)
    run = _pledger(books, *CLOSEOUT, notice="0.01")
    out, err = run.communicate(timeout=60)
    assert run.returncode == 0, err
    assert err == "" and out.startswith("Posting report - Close-out 1\n")


@pytest.mark.postgresql_only
def test_the_watch_tells_each_wait_once_and_nothing_once_stopped(books):
    """`LockWatch` in itself: a connection of its engine that waits is told once, with its
    blocker; a wait that ends before `after` seconds is not told; stop() ends the thread and
    its own connection."""
    from ledger.db import make_engine

    engine = make_engine(books.url, application_name="pledger test")
    told: list[Wait] = []
    watch = LockWatch(engine, told.append, after=0.2).start()
    holder = books.engine.connect()
    holder.execute(text("SELECT pg_advisory_xact_lock(42)"))
    holder_pid = holder.execute(text("SELECT pg_backend_pid()")).scalar()
    waiter_pid: list[int] = []

    def wait_for_the_lock():
        with engine.connect() as conn:
            waiter_pid.append(conn.execute(text("SELECT pg_backend_pid()")).scalar())
            conn.execute(text("SELECT pg_advisory_xact_lock(42)"))
            conn.rollback()

    try:
        waiter = books.start_waiting(wait_for_the_lock, "the advisory lock")
        deadline = time.monotonic() + 30
        while not told and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # a watch that would tell it again has had the time to
    finally:
        holder.rollback()
        holder.close()
    waiter.join(timeout=30)
    assert len(told) == 1, told
    assert told[0].pid == waiter_pid[0] and [b.pid for b in told[0].blockers] == [holder_pid]
    watch.stop()
    watch._thread.join(timeout=10)
    assert not watch._thread.is_alive()
    # The server ends a backend a moment after its client closed it: wait for that, up to 10 s.
    deadline = time.monotonic() + 10
    while (still := books.raw("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                              "'pledger (who holds a lock)' AND datname = current_database()").scalar()) \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not still
    engine.dispose()


def test_the_waiting_line_names_the_oldest_blocker_and_what_ctrl_c_leaves():
    from cli.app import waiting_line

    today = dt.datetime.now().astimezone().replace(hour=9, minute=5, second=7, microsecond=0)
    first = Blocker(pid=77, user="piet", application="pledger import orders", xact_start=today, state="active")
    other = Blocker(pid=78, user="ann", application="", xact_start=None, state=None)
    one = waiting_line(Wait(1, today, (first,)))
    assert one == ("waiting for another session that holds the books (user piet, pid 77, application "
                   "'pledger import orders', in a transaction since 09:05:07): pledger goes on when it ends; "
                   "Ctrl-C stops it and writes nothing")
    three = waiting_line(Wait(1, today, (first, other, other)), committed=2)
    assert "since 09:05:07) and 2 other sessions: pledger goes on when they end; Ctrl-C stops it here, and what it committed before stands" in three
    hidden = waiting_line(Wait(1, today, (other,)))  # another login's transaction, not shown to this one
    assert "(user ann, pid 78): pledger goes on" in hidden
    yesterday = waiting_line(Wait(1, today, (Blocker(77, "piet", "psql", today - dt.timedelta(days=1), "idle in transaction"),)))
    assert f"idle in a transaction since {(today - dt.timedelta(days=1)):%Y-%m-%d} 09:05:07)" in yesterday
    prepared = waiting_line(Wait(1, today, (Blocker(0, None, None, None, None),)))
    assert "waiting for a prepared transaction that holds the books (see pg_prepared_xacts)" in prepared
    timing_out = waiting_line(Wait(1, today, (first,)), gives_up_after=Decimal("7.50"))
    assert "pledger goes on when it ends, or gives up after PLEDGER_LOCK_TIMEOUT (7.5 s); Ctrl-C" in timing_out


@pytest.mark.postgresql_only
def test_pledger_lock_timeout_refuses_the_command_once_in_one_line_and_writes_nothing(books, monkeypatch):
    """PLEDGER_LOCK_TIMEOUT=0.3: a close-out that waits longer for the psql session's lock is
    refused (exit 1, one line, nothing written), not run again as a serialization failure is
    (another try would wait for the same session), and not said to be a database out of reach."""
    import cli.app

    _an_order_to_close(books)
    tries: list[int] = []
    monkeypatch.setattr(cli.app, "backoff", lambda attempt: tries.append(attempt) or 0)
    monkeypatch.setenv("PLEDGER_LOCK_TIMEOUT", "0.3")
    monkeypatch.setenv("PLEDGER_LOCK_NOTICE", "30")
    holder = books.engine.connect()
    try:
        holder.execute(text("SELECT * FROM closeout_counter FOR UPDATE"))
        result = books.cli(*CLOSEOUT)
    finally:
        holder.rollback()
        holder.close()
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == ("pledger: another session held the books longer than PLEDGER_LOCK_TIMEOUT (0.3 s): nothing was "
                             "written to the books; run it again when that session is done\n")
    assert tries == []
    assert books.raw("SELECT count(*) FROM closeouts").scalar() == 0
    assert books.raw("SELECT lowered_receive FROM order_lines").scalar() == 0
    assert books.cli(*CLOSEOUT).exit_code == 0  # and once it is done, the same command runs (the variable still set)


def test_pledger_lock_timeout_is_a_number_of_seconds(books, monkeypatch):
    """Anything else is a usage mistake (exit 2), said before the command runs; 0 or empty
    is no limit; on SQLite (writers queue on its busy timeout) it changes nothing."""
    for value in ("abc", "-1", "nan", "1e12"):
        monkeypatch.setenv("PLEDGER_LOCK_TIMEOUT", value)
        result = books.cli("check")
        assert result.exit_code == 2, (value, result.output)
        assert result.stderr == (f"pledger: PLEDGER_LOCK_TIMEOUT='{value}' is not a number of seconds (0 to 2147483; "
                                 f"0 or unset: wait for another session's lock as long as it takes)\n")
    for value in ("0", "", "2.5"):
        monkeypatch.setenv("PLEDGER_LOCK_TIMEOUT", value)
        assert books.cli("check").exit_code == 0, value


@pytest.mark.parametrize("value", ["1e400", "1e999999", "9" * 40])
def test_a_lock_notice_of_any_size_is_a_number_of_seconds_not_an_internal_error(books, monkeypatch, value):
    """PLEDGER_LOCK_NOTICE=1e400 (a notice never to be said, in effect): every command on
    PostgreSQL failed as "internal error (OverflowError: integer division result too large
    for a float)", and 1e999999 as "internal error (Overflow ...)". A notice beyond
    `NOTICE_LONGEST` seconds is one after that long; the command runs as it does without."""
    from ledger.lockwait import NOTICE_LONGEST, notice_after

    monkeypatch.setenv("PLEDGER_LOCK_NOTICE", value)
    assert notice_after() == NOTICE_LONGEST
    result = books.cli("period", "list", "--format", "json")
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    for small, said in (("2.5", 2.5), (" 5 ", 5), ("1e3", 1000), ("0", 0), ("-1", -1), ("nan", 3.0), ("inf", 3.0), ("abc", 3.0)):
        monkeypatch.setenv("PLEDGER_LOCK_NOTICE", small)
        assert notice_after() == said, small


def test_a_tiny_notice_does_not_make_the_watch_ask_the_server_without_pause():
    """PLEDGER_LOCK_NOTICE=0.001 made the watch ask pg_stat_activity every half millisecond
    for as long as the command ran; it asks at most every `POLL_LEAST` seconds."""
    from sqlalchemy import create_engine

    from ledger.lockwait import POLL_LEAST

    asked: list[float] = []

    class Cursor:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def execute(self, sql, params):
            asked.append(time.monotonic())
            return self

        def fetchall(self):
            return []  # nothing waits

    class Connection:
        def cursor(self):
            return Cursor()

        def close(self):
            pass

    watch = LockWatch(create_engine("sqlite://"), lambda wait: None, after=0.001)
    watch._pids.add(4242)  # one connection of the command's, as `_connected` records it
    watch._connect = Connection
    started = time.monotonic()
    watch.start()
    time.sleep(0.5)
    watch.stop()
    watched = time.monotonic() - started  # 0.5 s, or more where a loaded host wakes this thread late
    assert 1 <= len(asked) <= watched / POLL_LEAST + 2, f"asked {len(asked)} times in {watched:.2f} s"
