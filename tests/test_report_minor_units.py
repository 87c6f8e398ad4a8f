"""A report shows the same amount in every format, in books kept in a currency whose minor
unit is not the cent: the Bahraini dinar (three decimals, fils) and the yen (none).

CSV, JSON and PDF write an amount's exact text ("49.975"); the workbook writes the number
and a number format that says how many decimals a spreadsheet shows. That format follows
the amount, not the euro: a 49.975 shown as 49.98 in Excel is a different figure from the
one the CSV and the ledger hold, and its totals then do not add up on screen.
"""

from __future__ import annotations

import csv
import io
import json
import re

import openpyxl
import pytest
from click.testing import CliRunner

from tests.pdftext import page_texts


def _pledger(url: str, *args: str):
    from cli import commands  # noqa: F401
    from cli.main import cli

    result = CliRunner().invoke(cli, ["--db", url, "--user", "ann", *map(str, args)], catch_exceptions=False,
                                prog_name="pledger")
    assert result.exit_code == 0, result.output
    return result


def book_in(url: str, currency: str, tmp_path):
    """Books kept in `currency`: one order of two lines, line 1 (2.5 at 19.99) received and not
    invoiced, line 2 (10 at 1.2345) not received."""
    _pledger(url, "init", "--base-currency", currency)
    _pledger(url, "year", "open", "2026")
    files = {
        "suppliers": f"code,name,currency\nSOUK,Souk Trading W.L.L.,{currency}\n",
        "items": "code,description,stock_item\nDATE,Dates 1 kg,true\nTEA,Tea 250 g,true\n",
        "orders": "order,supplier,order_date,line,item,quantity,unit_price,vat_rate\n"
                  "PO-1,SOUK,2026-05-04,1,DATE,2.5,19.99,0\nPO-1,SOUK,2026-05-04,2,TEA,10,1.2345,0\n",
        "receipts": "receipt,date,order,line,quantity\nR-1,2026-05-05,PO-1,1,2.5\n",
    }
    for kind, content in files.items():
        path = tmp_path / f"{kind}.csv"
        path.write_text(content, encoding="utf-8")
        _pledger(url, "import", kind, path)


def shown_decimals(number_format: str) -> int:
    """How many decimals a spreadsheet shows for a cell of this number format ("#,##0.00" -> 2)."""
    m = re.search(r"0\.(0+)", number_format)
    return len(m.group(1)) if m else 0


def amount_cells(path, headers: set[str]) -> list[tuple]:
    """(header, value, decimals shown) of every filled cell under the given headers, totals included."""
    out = []
    for sheet in openpyxl.load_workbook(path).worksheets:
        header_row = next((row for row in sheet.iter_rows() if any(c.value in headers for c in row)), None)
        if header_row is None:
            continue
        columns = {c.column: c.value for c in header_row if c.value in headers}
        for row in sheet.iter_rows(min_row=header_row[0].row + 1):
            for cell in row:
                if cell.column in columns and isinstance(cell.value, (int, float)):
                    out.append((columns[cell.column], cell.value, shown_decimals(cell.number_format)))
    return out


@pytest.mark.parametrize("currency, decimals, gr, backorder", [("BHD", 3, "49.975", "12.345"), ("JPY", 0, "50", "12")])
def test_workbook_reports_show_amounts_with_the_currency_minor_unit(fresh_url, tmp_path, currency, decimals, gr, backorder):
    book_in(fresh_url, currency, tmp_path)

    grir = json.loads(_pledger(fresh_url, "report", "grir", "--format", "json").stdout)
    assert grir["totals"]["gr_balance"] == gr
    _pledger(fresh_url, "report", "grir", "-o", tmp_path / "grir.xlsx")
    cells = amount_cells(tmp_path / "grir.xlsx", {"GR (credit)", "IR (debit)"})
    assert cells and {d for _, _, d in cells} == {decimals}, cells

    rows = json.loads(_pledger(fresh_url, "report", "backorders", "--format", "json").stdout)
    assert [r["backorder_amount"] for r in rows] == [backorder]
    _pledger(fresh_url, "report", "backorders", "-o", tmp_path / "backorders.xlsx")
    cells = amount_cells(tmp_path / "backorders.xlsx", {"backorder amount"})
    assert len(cells) == 2 and {d for _, _, d in cells} == {decimals}, cells  # the line and the total

    report = json.loads(_pledger(fresh_url, "closeout", "run", "--close-fully", "--date", "2026-06-30", "--trial",
                                 "--report", tmp_path / "posting.xlsx", "--format", "json").stdout)
    assert report["totals"]["debit"] == gr
    cells = amount_cells(tmp_path / "posting.xlsx", {"debit", "credit"})
    assert len(cells) == 2 * 2 + 2 + 2 * 2 + 2, cells  # two lines, the total; two accounts, their total
    assert {d for _, _, d in cells} == {decimals}, cells

    # the order for the supplier: its totals (a field, value table) as much as its lines
    _pledger(fresh_url, "settings", "company", "--name", "Bureau Peeters BV")
    _pledger(fresh_url, "po", "export", "PO-1", "-o", tmp_path / "po.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "po.xlsx").worksheets[0]
    totals = {row[0].value: row[1] for row in sheet.iter_rows() if row[0].value in ("net total", "VAT", "total")}
    assert {k: shown_decimals(c.number_format) for k, c in totals.items()} == dict.fromkeys(("net total", "VAT", "total"), decimals)

    # the PDF already wrote the amount's own text: the same figure in every format
    _pledger(fresh_url, "report", "grir", "-o", tmp_path / "grir.pdf")
    assert gr in "\n".join(page_texts(tmp_path / "grir.pdf")).split()


@pytest.mark.parametrize("currency, price, text, number_format", [
    ("BHD", "19.99", "19.990", "#,##0.000"),  # the dinar's three decimals, as po show and the CSV write it
    ("JPY", "120", "120", "#,##0"),  # a whole yen: no decimals the yen does not have
    ("JPY", "12.5", "12.5", "#,##0.0"),
    ("EUR", "0.1235", "0.1235", "#,##0.0000"),
])
def test_workbook_unit_prices_show_the_decimals_their_text_shows(fresh_url, tmp_path, currency, price, text, number_format):
    """A unit price in the backorder workbook is a number shown with the decimals its CSV,
    JSON, table and PDF text has: 19.990 dinar, not 19.99; 120 yen, not 120.00."""
    _pledger(fresh_url, "init", "--base-currency", currency)
    _pledger(fresh_url, "year", "open", "2026")
    files = {
        "suppliers": f"code,name,currency\nSOUK,Souk Trading W.L.L.,{currency}\n",
        "items": "code,description,stock_item\nTEA,Tea 250 g,true\n",
        "orders": f"order,supplier,order_date,line,item,quantity,unit_price,vat_rate\nPO-1,SOUK,2026-05-04,1,TEA,10,{price},0\n",
    }
    for kind, content in files.items():
        (tmp_path / f"{kind}.csv").write_text(content, encoding="utf-8")
        _pledger(fresh_url, "import", kind, tmp_path / f"{kind}.csv")
    rows = list(csv.DictReader(io.StringIO(_pledger(fresh_url, "report", "backorders", "--format", "csv").stdout)))
    assert rows[0]["unit_price"] == text

    _pledger(fresh_url, "report", "backorders", "-o", tmp_path / "backorders.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "backorders.xlsx").worksheets[0]
    cell = next(row[8] for row in sheet.iter_rows() if row[6].value == "TEA")
    assert (cell.value, cell.number_format) == (float(price), number_format)
