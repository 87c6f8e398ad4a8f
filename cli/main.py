"""`pledger`: the program. One top-level handler turns every refusal into one line.

Exit status: 0 done, 1 refused (a PledgerError, a database refusal), 2 usage mistake
(Click), 141 when the reader of the output went away before the end (`| head`). No
traceback ever reaches the user: an unexpected error prints one line and writes the
traceback to a file whose name it gives.

Ctrl-C (SIGINT) and SIGTERM (a service stopped, `timeout`, a cancelled job) stop the
command the same way, at any moment from the first import on (`_on_signal`): one line,
exit 1, the transaction rolled back and temporary files removed. Before any commit the
line says that nothing was written to the books; after a commit, that the books changed
all the same; during one (`App.committing`), that it cannot be told. Once the command has
done all it was to do, a late one changes nothing.
"""

from __future__ import annotations

import os
import sys

import _signal  # signal's C half: its handlers are set here, before anything else is imported


NOTHING_WRITTEN = "nothing was written to the books"


def _starting(signum, frame) -> None:
    """Ctrl-C or SIGTERM before `_on_signal` is in place (the imports just below): as it
    takes one while starting, one line and exit 1."""
    os.write(2, f"pledger: {'terminated (SIGTERM)' if signum == _signal.SIGTERM else 'aborted'}: {NOTHING_WRITTEN}\n".encode())
    os._exit(1)


_AS_PROGRAM = os.path.basename((getattr(sys, "argv", None) or [""])[0]) == "pledger"
"""Run as the program (the `pledger` script), not imported by something else (tests, a script)."""
if _AS_PROGRAM:
    for _signum in (_signal.SIGINT, _signal.SIGTERM):
        _signal.signal(_signum, _starting)

import signal  # noqa: E402
import time  # noqa: E402


class Terminated(KeyboardInterrupt):
    """SIGTERM, taken as Ctrl-C is: what catches an interruption (psycopg cancelling the
    statement, a rollback, a temporary file removed) catches this too."""


class _Interruptions:
    """Where the program is, for Ctrl-C and SIGTERM:

    | phase | a signal |
    |---|---|
    | starting (imports: nothing read, nothing written) | `pledger: aborted: nothing was written to the books`, exit 1 at once |
    | running (`PledgerGroup.main`) | raised as KeyboardInterrupt (`Terminated`) in the command |
    | stopping (the first one is on its way out) | left: the rollback and the clean-up finish |
    | done (the command did all it was to do, or the one line is said) | left: nothing to stop |

    A second signal while stopping is left alone for `REPEAT_IGNORED` seconds (a user's
    double ^C cuts no clean-up short), not after: a clean-up that hangs can still be
    stopped. One lost in a finalizer is given again (`_lost_in_a_finalizer`).
    """

    REPEAT_IGNORED = 2.0

    def __init__(self) -> None:
        self.phase = "starting"
        self.signal: int | None = None  # the first signal of this run
        self.at = 0.0  # when it came (time.monotonic)
        self.unraisablehook = sys.unraisablehook  # the one `_lost_in_a_finalizer` stands in for


_interruptions = _Interruptions()
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _stopped(signum: int | None) -> str:
    return "terminated (SIGTERM)" if signum == signal.SIGTERM else "aborted"


def _on_signal(signum, frame) -> None:
    """Ctrl-C or SIGTERM, as the phase the program is in takes it (`_Interruptions`)."""
    state = _interruptions
    if state.phase == "starting":
        os.write(2, f"pledger: {_stopped(signum)}: {NOTHING_WRITTEN}\n".encode())
        os._exit(1)
    if state.phase == "stopping" and time.monotonic() - state.at < state.REPEAT_IGNORED:
        return
    if state.phase in ("running", "stopping"):
        state.phase, state.signal, state.at = "stopping", signum, time.monotonic()
        raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _lost_in_a_finalizer(unraisable) -> None:
    """`sys.unraisablehook` while a command runs. An interruption raised inside a finalizer
    (a weakref callback, `__del__`) is printed by Python as "Exception ignored" and lost: the
    command went on to its end (seen: SIGTERM during a close-out, exit 0 and a traceback on
    stderr). It is given again a moment later, from another thread, to land in the
    command itself (raised here, it would be lost again)."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt) and _interruptions.phase == "stopping":
        import _thread
        import threading

        _interruptions.phase = "running"
        again = threading.Timer(0.005, _thread.interrupt_main, (_interruptions.signal or signal.SIGINT,))
        again.daemon = True
        again.start()
        return
    _interruptions.unraisablehook(unraisable)


def _handle_signals() -> dict:
    """`_on_signal` for SIGINT and SIGTERM; the handlers it replaces (none outside the main thread)."""
    previous = {}
    for signum in _SIGNALS:
        try:
            previous[signum] = signal.signal(signum, _on_signal)
        except ValueError:  # not the main thread: signals are the main thread's
            pass
    return previous


# As the program (the `pledger` script), the first thing done: an interruption while the
# rest is imported stops it in one line. Imported by something else (tests, a script), the
# handlers stay theirs; `PledgerGroup.main` takes them only while it runs.
if _AS_PROGRAM:
    _handle_signals()

# (imported after the handlers: Ctrl-C or SIGTERM during these imports is one line too)
import contextlib
import logging
import re
import shlex
import sqlite3
import tempfile
import traceback

import click
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from cli.app import first_line, make_app
from cli.output import FORMATS
from cli.params import RangeType, from_variable, not_one_line, refuse_blank
from ledger.db import sqlite_file, usable_url
from ledger.errors import PledgerError
from ledger.periods import LockedPeriod
from ledger.spill import TemporaryFilesFailed
from ledger.models import Entry, length_of
from ledger.types import AMOUNT_SCALE, largest
from migrations import HEAD
from purchase.models import PurchaseOrder


class _NamesItsCommand:
    """A usage mistake met while a command's own arguments are read (an option without its
    value, an unknown option) carries that command's context, so that its hint names the
    command (`(see 'pledger closeout undo --help')`), not only the program. Click's parser
    raises those without one."""

    extra_argument_hint = None
    """A command's words for a value typed where it takes none, `{arg}` the value: e.g. `closeout
    undo 3` is told to write `--number 3`."""

    options_once = False
    """Whether an option that takes one value may not be given twice: Click keeps the last, and
    `closeout undo --number 1 --number 2` undid 2 alone, unsaid (audit of 7 December 2026);
    `closeout propose --supplier A --supplier B` proposed B's lines alone. True for every
    command (`PledgerCommand`); a group's options are its own and are left to Click."""

    def parse_args(self, ctx, args):
        if self.options_once and not ctx.resilient_parsing:
            self._refuse_repeated_options(ctx, args)
        checks_extra = not isinstance(self, click.Group) and not ctx.allow_extra_args and not ctx.resilient_parsing
        if checks_extra:  # Click's own words were "Got unexpected extra argument (3)", and "()" for a blank value
            ctx.allow_extra_args = True
        given = list(args)  # as typed: Click's parser takes them from `args` as it reads them
        try:
            rest = super().parse_args(ctx, args)
        except click.NoSuchOption as exc:
            if exc.ctx is None:
                exc.ctx = ctx
            self._negative_number(ctx, exc.option_name, given)
            raise
        except click.UsageError as exc:
            if exc.ctx is None:
                exc.ctx = ctx
            raise
        finally:
            if checks_extra:
                ctx.allow_extra_args = False
        if checks_extra and rest:
            raise click.UsageError(self._unexpected(ctx, rest), ctx)
        return rest

    def _refuse_repeated_options(self, ctx, args: list[str]) -> None:
        """A usage mistake (exit 2) where an option of one value is given more than once.
        Counted as Click's parser reads the words (it lists an option once each time it takes
        one), so that `-oA -oB`, `--output=B`, `--` and a value that reads like an option
        (`--order -o`) are read as the command reads them. A mistake the parser meets is left
        to the parse that follows, which says it."""
        try:
            _, _, order = self.make_parser(ctx).parse_args(args=list(args))
        except click.UsageError:
            return
        for param in self.get_params(ctx):
            if not isinstance(param, click.Option) or param.is_flag or param.multiple or param.count:
                continue
            names = param.opts + param.secondary_opts
            times = sum(1 for taken in order if taken is param)
            if times > 1:
                name = max(names, key=len)
                several = " (several values: a range A..B)" if isinstance(param.type, RangeType) else ""
                raise click.UsageError(f"{name} is given {times} times: give it once{several}", ctx)

    def _negative_number(self, ctx, option: str, args: list[str]) -> None:
        """A negative number where the command takes an argument (`closeout show -1`) was told
        "No such option '-1'": Click reads it as an option (`-12` as `-1` and `-2`). Told as
        the argument's value is, where its type refuses it; otherwise (a text argument) as
        Click tells it."""
        typed = next((a for a in args if re.fullmatch(r"-[0-9]+", a) and a.startswith(option or "-x")), None)
        argument = next((p for p in self.get_params(ctx) if isinstance(p, click.Argument)), None)
        if typed is not None and argument is not None:
            argument.type.convert(typed, argument, ctx)  # a BadParameter (exit 2) where it is not a value it takes

    def _unexpected(self, ctx, rest: list[str]) -> str:
        shown = ", ".join(repr(a) for a in rest[:3]) + (", ..." if len(rest) > 3 else "")
        name = ctx.command_path.partition(" ")[2] or ctx.command_path
        takes = [p.human_readable_name for p in self.get_params(ctx) if isinstance(p, click.Argument)]
        if takes:
            said = f"{name} takes {' '.join(takes)} and no more: {shown} {'is' if len(rest) == 1 else 'are'} one too many"
            return said if len(rest) == 1 else said.replace("one too many", "too many")
        said = f"{name} takes options only, not {shown}"
        arg = rest[0].strip()
        if self.extra_argument_hint is not None and arg and arg.isprintable() and len(arg) <= 40:
            said += f": {self.extra_argument_hint.format(arg=arg)}"
        return said


class PledgerCommand(_NamesItsCommand, click.Command):
    options_once = True

    def invoke(self, ctx):
        ctx.find_root().meta[_COMMAND] = ctx  # what an interruption after a commit names
        if hasattr(ctx.obj, "command"):  # before its first connection: what another session waiting for it sees
            ctx.obj.command = ctx.command_path
        return super().invoke(ctx)


_COMMAND = "pledger.command"


def _refusal(ctx, exc: PledgerError) -> str:
    """What a refusal says: its message, naming the command's `--date` where that is how to
    date the posting elsewhere (a locked period)."""
    command = ctx.find_root().meta.get(_COMMAND)
    if isinstance(exc, LockedPeriod) and command is not None and any("--date" in p.opts for p in command.command.params):
        return exc.naming("--date")
    if isinstance(exc, TemporaryFilesFailed):
        return exc.saying(_books_stand(getattr(ctx.obj, "committed", 0)))
    return str(exc)


class PledgerSubgroup(_NamesItsCommand, click.Group):
    command_class = PledgerCommand
    group_class = type  # its groups are of this class too


class PledgerGroup(PledgerSubgroup):
    """The program: its subgroups are `PledgerSubgroup`s (the handling below is done once, here)."""

    group_class = PledgerSubgroup

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Click's own errors (usage mistakes) as one line too: `pledger: ...`, exit 2."""
        if not standalone_mode:
            _quiet_libraries()
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        previous = _handle_signals()
        _interruptions.phase, _interruptions.signal = "running", None
        _interruptions.unraisablehook, sys.unraisablehook = sys.unraisablehook, _lost_in_a_finalizer
        try:
            _quiet_libraries()
            if sys.stdout is None:  # started with its standard output closed (`>&-`)
                fail("standard output is closed: nothing done (send it to a file, or to /dev/null)")
            stdout, sys.stdout = sys.stdout, _GuardedOutput(sys.stdout)
            try:
                self._run(args, prog_name, complete_var, **extra)
            except KeyboardInterrupt:  # between the command's end and the line said about it
                fail(_stopped(_interruptions.signal))
            finally:
                sys.stdout = stdout
        finally:
            _interruptions.phase = "done"
            sys.unraisablehook = _interruptions.unraisablehook
            for signum, handler in previous.items():
                # the program's own: ignored from here on, through Python's own end (which
                # gives a handler written in Python back to the system's default, to die of)
                signal.signal(signum, signal.SIG_IGN if handler is _on_signal else handler)

    def make_context(self, info_name, args, parent=None, **extra):
        """Reading the arguments (which may import a database driver): ^C as in `invoke`."""
        try:
            return super().make_context(info_name, args, parent, **extra)
        except KeyboardInterrupt:  # as Abort here, or Click's own handling adds a blank line before ours
            raise Interrupted(None) from None

    def _run(self, args, prog_name, complete_var, **extra):
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:  # `pledger`, `pledger po` alone: asking what there is
            click.echo(exc.ctx.get_help())
            sys.exit(0)
        except click.UsageError as exc:
            path = exc.ctx.command_path if exc.ctx is not None else (prog_name or "pledger")
            message = " ".join(exc.format_message().split())
            fail(f"{message} (see '{path} --help')", exc.exit_code)
        except click.ClickException as exc:
            fail(" ".join(exc.format_message().split()), exc.exit_code)
        except click.Abort as exc:
            _interruptions.phase = "done"
            if sys.stderr.isatty():
                click.echo(err=True)  # end the line the terminal's ^C echo is on
            _aborted(exc)
        except BrokenPipeError:
            _reader_gone()
        except OutputLost as exc:
            _output_lost(exc)
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _reader_gone()
        except OutputLost as exc:
            _output_lost(exc)
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx):
        try:
            rv = super().invoke(ctx)
            _interruptions.phase = "done"  # all done: a ^C now would only turn a success into a failure
        except (click.exceptions.Exit, click.ClickException):
            raise
        except click.exceptions.Abort as exc:
            raise Interrupted(ctx) from exc
        except KeyboardInterrupt:  # ^C, SIGTERM: as Abort here, or Click's own handling adds a blank line before ours
            raise Interrupted(ctx) from None
        except PledgerError as exc:
            fail(_refusal(ctx, exc))
        except UnicodeEncodeError as exc:  # an argument of undecodable bytes (surrogate escapes) met the database
            shown = exc.object[max(0, exc.start - 20) : exc.end + 20].encode("utf-8", "backslashreplace").decode("ascii", "replace")
            fail(f"'{shown}' is not valid UTF-8 text: retype the argument, or set a UTF-8 locale", 2)
        except DBAPIError as exc:
            table = _missing_table(exc)
            if table is not None:
                fail(_not_initialised(ctx.obj, table))
            if getattr(exc.orig, "sqlstate", None) == "42501":  # insufficient_privilege (PostgreSQL roles)
                fail(_not_allowed(ctx.obj, exc.orig))
            if getattr(exc.orig, "sqlstate", None) == "25P03":  # idle_in_transaction_session_timeout (ledger.db)
                fail(_ended_idle(ctx.obj))
            if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_not_available: lock_timeout (PLEDGER_LOCK_TIMEOUT)
                fail(_lock_timed_out(ctx.obj))
            if getattr(exc.orig, "sqlstate", None) == "57014":  # query_canceled: statement_timeout, pg_cancel_backend
                fail(_cancelled(ctx.obj, exc.orig))
            short = _server_short_of(ctx.obj, exc.orig)  # 53100 disk_full, 53200 out_of_memory, 53300 too_many_connections, 53400
            if short is not None:
                fail(short)
            if isinstance(exc.orig, sqlite3.OperationalError) and str(exc.orig) == "integer overflow":
                fail(f"the amounts to add up here come to more than SQLite sums ({largest(AMOUNT_SCALE)} a column): "
                     f"nothing was changed; a book of such amounts needs PostgreSQL, which sums them exactly")
            if exc.connection_invalidated or getattr(exc.orig, "sqlstate", None) in ("57P01", "57P02"):
                fail(_connection_ended(ctx, exc))  # admin_shutdown, crash_shutdown, or the connection lost
            trouble = _sqlite_file_trouble(ctx.obj, exc.orig)
            if trouble is not None:
                fail(trouble)
            if isinstance(exc, OperationalError):
                fail(f"database error: {first_line(exc.orig)}; check --db / PLEDGER_DB and that the database is reachable")
            if isinstance(exc.orig, sqlite3.DatabaseError) and "is not a database" in str(exc.orig):
                fail(_not_a_database(ctx.obj))
            fail(f"the database refused the change: {first_line(exc.orig)}")
        except BrokenPipeError:
            _reader_gone()
        except OutputLost as exc:
            exc.committed = getattr(ctx.obj, "committed", 0)
            raise
        except Exception as exc:  # a bug: say so in one line, keep the traceback for the report
            said = f"internal error ({type(exc).__name__}: {first_line(exc)})"
            details = None
            try:
                with tempfile.NamedTemporaryFile("w", prefix="pledger-error-", suffix=".txt", delete=False) as f:
                    details = f.name
                    traceback.print_exc(file=f)
            except OSError as lost:  # the temporary folder's disk is full, or it cannot be written
                if details is not None:
                    with contextlib.suppress(OSError):
                        os.unlink(details)  # not a cut-short file left behind
                fail(f"{said}; its details could not be written in {tempfile.gettempdir()} "
                     f"({lost.strerror or lost}): please report it")
            fail(f"{said}; details in {f.name}, please report it")
        return rv


class Interrupted(click.Abort):
    """Ctrl-C or SIGTERM met by the command, with what it had committed by then."""

    def __init__(self, ctx) -> None:
        super().__init__()
        self.committed = getattr(ctx.obj, "committed", 0) if ctx is not None else 0
        self.committing = getattr(ctx.obj, "committing", False) if ctx is not None else False
        self.command = ctx.meta.get(_COMMAND) if ctx is not None else None


_SEE = {"closeout": "see 'pledger closeout list'", "import": "see 'pledger import list'",
        "init": "run 'pledger init' again to finish it"}


def _aborted(exc: click.Abort) -> None:
    """The one line for an interruption: before any commit, that nothing was written; after
    one, that the books changed all the same; during one, that it cannot be told which."""
    how = _stopped(_interruptions.signal)
    committed, committing = getattr(exc, "committed", 0), getattr(exc, "committing", False)
    if not committed and not committing:
        fail(f"{how}: {_books_stand(0)}")
    command = getattr(exc, "command", None)
    said = f"'{command.command_path}'" if command is not None else "the command"
    see = _where_to_see(command)
    how = "interrupted" if how == "aborted" else how
    if not committed:  # the COMMIT was under way: made or not, the command cannot know
        fail(_while_it_committed(how, see))
    fail(f"{how} after the books changed: {_books_stand(True, said)}; "
         f"what it had still to print or write to a file was not done" + (f" ({see})" if see else ""))


def _where_to_see(command) -> str:
    """The command that shows what `command` (a Click context, or None) wrote, as 'see ...', or ''."""
    if command is None:
        return ""
    area = command.command_path.split()[1:2]
    if area == ["po"] and command.params.get("number"):
        return f"see 'pledger po show {command.params['number']}'"
    return _SEE.get(area[0], "") if area else ""


def _connection_ended(ctx, exc: DBAPIError) -> str:
    """The server ended the command's connection (an administrator's pg_terminate_backend, a
    failover, a server stopped): before the commit nothing of that transaction was written;
    during the commit it may have been, and only the books can tell."""
    app = ctx.obj
    said = f"the database server ended this command's connection ({first_line(exc.orig)})"
    if getattr(exc, "during_commit", False):
        return _while_it_committed(said, _where_to_see(ctx.find_root().meta.get(_COMMAND)))
    return f"{said}: {_books_stand(getattr(app, 'committed', 0))}; run it again"


def _while_it_committed(what: str, see: str) -> str:
    """A command stopped (`what`: "interrupted", the server ending its connection) while its
    COMMIT was under way: made or not, it cannot know, and says where to look (`see`, as
    `_where_to_see` gives it, or '')."""
    return (f"{what} while it committed: whether that transaction was written cannot be told from here; "
            f"look in the books before running it again" + (f" ({see})" if see else ""))


def _books_stand(committed, who: str = "the command") -> str:
    """Whether a command stopped before its end changed the books (`App.committed`)."""
    return f"what {who} wrote to the books is committed all the same" if committed else NOTHING_WRITTEN


SIGPIPE_STATUS = 141  # 128 + SIGPIPE: how a program that stops when its reader went away exits


class OutputLost(Exception):
    """Standard output could not be written: a full disk, a device error (`> /dev/full`)."""

    def __init__(self, error: OSError):
        super().__init__(error.strerror or str(error))
        self.error = error
        self.committed = 0  # transactions the command had committed when it was met


class _GuardedOutput:
    """Standard output as the commands write to it: a write or flush that fails (other than
    for a reader gone, `BrokenPipeError`) raises `OutputLost`, which is told as what it is,
    not as a bug."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def _guarded(self, operation, *args):
        try:
            return operation(*args)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputLost(exc) from exc

    def write(self, text):
        return self._guarded(self._stream.write, text)

    def flush(self) -> None:
        self._guarded(self._stream.flush)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _output_lost(exc: OutputLost) -> None:
    """Say that the output is lost, and whether the command's changes to the books stand."""
    with contextlib.suppress(OSError, ValueError, AttributeError):  # so that the flush at exit does not fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    fail(f"cannot write the output: {exc}; {_books_stand(exc.committed)}")


def _reader_gone() -> None:
    """The program reading our output closed it (`pledger ... | head`): stop without a word,
    as other command-line tools do. What was committed stays committed; only the rest of
    the printout is lost."""
    _interruptions.phase = "done"
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # so that the flush at exit does not fail again
    sys.exit(SIGPIPE_STATUS)


def _quiet_libraries() -> None:
    """Library warnings (psycopg: "error ignored terminating <Pipeline>: the connection is lost"
    when the server goes away) would print a second line before ours: the error they report
    reaches the user once, through the handler above."""
    for name in ("psycopg", "sqlalchemy"):
        log = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in log.handlers):
            log.addHandler(logging.NullHandler())


def _not_allowed(app, error) -> str:
    """A privilege the login lacks, said with the role that has it (`ledger.roles.needed_for`)."""
    from ledger.roles import needed_for, not_installed

    said = first_line(error)
    found = re.match(r"permission denied for (table|schema|sequence|function) (\S+)", said)
    if found is None:  # a commit-time trigger's refusal (ledger/roles.py): its hint says who may commit it
        hint = getattr(getattr(error, "diag", None), "message_hint", None)
        if hint:
            return f"the database refused the change: {said}; nothing was changed: {hint}"
        return f"the database refused the change: {said}"
    try:
        with app.engine.connect() as connection:  # the refused transaction is gone: a connection of its own
            owner = not_installed(connection)
            needs = needed_for(connection, found.group(1), found.group(2))
        if owner is not None:
            return (f"the database login may not do this ({said}): these books' tables are {owner}'s, not "
                    f"pledger_owner's: 'pledger db roles' has not been run on this database; a superuser runs it "
                    f"once (then after every upgrade)")
    except Exception:  # noqa: BLE001 - the refusal is still told, without who may
        return f"the database refused the change: {said}"
    return (f"the database login may not do this ({said}): {needs}, reading the books any pledger role; "
            f"an owner grants them with 'pledger db roles --grant ROLE=LOGIN'")


def _ended_idle(app) -> str:
    """The server ended this command's transaction: it stood idle inside it for
    `IDLE_IN_TRANSACTION_MS` (suspended, its output blocked, cut off), holding others up."""
    from ledger.db import IDLE_IN_TRANSACTION_MS

    return (f"the database ended this command's transaction after it stood idle for {IDLE_IN_TRANSACTION_MS / 1000:g} s "
            f"(the command was suspended or cut off, and held other users up): "
            f"{_books_stand(getattr(app, 'committed', 0))}; run it again")


def _cancelled(app, error) -> str:
    """PostgreSQL cancelled a statement of the command: the statement_timeout an administrator
    set (on the login, the database or the server), or another session's pg_cancel_backend.
    The database was reached; the transaction is rolled back."""
    stand = _books_stand(getattr(app, "committed", 0))
    if "statement timeout" in str(error):
        return (f"the database cancelled a statement of this command after the statement_timeout set for this login or "
                f"database: {stand}; run it again when the database is less busy, or have its administrator raise "
                f"statement_timeout")
    return f"another session cancelled this command's statement ({first_line(error)}): {stand}; run it again"


_NO_CONNECTION_LEFT = re.compile(r'too many connections for (?:role|database) "[^"]*"|sorry, too many clients already|'
                                 r"remaining connection slots are reserved[^\n;]*")
"""What the server says, refusing a connection past a limit (SQLSTATE 53300): psycopg gives
no SQLSTATE for a connection refused as it is made, only the server's words."""


def _server_short_of(app, error) -> str | None:
    """The PostgreSQL server without the disk (53100 disk_full), the memory (53200
    out_of_memory), a connection (53300 too_many_connections: max_connections, or the
    CONNECTION LIMIT of the login or the database) or within a limit of its configuration
    (53400 configuration_limit_exceeded: for pledger's statements temp_file_limit, a sort or
    hash spilling more to temporary files than the login or database may) for the command:
    said as that, with what to do, not as a database that cannot be reached. None for
    anything else."""
    sqlstate = getattr(error, "sqlstate", None)
    committed = getattr(app, "committed", 0)
    rolled_back = f"{_books_stand(committed)}" + ("; its last transaction was rolled back" if committed else
                                                 " (its transaction was rolled back)")
    if sqlstate == "53100":
        return (f"the PostgreSQL server's disk is full ({first_line(error)}): {rolled_back}; free space on the server, "
                f"or ask its administrator to, then run it again")
    if sqlstate == "53200":
        return (f"the PostgreSQL server ran out of memory ({first_line(error)}): {rolled_back}; run it again when the "
                f"server is less busy, or ask its administrator to give it more memory")
    if sqlstate == "53400" and "temp_file_limit" in str(error):  # the setting's name, in any language of the server
        return (f"the PostgreSQL server stopped this command: it needed more temporary file space than its temp_file_limit allows "
                f"({first_line(error)}): {rolled_back}; ask the database's administrator to raise temp_file_limit for "
                f"this login or database (or work_mem, so that less spills to temporary files), then run it again")
    if sqlstate == "53400":  # max_prepared_transactions, worker slots: none of pledger's statements asks for those
        return (f"the PostgreSQL server reached a limit its administrator set ({first_line(error)}): {rolled_back}; "
                f"ask the database's administrator which limit and to raise it, then run it again")
    limit = _NO_CONNECTION_LEFT.search(str(error)) if sqlstate in ("53300", None) else None
    if sqlstate == "53300" or limit is not None:
        said = limit.group() if limit is not None else first_line(error)
        return (f"the PostgreSQL server has no connection left for this command ({said}): {_books_stand(committed)}; "
                f"wait for other sessions to end and run it again, or ask your administrator to raise max_connections "
                f"(or the CONNECTION LIMIT of this login or database)")
    return None


def _lock_timed_out(app) -> str:
    """A statement waited for another session's lock longer than the lock_timeout the user set
    (PLEDGER_LOCK_TIMEOUT) or the administrator did: refused as it is, not run again (another
    try would wait as long for the same session)."""
    seconds = getattr(app, "lock_timeout", None)
    waited = f"PLEDGER_LOCK_TIMEOUT ({seconds.normalize():f} s)" if seconds else "the database's lock_timeout"
    return (f"another session held the books longer than {waited}: {_books_stand(getattr(app, 'committed', 0))}; "
            f"run it again when that session is done")


def _missing_table(exc: DBAPIError) -> str | None:
    """The table a statement named that the database does not have, or None if that is not
    what went wrong: SQLite "no such table: X" (an OperationalError), PostgreSQL
    undefined_table 42P01 (a ProgrammingError)."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == "42P01":
        found = re.search(r'relation "([^"]+)" does not exist', str(orig))
        return found.group(1) if found else "?"
    if isinstance(orig, sqlite3.OperationalError) and str(orig).startswith("no such table: "):
        return str(orig).removeprefix("no such table: ").strip()
    return None


def _not_initialised(app, table: str) -> str:
    """What to do about a missing table: make the books (`pledger init`) when the database has
    none of pledger's tables, upgrade them when it has some."""
    shown, tables, init, revision = "the database", None, "pledger init", None
    with contextlib.suppress(Exception):  # the message is still right without the name or the look
        url = app.shown_url
        shown, init = f"the database {url}", f"pledger --db {shlex.quote(url)} init"
        tables = set(inspect(app.engine).get_table_names())
        if "alembic_version" in tables:  # on a connection of its own: the failed transaction is gone
            from migrations.runner import current_revision  # alembic, loaded only here
            revision = current_revision(app.engine)
    if revision == HEAD:  # init would find nothing to upgrade: the table was dropped behind pledger's back
        return (f"{shown} has no table {table}, though its tables are at this pledger's migration {HEAD}: "
                f"the table was dropped outside pledger; restore the books from a backup")
    if tables and "alembic_version" in tables:
        return f"{shown} has no table {table}: its tables are older than this pledger; run '{init}' to upgrade them"
    return f"{shown} has no pledger tables: run '{init}' first (or check --db / PLEDGER_DB)"


def _sqlite_file_trouble(app, error) -> str | None:
    """What SQLite says of the disk or file under the books, said as that with what to do; None
    for anything else. Before, a full disk read "database error: database or disk is full; check
    --db / PLEDGER_DB and that the database is reachable", though the books were found."""
    name = getattr(error, "sqlite_errorname", None)
    if not isinstance(error, sqlite3.Error) or name is None:
        return None
    file, found = "the books' file", None
    with contextlib.suppress(Exception):  # the message is still right without the name
        found = sqlite_file(app.db_url)
        if found is not None:
            file = f"the books' file {found}"
    stand = _books_stand(getattr(app, "committed", 0))
    if name == "SQLITE_READONLY_DIRECTORY" or (name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN"))
                                               and found is not None and not _writable_folder(found)):
        return _read_only_folder(found, file, stand)
    if name == "SQLITE_FULL":
        return f"the disk is full where SQLite writes {file} (or its temporary files): {stand}; free some space there and run it again"
    if name.startswith("SQLITE_READONLY"):
        return (f"{file} cannot be written (it is read-only): {stand}; make it, its folder and its -wal and -shm files "
                f"writable for this user, then run it again")
    if name.startswith("SQLITE_CORRUPT"):
        return f"{file} is damaged (SQLite: {first_line(error)}): {stand}; restore them from a backup"
    return None


def _writable_folder(file) -> bool:
    """Whether this user may make files in the folder of `file` (its -wal and -shm files)."""
    with contextlib.suppress(OSError):
        return os.access(file.absolute().parent, os.W_OK)
    return True  # not known: not said to be read-only


def _read_only_folder(found, file: str, stand: str) -> str:
    """The books in a folder this user may not write (a shared folder of mode 555, a read-only
    mount): SQLite makes the -wal and -shm files beside the books even to read them, so every
    command failed, `check` and the reports too ("unable to open database file" where a -wal
    file was left without its -shm). A -wal file left there holds committed work: a copy of
    the books takes it along. Reading with SQLite's `immutable=1` instead would take no lock
    and see no -wal file: a writer who may write the folder would change the file under the
    read, and a -wal file's work would be missed."""
    folder = "the folder" if found is None else f"the folder {found.absolute().parent}"
    if found is not None and not found.exists():  # init, demo: new books there
        return (f"cannot make {file}: its folder {found.absolute().parent} cannot be written; choose a folder you can "
                f"write, or make this one writable for this user, then run it again")
    return (f"{folder} holding {file} cannot be written: SQLite makes the books' -wal and -shm files there, even to "
            f"read them; {stand}; copy the books (with their -wal file, if there is one) to a folder you can write, "
            f"or make this folder writable for this user, then run it again")


def _not_a_database(app) -> str:
    """`--db` names a file that is not SQLite's (a CSV file, a workbook: SQLite says "file is
    not a database"): said as that, whatever the command was to do, with where to look.
    Before, every command said "the database refused the change", even one that only reads."""
    shown = "the file --db names"
    with contextlib.suppress(Exception):  # the message is still right without the name
        shown = f"the file {make_url(app.db_url).database}"
    return f"{shown} is not a SQLite database (not pledger's books): check --db / PLEDGER_DB"


_CONTROL = {c: f"\\x{c:02x}" for c in range(32)} | {10: "\\n", 13: "\\r", 9: "\\t", 127: "\\x7f"}


def printable(text: str) -> str:
    """`text` on one line, its control characters escaped ("\\n", "\\x1b"): never an escape
    sequence for the terminal that shows it."""
    return text.translate(_CONTROL)


def fail(message: str, code: int = 1):
    """One line on stderr, always: control characters a user typed are shown escaped."""
    _interruptions.phase = "done"  # what is left is the way out (a rollback): not to be cut short
    click.echo(f"pledger: {printable(str(message))}", err=True)
    sys.exit(code)


def _usable_db(ctx, param, value):
    """An unusable --db / PLEDGER_DB is a usage mistake (exit 2), found before any command runs.
    So is an empty --db (a script's unset variable: `--db "$BOOKS"`): it named no books, and
    the command went to PLEDGER_DB or ./pledger.db instead (`init` made one there). An empty
    PLEDGER_DB is no PLEDGER_DB, as for every variable Click reads."""
    refuse_blank(value, ctx, param, "name the books (a file or a database URL), or leave --db out for PLEDGER_DB or ./pledger.db")
    try:
        usable_url(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None
    return value


USER_LONGEST = min(length_of(Entry.user_name), length_of(PurchaseOrder.buyer))
"""The longest --user: every row that says who acted keeps the name (128 characters), and
`reorder propose --create` makes it the buyer of the orders it creates (100)."""


def _usable_user(ctx, param, value):
    """A --user / PLEDGER_USER longer than the columns that keep it is a usage mistake (exit 2),
    found before anything is written: PostgreSQL would refuse it at the first INSERT, naming
    no option, and SQLite would keep it. A name of only spaces names no one (it was kept, and
    `closeout list` showed no user): a usage mistake too, as is an empty --user (a script's
    unset variable, which went on as your login); spaces around a name are dropped.
    A name holding a line break or another control character is one too: 'ann\\nbob' was kept
    on every entry and close-out, and `closeout list` showed it as two users on two lines."""
    if value is None:
        return value
    given = from_variable(ctx, param)
    value = refuse_blank(value, ctx, param, "give who is acting, or leave it out for your login").strip()
    if (what := not_one_line(value)) is not None:
        raise click.BadParameter(f"{value!r}{given} holds {what}: a user name is one line of text",
                                 ctx=ctx, param=param)
    if len(value) > USER_LONGEST:
        raise click.BadParameter(f"'{value[:20]}...'{given} has {len(value)} characters: at most {USER_LONGEST}",
                                 ctx=ctx, param=param)
    return value


@click.group(cls=PledgerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", envvar="PLEDGER_DB", default=None, callback=_usable_db,
              help="SQLAlchemy URL or SQLite file (else PLEDGER_DB; default: pledger.db here).")
@click.option("--user", envvar="PLEDGER_USER", default=None, callback=_usable_user,
              help="Who is acting (else PLEDGER_USER; default: your login).")
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="table",
              help="Output of every command that prints data, unless it is given its own --format.")
@click.version_option(package_name="pledger")
@click.pass_context
def cli(ctx, db, user, output_format):
    """pledger: a purchase ledger with double-entry postings and the GR/IR close-out."""
    try:
        app = make_app(db, user, output_format)
    except ValueError as exc:  # PLEDGER_LOCK_TIMEOUT that is no number of seconds: a usage mistake, no option to see
        mistake = click.ClickException(str(exc))
        mistake.exit_code = 2
        raise mistake from None
    app.creates = ctx.invoked_subcommand in ("init", "demo")
    app.on_any_book = ctx.invoked_subcommand in ("init", "demo", "db")  # the rest refuse a book init left half made
    ctx.obj = app
    ctx.call_on_close(app.close)


def main() -> None:
    from cli import commands  # noqa: F401  (registers the commands)

    cli(prog_name="pledger")


if __name__ == "__main__":  # pragma: no cover
    # `python -m cli.main`: this file runs as __main__, a second copy of the module, while the
    # commands register on the group of `cli.main` (cli/commands imports it); run that one.
    from cli.main import main as installed_main

    installed_main()
