"""A new accountant's first day, from the help texts alone (audit of 6 December 2026): what
each `--help` says is how the command behaves, and what a newcomer cannot guess from a
column's name is said there."""

from __future__ import annotations

import json
import re

import pytest
import xlsxwriter

from tests.builders import item, order, receive, supplier


@pytest.fixture
def shop(books):
    """Supplier ACME, item BOLT, order PO-1 of 10 BOLT at 2.50, VAT 21 %."""
    with books.session() as s:
        supplier(s)
        item(s)
        order(s, "PO-1", ("BOLT", 10, "2.50"))
    return books


def help_of(books, *command) -> str:
    result = books.cli(*command, "--help")
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def ok(result):
    assert result.exit_code == 0, result.output
    return result


def kinds_on_the_line(books, order_number: str) -> list[tuple[str, str]]:
    """(kind, quantity) of each document on line 1, as `po show` tells them apart."""
    shown = ok(books.cli("po", "show", order_number)).stdout
    return re.findall(r"^ +1  (receipt|return|invoice|credit note) +\S+ +\S+ +(-?[0-9.]+)", shown, re.MULTILINE)


def test_import_receipts_help_says_a_negative_quantity_is_a_return_and_it_is(shop, tmp_path):
    assert "A negative quantity is a return." in help_of(shop, "import", "receipts")
    path = tmp_path / "receipts.csv"
    path.write_text("receipt,date,order,line,quantity\nR-1,2026-05-05,PO-1,1,4\nR-2,2026-05-06,PO-1,1,-1\n")
    ok(shop.cli("import", "receipts", path))
    assert kinds_on_the_line(shop, "PO-1") == [("receipt", "4"), ("return", "-1")]


def test_import_invoices_help_says_a_negative_quantity_is_a_credit_note_and_it_is(shop, tmp_path):
    said = help_of(shop, "import", "invoices")
    assert "vat_rate in percent, such as 21." in said
    assert "A negative quantity is a credit note (the unit price stays positive)." in said
    with shop.session() as s:
        receive(s, "PO-1", 1, 4)
    path = tmp_path / "invoices.csv"
    path.write_text("invoice,supplier_invoice,date,order,line,quantity,unit_price,vat_rate\n"
                    "AF-1,S-1,2026-05-07,PO-1,1,4,2.50,21\n"
                    "AF-2,S-2,2026-05-08,PO-1,1,-1,2.50,21\n")
    ok(shop.cli("import", "invoices", path))
    assert kinds_on_the_line(shop, "PO-1")[1:] == [("invoice", "4"), ("credit note", "-1")]


def test_po_invoice_help_says_a_negative_quantity_is_a_credit_note_and_it_is(shop):
    assert "(0: leave out; negative: a credit note, which takes only the lines named)" in help_of(shop, "po", "invoice")
    with shop.session() as s:
        receive(s, "PO-1", 1, 4)
    ok(shop.cli("po", "invoice", "PO-1", "--invoice", "AF-1", "--supplier-invoice", "S-1", "--date", "2026-05-07", "--line", "1=4"))
    ok(shop.cli("po", "invoice", "PO-1", "--invoice", "AF-2", "--supplier-invoice", "S-2", "--date", "2026-05-08", "--line", "1=-1"))
    assert kinds_on_the_line(shop, "PO-1")[1:] == [("invoice", "4"), ("credit note", "-1")]


def test_import_orders_help_says_a_blank_vat_rate_is_0_and_it_is(books, tmp_path):
    assert "vat_rate in percent, such as 21 (blank: 0)" in help_of(books, "import", "orders")
    with books.session() as s:
        supplier(s)
        item(s)
    path = tmp_path / "orders.csv"
    path.write_text("order,supplier,order_date,line,item,quantity,unit_price\nPO-7,ACME,2026-05-04,1,BOLT,3,1.00\n")
    ok(books.cli("import", "orders", path))
    shown = json.loads(ok(books.cli("po", "show", "PO-7", "--format", "json")).stdout)
    assert (shown["status"], shown["lines"][0]["vat_rate"]) == ("ordered", "0")


def test_import_items_help_says_the_unit_is_the_code_ubl_lines_must_carry(books, tmp_path):
    said = help_of(books, "import", "items")
    assert "unit a UN/ECE code as UBL invoices give it (C62 pieces, the default; KGM, BX, PK...)" in said
    assert "stock_item true or false (yes/no)" in said
    path = tmp_path / "items.csv"
    path.write_text("code,description,stock_item\nBOLT,Bolt M8,yes\nOIL,Oil,no\n")
    ok(books.cli("import", "items", path))
    assert books.raw("select code, unit, stock_item from items order by code").all() == [("BOLT", "C62", True), ("OIL", "C62", False)]


def test_import_issues_help_names_the_workbook_and_the_kinds_it_takes(books, tmp_path):
    said = help_of(books, "import", "issues")
    assert "FILE.csv|FILE.xlsx" in said
    assert "kind is issue (the default: physical stock goes down) or reservation" in said
    with books.session() as s:
        item(s)
    path = tmp_path / "issues.xlsx"
    with xlsxwriter.Workbook(path) as workbook:
        sheet = workbook.add_worksheet()
        for r, row in enumerate([("issue", "date", "item", "quantity", "kind"), ("ISS-1", "2026-05-05", "BOLT", 3, "issue"),
                                 ("RES-1", "2026-05-06", "BOLT", 2, "reservation")]):
            sheet.write_row(r, 0, row)
    result = ok(books.cli("import", "issues", path))
    assert result.output.strip() == "imported issues: 2 documents with 2 lines (1 issue, 1 reservation)"


def test_the_programs_help_names_the_environment_variables_it_reads_and_they_are_read(books, tmp_path):
    from click.testing import CliRunner

    from cli import commands  # noqa: F401
    from cli.main import cli

    result = CliRunner().invoke(cli, ["--help"], prog_name="pledger")
    said = " ".join(result.output.split())
    assert "SQLAlchemy URL or SQLite file (else PLEDGER_DB; default: pledger.db here)." in said
    assert "Who is acting (else PLEDGER_USER; default: your login)." in said
    assert "Output of every command that prints data, unless it is given its own --format." in said
    with books.session() as s:
        supplier(s)
        item(s)
    path = tmp_path / "items.csv"
    path.write_text("code,description,stock_item\nOIL,Oil,no\n")
    env = {"PLEDGER_DB": books.url, "PLEDGER_USER": "bea"}
    result = CliRunner().invoke(cli, ["--format", "json", "import", "items", str(path)], env=env, prog_name="pledger")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["created"] == 1
    assert books.raw("select user_name from imports").scalar() == "bea"
