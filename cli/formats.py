"""Tabular output in every format the CLI offers: text, CSV, XLSX, PDF and JSON.

A command builds one or more `Table` values (columns with a kind, rows as dicts of
str / int / Decimal / date / None) and hands them to this module; nothing else in the
CLI knows about tabulate, csv, xlsxwriter or reportlab.

Invariants kept here:

* Exact numbers. Amounts and quantities are Decimal all the way to the file; text is
  made by `ledger.money.format_amount` / `format_quantity`. tabulate gets pre-formatted
  strings (`disable_numparse=True`), xlsxwriter gets the Decimal itself.
* Spreadsheet safety. In CSV and XLSX a text cell that starts with = + - @ (or a tab or
  carriage return) gets a leading apostrophe, so no spreadsheet evaluates it; XLSX text
  cells always go through `write_string`. Numbers are never touched.
* Nothing partly written. Files are written to a temporary file beside the target and
  moved into place only when complete; an I/O failure is a `FormatError` with one line.
* No clock time in the output: PDFs are built with reportlab's invariant mode.
"""

from __future__ import annotations

import bisect
import csv
import functools
import io
import itertools
import json
import errno
import os
import tempfile
import unicodedata
import zlib
from array import array
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence
from xml.sax.saxutils import escape

from tabulate import SEPARATING_LINE, WIDE_CHARS_MODE, tabulate

from ledger.batchmode import batch_collection
from ledger.errors import PledgerError
from ledger.files import new_temporary, remove_quietly, write_whole
from ledger.money import D, MoneyError, format_amount, format_quantity
from ledger.progress import Progress, told

KINDS = ("text", "amount", "price", "quantity", "date", "int")
NUMERIC_KINDS = ("amount", "price", "quantity", "int")
TOTAL_LABEL = "Total"
SUFFIXES = (".csv", ".xlsx", ".pdf", ".json")
_SUFFIX_HINT = "use .csv, .xlsx, .pdf or .json"


class FormatError(PledgerError):
    """A table that cannot be written as asked (bad file type, bad value, I/O failure)."""


@dataclass(frozen=True)
class Column:
    key: str  # key in each row dict
    header: str  # header shown to people
    kind: str = "text"  # "text" | "amount" | "price" (a unit price: up to 6 decimals) | "quantity" | "date" | "int"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise FormatError(
                f"column {self.key!r} has unknown kind {self.kind!r}: use one of {', '.join(KINDS)}"
            )

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS


@dataclass(frozen=True)
class Table:
    title: str  # e.g. "Posting report (trial)"; used in PDF/XLSX headings
    columns: list[Column]
    rows: list[dict]  # values: str, int, Decimal, datetime.date, or None; or a sized re-iterable of such dicts
    totals: dict | None = None  # optional totals row, same keys, shown bold at the bottom
    subtitle: str | None = None  # optional line(s) under the title (selection, date, user), "\n" between lines
    sheet: str | None = None  # its XLSX worksheet's name where the title, cut to 31 characters, would lose what matters
    # its XLSX worksheet's title (cell A1) where the sheet, which stands and prints alone, must say
    # more than the title under the document's own: a trial's totals and lines say TRIAL
    sheet_title: str | None = None
    # what a PDF says under the table when it has no rows, where "No lines." would mislead: a
    # close-out that posts nothing has lines closed, and no entries
    no_rows: str | None = None


class RowsOf:
    """Rows made from items as they are read, `make(item)` for each: the items may be a
    report's spill on disk, and the rows are never held together. With `progress`, each
    reading of them is told to it (`start` with their count, `advance` as they go,
    `ledger.progress.told`): a bar while a long report is written or printed."""

    STEP = 1000  # rows told at a time

    def __init__(self, items, make: Callable[[object], object], progress: Progress | None = None):
        self._items = items
        self._make = make
        self._progress = progress

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator:
        rows = map(self._make, self._items)
        if self._progress is None or not self._progress.shown:
            return rows
        self._progress.start(len(self))
        return told(rows, self._progress, self.STEP)


# --------------------------------------------------------------------------------------
# Values to text


def fmt_amount(d: Decimal) -> str:
    """Exact text of an amount with its own exponent: Decimal('1000.00') -> "1000.00"."""
    return format_amount(D(d))


def fmt_quantity(d: Decimal) -> str:
    """Normalised text of a quantity: "2.5", "10", "0"."""
    return format_quantity(D(d))


def cell_text(value: object, column: Column) -> str:
    """The text shown for `value` in `column`: exact, ISO dates, "" for None."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value  # already text (a caller's own formatting, a code, a name)
    if isinstance(value, bool):
        raise _bad_value(value, column)
    if isinstance(value, date):
        if column.numeric:
            raise _bad_value(value, column)
        return value.isoformat()
    if isinstance(value, (int, Decimal)):
        if column.kind == "amount":
            return fmt_amount(value)
        if column.kind == "quantity":
            return fmt_quantity(value)
        if column.kind == "date":
            raise _bad_value(value, column)
        return f"{D(value):f}"
    raise _bad_value(value, column)


def _bad_value(value: object, column: Column) -> FormatError:
    return FormatError(
        f"column {column.key!r} ({column.kind}) cannot show {type(value).__name__} value {value!r}: "
        "use str, int, Decimal or datetime.date"
    )


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """Prefix an apostrophe to text a spreadsheet would otherwise read as a formula."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _numeric_value(value: object, column: Column) -> Decimal | int | None:
    """The number behind a numeric cell, or None when the cell holds other text."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, Decimal)):
        return value
    if isinstance(value, str):
        try:
            return D(value)
        except MoneyError:
            return None
    return None


def _safe_text(value: object, column: Column) -> str:
    """Cell text for CSV: text columns and non-numbers in numeric columns are neutralised."""
    text = cell_text(value, column)
    if column.numeric and _numeric_value(value, column) is not None:
        return text
    if column.kind == "date" and isinstance(value, date):
        return text
    return neutralise(text)


def _totals_row(table: Table) -> dict | None:
    """The totals with "Total" in the first text column when the caller left it empty."""
    if table.totals is None:
        return None
    totals = dict(table.totals)
    for column in table.columns:
        if column.kind == "text":
            if totals.get(column.key) in (None, ""):
                totals[column.key] = TOTAL_LABEL
            break
    return totals


# --------------------------------------------------------------------------------------
# Text (tabulate)


TEXT_BLOCK = 2000  # rows tabulate lays out at a time in a long table


def render_text(table: Table) -> str:
    """The table for people on a terminal; numbers right-aligned, exact strings."""
    return "\n".join(text_blocks(table))


def text_blocks(table: Table, block: int | None = None) -> Iterator[str]:
    """The text of the table in pieces of at most `block` rows, joined by newlines.

    A table of up to `block` rows is one piece, as tabulate lays it out. A longer one
    (a posting report read back from disk) is read twice: once for the width of every
    column, then a block at a time, each laid out by tabulate with a first row as wide
    as the widest cell of its column (dropped from the output), so every block has the
    whole table's widths and the pieces read as one table (a test holds them to
    tabulate's own layout of the whole).
    """
    block = block or TEXT_BLOCK
    columns = table.columns
    headers = [column.header for column in columns]
    colalign = ["right" if c.numeric else "left" for c in columns]
    totals = _totals_row(table)
    total_cells = None if totals is None else [cell_text(totals.get(c.key), c) for c in columns]

    def lay_out(body: list) -> str:
        return tabulate(body, headers=headers, tablefmt="simple", disable_numparse=True, colalign=colalign)

    def with_totals(body: list) -> list:
        if total_cells is not None:
            if body:
                body.append(SEPARATING_LINE)
            body.append(total_cells)
        return body

    if len(table.rows) <= block:
        yield lay_out(with_totals([[cell_text(row.get(c.key), c) for c in columns] for row in table.rows]))
        return
    widths = [_text_width([h]) + _TABULATE_PADDING for h in headers]
    multiline = any("\n" in h for h in headers)
    rows = iter(table.rows)
    while body := [[cell_text(row.get(c.key), c) for c in columns] for row in itertools.islice(rows, block)]:
        widths = [max(w, _text_width(texts)) for w, texts in zip(widths, zip(*body))]
        multiline = multiline or any("\n" in "".join(cells) for cells in body)
    if total_cells is not None:
        widths = [max(w, _text_width([t])) for w, t in zip(widths, total_cells)]
        multiline = multiline or "\n" in "".join(total_cells)
    # the widest row; where a cell of the table has more than one line, it has two, so
    # that every block is laid out as tabulate lays out such a table (a row of blank
    # cells then takes no line)
    widest = ["x" * w for w in widths]
    if multiline:
        widest[0] += "\nx"
    head = max(h.count("\n") + 1 for h in headers) + 1  # the header's lines and its rule
    skip = head + 1 + multiline  # and the widest row's
    rows = iter(table.rows)
    first = True
    while True:
        body = [[cell_text(row.get(c.key), c) for c in columns] for row in itertools.islice(rows, block)]
        if not body:
            break
        last = len(body) < block
        laid = lay_out([widest] + (with_totals(body) if last else body)).split("\n")
        lines = laid[:head] + laid[skip:] if first else laid[skip:]
        if lines:  # blank rows of a table with multi-line cells take no line
            yield "\n".join(lines)
        first = False
        if last:
            return
    if total_cells is not None:  # the rows ended with a full block
        laid = lay_out([widest, SEPARATING_LINE, total_cells]).split("\n")
        yield "\n".join(laid[skip:])


_TABULATE_PADDING = 2  # tabulate's MIN_PADDING: a column is at least its header and two wide


def _text_width(texts: Sequence[str]) -> int:
    """The widest of cells as tabulate measures them: stripped, the widest of their lines."""
    if WIDE_CHARS_MODE or "\n" in "".join(texts):
        return max((_line_width(line) for text in texts for line in text.strip().split("\n")), default=0)
    return max(map(len, map(str.strip, texts)), default=0)


def _line_width(line: str) -> int:
    if WIDE_CHARS_MODE:
        import wcwidth

        return wcwidth.wcswidth(line)
    return len(line)


# --------------------------------------------------------------------------------------
# CSV


def render_csv(table: Table) -> str:
    """Header row of column keys, then the rows (and the totals row, if any)."""
    return "".join(csv_chunks(table))


def csv_chunks(table: Table, block: int | None = None) -> Iterator[str]:
    """The text of `render_csv`, `block` rows at a time."""
    block = block or TEXT_BLOCK
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.key for c in table.columns])
    rows = iter(table.rows)
    while part := list(itertools.islice(rows, block)):
        writer.writerows([_safe_text(row.get(c.key), c) for c in table.columns] for row in part)
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    totals = _totals_row(table)
    if totals is not None:
        writer.writerow([_safe_text(totals.get(c.key), c) for c in table.columns])
    if out.tell():
        yield out.getvalue()


def write_csv(tables_or_table: Table | Sequence[Table], path: str | os.PathLike) -> None:
    """One table, or several as sections separated by a blank line; UTF-8."""
    tables = _as_list(tables_or_table)
    write_text_file(path, itertools.chain.from_iterable(
        itertools.chain(["\n"] if i else [], csv_chunks(table)) for i, table in enumerate(tables)))


def write_text_file(path: str | os.PathLike, pieces: Iterable[str]) -> None:
    """Write the pieces as one UTF-8 file, whole or not at all (see `_write_atomically`)."""
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            for piece in pieces:
                f.write(piece)

    _write_atomically(path, write)


# --------------------------------------------------------------------------------------
# JSON (the generic shape; commands with a domain shape write their own)


def _json_value(value: object, column: Column) -> object:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and column.kind in ("int", "text"):
        return value
    return cell_text(value, column)


def json_rows(table: Table) -> RowsOf:
    """The rows of `table_json`, made as they are read."""
    return RowsOf(table.rows, lambda row: {c.key: _json_value(row.get(c.key), c) for c in table.columns})


def table_json(table: Table) -> dict:
    """{title, rows, totals}: Decimals as exact strings, dates ISO, ints as ints."""
    rows = list(json_rows(table))
    totals = None
    if table.totals is not None:
        totals = {
            c.key: _json_value(table.totals[c.key], c)
            for c in table.columns
            if c.key in table.totals
        }
    return {"title": table.title, "rows": rows, "totals": totals}


def write_json(tables: Sequence[Table], path: str | os.PathLike) -> None:
    data = [table_json(table) for table in _as_list(tables)]
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    _write_atomically(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


# --------------------------------------------------------------------------------------
# XLSX (xlsxwriter)

_SHEET_FORBIDDEN = set("[]:*?/\\")
_NUMBER_FORMATS = {"amount": "#,##0.00", "price": "#,##0.00####", "quantity": "#,##0.######", "int": "0", "date": "yyyy-mm-dd"}


def sheet_names(titles: Iterable[str]) -> list[str]:
    """Excel-valid, unique (case-insensitively) sheet names of at most 31 characters."""
    names: list[str] = []
    taken: set[str] = set()
    for title in titles:
        base = "".join(" " if ch in _SHEET_FORBIDDEN else ch for ch in title).strip().strip("'")
        base = " ".join(base.split())[:31].rstrip() or "Sheet"
        name, n = base, 1
        while name.casefold() in taken:
            n += 1
            suffix = f" ({n})"
            name = base[: 31 - len(suffix)].rstrip() + suffix
        taken.add(name.casefold())
        names.append(name)
    return names


XLSX_CREATED = datetime(2000, 1, 1, tzinfo=timezone.utc)  # docProps/core.xml created and modified (see write_xlsx)
XLSX_MAX_ROWS = 1_048_576  # rows of a worksheet (Excel's limit, and xlsxwriter's: it drops a cell beyond it)


def _subtitle_lines(table: Table) -> list[str]:
    """The subtitle's lines: a worksheet writes each in its own row."""
    return table.subtitle.split("\n") if table.subtitle else []


def _header_row(table: Table) -> int:
    """The worksheet row of a table's header: under the title, the subtitle's lines if any, and a blank row."""
    return 2 + len(_subtitle_lines(table))


def _sheet_parts(table: Table) -> list[tuple[str, str, Iterable[dict], bool]]:
    """(sheet name, title, rows, with totals) for each worksheet a table needs.

    A worksheet holds `XLSX_MAX_ROWS` rows. A longer table (a close-out of a million
    lines has about as many entry lines) goes on over further worksheets, each with its
    title, subtitle and header, and "part k of n" in its title; the totals row ends the
    last one. Every row is written once and in order: none is ever dropped. A part's
    sheet name is the title cut so that its "(k of n)" stays within 31 characters.
    """
    room = XLSX_MAX_ROWS - (_header_row(table) + 1)
    count = len(table.rows)
    parts = max(1, -(-(count + (table.totals is not None)) // room))
    title = table.sheet_title or table.title
    if parts == 1:
        return [(table.sheet or table.title, title, table.rows, True)]
    rows = iter(table.rows)
    out = []
    for k in range(1, parts + 1):
        suffix = f" ({k} of {parts})"
        out.append(((table.sheet or table.title)[: 31 - len(suffix)].rstrip() + suffix, f"{title} (part {k} of {parts})",
                    itertools.islice(rows, room if k < parts else count - room * (parts - 1)), k == parts))
    return out


@batch_collection()  # measured: 12.6 s -> 10.3 s for a 100,000-line posting report
def write_xlsx(tables: Sequence[Table], path: str | os.PathLike) -> None:
    """One worksheet per table (more for a table longer than a worksheet holds, see
    `_sheet_parts`): title, subtitle, bold frozen header, autofilter, totals."""
    tables = _as_list(tables)

    def fill(workbook) -> str | None:
        formats = _XlsxFormats(workbook)
        sheets = [(table, part) for table in tables for part in _sheet_parts(table)]
        names = sheet_names(name for _, (name, *_) in sheets)
        for (table, (_, title, rows, with_totals)), name in zip(sheets, names):
            _write_sheet(workbook.add_worksheet(name), table, formats, title=title, rows=rows, with_totals=with_totals)
        return tables[0].title if tables else None

    _write_workbook(path, fill)


def _write_workbook(path: str | os.PathLike, fill: Callable[[object], str | None]) -> None:
    """An XLSX file made by `fill(workbook)` (which returns the document's title), whole or
    not at all (`_write_atomically`), streamed row by row, with no clock time in it."""
    def build(tmp: str) -> None:
        import xlsxwriter

        with open(tmp, "wb") as raw:
            out = _FirstWriteError(raw)
            workbook = xlsxwriter.Workbook(
                out,
                {
                    "strings_to_formulas": False,
                    "strings_to_numbers": False,
                    "strings_to_urls": False,
                    # each row goes to a temporary file once the next is begun: a sheet of a
                    # million rows is not held in memory (the rows are written in order)
                    "constant_memory": True,
                },
            )
            try:
                title = fill(workbook)
                # no clock time in the file (CLI.md: a report carries none; two identical runs write the same bytes): the
                # document's created/modified time is a fixed epoch, the one reportlab's
                # `invariant` gives the PDF; the zip members' times are xlsxwriter's fixed 1980
                properties = {"created": XLSX_CREATED}
                if title:
                    properties["title"] = title
                workbook.set_properties(properties)
            finally:
                workbook.close()
        if out.error is not None:
            raise out.error

    _write_atomically(path, build)


_EXACT_DIGITS = 15
"""The significant digits a spreadsheet number (a double) keeps exactly."""


def write_edit_sheet(path: str | os.PathLike, columns: Sequence[tuple[str, str]], rows: Iterable[Sequence]) -> None:
    """A workbook of one sheet to be edited and read back (`closeout propose -o FILE.xlsx`):
    a header row of `columns` (name, kind), then the rows as they come. Codes are text
    cells (a spreadsheet keeps 00123 as it is), quantities numbers in the General format
    (every decimal shown, none rounded away when it is saved), unless a number has more
    digits than a double keeps: then text, so that it reads back exactly."""
    def fill(workbook) -> str:
        sheet = workbook.add_worksheet("lines")
        bold = workbook.add_format({"bold": True, "bottom": 1})
        as_date = workbook.add_format({"num_format": "yyyy-mm-dd"})
        for c, (name, kind) in enumerate(columns):
            sheet.write_string(0, c, name, bold)
            sheet.set_column(c, c, max(len(name) + 2, 12 if kind != "text" else 16))
        sheet.freeze_panes(1, 0)
        for r, row in enumerate(rows, start=1):
            for c, ((_, kind), value) in enumerate(zip(columns, row)):
                if value is None:
                    continue
                if kind == "date" and _as_date(value) is not None:
                    sheet.write_datetime(r, c, value, as_date)
                elif kind == "int" or (kind == "quantity" and len(value.normalize().as_tuple().digits) <= _EXACT_DIGITS):
                    sheet.write_number(r, c, value)
                elif kind == "quantity":
                    sheet.write_string(r, c, format(value, "f"))
                else:
                    sheet.write_string(r, c, str(value))
        return "open lines"

    _write_workbook(path, fill)


class _FirstWriteError:
    """The file xlsxwriter writes its zip to, keeping the first error the file met (a full
    disk: raised by a write, or by the flush a seek makes) and doing nothing more after it:
    the zip file is then closed without an error of its own (Python would print that, with
    a traceback, as an "exception ignored" when the zip file is collected), and the kept
    error is raised once xlsxwriter is done."""

    def __init__(self, raw) -> None:
        self.raw = raw
        self.error: OSError | None = None

    def _do(self, operation, *args, otherwise=0):
        if self.error is None:
            try:
                return operation(*args)
            except OSError as exc:
                self.error = exc
        return otherwise

    def write(self, data) -> int:
        return self._do(self.raw.write, data, otherwise=len(data))

    def flush(self) -> None:
        self._do(self.raw.flush, otherwise=None)

    def seek(self, *args) -> int:
        return self._do(self.raw.seek, *args)

    def tell(self) -> int:
        return self._do(self.raw.tell)

    def seekable(self) -> bool:
        return True


class _XlsxFormats:
    def __init__(self, workbook) -> None:
        self.title = workbook.add_format({"bold": True, "font_size": 14})
        self.subtitle = workbook.add_format({"italic": True, "font_color": "#555555"})
        self.header = workbook.add_format(
            {"bold": True, "bottom": 1, "bg_color": "#DDE3EA", "text_wrap": True, "valign": "bottom"}
        )
        self.header_right = workbook.add_format(
            {"bold": True, "bottom": 1, "bg_color": "#DDE3EA", "text_wrap": True,
             "valign": "bottom", "align": "right"}
        )
        self._cells: dict[tuple[str, bool], object] = {}
        self._amounts: dict[tuple[int, bool], object] = {}  # other minor units than the cent (`amount`)
        self._workbook = workbook
        for kind in KINDS:
            for bold in (False, True):
                props: dict = {"valign": "top"}
                if kind in _NUMBER_FORMATS:
                    props["num_format"] = _NUMBER_FORMATS[kind]
                if bold:
                    props.update({"bold": True, "top": 1})
                self._cells[(kind, bold)] = workbook.add_format(props)
        # text a spreadsheet would read as a formula: shown as it is, and kept text when the
        # cell is edited (Excel's quote prefix, a style: not an apostrophe in the text)
        self._quoted = {bold: workbook.add_format({"valign": "top", "quote_prefix": True, **({"bold": True, "top": 1} if bold else {})})
                        for bold in (False, True)}
        # text wider than a column may be (`_XLSX_MAX_WIDTH`): wrapped in its cell, not cut off by the next one
        self._wrapped = {(bold, quoted): workbook.add_format({"valign": "top", "text_wrap": True, **({"quote_prefix": True} if quoted else {}),
                                                             **({"bold": True, "top": 1} if bold else {})})
                         for bold in (False, True) for quoted in (False, True)}
        # a number with more significant digits than a double keeps: its exact text, right-aligned
        self._exact = {bold: workbook.add_format({"valign": "top", "align": "right", **({"bold": True, "top": 1} if bold else {})})
                       for bold in (False, True)}

    def cell(self, kind: str, bold: bool):
        return self._cells[(kind, bold)]

    def amount(self, number: Decimal | int, bold: bool):
        """An amount's format: as many decimals as the amount carries (its currency's minor unit:
        3 for BHD, 0 for JPY), as its CSV, JSON and PDF text show it; an int keeps the cent.
        Also a Decimal in a text column (a field, value table): shown as its text is."""
        if not isinstance(number, Decimal) or number.as_tuple().exponent == -2:
            return self._cells[("amount", bold)]
        return self._places(max(0, -int(number.as_tuple().exponent)), bold)

    def quantity(self, number: Decimal | int, bold: bool):
        """A quantity's format: the decimals it has and no more, as its CSV, JSON, table and
        PDF text show it ("1,200", "299.5"). One format of up to six optional decimals
        ("#,##0.######") left the decimal separator standing after a whole number: Excel
        and LibreOffice show 1200 as "1,200." and 0 as "0." (audit of 6 December 2026)."""
        exponent = Decimal(number).normalize().as_tuple().exponent if number else 0
        return self._places(max(0, -int(exponent)), bold)

    def price(self, number: Decimal | int, bold: bool):
        """A unit price's format: the decimals its text has ("19.990" in dinar, "120" in yen,
        "0.1235"), as its CSV, JSON, table and PDF text show it. One format of two to six
        decimals ("#,##0.00####") showed 120 yen as 120.00 and 19.990 dinar as 19.99
        (audit of 7 December 2026)."""
        return self._places(max(0, -int(Decimal(number).as_tuple().exponent)), bold)

    def _places(self, places: int, bold: bool):
        """A number's format with exactly `places` decimals and a thousands separator (made once a workbook)."""
        key = (places, bold)
        if key not in self._amounts:
            props: dict = {"valign": "top", "num_format": "#,##0" + ("." + "0" * places if places else "")}
            if bold:
                props.update({"bold": True, "top": 1})
            self._amounts[key] = self._workbook.add_format(props)
        return self._amounts[key]

    def text(self, text: str, bold: bool, *, wrapped: bool = False):
        if wrapped:
            return self._wrapped[(bold, text.startswith(_FORMULA_STARTS))]
        return self._quoted[bold] if text.startswith(_FORMULA_STARTS) else self._cells[("text", bold)]

    def exact(self, bold: bool):
        return self._exact[bold]


def _beyond_a_double(number: Decimal | int) -> bool:
    """A number a spreadsheet cell (a double, 15 significant digits) would not hold exactly:
    922337203685377.77 would read 922337203685377.75 in the cell, Excel shows ...377.80."""
    return isinstance(number, Decimal) and len(number.normalize().as_tuple().digits) > _EXACT_DIGITS


def _write_sheet(sheet, table: Table, formats: _XlsxFormats, *, title: str, rows: Iterable[dict], with_totals: bool) -> None:
    sheet.write_string(0, 0, title, formats.title)
    for row, line in enumerate(_subtitle_lines(table), start=1):
        sheet.write_string(row, 0, line, formats.subtitle)
    header_row = _header_row(table)
    columns = table.columns
    for col, column in enumerate(columns):
        fmt = formats.header_right if column.numeric else formats.header
        sheet.write_string(header_row, col, column.header, fmt)

    widths = [len(c.header) for c in columns]
    row_index = header_row
    for row in rows:
        row_index += 1
        _write_xlsx_row(sheet, row_index, columns, row, formats, bold=False, widths=widths)
    last_data_row = row_index
    totals = _totals_row(table) if with_totals else None
    if totals is not None:
        row_index += 1
        _write_xlsx_row(sheet, row_index, columns, totals, formats, bold=True, widths=widths)

    for col, width in enumerate(widths):
        sheet.set_column(col, col, min(max(width + 2, 6), _XLSX_MAX_WIDTH))
    if columns:
        sheet.freeze_panes(header_row + 1, 0)
        sheet.autofilter(header_row, 0, max(last_data_row, header_row), len(columns) - 1)
    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(header_row)
    sheet.set_footer("&L&A&Rpage &P of &N")


_XLSX_MAX_WIDTH = 60
"""The widest a worksheet's column is made (characters); longer text wraps in its cell."""


def _write_xlsx_row(sheet, r: int, columns, row: dict, formats, *, bold: bool, widths: list[int]) -> None:
    for col, column in enumerate(columns):
        value = row.get(column.key)
        text = cell_text(value, column)
        width = _display_width(text, column)
        widths[col] = max(widths[col], width)
        if value is None:
            if bold:
                sheet.write_blank(r, col, None, formats.cell(column.kind, bold))
            continue
        if column.numeric:
            number = _numeric_value(value, column)
            if number is not None and _beyond_a_double(number):
                # more digits than a double keeps: the exact text, as CSV, JSON and PDF show it
                sheet.write_string(r, col, text, formats.exact(bold))
                continue
            if number is not None:
                # The Decimal itself goes to xlsxwriter; the cell is a spreadsheet number.
                fmt = (formats.amount(number, bold) if column.kind == "amount"
                       else formats.quantity(number, bold) if column.kind == "quantity"
                       else formats.price(number, bold) if column.kind == "price" else formats.cell(column.kind, bold))
                sheet.write_number(r, col, number, fmt)
                continue
        elif column.kind == "date":
            day = _as_date(value)
            if day is not None:
                sheet.write_datetime(r, col, day, formats.cell("date", bold))
                continue
        elif isinstance(value, Decimal) and _beyond_a_double(value):  # a number in a text column, too long for a double
            sheet.write_string(r, col, text, formats.exact(bold))
            continue
        elif isinstance(value, (int, Decimal)) and not isinstance(value, bool):  # a number in a text column (field, value)
            # a Decimal shows the decimals it carries (an order's totals in yen: 1125, not 1,125.00)
            sheet.write_number(r, col, value, formats.amount(value, bold) if isinstance(value, Decimal) else formats.cell("price", bold))
            continue
        elif _as_date(value) is not None and isinstance(value, date):
            sheet.write_datetime(r, col, value, formats.cell("date", bold))
            continue
        # a string cell is never read as a formula (strings_to_formulas is off): it is written as
        # it is, without the apostrophe a CSV cell gets (`neutralise`), and one that begins as a
        # formula is quote-prefixed, so that editing it in Excel does not make it one
        sheet.write_string(r, col, text, formats.text(text, bold, wrapped=width + 2 > _XLSX_MAX_WIDTH))


_FIRST_SHEET_YEAR = 1900
"""A spreadsheet's first year: a date before it is written as its ISO text (Excel shows
#VALUE! for a date serial below 1)."""


def _as_date(value: object) -> date | None:
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, date) and value.year >= _FIRST_SHEET_YEAR:
        return value
    return None


def _display_width(text: str, column: Column) -> int:
    """The width of a cell's text in a spreadsheet's character widths: a Chinese or Japanese
    (East Asian wide or fullwidth) character takes two (audit of 7 December 2026: such a name's
    column was half as wide as it needed)."""
    width = len(text) if text.isascii() else sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    if column.kind in ("amount", "price", "quantity"):
        digits = len(text.split(".")[0].lstrip("-"))
        width += max(digits - 1, 0) // 3  # thousands separators in the number format
    return width


# --------------------------------------------------------------------------------------
# PDF (reportlab platypus)

_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


@dataclass(frozen=True)
class _Fonts:
    regular: str
    bold: str
    table: str
    table_bold: str


_fonts_cache: list[_Fonts] = []


def _pdf_fonts() -> _Fonts:
    """DejaVu if installed, else reportlab's own Vera, else Helvetica; all show the euro."""
    if _fonts_cache:
        return _fonts_cache[0]
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    import reportlab

    candidates = [
        (
            _DEJAVU / "DejaVuSans.ttf",
            _DEJAVU / "DejaVuSans-Bold.ttf",
            _DEJAVU / "DejaVuSansCondensed.ttf",
            _DEJAVU / "DejaVuSansCondensed-Bold.ttf",
        ),
        tuple(Path(reportlab.__file__).parent / "fonts" / f for f in ("Vera.ttf", "VeraBd.ttf", "Vera.ttf", "VeraBd.ttf")),
    ]
    fonts = _Fonts("Helvetica", "Helvetica-Bold", "Helvetica", "Helvetica-Bold")
    for files in candidates:
        if all(f.is_file() for f in files):
            names = ("PledgerSans", "PledgerSans-Bold", "PledgerSansTable", "PledgerSansTable-Bold")
            try:
                for name, file in zip(names, files):
                    pdfmetrics.registerFont(TTFont(name, str(file)))
            except Exception:  # a broken font file: try the next family
                continue
            pdfmetrics.registerFontFamily("PledgerSans", normal=names[0], bold=names[1])
            pdfmetrics.registerFontFamily("PledgerSansTable", normal=names[2], bold=names[3])
            fonts = _Fonts(*names)
            break
    _fonts_cache.append(fonts)
    return fonts


MISSING_GLYPH = "\ufffd"
"""What a PDF shows for a character its font has no glyph for (where the font has this mark, else "?")."""


@functools.lru_cache(maxsize=16)
def _glyphs_of(font: str) -> frozenset[int] | None:
    """The characters (code points) `font` can draw; None where that is not known."""
    from reportlab.pdfbase.pdfmetrics import getFont

    face = getattr(getFont(font), "face", None)
    glyphs = getattr(face, "charToGlyph", None)
    return frozenset(glyphs) if glyphs else None


def pdf_shown(text: str, font: str) -> str:
    """`text` as the PDF's `font` can draw it: each character it has no glyph for becomes
    `MISSING_GLYPH`, one mark a character (line breaks stay).

    The PDF embeds DejaVu (or Vera): no CJK glyphs, and no font with them is downloaded. A
    supplier named in Japanese or Chinese was drawn as empty boxes, and the text a reader
    copies or searches held nothing there: the name looked blank (audit of 7 December
    2026). The mark says that something is there that this PDF cannot show; the XLSX,
    CSV and JSON of the same report hold the text whole, and the code beside a name says
    whose it is."""
    return text if text.isascii() else _shown(text, font)  # most cells are ASCII: no look-up


@functools.lru_cache(maxsize=8192)  # names and descriptions repeat down a report
def _shown(text: str, font: str) -> str:
    glyphs = _glyphs_of(font)
    if glyphs is None:
        return text
    mark = MISSING_GLYPH if ord(MISSING_GLYPH) in glyphs else "?"
    return "".join(ch if ord(ch) in glyphs or ch in "\n\t" else mark for ch in text)


MARKS_NOTE = (f"{MISSING_GLYPH} marks a character that this PDF's font cannot show (such as Chinese or Japanese); "
              "the report's XLSX, CSV and JSON files hold the text whole.")

_PAD_X = 3.0  # points of padding left and right of every cell
_PAD_Y = 1.5
_KEEP_WITH_TABLE = 80  # points a heading needs below it: itself, the header and a few rows
_FONT_SIZES = (8.5, 8.0, 7.5, 7.0, 6.5, 6.0, 5.5)
_TEXT_MIN_CAP = 72.0  # a text column need not be wider than its longest word up to this (pt)
_UNWRAPPED_MIN_SIZE = 7.0  # smallest size we shrink to rather than wrap text
_WRAPPED_SIZE = 7.5  # size used when text has to wrap anyway


@dataclass
class _Layout:
    size: object  # font size in points
    widths: list  # column widths in points
    wrap_numbers: bool = False


def _measure(table: Table, fonts: _Fonts) -> tuple[list, list, bool]:
    """Natural and minimal column widths at font size 1 (without padding), and whether a
    cell shows `MISSING_GLYPH` (a character the font cannot draw: `pdf_shown`).

    A number, a date or a code never wraps, so its column is at least as wide as its widest
    value; a text column may wrap down to its longest word (or header word). The rows are
    read a block at a time (they may be a report's spill on disk).
    """
    from reportlab.pdfbase.pdfmetrics import stringWidth

    columns = table.columns
    widest_value = [0.0] * len(columns)
    widest_word = [0.0] * len(columns)
    marked = False

    def measure(texts: list[list[str]], font: str) -> None:
        nonlocal marked
        for i, (column, values) in enumerate(zip(columns, zip(*texts))):
            values = set(values)
            marked = marked or any(MISSING_GLYPH in v for v in values if not v.isascii())
            widest_value[i] = max(widest_value[i], max((stringWidth(v, font, 1) for v in values), default=0.0))
            if column.kind == "text":
                words = {w for v in values for w in v.split()}
                widest_word[i] = max(widest_word[i], max((stringWidth(w, font, 1) for w in words), default=0.0))

    rows = iter(table.rows)
    while part := list(itertools.islice(rows, TEXT_BLOCK)):
        measure([[pdf_shown(cell_text(row.get(c.key), c), fonts.table) for c in columns] for row in part], fonts.table)
    totals = _totals_row(table)
    if totals is not None:
        # the totals row counts for the natural widths, its words not for the minimal ones
        words = list(widest_word)
        measure([[pdf_shown(cell_text(totals.get(c.key), c), fonts.table_bold) for c in columns]], fonts.table_bold)
        widest_word = words
    natural: list = []
    minimal: list = []
    for i, column in enumerate(columns):
        header_text = pdf_shown(column.header, fonts.table_bold)
        header_full = stringWidth(header_text, fonts.table_bold, 1)
        header_word = max((stringWidth(w, fonts.table_bold, 1) for w in header_text.split()), default=0.0)
        natural.append(max(widest_value[i], header_full))
        minimal.append(max(header_word, widest_word[i] if column.kind == "text" else widest_value[i]))
    return natural, minimal, marked


def _layout(table: Table, natural: list, minimal: list, available) -> _Layout:
    """Choose the font size and the column widths (points) of a PDF table.

    1. The largest size down to 7 pt at which every column fits unwrapped, each column as
       wide as its widest value or header needs and no wider: a table narrower than the
       page stays so (stretched, a one-text-column table gave its order numbers half the
       page and squeezed the numbers beside them).
    2. Otherwise text must wrap: at 7.5 pt (or smaller, until the narrowest columns fit)
       numbers, dates and codes keep their width and the text columns share the rest
       "water-filling" style: short texts keep their full width, the longest ones wrap.
    3. If even that does not fit at 5.5 pt, every column shrinks in proportion.
    """
    text_cols = {i for i, c in enumerate(table.columns) if c.kind == "text"}

    def widths_at(size) -> tuple[list, list]:
        nat = [n * size + 2 * _PAD_X for n in natural]
        mins = []
        for i, m in enumerate(minimal):
            w = m * size
            if i in text_cols:  # a very long word is split rather than widen the column
                w = min(w, _TEXT_MIN_CAP)
            mins.append(min(w + 2 * _PAD_X, nat[i]))
        return nat, mins

    for size in _FONT_SIZES:
        if size < _UNWRAPPED_MIN_SIZE:
            break
        nat, _mins = widths_at(size)
        if sum(nat) <= available:
            return _Layout(size, list(nat))

    for size in _FONT_SIZES:
        if size > _WRAPPED_SIZE:
            continue
        nat, mins = widths_at(size)
        if sum(mins) <= available:
            return _Layout(size, _water_fill(nat, mins, available))

    size = _FONT_SIZES[-1]
    nat, mins = widths_at(size)
    scale = available / sum(mins)
    return _Layout(size, [m * scale for m in mins], wrap_numbers=True)


def _water_fill(natural: list, minimal: list, available) -> list:
    """Widths between minimal and natural summing to `available`, capping the widest first.

    Every column gets min(natural, max(minimal, level)) for the one level that uses the
    available width; columns whose natural width is below the level are not wrapped.
    """
    def used(level) -> object:
        return sum(min(n, max(m, level)) for n, m in zip(natural, minimal))

    low, high = 0, max(natural)
    for _ in range(60):
        level = (low + high) / 2
        if used(level) > available:
            high = level
        else:
            low = level
    return [min(n, max(m, low)) for n, m in zip(natural, minimal)]


def _pdf_table(table: Table, fonts: _Fonts, available) -> list:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_LEFT, TA_RIGHT
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.platypus import LongTable, Paragraph, TableStyle

    columns = table.columns
    natural, minimal, marked = _measure(table, fonts)
    layout = _layout(table, natural, minimal, available)
    size = layout.size
    leading = round(size * 1.2, 2)

    def style(bold: bool, right: bool) -> ParagraphStyle:
        return ParagraphStyle(
            f"cell-{bold}-{right}",
            fontName=fonts.table_bold if bold else fonts.table,
            fontSize=size,
            leading=leading,
            alignment=TA_RIGHT if right else TA_LEFT,
            splitLongWords=1,
        )

    styles = {(b, r): style(b, r) for b in (False, True) for r in (False, True)}

    @functools.lru_cache(maxsize=4096)  # codes, names and dates repeat down a column
    def width_of(text: str, font: str):
        return stringWidth(text, font, size)

    def cell(text: str, i: int, bold: bool):
        """The text itself (as the font can draw it: `pdf_shown`), or a Paragraph where it must wrap (or breaks lines)."""
        column = columns[i]
        text = pdf_shown(text, fonts.table_bold if bold else fonts.table)
        if "\n" not in text:
            if column.numeric and not layout.wrap_numbers:
                return text  # a number keeps its width
            if width_of(text, fonts.table_bold if bold else fonts.table) <= layout.widths[i] - 2 * _PAD_X:
                return text
        return Paragraph(escape(text).replace("\n", "<br/>"), styles[(bold, column.numeric)])

    header = [
        Paragraph(escape(pdf_shown(c.header, fonts.table_bold)), styles[(True, c.numeric)]) for c in columns
    ]

    def cells_of(rows: Iterable[dict]) -> list[list]:
        return [[cell(cell_text(row.get(c.key), c), i, False) for i, c in enumerate(columns)] for row in rows]

    totals = _totals_row(table)
    total_cells = None if totals is None else [cell(cell_text(totals.get(c.key), c), i, True) for i, c in enumerate(columns)]
    n_data = len(table.rows)
    styles_of = _cell_styles(columns, fonts, size, leading)

    commands = [
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDE3EA")),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.HexColor("#44546A")),
        ("LINEBELOW", (0, -1), (-1, -1), 0.5, colors.HexColor("#44546A")),
    ]
    if n_data:
        commands.append(
            ("ROWBACKGROUNDS", (0, 1), (-1, n_data), [colors.white, colors.HexColor("#F1F4F8")])
        )
    if totals is not None:
        commands += [
            ("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.HexColor("#44546A")),
            ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#E4E8EE")),
        ]

    def table_of(rows: list, *, with_totals: bool, cmds: list):
        """A LongTable of the header and `rows` (the last of them the totals row if
        `with_totals`), its cells styled by the shared styles of their column."""
        body = len(rows) - (1 if with_totals else 0)
        cell_styles = [styles_of["header"]] + [styles_of["body"]] * body + ([styles_of["totals"]] if with_totals else [])
        pdf_table = LongTable([header] + rows, colWidths=layout.widths, repeatRows=1, hAlign="LEFT",
                              cellStyles=cell_styles)
        pdf_table.setStyle(TableStyle(cmds))
        return pdf_table

    # the marks alone read as a damaged file: a note under the table says what they stand for
    note = [Paragraph(escape(MARKS_NOTE), ParagraphStyle("marks", fontName=fonts.regular, fontSize=7.5, leading=10, spaceBefore=3,
                                                       textColor=colors.HexColor("#666666")))] if marked else []
    if n_data <= _PDF_LONG_TABLE:
        body = cells_of(table.rows) + ([total_cells] if total_cells is not None else [])
        return [table_of(body, with_totals=totals is not None, cmds=commands), *note]
    return _paged_tables(_RowWindow(table.rows), n_data, cells_of, total_cells, table_of, commands, sum(layout.widths)) + note


class _RowWindow:
    """Rows a .. b-1 of a sized iterable read in order, as a long table's pages ask for
    them: it holds the rows from the lowest asked for on, and starts over if asked for
    rows before those (a list is simply sliced)."""

    def __init__(self, rows):
        self._rows = rows
        self._start_over()

    def _start_over(self) -> None:
        self._iter = iter(self._rows)
        self._base = 0
        self._held: list = []

    def get(self, a: int, b: int) -> list:
        if isinstance(self._rows, (list, tuple)):
            return list(self._rows[a:b])
        if a < self._base:
            self._start_over()
        drop = a - self._base
        if drop >= len(self._held):
            for _ in itertools.islice(self._iter, drop - len(self._held)):
                pass
            self._held = []
        else:
            self._held = self._held[drop:]
        self._base = a
        if b - a > len(self._held):
            self._held += itertools.islice(self._iter, b - a - len(self._held))
        return self._held[: b - a]


def _cell_styles(columns: Sequence[Column], fonts: _Fonts, size, leading) -> dict[str, list]:
    """Per row kind (header, body, totals), one cell style per column.

    Every cell of a kind and column shares one style object, given to the table whole
    (`cellStyles`) instead of as per-cell style commands: reportlab makes a style object
    for every cell and applies every command to each of them, which for a 100,000-row
    report was most of its memory and much of its time. So the tables get no
    cell-level commands (FONT, ALIGN, VALIGN, PADDING): they would change a shared style
    for the whole column.
    """
    from reportlab.platypus.tables import CellStyle

    def style(name: str, *, bold: bool, right: bool, valign: str):
        s = CellStyle(name)
        s.fontname = fonts.table_bold if bold else fonts.table
        s.fontsize = size
        s.leading = leading
        s.leftPadding = s.rightPadding = _PAD_X
        s.topPadding = _PAD_Y
        s.bottomPadding = _PAD_Y + 0.5
        s.alignment = "RIGHT" if right else "LEFT"
        s.valign = valign
        return s

    return {
        kind: [style(f"{kind}-{c.key}", bold=kind == "totals", right=c.numeric, valign=valign) for c in columns]
        for kind, valign in (("header", "BOTTOM"), ("body", "TOP"), ("totals", "TOP"))
    }


_PDF_LONG_TABLE = 600  # rows; longer tables are laid out a page's table at a time (see _paged_tables)


def _paged_tables(window: _RowWindow, n_data: int, cells_of, total_cells, table_of, commands, width) -> list:
    """A long table as one flowable that lays out a page's table at a time (`_paged_rows_class`).

    reportlab re-measures the rest of a table at every page break it splits, which makes
    one table of 100,000 rows quadratic, and a table holds every row's cells and styles
    until it is drawn. Here the rows are read and measured once, in slices; at each page
    the flowable makes a table of the header and the rows that fit in the space left
    (their cells made again from the rows, read through `window`), and the rows after
    them stay behind as a flowable of row numbers for the next page. So every page is
    filled (the one under a heading too), and memory holds the row heights and one
    page's rows and table.
    """
    has_totals = total_cells is not None
    n_body = n_data + has_totals  # the body rows: the data, then the totals row if any

    def body(a: int, b: int) -> list:
        rows = cells_of(window.get(a, min(b, n_data)))
        return rows + [total_cells] if has_totals and b == n_body else rows

    row_heights: list = []
    one_line = None  # the height reportlab gives a row of one-line texts (all such rows have it)
    for start in range(0, n_body, 400):  # measured in slices: reportlab's own pass is quadratic
        stop = min(start + 400, n_body)
        rows = body(start, stop)
        last = has_totals and stop == n_body
        plain = [all(type(c) is str for c in row) for row in rows]  # cell() gives text only where it is one line
        if one_line is not None and all(plain) and not last:
            row_heights += [one_line] * len(rows)
            continue
        measured = table_of(rows, with_totals=last, cmds=[])
        measured.wrap(width, 10**9)
        if start == 0:
            header_height = measured._rowHeights[0]
        row_heights += measured._rowHeights[1:]
        if one_line is None and True in plain[: len(rows) - last]:
            one_line = measured._rowHeights[1 + plain.index(True)]
    tops = array("d", [0.0, *itertools.accumulate(row_heights)])  # tops[i]: the height of rows 0 .. i-1
    del row_heights

    def page_table(a: int, b: int):
        """The table of body rows a .. b-1: the header, zebra stripes continued from row a,
        and the totals row's lines where b is the end."""
        last = b == n_body
        cmds = [c for c in commands if c[0] != "ROWBACKGROUNDS" and c[1] != (0, -1)]
        data_rows = (b - a) - (1 if last and has_totals else 0)
        if data_rows:
            zebra = [colors_white(), colors_zebra()] if a % 2 == 0 else [colors_zebra(), colors_white()]
            cmds.append(("ROWBACKGROUNDS", (0, 1), (-1, data_rows), zebra))
        cmds += [c for c in commands if c[1] == (0, -1) and (last or c[0] == "LINEBELOW")]
        return table_of(body(a, b), with_totals=last and has_totals, cmds=cmds)

    return [_paged_rows_class()(page_table, tops, header_height, width, 0, n_body)]


_PAGE_FILL = 0.995  # share of the space left that a page's rows may take (the measured heights are exact; this is slack)


@functools.cache
def _paged_rows_class():
    from reportlab.platypus import Flowable

    class PagedRows(Flowable):
        """Body rows `start` .. `end`-1 of a long table, laid out a page at a time."""

        def __init__(self, page_table, tops, header_height, width, start, end):
            super().__init__()
            self._page_table = page_table
            self._tops = tops
            self._header_height = header_height
            self._width = width
            self._start, self._end = start, end

        def _height(self, end: int):
            return self._header_height + self._tops[end] - self._tops[self._start]

        def wrap(self, available_width, available_height):
            # the height of all the rows left: where that does not fit, the frame splits
            self.width, self.height = self._width, self._height(self._end)
            return self.width, self.height

        def split(self, available_width, available_height):
            room = available_height * _PAGE_FILL
            end = bisect.bisect_right(self._tops, room - self._header_height + self._tops[self._start], self._start, self._end + 1) - 1
            if end <= self._start:
                return []  # not even one row fits here: the frame moves on
            rest = [] if end == self._end else [
                type(self)(self._page_table, self._tops, self._header_height, self._width, end, self._end)]
            return [self._page_table(self._start, end), *rest]

        def drawOn(self, canvas, x, y, _sW=0):
            table = self._page_table(self._start, self._end)  # all the rows left fitted
            table.wrapOn(canvas, self.width, self.height)
            table.drawOn(canvas, x, y, _sW)

    return PagedRows


def colors_white():
    from reportlab.lib import colors

    return colors.white


def colors_zebra():
    from reportlab.lib import colors

    return colors.HexColor("#F1F4F8")


def write_pdf(tables: Sequence[Table], path: str | os.PathLike, *, document_title: str) -> None:
    """A4 landscape: the first table's title (else `document_title`), its subtitle and the
    table; per further table a heading, subtitle and the table; "document_title ... page N
    of M" at the foot of every page."""
    tables = _as_list(tables)
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import CondPageBreak, Paragraph, SimpleDocTemplate, Spacer

    fonts = _pdf_fonts()
    page = landscape(A4)
    margin = 12 * mm
    bottom = 16 * mm
    available = page[0] - 2 * margin

    title_style = ParagraphStyle("title", fontName=fonts.bold, fontSize=15, leading=19, spaceAfter=4)
    heading_style = ParagraphStyle(
        "heading", fontName=fonts.bold, fontSize=11.5, leading=14, spaceBefore=8, spaceAfter=2
    )
    subtitle_style = ParagraphStyle(
        "subtitle", fontName=fonts.regular, fontSize=8.5, leading=11,
        textColor=colors.HexColor("#444444"), spaceAfter=5,
    )
    note_style = ParagraphStyle("note", fontName=fonts.regular, fontSize=8.5, leading=11,
                                textColor=colors.HexColor("#666666"))

    # one title on the page: the first table's, which says what the document is of (the
    # document's own title stays in its metadata and the running footer); later tables' as headings
    story: list = [Paragraph(escape(pdf_shown(tables[0].title if tables and tables[0].title else document_title, fonts.bold)),
                             title_style)]
    for n, table in enumerate(tables):
        titled = n > 0 and bool(table.title)
        story.append(CondPageBreak(_KEEP_WITH_TABLE))  # no heading alone at a page's foot
        if titled:
            story.append(Paragraph(escape(pdf_shown(table.title, fonts.bold)), heading_style))
        if table.subtitle:
            story.append(Paragraph(escape(pdf_shown(table.subtitle, fonts.regular)).replace("\n", "<br/>"), subtitle_style))
        elif not titled:
            story.append(Spacer(1, 4))
        if table.columns:
            story.extend(_pdf_table(table, fonts, available))
        if not table.rows:
            story.append(Spacer(1, 3))
            story.append(Paragraph(escape(table.no_rows or "No lines."), note_style))
        story.append(Spacer(1, 10))

    def build(tmp: str) -> None:
        doc = SimpleDocTemplate(
            tmp,
            pagesize=page,
            leftMargin=margin,
            rightMargin=margin,
            topMargin=margin,
            bottomMargin=bottom,
            title=document_title,
            author="pledger",
            creator="pledger",
            invariant=1,
        )
        doc.build(story, canvasmaker=_numbered_canvas(document_title, fonts, margin))

    _write_atomically(path, build)


class _Encoded:
    """A stream filter already applied: `_encode_page_now` gives the stream its content
    encoded, so reportlab's writing of it only names the filter."""

    def __init__(self, pdfname: str):
        self.pdfname = pdfname

    def encode(self, content):
        return content


def _encode_page_now(doc) -> None:
    """Encode the page just added to `doc` (compress it) now, as reportlab would when it
    writes the file: reportlab holds every page's text until then, which for a
    40,000-page report is gigabytes. The same filters in the same order give the same
    bytes; where reportlab's internals are not as expected, the page is left to it."""
    from reportlab import rl_config
    from reportlab.pdfbase import pdfdoc

    pages = getattr(getattr(doc, "Pages", None), "pages", None)
    page = pages[-1] if pages else None
    if not isinstance(page, pdfdoc.PDFPage) or page.Contents or not page.stream or not page.compression \
            or page.Override_default_compilation:
        return
    filters = [pdfdoc.PDFBase85Encode, pdfdoc.PDFZCompress] if rl_config.useA85 else [pdfdoc.PDFZCompress]
    content = page.stream
    for f in reversed(filters):  # as PDFStream.format applies them
        content = f.encode(content)
    stream = pdfdoc.PDFStream(content=content, filters=[_Encoded(f.pdfname) for f in filters])
    stream.__Comment__ = "page stream"
    page.Contents = stream
    page.stream = None


def fitted(text: str, room, width_of) -> str:
    """`text`, cut and ended with "..." where it is wider than `room` (a footer's title never
    runs into its page number)."""
    if width_of(text) <= room:
        return text
    while text and width_of(text + "...") > room:
        text = text[:-1]
    return text.rstrip() + "..."


def _numbered_canvas(document_title: str, fonts: _Fonts, margin):
    """A canvas class that draws "title ... page N of M" once the page count is known."""
    from reportlab.lib import colors
    from reportlab.pdfgen.canvas import Canvas

    _HELD = {"_code", "_page_changes", "_page_code", "_page_code_sizes", "_page_before"}  # not part of a page's state

    class NumberedCanvas(Canvas):
        """Holds each page until the count is known, then draws the footers and writes.

        A page is held as what changed in the canvas since the page before (a few
        per-page attributes: the page's number, graphics state, its own empty lists) and
        its drawing, compressed, in a temporary file: reportlab's way of holding every
        page's whole canvas state and text in memory took gigabytes for a
        40,000-page report. At the end each page's state is rebuilt in turn, as it was.
        """

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._page_changes: list[dict] = []
            self._page_code = tempfile.TemporaryFile(prefix="pledger-pdf-")
            self._page_code_sizes: list[int] = []
            self._page_before: dict = {}

        def showPage(self):
            state = self.__dict__
            before = self._page_before
            self._page_changes.append(
                {k: v for k, v in state.items() if k not in _HELD and (k not in before or before[k] is not v)})
            self._page_before = {k: v for k, v in state.items() if k not in _HELD}
            # one string a page, as the page's stream holds it (reportlab joins the operators with newlines)
            code = zlib.compress("\n".join(self._code).encode("utf-8"), 1)
            self._page_code.write(code)
            self._page_code_sizes.append(len(code))
            self._startPage()

        def save(self):
            changes, sizes, pages = self._page_changes, self._page_code_sizes, self._page_code
            count = len(changes)
            pages.seek(0)
            state: dict = {}
            for number in range(1, count + 1):
                state.update(changes[number - 1])
                changes[number - 1] = None  # each page's part goes once its page is out
                self.__dict__.update(state)
                self._code = [zlib.decompress(pages.read(sizes[number - 1])).decode("utf-8")]
                self._footer(number, count)
                super().showPage()
                _encode_page_now(self._doc)
            pages.close()
            super().save()

        def _footer(self, number: int, count: int) -> None:
            width, _height = self._pagesize
            y = margin * 0.75
            self.saveState()
            self.setStrokeColor(colors.HexColor("#999999"))
            self.setLineWidth(0.5)
            self.line(margin, y + 9, width - margin, y + 9)
            self.setFillColor(colors.HexColor("#444444"))
            self.setFont(fonts.regular, 7.5)
            page = f"page {number} of {count}"
            # room for "page 99999 of 99999" and a gap: the title is cut once, the same on every page
            if getattr(self, "_footer_title", None) is None:
                room = width - 2 * margin - self.stringWidth(f"page {count} of {count}", fonts.regular, 7.5) - 18
                self._footer_title = fitted(pdf_shown(document_title, fonts.regular), room,
                                             lambda text: self.stringWidth(text, fonts.regular, 7.5))
            self.drawString(margin, y, self._footer_title)
            self.drawRightString(width - margin, y, page)
            self.restoreState()

    return NumberedCanvas


# --------------------------------------------------------------------------------------
# Dispatch and file handling


def write_table_file(
    tables: Table | Sequence[Table], path: str | os.PathLike, *, document_title: str
) -> None:
    """Write by the file's suffix: .csv, .xlsx, .pdf or .json."""
    suffix = check_table_file(path)
    tables = _as_list(tables)
    if suffix == ".csv":
        write_csv(tables, path)
    elif suffix == ".xlsx":
        write_xlsx(tables, path)
    elif suffix == ".pdf":
        write_pdf(tables, path, document_title=document_title)
    else:
        write_json(tables, path)


def check_table_file(path: str | os.PathLike, *, writable: bool = False) -> str:
    """The suffix of a file `write_table_file` can write; refuses any other file, and with
    `writable` a file that cannot be made there (no such folder, no permission: tried with
    the temporary file a write starts with, removed again; a folder of that name), so that
    a command can refuse it before it changes anything."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        if Path(path).name.lower() in SUFFIXES:  # "$NAME.pdf" with NAME unset: a type, and no name
            raise FormatError(f"report file '{Path(path).name}' names only a file type: give the file a name, such as "
                              f"report{Path(path).name.lower()}")
        if not suffix and Path(path).is_dir():  # '/tmp' was "report file 'tmp' has no file type" (review of 7 December 2026)
            raise FormatError(folder_given(path, "report.pdf"))
        if not suffix:
            raise FormatError(f"report file '{Path(path).name}' has no file type: {_SUFFIX_HINT}")
        raise FormatError(f"unsupported report file type '{suffix}': {_SUFFIX_HINT}")
    if writable:
        if Path(path).is_dir():  # the temporary file beside it can be made; moving it onto a folder cannot
            raise FormatError(f"cannot write {Path(path)}: it is a folder; give a file name, such as "
                              f"{Path(path) / ('report' + suffix)}")
        check_writable(path)
    return suffix


def folder_given(path: str | os.PathLike, name: str) -> str:
    """A folder given, as typed (`path`), to a command that takes a file's type from its name
    (`--report`, `po export -o`), with a file `name` there as the example to give instead."""
    return f"'{path}' is a folder: give a file name, such as {Path(path) / name}"


def _as_list(tables_or_table: Table | Sequence[Table]) -> list[Table]:
    if isinstance(tables_or_table, Table):
        return [tables_or_table]
    return list(tables_or_table)


def _write_atomically(path: str | os.PathLike, write: Callable[[str], object]) -> None:
    """Write through a temporary file beside `path`, then move it into place; the temporary
    file is removed whatever stops the writing, Ctrl-C and SIGTERM included (`ledger.files`)."""
    try:
        write_whole(path, write, new=_new_temporary)
    except OSError as exc:
        raise FormatError(cannot_write(Path(path), exc)) from exc


def cannot_write(target: Path, exc: OSError, what: str | None = None) -> str:
    """Why `target` cannot be written, with what to do where that is plain: a folder that does
    not exist ("No such file or directory" said nothing of which), or one this user may not
    write. `what` names what it was to hold ("the trial": "cannot write the trial to F")."""
    named = f"{what} to {target}" if what else str(target)
    folder = Path(target).absolute().parent
    if exc.errno == errno.ENOENT and not folder.exists():
        return (f"cannot write {named}: the folder {folder} does not exist; create it first, or give a file in a "
                f"folder that exists")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write {named}: {exc.strerror or exc}; give a file in a folder you can write"
    if exc.errno == errno.EISDIR:  # it said "Is a directory" and no more (review of 7 December 2026), as --report's check does
        such = f", such as {Path(target) / ('report' + Path(target).suffix)}" if Path(target).suffix else ""
        return f"cannot write {named}: it is a folder; give a file name{such}"
    return f"cannot write {named}: {exc.strerror or exc}"


def check_writable(path: str | os.PathLike, what: str | None = None) -> None:
    """Refuse a file that cannot be made where it is named (no such folder, no permission),
    tried with the temporary file a write starts with and removed again, so that a command
    can refuse it before its work (`cannot_write`, with `what` it was to hold). A folder named
    where the file goes is refused here too: a temporary file beside it can be made, and
    `--save DIR` said "Is a directory" only after the whole trial (review of 7 December 2026)."""
    if Path(path).is_dir():
        raise FormatError(cannot_write(Path(path), IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR)), what))
    try:
        remove_quietly(new_temporary(Path(path)))
    except OSError as exc:
        raise FormatError(cannot_write(Path(path), exc, what)) from exc


def _new_temporary(target: Path) -> Path:
    """A new empty file beside `target`, named to be recognised as pledger's and not clash."""
    try:
        return new_temporary(target)
    except OSError as exc:
        raise FormatError(cannot_write(target, exc)) from exc


