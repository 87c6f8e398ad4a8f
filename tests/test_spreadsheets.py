"""What a spreadsheet makes of pledger's files, and what pledger then does.

The close-out's round trip (`closeout propose`, edited in Excel or LibreOffice, given back
to `closeout run --edits`) and the imports meet files that a spreadsheet re-saved: order
numbers that lost their leading zeros (00123 saved as 123), numbers rounded to the
decimals a cell shows, rates typed as fractions, workbooks given for CSV files. Each is
refused with a message that says what happened, and nothing is written; or, for a
workbook (.xlsx), read as it is.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from openpyxl import Workbook, load_workbook

from tests.builders import item, order, receive, supplier
from tests.test_cli_refusals import closeouts, refused, see
from tests.test_import_refusals import tables

HEADER = "order,line,supplier,order_date,item,received,invoiced,to_receive,to_invoice\n"


@pytest.fixture
def two_suppliers(books):
    """Order 00123 of ACME and order 123 of NOEL, each partly received."""
    with books.session() as s:
        supplier(s, "ACME", "Acme NV")
        supplier(s, "NOEL", "Café Nöel")
        item(s, "00042", description="Bière blonde 33cl")
        item(s, "42", description="Bolt M8")
        order(s, "00123", ("00042", 10, "1.50"), ("42", "3.3333", "2.00"), supplier_code="ACME", date=dt.date(2026, 5, 4))
        order(s, "123", ("42", 5, "1.00"), supplier_code="NOEL", date=dt.date(2026, 5, 4))
        receive(s, "00123", 1, 6)
        receive(s, "00123", 2, 1)
        receive(s, "123", 1, 2)
    return books


def edits_run(books, tmp_path, content: str, *more, encoding: str = "utf-8"):
    """`content` written as edits.csv and given to `closeout run --edits` (dated 30 June):
    the file's path and the command's result."""
    edits = tmp_path / "edits.csv"
    edits.write_text(content, encoding=encoding)
    return edits, books.cli("closeout", "run", "--edits", edits, "--date", "2026-06-30", *more)


def lines_of(result) -> list[tuple]:
    assert result.exit_code == 0, result.output
    return [(l["order"], l["line"], l["to_receive_after"], l["to_invoice_after"]) for l in json.loads(result.stdout)["lines"]]


# -- the edits file: which line a row is -------------------------------------------------


def test_a_row_whose_order_number_lost_its_leading_zeros_is_refused_for_the_line_it_shows(two_suppliers, tmp_path):
    # propose wrote 00123,1,ACME,...,6,0,4,10; Excel saved the order as 123 (NOEL's order) and
    # the date its own way; the user lowered to_receive to 0 and kept only that row
    edits, result = edits_run(two_suppliers, tmp_path, HEADER + "123,1,ACME,4-5-2026,42,6,0,0,\n")
    refused(result, 1,
            f"close-out refused, nothing written (1 problem): {edits}: row 2: order 123 line 1: the row shows supplier "
            f"ACME, received 6, the line has supplier NOEL, received 2 (a spreadsheet may have changed the order number "
            f"(00123 saved as 123), or documents came in since the proposal: propose again)")
    assert closeouts(two_suppliers) == 0


def test_a_row_that_matches_its_line_is_taken_as_before(two_suppliers, tmp_path):
    _, result = edits_run(two_suppliers, tmp_path, HEADER + "00123,1,ACME,2026-05-04,00042,6,0,0,\n", "--format", "json")
    assert lines_of(result) == [("00123", 1, "0", "6")]


def test_documents_come_in_since_the_proposal_refuse_the_row(two_suppliers, tmp_path):
    edits = tmp_path / "open.csv"
    assert two_suppliers.cli("closeout", "propose", "--order", "00123", "-o", edits).exit_code == 0
    with two_suppliers.session() as s:
        receive(s, "00123", 1, 2)  # two more came in after the proposal was written
    rows = edits.read_text(encoding="utf-8").splitlines()
    assert rows[1] == "00123,1,ACME,2026-05-04,00042,6,0,4,10"
    edits.write_text("\n".join([rows[0], "00123,1,ACME,2026-05-04,00042,6,0,0,"]) + "\n", encoding="utf-8")
    refused(two_suppliers.cli("closeout", "run", "--edits", edits, "--date", "2026-06-30"), 1,
            f"close-out refused, nothing written (1 problem): {edits}: row 2: order 00123 line 1: the row shows "
            f"received 6, the line has received 8 (a spreadsheet may have changed the order number (00123 saved as 123), "
            f"or documents came in since the proposal: propose again)")


def test_an_order_number_without_its_leading_zeros_names_the_order_it_may_be(books, tmp_path):
    with books.session() as s:
        supplier(s)
        item(s, "BOLT")
        order(s, "00777", ("BOLT", 10, "1.00"))
        receive(s, "00777", 1, 5)
    edits, result = edits_run(books, tmp_path, "order,line,to_receive,to_invoice\n777,1,0,\n")
    refused(result, 1,
            f"close-out refused, nothing written (1 problem): {edits}: row 2: order 777 line 1: no such order line "
            f"(order 00777 is: did a spreadsheet drop the leading zeros?)")


# -- the edits file: numbers a spreadsheet rounded ----------------------------------------


def test_a_quantity_rounded_to_the_decimals_a_cell_shows_is_refused(two_suppliers, tmp_path):
    # order 00123 line 2: 3.3333 ordered, 1 received: 2.3333 to receive; a cell formatted
    # 0.00 saves it as 2.33, which would lower the line by 0.0033 without the user knowing
    edits, result = edits_run(two_suppliers, tmp_path, HEADER + "00123,1,ACME,2026-05-04,00042,6.00,0.00,0.00,\n"
                              "00123,2,ACME,2026-05-04,42,1.00,0.00,2.33,3.33\n")
    refused(result, 1,
            f"close-out refused, nothing written (2 problems): {edits}: row 3: order 00123 line 2: to_receive 2.33 is "
            f"2.3333 rounded to 2 decimals, as a spreadsheet showing fewer decimals saves it: write 2.3333 (or leave it "
            f"blank) to keep it; to lower it to 2.33, write 2.3300; {edits}: row 3: order 00123 line 2: to_invoice 3.33 is 3.3333 "
            f"rounded to 2 decimals, as a spreadsheet showing fewer decimals saves it: write 3.3333 (or leave it blank) "
            f"to keep it; to lower it to 3.33, write 3.3300")
    assert closeouts(two_suppliers) == 0


def test_a_received_figure_rounded_by_a_spreadsheet_says_so(books, tmp_path):
    with books.session() as s:
        supplier(s)
        item(s, "BOLT")
        order(s, "PO-1", ("BOLT", "10", "1.00"))
        receive(s, "PO-1", 1, "6.3333")
    edits, result = edits_run(books, tmp_path, HEADER + "PO-1,1,ACME,2026-05-04,BOLT,6.33,0.00,0.00,\n")
    refused(result, 1,
            f"close-out refused, nothing written (1 problem): {edits}: row 2: order PO-1 line 1: the row shows received "
            f"6.33, the line has received 6.3333 (a spreadsheet rounded the row's numbers: show all their decimals before "
            f"saving)")


def test_whole_numbers_and_zero_are_what_a_user_types_and_are_taken(two_suppliers, tmp_path):
    _, result = edits_run(two_suppliers, tmp_path, "order,line,to_receive,to_invoice\n00123,2,2,\n00123,1,0.5,\n",
                          "--format", "json")
    assert lines_of(result) == [("00123", 1, "0.5", "6.5"), ("00123", 2, "2", "3")]


# -- the close-out's proposal as a workbook -----------------------------------------------


def test_the_proposal_as_a_workbook_keeps_codes_as_text_and_reads_back_as_edited(two_suppliers, tmp_path):
    sheet = tmp_path / "open.xlsx"
    result = two_suppliers.cli("closeout", "propose", "-o", sheet)
    assert (result.exit_code, result.stdout) == (0, f"3 open lines written to {sheet}\n")
    book = load_workbook(sheet)
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0] == ("order", "line", "supplier", "order_date", "item", "received", "invoiced", "to_receive", "to_invoice")
    assert rows[1][:5] == ("00123", 1, "ACME", dt.datetime(2026, 5, 4), "00042")  # text cells: the zeros stay
    assert rows[2][7] == pytest.approx(2.3333)  # a number, in the General format: every decimal shown
    # the user lowers 00123 line 1 to nothing more to receive, leaves to_invoice to follow, saves
    book.active["H2"] = 0
    book.active["I2"] = None
    edited = tmp_path / "edited.xlsx"
    book.save(edited)
    from_sheet = lines_of(two_suppliers.cli("closeout", "run", "--edits", edited, "--trial", "--date", "2026-06-30",
                                            "--format", "json"))
    as_csv = tmp_path / "edited.csv"
    as_csv.write_text(HEADER + "00123,1,ACME,2026-05-04,00042,6,0,0,\n", encoding="utf-8")
    from_csv = lines_of(two_suppliers.cli("closeout", "run", "--edits", as_csv, "--trial", "--date", "2026-06-30",
                                          "--format", "json"))
    assert from_sheet == from_csv == [("00123", 1, "0", "6")]


def test_a_formula_in_a_workbook_is_refused_naming_its_cell(two_suppliers, tmp_path):
    sheet = tmp_path / "open.xlsx"
    assert two_suppliers.cli("closeout", "propose", "-o", sheet).exit_code == 0
    book = load_workbook(sheet)
    book.active["H3"] = "=H2-1"
    book.save(sheet)
    refused(two_suppliers.cli("closeout", "run", "--edits", sheet, "--date", "2026-06-30"), 1,
            f"{sheet}: row 3, column to_receive: holds a formula (=H2-1): copy it and paste its value, then save")
    assert closeouts(two_suppliers) == 0


@pytest.mark.parametrize("name", ["open.pdf", "open.ods", "open"])
def test_a_proposal_of_another_file_type_is_a_usage_mistake(two_suppliers, tmp_path, name):
    refused(two_suppliers.cli("closeout", "propose", "-o", tmp_path / name), 2,
            f"Invalid value for '-o': '{name}': a proposal is written as .csv or .xlsx (a workbook keeps order numbers "
            f"such as 00123 as they are) " + see("closeout propose"))
    assert not (tmp_path / name).exists()


def test_a_workbook_named_as_csv_is_told_as_a_workbook(two_suppliers, tmp_path):
    sheet = tmp_path / "open.xlsx"
    assert two_suppliers.cli("closeout", "propose", "-o", sheet).exit_code == 0
    renamed = tmp_path / "open.csv"
    renamed.write_bytes(sheet.read_bytes())
    refused(two_suppliers.cli("closeout", "run", "--edits", renamed, "--date", "2026-06-30"), 1,
            f"{renamed}: the file is a zip file, as an Excel or OpenDocument workbook is (.xlsx, .ods), not CSV text: "
            f"give an .xlsx workbook a name ending in .xlsx, or save it as 'CSV UTF-8 (comma delimited)'")
    old_excel = tmp_path / "old.csv"
    old_excel.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    refused(two_suppliers.cli("import", "orders", old_excel), 1,
            f"{old_excel}: the file is an Excel 97-2003 workbook (.xls), not CSV text: give an .xlsx workbook a name "
            f"ending in .xlsx, or save it as 'CSV UTF-8 (comma delimited)'")


def _acme_and_an_orders_sheet(books, *more_columns):
    """Supplier ACME and item 00042 in the books, and a workbook whose first sheet holds the
    orders' header (and `more_columns`): (the workbook, the sheet)."""
    with books.session() as s:
        supplier(s, "ACME")
        item(s, "00042")
    book = Workbook()
    book.active.append(["order", "supplier", "order_date", "line", "item", "quantity", "unit_price", *more_columns])
    return book, book.active


def test_orders_imported_from_a_workbook_are_the_orders_of_the_same_csv(books, tmp_path):
    book, sheet = _acme_and_an_orders_sheet(books, "vat_rate")
    sheet.append(["00123", "ACME", dt.datetime(2026, 5, 4), 1, "00042", 2.5, 1.2345, 21])
    sheet.append(["00123", "ACME", dt.datetime(2026, 5, 4), 2, "00042", 10, 3, 6])
    book.save(tmp_path / "orders.xlsx")
    result = books.cli("import", "orders", tmp_path / "orders.xlsx")
    assert result.exit_code == 0, result.output
    shown = json.loads(books.cli("po", "show", "00123", "--format", "json").stdout)
    assert shown["order_date"] == "2026-05-04"
    assert [(l["line"], l["ordered"]) for l in shown["lines"]] == [(1, "2.5"), (2, "10")]


# -- imports: what a spreadsheet writes in a cell -----------------------------------------


def _invoice_file(tmp_path, vat_rate: str):
    path = tmp_path / "invoices.csv"
    path.write_text("invoice,supplier_invoice,date,order,line,quantity,unit_price,vat_rate\n"
                    f"I-9,F9,2026-05-20,00123,1,1,1.50,{vat_rate}\n", encoding="utf-8")
    return path


def test_a_vat_rate_written_as_a_fraction_is_refused(two_suppliers, tmp_path):
    path = _invoice_file(tmp_path, "0.21")
    refused(two_suppliers.cli("import", "invoices", path), 1,
            f"{path}: row 2, column vat_rate: '0.21' is below 1 %: a VAT rate is written in percent, such as 21 for 21 % "
            f"(not 0.21)")


def test_a_vat_rate_with_a_percent_sign_says_to_write_the_number(two_suppliers, tmp_path):
    path = _invoice_file(tmp_path, "21%")
    refused(two_suppliers.cli("import", "invoices", path), 1,
            f"{path}: row 2, column vat_rate: '21%' is written with a % sign: write 21 alone (percent is meant)")


def test_a_header_in_capitals_is_told_to_be_lower_case(two_suppliers, tmp_path):
    edits, result = edits_run(two_suppliers, tmp_path, "order,line,To_Receive,to_invoice\n00123,1,0,\n")
    refused(result, 1,
            f"{edits}: row 1: column names are lower case: write to_receive, not To_Receive")


def test_a_tab_separated_file_is_told_as_such(two_suppliers, tmp_path):
    edits, result = edits_run(two_suppliers, tmp_path, "order\tline\tto_receive\tto_invoice\n00123\t1\t0\t\n")
    refused(result, 1,
            f"{edits}: row 1 is separated by tabs: pledger reads comma-separated files; save it as "
            f"'CSV UTF-8 (comma delimited)'")


def test_a_semicolon_file_says_how_to_save_a_comma_one(two_suppliers, tmp_path):
    edits, result = edits_run(two_suppliers, tmp_path, "order;line;to_receive;to_invoice\n00123;1;0,5;\n", encoding="utf-8-sig")
    refused(result, 1,
            f"{edits}: row 1 is separated by ';': pledger reads comma-separated files with a decimal point (Excel with "
            f"Dutch or Belgian settings saves ';' and decimal commas: save it from LibreOffice with field delimiter ',', "
            f"or set Windows' list separator to ',' and decimal symbol to '.'; or save it as an Excel workbook (.xlsx) and "
            f"give that: pledger reads its cells as numbers, whatever the settings)")


def test_a_date_before_1900_is_a_typing_mistake(two_suppliers, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("order,supplier,order_date,line,item,quantity,unit_price\nPO-D1,ACME,0001-01-01,1,42,1,1.00\n",
                    encoding="utf-8")
    refused(two_suppliers.cli("import", "orders", path), 1,
            f"{path}: row 2, column order_date: '0001-01-01' lies before 1900, the first year pledger keeps "
            f"(a typing mistake?)")


def test_several_codes_without_their_leading_zeros_are_named_together(books):
    from purchase.lookalike import zeros_dropped
    from purchase.models import PurchaseOrder

    with books.session() as s:
        supplier(s)
        item(s, "BOLT")
        order(s, "0777", ("BOLT", 10, "1.00"))
        order(s, "00777", ("BOLT", 10, "1.00"))
        assert zeros_dropped(s, PurchaseOrder.number, "777", "order") == (
            " (order 00777 and 0777 are: did a spreadsheet drop the leading zeros?)")


def test_a_document_or_order_naming_a_code_without_its_leading_zeros_names_the_code_it_may_be(books, tmp_path):
    with books.session() as s:
        supplier(s, "ACME")
        item(s, "00042")
        order(s, "00777", ("00042", 10, "1.00"))
    receipts = tmp_path / "receipts.csv"
    receipts.write_text("receipt,date,order,line,quantity\nR-1,2026-05-20,777,1,2\n", encoding="utf-8")
    refused(books.cli("import", "receipts", receipts), 1,
            f"{receipts}: row 2, column order: receipt R-1, order 777 line 1: no such order (order 00777 is: did a "
            f"spreadsheet drop the leading zeros?)")
    orders = tmp_path / "orders.csv"
    orders.write_text("order,supplier,order_date,line,item,quantity,unit_price\nPO-2,ACME,2026-05-04,1,42,1,1.00\n",
                      encoding="utf-8")
    refused(books.cli("import", "orders", orders), 1,
            f"{orders}: row 2, column item: order PO-2 line 1: unknown item '42' (item 00042 is: did a spreadsheet drop the "
            f"leading zeros?)")


def test_a_value_a_spreadsheet_would_not_show_is_what_the_user_typed(books, tmp_path):
    """3.17 shown at one decimal is 3.2 (half away from zero, as Excel and LibreOffice round):
    3.1 is typed, and taken; 3.2 is refused as the rounding it is."""
    with books.session() as s:
        supplier(s)
        item(s, "BOLT")
        order(s, "PO-F", ("BOLT", "3.17", "1.00"))
    _, taken = edits_run(books, tmp_path, "order,line,to_receive,to_invoice\nPO-F,1,3.1,\n", "--trial", "--format", "json")
    assert lines_of(taken) == [("PO-F", 1, "3.1", "3.1")]
    edits, result = edits_run(books, tmp_path, "order,line,to_receive,to_invoice\nPO-F,1,3.2,\n")
    refused(result, 1, f"close-out refused, nothing written (1 problem): {edits}: row 2: order PO-F line 1: to_receive "
                       f"3.2 is 3.17 rounded to 1 decimal, as a spreadsheet showing fewer decimals saves it: write 3.17 "
                       f"(or leave it blank) to keep it, or the value it is to have")  # 3.20 would raise it


def test_a_lowering_that_reads_as_the_lines_own_rounded_names_the_form_that_is_taken(books, tmp_path):
    """12.34 to receive lowered to 12.3: the value a cell formatted 0.0 saves of 12.34, so
    refused as such (docs/reliability.md: a row the user never touched would be lowered by
    0.04). The refusal said only "or the value it is to have", which the user had written,
    (audit of 7 December 2026): it names 12.30, which is taken as the lowering to 12.3. A
    workbook's cell holds what was typed whatever it shows, so there 12.3 is what the user
    typed, and taken (it was refused the same way until then)."""
    with books.session() as s:
        supplier(s)
        item(s, "BOLT")
        order(s, "PO-D", ("BOLT", "12.34", "1.00"))
    message = ("close-out refused, nothing written (1 problem): {path}: row 2: order PO-D line 1: to_receive 12.3 is "
               "12.34 rounded to 1 decimal, as a spreadsheet showing fewer decimals saves it: write 12.34 (or leave it "
               "blank) to keep it; to lower it to 12.3, write 12.30")
    edits, result = edits_run(books, tmp_path, "order,line,to_receive,to_invoice\nPO-D,1,12.3,\n")
    refused(result, 1, message.format(path=edits))
    _, taken = edits_run(books, tmp_path, "order,line,to_receive,to_invoice\nPO-D,1,12.30,\n", "--trial", "--format", "json")
    assert lines_of(taken) == [("PO-D", 1, "12.3", "12.3")]
    book = Workbook()
    book.active.append(["order", "line", "to_receive", "to_invoice"])
    book.active.append(["PO-D", 1, 12.3, None])
    sheet = tmp_path / "edits.xlsx"
    book.save(sheet)
    result = books.cli("closeout", "run", "--edits", sheet, "--date", "2026-06-30", "--trial", "--format", "json")
    assert lines_of(result) == [("PO-D", 1, "12.3", "12.3")]  # a number cell: what was typed
    book.active["C2"] = "12.30"
    book.save(sheet)
    result = books.cli("closeout", "run", "--edits", sheet, "--date", "2026-06-30", "--format", "json")
    assert lines_of(result) == [("PO-D", 1, "12.3", "12.3")]
    assert closeouts(books) == 1


# -- imports: what a workbook's cells hold besides values ---------------------------------


def _orders_book(tmp_path, discount, vat_rate=21, description="Bolts", style=None):
    """orders.xlsx with one line of 10 x 3.00 of item 00042; `style(sheet)` formats its cells."""
    book = Workbook()
    sheet = book.active
    sheet.append(["order", "supplier", "order_date", "line", "item", "quantity", "unit_price", "vat_rate", "discount_pct",
                  "description"])
    sheet.append(["PO-X", "ACME", dt.datetime(2026, 5, 4), 1, "00042", 10, 3, vat_rate, discount, description])
    if style:
        style(sheet)
    path = tmp_path / "orders.xlsx"
    book.save(path)
    return path


def _orders(books) -> int:
    return books.raw("select count(*) from purchase_orders").scalar()


def test_a_discount_in_a_cell_formatted_as_a_percentage_is_not_read_as_a_thousandth(two_suppliers, tmp_path):
    """Excel keeps 10 % as 0.1: read as 0.1 it was a discount of 0.1 %, 29.97 booked for 27.00."""
    path = _orders_book(tmp_path, 0.1, style=lambda sheet: setattr(sheet["I2"], "number_format", "0%"))
    refused(two_suppliers.cli("import", "orders", path), 1,
            f"{path}: row 2, column discount_pct: '10%' is written with a % sign: write 10 alone (percent is meant)")
    path = _orders_book(tmp_path, None, vat_rate=0.21, style=lambda sheet: setattr(sheet["H2"], "number_format", "0.00%"))
    refused(two_suppliers.cli("import", "orders", path), 1,
            f"{path}: row 2, column vat_rate: '21%' is written with a % sign: write 21 alone (percent is meant)")
    assert _orders(two_suppliers) == 2


def test_a_percentage_format_on_another_cell_leaves_the_numbers_as_they_are(two_suppliers, tmp_path):
    path = _orders_book(tmp_path, 10, style=lambda sheet: setattr(sheet["J1"], "number_format", "0%"))
    assert two_suppliers.cli("import", "orders", path).exit_code == 0
    shown = json.loads(two_suppliers.cli("po", "show", "PO-X", "--format", "json").stdout)
    assert shown["lines"][0]["unit_price"] == "2.70"


def test_an_array_formula_in_a_workbook_is_refused_not_read_as_its_python_name(two_suppliers, tmp_path):
    """Excel 365 saves most formulas as array formulas: their text was taken as a description
    ('<openpyxl.worksheet.formula.ArrayFormula object at 0x...>')."""
    from openpyxl.worksheet.formula import ArrayFormula
    path = _orders_book(tmp_path, None, style=lambda sheet: sheet.__setitem__("J2", ArrayFormula("J2", '=UPPER("bolts")')))
    refused(two_suppliers.cli("import", "orders", path), 1,
            f'{path}: row 2, column description: holds a formula (=UPPER("bolts")): copy it and paste its value, then save')
    assert _orders(two_suppliers) == 2


def test_an_error_value_in_a_workbook_is_refused(two_suppliers, tmp_path):
    path = _orders_book(tmp_path, None, description="#N/A")
    refused(two_suppliers.cli("import", "orders", path), 1,
            f"{path}: row 2, column description: holds the error #N/A, not a value: correct the formula it came from, "
            f"paste its value, then save")
    assert _orders(two_suppliers) == 2


def _with_dimension(path, ref: str) -> None:
    """The workbook's first sheet rewritten to state the dimension `ref`, as some programs
    that write workbooks leave it (too small)."""
    import re
    import zipfile
    parts = {}
    with zipfile.ZipFile(path) as book:
        for name in book.namelist():
            parts[name] = book.read(name)
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    parts["xl/worksheets/sheet1.xml"] = re.sub(r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{ref}"/>', sheet).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in parts.items():
            book.writestr(name, data)


def test_a_workbook_stating_too_small_a_dimension_is_read_to_its_last_cell(books, tmp_path):
    """A sheet saying it spans A1:G3 held five lines with a vat_rate in H: lines 3 to 5 and
    the VAT rate were left out, and the order imported as two lines at 0 %."""
    book, sheet = _acme_and_an_orders_sheet(books, "vat_rate")
    for line in range(1, 6):
        sheet.append(["PO-D", "ACME", dt.datetime(2026, 5, 4), line, "00042", 1, 10, 21])
    path = tmp_path / "orders.xlsx"
    book.save(path)
    _with_dimension(path, "A1:G3")
    assert books.cli("import", "orders", path).exit_code == 0
    shown = json.loads(books.cli("po", "show", "PO-D", "--format", "json").stdout)
    assert [(l["line"], l["vat_rate"]) for l in shown["lines"]] == [(line, "21") for line in range(1, 6)]


def test_a_value_right_of_a_workbooks_header_is_refused_and_an_empty_formatted_cell_is_nothing(books, tmp_path):
    book, sheet = _acme_and_an_orders_sheet(books)
    sheet.append(["PO-W", "ACME", dt.datetime(2026, 5, 4), 1, "00042", 1, 10])
    sheet["K2"].number_format = "0.00"  # formatted, empty
    path = tmp_path / "orders.xlsx"
    book.save(path)
    assert books.cli("import", "orders", path).exit_code == 0
    sheet.append(["PO-V", "ACME", dt.datetime(2026, 5, 4), 1, "00042", 1, 10, None, None, "see mail"])
    book.save(path)
    refused(books.cli("import", "orders", path), 1, f"{path}: row 3, column 10: a value under a column with no name in the header")


def test_a_duration_in_a_workbook_is_refused_as_the_text_it_reads_as_not_as_a_formula(two_suppliers, tmp_path):
    path = _orders_book(tmp_path, None, style=lambda sheet: setattr(sheet["F2"], "number_format", "[h]:mm:ss"))
    refused(two_suppliers.cli("import", "orders", path), 1,
            f"{path}: row 2, column quantity: '10 days, 0:00:00' is not a decimal number (write it with a point, no "
            f"thousands separator: 1234.56)")


def test_a_workbook_whose_first_sheet_is_hidden_is_refused_not_read_unseen(books, tmp_path):
    """The hidden first sheet's orders were imported, not those of the sheet the user sees first."""
    with books.session() as s:
        supplier(s, "ACME")
        item(s, "00042")
    book = Workbook()
    old = book.active
    old.title = "last year"
    old.sheet_state = "hidden"
    new = book.create_sheet("orders")
    for sheet, number in ((old, "PO-OLD"), (new, "PO-NEW")):
        sheet.append(["order", "supplier", "order_date", "line", "item", "quantity", "unit_price"])
        sheet.append([number, "ACME", dt.datetime(2026, 5, 4), 1, "00042", 1, 10])
    book.active = 1
    path = tmp_path / "orders.xlsx"
    book.save(path)
    refused(books.cli("import", "orders", path), 1,
            f"{path}: the first sheet ('last year') is hidden: pledger reads a workbook's first sheet; unhide it, or move "
            f"the sheet to import to the front")
    assert books.raw("select count(*) from purchase_orders").scalar() == 0


def _rewritten(path, part: str, change) -> None:
    """The workbook's part `part` (as xl/worksheets/sheet1.xml) rewritten by `change`
    (bytes -> bytes; None leaves the part out), as a damaged file or another program has it."""
    import zipfile
    with zipfile.ZipFile(path) as book:
        parts = {name: book.read(name) for name in book.namelist()}
    parts[part] = change(parts[part])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in parts.items():
            if data is not None:
                book.writestr(name, data)


@pytest.mark.parametrize("part, change, said", [
    # a program writing workbooks in a Dutch locale: the number's XML holds a decimal comma
    ("xl/worksheets/sheet1.xml", lambda xml: xml.replace(b"<v>21</v>", b"<v>21,5</v>"), "(ValueError, at row 2)"),
    ("xl/worksheets/sheet1.xml", lambda xml: xml[: len(xml) // 2], "(ParseError)"),  # cut short
    ("xl/styles.xml", lambda xml: xml[: len(xml) // 2], "(XMLSyntaxError)"),
])
def test_a_damaged_workbook_is_refused_in_one_line_not_as_an_internal_error(two_suppliers, tmp_path, part, change, said):
    path = _orders_book(tmp_path, None)
    _rewritten(path, part, change)
    refused(two_suppliers.cli("import", "orders", path), 1,
            f"{path}: is not an Excel workbook that can be read {said}: save it again as .xlsx, or as "
            f"'CSV UTF-8 (comma delimited)'")
    assert _orders(two_suppliers) == 2


def test_a_workbook_without_a_sheet_is_refused_in_one_line(two_suppliers, tmp_path):
    path = _orders_book(tmp_path, None)
    _rewritten(path, "xl/worksheets/sheet1.xml", lambda xml: None)
    refused(two_suppliers.cli("import", "orders", path), 1,
            f"{path}: the workbook holds no sheet to read: save it again as .xlsx, or as 'CSV UTF-8 (comma delimited)'")
    assert _orders(two_suppliers) == 2


def test_a_computed_number_pasted_as_a_value_is_read_as_excel_shows_it(two_suppliers, tmp_path):
    """0.1 + 0.2 and 3 x 1.1 computed in cells and pasted as values are kept in binary as
    0.30000000000000004 and 3.3000000000000003; Excel shows them, and saves them as CSV, as
    0.3 and 3.3 (15 significant digits): they were refused as having too many decimals."""
    book = Workbook()
    sheet = book.active
    sheet.append(["order", "supplier", "order_date", "line", "item", "quantity", "unit_price"])
    sheet.append(["PO-X", "ACME", dt.datetime(2026, 5, 4), 1, "00042", 0.1 + 0.2, 3 * 1.1])
    sheet.append(["PO-X", "ACME", dt.datetime(2026, 5, 4), 2, "00042", 1.1, 0.07])  # typed: read as typed
    path = tmp_path / "orders.xlsx"
    book.save(path)  # openpyxl writes 0.3 and 3.3; Excel writes the 17 digits that keep the binary value
    _rewritten(path, "xl/worksheets/sheet1.xml",
               lambda xml: xml.replace(b"<v>0.3</v>", b"<v>0.30000000000000004</v>").replace(b"<v>3.3</v>", b"<v>3.3000000000000003</v>"))
    assert two_suppliers.cli("import", "orders", path).exit_code == 0
    assert [(q, p) for q, p in two_suppliers.raw(
        "SELECT l.quantity, l.net_price FROM order_lines l JOIN purchase_orders o ON o.id = l.order_id "
        "WHERE o.number = 'PO-X' ORDER BY l.line_no").all()] == [(300000, 3300000), (1100000, 70000)]


def _two_lines_book(tmp_path, style):
    """orders.xlsx with order PO-X's two lines of item 00042 at 10% discount; `style(sheet)` shapes the sheet."""
    book = Workbook()
    sheet = book.active
    sheet.append(["order", "supplier", "order_date", "line", "item", "quantity", "unit_price", "discount_pct"])
    sheet.append(["PO-X", "ACME", dt.datetime(2026, 5, 4), 1, "00042", 10, 3, 10])
    sheet.append(["PO-X", "ACME", dt.datetime(2026, 5, 4), 2, "00042", 5, 2, None])
    style(sheet)
    path = tmp_path / "orders.xlsx"
    book.save(path)
    return path


def test_a_merged_cell_over_a_documents_rows_is_refused_not_read_as_its_first_row_only(two_suppliers, tmp_path):
    """The discount merged over both lines shows 10 for each; line 2 was ordered at 2.00, not 1.80."""
    path = _two_lines_book(tmp_path, lambda sheet: sheet.merge_cells("H2:H3"))
    refused(two_suppliers.cli("import", "orders", path), 1,
            f"{path}: row 2, column discount_pct: cells H2:H3 are merged, and a workbook keeps a merged cell's value "
            f"in its first cell only: unmerge them and fill in every cell")
    assert _orders(two_suppliers) == 2


def test_a_hidden_row_or_column_is_refused_not_imported_unseen(two_suppliers, tmp_path):
    """A row hidden (or filtered out) was imported as an order line the user did not see."""
    path = _two_lines_book(tmp_path, lambda sheet: setattr(sheet.row_dimensions[3], "hidden", True))
    refused(two_suppliers.cli("import", "orders", path), 1,
            f"{path}: row 3 is hidden (or filtered out) and holds values: pledger imports every row, seen or not; "
            f"unhide it, or delete it")
    path = _two_lines_book(tmp_path, lambda sheet: setattr(sheet.column_dimensions["H"], "hidden", True))
    refused(two_suppliers.cli("import", "orders", path), 1,
            f"{path}: row 1, column discount_pct is hidden: pledger imports every column, seen or not; "
            f"unhide it, or delete it")
    assert _orders(two_suppliers) == 2


def test_hidden_empty_rows_and_columns_beside_the_data_are_nothing(two_suppliers, tmp_path):
    def hide_the_rest(sheet):
        sheet.column_dimensions.group("J", "Z", hidden=True)
        sheet.row_dimensions[5].hidden = True
    path = _two_lines_book(tmp_path, hide_the_rest)
    assert two_suppliers.cli("import", "orders", path).exit_code == 0
    assert _orders(two_suppliers) == 3


def test_a_proposal_filtered_to_some_rows_reads_back_its_hidden_rows_as_they_stand(two_suppliers, tmp_path):
    """A proposal filtered to one supplier: its hidden rows, left as propose wrote them, change
    nothing (an import refuses hidden rows: they would post documents no one saw)."""
    sheet = tmp_path / "open.xlsx"
    assert two_suppliers.cli("closeout", "propose", "-o", sheet).exit_code == 0
    book = load_workbook(sheet)
    book.active.row_dimensions[4].hidden = True  # NOEL's order 123, filtered out
    book.active["H2"] = 0
    book.active["I2"] = None
    book.save(tmp_path / "edited.xlsx")
    assert lines_of(two_suppliers.cli("closeout", "run", "--edits", tmp_path / "edited.xlsx", "--trial", "--date",
                                      "2026-06-30", "--format", "json")) == [("00123", 1, "0", "6")]


# -- workbooks as Excel with Dutch settings leaves them ------------------------------------

ORDER_COLUMNS = ["order", "supplier", "order_date", "line", "item", "quantity", "unit_price"]


def _sheets_book(tmp_path, sheets: dict, shown: int, name: str = "orders.xlsx"):
    """A workbook of `sheets` (title -> its order number, or None for an empty sheet with a
    formatted cell), saved showing sheet number `shown` (0 is the first)."""
    from openpyxl.styles import Font
    book = Workbook()
    book.remove(book.active)
    for title, number in sheets.items():
        sheet = book.create_sheet(title)
        if number is None:
            sheet["A1"].font = Font(bold=True)  # formatted, no value: an empty sheet as Excel keeps one
        else:
            sheet.append(ORDER_COLUMNS)
            sheet.append([number, "ACME", dt.datetime(2026, 5, 4), 1, "00042", 1, 10])
    book.active = shown
    path = tmp_path / name
    book.save(path)
    return path


def _order_numbers(books) -> list[str]:
    return [n for (n,) in books.raw("select number from purchase_orders order by number").all()]


def test_a_workbook_saved_showing_another_sheet_than_the_first_is_refused_naming_both(books, tmp_path):
    """Saved while the user looked at 'Blad2', the first sheet 'Blad1' (last month's orders) was
    imported, without a word."""
    with books.session() as s:
        supplier(s, "ACME")
        item(s, "00042")
    path = _sheets_book(tmp_path, {"Blad1": "PO-OLD", "Blad2": "PO-NEW"}, shown=1)
    refused(books.cli("import", "orders", path), 1,
            f"{path}: the workbook was saved showing sheet 'Blad2', but pledger reads the first sheet, 'Blad1': move the "
            f"sheet to import to the front, or save it as a workbook of its own")
    # the sheet shown holds the orders and the first is empty: the same (it was "no rows under the header")
    path = _sheets_book(tmp_path, {"Blad1": None, "Blad2": "PO-NEW"}, shown=1)
    refused(books.cli("import", "orders", path), 1,
            f"{path}: the workbook was saved showing sheet 'Blad2', but pledger reads the first sheet, 'Blad1': move the "
            f"sheet to import to the front, or save it as a workbook of its own")
    assert _order_numbers(books) == []


def test_a_workbook_showing_its_first_sheet_or_whose_other_sheets_are_empty_reads_its_first_sheet(books, tmp_path):
    with books.session() as s:
        supplier(s, "ACME")
        item(s, "00042")
    shown_first = _sheets_book(tmp_path, {"Blad1": "PO-1", "Blad2": "PO-OTHER"}, shown=0, name="first.xlsx")
    assert books.cli("import", "orders", shown_first).exit_code == 0
    others_empty = _sheets_book(tmp_path, {"Blad1": "PO-2", "Blad2": None, "Blad3": None}, shown=2, name="empty.xlsx")
    assert books.cli("import", "orders", others_empty).exit_code == 0
    assert _order_numbers(books) == ["PO-1", "PO-2"]


def test_an_edits_workbook_saved_showing_another_sheet_is_refused(two_suppliers, tmp_path):
    sheet = tmp_path / "open.xlsx"
    assert two_suppliers.cli("closeout", "propose", "-o", sheet).exit_code == 0
    book = load_workbook(sheet)
    book.active["H2"] = 0
    book.active["I2"] = None
    notes = book.create_sheet("Blad2")
    notes.append(["order", "line", "to_receive", "to_invoice"])
    notes.append(["123", 1, 0, None])  # what the user lowered here was never read
    book.active = 1
    book.save(sheet)
    refused(two_suppliers.cli("closeout", "run", "--edits", sheet, "--date", "2026-06-30"), 1,
            f"{sheet}: the workbook was saved showing sheet 'Blad2', but pledger reads the first sheet, 'lines': move "
            f"the sheet to import to the front, or save it as a workbook of its own")
    assert closeouts(two_suppliers) == 0
    book.active = 0
    book.save(sheet)
    assert lines_of(two_suppliers.cli("closeout", "run", "--edits", sheet, "--trial", "--date", "2026-06-30",
                                      "--format", "json")) == [("00123", 1, "0", "6")]


def _one_order_line(tmp_path, **cells):
    """orders.xlsx with one line of order PO-X (ACME, item 00042, 10 x 3), its cells replaced by `cells`."""
    book = Workbook()
    row = {"order": "PO-X", "supplier": "ACME", "order_date": dt.datetime(2026, 5, 4), "line": 1, "item": "00042",
           "quantity": 10, "unit_price": 3, "expected_date": dt.datetime(2026, 6, 1), **cells}
    book.active.append(list(row))
    book.active.append(list(row.values()))
    path = tmp_path / "orders.xlsx"
    book.save(path)
    return path


@pytest.mark.parametrize("column, value, said", [
    ("quantity", "1.000", "'1.000' in a text cell could be 1 or 1000 (a Dutch thousands separator): type it as a "
                          "number, or write 1 or 1000"),
    ("unit_price", "12.500", "'12.500' in a text cell could be 12.5 or 12500 (a Dutch thousands separator): type it "
                             "as a number, or write 12.5 or 12500"),
    ("quantity", "-2.000", "'-2.000' in a text cell could be -2 or -2000 (a Dutch thousands separator): type it as a "
                           "number, or write -2 or -2000"),
    ("quantity", "1.000.000", "'1.000.000' in a text cell is written with Dutch thousands separators: type it as a "
                              "number, or write 1000000"),
])
def test_a_text_cell_that_reads_as_dutch_thousands_in_a_number_column_is_refused(two_suppliers, tmp_path, column, value,
                                                                                   said):
    """'1.000' in a text cell was read as 1: under Dutch settings it is one thousand."""
    path = _one_order_line(tmp_path, **{column: value})
    refused(two_suppliers.cli("import", "orders", path), 1, f"{path}: row 2, column {column}: {said}")
    assert _orders(two_suppliers) == 2


def _edited_proposal(books, tmp_path, cell: str, value):
    """The proposal of every open line as a workbook, its `cell` set to `value` and saved."""
    sheet = tmp_path / "open.xlsx"
    assert books.cli("closeout", "propose", "-o", sheet).exit_code == 0
    book = load_workbook(sheet)
    book.active[cell] = value
    book.save(sheet)
    return sheet


def test_an_edits_text_cell_that_reads_as_dutch_thousands_is_refused(two_suppliers, tmp_path):
    sheet = _edited_proposal(two_suppliers, tmp_path, "F2", "6.000")  # received, a text cell
    refused(two_suppliers.cli("closeout", "run", "--edits", sheet, "--date", "2026-06-30"), 1,
            f"{sheet}: row 2, column received: '6.000' in a text cell could be 6 or 6000 (a Dutch thousands separator): "
            f"type it as a number, or write 6 or 6000")
    assert closeouts(two_suppliers) == 0


def test_number_cells_and_text_that_cannot_be_thousands_are_read_as_before(two_suppliers, tmp_path):
    """A number cell is unambiguous, 1.000 typed in one is 1; text with other than three
    decimals, or a leading 0, is no thousands grouping."""
    for number, quantity, price in (("PO-A", 1.0, "1.5"), ("PO-B", "0.125", "12.25"), ("PO-C", "1234.567", 1000)):
        path = _one_order_line(tmp_path, order=number, quantity=quantity, unit_price=price)
        assert two_suppliers.cli("import", "orders", path).exit_code == 0
    assert two_suppliers.raw(
        "SELECT o.number, l.quantity, l.net_price FROM order_lines l JOIN purchase_orders o ON o.id = l.order_id "
        "WHERE o.number LIKE 'PO-_' ORDER BY o.number").all() == [
        ("PO-A", 1000000, 1500000), ("PO-B", 125000, 12250000), ("PO-C", 1234567000, 1000000000)]


@pytest.mark.parametrize("kind, columns, row, column, shown", [
    ("orders", ORDER_COLUMNS, [dt.datetime(2026, 5, 1), "ACME", dt.datetime(2026, 5, 4), 1, "00042", 1, 10],
     "order", "2026-05-01"),
    ("orders", ORDER_COLUMNS, ["PO-X", "ACME", dt.datetime(2026, 5, 4), 1, dt.date(2026, 2, 1), 1, 10],
     "item", "2026-02-01"),
    ("receipts", ["receipt", "date", "order", "line", "quantity"],
     [dt.datetime(2026, 1, 2), dt.datetime(2026, 5, 20), "00123", 1, 1], "receipt", "2026-01-02"),
    ("invoices", ["invoice", "supplier_invoice", "date", "order", "line", "quantity", "unit_price", "vat_rate"],
     ["I-9", dt.datetime(2026, 5, 1, 0, 0), dt.datetime(2026, 5, 20), "00123", 1, 1, 1.5, 21], "supplier_invoice",
     "2026-05-01"),
    ("suppliers", ["code", "name", "currency"], [dt.datetime(2026, 5, 1), "Mei BV", "EUR"], "code", "2026-05-01"),
])
def test_a_code_excel_turned_into_a_date_is_refused_naming_its_cell(two_suppliers, tmp_path, kind, columns, row, column,
                                                                    shown):
    """An order number typed as 2026-05 (or 1-5) is a date cell in Excel: it was read as the
    code "2026-05-01", silently another one."""
    book = Workbook()
    book.active.append(columns)
    book.active.append(row)
    path = tmp_path / f"{kind}.xlsx"
    book.save(path)
    before = tables(two_suppliers)
    refused(two_suppliers.cli("import", kind, path), 1,
            f"{path}: row 2, column {column}: holds a date ({shown}), which Excel makes of codes such as 2026-05 or 1-5: "
            f"format the column as text and type the codes again")
    assert tables(two_suppliers) == before


def test_a_code_excel_turned_into_a_time_is_refused_naming_its_cell(two_suppliers, tmp_path):
    """A receipt numbered 10:30 is a time cell in Excel: it was read as the code "10:30:00"."""
    book = Workbook()
    book.active.append(["receipt", "date", "order", "line", "quantity"])
    book.active.append([dt.time(10, 30), dt.datetime(2026, 5, 20), "PO-X", 1, 4])
    path = tmp_path / "receipts.xlsx"
    book.save(path)
    before = tables(two_suppliers)
    refused(two_suppliers.cli("import", "receipts", path), 1,
            f"{path}: row 2, column receipt: holds a time (10:30:00), which Excel makes of codes such as 10:30: "
            f"format the column as text and type the codes again")
    assert tables(two_suppliers) == before


@pytest.mark.parametrize("cell, column", [("A2", "order"), ("C2", "supplier")])
def test_an_edits_code_excel_turned_into_a_date_is_refused(two_suppliers, tmp_path, cell, column):
    """Order 1-23 retyped in the proposal became 23 January: it was read as order 2026-01-23."""
    sheet = _edited_proposal(two_suppliers, tmp_path, cell, dt.datetime(2026, 1, 23))
    refused(two_suppliers.cli("closeout", "run", "--edits", sheet, "--date", "2026-06-30"), 1,
            f"{sheet}: row 2, column {column}: holds a date (2026-01-23), which Excel makes of codes such as 2026-05 or "
            f"1-5: format the column as text and type the codes again")
    assert closeouts(two_suppliers) == 0


def test_date_columns_read_date_cells_as_before(two_suppliers, tmp_path):
    path = _one_order_line(tmp_path, order_date=dt.datetime(2026, 5, 4), expected_date=dt.date(2026, 6, 1))
    assert two_suppliers.cli("import", "orders", path).exit_code == 0
    receipts = Workbook()
    receipts.active.append(["receipt", "date", "order", "line", "quantity"])
    receipts.active.append(["R-X", dt.datetime(2026, 5, 20), "PO-X", 1, 4])
    receipts.save(tmp_path / "receipts.xlsx")
    assert two_suppliers.cli("import", "receipts", tmp_path / "receipts.xlsx").exit_code == 0
    shown = json.loads(two_suppliers.cli("po", "show", "PO-X", "--format", "json").stdout)
    assert (shown["order_date"], shown["lines"][0]["expected_date"], shown["lines"][0]["received"]) == \
        ("2026-05-04", "2026-06-01", "4")
