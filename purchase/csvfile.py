"""Reading a CSV file whole or not at all, with errors that name the row, column and value.

UTF-8 with or without BOM, comma separated, a decimal point. Row numbers are the file's
line numbers as a spreadsheet shows them (the header is row 1). Every row is parsed
before anything is written; the first bad value refuses the whole file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Callable

from ledger.errors import PledgerError
from ledger.money import D, MoneyError

MAX_FIELD = 10_000


class CsvError(PledgerError):
    pass


@dataclass(frozen=True)
class Field:
    name: str
    parse: Callable[[str], object]
    required: bool = True  # the column must be in the header
    blank: object = None  # value when the cell is empty; a required cell may not be empty unless given
    allow_blank: bool = False


def text(value: str) -> str:
    if len(value) > 255:
        raise ValueError("is longer than 255 characters")
    return value


def code(value: str) -> str:
    if len(value) > 64:
        raise ValueError("is longer than 64 characters")
    if any(ch in value for ch in "\r\n\t"):
        raise ValueError("holds a line break or tab")
    return value


def decimal(value: str) -> Decimal:
    try:
        number = D(value)
    except MoneyError:
        raise ValueError("is not a decimal number (write it with a point, no thousands separator: 1234.56)") from None
    if abs(number) >= Decimal(10) ** 12:
        raise ValueError("is too large")
    return number


def quantity(value: str) -> Decimal:
    number = decimal(value)
    if number != number.quantize(Decimal("0.000001")):
        raise ValueError("has more than 6 decimals")
    return number


def price(value: str) -> Decimal:
    return quantity(value)


def percent(value: str) -> Decimal:
    number = decimal(value)
    if number < 0 or number > 100:
        raise ValueError("is not a percentage between 0 and 100")
    return number


def integer(value: str) -> int:
    if not re.fullmatch(r"\d{1,9}", value):
        raise ValueError("is not a whole number")
    return int(value)


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


def read_text(path: str | Path) -> str:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise CsvError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CsvError(f"{path}: row {line} is not UTF-8 (byte {exc.start}); save the file as UTF-8") from None


def read_rows(path: str | Path, fields: list[Field]) -> list[tuple[int, dict]]:
    """Parse every row; returns (row number, values). Refuses the whole file on any error."""
    content = read_text(path)
    if "\x00" in content:
        raise CsvError(f"{path}: holds NUL characters; it is not a CSV text file")
    csv.field_size_limit(MAX_FIELD)
    reader = csv.reader(io.StringIO(content, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise CsvError(f"{path}: the file is empty; expected a header row with {', '.join(f.name for f in fields if f.required)}") from None
    except csv.Error as exc:
        raise CsvError(f"{path}: row 1: {exc}") from None
    header = [h.strip() for h in header]
    if len(header) == 1 and ";" in header[0]:
        raise CsvError(f"{path}: row 1 is separated by ';': pledger reads comma-separated files")
    dupes = sorted({h for h in header if header.count(h) > 1 and h})
    if dupes:
        raise CsvError(f"{path}: row 1: column {dupes[0]} appears twice")
    missing = [f.name for f in fields if f.required and f.name not in header]
    if missing:
        raise CsvError(f"{path}: row 1: missing column(s) {', '.join(missing)}; the header is {', '.join(header)}")
    index = {name: i for i, name in enumerate(header)}
    rows: list[tuple[int, dict]] = []
    row_no = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise CsvError(f"{path}: row {reader.line_num}: {exc}") from None
        row_no = reader.line_num
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            raise CsvError(f"{path}: row {row_no}: {len(cells)} values for {len(header)} columns (a ';' or an unquoted comma?)")
        values = {}
        for f in fields:
            i = index.get(f.name)
            raw = cells[i].strip() if i is not None and i < len(cells) else ""
            if raw == "":
                if f.required and not f.allow_blank:
                    raise CsvError(f"{path}: row {row_no}, column {f.name}: a value is required")
                values[f.name] = f.blank
                continue
            try:
                values[f.name] = f.parse(raw)
            except ValueError as exc:
                shown = raw if len(raw) <= 40 else raw[:37] + "..."
                raise CsvError(f"{path}: row {row_no}, column {f.name}: '{shown}' {exc}") from None
        rows.append((row_no, values))
    if not rows:
        raise CsvError(f"{path}: no rows under the header: nothing to import")
    return rows
