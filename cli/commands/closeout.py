"""`pledger closeout propose|run|undo|list|show` (CLI.md) and the posting report's files."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import sys
from pathlib import Path

import click
from sqlalchemy import func, select

from cli.formats import (Column, FormatError, RowsOf, Table, cannot_write, check_table_file, check_writable, csv_chunks, text_blocks,
                         write_edit_sheet, write_table_file, write_text_file)
from cli.main import cli, fail
from cli.output import chosen_format, format_option, json_chunks, printer, stream_json
from cli.params import (CLOSEOUT_NUMBER, DATE, DATE_RANGE, EMPTY_SELECTS_NOTHING, NUMBER_RANGE, ORDER_LINE, TEXT_RANGE, not_blank,
                        refuse_blank, refuse_the_books)
from cli.progress import TerminalProgress
from ledger.clock import local_text
from ledger.files import same_file
from ledger.money import ZERO, counted, format_amount, format_quantity
from ledger.periods import LockedPeriod
from ledger.posting import base_currency
from ledger.progress import start_counted, told
from ledger.reports import account_totals
from ledger.spill import Spill
from matching import trial_file
from matching.closeout import CloseoutError, UndoSelection, later_documents_note, run_closeout, undo_closeouts
from matching.edits import PROPOSAL_COLUMNS, read_edits
from matching.models import Closeout, CloseoutEntry, CloseoutLine
from matching.report import PostingReport
from matching.reprint import reprint_closeout
from matching.selection import Selection, chunks_by_order, count_selected, numeric_reading_notes, unknown_value_notes
from purchase.bounds import code_order
from purchase.lines import LineBook


def selection_options(fn):
    fn = click.option("--sort", type=click.Choice(["order", "supplier", "date"]), default="order", show_default=True,
                      help="Order of the lines.")(fn)
    fn = click.option("--order-date", type=DATE_RANGE, default=None, help="Order date or range A..B.")(fn)
    fn = click.option("--supplier", type=TEXT_RANGE, default=None, help="Supplier code or range A..B.")(fn)
    fn = click.option("--order", "order_range", type=TEXT_RANGE, default=None, help="Order number or range A..B.")(fn)
    return fn


def make_selection(order_range, supplier, order_date, sort) -> Selection:
    b = lambda r: None if r is None else (r.low, r.high)
    return Selection(order=b(order_range), supplier=b(supplier), order_date=b(order_date), sort=sort)


def report_type(ctx, param, value):
    """A --report file of no type the report is written as is a usage mistake (exit 2), as
    the reports' -o; a folder it cannot be written in is refused later (exit 1)."""
    if value is not None:
        try:
            check_table_file(value)
        except FormatError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None
    return value


def report_option(help_text: str = "Also write the report: .pdf .xlsx .csv .json"):
    """--report FILE: the posting report written to a file too (its type checked as a usage mistake)."""
    return click.option("--report", "report_path", type=click.Path(), default=None, callback=report_type,
                        help=help_text)


@cli.group()
def closeout():
    """Close-out (afletteren): lower what order lines still expect, post the consequences."""


PROPOSAL_SUFFIXES = (".csv", ".xlsx")


def proposal_type(ctx, param, value):
    """A proposal is written as CSV or as an Excel workbook: another file type is a usage
    mistake (exit 2), as a report's. A folder is refused as any file that cannot be written (exit 1).
    A blank name is a usage mistake too (`-o "$FILE"`, FILE unset: it was taken as the folder
    '.', and writing it failed as "internal error")."""
    refuse_blank(value, ctx, param, "name the file to write (.csv or .xlsx)")
    if Path(value).suffix.lower() not in PROPOSAL_SUFFIXES and not Path(value).is_dir():
        raise click.BadParameter(f"'{Path(value).name}': a proposal is written as .csv or .xlsx "
                                 f"(a workbook keeps order numbers such as 00123 as they are)", ctx=ctx, param=param)
    return value


PROPOSAL_KINDS = {"order": "text", "line": "int", "supplier": "text", "order_date": "date", "item": "text",
                  "received": "quantity", "invoiced": "quantity", "to_receive": "quantity", "to_invoice": "quantity"}


@closeout.command("propose")
@selection_options
@click.option("-o", "output", required=True, type=click.Path(), callback=proposal_type,
              help="File to write: .csv, or .xlsx (an Excel workbook, read back by run --edits as it is).")
@click.pass_obj
def closeout_propose(app, order_range, supplier, order_date, sort, output):
    """Write the open lines to CSV or XLSX, for lowering to_receive / to_invoice in a spreadsheet."""
    refuse_the_books(app.db_url, output, "-o")  # `--db books.csv ... -o books.csv` wrote the lines over them
    selection = make_selection(order_range, supplier, order_date, sort)
    count = 0

    def open_lines(session):
        """Each open line's row, a chunk of orders at a time, as it is read."""
        nonlocal count
        for chunk in chunks_by_order(session, selection, 2000, on_total=progress.start):
            book = LineBook(session, lock=False)  # read, in the read-only transaction's one snapshot
            book.load_ids(chunk.ids)
            for i in chunk.ids:
                r = book.by_id[i]
                if not r.state.is_open:
                    continue
                s = r.state
                yield (r.order_number, r.line_no, r.supplier_code, r.order_date, r.item_code,
                       s.received, s.invoiced, s.to_receive, s.to_invoice)
                count += 1
            progress.advance(len(chunk.ids))

    def pieces(session):
        """The CSV file's text a thousand lines at a time."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(PROPOSAL_COLUMNS)
        for n, (order, line, supplier_code, day, item, *quantities) in enumerate(open_lines(session), start=1):
            writer.writerow([_safe(order), line, _safe(supplier_code), day.isoformat(), _safe(item),
                             *(format_quantity(q) for q in quantities)])
            if n % 1000 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    # whole or not at all (CLI.md): through a temporary file beside it, removed on any failure;
    # a file that cannot be made there ("cannot write FILE: No such file or directory") is
    # refused before anything is read
    progress = TerminalProgress("proposing")  # a bar on a terminal, over the selected lines
    notes: list[str] = []
    try:
        with app.transaction(readonly=True) as session:
            notes = unknown_value_notes(session, selection) + numeric_reading_notes(session, selection)
            if Path(output).suffix.lower() == ".xlsx":
                write_edit_sheet(output, [(name, PROPOSAL_KINDS[name]) for name in PROPOSAL_COLUMNS], open_lines(session))
            else:
                write_text_file(output, pieces(session))
    finally:
        progress.finish()
    click.echo(f"{counted(count, 'open line')} written to {output}")
    for note in notes:
        click.echo(f"note: {note}", err=True)


def _safe(text: str) -> str:
    from cli.formats import neutralise

    return neutralise(text)


@closeout.command("run")
@selection_options
@click.option("--edits", type=click.Path(), default=None, callback=not_blank("name the edits file (.csv or .xlsx)"), help="CSV or XLSX: order, line, to_receive, to_invoice (a file propose wrote, edited, will do).")
@click.option("--close-fully", is_flag=True, help="Set to receive and to invoice of every selected line to zero.")
@click.option("--date", "run_date", type=DATE, default=None, help="Posting date (default today).")
@click.option("--trial", is_flag=True, help="Compute and report everything, commit nothing.")
@click.option("--save", "save_path", type=click.Path(), default=None, callback=not_blank("name the file to save the trial in"),
              help="With --trial: store the reviewed trial.")
@click.option("--from-trial", "from_trial", type=click.Path(), default=None,
              callback=not_blank("name the file the trial was saved in (--trial --save FILE)"), help="Commit exactly a saved trial.")
@report_option()
@format_option
@click.pass_obj
def closeout_run(app, order_range, supplier, order_date, sort, edits, close_fully, run_date, trial, save_path, from_trial,
                 report_path, output_format):
    """Close out the selected lines (or try it with --trial) and print the posting report.

    Give --edits FILE (the lowered quantities) or --close-fully; with neither, nothing
    changes. A trial (proef) posts nothing; --trial --save FILE keeps it for review, and
    --from-trial FILE commits exactly it (refused if its lines changed since). The posting
    report (boekingsverslag) is printed; --report FILE also writes it to a file.
    """
    if save_path and not trial:
        raise click.UsageError("--save stores a trial: use it with --trial")
    sorted_as_asked = click.get_current_context().get_parameter_source("sort") is not click.core.ParameterSource.DEFAULT
    if from_trial and (trial or edits or close_fully or order_range or supplier or order_date or run_date or sorted_as_asked):
        raise click.UsageError("--from-trial takes the selection, edits, sort and date from the saved trial: give no other")
    if edits and close_fully:
        raise click.UsageError("give --edits or --close-fully, not both")
    _refuse_overwriting_inputs({"--report": report_path, "--save": save_path},
                               {"--edits": edits, "--save": save_path, "--from-trial": from_trial}, app.db_url)
    if report_path:
        check_table_file(report_path, writable=True)  # refused before the run: the report is written after the commit
    if save_path:  # refused before the trial, not after its whole work (a folder too: review of 7 December 2026)
        check_writable(save_path, "the trial")
    saved = None
    if from_trial:
        saved = trial_file.load(from_trial)
        selection, edit_list, close_fully, run_date = saved["selection_obj"], saved["edits_obj"], saved["close_fully"], saved["date_obj"]
        # as the trial said it: CLI.md, nothing but the number differs between a trial and its real run
        lowered = saved.get("lowered") or ("closed fully" if close_fully else "as edited, line by line")
    else:
        selection = make_selection(order_range, supplier, order_date, sort)
        run_date = run_date or dt.date.today()
        lowered = None  # closed fully, or (below) from the edits file
        if edits:
            edit_list = read_edits(edits)
            lowered = f"from the edits file {edits}"
        elif close_fully:
            edit_list = None
        else:  # CLI.md: nothing changes, and the command says so (on stderr: the report, with no
            # close-out and no lines, is what a script reads, in the format it asked for)
            click.echo("nothing changes: give --edits FILE with the lowered quantities, or --close-fully", err=True)
            edit_list = []
            lowered = "nothing: neither --edits nor --close-fully was given"
    said_before = close_fully and not trial and saved is None and _can_ask() and _confirm_closing_fully(app, selection)
    progress = TerminalProgress("closing out")

    def work(session):
        # the fingerprint of every line read: only a saved trial and its commit need them
        read = trial_file.ReadLog() if save_path or saved is not None else None
        # read before the run closes the lines it takes (asked on a terminal: said there already)
        numeric = [] if said_before else numeric_reading_notes(session, selection)
        try:
            report = run_closeout(session, selection, user=app.user, date=run_date, edits=edit_list, close_fully=close_fully,
                                  trial=trial, progress=progress, on_read=read, lowered=lowered)
        except CloseoutError:
            # the reviewed trial passed these edits: refused now, the lines changed since (every line was read)
            if saved is not None and (changed := trial_file.changes(saved, read)):
                fail(_no_longer_holds(session, from_trial, saved, changed))
            raise
        progress.finish()
        if (note := later_documents_note(session, report)) is not None:
            report.notes.append(note)
        report.notes.extend(unknown_value_notes(session, selection))
        report.notes.extend(numeric)
        if saved is not None:
            changed = trial_file.changes(saved, read)
            if changed:
                fail(_no_longer_holds(session, from_trial, saved, changed))
            if trial_file.report_digest(report.json_view()) != saved["report_digest"]:
                fail("the run differs from the reviewed trial, nothing written: re-run the trial and review it again")
        return report, read

    try:
        report, read = app.run_in_transaction(work, trial=trial or edit_list == [])  # nothing asked: nothing kept
    except LockedPeriod as exc:
        if saved is None:
            raise
        # its date is the reviewed trial's, and --date is refused beside --from-trial: not named as the way out
        raise CloseoutError(exc.instead("review a new trial dated in an open period: --trial --date D --save FILE")) from None
    finally:
        progress.finish()
    if save_path:
        trial_file.save(save_path, selection=selection, edits=edit_list, close_fully=close_fully, date=run_date, read=read,
                        report=report.json_view(), said=lambda exc: cannot_write(Path(save_path), exc, "the trial"))
    with TerminalProgress("writing") as writing:  # a bar while the report is written and printed
        print_reports(app, [report], output_format, report_path, single=True, progress=writing)
    if save_path:
        click.echo(f"trial saved to {save_path}", err=True)


def _can_ask() -> bool:
    """Whether a person is there to answer: standard input and error both a terminal. Scripts
    (no terminal) are never asked and run as CLI.md says."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def _confirm_closing_fully(app, selection: Selection) -> bool:
    """On a terminal, a real `--close-fully` run is asked first when it takes every line of the
    book (no selection given) or a range of codes in digits that, compared as text, takes
    other orders or suppliers than as numbers (`numeric_reading_notes`): Exact shows the
    lines to confirm before it closes them out. Refused (exit 1, nothing changed) unless the
    answer is yes. Read in a read-only transaction of its own, so no lock is held while the
    person answers. True when it asked (its notes are said, not to be said again)."""
    with app.transaction(readonly=True) as session:
        notes = numeric_reading_notes(session, selection)
        whole = all(bound in (None, (None, None)) for bound in (selection.order, selection.supplier, selection.order_date))
        count = count_selected(session, selection) if whole or notes else 0
    if not count:
        return False
    for note in notes:
        click.echo(f"note: {note}", err=True)
    if whole:
        question = f"no selection given: close out every open line in the book ({counted(count, 'line')})?"
    else:
        question = f"close out the {counted(count, 'line')} this selection takes?"
    if not click.confirm(question, default=False, err=True):
        fail("nothing changed: no close-out was run; narrow the selection (--order, --supplier, --order-date), "
             "or look at it first with --trial")
    return True


def _refuse_overwriting_inputs(outputs: dict, inputs: dict, db_url: str) -> None:
    """A file the run writes (`outputs`, by option) that is one it reads or keeps (`inputs`:
    the edits, the trial saved or committed) is a usage mistake: it was overwritten, the
    edits or the record of the reviewed trial gone (audit of 7 December 2026); so is one
    that is the SQLite books (`refuse_the_books`)."""
    for output_option, output in outputs.items():
        refuse_the_books(db_url, output, output_option)
        for input_option, given in inputs.items():
            if output and given and output_option != input_option and same_file(output, given):
                raise click.BadParameter(f"it names the {input_option} file: it would be overwritten; give another file name",
                                         param_hint=f"'{output_option}'")


def _no_longer_holds(session, path, saved: dict, changed: list[str]) -> str:
    """A saved trial's lines changed: what changed, and what to do (as the digest's refusal
    says it). Changed by the trial's own commit (`trial_file.committed_as`: the same file run
    a second time), that is what is said, with the close-out's number: the lines "no longer
    selected or open" told the accountant the books had moved, and to review a new trial."""
    closeout = trial_file.committed_as(session, path, saved)
    if closeout is not None:
        return (f"the reviewed trial was already committed, nothing written: close-out {closeout.number} of "
                f"{closeout.closeout_date.isoformat()}, run by {closeout.user_name} at {local_text(closeout.run_at)}, closed "
                f"out its lines as reviewed (see 'pledger closeout show {closeout.number}')")
    return ("the reviewed trial no longer holds, nothing written: " + "; ".join(changed[:20])
            + (f"; ... and {len(changed) - 20} more" if len(changed) > 20 else "") + "; re-run the trial and review it again")


def _who_ran(ctx, param, value):
    """`--by USER` as `--user` keeps a name: spaces around it dropped (`--by ' bob'` is bob,
    who ran them); a blank one names no one and is a usage mistake, as an empty `--order`
    is (it was a refusal, exit 1: "no close-out matches (run by )")."""
    if value is None:
        return value
    if not value.strip():
        raise click.BadParameter(EMPTY_SELECTS_NOTHING, ctx=ctx, param=param)
    return value.strip()


@closeout.command("undo")
@click.option("--number", "numbers", type=NUMBER_RANGE, default=None, help="Close-out number or range A..B.")
@click.option("--by", "by_user", default=None, callback=_who_ran,
              help="The user who ran the close-outs.")
@click.option("--on", "on_date", type=DATE_RANGE, default=None,
              help="The close-outs run on day D, or on days A..B (local time: the 'run at' of 'closeout list'), "
                   "whatever date they posted at.")
@click.option("--line", "line", type=ORDER_LINE, default=None,
              help="ORDER:LINE, e.g. PO-17:1: the newest close-out still standing on that line, undone whole.")
@click.option("--date", "undo_date", type=DATE, default=None, help="Posting date of the undo (default today).")
@click.option("--trial", is_flag=True, help="Report what the undo would post, commit nothing.")
@report_option()
@format_option
@click.pass_obj
def closeout_undo(app, numbers, by_user, on_date, line, undo_date, trial, report_path, output_format):
    """Undo close-outs by number, user, date or a line of one: counter-entries, never deletion.

    The undo (aflettering ongedaan maken) takes the close-outs that meet every option given
    (--number, --by, --on, --line); several are undone newest first, all in one transaction
    or none.
    """
    if numbers is None and by_user is None and on_date is None and line is None:
        raise click.UsageError("say which close-outs to undo: --number N, --number A..B, --by USER, --on DATE or --line ORDER:LINE")
    if report_path:
        refuse_the_books(app.db_url, report_path, "--report")
        check_table_file(report_path, writable=True)  # refused before the undo: the report is written after the commit
    which = UndoSelection(None if numbers is None else (numbers.low, numbers.high), by_user,
                          None if on_date is None else (on_date.low, on_date.high), line)
    progress = TerminalProgress("undoing")
    try:
        def work(session):
            undone = undo_closeouts(session, which, user=app.user, date=undo_date or dt.date.today(), trial=trial,
                                    progress=progress)
            for report in undone:
                if (note := later_documents_note(session, report)) is not None:
                    report.notes.append(note)
            return undone

        reports = app.run_in_transaction(work, trial=trial)
    finally:
        progress.finish()
    # CLI.md: `--number N` prints one report, the other selections a list; `--number A..A`
    # (a range as a script builds it) is a list too, of one report
    single = (numbers is not None and not numbers.typed_range or line is not None) and by_user is None and on_date is None
    with TerminalProgress("writing") as writing:  # a bar while the reports are written and printed
        print_reports(app, reports, output_format, report_path, single=single, progress=writing)


@closeout.command("list")
@format_option
@click.pass_obj
def closeout_list(app, output_format):
    """Every close-out: number, date, user, when it ran (local time), lines, undone."""
    with app.transaction(readonly=True) as session:
        counts = dict(session.execute(select(CloseoutLine.closeout_id, func.count()).group_by(CloseoutLine.closeout_id)).all())
        rows = [
            {"closeout": c.number, "date": c.closeout_date, "user": c.user_name, "run_at": local_text(c.run_at),
             "lines": counts.get(c.id, 0), "undone_by": c.undone_by, "undo_date": c.undo_date,
             "undone_at": None if c.undone_at is None else local_text(c.undone_at)}
            for c in session.scalars(select(Closeout).order_by(Closeout.number))
        ]
    cols = [Column("closeout", "close-out", "int"), Column("date", "date", "date"), Column("user", "user"),
            Column("run_at", "run at"), Column("lines", "lines", "int"), Column("undone_by", "undone by"),
            Column("undo_date", "undone on", "date"), Column("undone_at", "undone at")]
    fmt = chosen_format(app, output_format)
    from cli.output import emit

    emit(fmt, Table(title="Close-outs", columns=cols, rows=rows), json_data=rows)


@closeout.command("show")
@click.argument("number", type=CLOSEOUT_NUMBER)
@report_option("Also write the posting report close-out N's run printed, rebuilt from the books (its --report, "
               "had it been given): .pdf .xlsx .csv .json. It says it is a reprint and, if so, that the close-out was undone; "
               "how the quantities were lowered is not kept, so not said.")
@format_option
@click.pass_obj
def closeout_show(app, number, report_path, output_format):
    """One close-out: who, when, selection, lines before and after, entries.

    With --report FILE, also its posting report, as its run wrote it, rebuilt from the books."""
    from ledger.models import Entry, Journal
    from purchase.models import OrderLine, PurchaseOrder

    if report_path:
        refuse_the_books(app.db_url, report_path, "--report")
        check_table_file(report_path, writable=True)  # refused before anything is read, as the run's
    # read in chunks into spills: a year-end close-out may hold a million lines
    lines, entries = Spill(), Spill()
    reprint = None
    with TerminalProgress("reading the close-out") as progress:  # a bar while its lines are read, then printed
        with app.transaction(readonly=True) as session:
            c = session.scalar(select(Closeout).where(Closeout.number == number))
            if c is None:
                fail(f"no close-out {number}: see 'pledger closeout list'")
            currency = base_currency(session)
            # the run's posting report's `currency` and `selection_in_words` too (review of 7 December 2026:
            # they were only its); `selection` stays the stored text it always was
            head = {"closeout": c.number, "date": c.closeout_date, "user": c.user_name, "run_at": local_text(c.run_at),
                    "currency": currency, "selection": c.selection, "selection_in_words": selection_in_words(c.selection),
                    "undone_by": c.undone_by, "undo_date": c.undo_date,
                    "undone_at": None if c.undone_at is None else local_text(c.undone_at)}
            cl = CloseoutLine.__table__.c
            lines_stmt = (select(PurchaseOrder.number, OrderLine.line_no, cl.to_receive_before, cl.to_receive_after,
                                 cl.to_invoice_before, cl.to_invoice_after, cl.uninvoiced_units, cl.unreceived_units,
                                 cl.uninvoiced_amount, cl.unreceived_amount)
                          .join(OrderLine, OrderLine.id == cl.order_line_id)
                          .join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
                          .where(cl.closeout_id == c.id).order_by(code_order(PurchaseOrder.number), OrderLine.line_no))
            entries_stmt = (select(CloseoutEntry.kind, Journal.code, Entry.number, Entry.entry_date)
                            .join(Entry, Entry.id == CloseoutEntry.entry_id).join(Journal, Journal.id == Entry.journal_id)
                            .where(CloseoutEntry.closeout_id == c.id).order_by(Entry.id))
            # the run's totals per account and in all, read back from the ledger: the close-out's own
            # entries (an undo's are its own report's)
            own = select(CloseoutEntry.entry_id).where(CloseoutEntry.closeout_id == c.id, CloseoutEntry.kind == "closeout")
            accounts, totals, sums = _account_totals(session, own, currency)
            # the undo's own, read back too: it is the close-out's reversed only where no document
            # touched the lines in between (DOMAIN.md); goods or invoices written off as they
            # arrived, or a rounding cent, make it post otherwise, and the table must not say "the same"
            undo_accounts = undo_totals = None
            mirror = False
            if head["undone_by"]:
                undo = select(CloseoutEntry.entry_id).where(CloseoutEntry.closeout_id == c.id, CloseoutEntry.kind == "undo")
                undo_accounts, undo_totals, undo_sums = _account_totals(session, undo, currency)
                mirror = ({(a.account, a.debit, a.credit) for a in sums if a.debit or a.credit}
                          == {(a.account, a.credit, a.debit) for a in undo_sums if a.debit or a.credit})
            start_counted(session, progress, lines_stmt, entries_stmt)
            for row in told(session.execute(lines_stmt.execution_options(yield_per=2000)), progress, 2000):
                lines.append({"order": row[0], "line": row[1], **{k: format_quantity(v) for k, v in zip(_SHOWN_QUANTITIES, row[2:8])},
                              **{k: format_amount(v, currency) for k, v in zip(_SHOWN_AMOUNTS, row[8:])}})
            for kind, journal, entry_number, entry_date in told(session.execute(entries_stmt.execution_options(yield_per=2000)),
                                                                progress, 2000):
                entries.append({"kind": kind, "journal": journal, "number": entry_number, "date": entry_date})
            if report_path:  # in the same snapshot as the summary
                reprint = reprint_closeout(session, number, on=dt.date.today())
        if reprint is not None:  # written before the summary is printed: a failure prints nothing
            view = reprint.json_view()
            write_report_file(report_path, view,
                              lambda as_csv=False: report_tables(view, reprint.entry_line_count, as_csv=as_csv), [view])
        progress.stage("writing")
        shown_lines, shown_entries = (RowsOf(spill, lambda row: row, progress) for spill in (lines, entries))
        fmt = chosen_format(app, output_format)
        echo = printer(progress)
        if fmt == "json":
            stream_json({**head, "lines": shown_lines, "entries": shown_entries, "accounts": accounts, "totals": totals,
                         "undo_accounts": undo_accounts, "undo_totals": undo_totals},
                        lambda text: echo(text, nl=False))
            echo()
            return
        qcols = [Column("order", "order"), Column("line", "line", "int")] + [
            Column(k, _SHOWN_HEADINGS.get(k, k.replace("_", " ")), "quantity") for k in _SHOWN_QUANTITIES]
        ecols = [Column("kind", "kind"), Column("journal", "journal"), Column("number", "number", "int"), Column("date", "date", "date")]
        acols = [Column("account", "account"), Column("name", "account name"), Column("debit", "debit", "amount"),
                 Column("credit", "credit", "amount")]
        def per_account(rows, sums, posted_by: str | None = None) -> Table:
            """The totals per account; `posted_by` (closeout, undo) said on each row, where two such tables stand in one CSV."""
            said = {} if posted_by is None else {"posted_by": posted_by}
            return Table(title="", columns=acols + ([Column("posted_by", "posted by")] if said else []),
                         rows=[{**row, **said} for row in rows] if said else rows,
                         totals={"account": "Total", "debit": sums["debit"], "credit": sums["credit"], **said})

        tables = (Table(title="", columns=qcols, rows=shown_lines), Table(title="", columns=ecols, rows=shown_entries),
                  per_account(accounts, totals))
        undo_table = None if undo_accounts is None else per_account(undo_accounts, undo_totals)
        if fmt == "csv":  # the lines, the entries, then the totals per account (and an undone one's undo's), a blank line between
            if undo_table is not None:  # two tables of one heading: each row says whose it is, as an entry's kind does
                tables = tables[:2] + (per_account(accounts, totals, "closeout"), per_account(undo_accounts, undo_totals, "undo"))
            for table in tables:
                for piece in csv_chunks(table):
                    echo(piece, nl=False)
                echo()
            return
        # no entries (lowered alike, nothing to post): said, not a table's headings over nothing
        nothing = len(shown_entries) == 0
        said = "neither the close-out nor its undo posted anything" if head["undone_by"] else "the close-out posted nothing"
        blocks = itertools.chain(text_blocks(tables[0]), [f"(no entries: {said})"] if nothing else text_blocks(tables[1]))
        if undo_table is None or nothing:
            blocks = itertools.chain(blocks, ["posted by the close-out"], text_blocks(tables[2]))
        elif mirror:
            blocks = itertools.chain(blocks, ["posted by the close-out; its undo posted the same, reversed"], text_blocks(tables[2]))
        else:
            blocks = itertools.chain(blocks, ["posted by the close-out"], text_blocks(tables[2]),
                                     [f"posted by its undo of {head['undo_date']}: not the close-out's reversed "
                                      f"(documents came in between)"],
                                     text_blocks(undo_table) if undo_accounts else ["(nothing)"])
        first = next(blocks)  # the lines' widths are read first, the bar still showing
        echo(f"Close-out {head['closeout']} of {head['date']} by {head['user']}, run at {head['run_at']}; "
             f"amounts in {currency}; selection {head['selection_in_words']}"
             + (f"; undone by {head['undone_by']} on {head['undo_date']} at {head['undone_at']}" if head["undone_by"] else ""))
        for piece in itertools.chain([first], blocks):
            echo(piece)


def _account_totals(session, entry_ids, currency) -> tuple[list[dict], dict, list]:
    """Totals per account of the entries `entry_ids` selects, read back from the ledger: the
    rows and the totals as `closeout show` prints them, and the sums themselves."""
    sums = account_totals(session, entry_ids)
    rows = [{"account": a.account, "name": a.name, "debit": format_amount(a.debit, currency),
             "credit": format_amount(a.credit, currency)} for a in sums]
    debit, credit = sum((a.debit for a in sums), ZERO), sum((a.credit for a in sums), ZERO)
    return rows, {"debit": format_amount(debit, currency), "credit": format_amount(credit, currency),
                  "balanced": debit == credit}, sums


_SHOWN_QUANTITIES = ("to_receive_before", "to_receive_after", "to_invoice_before", "to_invoice_after", "uninvoiced", "unreceived")
_SHOWN_AMOUNTS = ("uninvoiced_amount", "unreceived_amount")  # the JSON's only: the run's report's tables show them not
# the headings of the posting report's "Lines closed" (`report_tables`): one close-out, one set of words
_SHOWN_HEADINGS = {"uninvoiced": "received, never invoiced", "unreceived": "invoiced, never received"}


def selection_in_words(stored: str | None) -> str:
    """A close-out's stored selection as the options that made it (`Selection.in_words`);
    text that is not a stored selection is shown as it is."""
    selection = Selection.from_stored(stored)
    return str(stored) if selection is None else selection.in_words()


# -- the posting report as tables --------------------------------------------------------


class EntryRows:
    """The entry lines of a posting report as table rows, made as they are read: the
    entries may be a report's spill on disk (`PostingReport.entries`)."""

    def __init__(self, entries, count: int | None = None, same: dict | None = None):
        self._entries = entries
        self._count = sum(len(e["lines"]) for e in entries) if count is None else count
        self._same = same or {}  # values every row carries (CSV: which close-out or undo)

    def __len__(self) -> int:
        return self._count

    def __iter__(self):
        for e in self._entries:
            head = {**self._same, "journal": e["journal"], "number": e["number"], "date": e["date"]}
            for line in e["lines"]:
                yield {**head, **line}


def about_lines(data: dict) -> list[str]:
    """What a posting report is a report of, a line each, under its title: date, user,
    currency and totals; the selection; how the quantities were lowered (an undo: what it
    gives back). `data` is the report's JSON shape; a report without the words (a saved
    trial's, from before they were kept) says only what it has."""
    currency = f"; amounts in {data['currency']}" if data.get("currency") else ""
    said = [f"date {data['date']}, user {data['user']}{currency}; debit {data['totals']['debit']} = "
            f"credit {data['totals']['credit']}" + ("" if data["totals"]["balanced"] else "  NOT BALANCED")]
    if data.get("selection_in_words"):
        whose = f" of close-out {data['undo_of']}" if data["undo_of"] is not None else ""
        said.append(f"selection{whose}: {data['selection_in_words']}")
    if data.get("lowered"):
        said.append(("undone: " if data["undo_of"] is not None else "lowered: ") + data["lowered"])
    if data.get("reprinted"):  # rebuilt from the books (`closeout show N --report`): what it cannot say, said
        said.append(f"reprinted from the books on {data['reprinted']}: how the quantities were lowered is not kept there")
        if data.get("undone"):
            undone = data["undone"]
            said.append(f"undone since: by {undone['by']}, the undo dated {undone['date']}, run at {undone['at']}")
    return said


def _what(data: dict) -> str:
    """What a posting report is of: "Close-out 3", "Undo of close-out 3", "Close-out" (a trial)."""
    if data["undo_of"] is not None:
        return f"Undo of close-out {data['undo_of']}"
    if data["closeout"] is not None:
        return f"Close-out {data['closeout']}"
    return "Close-out" + (" (no number: nothing lowered)" if not data["lines"] else "")


POSTING_REPORT = "pledger posting report (boekingsverslag)"


def report_document_title(views: list[dict]) -> str:
    """The title of a posting report's file (its PDF's running footer on every page and its
    metadata): which close-out or undo, and TRIAL. Only the first page said so before: a
    trial's later pages read as a posted run's (audit of 7 December 2026)."""
    if views and all(v["undo_of"] is not None for v in views) and len(views) > 1:
        what = "Undo of close-outs " + ", ".join(str(v["undo_of"]) for v in views)
    else:
        what = ", ".join(_what(v) for v in views)
    trial = " - TRIAL, nothing posted" if views and all(v["trial"] for v in views) else ""
    return f"{POSTING_REPORT} - {what}{trial}" if what else POSTING_REPORT


def report_tables(data: dict, entry_lines: int | None = None, *, as_csv: bool = False,
                  progress: TerminalProgress | None = None, several: bool = False) -> list[Table]:
    """The posting report as three tables: entry lines, account totals, closed lines.

    `data` is the report's JSON shape, its lines and entries as lists or as the report's
    spills (`PostingReport.json_view`; give `entry_lines`, the count of entry lines, so
    they need not be read to count them). The amounts and quantities stay the exact
    text the JSON has. `as_csv`: CSV has no titles, so every row, the totals per account
    and the Total rows too, ends with the report's `closeout`, `undo_of` and `trial`, as its
    JSON has them (an undo of several close-outs prints one report each: the Total rows
    said none until the audit of 7 December 2026). `several`: the report is one of
    several in one file, so that its account totals' and lines' worksheets name its
    close-out ("Totals per account, undo 2"), not a number Excel's uniqueness gave them
    ("Totals per account (2)"; audit of 7 December 2026).
    """
    what = _what(data)
    title = f"Posting report - {what}" + (" - TRIAL, nothing posted" if data["trial"] else "")
    # the worksheet's name: the title cut to Excel's 31 characters lost "TRIAL" ("Posting report - Close-out - TR")
    sheet = ("Close-out" if data["undo_of"] is None and data["closeout"] is None else what) + (" - TRIAL" if data["trial"] else "")
    subtitle = "\n".join(about_lines(data))
    of_which = None
    if several:
        of_which = (f"undo {data['undo_of']}" if data["undo_of"] is not None
                    else f"close-out {data['closeout']}" if data["closeout"] is not None else "close-out")
    entry_cols = [Column("journal", "journal"), Column("number", "number", "int"), Column("date", "date", "date"),
                  Column("account", "account"), Column("name", "account name"), Column("debit", "debit", "amount"),
                  Column("credit", "credit", "amount"), Column("order", "order"), Column("line", "line", "int"),
                  Column("supplier", "supplier"), Column("item", "item"), Column("quantity", "quantity", "quantity")]
    totals = {"debit": data["totals"]["debit"], "credit": data["totals"]["credit"]}
    acc_cols = [Column("account", "account"), Column("name", "account name"), Column("debit", "debit", "amount"), Column("credit", "credit", "amount")]
    line_cols = [Column("order", "order"), Column("line", "line", "int"),
                 Column("to_receive_before", "to receive before", "quantity"), Column("to_receive_after", "to receive after", "quantity"),
                 Column("to_invoice_before", "to invoice before", "quantity"), Column("to_invoice_after", "to invoice after", "quantity"),
                 Column("uninvoiced", "received, never invoiced", "quantity"), Column("unreceived", "invoiced, never received", "quantity")]
    same, lines = None, data["lines"]
    if as_csv:
        # CSV has no title to say TRIAL: each row says it (a trial's report file was told from
        # a posted one only by its blank numbers; audit of 6 December 2026), after the
        # columns it had
        same = {"closeout": data["closeout"], "undo_of": data["undo_of"], "trial": "true" if data["trial"] else "false"}
        which = [Column("closeout", "close-out", "int"), Column("undo_of", "undo of", "int"), Column("trial", "trial")]
        entry_cols, line_cols = entry_cols + which, line_cols + which
        lines = RowsOf(lines, lambda line: {**line, **same}, progress)
    elif progress is not None:
        lines = RowsOf(lines, _same_row, progress)
    entry_rows = EntryRows(data["entries"], entry_lines, same)
    accounts = data["accounts"]
    if same is not None:  # the totals too say whose they are: several reports' tables stand one after another
        acc_cols = acc_cols + which
        accounts = [{**row, **same} for row in accounts]
    said = same or {}
    lines_title = "Lines closed" if data["undo_of"] is None else "Lines reopened"
    # of several reports, the titles after the first say whose they are: a PDF page (or a
    # worksheet) that begins with them said only "Totals per account" (audit of 7 December 2026)
    accounts_title, shown_lines_title = (f"{t}, {of_which}" if of_which else t for t in ("Totals per account", lines_title))
    totals_sheet, lines_sheet = (accounts_title, shown_lines_title) if of_which else (None, None)
    totals_title = lines_sheet_title = None
    if data["trial"]:
        # a worksheet stands, and prints, alone: a trial's totals and lines say TRIAL on the tab (which the
        # printed footer names) and in A1, as its first sheet does; they were a posted run's before (audit of
        # 7 December 2026, controller)
        totals_sheet, lines_sheet = (_trial_sheet(name, short, of_which)
                                     for name, short in (("Totals per account", "Totals"), (lines_title, "Lines")))
        totals_title, lines_sheet_title = (f"{t} - TRIAL, nothing posted" for t in (accounts_title, shown_lines_title))
    return [
        Table(title=title, subtitle=subtitle, columns=entry_cols,
              rows=entry_rows if progress is None else RowsOf(entry_rows, _same_row, progress),
              totals={"journal": "Total", **totals, **said}, sheet=sheet, no_rows=NO_ENTRIES),
        Table(title=accounts_title, columns=acc_cols, rows=accounts, totals={"account": "Total", **totals, **said},
              sheet=totals_sheet, sheet_title=totals_title, no_rows=NO_ENTRIES),
        Table(title=shown_lines_title, columns=line_cols, rows=lines, sheet=lines_sheet, sheet_title=lines_sheet_title),
    ]


# under a posting report's empty entries and totals (PDF): it said "No lines." above the lines it
# closed, a close-out that lowered alike read as one that closed nothing (audit of 7 December 2026)
NO_ENTRIES = "No entries: nothing to post."


def _trial_sheet(name: str, short: str, of_which: str | None) -> str:
    """A trial's worksheet name: `name` (`short` where Excel's 31 characters would cut the
    mark off), which report of several it is of, and TRIAL: "Totals, undo 12 - TRIAL"."""
    of = f", {of_which}" if of_which else ""
    return next((n for n in (f"{name}{of} - TRIAL", f"{short}{of} - TRIAL") if len(n) <= 31), f"{short}{of} - TRIAL")


def _same_row(row: dict) -> dict:
    return row


def _posted(views: list[dict]) -> str:
    """What the reports' run committed, in words ("close-out 12 is", "the undos of close-outs
    4, 3 are"); empty for a trial or a run that posted nothing."""
    undone = [str(v["undo_of"]) for v in views if not v["trial"] and v["undo_of"] is not None]
    closed = [str(v["closeout"]) for v in views if not v["trial"] and v["undo_of"] is None and v["closeout"] is not None]
    if undone:
        return f"the undo of close-out {undone[0]} is" if len(undone) == 1 else f"the undos of close-outs {', '.join(undone)} are"
    return f"close-out {closed[0]} is" if closed else ""


def print_reports(app, reports: list[PostingReport], output_format, report_path, *, single: bool,
                  progress: TerminalProgress | None = None) -> None:
    """Print the reports (and write them to `report_path`) as a stream: a report's lines
    and entries are read from its spill as they are written, never held whole. With
    `progress`, a bar ("writing") over the lines and entries written and printed, erased
    before the first line printed on the terminal."""
    views = [r.json_view() for r in reports]
    told_views = views  # as JSON: the lines, then the entries, told as they are written
    if progress is not None:
        progress.stage("writing")
        told_views = [{**v, "lines": RowsOf(v["lines"], _same_row, progress), "entries": RowsOf(v["entries"], _same_row, progress)}
                      for v in views]
    data = told_views[0] if single else told_views
    fmt = chosen_format(app, output_format)
    tables = lambda as_csv=False: [t for r, v in zip(reports, views)
                                   for t in report_tables(v, r.entry_line_count, as_csv=as_csv, progress=progress,
                                                         several=len(reports) > 1)]
    if report_path:
        try:
            write_report_file(report_path, data, tables, views)
        except FormatError as exc:  # after the commit (the folder was tried before it): say what stands
            posted = _posted(views)
            if posted:
                fail(f"{exc}; {posted} posted all the same (see 'pledger closeout list')")
            raise
    echo = printer(progress)
    _print_report_data(fmt, data, tables, echo)
    for note in (n for r in reports for n in r.notes):  # for the person, on stderr: stdout stays the report a script reads
        click.echo(f"note: {note}", err=True)


def write_report_file(report_path, data, tables, views: list[dict]) -> None:
    """Write the posting report (`data`, its JSON shape; `tables(as_csv)`, its tables) to
    `report_path`, the suffix choosing the format, whole or not at all: the one way a run, an
    undo and a reprint (`closeout show N --report`) write it."""
    if Path(report_path).suffix.lower() == ".json":
        write_text_file(report_path, json_chunks(data))
    else:
        write_table_file(tables(Path(report_path).suffix.lower() == ".csv"), report_path,
                         document_title=report_document_title(views))


def _print_report_data(fmt, data, tables, echo) -> None:
    """`echo` is `output.printer`'s: it takes `nl` as `click.echo` does."""
    write = lambda text: echo(text, nl=False)
    if fmt == "json":
        stream_json(data, write)
        echo()
        return
    for i, table in enumerate(tables(fmt == "csv")):
        if fmt == "csv":  # the tables a blank line apart, as `--report FILE.csv` writes them (`write_csv`): a blank
            if i:         # line after the last too made stdout one byte longer than the file (review of 7 December 2026)
                echo()
            for piece in csv_chunks(table):
                write(piece)
            continue
        blocks = text_blocks(table) if table.rows or table.totals else iter(["(none)"])
        first = next(blocks, None)  # a long table's widths are read first, the bar still showing
        if table.title:
            echo(table.title)
        if table.subtitle:
            echo(table.subtitle)
        for piece in itertools.chain([first] if first is not None else [], blocks):
            echo(piece)
        echo()


# what a value typed without its option is told (`cli.main._NamesItsCommand`): `closeout undo 3`
closeout_undo.extra_argument_hint = "name the close-outs with --number {arg} (or --by, --on, --line)"
closeout_run.extra_argument_hint = closeout_propose.extra_argument_hint = (
    "select the lines with --order, --supplier or --order-date, e.g. --order {arg}")
