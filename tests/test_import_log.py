"""The import log: every import stores who made it (CLI.md: `--user` is "stored on every
close-out, undo, import and entry"), from which file, and when; the rows it makes point at it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError

FILES = {
    "suppliers": "code,name,currency\nACME,Acme Tools,EUR\n",
    "items": "code,description,stock_item\nBOLT,Bolt M8,true\n",
    "orders": "order,supplier,order_date,line,item,quantity,unit_price\nPO-1,ACME,2026-06-01,1,BOLT,10,5.00\n"
              "PO-2,ACME,2026-06-02,1,BOLT,4,5.00\n",
    "receipts": "receipt,date,order,line,quantity\nR-1,2026-06-03,PO-1,1,10\n",
    "invoices": "invoice,supplier_invoice,date,order,line,quantity,unit_price,vat_rate\nF-1,X-1,2026-06-04,PO-1,1,10,5.00,21\n",
}


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def import_all(books, tmp_path, user="ann"):
    for kind, content in FILES.items():
        result = books.cli("import", kind, write(tmp_path, f"{kind}.csv", content), user=user)
        assert result.exit_code == 0, result.output


def log(books):
    result = books.cli("import", "list", "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_every_import_is_logged_with_its_user_file_and_hash_and_its_rows_point_at_it(books, tmp_path):
    import_all(books, tmp_path)
    logged = log(books)
    assert [(i["import"], i["kind"], i["user"]) for i in logged] == [
        (1, "suppliers", "ann"), (2, "items", "ann"), (3, "orders", "ann"), (4, "receipts", "ann"), (5, "invoices", "ann")]
    for i in logged:
        path = tmp_path / f"{i['kind']}.csv"
        assert i["source"] == str(path.absolute())
        assert i["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert dt.datetime.fromisoformat(i["imported_at"]).utcoffset() is not None  # local time, with its offset
    pointing = {table: books.raw(f"select import_id from {table} order by id").scalars().all()
                for table in ("suppliers", "items", "purchase_orders", "receipts", "invoices")}
    assert pointing == {"suppliers": [1], "items": [2], "purchase_orders": [3, 3], "receipts": [4], "invoices": [5]}

    shown = json.loads(books.cli("po", "show", "PO-1", "--format", "json").stdout)
    assert (shown["import"]["number"], shown["import"]["user"]) == (3, "ann")
    (line,) = shown["lines"]
    assert [(r["number"], r["user"], r["import"]) for r in line["receipts"]] == [("R-1", "ann", 4)]
    assert [(i["number"], i["user"], i["import"]) for i in line["invoices"]] == [("F-1", "ann", 5)]
    table = books.cli("po", "show", "PO-1").stdout
    assert "imported:      import 3 by ann, " in table
    assert "by ann, import 4" in table and "supplier's number X-1, by ann, import 5" in table


def test_an_import_that_changes_master_data_marks_it_as_its_own(books, tmp_path):
    """Suppliers and items are master data: the import that last created or changed one is the one it names."""
    import_all(books, tmp_path)
    changed = write(tmp_path, "suppliers2.csv", "code,name,currency\nACME,Acme Tools and Dies,EUR\nZED,Zed,EUR\n")
    assert books.cli("import", "suppliers", changed, user="bob").exit_code == 0
    assert books.raw("select code, import_id from suppliers order by code").all() == [("ACME", 6), ("ZED", 6)]
    assert log(books)[-1]["user"] == "bob" and log(books)[-1]["kind"] == "suppliers"


def test_the_user_comes_from_pledger_user_when_no_option_gives_one(books, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from cli import commands  # noqa: F401
    from cli.main import cli

    path = write(tmp_path, "suppliers.csv", FILES["suppliers"])
    monkeypatch.setenv("PLEDGER_USER", "carla")
    result = CliRunner().invoke(cli, ["--db", books.url, "import", "suppliers", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert [i["user"] for i in log(books)] == ["carla"]


def test_a_refused_import_logs_nothing(books, tmp_path):
    import_all(books, tmp_path)
    bad = write(tmp_path, "bad.csv", "receipt,date,order,line,quantity\nR-2,2026-06-05,PO-2,1,4\nR-3,2026-06-05,PO-9,1,1\n")
    result = books.cli("import", "receipts", bad)
    assert result.exit_code == 1 and "PO-9" in result.stderr, result.output
    assert len(log(books)) == 5
    assert books.raw("select count(*) from receipts").scalar_one() == 1


def test_the_log_is_append_only(books, tmp_path):
    import_all(books, tmp_path)
    for sql in ("UPDATE imports SET user_name = 'mallory'", "DELETE FROM imports"):
        with pytest.raises(DBAPIError, match="immutable"):
            books.raw(sql)
    assert [i["user"] for i in log(books)] == ["ann"] * 5


def test_orders_made_otherwise_name_no_import(books, tmp_path):
    import_all(books, tmp_path)
    with books.session() as s:
        from purchase.masterdata import OrderData, OrderLineData, create_orders
        import datetime as dt
        from decimal import Decimal
        create_orders(s, [OrderData("PO-9", "ACME", dt.date(2026, 6, 9), [OrderLineData(1, "BOLT", Decimal(1), Decimal(1))])])
    shown = json.loads(books.cli("po", "show", "PO-9", "--format", "json").stdout)
    assert shown["import"] is None
    assert "imported:" not in books.cli("po", "show", "PO-9").stdout


def test_the_log_as_a_table_for_people(books, tmp_path):
    import_all(books, tmp_path)
    table = books.cli("import", "list").stdout
    assert table.startswith("Imports\n")
    assert str(tmp_path / "orders.csv") in table and "imported at" in table
    csv_out = books.cli("import", "list", "--format", "csv").stdout.splitlines()
    assert csv_out[0] == "import,kind,source,sha256,user,imported_at" and len(csv_out) == 6


def test_a_file_name_holding_control_characters_is_shown_escaped_in_the_table(books, tmp_path):
    """The log keeps the file's name as it is (JSON: exact), but the table for people shows
    its control characters escaped, as every error line does: a name holding a line break
    took two lines, and an escape sequence (here one that sets the terminal's title) went
    to the terminal that showed the log (audit of 6 December 2026)."""
    name = "evil\x1b]0;pwned\x07\nsuppliers.csv"
    path = write(tmp_path, name, FILES["suppliers"])
    assert books.cli("import", "suppliers", path).exit_code == 0
    table = books.cli("import", "list").stdout
    assert "\x1b" not in table and "\x07" not in table
    shown = str(tmp_path / "evil\\x1b]0;pwned\\x07\\nsuppliers.csv")
    assert [line for line in table.splitlines() if shown in line], table
    assert json.loads(books.cli("import", "list", "--format", "json").stdout)[0]["source"] == str(path)
