"""The edges of what a CSV import takes, each on both sides (mutation testing, second round).

A value just inside a limit is taken and books what it says; one just outside is refused,
naming its row and column. The books (`shop`) are those of tests/test_import_refusals.py.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ledger.text import control_named
from purchase.documents import DocLine, DocumentError, DocumentPoster, InvoiceDoc
from purchase.masterdata import (MasterDataError, OrderData, OrderLineData, SupplierData, create_orders,
                                 upsert_suppliers)
from purchase.models import Item, OrderLine
from purchase.orders import get_order
from tests.builders import CREDITORS, VAT, balance
from tests.test_import_refusals import INVOICES, ORDERS, import_refused, refused, shop  # noqa: F401 (the fixture)

D = Decimal


def imported(books, tmp_path, kind: str, content: str) -> None:
    path = tmp_path / f"{kind}.csv"
    path.write_text(content, encoding="utf-8", newline="")
    result = books.cli("import", kind, str(path))
    assert result.exit_code == 0, result.output


def test_a_quantity_of_a_million_million_is_refused_and_one_unit_less_is_read(shop, tmp_path):
    path, said = import_refused(shop, tmp_path, "orders", ORDERS + "PO-9,ACME,2026-05-10,1,BOLT,1000000000000,0.01,EUR\n")
    assert said == f"{path}: row 2, column quantity: '1000000000000' is too large: at most 12 digits before the point (999999999999)"
    imported(shop, tmp_path, "orders", ORDERS + "PO-9,ACME,2026-05-10,1,BOLT,999999999999,0.01,EUR\n")
    with shop.session() as s:
        assert get_order(s, "PO-9").lines[0].quantity == D("999999999999")


def test_zero_is_a_minimum_stock_and_a_purchase_price_an_item_may_have(shop, tmp_path):
    imported(shop, tmp_path, "items", "code,description,stock_item,min_stock,purchase_price\nFREE,Sample,true,0,0\n")
    with shop.session() as s:
        free = s.query(Item).filter_by(code="FREE").one()
        assert (free.min_stock, free.purchase_price) == (D(0), D(0))


def test_a_line_discount_of_100_percent_is_a_free_line_and_101_is_refused(shop, tmp_path):
    header = "order,supplier,order_date,line,item,quantity,unit_price,discount_pct\n"
    path, said = import_refused(shop, tmp_path, "orders", header + "PO-9,ACME,2026-05-10,1,BOLT,5,2.50,101\n")
    assert said == f"{path}: row 2, column discount_pct: '101' is not a percentage between 0 and 100"
    imported(shop, tmp_path, "orders", header + "PO-9,ACME,2026-05-10,1,BOLT,5,2.50,100\n")
    with shop.session() as s:
        line = get_order(s, "PO-9").lines[0]
        assert (line.discount_pct, line.net_price) == (D(100), D(0))


def test_an_invoice_at_zero_percent_vat_posts_no_vat_and_owes_the_net(shop, tmp_path):
    """0 % (intra-community, exempt) is a VAT rate; only 0 < rate < 1 is taken for a fraction typed as 0.21."""
    path, said = import_refused(shop, tmp_path, "invoices", INVOICES + "I-9,S-9,2026-05-10,PO-2,1,4,2.50,0.21\n")
    assert said.startswith(f"{path}: row 2, column vat_rate: '0.21' is below 1 %")
    with shop.session() as s:
        vat, creditors = balance(s, VAT), balance(s, CREDITORS)
    imported(shop, tmp_path, "invoices", INVOICES + "I-9,S-9,2026-05-10,PO-2,1,4,2.50,0\n")
    with shop.session() as s:
        assert balance(s, VAT) == vat
        assert balance(s, CREDITORS) == creditors - D("10.00")


def test_an_order_line_number_has_up_to_nine_digits(shop, tmp_path):
    path, said = import_refused(shop, tmp_path, "orders", ORDERS + "PO-9,ACME,2026-05-10,1234567890,BOLT,5,2.50,EUR\n")
    assert said == f"{path}: row 2, column line: '1234567890' is not a whole number"
    imported(shop, tmp_path, "orders", ORDERS + "PO-9,ACME,2026-05-10,123456789,BOLT,5,2.50,EUR\n")
    with shop.session() as s:
        assert s.query(OrderLine.line_no).join(OrderLine.order).filter_by(number="PO-9").scalar() == 123456789


def test_every_row_of_a_receipt_has_its_date_the_second_and_the_third(shop, tmp_path):
    """A document's date is its first row's; every other row that says another is refused."""
    rows = "receipt,date,order,line,quantity\nR-9,2026-05-10,PO-2,1,1\nR-9,2026-05-10,PO-2,1,1\nR-9,2026-05-11,PO-2,1,1\n"
    path, said = import_refused(shop, tmp_path, "receipts", rows)
    assert said == f"{path}: row 4, column date: '2026-05-11' differs from '2026-05-10' on the first row of receipt R-9"
    rows = "receipt,date,order,line,quantity\nR-9,2026-05-10,PO-2,1,1\nR-9,2026-05-11,PO-2,1,1\n"
    path, said = import_refused(shop, tmp_path, "receipts", rows)
    assert said == f"{path}: row 3, column date: '2026-05-11' differs from '2026-05-10' on the first row of receipt R-9"


def test_a_capitalised_column_beside_its_lower_case_namesake_is_an_unknown_column(shop, tmp_path):
    """`Code` beside `code` was told "column names are lower case: write code, not Code", which
    followed gives the file two columns code; it is a column of its own, unknown as any other
    (the long fuzz test found it). `Code` alone is still told to be written lower case."""
    path, said = import_refused(shop, tmp_path, "suppliers", "code,name,currency,Code\nNEWS1,New one NV,EUR,x\n")
    assert said == f"{path}: row 1: unknown column 'Code'; the columns are code, name, currency, vat_number, endpoint_id"
    path, said = import_refused(shop, tmp_path, "suppliers", "Code,name,currency\nNEWS1,New one NV,EUR\n")
    assert said == f"{path}: row 1: column names are lower case: write code, not Code"


def test_a_stock_item_may_be_written_1_and_0(shop, tmp_path):
    imported(shop, tmp_path, "items", "code,description,stock_item\nONE,Counted,1\nNUL,Service,0\n")
    with shop.session() as s:
        assert {i.code: i.stock_item for i in s.query(Item).filter(Item.code.in_(["ONE", "NUL"]))} == {"ONE": True, "NUL": False}


def test_a_stock_item_may_be_written_as_dutch_and_french_excel_saves_true_and_false(shop, tmp_path):
    """Excel in Dutch writes a TRUE cell as WAAR in a CSV file (FALSE as ONWAAR); in French,
    VRAI and FAUX: both spoken in Belgium. Read as true and false, in any case; a word of
    neither is refused by row and column, naming what is read."""
    imported(shop, tmp_path, "items", "code,description,stock_item\nW1,Geteld,WAAR\nW0,Dienst,ONWAAR\n"
                                      "F1,Compte,Vrai\nF0,Service,faux\nJ1,Ja,ja\nN0,Nee,NEE\n")
    with shop.session() as s:
        assert {i.code: i.stock_item for i in s.query(Item).filter(Item.code.in_(["W1", "W0", "F1", "F0", "J1", "N0"]))} == {
            "W1": True, "W0": False, "F1": True, "F0": False, "J1": True, "N0": False}
    path, said = import_refused(shop, tmp_path, "items", "code,description,stock_item\nX,Twijfel,misschien\n")
    assert said == (f"{path}: row 2, column stock_item: 'misschien' is not true or false (true/false, 1/0; waar/onwaar "
                    "and vrai/faux are read too)")


def test_a_date_in_the_first_year_pledger_keeps_is_a_date_and_the_year_before_is_refused(shop, tmp_path):
    rows = "receipt,date,order,line,quantity\nR-9,{},PO-2,1,1\n"
    path, said = import_refused(shop, tmp_path, "receipts", rows.format("1899-12-31"))
    assert said == f"{path}: row 2, column date: '1899-12-31' lies before 1900, the first year pledger keeps (a typing mistake?)"
    path, said = import_refused(shop, tmp_path, "receipts", rows.format("1900-01-01"))
    assert said == f"{path}: row 2, column date: 1900-01-01 lies outside every fiscal year: open it with 'pledger year open 1900'"


def test_an_orders_file_naming_more_than_500_known_suppliers_is_taken(shop, tmp_path):
    """The references are looked up 500 values at a time (SQLite's parameters): the 501st
    supplier, whichever it is, is as known as the first."""
    with shop.session() as s:
        upsert_suppliers(s, [SupplierData(f"S{n:03d}", f"Supplier {n}", "EUR") for n in range(501)])
    imported(shop, tmp_path, "orders", ORDERS + "".join(f"PO-S{n:03d},S{n:03d},2026-05-10,1,BOLT,1,1.00,EUR\n" for n in range(501)))
    assert shop.raw("select count(*) from purchase_orders where number like 'PO-S%'").scalar() == 501


def test_the_services_refuse_what_an_imports_check_of_its_rows_refuses_in_the_same_words(shop):
    """An import names the row and column first (tests/test_import_refusals.py); the services refuse the
    same suppliers and orders, given otherwise, in the same words (`purchase.masterdata`)."""
    day, line = dt.date(2026, 5, 10), OrderLineData(1, "BOLT", D(1), D("1.00"))
    foreign = "differs from the books' EUR; foreign-currency purchasing is not supported yet"
    for make, said in (
        (lambda s: upsert_suppliers(s, [SupplierData("USCO", "US Co", "USD")]), f"supplier USCO: currency USD {foreign}"),
        (lambda s: create_orders(s, [OrderData("PO-1", "ACME", day, [line])]),
         "order PO-1 already exists: an order number is used once"),
        (lambda s: create_orders(s, [OrderData("PO-9", "NOSUPP", day, [line])]),
         "order PO-9: unknown supplier 'NOSUPP' (import suppliers first)"),
        (lambda s: create_orders(s, [OrderData("PO-9", "ACME", day, [line], currency="USD")]), f"order PO-9: currency USD {foreign}"),
    ):
        with shop.session() as s, pytest.raises(MasterDataError) as refusal:
            make(s)
        assert str(refusal.value) == said


def test_an_order_line_and_an_invoice_line_refuse_a_vat_rate_above_100_in_the_same_words(shop):
    """The CSV cells refuse it first (`csvfile.percent`); the services, given one otherwise, alike."""
    with shop.session() as s, pytest.raises(MasterDataError) as ordered:
        create_orders(s, [OrderData("PO-9", "ACME", dt.date(2026, 5, 10), [OrderLineData(1, "BOLT", D(1), D("1.00"), vat_rate=D(101))])])
    assert str(ordered.value) == "order PO-9 line 1: a VAT rate of 101% is not a percentage"
    with shop.session() as s, pytest.raises(DocumentError) as invoiced:
        DocumentPoster(s, "ann").post_invoices([InvoiceDoc("I-9", "S-I-9", dt.date(2026, 5, 12),
                                                           [DocLine("PO-1", 1, D(1), D("2.50"), D(101))])])
    assert str(invoiced.value) == "invoice I-9, order PO-1 line 1: a VAT rate of 101% is not a percentage"


def _journal_quantities(books, journal: str) -> list[tuple]:
    result = books.cli("journal", "show", journal, "--format", "json")
    assert result.exit_code == 0, result.output
    import json
    return [(l["document"], l["account"], l["debit"], l["credit"], l["quantity"]) for l in json.loads(result.stdout)
            if l["order"] == "PO-9"]


def test_two_rows_of_one_order_line_in_a_document_show_their_units_added_up(shop, tmp_path):
    """A receipt of 4 and 3 of one line posts one stock line of 7 units (it said 4); an invoice
    of 5 at 2.50 and 5 at 2.60 clears GR of the 7 received as 10 units invoiced (it said 5),
    and a credit note of 2 and 1 back says 3 (it said 2)."""
    imported(shop, tmp_path, "orders", ORDERS + "PO-9,ACME,2026-05-10,1,BOLT,10,2.50,EUR\n")
    imported(shop, tmp_path, "receipts", "receipt,date,order,line,quantity\nR-9,2026-05-11,PO-9,1,4\nR-9,2026-05-11,PO-9,1,3\n")
    imported(shop, tmp_path, "invoices", INVOICES + "I-9,S-9,2026-05-12,PO-9,1,5,2.50,21\nI-9,S-9,2026-05-12,PO-9,1,5,2.60,21\n"
                                                     "C-10,S-10,2026-05-13,PO-9,1,-2,2.50,21\nC-10,S-10,2026-05-13,PO-9,1,-1,2.50,21\n")
    assert _journal_quantities(shop, "REC") == [("receipt R-9", "340000", "17.50", "0.00", "7"),
                                                ("receipt R-9", "444000", "0.00", "17.50", "7")]
    assert _journal_quantities(shop, "PUR") == [
        ("invoice I-9", "444000", "17.50", "0.00", "10"),   # 5 + 2 of the second row clear the 7 received
        ("invoice I-9", "499100", "7.50", "0.00", "5"),     # the second row's 3 not received
        ("invoice I-9", "604500", "0.50", "0.00", "5"),     # the second row's 5 x 0.10
        ("invoice C-10", "499100", "0.00", "7.50", "-3"),  # 3 of the 10 invoiced, not received, credited back
    ]


def test_a_description_with_a_windows_line_break_is_refused_showing_it_as_typed(shop, tmp_path):
    """Excel's CSV of a cell with Alt+Enter holds CR LF inside quotes: it was shown as '\\x0d\\n'."""
    header = "order,supplier,order_date,line,item,quantity,unit_price,description\r\n"
    path, said = import_refused(shop, tmp_path, "orders", header + 'PO-9,ACME,2026-05-10,1,BOLT,5,2.50,"two\r\nlines"\r\n')
    assert said == f"{path}: row 2, column description: 'two\\r\\nlines' holds a line break; a name or description is one line of text"


def test_a_control_character_is_named_alike_wherever_one_line_of_text_is_refused():
    """`ledger.text.control_named`: the CLI's options, the CSV cells and the company's name say it in one wording."""
    assert control_named("\n") == control_named("\r") == "a line break"
    assert control_named("\x1b") == "a control character (U+001B)"
    assert control_named("\x7f") == "a control character (U+007F)"


def test_a_code_or_description_holding_an_escape_character_is_refused_naming_it(shop, tmp_path):
    header = "order,supplier,order_date,line,item,quantity,unit_price,description\n"
    path, said = import_refused(shop, tmp_path, "orders", header + "PO-9,ACME,2026-05-10,1,BOLT,5,2.50,red\x1bbolt\n")
    assert said == (f"{path}: row 2, column description: 'red\\x1bbolt' holds a control character (U+001B); "
                    f"a name or description is one line of text")
    path, said = import_refused(shop, tmp_path, "orders", header + "PO-\x079,ACME,2026-05-10,1,BOLT,5,2.50,\n")
    assert said == f"{path}: row 2, column order: 'PO-\\x079' holds a control character (U+0007)"


def test_a_rate_or_discount_with_six_decimals_is_read_and_seven_are_refused_by_row_and_column(shop, tmp_path):
    """Seven decimals failed when the line was written, saying only 'pledger: 33.3333333 has more
    than 6 decimals' (no file, row or column)."""
    header = "order,supplier,order_date,line,item,quantity,unit_price,discount_pct,vat_rate\n"
    path, said = import_refused(shop, tmp_path, "orders", header + "PO-9,ACME,2026-05-10,1,BOLT,10,1,33.3333333,21\n")
    assert said == f"{path}: row 2, column discount_pct: '33.3333333' has more than 6 decimals"
    path, said = import_refused(shop, tmp_path, "invoices", INVOICES + "I-9,S-9,2026-05-10,PO-2,1,4,2.50,21.0000001\n")
    assert said == f"{path}: row 2, column vat_rate: '21.0000001' has more than 6 decimals"
    imported(shop, tmp_path, "orders", header + "PO-9,ACME,2026-05-10,1,BOLT,10,1,33.333333,21.000001\n")
    with shop.session() as s:
        line = get_order(s, "PO-9").lines[0]
        assert (line.discount_pct, line.vat_rate, line.net_price) == (D("33.333333"), D("21.000001"), D("0.666667"))


def test_an_orders_reference_and_buyer_given_on_a_later_row_are_kept_and_two_different_ones_refused(shop, tmp_path):
    """The first row's were taken and the others' left unsaid: a reference on the second row
    only was lost, and OFF-78 beside OFF-77 dropped."""
    header = "order,supplier,order_date,line,item,quantity,unit_price,reference,buyer\n"
    imported(shop, tmp_path, "orders", header + "PO-9,ACME,2026-05-10,1,BOLT,10,1,,\nPO-9,ACME,2026-05-10,2,BOLT,5,1,OFF-77,ann\n")
    with shop.session() as s:
        po = get_order(s, "PO-9")
        assert (po.reference, po.buyer) == ("OFF-77", "ann")
    path, said = import_refused(shop, tmp_path, "orders",
                                header + "PO-8,ACME,2026-05-10,1,BOLT,10,1,OFF-77,ann\nPO-8,ACME,2026-05-10,2,BOLT,5,1,OFF-78,ann\n")
    assert said == f"{path}: row 3, column reference: 'OFF-78' differs from 'OFF-77' on row 2 of order PO-8"


def test_a_credit_note_above_the_invoice_it_credits_says_the_file_posts_in_its_order(shop, tmp_path):
    """An ERP export sorted by number puts CN-... above IN-...: refused with only 'below zero' before."""
    content = INVOICES + "CN-1,S-CN1,2026-05-20,PO-2,1,-2,2.50,21\nIN-1,S-IN1,2026-05-12,PO-2,1,10,2.50,21\n"
    path, said = import_refused(shop, tmp_path, "invoices", content)
    assert said == (f"{path}: row 2, column quantity: invoice CN-1, order PO-2 line 1: invoiced would become -2, below zero "
                    f"(invoice IN-1 further down the file (row 3) adds to this line: a file's documents are posted in the "
                    f"order they stand in it; put it first)")
    imported(shop, tmp_path, "invoices", INVOICES + "IN-1,S-IN1,2026-05-12,PO-2,1,10,2.50,21\nCN-1,S-CN1,2026-05-20,PO-2,1,-2,2.50,21\n")
    with shop.session() as s:
        assert get_order(s, "PO-2").lines[0].invoiced == D(8)


def test_the_file_is_searched_for_later_documents_only_when_a_return_is_refused(shop, tmp_path, monkeypatch):
    """`_later_in_file` scans the batch: asked of every document line, it made a file's
    import quadratic (a 10,000-line book's imports took 7.3 s instead of 1.2 s, measured on
    7 December 2026 before this was caught). Only a refusal asks it."""
    import purchase.documents as documents

    asked = []
    monkeypatch.setattr(documents, "_later_in_file", lambda *args: asked.append(args[1]))
    imported(shop, tmp_path, "invoices", INVOICES + "IN-1,S-IN1,2026-05-12,PO-2,1,10,2.50,21\nCN-1,S-CN1,2026-05-20,PO-2,1,-2,2.50,21\n")
    assert asked == []
    import_refused(shop, tmp_path, "invoices", INVOICES + "CN-2,S-CN2,2026-05-20,PO-2,1,-20,2.50,21\n")
    assert asked == ["CN-2"]


def test_a_line_number_or_a_date_in_other_digits_than_ascii_is_refused_as_such(shop, tmp_path):
    """Typed in ASCII digits, as a month of `period lock` is: a full-width '１' was taken as line 1,
    and a full-width date was said not to exist."""
    path, said = import_refused(shop, tmp_path, "invoices", INVOICES + "I-9,S-9,2026-05-10,PO-2,１,4,2.50,21\n")
    assert said == f"{path}: row 2, column line: '１' is not a whole number"
    path, said = import_refused(shop, tmp_path, "invoices", INVOICES + "I-9,S-9,２０２６-０５-１０,PO-2,1,4,2.50,21\n")
    assert said == f"{path}: row 2, column date: '２０２６-０５-１０' is not a date (write YYYY-MM-DD)"



def test_a_text_cell_of_three_digits_and_three_decimals_is_refused_and_four_digits_or_decimals_are_read(shop, tmp_path):
    """A workbook's text cell "125.000" is 125 or, under Dutch settings, 125000: refused as
    ambiguous. "1250.000" and "1.0000" group no thousands, nor does "0.125": read as written."""
    from openpyxl import Workbook

    def orders_book(number: str, quantity: str) -> str:
        book = Workbook()
        book.active.append(ORDERS.strip().split(","))
        book.active.append([number, "ACME", "2026-05-10", 1, "BOLT", quantity, 1, "EUR"])
        path = tmp_path / f"{number}.xlsx"
        book.save(path)
        return str(path)

    path = orders_book("PO-9", "125.000")
    assert refused(shop, "import", "orders", path) == (
        f"{path}: row 2, column quantity: '125.000' in a text cell could be 125 or 125000 (a Dutch thousands "
        f"separator): type it as a number, or write 125 or 125000")
    for number, quantity in (("PO-9", "1250.000"), ("PO-10", "1.0000"), ("PO-11", "0.125")):
        result = shop.cli("import", "orders", orders_book(number, quantity))
        assert result.exit_code == 0, result.output
    with shop.session() as s:
        assert [get_order(s, n).lines[0].quantity for n in ("PO-9", "PO-10", "PO-11")] == [D("1250"), D("1"), D("0.125")]
