"""Reading a CSV file row by row, all or nothing, with errors that name the row, column and value.

UTF-8 with or without BOM, comma separated, a decimal point. A workbook (`.xlsx`) is read
the same way from its first sheet (refused where it was saved showing another and a sheet
besides the first holds values): its cells as the text a CSV cell would hold (`_sheet_cell`),
so that codes typed as text keep their leading zeros and numbers keep the decimals a cell's
format hides; a cell whose type makes it mean something else than that text in its column
(`Field.holds`: a code Excel made a date of, a number a text cell holds with a Dutch
thousands point) is refused. Row numbers are the file's line numbers as a spreadsheet shows
them (the header is row 1). Rows are parsed as the file is read (`iter_rows`), so a file of
a million rows is never held whole; the first bad value refuses the whole file (its reader
works in one transaction and writes nothing).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import math
import re
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Callable

from ledger.errors import PledgerError
from ledger.files import not_a_file
from ledger.money import D, MoneyError, currency_code
from ledger.periods import FIRST_YEAR
from ledger.text import control_named
from ledger.types import PRICE_SCALE, QUANTITY_SCALE, fits

MAX_FIELD = 10_000
CACHED = 65_536  # parsed cells remembered: a book repeats its codes, dates and quantities


class CsvError(PledgerError):
    pass


NUMBER, CODE = "number", "code"
"""What a column holds, as a workbook's cell is checked for it (`_sheet_cell`): a number,
which a text cell may hold written with a Dutch thousands point ("1.000"); a code, which
Excel turns into a date where it looks like one ("2026-05", "1-5")."""


def holding(kind: str):
    """Marks a cell's parser as reading a column of `kind` (NUMBER, CODE), for `Field.holds`."""
    def mark(parse):
        parse.holds = kind
        return parse
    return mark


@dataclass(frozen=True)
class Field:
    name: str
    parse: Callable[[str], object]
    required: bool = True  # the column must be in the header
    blank: object = None  # value when the cell is empty; a required cell may not be empty unless given
    allow_blank: bool = False

    @property
    def holds(self) -> str | None:
        """What the column holds where a workbook's cell type matters (NUMBER, CODE), or None."""
        return getattr(self.parse, "holds", None)


FORMULA_STARTS = ("=", "+", "-", "@")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BIDI_CONTROL = re.compile("[\u202a-\u202e\u2066-\u2069]")
"""Unicode's bidirectional embeddings, overrides and isolates: in a report's text table a name
holding U+202E (right-to-left override) shows the rest of its row, the amounts too, mirrored in a terminal that follows Unicode's bidi rules
("6.00" as "00.6"). Hebrew or Arabic text needs none of them: its direction is its letters'."""


def _no_bidi_control(value: str) -> None:
    bidi = _BIDI_CONTROL.search(value)
    if bidi:
        raise ValueError(f"holds a bidirectional control character (U+{ord(bidi.group()):04X}), "
                         "which shows the text after it, figures too, in another order")


@lru_cache(maxsize=CACHED)
def text(value: str) -> str:
    if len(value) > 255:
        raise ValueError("is longer than 255 characters")
    control = _LINE_CONTROL.search(value)
    if control:
        raise ValueError(f"holds {control_named(control.group())}; a name or description is one line of text")
    _no_bidi_control(value)
    return value


@holding(CODE)
@lru_cache(maxsize=CACHED)
def code(value: str) -> str:
    if len(value) > 64:
        raise ValueError("is longer than 64 characters")
    if any(ch in value for ch in "\r\n\t"):
        raise ValueError("holds a line break or tab")
    control = _CONTROL.search(value)
    if control:
        raise ValueError(f"holds {control_named(control.group())}")  # line breaks and tabs refused above
    _no_bidi_control(value)
    if value.startswith(FORMULA_STARTS):
        raise ValueError(f"begins with '{value[0]}': a spreadsheet reads that as a formula; a code begins with a letter or digit")
    return value


@lru_cache(maxsize=None)
def _at_most(length: int, parse: Callable[[str], str]) -> Callable[[str], str]:
    """`parse` for a column of at most `length` characters (PostgreSQL refuses a longer
    value, SQLite would keep it: the row and column are named here instead)."""
    @lru_cache(maxsize=CACHED)
    def parse_at_most(value: str) -> str:
        if len(value) > length:
            raise ValueError(f"is longer than {length} characters")
        return parse(value)
    parse_at_most.holds = getattr(parse, "holds", None)
    return parse_at_most


def code_of(length: int) -> Callable[[str], str]:
    """`code` for a column of at most `length` characters."""
    return _at_most(length, code)


def text_of(length: int) -> Callable[[str], str]:
    """`text` for a column of at most `length` characters."""
    return _at_most(length, text)


def currency(value: str) -> str:
    try:
        return currency_code(value)
    except MoneyError:
        raise ValueError("is not a currency code (ISO 4217, such as EUR)") from None


@holding(NUMBER)
@lru_cache(maxsize=CACHED)
def decimal(value: str) -> Decimal:
    try:
        number = D(value)
    except MoneyError:
        lowered = value.lower().lstrip("+-")
        if lowered in ("nan", "inf", "infinity", "snan"):
            raise ValueError("is not a finite number") from None
        if re.fullmatch(r"[+-]?[0-9.,]*,[0-9.,]*", value):
            raise ValueError("uses a decimal comma or a thousands separator: write 1234.56") from None
        if re.fullmatch(r"[+-]?[0-9.]+[eE][+-]?[0-9]+", value):
            raise ValueError("has an exponent: write the number in full, such as 1234.56") from None
        raise ValueError("is not a decimal number (write it with a point, no thousands separator: 1234.56)") from None
    if abs(number) >= Decimal(10) ** 12:
        raise ValueError("is too large: at most 12 digits before the point (999999999999)")
    return number


_PLAIN_QUANTITY = re.compile(r"[0-9]{1,12}(?:\.[0-9]{0,%d})?" % QUANTITY_SCALE).fullmatch
"""Digits and a point, at most 12 before it and QUANTITY_SCALE after: a quantity `decimal`
and `fits` take as it is (most cells of an order, receipt or invoice file)."""


@holding(NUMBER)
@lru_cache(maxsize=CACHED)
def quantity(value: str) -> Decimal:
    if _PLAIN_QUANTITY(value):
        return Decimal(value)
    number = decimal(value)
    if not fits(number, QUANTITY_SCALE):
        raise ValueError(f"has more than {QUANTITY_SCALE} decimals")
    return number


@holding(NUMBER)
def price(value: str) -> Decimal:
    return quantity(value)


@holding(NUMBER)
def non_negative(value: str) -> Decimal:
    number = quantity(value)
    if number < 0:
        raise ValueError("is below zero")
    return number


@holding(NUMBER)
@lru_cache(maxsize=CACHED)
def percent(value: str) -> Decimal:
    if value.endswith("%"):
        raise ValueError(f"is written with a % sign: write {value[:-1].strip() or 'the number'} alone (percent is meant)")
    number = decimal(value)
    if number < 0 or number > 100:
        raise ValueError("is not a percentage between 0 and 100")
    if not fits(number, PRICE_SCALE):  # kept as a rate is (an error at the INSERT named neither row nor column)
        raise ValueError(f"has more than {PRICE_SCALE} decimals")
    return number


@holding(NUMBER)
@lru_cache(maxsize=CACHED)
def vat_percent(value: str) -> Decimal:
    """A VAT rate in percent ("21"). A rate between 0 and 1 is a fraction written for a
    percentage (0.21 for 21 %): no VAT rate of Belgium or the Netherlands is below 1 % but 0."""
    number = percent(value)
    if 0 < number < 1:
        raise ValueError("is below 1 %: a VAT rate is written in percent, such as 21 for 21 % (not 0.21)")
    return number


@lru_cache(maxsize=CACHED)
def integer(value: str) -> int:
    if not re.fullmatch(r"[0-9]{1,9}", value):  # ASCII: \d took full-width and Arabic-Indic digits
        raise ValueError("is not a whole number")
    return int(value)


@lru_cache(maxsize=CACHED)
def date(value: str) -> dt.date:
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("is not a date (write YYYY-MM-DD)")
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError("is not a date that exists") from None
    if day.year < FIRST_YEAR:
        raise ValueError(f"lies before {FIRST_YEAR}, the first year pledger keeps (a typing mistake?)")
    return day


TRUE_WORDS = frozenset({"true", "yes", "1", "y", "waar", "ja", "j", "vrai", "oui"})
FALSE_WORDS = frozenset({"false", "no", "0", "n", "onwaar", "nee", "faux", "non"})
"""A yes/no cell's words, in any case: English, and the Dutch and French a Belgian or Dutch
spreadsheet writes (Excel in Dutch saves TRUE and FALSE as WAAR and ONWAAR in a CSV file,
in French as VRAI and FAUX)."""


def boolean(value: str) -> bool:
    lowered = value.lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise ValueError("is not true or false (true/false, 1/0; waar/onwaar and vrai/faux are read too)")


UTF16_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_WORKBOOKS = ((b"PK\x03\x04", "a zip file, as an Excel or OpenDocument workbook is (.xlsx, .ods)"),
              (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 workbook (.xls)"))


def _refuse_workbook(path, head: bytes) -> None:
    """A workbook given where a CSV file is read: said as such, with what to save instead,
    rather than as the first byte that is not UTF-8."""
    for signature, kind in _WORKBOOKS:
        if head.startswith(signature):
            raise CsvError(f"{path}: the file is {kind}, not CSV text: give an .xlsx workbook a name ending in .xlsx, "
                           f"or save it as 'CSV UTF-8 (comma delimited)'")


def _column_at(line_prefix: str, header: list[str] | None) -> str:
    """The column a position of a row falls in: `column NAME`, or `column N` without a header."""
    try:
        cells = next(csv.reader([line_prefix]), [""])
    except csv.Error:  # a value longer than the field limit: count the separators instead
        cells = line_prefix.split(",")
    index = max(0, len(cells) - 1)
    if header and index < len(header) and header[index]:
        return f"column {header[index]}"
    return f"column {index + 1}"


def _header_of(raw_line: str) -> list[str]:
    try:
        return [h.strip() for h in next(csv.reader([raw_line]), [])]
    except csv.Error:
        return []


def cannot_read(path, exc: OSError) -> CsvError:
    """A file to import that cannot be opened or read (no such file, a folder, no permission),
    as the import refuses it wherever it reads it: its rows, a workbook, its hash for the log
    (`purchase.import_log`)."""
    return CsvError(f"cannot read {path}: {exc.strerror or exc}")


def read_text(path: str | Path) -> str:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise cannot_read(path, exc) from None
    _refuse_workbook(path, raw[:4])
    if raw.startswith(UTF16_BOMS):
        kind = "UTF-32" if raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)) else "UTF-16"
        raise CsvError(f"{path}: row 1: the file is {kind} (it starts with a {kind} byte-order mark); save it as UTF-8")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        # NULs left out, as `_nul_error` does: in UTF-16 text they are every other byte, not the column's name
        first_line = raw.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").replace("\x00", "")
        prefix = raw[line_start : exc.start].decode("utf-8", errors="replace").replace("\x00", "")
        where = _column_at(prefix, _header_of(first_line) if line > 1 else None)
        hint = "it looks like UTF-16" if raw.count(b"\x00") > len(raw) // 4 else "Latin-1 or Windows-1252?"
        raise CsvError(
            f"{path}: row {line}, {where}: byte 0x{raw[exc.start]:02X} is not UTF-8 ({hint}); save the file as UTF-8"
        ) from None


def _nul_error(path, content: str) -> CsvError:
    at = content.index("\x00")
    line = content.count("\n", 0, at) + 1
    line_start = content.rfind("\n", 0, at) + 1
    header = _header_of(content.split("\n", 1)[0]) if line > 1 else None
    where = _column_at(content[line_start:at].replace("\x00", ""), header)
    if content.count("\x00") > len(content) // 4:
        return CsvError(f"{path}: row {line}: the file holds NUL characters everywhere (it looks like UTF-16 without a "
                        "byte-order mark); save it as UTF-8")
    return CsvError(f"{path}: row {line}, {where}: holds a NUL character; it is not a CSV text file")


def _csv_problem(exc: csv.Error) -> str:
    text_ = str(exc)
    if "unexpected end of data" in text_ or "EOF" in text_:
        return "a quoted value starts here and is never closed (a stray '\"'?)"
    if "field larger than field limit" in text_:
        return f"a value is longer than {MAX_FIELD} characters"
    if "expected after" in text_:
        return "a quote closes in the middle of a value (inside quotes write a quote as '\"\"')"
    return text_


def _text_lines(path: str | Path):
    """The file's lines as text, decoded as UTF-8 while they are read (a file is never held whole).

    A file that is not UTF-8 text (a UTF-16 or UTF-32 byte-order mark, an undecodable byte,
    a NUL) is refused as `read_text` and `_nul_error` word it, naming the row and column:
    that rare path reads the file again, whole, to find them.
    """
    try:
        raw = open(path, "rb")
    except OSError as exc:
        raise cannot_read(path, exc) from None
    with raw:
        head = raw.read(4)
        _refuse_workbook(path, head)
        if head.startswith(UTF16_BOMS):
            read_text(path)  # refuses the byte-order mark
        raw.seek(0)
        try:
            for line in io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""):
                if "\x00" in line:
                    raise _nul_error(path, read_text(path))
                yield line
        except UnicodeDecodeError:
            read_text(path)  # refuses the first byte that is not UTF-8, with its row and column
            raise  # pragma: no cover (read_text refused it)


WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
"""Files read as workbooks (their first sheet), not as CSV text."""


def is_workbook(path: str | Path) -> bool:
    return Path(path).suffix.lower() in WORKBOOK_SUFFIXES


def _csv_reader(path: str | Path):
    """The `csv.reader` of a CSV file's text, as every reading of one reads it (its refusals
    `csv.Error`: `_csv_rows` says them with the row)."""
    csv.field_size_limit(MAX_FIELD)
    return csv.reader(_text_lines(path), strict=True)


def _csv_rows(path: str | Path):
    """(row number, cells) of a CSV file, the header first (row 1). A cell that spans lines
    counts them: row numbers are the file's line numbers, as a spreadsheet shows them."""
    reader = _csv_reader(path)
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CsvError(f"{path}: row {start}: {_csv_problem(exc)}") from None
        yield start, cells


SHEET_ERRORS = frozenset(("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
                          "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!"))
"""What a workbook cell shows when its formula failed: the value pasted over a broken lookup."""


def _as_excel_shows(value: float) -> Decimal:
    """A number a workbook keeps as binary, to the 15 significant digits Excel holds, shows
    and writes to its CSV: 0.1 + 0.2 computed in a cell and pasted as a value is kept as
    0.30000000000000004, which Excel shows, and saves as CSV, as 0.3 (it was refused as
    having more than 6 decimals). Every number typed with 15 significant digits or fewer
    reads back as typed (a double holds 15 decimal digits exactly), and Excel keeps no more."""
    return Decimal(format(value, ".15g"))


def _sheet_cell(path, row: int, column: str, value, percent: bool = False, holds: str | None = None) -> str:
    """A workbook cell as the text a CSV cell would hold: numbers as Excel shows them (a
    whole number without a point; a fraction to 15 significant digits, `_as_excel_shows`,
    which is what was typed), dates ISO, a formula refused (its value is not in the file
    for sure: a workbook written by a program holds none), an error value (#N/A) refused.
    A number in a cell formatted as a percentage is the text Excel's CSV holds of it
    ("10%" for the 0.1 the cell keeps), never the 0.1 read as 0.1 percent. In a column that
    `holds` NUMBER, a text cell written as Dutch thousands ("1.000") is refused
    (`_refuse_dutch_thousands`); in one that holds a CODE, a date (`_refuse_date_for_code`)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if percent and isinstance(value, (int, float)) and math.isfinite(value):
        return f"{(_as_excel_shows(value) * 100).normalize():f}%"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):  # what the sheet holds; read on as text, into a Decimal, never computed with
        if not math.isfinite(value):
            return repr(value)
        if abs(value) >= 1e15:  # past what Excel holds digit for digit: as Python reads it, refused as too long
            return repr(value)
        return f"{_as_excel_shows(value):f}"
    if isinstance(value, dt.datetime):
        shown = value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
        if holds == CODE:
            _refuse_date_for_code(path, row, column, shown)
        return shown
    if isinstance(value, dt.date):
        if holds == CODE:
            _refuse_date_for_code(path, row, column, value.isoformat())
        return value.isoformat()
    if isinstance(value, dt.time):
        if holds == CODE:  # "10:30" typed as a code becomes a time
            raise CsvError(f"{path}: row {row}, column {column}: holds a time ({value.isoformat()}), which Excel makes of "
                           f"codes such as 10:30: format the column as text and type the codes again")
        return value.isoformat()
    if not isinstance(value, str):
        from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula
        if isinstance(value, (ArrayFormula, DataTableFormula)):  # {=...}, as Excel 365 saves most formulas; a data table
            _refuse_formula(path, row, column, _printable(str(value.text)[:40]) if isinstance(value, ArrayFormula) else "a data table")
        return str(value)  # a duration ([h]:mm), read on as text and refused where a number or date is wanted
    text = value
    if text.startswith("=") and len(text) > 1:
        _refuse_formula(path, row, column, _printable(text[:40]))
    if text in SHEET_ERRORS:
        raise CsvError(f"{path}: row {row}, column {column}: holds the error {text}, not a value: "
                       f"correct the formula it came from, paste its value, then save")
    if holds == NUMBER:
        _refuse_dutch_thousands(path, row, column, text)
    return text


def _refuse_formula(path, row: int, column: str, shown: str) -> None:
    """A cell holding a formula (`shown`: its text, or "a data table"), saved as one whether
    Excel kept it as text ("=H2-1") or as an array formula ({=...}): its value is wanted."""
    raise CsvError(f"{path}: row {row}, column {column}: holds a formula ({shown}): copy it and paste its value, then save")


def _refuse_date_for_code(path, row: int, column: str, shown: str) -> None:
    """A date cell in a code column: Excel makes a date of a code typed as 2026-05 or 1-5 (the
    first of May), and its text ("2026-05-01") were silently another code."""
    raise CsvError(f"{path}: row {row}, column {column}: holds a date ({shown}), which Excel makes of codes such as "
                   f"2026-05 or 1-5: format the column as text and type the codes again")


_DUTCH_THOUSANDS = re.compile(r"([+-]?)([1-9][0-9]{0,2}(?:\.[0-9]{3})+)").fullmatch
"""A number written with points between groups of three digits, as Dutch (and Belgian)
settings write thousands: "1.000", "12.500", "1.000.000". A leading 0 ("0.125") or another
count of digits after a point ("1.5", "1234.567") is no such grouping."""


def _refuse_dutch_thousands(path, row: int, column: str, text: str) -> None:
    """A text cell of a number column that reads as two numbers: "1.000" is 1 read with a decimal
    point, the way pledger reads it, and 1000 under Dutch settings, where the point groups
    thousands. A number cell holds one number, whatever it shows: only text is ambiguous."""
    grouped = _DUTCH_THOUSANDS(text.strip())
    if not grouped:
        return
    sign, digits = grouped.groups()
    thousands = sign + digits.replace(".", "")
    shown = _printable(text.strip())
    if digits.count(".") > 1:  # no decimal number at all
        raise CsvError(f"{path}: row {row}, column {column}: '{shown}' in a text cell is written with Dutch thousands "
                       f"separators: type it as a number, or write {thousands}")
    point = sign + format(Decimal(digits).normalize(), "f")
    raise CsvError(f"{path}: row {row}, column {column}: '{shown}' in a text cell could be {point} or {thousands} (a Dutch "
                   f"thousands separator): type it as a number, or write {point} or {thousands}")


_QUOTED = re.compile(r'"[^"]*"|\\.')


def _percent_styles(book) -> frozenset[int] | None:
    """The workbook's cell styles whose number format shows a percentage (a '%' not
    quoted or escaped in it); None where the workbook's styles cannot be read (every
    cell's format is then looked at)."""
    try:
        from openpyxl.styles.numbers import BUILTIN_FORMATS, BUILTIN_FORMATS_MAX_SIZE
        styles, custom = book._cell_styles, book._number_formats
        found = set()
        for index, style in enumerate(styles):
            fmt_id = style.numFmtId
            fmt = BUILTIN_FORMATS.get(fmt_id, "") if fmt_id < BUILTIN_FORMATS_MAX_SIZE else custom[fmt_id - BUILTIN_FORMATS_MAX_SIZE]
            if "%" in _QUOTED.sub("", fmt or ""):
                found.add(index)
        return frozenset(found)
    except (AttributeError, IndexError, TypeError):  # pragma: no cover - another openpyxl than 3.1
        return None


def _is_percent(cell) -> bool:
    fmt = getattr(cell, "number_format", None)
    return bool(fmt) and "%" in _QUOTED.sub("", fmt)


_SHEET_MARKS = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?mergeCell\b|\bhidden=[\"'](?:1|true)[\"']")
"""What a sheet's XML holds where some of its cells are merged or some rows or columns
hidden: looked for in its bytes first (a quick pass), the sheet parsed for them only where
it is found."""


@dataclass(frozen=True)
class _Merge:
    ref: str
    min_row: int
    min_col: int
    max_row: int


@dataclass(frozen=True)
class _Marks:
    merges: tuple[_Merge, ...] = ()
    hidden_rows: frozenset[int] = frozenset()
    hidden_columns: frozenset[int] = frozenset()  # numbered from 1


def _sheet_marks(book, sheet) -> _Marks:
    """What read-only mode does not read of a sheet: its merged ranges (a workbook keeps
    a merged range's value in its first cell only, the others are empty in the file while
    the user sees the value over all of them), and its hidden rows and columns (filtered
    out, or hidden: values the user does not see)."""
    archive, part = getattr(book, "_archive", None), getattr(sheet, "_worksheet_path", None)
    if archive is None or part is None:  # pragma: no cover - another openpyxl than 3.1
        return _Marks()
    with archive.open(part) as source:
        tail, found = b"", False
        for block in iter(lambda: source.read(1 << 20), b""):
            if _SHEET_MARKS.search(tail + block[:64]) or (  # a mark cut in two by a block's end, or one inside
                    (b"mergeCell" in block or b"hidden" in block) and _SHEET_MARKS.search(block)):
                found = True
                break
            tail = block[-64:]
    if not found:
        return _Marks()
    from xml.etree.ElementTree import iterparse
    from openpyxl.utils.cell import range_boundaries
    merges, rows, columns = [], set(), set()
    row = 0
    with archive.open(part) as source:
        for _, element in iterparse(source):
            tag = element.tag.rsplit("}", 1)[-1]
            if tag == "mergeCell" and element.get("ref"):
                ref = element.get("ref")
                min_col, min_row, _, max_row = range_boundaries(ref)
                merges.append(_Merge(ref, min_row or 1, min_col or 1, max_row or 1_048_576))  # "A:A", "2:3": whole ones
            elif tag == "row":
                row = int(element.get("r") or row + 1)
                if element.get("hidden") in ("1", "true"):
                    rows.add(row)
                element.clear()
            elif tag == "col" and element.get("hidden") in ("1", "true"):
                first, last = int(element.get("min", 0)), int(element.get("max", 0))
                columns.update(range(first, min(last, 16_384) + 1))
    return _Marks(tuple(merges), frozenset(rows), frozenset(columns))


def _sheet_rows(path: str | Path, hidden_rows: bool = False, holds: dict[str, str] | None = None):
    """(row number, cells) of a workbook's first sheet, the header first: as `_csv_rows`
    gives a CSV file's, read as the sheet streams (openpyxl's read-only mode). A hidden
    row holding values is refused unless `hidden_rows` (`iter_rows`). `holds`: column name ->
    what it holds (`Field.holds`), for the cells refused for their type in it (`_sheet_cell`)."""
    try:
        from openpyxl import load_workbook
        from openpyxl.utils.exceptions import InvalidFileException
    except ImportError:  # pragma: no cover - a dependency of the package
        raise CsvError(f"{path}: reading a workbook needs openpyxl (pip install openpyxl), or save it as CSV") from None
    try:
        book = load_workbook(path, read_only=True, data_only=False)
    except OSError as exc:
        raise cannot_read(path, exc) from None
    except (InvalidFileException, KeyError, ValueError, SyntaxError, zipfile.BadZipFile) as exc:  # SyntaxError: XML cut short
        raise _unreadable(path, f"is not an Excel workbook that can be read ({exc.__class__.__name__})") from None
    number = 0
    try:
        if not book.worksheets:  # its only sheet's part missing (openpyxl leaves it out), or only chart sheets
            raise _unreadable(path, "the workbook holds no sheet to read")
        sheet = book.worksheets[0]
        if getattr(sheet, "sheet_state", "visible") != "visible":  # hidden or very hidden: not what the user sees first
            raise CsvError(f"{path}: the first sheet ('{_printable(sheet.title)}') is hidden: pledger reads a workbook's first "
                           f"sheet; unhide it, or move the sheet to import to the front")
        _refuse_another_sheet_shown(path, book, sheet)
        # the cells as the sheet holds them, not as far as its stored dimension says: a workbook written by
        # another program may state a smaller one ("A1", "A1:G3"), which cut off its last rows and columns
        sheet.reset_dimensions()
        merged: dict[int, list[_Merge]] = {}
        marks = _sheet_marks(book, sheet)
        for merge in marks.merges:
            if merge.max_row >= 2:  # over the rows read (a title merged in the header row alone is its own business)
                merged.setdefault(merge.min_row, []).append(merge)
        names: list[str] = []
        kinds: list[str | None] = []  # per column, what it holds (`holds`), once the header is read
        width = 0
        if _percent_styles(book) == frozenset():  # the usual workbook: no cell shows a percentage, values are read alone
            rows = ((v, False) for v in sheet.iter_rows(values_only=True))
        else:  # some style shows a percentage: each cell's format is looked at (slower)
            rows = ((tuple(c.value for c in cells), tuple(_is_percent(c) for c in cells)) for cells in sheet.iter_rows())
        for number, (cells, percents) in enumerate(rows, start=1):
            if number == 1:
                width = len(cells)
            elif len(cells) > width:  # rows are as long as their last cell: an empty cell past the header's is nothing
                beyond = next((i for i in range(width, len(cells)) if cells[i] is not None and cells[i] != ""), None)
                if beyond is not None:
                    raise CsvError(f"{path}: row {number}, column {beyond + 1}: a value under a column with no name in "
                                   f"the header")
                cells = cells[:width]
            row = [_sheet_cell(path, number, names[i] if i < len(names) and names[i] else str(i + 1), v,
                               percents[i] if percents else False, kinds[i] if i < len(kinds) else None)
                   for i, v in enumerate(cells)]
            if number == 1:
                names = [name.strip() for name in row]
                kinds = [holds.get(name) for name in names] if holds else []
                hidden = next((i for i, name in enumerate(names) if name and i + 1 in marks.hidden_columns), None)
                if hidden is not None:
                    raise CsvError(f"{path}: row 1, column {names[hidden]} is hidden: pledger imports every column, "
                                   f"seen or not; unhide it, or delete it")
            elif not hidden_rows and number in marks.hidden_rows and any(cell.strip() for cell in row):
                raise CsvError(f"{path}: row {number} is hidden (or filtered out) and holds values: pledger imports "
                               f"every row, seen or not; unhide it, or delete it")
            for merge in merged.get(number, ()):
                i = merge.min_col - 1
                if i < len(row) and row[i].strip():
                    name = names[i] if i < len(names) and names[i] else str(i + 1)
                    raise CsvError(f"{path}: row {number}, column {name}: cells {merge.ref} are merged, and a workbook "
                                   f"keeps a merged cell's value in its first cell only: unmerge them and fill in every cell")
            yield number, row
    except (KeyError, ValueError, SyntaxError, zipfile.BadZipFile) as exc:  # read as the sheet streams: a damaged
        # part, or a cell another program wrote as Excel does not ("<v>21,5</v>"); CsvError is none of these. A cell's
        # value fails on the row after the last one read; XML cut short fails where the parser's buffer ends
        at = "" if isinstance(exc, SyntaxError) else f", at row {number + 1}"
        raise _unreadable(path, f"is not an Excel workbook that can be read ({exc.__class__.__name__}{at})") from None
    finally:
        book.close()


def _refuse_another_sheet_shown(path, book, first) -> None:
    """A workbook saved showing another sheet than the first, `first` (the one read): refused
    where a sheet besides the first holds a value, as the user may mean that one; a workbook
    whose other sheets are empty, or saved showing its first, is read as it stands."""
    shown = book.active  # the sheet shown when the workbook was saved (its view's active tab)
    if shown is None or shown is first:
        return
    others = [shown, *(s for s in book.worksheets if s is not first and s is not shown)]
    if any(_holds_values(other) for other in others):
        raise CsvError(f"{path}: the workbook was saved showing sheet '{_printable(shown.title)}', but pledger reads the "
                       f"first sheet, '{_printable(first.title)}': move the sheet to import to the front, or save it as "
                       f"a workbook of its own")


def _holds_values(sheet) -> bool:
    """Whether a sheet holds a value in some cell (a chart sheet holds none; formatted empty cells are nothing)."""
    if not hasattr(sheet, "iter_rows"):  # a chart sheet
        return False
    sheet.reset_dimensions()  # its cells, whatever dimension it states
    return any(v is not None and v != "" for row in sheet.iter_rows(values_only=True) for v in row)


def _unreadable(path, why: str) -> CsvError:
    """A workbook pledger cannot read, and what to do: save it again."""
    return CsvError(f"{path}: {why}: save it again as .xlsx, or as 'CSV UTF-8 (comma delimited)'")


def _rows_of(path: str | Path, hidden_rows: bool = False, holds: dict[str, str] | None = None):
    if (why := not_a_file(path)) is not None:  # a pipe failed as "internal error": not seekable
        raise CsvError(why)
    return _sheet_rows(path, hidden_rows, holds) if is_workbook(path) else _csv_rows(path)


def _cells_of(path: str | Path):
    """The cells of each row, the header first, as `_rows_of` gives them without their row numbers
    (a CSV file's straight from its reader: a refusal raises `csv.Error`, not `CsvError`)."""
    if (why := not_a_file(path)) is not None:
        raise CsvError(why)
    if is_workbook(path):
        return (cells for _, cells in _sheet_rows(path, False, None))
    return _csv_reader(path)


def count_rows(path: str | Path) -> int:
    """About how many rows a file holds under its header (its line breaks), for a progress bar."""
    if is_workbook(path):
        return 0  # a workbook's rows are not counted ahead: no bar's total
    try:
        with open(path, "rb") as raw:
            return max(0, sum(block.count(b"\n") for block in iter(lambda: raw.read(1 << 20), b"")) - 1)
    except OSError:
        return 0


def scattered(path: str | Path, field: Field) -> dict | None:
    """Where a file's documents are not each in one run of rows (CLI.md: rows sharing the
    first column form one document, wherever they stand): each document's value of `field`
    -> its rank in the order the documents first appear; None where every document's rows
    stand together (the usual file, read as it streams). A quick pass over that one column;
    a file it cannot read from some row on is left to `iter_rows`, which names the row and
    the column: in the order of the documents seen before that row, so that the refusal is
    that row's, never a document apart (which is allowed)."""
    first: dict = {}
    apart = False
    try:
        reader = _cells_of(path)
        header = [h.strip() for h in next(reader)]
        column = header.index(field.name)
        current = None
        for cells in reader:
            raw = cells[column].strip() if column < len(cells) else ""
            if raw == current:
                continue  # the next row of the same document: most rows
            if not raw:
                if all(not c.strip() for c in cells):
                    continue  # a blank row, as `iter_rows` skips it
                break  # `iter_rows` refuses it
            key = field.parse(raw)
            if key in first:
                apart = True
            else:
                first[key] = len(first)
            current = raw
    except (CsvError, csv.Error, ValueError, StopIteration, PledgerError):
        pass  # `iter_rows` refuses it, naming its row and column: what was seen before it still says where documents are
    return first if apart else None


def read_rows(path: str | Path, fields: list[Field], *, nothing: str = "nothing to import",
              hidden_rows: bool = False) -> list[tuple[int, dict]]:
    """Parse every row; returns (row number, values). Refuses the whole file on any error,
    and a file without rows, saying `nothing` ("nothing to import")."""
    return list(iter_rows(path, fields, nothing=nothing, hidden_rows=hidden_rows))


def iter_rows(path: str | Path, fields: list[Field], *, nothing: str = "nothing to import", hidden_rows: bool = False):
    """Parse the rows one by one as the file is read; yields (row number, values).

    The header is checked before the first row is given. A bad row raises `CsvError`
    when it is reached; callers that write as they read do so inside one transaction,
    so a refusal anywhere in the file still writes nothing.

    A workbook's hidden (or filtered-out) row holding values is refused: imported, it were
    a document no one saw. `hidden_rows` reads it as the others, for a file whose rows left
    as written change nothing (the close-out edits: a proposal filtered to some suppliers).
    """
    reader = _rows_of(path, hidden_rows, {f.name: f.holds for f in fields if f.holds})
    expected = ", ".join(f.name for f in fields if f.required)
    try:
        _, header = next(reader)
    except StopIteration:
        raise CsvError(f"{path}: the file is empty; expected a header row with {expected}") from None
    header = [h.strip() for h in header]
    if not any(header):
        raise CsvError(f"{path}: row 1 is empty; expected a header row with {expected}")
    if len(header) == 1 and ";" in header[0]:
        raise CsvError(f"{path}: row 1 is separated by ';': pledger reads comma-separated files with a decimal point "
                       f"(Excel with Dutch or Belgian settings saves ';' and decimal commas: save it from LibreOffice with "
                       f"field delimiter ',', or set Windows' list separator to ',' and decimal symbol to '.'; or save it "
                       f"as an Excel workbook (.xlsx) and give that: pledger reads its cells as numbers, whatever the settings)")
    dupes = sorted({h for h in header if header.count(h) > 1 and h})
    if dupes:
        raise CsvError(f"{path}: row 1: column {dupes[0]} appears twice")
    missing = [f.name for f in fields if f.required and f.name not in header]
    # a column of ours in capitals ("Code"), where the file has none in lower case: one beside
    # its lower-case namesake is a column of its own, refused below as unknown
    cased = [(h, h.lower()) for h in header if h != h.lower() and h.lower() in {f.name for f in fields}
             and h.lower() not in header]
    if cased:
        raise CsvError(f"{path}: row 1: column names are lower case: write {cased[0][1]}, not {cased[0][0]}")
    if len(header) == 1 and "\t" in header[0]:
        raise CsvError(f"{path}: row 1 is separated by tabs: pledger reads comma-separated files; "
                       f"save it as 'CSV UTF-8 (comma delimited)'")
    if missing:
        shown = ", ".join(h if len(h) <= 40 else h[:37] + "..." for h in header)
        raise CsvError(f"{path}: row 1: missing {'column' if len(missing) == 1 else 'columns'} {', '.join(missing)}; the header is {shown}")
    known = {f.name for f in fields}
    unknown = [h for h in header if h and h not in known]
    if unknown:
        shown = unknown[0] if len(unknown[0]) <= 40 else unknown[0][:37] + "..."
        raise CsvError(f"{path}: row 1: unknown column '{shown}'; the columns are {', '.join(f.name for f in fields)}")
    index = {name: i for i, name in enumerate(header) if name}
    unnamed = [i for i, name in enumerate(header) if not name]
    # per field in the header, worked out once: (name, its cell's index, parser, whether a blank
    # is refused, the value of a blank); a field not in the header is optional (a required one
    # was refused above) and takes its blank value on every row
    plan = [(f.name, index[f.name], f.parse, f.required and not f.allow_blank, f.blank) for f in fields if f.name in index]
    absent = {f.name: f.blank for f in fields if f.name not in index}
    given = 0
    for row_no, cells in reader:
        if not cells or (not cells[0].strip() and all(not c.strip() for c in cells)):
            continue
        if len(cells) > len(header):
            raise CsvError(f"{path}: row {row_no}: {len(cells)} values for {len(header)} columns (a ';' or an unquoted comma?)")
        if len(cells) < len(header) and ";" in cells[0]:  # "1,5" in it split it at its decimal comma
            raise CsvError(f"{path}: row {row_no} is separated by ';': pledger reads comma-separated files")
        for i in unnamed:
            if i < len(cells) and cells[i].strip():
                raise CsvError(f"{path}: row {row_no}, column {i + 1}: a value under a column with no name in the header")
        values = absent.copy()
        width = len(cells)
        for name, i, parse, needed, blank in plan:
            raw = cells[i].strip() if i < width else ""
            if raw == "":
                if needed:
                    raise CsvError(f"{path}: row {row_no}, column {name}: a value is required")
                values[name] = blank
                continue
            try:
                values[name] = parse(raw)
            except ValueError as exc:
                shown = raw if len(raw) <= 40 else raw[:37] + "..."
                raise CsvError(f"{path}: row {row_no}, column {name}: '{_printable(shown)}' {exc}") from None
        given += 1
        yield row_no, values
    if not given:
        raise CsvError(f"{path}: no rows under the header: {nothing}")


def _printable(value: str) -> str:
    """A value as it may be quoted in a one-line message: control characters escaped."""
    value = value.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")  # before the others: \r is one
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
