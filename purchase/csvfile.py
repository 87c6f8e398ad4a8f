"""Reading a CSV file row by row, all or nothing, with errors that name the row, column and value.

UTF-8 with or without BOM, comma separated, a decimal point. Row numbers are the file's
line numbers as a spreadsheet shows them (the header is row 1). Rows are parsed as the
file is read (`iter_rows`), so a file of a million rows is never held whole; the first
bad value refuses the whole file (its reader works in one transaction and writes nothing).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Callable

from ledger.errors import PledgerError
from ledger.money import D, MoneyError, currency_code
from ledger.types import QUANTITY_SCALE, fits

MAX_FIELD = 10_000
CACHED = 65_536  # parsed cells remembered: a book repeats its codes, dates and quantities


class CsvError(PledgerError):
    pass


@dataclass(frozen=True)
class Field:
    name: str
    parse: Callable[[str], object]
    required: bool = True  # the column must be in the header
    blank: object = None  # value when the cell is empty; a required cell may not be empty unless given
    allow_blank: bool = False


FORMULA_STARTS = ("=", "+", "-", "@")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@lru_cache(maxsize=CACHED)
def text(value: str) -> str:
    if len(value) > 255:
        raise ValueError("is longer than 255 characters")
    control = _LINE_CONTROL.search(value)
    if control:
        what = "a line break" if control.group() in "\r\n" else f"a control character (U+{ord(control.group()):04X})"
        raise ValueError(f"holds {what}; a name or description is one line of text")
    return value


@lru_cache(maxsize=CACHED)
def code(value: str) -> str:
    if len(value) > 64:
        raise ValueError("is longer than 64 characters")
    if any(ch in value for ch in "\r\n\t"):
        raise ValueError("holds a line break or tab")
    control = _CONTROL.search(value)
    if control:
        raise ValueError(f"holds a control character (U+{ord(control.group()):04X})")
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
        raise ValueError("is too large")
    return number


_PLAIN_QUANTITY = re.compile(r"[0-9]{1,12}(?:\.[0-9]{0,%d})?" % QUANTITY_SCALE).fullmatch
"""Digits and a point, at most 12 before it and QUANTITY_SCALE after: a quantity `decimal`
and `fits` take as it is (most cells of an order, receipt or invoice file)."""


@lru_cache(maxsize=CACHED)
def quantity(value: str) -> Decimal:
    if _PLAIN_QUANTITY(value):
        return Decimal(value)
    number = decimal(value)
    if not fits(number, QUANTITY_SCALE):
        raise ValueError(f"has more than {QUANTITY_SCALE} decimals")
    return number


def price(value: str) -> Decimal:
    return quantity(value)


def non_negative(value: str) -> Decimal:
    number = quantity(value)
    if number < 0:
        raise ValueError("is below zero")
    return number


@lru_cache(maxsize=CACHED)
def percent(value: str) -> Decimal:
    number = decimal(value)
    if number < 0 or number > 100:
        raise ValueError("is not a percentage between 0 and 100")
    return number


@lru_cache(maxsize=CACHED)
def integer(value: str) -> int:
    if not re.fullmatch(r"\d{1,9}", value):
        raise ValueError("is not a whole number")
    return int(value)


@lru_cache(maxsize=CACHED)
def date(value: str) -> dt.date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("is not a date (write YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError("is not a date that exists") from None


def boolean(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "yes", "1", "y"):
        return True
    if lowered in ("false", "no", "0", "n"):
        return False
    raise ValueError("is not true or false")


UTF16_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


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


def read_text(path: str | Path) -> str:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise CsvError(f"cannot read {path}: {exc.strerror or exc}") from None
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
        raise CsvError(f"cannot read {path}: {exc.strerror or exc}") from None
    with raw:
        if raw.read(4).startswith(UTF16_BOMS):
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


def count_rows(path: str | Path) -> int:
    """About how many rows a file holds under its header (its line breaks), for a progress bar."""
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
    a file it cannot read is left to `iter_rows`, which names the row and the column."""
    try:
        reader = csv.reader(_text_lines(path), strict=True)
        header = [h.strip() for h in next(reader)]
        column = header.index(field.name)
        first: dict = {}
        current, apart = None, False
        for cells in reader:
            raw = cells[column].strip() if column < len(cells) else ""
            if raw == current:
                continue  # the next row of the same document: most rows
            if not raw:
                if all(not c.strip() for c in cells):
                    continue  # a blank row, as `iter_rows` skips it
                return None  # `iter_rows` refuses it
            key = field.parse(raw)
            if key in first:
                apart = True
            else:
                first[key] = len(first)
            current = raw
        return first if apart else None
    except (CsvError, csv.Error, ValueError, StopIteration, PledgerError):
        return None


def read_rows(path: str | Path, fields: list[Field], *, nothing: str = "nothing to import") -> list[tuple[int, dict]]:
    """Parse every row; returns (row number, values). Refuses the whole file on any error,
    and a file without rows, saying `nothing` ("nothing to import")."""
    return list(iter_rows(path, fields, nothing=nothing))


def iter_rows(path: str | Path, fields: list[Field], *, nothing: str = "nothing to import"):
    """Parse the rows one by one as the file is read; yields (row number, values).

    The header is checked before the first row is given. A bad row raises `CsvError`
    when it is reached; callers that write as they read do so inside one transaction,
    so a refusal anywhere in the file still writes nothing.
    """
    lines = _text_lines(path)
    csv.field_size_limit(MAX_FIELD)
    reader = csv.reader(lines, strict=True)
    expected = ", ".join(f.name for f in fields if f.required)
    try:
        header = next(reader)
    except StopIteration:
        raise CsvError(f"{path}: the file is empty; expected a header row with {expected}") from None
    except csv.Error as exc:
        raise CsvError(f"{path}: row 1: {_csv_problem(exc)}") from None
    header = [h.strip() for h in header]
    if not any(header):
        raise CsvError(f"{path}: row 1 is empty; expected a header row with {expected}")
    if len(header) == 1 and ";" in header[0]:
        raise CsvError(f"{path}: row 1 is separated by ';': pledger reads comma-separated files")
    dupes = sorted({h for h in header if header.count(h) > 1 and h})
    if dupes:
        raise CsvError(f"{path}: row 1: column {dupes[0]} appears twice")
    missing = [f.name for f in fields if f.required and f.name not in header]
    if missing:
        shown = ", ".join(h if len(h) <= 40 else h[:37] + "..." for h in header)
        raise CsvError(f"{path}: row 1: missing column(s) {', '.join(missing)}; the header is {shown}")
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
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise CsvError(f"{path}: row {start}: {_csv_problem(exc)}") from None
        row_no = start
        if not cells or (not cells[0].strip() and all(not c.strip() for c in cells)):
            continue
        if len(cells) > len(header):
            raise CsvError(f"{path}: row {row_no}: {len(cells)} values for {len(header)} columns (a ';' or an unquoted comma?)")
        if len(cells) == 1 and len(header) > 1 and ";" in cells[0]:
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
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value).replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
