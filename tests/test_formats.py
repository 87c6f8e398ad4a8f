"""cli.formats: one table, every output format; exact numbers and formula-safe cells."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from cli import formats
from tests.pdftext import page_texts
from cli.formats import (
    Column,
    FormatError,
    Table,
    fmt_amount,
    fmt_quantity,
    render_csv,
    render_text,
    write_csv,
    write_pdf,
    write_table_file,
    write_xlsx,
)

COLUMNS = [
    Column("order", "Order"),
    Column("line", "Line", "int"),
    Column("date", "Date", "date"),
    Column("supplier", "Supplier"),
    Column("amount", "Amount", "amount"),
    Column("quantity", "Quantity", "quantity"),
]


def posting_table(**overrides) -> Table:
    rows = [
        {"order": "PO-1", "line": 1, "date": date(2026, 11, 30), "supplier": "ACME",
         "amount": Decimal("1270.50"), "quantity": Decimal("0.333333")},
        {"order": "PO-2", "line": 12, "date": date(2026, 12, 1), "supplier": "Müller GmbH",
         "amount": Decimal("-5.00"), "quantity": Decimal("10.000")},
        {"order": "PO-3", "line": 3, "date": None, "supplier": None,
         "amount": None, "quantity": Decimal("2.50")},
    ]
    values = {
        "title": "Posting report (trial)",
        "columns": COLUMNS,
        "rows": rows,
        "totals": {"amount": Decimal("1265.50")},
        "subtitle": "Close-out on 2026-11-30 by ann, threshold € 1000.00",
    }
    values.update(overrides)
    return Table(**values)


def hostile_table() -> Table:
    """Text a spreadsheet would run as a formula, next to a negative amount."""
    return Table(
        title="Hostile",
        columns=[Column("supplier", "Supplier"), Column("amount", "Amount", "amount")],
        rows=[
            {"supplier": "=HYPERLINK(\"http://x\",\"click\")", "amount": Decimal("-12.30")},
            {"supplier": "+31 20 123", "amount": Decimal("1.00")},
            {"supplier": "-minus", "amount": Decimal("0.00")},
            {"supplier": "@SUM(A1)", "amount": Decimal("2.00")},
            {"supplier": "\tTabbed", "amount": Decimal("3.00")},
            {"supplier": "plain", "amount": Decimal("4.00")},
        ],
    )


# --- value formatting --------------------------------------------------------------------


def test_amounts_keep_their_own_exponent_and_quantities_are_normalised():
    assert fmt_amount(Decimal("1000.00")) == "1000.00"
    assert fmt_amount(Decimal("-0.10")) == "-0.10"
    assert fmt_quantity(Decimal("2.500")) == "2.5"
    assert fmt_quantity(Decimal("10.000")) == "10"
    assert fmt_quantity(Decimal("0.000")) == "0"


def test_the_module_never_uses_binary_floating_point():
    source = Path(formats.__file__).read_text(encoding="utf-8")
    assert "float" not in source


# --- text --------------------------------------------------------------------------------


def test_render_text_shows_exact_numbers_right_aligned():
    text = render_text(posting_table())
    lines = text.splitlines()

    assert "1270.50" in text
    assert "0.333333" in text
    assert "10" in lines[3] and "10.000" not in text
    header, rule = lines[0], lines[1]
    assert header.split() == ["Order", "Line", "Date", "Supplier", "Amount", "Quantity"]
    # Right-aligned: every amount ends in the same column as the "Amount" header.
    amount_end = header.index("Amount") + len("Amount")
    assert lines[2][:amount_end].endswith("1270.50")
    assert lines[3][:amount_end].endswith("-5.00")
    quantity_end = header.index("Quantity") + len("Quantity")
    assert lines[2][:quantity_end].endswith("0.333333")
    assert len(rule) >= quantity_end


def test_render_text_puts_the_totals_last_under_a_rule():
    lines = render_text(posting_table()).splitlines()

    assert set(lines[-2].replace(" ", "")) == {"-"}
    assert lines[-1].startswith("Total")
    assert "1265.50" in lines[-1]


# --- CSV ---------------------------------------------------------------------------------


def test_csv_round_trips_with_exact_strings_and_iso_dates():
    rows = list(csv.DictReader(io.StringIO(render_csv(posting_table(totals=None)))))

    assert list(rows[0]) == ["order", "line", "date", "supplier", "amount", "quantity"]
    assert rows[0] == {"order": "PO-1", "line": "1", "date": "2026-11-30", "supplier": "ACME",
                       "amount": "1270.50", "quantity": "0.333333"}
    assert rows[1]["supplier"] == "Müller GmbH"
    assert rows[1]["amount"] == "-5.00"
    assert rows[1]["quantity"] == "10"
    assert rows[2]["date"] == "" and rows[2]["amount"] == ""
    assert len(rows) == 3


def test_csv_ends_with_the_totals_row():
    rows = list(csv.reader(io.StringIO(render_csv(posting_table()))))

    assert rows[-1] == ["Total", "", "", "", "1265.50", ""]


def test_csv_neutralises_formulas_in_text_but_not_negative_numbers():
    rows = list(csv.DictReader(io.StringIO(render_csv(hostile_table()))))

    assert [r["supplier"] for r in rows] == [
        "'=HYPERLINK(\"http://x\",\"click\")",
        "'+31 20 123",
        "'-minus",
        "'@SUM(A1)",
        "'\tTabbed",
        "plain",
    ]
    assert rows[0]["amount"] == "-12.30"


def test_write_csv_separates_tables_with_a_blank_line(tmp_path):
    path = tmp_path / "report.csv"
    write_csv([posting_table(totals=None), hostile_table()], path)

    sections = path.read_text(encoding="utf-8").split("\n\n")
    assert len(sections) == 2
    assert sections[0].startswith("order,line,date,supplier,amount,quantity\n")
    assert sections[1].startswith("supplier,amount\n")


def test_write_csv_takes_a_single_table(tmp_path):
    path = tmp_path / "one.csv"
    write_csv(posting_table(), path)

    assert path.read_text(encoding="utf-8") == render_csv(posting_table())


# --- XLSX --------------------------------------------------------------------------------


def header_row_of(sheet) -> int:
    """The 1-based row holding the column headers (the frozen row above the data)."""
    return int(re.sub(r"[A-Z]+", "", sheet.freeze_panes)) - 1


def test_xlsx_has_a_sheet_per_table_frozen_header_totals_and_real_numbers(tmp_path):
    path = tmp_path / "report.xlsx"
    write_xlsx([posting_table(), hostile_table()], path)

    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Posting report (trial)", "Hostile"]
    sheet = book["Posting report (trial)"]
    assert sheet["A1"].value == "Posting report (trial)"
    assert sheet["A2"].value.endswith("€ 1000.00")

    header = header_row_of(sheet)
    assert [c.value for c in sheet[header]] == ["Order", "Line", "Date", "Supplier", "Amount", "Quantity"]
    assert all(c.font.b for c in sheet[header])
    assert sheet.auto_filter.ref == f"A{header}:F{header + 3}"

    first = sheet[header + 1]
    assert first[1].value == 1
    assert first[2].value.date() == date(2026, 11, 30)
    assert first[2].is_date
    assert first[4].value == 1270.5 and first[4].number_format == "#,##0.00"
    # a quantity shows the decimals it has, as its text does: never a decimal separator
    # standing after a whole number ("#,##0.######" showed 10 as "10." in Excel)
    assert first[5].number_format == "#,##0.000000"
    assert [(sheet[header + n][5].value, sheet[header + n][5].number_format) for n in (2, 3)] == [(10, "#,##0"), (2.5, "#,##0.0")]

    totals = sheet[header + 4]
    assert totals[0].value == "Total"
    assert totals[4].value == 1265.5
    assert totals[0].font.b and totals[4].font.b
    assert sheet.max_row == header + 4


def test_xlsx_column_of_chinese_or_japanese_names_is_wide_enough_for_them(tmp_path):
    """Audit of 7 December 2026 (looks): a column's width was its longest text's character
    count, but a Chinese or Japanese character takes two columns' width in Excel: a supplier
    name of 13 such characters got a width of 15 and was cut off by the next cell. A wide
    character counts twice; Latin text as before."""
    table = Table(
        title="Backorders",
        columns=[Column("name", "name"), Column("latin", "latin"), Column("amount", "amount", "amount")],
        rows=[{"name": "株式会社東京精密機械製作所", "latin": "Łódź Müller Sørensen", "amount": Decimal("4550.00")}],
    )
    path = tmp_path / "wide.xlsx"
    write_xlsx([table], path)

    widths = openpyxl.load_workbook(path).worksheets[0].column_dimensions
    assert widths["A"].width >= 2 * 13
    assert 20 <= widths["B"].width < 26  # "Łódź Müller Sørensen": 20 characters, each one wide


def test_xlsx_text_longer_than_its_column_wraps_in_its_cell(tmp_path):
    """Audit of 7 December 2026 (looks): a column is at most 60 wide, and a supplier name or
    item description of 200 characters ran under the next column and was cut off there (the
    backorder list's name, beside the order). Text wider than its column wraps in its cell;
    shorter text does not."""
    long_name = ("Compagnie Générale des Établissements de Fournitures Industrielles et Métallurgiques " * 3).strip()
    table = Table(
        title="Backorders",
        columns=[Column("name", "name"), Column("order", "order"), Column("amount", "amount", "amount")],
        rows=[{"name": long_name, "order": "PO-1", "amount": Decimal("1.00")},
              {"name": "Acme NV", "order": "PO-2", "amount": Decimal("2.00")}],
    )
    path = tmp_path / "long.xlsx"
    write_xlsx([table], path)

    sheet = openpyxl.load_workbook(path).worksheets[0]
    header = next(r for r in range(1, 10) if sheet.cell(r, 1).value == "name")
    assert sheet.column_dimensions["A"].width <= 61
    assert sheet.cell(header + 1, 1).value == long_name and sheet.cell(header + 1, 1).alignment.wrap_text
    assert not sheet.cell(header + 2, 1).alignment.wrap_text
    assert not sheet.cell(header + 1, 2).alignment.wrap_text


def test_xlsx_writes_a_date_before_1900_as_its_text(tmp_path):
    """A spreadsheet's dates begin in 1900: an earlier one as a date cell reads #VALUE!."""
    path = tmp_path / "report.xlsx"
    rows = [{"order": "PO-1", "line": 1, "date": date(1, 1, 1), "supplier": "ACME", "amount": None, "quantity": None},
            {"order": "PO-2", "line": 2, "date": date(1900, 1, 1), "supplier": "ACME", "amount": None, "quantity": None}]
    write_xlsx(posting_table(rows=rows, totals=None), path)
    sheet = openpyxl.load_workbook(path).active
    header = header_row_of(sheet)
    early, first = sheet[header + 1][2], sheet[header + 2][2]
    assert (early.value, early.is_date) == ("0001-01-01", False)
    assert (first.value.date(), first.is_date) == (date(1900, 1, 1), True)


def test_xlsx_writes_an_amount_a_double_cannot_hold_as_its_exact_text(tmp_path):
    """An amount of more than 15 significant digits (the ledger holds up to 922337203685477.58)
    was written as a number: the cell held 922337203685377.75 for 922337203685377.77, and Excel
    showed 922,337,203,685,377.80, while CSV, JSON and PDF say .77. Shorter ones stay numbers."""
    path = tmp_path / "big.xlsx"
    rows = [{"order": "PO-1", "line": 1, "date": None, "supplier": "ACME",
             "amount": Decimal("922337203685377.77"), "quantity": Decimal("9999999.999999")},
            {"order": "PO-2", "line": 2, "date": None, "supplier": "ACME",
             "amount": Decimal("9999999999999.99"), "quantity": Decimal("1")}]
    write_xlsx(posting_table(rows=rows, totals={"amount": Decimal("922337203685377.77") + Decimal("9999999999999.99")}), path)
    sheet = openpyxl.load_workbook(path).active
    header = header_row_of(sheet)
    big, small, total = sheet[header + 1][4], sheet[header + 2][4], sheet[header + 3][4]
    assert (big.value, big.data_type, big.alignment.horizontal) == ("922337203685377.77", "s", "right")
    assert (total.value, total.data_type) == ("932337203685377.76", "s")
    assert (small.value, small.data_type) == (9999999999999.99, "n")
    assert sheet[header + 1][5].value == 9999999.999999


def test_xlsx_neutralises_formulas_and_keeps_negative_amounts_numbers(tmp_path):
    path = tmp_path / "hostile.xlsx"
    write_xlsx([hostile_table()], path)

    sheet = openpyxl.load_workbook(path)["Hostile"]
    header = header_row_of(sheet)
    attack, amount = sheet.cell(header + 1, 1), sheet.cell(header + 1, 2)
    assert attack.value.startswith("=")  # the text as it is: no apostrophe shown as part of it
    assert attack.data_type == "s"  # a string, not a formula ("f")
    assert attack.quotePrefix  # and Excel keeps it text when the cell is edited
    assert amount.data_type == "n"
    assert amount.value == -12.3
    cells = [sheet.cell(header + i, 1) for i in range(2, 7)]
    assert [c.value for c in cells] == ["+31 20 123", "-minus", "@SUM(A1)", "\tTabbed", "plain"]
    assert [bool(c.quotePrefix) for c in cells] == [True, True, True, True, False]
    assert {c.data_type for c in cells} == {"s"}


def test_the_worksheet_row_limit_is_xlsxwriters():
    from xlsxwriter.worksheet import Worksheet

    sheet = Worksheet()
    assert formats.XLSX_MAX_ROWS == sheet.xls_rowmax == 1_048_576
    # what the limit guards against: beyond it xlsxwriter drops the cell and raises nothing
    assert sheet.write_string(formats.XLSX_MAX_ROWS, 0, "lost") == -1


def _sheet_rows(sheet) -> tuple[int, list[tuple]]:
    header = header_row_of(sheet)
    return header, [tuple(c.value for c in row) for row in sheet.iter_rows(min_row=header + 1)]


@pytest.mark.parametrize("count, subtitle, sheets", [
    (13, None, 1),  # 3 header rows + 13 rows + totals = 17: one sheet, full to the last row
    (14, None, 2),  # one more row: the totals go to a second sheet of their own
    (30, "from the close-out of 30 lines", 3),
])
def test_a_table_longer_than_a_worksheet_goes_on_over_more_worksheets(tmp_path, monkeypatch, count, subtitle, sheets):
    """xlsxwriter silently drops a cell written beyond its last row: a long table must
    go on, whole, in order, over further worksheets (shrunk here to 17 rows)."""
    monkeypatch.setattr(formats, "XLSX_MAX_ROWS", 17)
    rows = [{"order": f"PO-{i:03d}", "line": i, "date": None, "supplier": "ACME", "amount": Decimal(i) / 100,
             "quantity": Decimal(1)} for i in range(1, count + 1)]
    table = posting_table(title="Entry lines of the close-out", subtitle=subtitle, rows=formats.RowsOf(rows, dict),
                          totals={"amount": sum(r["amount"] for r in rows)})
    path = tmp_path / "long.xlsx"
    write_xlsx([table, hostile_table()], path)

    book = openpyxl.load_workbook(path)
    names = book.sheetnames[:-1]
    assert book.sheetnames[-1] == "Hostile" and len(names) == sheets
    if sheets == 1:
        assert names == ["Entry lines of the close-out"]
    else:
        # 31 characters at most: the title is cut, its "(k of n)" kept
        assert names == [f"Entry lines of the clo ({k} of {sheets})" for k in range(1, sheets + 1)]
    seen = []
    for k, name in enumerate(names, 1):
        sheet = book[name]
        assert sheet.max_row <= 17
        title = "Entry lines of the close-out" + (f" (part {k} of {sheets})" if sheets > 1 else "")
        assert sheet["A1"].value == title
        assert sheet["A2"].value == subtitle
        header, body = _sheet_rows(sheet)
        assert [c.value for c in sheet[header]] == ["Order", "Line", "Date", "Supplier", "Amount", "Quantity"]
        if k < len(names):
            assert sheet.max_row == 17  # full
            seen += body
        else:
            seen += body[:-1]
            assert body[-1][0] == "Total" and Decimal(str(body[-1][4])) == sum(r["amount"] for r in rows)
    assert [r[0] for r in seen] == [r["order"] for r in rows]  # every row once, in order
    assert [r[1] for r in seen] == list(range(1, count + 1))


def test_sheet_names_are_short_valid_and_unique():
    long_title = "Backorders per supplier and item: the long view"
    names = formats.sheet_names([long_title, long_title, "a/b", ""])

    assert all(len(n) <= 31 for n in names)
    assert names[0] != names[1] and names[1].endswith("(2)")
    assert names[2] == "a b"
    assert names[3] == "Sheet"


# --- PDF ---------------------------------------------------------------------------------


def pdf_page_count(path: Path) -> int:
    return len(page_texts(path))


def long_table(n: int) -> Table:
    columns = [Column("order", "Order"), Column("line", "Line", "int"),
               Column("supplier", "Supplier"), Column("amount", "Amount", "amount")]
    rows = [{"order": f"PO-{i:04d}", "line": i, "supplier": "ACME " * (1 + i % 3),
             "amount": Decimal(i) / Decimal(100)} for i in range(n)]
    return Table("Long", columns, rows, totals={"amount": Decimal("99.99")}, subtitle="all € amounts")


def test_pdf_of_a_short_table_is_one_page(tmp_path):
    path = tmp_path / "short.pdf"
    write_pdf([posting_table()], path, document_title="Posting report (trial)")

    assert path.read_bytes().startswith(b"%PDF")
    assert pdf_page_count(path) == 1


def test_pdf_of_a_long_table_spans_pages_with_header_and_numbers_on_each(tmp_path):
    path = tmp_path / "long.pdf"
    write_pdf([long_table(300)], path, document_title="Backorders")

    assert path.read_bytes().startswith(b"%PDF")
    pages = pdf_page_count(path)
    assert 5 <= pages <= 12  # about 30-40 one-line rows a page
    texts = page_texts(path)
    for number, text in enumerate(texts, 1):
        assert "Order" in text and "Amount" in text  # the header repeats
        assert f"page {number} of {pages}" in text
        assert "Backorders" in text
    everything = "\n".join(texts)
    assert all(f"PO-{i:04d}" in everything for i in range(300))
    assert "€" in everything


def test_pdf_of_a_table_of_thousands_of_rows_has_every_row_once_in_order_and_a_header_on_every_page(tmp_path):
    """Beyond `_PDF_LONG_TABLE` rows the table is cut into one table per page, each made
    only when its page is laid out: nothing may be lost, doubled or reordered at the cuts."""
    n = 2_500
    assert n > formats._PDF_LONG_TABLE
    table = long_table(n)
    table.rows[1234]["supplier"] = "a supplier name long enough to wrap over two or three lines of its column " * 3
    path = tmp_path / "long.pdf"
    write_pdf([table, long_table(3)], path, document_title="Backorders")

    texts = page_texts(path)
    pages = len(texts)
    assert 60 <= pages <= 100  # about 30-40 one-line rows a page
    numbers = [int(m) for text in texts for m in re.findall(r"PO-(\d{4})", text)]
    assert numbers == list(range(n)) + [0, 1, 2]
    per_page = [len(re.findall(r"PO-\d{4}", text)) for text in texts]
    assert per_page[0] >= 0.85 * per_page[1]  # the page under the title and the heading is filled too
    for number, text in enumerate(texts, 1):
        assert "Order" in text and "Amount" in text and "Supplier" in text  # the header on every page
        assert f"page {number} of {pages}" in text
    assert "99.99" in texts[-1] or "99.99" in texts[-2]  # the totals row follows the last row
    assert "wrap over two" in "\n".join(texts)


def test_pdf_of_several_tables_and_of_an_empty_table(tmp_path):
    path = tmp_path / "two.pdf"
    empty = Table("Nothing open", COLUMNS, [])
    write_pdf([posting_table(), empty], path, document_title="Close-out 17")

    assert path.read_bytes().startswith(b"%PDF")
    assert pdf_page_count(path) == 1


def test_pdf_is_the_same_every_time(tmp_path):
    write_pdf([posting_table()], tmp_path / "a.pdf", document_title="Posting report")
    write_pdf([posting_table()], tmp_path / "b.pdf", document_title="Posting report")

    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()



def test_pdf_shows_a_mark_for_each_character_its_font_lacks_never_a_blank(tmp_path):
    """Audit of 7 December 2026 (looks): a supplier named in Japanese or Chinese was drawn as
    empty boxes and its text was blank (a reader copying or searching the page found
    nothing there): the PDF's font (DejaVu) has no CJK glyphs and no font on the machine has.
    A character the font cannot draw is shown as the replacement mark (U+FFFD), one a
    character, in the cells, the title and the subtitle; accented names stay as they are;
    the same numbers sum the same (the totals row is unchanged)."""
    table = Table(
        title="Backorders of 株式会社",
        subtitle="supplier 深圳华强电子有限公司",
        columns=[Column("supplier", "supplier"), Column("name", "name"), Column("amount", "amount", "amount")],
        rows=[{"supplier": "CJK", "name": "株式会社東京精密", "amount": Decimal("4550.00")},
              {"supplier": "ACCENTS", "name": "Łódź Müller Sørensen", "amount": Decimal("-20.00")}],
        totals={"supplier": "Total", "amount": Decimal("4530.00")},
    )
    path = tmp_path / "cjk.pdf"
    write_pdf([table], path, document_title="Backorders")

    lines = page_texts(path)[0].splitlines()
    mark = "\ufffd"
    assert lines[0] == "Backorders of " + mark * 4
    assert lines[1] == "supplier " + mark * 10
    cells = [line.strip() for line in lines]  # a cell a line
    assert cells[cells.index("CJK"):][:3] == ["CJK", mark * 8, "4550.00"]
    assert cells[cells.index("ACCENTS"):][:3] == ["ACCENTS", "Łódź Müller Sørensen", "-20.00"]
    assert cells[cells.index("Total"):][:2] == ["Total", "4530.00"]



def test_pdf_says_under_a_table_what_its_marks_stand_for(tmp_path):
    """The marks alone (audit of 7 December 2026, looks) read as a damaged file: under a table
    that shows one, a note says what it stands for and where the text is whole; a table
    without one has no note."""
    columns = [Column("supplier", "supplier"), Column("name", "name")]
    marked = Table(title="Suppliers", columns=columns, rows=[{"supplier": "CJK", "name": "株式会社"}])
    plain = Table(title="Others", columns=columns, rows=[{"supplier": "ACC", "name": "Łódź Müller"}])
    path = tmp_path / "notes.pdf"
    write_pdf([marked, plain], path, document_title="Suppliers")

    lines = [line.strip() for line in page_texts(path)[0].splitlines()]
    note = next(line for line in lines if line.startswith("\ufffd marks"))
    assert "font" in note and "XLSX" in note
    assert lines.index(note) < lines.index("Others")  # under the table that has the mark
    assert sum(line.startswith("\ufffd marks") for line in lines) == 1


def test_pdf_footer_cuts_a_long_document_title_before_the_page_number(tmp_path):
    """Audit of 7 December 2026 (looks): the running footer drew the document's title whole;
    a long one (a posting report of many undone close-outs names them all) ran into and
    over "page N of M". It is cut with "..." where it would reach the page number."""
    from tests.pdftext import text_positions

    title = "pledger posting report (boekingsverslag) - Undo of close-outs " + ", ".join(str(n) for n in range(400, 300, -1))
    path = tmp_path / "long-title.pdf"
    write_pdf([long_table(3)], path, document_title=title)

    drawn = text_positions(path)
    footer = next((text, x) for text, x, _y in drawn if text.startswith("pledger posting report"))
    page = next(x for text, x, _y in drawn if text == "page 1 of 1")
    assert footer[0].endswith("...") and title.startswith(footer[0][:-3])
    from reportlab.pdfbase.pdfmetrics import stringWidth

    assert footer[1] + stringWidth(footer[0], formats._pdf_fonts().regular, 7.5) < page


# --- dispatch ----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix, magic", [(".csv", b"order,"), (".xlsx", b"PK"), (".pdf", b"%PDF"),
                                           (".json", b"[")])
def test_write_table_file_dispatches_on_suffix(tmp_path, suffix, magic):
    path = tmp_path / f"report{suffix.upper() if suffix == '.pdf' else suffix}"
    write_table_file([posting_table()], path, document_title="Posting report")

    assert path.read_bytes().startswith(magic)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left behind


def test_json_file_holds_exact_strings_and_iso_dates(tmp_path):
    path = tmp_path / "report.json"
    write_table_file([posting_table()], path, document_title="Posting report")

    data = json.loads(path.read_text(encoding="utf-8"))
    assert data[0]["title"] == "Posting report (trial)"
    assert data[0]["rows"][0] == {"order": "PO-1", "line": 1, "date": "2026-11-30", "supplier": "ACME",
                                  "amount": "1270.50", "quantity": "0.333333"}
    assert data[0]["rows"][1]["quantity"] == "10"
    assert data[0]["totals"] == {"amount": "1265.50"}


def test_unsupported_suffix_is_refused_before_anything_is_written(tmp_path):
    path = tmp_path / "report.xyz"
    with pytest.raises(FormatError) as error:
        write_table_file([posting_table()], path, document_title="Posting report")

    assert str(error.value) == "unsupported report file type '.xyz': use .csv, .xlsx, .pdf or .json"
    assert not path.exists()


def test_an_unwritable_path_is_one_clear_error(tmp_path):
    path = tmp_path / "missing-folder" / "report.csv"
    with pytest.raises(FormatError, match="cannot write"):
        write_table_file([posting_table()], path, document_title="Posting report")


def test_a_float_in_a_row_is_refused():
    table = posting_table(rows=[{"order": "PO-1", "amount": 1.5}])
    with pytest.raises(FormatError, match="amount"):
        render_csv(table)
