"""Breaches of the command-line contract (../shared/CLI.md) an audit found, one test each:
the propose -> edit -> run round trip, reports without clock time, the shape of
`closeout undo --number A..B`, and refusals of a propose file that cannot be written."""

from __future__ import annotations

import json
import re
import zipfile

import pytest

from tests.builders import invoice, item, order, receive, supplier
from tests.conftest import Books


@pytest.fixture
def acme(books):
    """Supplier ACME, item BOLT, and order PO-1 of two lines, each half received and invoiced."""
    with books.session() as s:
        supplier(s)
        item(s)
        order(s, "PO-1", ("BOLT", 10, "100.00"), ("BOLT", 4, "2.50"))
        receive(s, "PO-1", 1, 5)
        invoice(s, "PO-1", 1, 5)
        receive(s, "PO-1", 2, 2)
        invoice(s, "PO-1", 2, 2)
    return books


def ok(result):
    assert result.exit_code == 0, result.output
    return result


def closeouts(books) -> int:
    return books.raw("select count(*) from closeouts").scalar()


# -- 1. the edits file takes the columns propose writes --------------------------------------


def test_a_proposal_edited_in_a_spreadsheet_runs_as_edited(acme, tmp_path):
    proposal = tmp_path / "open.csv"
    ok(acme.cli("closeout", "propose", "-o", proposal))
    assert proposal.read_text().splitlines() == [
        "order,line,supplier,order_date,item,received,invoiced,to_receive,to_invoice",
        "PO-1,1,ACME,2026-05-04,BOLT,5,5,5,5",
        "PO-1,2,ACME,2026-05-04,BOLT,2,2,2,2",
    ]
    # the user lowers line 2's to_invoice from 2 to 1 and saves the file as it was
    proposal.write_text(proposal.read_text().replace("PO-1,2,ACME,2026-05-04,BOLT,2,2,2,2", "PO-1,2,ACME,2026-05-04,BOLT,2,2,2,1"))

    args = ["closeout", "run", "--edits", proposal, "--date", "2026-06-30", "--format", "json"]
    trial = json.loads(ok(acme.cli(*args, "--trial")).stdout)
    real = json.loads(ok(acme.cli(*args)).stdout)
    for report in (trial, real):
        changed = [(l["order"], l["line"], l["to_receive_after"], l["to_invoice_after"]) for l in report["lines"]]
        assert changed == [("PO-1", 2, "2", "1")]
    assert (trial["closeout"], real["closeout"]) == (None, 1)
    shown = json.loads(ok(acme.cli("po", "show", "PO-1", "--format", "json")).stdout)
    assert [(l["line"], l["to_receive"], l["to_invoice"]) for l in shown["lines"]] == [(1, "5", "5"), (2, "2", "1")]


def test_a_misspelt_column_in_the_edits_file_is_still_refused(acme, tmp_path):
    """Only the columns propose writes are taken besides the edits' own: any other is a
    column the user meant to fill and would silently be lost."""
    edits = tmp_path / "edits.csv"
    run = ("closeout", "run", "--edits", edits, "--date", "2026-06-30")

    edits.write_text("order,line,supplier,order_date,item,received,invoiced,to_receive,to_invoice,to_invoce\n"
                     "PO-1,2,ACME,2026-05-04,BOLT,2,2,2,,1\n")
    result = acme.cli(*run)
    assert (result.exit_code, result.stdout) == (1, ""), result.output
    assert result.stderr == (
        f"pledger: {edits}: row 1: unknown column 'to_invoce'; the columns are "
        "order, line, supplier, order_date, item, received, invoiced, to_receive, to_invoice\n")

    edits.write_text("order,line,supplier,order_date,item,received,invoiced,to_receive,to_invoce\n"
                     "PO-1,2,ACME,2026-05-04,BOLT,2,2,2,1\n")
    result = acme.cli(*run)
    assert (result.exit_code, result.stdout) == (1, ""), result.output
    assert result.stderr == (
        f"pledger: {edits}: row 1: missing column to_invoice; the header is "
        "order, line, supplier, order_date, item, received, invoiced, to_receive, to_invoce\n")
    assert closeouts(acme) == 0


# -- 2. the posting report holds no clock time -----------------------------------------------


@pytest.mark.parametrize("suffix", ["xlsx", "pdf"])
def test_two_identical_trials_write_the_same_report_file(acme, tmp_path, suffix):
    first, second = tmp_path / f"first.{suffix}", tmp_path / f"second.{suffix}"
    for path in (first, second):
        ok(acme.cli("closeout", "run", "--close-fully", "--trial", "--date", "2026-06-30", "--report", path))
    if suffix == "xlsx":
        with zipfile.ZipFile(first) as z:
            core = z.read("docProps/core.xml").decode()
        assert "<dcterms:created" in core and "2000-01-01T00:00:00Z" in core, core  # a fixed epoch, as the PDF's
    assert first.read_bytes() == second.read_bytes()


# -- 3. `undo --number A..B` prints a list, also when A = B ------------------------------------


def test_undo_number_prints_one_report_and_a_typed_range_a_list(acme):
    ok(acme.cli("closeout", "run", "--close-fully", "--date", "2026-06-30"))

    one = json.loads(ok(acme.cli("closeout", "undo", "--number", "1", "--trial", "--format", "json")).stdout)
    assert isinstance(one, dict) and one["undo_of"] == 1

    for typed in ("1..1", "1..", "..1"):
        listed = json.loads(ok(acme.cli("closeout", "undo", "--number", typed, "--trial", "--format", "json")).stdout)
        assert isinstance(listed, list), typed
        assert [r["undo_of"] for r in listed] == [1], typed
        assert listed[0] == one


def test_closeout_show_as_csv_gives_its_lines_then_its_entries(acme):
    with acme.session() as s:  # 3 received, never to be invoiced: the close-out posts an entry
        receive(s, "PO-1", 1, 3)
    ok(acme.cli("closeout", "run", "--close-fully", "--date", "2026-06-30"))
    shown = json.loads(ok(acme.cli("closeout", "show", "1", "--format", "json")).stdout)
    lines, entries = ok(acme.cli("closeout", "show", "1", "--format", "csv")).stdout.split("\n\n")[:2]
    lines, entries = lines.splitlines(), entries.splitlines()
    assert lines[0] == "order,line,to_receive_before,to_receive_after,to_invoice_before,to_invoice_after,uninvoiced,unreceived"
    assert [row.split(",")[:2] for row in lines[1:]] == [[l["order"], str(l["line"])] for l in shown["lines"]]
    assert entries[0] == "kind,journal,number,date"
    assert len(entries) == 1 + len(shown["entries"])


# -- 4. propose refuses a file it cannot write, and leaves none behind ----------------------


def test_propose_to_a_folder_that_does_not_exist_is_refused(acme, tmp_path):
    target = tmp_path / "no" / "such" / "pp.csv"
    result = acme.cli("closeout", "propose", "-o", target)
    assert (result.exit_code, result.stdout) == (1, ""), result.output
    assert result.stderr == (f"pledger: cannot write {target}: the folder {target.parent} does not exist; create it first, "
                             f"or give a file in a folder that exists\n")  # it said only "No such file or directory"
    assert not (tmp_path / "no").exists()


def test_propose_on_a_database_never_initialised_leaves_no_file(fresh_url, db_kind, tmp_path):
    never_initialised = Books(url=fresh_url, dialect=db_kind)
    folder = tmp_path / "out"  # apart from the SQLite file
    folder.mkdir()
    target = folder / "pp.csv"
    try:
        result = never_initialised.cli("closeout", "propose", "-o", target)
    finally:
        never_initialised.engine.dispose()
    assert (result.exit_code, result.stdout) == (1, ""), result.output
    assert result.stderr.startswith("pledger: ") and result.stderr.count("\n") == 1, result.stderr
    assert "internal error" not in result.stderr
    assert list(folder.iterdir()) == []  # neither pp.csv nor a part of it


def test_propose_that_fails_while_writing_leaves_no_file(acme, tmp_path, monkeypatch):
    """The connection is lost after the header and the first lines were written."""
    import cli.commands.closeout as closeout_commands
    from sqlalchemy.exc import OperationalError

    real = closeout_commands.chunks_by_order

    def lost_after_the_first_chunk(*args, **kwargs):
        yield next(iter(real(*args, **kwargs)))
        raise OperationalError("select ...", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(closeout_commands, "chunks_by_order", lost_after_the_first_chunk)
    target = tmp_path / "pp.csv"
    result = acme.cli("closeout", "propose", "-o", target)
    assert (result.exit_code, result.stdout) == (1, ""), result.output
    assert result.stderr.startswith("pledger: database error: server closed the connection unexpectedly"), result.stderr
    assert list(tmp_path.iterdir()) == []


# -- long reports and propose show a bar on a terminal (CLI.md) -----------------------------


class Told:
    """A progress bar as the commands see it (`cli.progress.TerminalProgress`), shown,
    recording what it is told: each bar started, as [label of its stage, total, rows told],
    and how many bars had started when the output began (`printing`)."""

    made: list["Told"] = []
    shown = True

    def __init__(self, label: str):
        self.label, self.bars, self.finished, self.bars_before_output = label, [], False, None
        Told.made.append(self)

    def __enter__(self) -> "Told":
        return self

    def __exit__(self, *exc) -> None:
        self.finish()

    def stage(self, label: str) -> "Told":
        self.label = label
        return self

    def start(self, total: int) -> None:
        self.bars.append([self.label, total, 0])

    def advance(self, n: int) -> None:
        self.bars[-1][2] += n

    def finish(self) -> None:
        self.finished = True

    def printing(self) -> None:
        if self.bars_before_output is None:
            self.bars_before_output = len(self.bars)

    @property
    def total(self) -> int:
        return self.bars[-1][1]

    @property
    def done(self) -> int:
        return self.bars[-1][2]


@pytest.mark.parametrize("args, module", [
    (["report", "backorders", "-o", "{dir}/b.pdf"], "orders"),
    (["report", "grir", "-o", "{dir}/g.xlsx"], "orders"),
    (["closeout", "propose", "-o", "{dir}/p.csv"], "closeout"),
])
def test_a_report_written_to_a_file_and_propose_tell_a_progress_bar_every_line(acme, tmp_path, monkeypatch, args, module):
    import cli.commands.closeout
    import cli.commands.orders

    from cli.formats import RowsOf

    monkeypatch.setattr({"orders": cli.commands.orders, "closeout": cli.commands.closeout}[module], "TerminalProgress", Told)
    monkeypatch.setattr(RowsOf, "STEP", 1)  # every row told: the book is small
    with acme.session() as s:  # a GR balance for the GR/IR report: 3 received, not invoiced
        receive(s, "PO-1", 1, 3)
    Told.made = []
    said = ok(acme.cli(*[a.format(dir=tmp_path) for a in args])).stdout
    (bar,) = Told.made
    lines = 2 if module == "closeout" else int(re.search(r": (\d+) lines?\b", said).group(1))  # propose: PO-1's 2 lines
    assert lines > 0 and bar.total == lines and bar.done == lines and bar.finished


LONG_READS = [  # a command that reads as many rows as the book holds, the module that makes its bar, its reading label
    (["report", "grir"], "orders", "reading GR/IR lines"),
    (["report", "grir", "--as-of", "2026-12-31"], "orders", "reading GR/IR lines"),
    *[(["report", "backorders", "--sort", sort], "orders", "reading backorders")
      for sort in ("item", "supplier", "order", "date", "amount")],
    (["po", "list"], "orders", "reading orders"),
    (["journal", "show", "PUR"], "books", "reading journal lines"),
]


def _rows_printed(books, args) -> int:
    """How many rows the command prints, read from its JSON (rows, or a list of them)."""
    data = json.loads(ok(books.cli(*args, "--format", "json")).stdout)
    return len(data["rows"] if isinstance(data, dict) else data)


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
@pytest.mark.parametrize("args, module, reading", LONG_READS)
def test_a_long_command_tells_its_bar_every_row_it_reads_then_every_row_it_prints(acme, monkeypatch, args, module, reading, fmt):
    """CLI.md: long work shows a bar on a terminal. These commands walk the whole book: the
    bar is started with the count of what is read and told every row of it, then started
    again with the rows printed and told every one, in every format; the output is told
    when it begins (on a terminal the bar is erased then), and the bar is finished."""
    import cli.commands.books
    import cli.commands.orders

    from cli.formats import RowsOf

    with acme.session() as s:  # a GR balance for the GR/IR report: 3 received, not invoiced
        receive(s, "PO-1", 1, 3)
    printed = _rows_printed(acme, args)
    monkeypatch.setattr({"orders": cli.commands.orders, "books": cli.commands.books}[module], "TerminalProgress", Told)
    monkeypatch.setattr(RowsOf, "STEP", 1)
    Told.made = []
    ok(acme.cli(*args, "--format", fmt))
    (bar,) = Told.made
    (read_label, read_total, read_told), (write_label, write_total, write_told) = bar.bars
    assert (read_label, write_label) == (reading, "writing")
    assert read_total == read_told >= printed > 0  # SQL reads what is shown, or a superset the states narrow
    assert write_total == write_told == printed
    assert bar.bars_before_output is not None and bar.finished


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_closeout_show_tells_its_bar_every_line_and_entry_it_reads_then_prints(acme, monkeypatch, fmt):
    import cli.commands.closeout

    from cli.formats import RowsOf

    with acme.session() as s:  # 3 received, never to be invoiced: the close-out posts an entry
        receive(s, "PO-1", 1, 3)
    ok(acme.cli("closeout", "run", "--close-fully", "--date", "2026-06-30"))
    shown = json.loads(ok(acme.cli("closeout", "show", "1", "--format", "json")).stdout)
    lines, entries = len(shown["lines"]), len(shown["entries"])
    monkeypatch.setattr(cli.commands.closeout, "TerminalProgress", Told)
    monkeypatch.setattr(RowsOf, "STEP", 1)
    Told.made = []
    ok(acme.cli("closeout", "show", "1", "--format", fmt))
    (bar,) = Told.made
    assert lines > 0 and entries > 0
    assert bar.bars == [["reading the close-out", lines + entries, lines + entries],
                        ["writing", lines, lines], ["writing", entries, entries]]
    assert bar.bars_before_output is not None and bar.finished


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_check_tells_its_bar_every_ledger_line_and_order_line_it_reads(acme, monkeypatch, fmt):
    """`pledger check` reads the whole book twice over: the ledger's lines (balances, numbers,
    hash chain), then the order lines (the GR/IR tie-out). Its bar counts both and is told each."""
    import cli.commands.books

    lines = acme.raw("select count(*) from entry_lines").scalar() + acme.raw("select count(*) from order_lines").scalar()
    monkeypatch.setattr(cli.commands.books, "TerminalProgress", Told)
    Told.made = []
    ok(acme.cli("check", "--format", fmt))
    (bar,) = Told.made
    assert lines > 2 and bar.bars == [["checking", lines, lines]]
    assert bar.bars_before_output == 1 and bar.finished


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
@pytest.mark.parametrize("command", ["run", "undo"])
def test_a_posting_report_tells_its_bar_every_line_it_writes_then_prints(acme, tmp_path, monkeypatch, fmt, command):
    """After the close-out's or the undo's own bar, the posting report's: its entry lines and
    closed lines as the report file is written, then as they are printed (JSON: the closed
    lines, then the entries)."""
    import cli.commands.closeout

    from cli.formats import RowsOf

    with acme.session() as s:  # 3 received, never to be invoiced: the close-out posts an entry
        receive(s, "PO-1", 1, 3)
    args = ["closeout", "run", "--close-fully", "--date", "2026-06-30"]
    if command == "undo":
        ok(acme.cli(*args))
        args = ["closeout", "undo", "--number", "1", "--date", "2026-06-30"]
    args.append("--trial")
    report = json.loads(ok(acme.cli(*args, "--format", "json")).stdout)
    lines, entries = len(report["lines"]), len(report["entries"])
    entry_lines = sum(len(e["lines"]) for e in report["entries"])
    monkeypatch.setattr(cli.commands.closeout, "TerminalProgress", Told)
    monkeypatch.setattr(RowsOf, "STEP", 1)
    Told.made = []
    ok(acme.cli(*args, "--format", fmt, "--report", tmp_path / "report.csv"))
    writing = Told.made[-1]
    assert lines > 0 and entries > 0 and entry_lines > entries
    in_tables = [["writing", entry_lines, entry_lines], ["writing", lines, lines]]
    printed = [["writing", lines, lines], ["writing", entries, entries]] if fmt == "json" else in_tables
    assert writing.bars == in_tables + printed
    assert writing.bars_before_output is not None and writing.finished


def test_import_issues_tells_its_bar_every_row_it_reads_then_writes(acme, tmp_path, monkeypatch):
    """CLI.md: imports show a bar; `import issues` had none (3.4 s for 100,000 rows)."""
    import cli.commands.supplier_docs

    path = tmp_path / "issues.csv"
    path.write_text("issue,date,item,quantity\nISS-1,2026-05-05,BOLT,3\nISS-1,2026-05-05,BOLT,2\nISS-2,2026-05-06,BOLT,1\n")
    monkeypatch.setattr(cli.commands.supplier_docs, "TerminalProgress", Told)
    Told.made = []
    ok(acme.cli("import", "issues", path))
    (bar,) = Told.made
    assert bar.bars == [["importing issues", 2 * 3, 2 * 3]] and bar.finished


def _on_a_terminal(args, *, stdout_too: bool) -> tuple[bytes, bytes]:
    """`python -m cli.main ARGS` run with stderr on a pseudo-terminal, and stdout on it too
    or on a pipe: what the terminal showed, and what came through the pipe."""
    import os
    import pty
    import subprocess
    import sys
    import threading
    from pathlib import Path

    master, slave = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "cli.main", *args], cwd=Path(__file__).resolve().parents[1],
                               stdin=subprocess.DEVNULL, stdout=slave if stdout_too else subprocess.PIPE, stderr=slave)
    os.close(slave)
    shown = bytearray()

    def read() -> None:
        while True:
            try:
                data = os.read(master, 1 << 16)
            except OSError:  # EIO: the last process writing to the terminal has ended
                return
            if not data:
                return
            shown.extend(data)

    reader = threading.Thread(target=read)
    reader.start()
    piped = process.stdout.read() if process.stdout is not None else b""
    assert process.wait(timeout=120) == 0, bytes(shown)
    reader.join(timeout=30)
    os.close(master)
    return bytes(shown), piped


def test_a_bar_shows_on_a_terminal_and_never_runs_through_the_output(acme):
    """Through a real pseudo-terminal. stderr a terminal, stdout a pipe: the bar shows the
    reading and the writing, and stdout is what it is without a terminal. Both on the
    terminal: the bar is erased before the report's first line and never seen after it.
    Neither a terminal: nothing but the report is written."""
    import subprocess
    import sys
    from pathlib import Path

    with acme.session() as s:
        receive(s, "PO-1", 1, 3)
    args = ["--db", acme.url, "report", "grir"]
    plain = subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=Path(__file__).resolve().parents[1],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    assert (plain.returncode, plain.stderr) == (0, b"")
    assert plain.stdout.decode() == ok(acme.cli("report", "grir")).stdout

    shown, piped = _on_a_terminal(args, stdout_too=False)
    assert piped == plain.stdout
    assert b"reading GR/IR lines" in shown and b"writing" in shown and b"100%" in shown

    shown, _ = _on_a_terminal(args, stdout_too=True)
    before, title, after = shown.partition(b"GR/IR sub-balances")
    assert b"reading GR/IR lines" in before and before.endswith(b"\r\x1b[K\x1b[?25h")  # erased, the cursor back
    assert (title + after).replace(b"\r\n", b"\n") == plain.stdout  # the report alone after it


def test_pledger_alone_or_a_group_alone_prints_its_help_as_help(tmp_path):
    """What a new user types first: the help, on stdout, exit 0 (it came squashed into one
    line of stderr, as a usage mistake, exit 2)."""
    from click.testing import CliRunner

    from cli import commands  # noqa: F401
    from cli.main import cli

    for args in ([], ["po"], ["settings"]):
        result = CliRunner().invoke(cli, args, prog_name="pledger")
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith(f"Usage: pledger {' '.join(args)}".rstrip() + " [OPTIONS] COMMAND [ARGS]...\n")
        assert "Commands:" in result.stdout and result.stderr == ""


WITHOUT_FORMAT = {
    "closeout propose": "its data is the -o file it writes (CSV or XLSX, the type from the name); stdout only says how "
                        "many lines went where, as 'report backorders -o' does, which refuses a --format beside -o",
    "db roles": "a superuser's set-up of PostgreSQL roles: what it prints is the log of the roles and grants it made, "
                "not data a script reads",
}
"""The commands without --format, and why (CLI.md: `--format` on every command that prints data)."""


def test_every_command_takes_format_but_those_that_say_why_not():
    """init, year open, period lock/unlock and settings set had none until 6 December 2026."""
    import click

    from cli import commands  # noqa: F401
    from cli.main import cli

    def without(group, path):
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                yield from without(command, [*path, name])
            elif not any("--format" in getattr(p, "opts", ()) for p in command.params):
                yield " ".join([*path, name])

    assert set(without(cli, [])) == set(WITHOUT_FORMAT)


def test_a_blank_user_is_a_usage_mistake(tmp_path):
    from click.testing import CliRunner

    from cli import commands  # noqa: F401
    from cli.main import cli

    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "x.db"), "--user", "   ", "check"], prog_name="pledger")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == ("pledger: Invalid value for '--user': ' ' is blank: give who is acting, or leave it out "
                             "for your login (see 'pledger --help')\n")
    assert not (tmp_path / "x.db").exists()


def test_an_empty_db_or_user_is_a_usage_mistake(tmp_path, monkeypatch):
    """`--db "$BOOKS"` with BOOKS unset named no books: `init` made ./pledger.db and every other
    command went to PLEDGER_DB or ./pledger.db, exit 0; `--user ""` went on as the login."""
    from click.testing import CliRunner

    from cli import commands  # noqa: F401
    from cli.main import cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PLEDGER_DB", raising=False)
    for db in ("", "  "):
        result = CliRunner().invoke(cli, ["--db", db, "init"], prog_name="pledger")
        assert (result.exit_code, result.stdout) == (2, ""), db
        assert result.stderr.replace("'  '", "''").replace("' '", "''") == (  # Click's usage line shows spaces as one
            "pledger: Invalid value for '--db': '' is blank: name the books (a file or a database URL), or leave --db "
            "out for PLEDGER_DB or ./pledger.db (see 'pledger --help')\n")
    assert list(tmp_path.iterdir()) == []
    result = CliRunner().invoke(cli, ["check"], prog_name="pledger", env={"PLEDGER_DB": " "})  # Click takes "" as unset
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("pledger: Invalid value for '--db': ' ' (from PLEDGER_DB) is blank: name the books")
    assert list(tmp_path.iterdir()) == []
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "x.db"), "--user", "", "check"], prog_name="pledger")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("pledger: Invalid value for '--user': '' is blank: give who is acting")
    assert list(tmp_path.iterdir()) == []


def test_a_user_with_a_line_break_or_tab_is_a_usage_mistake(tmp_path):
    """'ann\\nbob' was kept on the entries and close-outs it made; closeout list and po show
    then showed two users on two lines."""
    from click.testing import CliRunner

    from cli import commands  # noqa: F401
    from cli.main import cli

    for user in ("ann\nbob", "ann\tbob", "an\rn"):
        result = CliRunner().invoke(cli, ["--db", str(tmp_path / "x.db"), "--user", user, "check"], prog_name="pledger")
        assert (result.exit_code, result.stdout) == (2, ""), user
        assert "a user name is one line of text" in result.stderr
        assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "x.db").exists()
