"""Ctrl-C and SIGTERM: whenever they come, one line on stderr, exit 1, no temporary file left
beside a target, and after a commit a line that says the books changed all the same.

In-process tests raise the KeyboardInterrupt where the signal would have; the others run
the program and send it the signal itself, at a moment a hook makes sure of (a file being
written, the imports being done)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy.engine.default import DefaultDialect

import cli.commands.closeout as closeout_commands
import cli.formats as formats
from cli.app import App
from tests.test_cli_refusals import _half_received, closeouts, refused
from tests.test_purchase_postings import acme  # noqa: F401 (a fixture: supplier ACME, item BOLT)

PLEDGER = str(Path(sys.executable).with_name("pledger"))
CLOSE_OUT = ("closeout", "run", "--close-fully", "--date", "2026-06-30")
STANDS = "what '{command}' wrote to the books is committed all the same; what it had still to print or write to a file was not done"
ABORTED = "aborted: nothing was written to the books"  # ^C before any commit (it said "aborted" alone)
TERMINATED = "terminated (SIGTERM): nothing was written to the books"


def _temporary_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# -- after the commit -----------------------------------------------------------------------


def test_an_interrupt_while_the_report_file_is_written_after_the_commit_says_the_close_out_stands(acme, tmp_path, monkeypatch):
    _half_received(acme, "PO-1")
    real = formats._write_atomically

    def interrupted_half_way(path, write):
        def write_then_interrupt(tmp):
            write(tmp)
            raise KeyboardInterrupt  # ^C while the report file is written, after the commit

        real(path, write_then_interrupt)

    monkeypatch.setattr(formats, "_write_atomically", interrupted_half_way)
    result = acme.cli(*CLOSE_OUT, "--report", tmp_path / "report.pdf")
    refused(result, 1, "interrupted after the books changed: " + STANDS.format(command="pledger closeout run")
            + " (see 'pledger closeout list')")
    assert closeouts(acme) == 1
    assert os.listdir(tmp_path) == []  # neither the report nor its temporary file


@pytest.mark.parametrize("command, see", [
    (CLOSE_OUT, "see 'pledger closeout list'"),
    (("po", "close", "PO-1", "--not-coming", "--date", "2026-06-30"), "see 'pledger po show PO-1'"),
])
def test_an_interrupt_while_the_posting_report_is_printed_says_what_stands(acme, monkeypatch, command, see):
    _half_received(acme, "PO-1")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(closeout_commands, "_print_report_data", interrupted)
    result = acme.cli(*command)
    path = "pledger " + " ".join(command[:2])
    refused(result, 1, f"interrupted after the books changed: {STANDS.format(command=path)} ({see})")
    assert closeouts(acme) == 1


def test_an_interrupt_once_the_command_has_done_everything_changes_nothing(acme, monkeypatch):
    """^C in the last moments (the engine let go, the output flushed): the close-out is
    posted and printed whole, so the command succeeded; before, Click's handling made it
    "aborted" (and, as the program, a silent exit 130)."""
    _half_received(acme, "PO-1")
    real = App.close

    def interrupted_at_the_end(app):
        os.kill(os.getpid(), signal.SIGINT)  # a real signal, as late as a command can get one
        real(app)

    monkeypatch.setattr(App, "close", interrupted_at_the_end)
    result = acme.cli(*CLOSE_OUT, "--format", "json")
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    assert json.loads(result.stdout)["closeout"] == 1
    assert closeouts(acme) == 1


def test_an_interrupt_lost_in_a_finalizer_still_stops_the_command(acme, monkeypatch):
    """A signal whose KeyboardInterrupt is raised inside a weakref callback is printed by
    Python as "Exception ignored" and lost (seen: SIGTERM during a 50,000-line close-out,
    the close-out posted anyway, exit 0, a traceback on stderr). It is given again."""
    import weakref

    _half_received(acme, "PO-1")
    real = closeout_commands.run_closeout

    class Held:
        pass

    def interrupted_in_a_finalizer(session, *args, **kwargs):
        report = real(session, *args, **kwargs)
        held = Held()
        ref = weakref.ref(held, lambda _: os.kill(os.getpid(), signal.SIGINT))  # the handler runs in the callback
        del held
        for _ in range(50):  # the work that follows, before the commit
            time.sleep(0.01)
        assert ref() is None
        return report

    monkeypatch.setattr(closeout_commands, "run_closeout", interrupted_in_a_finalizer)
    refused(acme.cli(*CLOSE_OUT), 1, ABORTED)
    assert closeouts(acme) == 0


def test_an_interrupt_as_the_commit_is_made_says_it_cannot_tell_whether_it_was_written(acme, monkeypatch):
    """^C that reaches Python as the COMMIT is made (SQLite: just after it returned; PostgreSQL:
    while psycopg waits for the server's answer): the transaction may be written or not, so
    the line says neither "nothing was written" nor that the books changed."""
    _half_received(acme, "PO-1")
    real = DefaultDialect.do_commit

    def committed_then_interrupted(self, dbapi_connection):
        real(self, dbapi_connection)
        raise KeyboardInterrupt  # the commit is made; the command has not heard so yet

    monkeypatch.setattr(DefaultDialect, "do_commit", committed_then_interrupted)
    refused(acme.cli(*CLOSE_OUT), 1, "interrupted while it committed: whether that transaction was written cannot be "
                                     "told from here; look in the books before running it again (see 'pledger closeout list')")
    monkeypatch.undo()
    assert closeouts(acme) == 1  # written, as it may have been


def test_an_interrupt_after_inits_migrations_before_its_defaults_says_the_tables_changed(fresh_url, monkeypatch):
    """`init` stopped once its migrations committed and before its defaults did: the tables
    are made (a book half set up), so the line may not say that nothing was written."""
    from click.testing import CliRunner

    import cli.commands.books as books_commands
    from cli import commands  # noqa: F401
    from cli.main import cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(books_commands, "install_defaults", interrupted)
    result = CliRunner().invoke(cli, ["--db", fresh_url, "init"], catch_exceptions=False, prog_name="pledger")
    refused(result, 1, "interrupted after the books changed: " + STANDS.format(command="pledger init")
            + " (run 'pledger init' again to finish it)")
    monkeypatch.undo()
    again = CliRunner().invoke(cli, ["--db", fresh_url, "init"], catch_exceptions=False, prog_name="pledger")
    assert again.exit_code == 0 and "created setting goods_received = 444000" in again.stdout, again.output


def test_an_interrupt_during_inits_migrations_writes_nothing(fresh_url, monkeypatch):
    """`init` stopped before its migrations committed: they are rolled back whole."""
    from click.testing import CliRunner
    from sqlalchemy import inspect

    import cli.commands.books as books_commands
    from cli import commands  # noqa: F401
    from cli.main import cli
    from ledger.db import make_engine
    from migrations import runner

    def upgrade_then_interrupt(engine, revision="head"):
        def run(config, connection):
            from alembic import command

            command.upgrade(config, revision)
            raise KeyboardInterrupt  # every migration run, not yet committed

        return runner._with_connection(engine, run)

    monkeypatch.setattr(books_commands.runner, "upgrade", upgrade_then_interrupt)
    result = CliRunner().invoke(cli, ["--db", fresh_url, "init"], catch_exceptions=False, prog_name="pledger")
    refused(result, 1, ABORTED)
    engine = make_engine(fresh_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()


# -- inside a database statement --------------------------------------------------------------


@pytest.mark.parametrize("command, marker", [
    (("check",), "entry_lines"),
    (CLOSE_OUT, "closeout"),
])
def test_an_interrupt_inside_a_statement_is_aborted_and_rolled_back(acme, monkeypatch, command, marker):
    """SQLAlchemy gives up on (invalidates) a connection a KeyboardInterrupt left inside the
    driver; `ledger.db`'s rollback hook then read its `info` and raised PendingRollbackError,
    which was told as "internal error" in place of the interruption."""
    _half_received(acme, "PO-1")
    real = DefaultDialect.do_execute
    met = []

    def interrupted_in_the_driver(self, cursor, statement, parameters, context=None):
        if marker in statement.lower() and not met:
            met.append(statement)
            raise KeyboardInterrupt  # ^C while the database works on the statement
        return real(self, cursor, statement, parameters, context)

    monkeypatch.setattr(DefaultDialect, "do_execute", interrupted_in_the_driver)
    refused(acme.cli(*command), 1, ABORTED)
    assert met
    monkeypatch.undo()
    assert closeouts(acme) == 0
    assert acme.cli("check").exit_code == 0


def test_an_interrupt_inside_a_statement_while_a_run_writes_behind_stops_its_writer_first(acme, monkeypatch):
    """The connection SQLAlchemy gives up on is closed: the writer thread (`write_behind`) must
    be stopped before, or it goes on with a closed connection (seen on SQLite: its error
    printed on stderr, or the program crashing, exit -11)."""
    from ledger.bulk import WRITER

    _half_received(acme, "PO-1")
    real = DefaultDialect.do_execute
    met = []

    def writes_behind(context) -> bool:
        try:
            return WRITER in context.root_connection.info
        except Exception:  # a connection of the dialect's own (its first, PostgreSQL's version): none
            return False

    def interrupted_beside_the_writer(self, cursor, statement, parameters, context=None):
        if not met and context is not None and writes_behind(context):
            met.append(statement)
            raise KeyboardInterrupt
        return real(self, cursor, statement, parameters, context)

    import threading

    writer_errors = []
    monkeypatch.setattr(threading, "excepthook", writer_errors.append)
    monkeypatch.setattr(DefaultDialect, "do_execute", interrupted_beside_the_writer)
    refused(acme.cli(*CLOSE_OUT), 1, ABORTED)
    assert met, "the run wrote behind"
    assert [str(e.exc_value) for e in writer_errors] == []
    monkeypatch.undo()
    assert closeouts(acme) == 0


# -- a saved trial ------------------------------------------------------------------------------


def test_an_interrupted_trial_save_leaves_no_temporary_file(tmp_path):
    """Before: the temporary file was removed on a disk error only (an 18 MB `.FILE.PID.tmp`
    was left by ^C on a 50,000-line trial)."""
    import datetime as dt

    from matching import trial_file
    from matching.selection import Selection

    class LinesRead(list):
        def __iter__(self):
            yield ("PO-1/1", "0" * 64)
            raise KeyboardInterrupt  # ^C half-way through writing a long trial's lines

    read = trial_file.ReadLog()
    read.lines = LinesRead([("PO-1/1", "0" * 64), ("PO-1/2", "0" * 64)])
    report = {"closeout": None, "trial": True, "undo_of": None, "date": "2026-06-30", "user": "ann", "lines": [],
              "entries": [], "totals": {}}
    with pytest.raises(KeyboardInterrupt):
        trial_file.save(tmp_path / "trial.json", selection=Selection(), edits=None, close_fully=True, date=dt.date(2026, 6, 30),
                        read=read, report=report)
    assert os.listdir(tmp_path) == []


# -- real signals, to the program -----------------------------------------------------------------

# The program, with the file writer held after it wrote (until the signal comes): the
# moment a file is half made, its temporary file beside the target.
SLOW_WRITER = """
import sys, time
from pathlib import Path

import cli.formats as formats

ready, args = Path(sys.argv[1]), sys.argv[2:]
real = formats._write_atomically

def held(path, write):
    def write_then_wait(tmp):
        write(tmp)
        ready.write_text("writing")
        time.sleep(30)
    real(path, write_then_wait)

formats._write_atomically = held
from cli.main import main
sys.argv = ["pledger", *args]
main()
"""


def _run_until_writing(tmp_path: Path, url: str, *args: str, sig: int) -> subprocess.CompletedProcess:
    driver, ready = tmp_path / "driver.py", tmp_path / "ready"
    driver.write_text(SLOW_WRITER)
    proc = subprocess.Popen([sys.executable, str(driver), str(ready), "--db", url, "--user", "ann", *args],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    ready.unlink(missing_ok=True)
    driver.unlink()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize("sig, said", [(signal.SIGTERM, TERMINATED), (signal.SIGINT, ABORTED)])
def test_a_signal_while_a_file_is_written_removes_its_temporary_file(acme, tmp_path, sig, said):
    """Before: SIGTERM killed the program (exit 143, nothing said) and left `.p.csv.PID.X.tmp`."""
    _half_received(acme, "PO-1")
    done = _run_until_writing(tmp_path, acme.url, "closeout", "propose", "-o", "p.csv", sig=sig)
    assert (done.returncode, done.stderr) == (1, f"pledger: {said}\n"), done
    assert os.listdir(tmp_path) == []


def test_sigterm_while_the_report_is_written_after_the_commit_says_the_close_out_stands(acme, tmp_path):
    _half_received(acme, "PO-1")
    done = _run_until_writing(tmp_path, acme.url, *CLOSE_OUT, "--report", "report.csv", sig=signal.SIGTERM)
    assert done.returncode == 1, done
    assert done.stderr == ("pledger: terminated (SIGTERM) after the books changed: "
                           + STANDS.format(command="pledger closeout run") + " (see 'pledger closeout list')\n")
    assert closeouts(acme) == 1
    assert os.listdir(tmp_path) == []


def test_an_interrupt_while_pledger_starts_is_one_line(tmp_path):
    """^C as the commands are being imported (before any of main's handling is in place)."""
    script = tmp_path / "pledger"  # the program's name: what the console script is called
    script.write_text("import os, signal, sys\n"
                      "from cli.main import main\n"
                      "os.kill(os.getpid(), signal.SIGINT)  # main() imports the commands next\n"
                      "main()\n")
    done = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stderr, done.stdout) == (1, f"pledger: {ABORTED}\n", "")


@pytest.mark.parametrize("sig, said", [(signal.SIGINT, ABORTED), (signal.SIGTERM, TERMINATED)])
def test_a_signal_as_the_program_module_itself_starts_is_one_line(tmp_path, sig, said):
    """^C or SIGTERM as cli.main imports its first modules (`signal`, `time`), before its
    handlers of the phases: it printed Python's KeyboardInterrupt traceback (seen once in the
    suite on a loaded host)."""
    script = tmp_path / "pledger"
    script.write_text("import builtins, os, sys\n"
                      "real = builtins.__import__\n"
                      "def hook(name, globals=None, *args, **kwargs):\n"
                      "    if name == 'signal' and (globals or {}).get('__name__') == 'cli.main':\n"
                      f"        os.kill(os.getpid(), {int(sig)})\n"
                      "    return real(name, globals, *args, **kwargs)\n"
                      "builtins.__import__ = hook\n"
                      "from cli.main import main\n"
                      "main()\n")
    done = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stderr, done.stdout) == (1, f"pledger: {said}\n", "")


def _until_pledger_catches_signals(proc: subprocess.Popen, seconds: float = 30) -> None:
    """Until pledger's first lines have set its handlers (SIGTERM caught, as /proc shows), or it
    ended: before that, in Python's own start (site, the editable install's finder), a ^C is
    Python's, a traceback. Told apart by the time `python -c pass` took, once, a ^C that came
    that long and `delay` after the start met Python's own start when this one was slower."""
    deadline = time.monotonic() + seconds
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            caught = next(line for line in status.read_text().splitlines() if line.startswith("SigCgt:"))
        except (OSError, StopIteration):  # ending
            return
        if int(caught.split()[1], 16) >> (signal.SIGTERM - 1) & 1:
            return
        assert time.monotonic() < deadline, f"pledger set no signal handler in {seconds} s"
        time.sleep(0.002)


@pytest.mark.parametrize("delay", [0.1, 0.3, 0.5])
def test_the_program_interrupted_early_says_one_line(books, delay):
    """The real program, ^C at a moment of its start (imports, reading the book): `delay`
    after its first lines set its handlers (a ^C that met pledger's first import printed
    Python's traceback, seen on a loaded two-core host)."""
    proc = subprocess.Popen([PLEDGER, "--db", books.url, "check"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _until_pledger_catches_signals(proc)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert (proc.returncode, err) in ((1, f"pledger: {ABORTED}\n"), (0, "")), err


# The program, with a file written once a try of its BEGIN IMMEDIATE has found the books
# held by another writer (`ledger.db._begin_immediate`): from then on it waits, try after try.
WAITING = """
import sys
from pathlib import Path

import ledger.db

ready, args = Path(sys.argv[1]), sys.argv[2:]
real = ledger.db.sqlite_busy

def busy(error):
    held = real(error)
    if held and not ready.exists():
        ready.write_text("waiting")
    return held

ledger.db.sqlite_busy = busy
from cli.main import main
sys.argv = ["pledger", *args]
main()
"""


@pytest.mark.parametrize("sig, said", [(signal.SIGINT, ABORTED), (signal.SIGTERM, TERMINATED)])
def test_a_signal_while_waiting_for_another_writer_on_sqlite_stops_the_command_at_once(templates, tmp_path, sig, said):
    """Another writer holds the SQLite books (a long import): a close-out waits for it (BEGIN
    IMMEDIATE, the busy timeout of 60 s). Ctrl-C or SIGTERM then did nothing until the 60 s
    had gone by: SQLite waited inside one call, where Python runs no signal handler. It now
    waits in short slices, and the signal stops the command at once, writing nothing."""
    import sqlite3

    from tests.builders import item, supplier
    from tests.conftest import Books

    books = Books(url=templates.sqlite(), dialect="sqlite")
    with books.session() as s:
        supplier(s)
        item(s)
    _half_received(books, "PO-1")
    driver, ready = tmp_path / "driver.py", tmp_path / "ready"
    driver.write_text(WAITING)
    holder = sqlite3.connect(books.url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        proc = subprocess.Popen([sys.executable, str(driver), str(ready), "--db", books.url, "--user", "ann", *CLOSE_OUT],
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ready.exists(), "the command never waited for the other writer"
        proc.send_signal(sig)
        signalled = time.monotonic()
        try:
            out, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            pytest.fail("the signal did not stop the command waiting for another writer")
        took = time.monotonic() - signalled
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert (proc.returncode, out, err) == (1, "", f"pledger: {said}\n")
    assert took < 5, f"stopped {took:.1f} s after the signal"
    assert closeouts(books) == 0
    books.engine.dispose()
