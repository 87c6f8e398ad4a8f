"""The command-line contract (CLI.md) where the database takes part: breaches an audit found.

- `journal show` prints a journal's entries (it stopped with "internal error").
- An unusable `--db` URL is a usage mistake of one line, exit 2; a bare path is a SQLite file.
- A database without pledger's tables says to run `pledger init`, on SQLite and PostgreSQL.
- An orders file whose optional currency is blank on a later row of an order imports.
- Code ranges and code sorts compare by code point on PostgreSQL too, whatever the
  database's collation: the SQL selection agrees with the Python one (`within`).
"""

from __future__ import annotations

import csv
from decimal import Decimal
import json
import os
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

from ledger.db import normalize_url


def pledger(*args):
    """pledger as a user runs it, without the `books` fixture (its own --db)."""
    from cli import commands  # noqa: F401
    from cli.main import cli

    return CliRunner().invoke(cli, [*map(str, args)], catch_exceptions=False, prog_name="pledger")


def write_csv(path, header, *rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def ok(result):
    assert result.exit_code == 0, result.output + result.stderr
    return result


def refusal(result, code=1):
    """One line on stderr, `pledger: ...`, the exit status given, no Python error."""
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("pledger: ")
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    return result.stderr.strip()


ORDER_HEADER = ["order", "supplier", "order_date", "line", "item", "quantity", "unit_price", "currency", "vat_rate"]


def import_masters(run, tmp_path):
    """Supplier ACME and items BOLT, NUT through `pledger import`; `run(*args)` runs pledger."""
    ok(run("import", "suppliers", write_csv(tmp_path / "s.csv", ["code", "name", "currency"], ["ACME", "Acme NV", "EUR"])))
    ok(run("import", "items", write_csv(tmp_path / "i.csv", ["code", "description", "stock_item"],
                                        ["BOLT", "Bolt M8", "true"], ["NUT", "Nut M8", "true"])))


# -- 1. journal show -----------------------------------------------------------------------


def test_journal_show_prints_the_entries_of_a_journal_as_a_table_and_as_json(books, tmp_path):
    import_masters(books.cli, tmp_path)
    ok(books.cli("import", "orders", write_csv(tmp_path / "o.csv", ORDER_HEADER,
                                               ["PO-1", "ACME", "2026-05-04", 1, "BOLT", 10, "2.50", "EUR", 21])))
    ok(books.cli("import", "receipts", write_csv(tmp_path / "r.csv", ["receipt", "date", "order", "line", "quantity"],
                                                 ["R-1", "2026-05-06", "PO-1", 1, 4])))

    shown = json.loads(ok(books.cli("journal", "show", "REC", "--format", "json")).stdout)
    assert [(r["year"], r["number"], r["date"], r["debit"], r["credit"]) for r in shown] == [
        (2026, 1, "2026-05-06", "10.00", "0.00"),  # stock, 4 x 2.50
        (2026, 1, "2026-05-06", "0.00", "10.00"),  # goods received, not invoiced
    ]
    assert {r["user"] for r in shown} == {"ann"}

    table = ok(books.cli("journal", "show", "rec")).stdout
    assert table.startswith("Journal REC - ")
    assert "2026-05-06" in table and "10.00" in table

    assert json.loads(ok(books.cli("journal", "show", "PUR", "--format", "json")).stdout) == []  # no invoice yet


def test_journal_show_for_people_ends_with_the_journals_totals_and_csv_and_json_stay_its_lines(books, tmp_path):
    """Two receipts (4 x 2.50 in 2026, 3 x 2.50 in 2027): the table's last row adds up the
    lines shown, debit and credit, of every year or of the year asked; CSV and JSON, which
    scripts read, hold the lines only."""
    import_masters(books.cli, tmp_path)
    ok(books.cli("year", "open", "2027"))
    ok(books.cli("import", "orders", write_csv(tmp_path / "o.csv", ORDER_HEADER,
                                               ["PO-1", "ACME", "2026-05-04", 1, "BOLT", 10, "2.50", "EUR", 21])))
    ok(books.cli("import", "receipts", write_csv(tmp_path / "r.csv", ["receipt", "date", "order", "line", "quantity"],
                                                 ["R-1", "2026-05-06", "PO-1", 1, 4], ["R-2", "2027-01-06", "PO-1", 1, 3])))

    def last_row(*args):
        return ok(books.cli("journal", "show", "REC", *args)).stdout.rstrip().splitlines()[-1].split()

    assert last_row() == ["Total", "17.50", "17.50"]
    assert last_row("--year", "2027") == ["Total", "7.50", "7.50"]
    assert "(nothing)" in ok(books.cli("journal", "show", "PUR")).stdout  # no invoice: no total of nothing
    csv_lines = ok(books.cli("journal", "show", "REC", "--format", "csv")).stdout.splitlines()
    assert len(csv_lines) == 1 + 4 and not any("Total" in line for line in csv_lines)
    assert len(json.loads(ok(books.cli("journal", "show", "REC", "--format", "json")).stdout)) == 4


def test_journal_show_gives_each_lines_supplier_order_line_item_and_units(books, tmp_path):
    """DOMAIN.md: every journal line from a document carries the supplier, the order line and
    the document, so that any sub-balance can be listed and explained. Audit of 6 December
    2026: `journal show` gave the document but not the order line, so a line's GR balance
    (here 2.50: 4 received, 3 invoiced at 2.60) could not be added up from the journal.
    JSON, CSV and the table add supplier, order, line, item and quantity (the posting
    report's keys); the invoice's VAT and creditors lines name the supplier only."""
    import_masters(books.cli, tmp_path)
    ok(books.cli("import", "orders", write_csv(tmp_path / "o.csv", ORDER_HEADER,
                                               ["PO-1", "ACME", "2026-05-04", 1, "BOLT", 10, "2.50", "EUR", 21])))
    ok(books.cli("po", "receive", "PO-1", "--receipt", "R-1", "--date", "2026-05-06", "--line", "1=4"))
    ok(books.cli("po", "invoice", "PO-1", "--invoice", "I-1", "--supplier-invoice", "F-1", "--date", "2026-05-07",
                 "--line", "1=3@2.60"))

    def lines(journal):
        return [(r["account"], r["debit"], r["credit"], r["supplier"], r["order"], r["line"], r["item"], r["quantity"])
                for r in json.loads(ok(books.cli("journal", "show", journal, "--format", "json")).stdout)]

    assert lines("REC") == [("340000", "10.00", "0.00", "ACME", "PO-1", 1, "BOLT", "4"),
                            ("444000", "0.00", "10.00", "ACME", "PO-1", 1, "BOLT", "4")]
    assert lines("PUR") == [("444000", "7.50", "0.00", "ACME", "PO-1", 1, "BOLT", "3"),
                            ("604500", "0.30", "0.00", "ACME", "PO-1", 1, "BOLT", "3"),
                            ("411000", "1.64", "0.00", "ACME", None, None, None, None),
                            ("440000", "0.00", "9.44", "ACME", None, None, None, None)]
    gr = sum(Decimal(r[2]) - Decimal(r[1]) for r in lines("REC") + lines("PUR") if r[0] == "444000" and r[4:6] == ("PO-1", 1))
    assert gr == Decimal("2.50")  # 1 received, not invoiced: the line's GR balance
    header = ok(books.cli("journal", "show", "REC", "--format", "csv")).stdout.splitlines()[0]
    assert header == "year,number,date,description,account,name,debit,credit,document,user,supplier,order,line,item,quantity"
    assert "PO-1" in ok(books.cli("journal", "show", "REC")).stdout


# -- 2. --db -------------------------------------------------------------------------------


@pytest.mark.parametrize("url, problem", [
    ("foo://x", "unknown kind of database 'foo'"),
    ("postgresql+nodriver://u@h/db", "no database driver 'nodriver' for postgresql"),
    ("://x", "is not a database URL"),
])
def test_an_unusable_database_url_is_a_usage_mistake_of_one_line(url, problem):
    message = refusal(pledger("--db", url, "check"), code=2)
    assert message.startswith("pledger: Invalid value for '--db': ")
    assert problem in message
    assert "sqlite:///FILE or postgresql://" in message  # what to give instead


def test_an_unusable_database_url_from_pledger_db_is_refused_the_same_way(monkeypatch):
    monkeypatch.setenv("PLEDGER_DB", "foo://x")
    assert "unknown kind of database 'foo'" in refusal(pledger("check"), code=2)


def test_a_password_in_a_refused_url_is_not_shown():
    message = refusal(pledger("--db", "postgresql://ann:secret@h:port/db", "check"), code=2)
    assert "secret" not in message and "ann:***@h" in message


@pytest.mark.postgresql_only
def test_init_never_prints_the_password_of_its_url(fresh_url):
    # trust authentication takes any password: the URL below works, and its password must not show
    url = make_url(fresh_url).set(password="s3cret-pw").render_as_string(hide_password=False)
    for args in (["init"], ["init"], ["init", "--format", "json"]):
        done = ok(pledger("--db", url, *args))
        assert "s3cret-pw" not in done.stdout + done.stderr
        assert ":***@" in done.stdout


def test_a_bare_path_is_still_a_sqlite_file(tmp_path):
    path = tmp_path / "books.db"
    ok(pledger("--db", path, "init"))
    assert "check passed" in ok(pledger("--db", path, "check")).stdout
    assert "check passed" in ok(pledger("--db", f"sqlite:///{path}", "check")).stdout


@pytest.mark.parametrize("name", ["books?2026.db", "books 100%.db", "p%41.db", "a#b.db"])
def test_a_bare_path_with_a_url_character_names_that_very_file(tmp_path, name):
    """A bare path is a SQLite file, whatever its characters: `--db 'books?2026.db' init` made
    a file 'books' (the rest read as URL options), and `--db p%41.db` one named 'pA.db'."""
    path = tmp_path / name
    ok(pledger("--db", path, "init"))
    assert [p.name for p in tmp_path.iterdir()] == [name]
    assert "check passed" in ok(pledger("--db", path, "check")).stdout



def test_a_bare_path_is_shown_as_typed_but_for_the_characters_a_url_reads_otherwise():
    assert normalize_url("boeken-\u00e9 2026.db") == "sqlite:///boeken-\u00e9 2026.db"
    assert normalize_url("books?2026#1 100%.db") == "sqlite:///books%3F2026%231 100%25.db"
    assert make_url(normalize_url("books?2026#1 100%.db")).database == "books?2026#1 100%.db"


# -- 3. a database never initialised -------------------------------------------------------


def test_a_database_without_tables_says_to_run_init(fresh_url, db_kind):
    if db_kind == "sqlite":
        open(make_url(fresh_url).database, "wb").close()  # an empty file
    for args in (["check"], ["journal", "list"], ["po", "list"]):
        message = refusal(pledger("--db", fresh_url, *args))
        shown = make_url(fresh_url).render_as_string(hide_password=True)
        assert message.endswith(f"has no pledger tables: run 'pledger --db {shown} init' first (or check --db / PLEDGER_DB)"), message
    ok(pledger("--db", fresh_url, "init"))
    ok(pledger("--db", fresh_url, "check"))


def test_a_command_on_a_sqlite_file_that_does_not_exist_is_refused_and_makes_no_file(tmp_path):
    typo = tmp_path / "bokos.db"
    for args in (["check"], ["report", "trial-balance"], ["closeout", "list"], ["settings", "show"]):
        message = refusal(pledger("--db", typo, *args))
        assert message == (f"pledger: the database file {typo} does not exist: to make the books there, run "
                           f"'pledger --db {typo} init' (or check --db / PLEDGER_DB)"), message
        assert not typo.exists()
    ok(pledger("--db", typo, "init"))
    assert "check passed" in ok(pledger("--db", typo, "check")).stdout


def test_a_db_that_names_a_csv_file_says_it_is_not_a_database_and_leaves_it_as_it_was(tmp_path):
    """A newcomer's slip (audit of 6 December 2026): `--db suppliers.csv`. Every command said
    "the database refused the change: file is not a database", a reading one too."""
    slip = tmp_path / "suppliers.csv"
    slip.write_text("code,name,currency\nACME,Acme NV,EUR\n")
    before = slip.read_bytes()
    for args in (["po", "list"], ["report", "trial-balance"], ["check"], ["init"]):
        message = refusal(pledger("--db", slip, *args))
        assert message == f"pledger: the file {slip} is not a SQLite database (not pledger's books): check --db / PLEDGER_DB", args
    assert slip.read_bytes() == before


def test_init_with_an_unknown_base_currency_is_a_usage_mistake_and_makes_no_file(tmp_path):
    path = tmp_path / "books.db"
    message = refusal(pledger("--db", path, "init", "--base-currency", "XYZ"), code=2)
    assert message == ("pledger: Invalid value for '--base-currency': 'XYZ' is not an ISO 4217 currency code, "
                       "e.g. EUR (see 'pledger init --help')"), message
    assert not path.exists()
    assert "created base currency USD" in ok(pledger("--db", path, "init", "--base-currency", "usd")).stdout


# -- 4. a blank optional currency ------------------------------------------------------------


def test_an_order_whose_currency_is_blank_on_a_later_row_imports(books, tmp_path):
    import_masters(books.cli, tmp_path)
    orders = write_csv(tmp_path / "o.csv", ORDER_HEADER,
                       ["PO-1", "ACME", "2026-05-04", 1, "BOLT", 10, "2.50", "EUR", 21],
                       ["PO-1", "ACME", "2026-05-04", 2, "NUT", 5, "1.00", "", 21],  # row 3: blank
                       ["PO-2", "ACME", "2026-05-04", 1, "BOLT", 1, "2.50", "", 21],  # blank first ...
                       ["PO-2", "ACME", "2026-05-04", 2, "NUT", 1, "1.00", "EUR", 21])  # ... then given
    assert ok(books.cli("import", "orders", orders)).stdout.strip() == "imported orders: 2 orders with 4 lines created"
    for number in ("PO-1", "PO-2"):
        shown = json.loads(ok(books.cli("po", "show", number, "--format", "json")).stdout)
        assert (shown["currency"], [line["line"] for line in shown["lines"]]) == ("EUR", [1, 2])


# -- 5. code ranges by code point on PostgreSQL -----------------------------------------------


def test_a_code_range_and_a_code_sort_say_collate_c_on_postgresql_only():
    from purchase.bounds import bound_condition, code_order
    from purchase.models import PurchaseOrder, Supplier

    condition = bound_condition(PurchaseOrder.number, (None, "PB1"))
    assert 'COLLATE "C" <=' in str(condition.compile(dialect=postgresql.dialect()))
    assert "COLLATE" not in str(condition.compile(dialect=sqlite.dialect()))  # SQLite's BINARY is code-point order
    assert str(code_order(Supplier.code).compile(dialect=postgresql.dialect())) == '(suppliers.code) COLLATE "C"'
    assert "COLLATE" not in str(bound_condition(PurchaseOrder.order_date, ("2026-01-01", None)).compile(dialect=postgresql.dialect()))


@pytest.fixture
def collated_url(templates, db_kind):
    """A new PostgreSQL database whose collation orders 'Pa1' before 'PB1' (not C), migrated
    by `pledger init`; dropped afterwards. en_US.UTF-8 from the C library when the system has
    it; else ICU's en-US as the database's collation (PostgreSQL 15+)."""
    templates.postgresql()  # skips (fails under CI) without a server
    admin = create_engine(templates.pg_admin, isolation_level="AUTOCOMMIT")
    name = f"pledger_coll_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    made = None
    with admin.connect() as conn:
        for how in ("LC_COLLATE 'en_US.UTF-8' LC_CTYPE 'en_US.UTF-8'",
                    "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"):
            try:
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE template0 {how}'))
                made = how
                break
            except Exception:
                continue
    if made is None:
        admin.dispose()
        pytest.skip("this PostgreSQL has neither the en_US.UTF-8 locale nor ICU: no collation other than C to test with")
    url = make_url(templates.pg_admin).set(database=name).render_as_string(hide_password=False)
    try:
        probe = create_engine(url)
        with probe.connect() as conn:
            assert conn.execute(text("SELECT 'Pa1' <= 'PB1'")).scalar() is True, f"{made}: not a collation to test with"
        probe.dispose()
        ok(pledger("--db", url, "init"))
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgresql_only
def test_an_order_range_holds_the_same_orders_in_sql_and_in_python_whatever_the_collation(collated_url, tmp_path):
    def run(*args):
        return pledger("--db", collated_url, "--user", "ann", *args)

    import_masters(run, tmp_path)
    ok(run("import", "orders", write_csv(tmp_path / "o.csv", ORDER_HEADER,
                                         ["Pa1", "ACME", "2026-05-04", 1, "BOLT", 10, "2.50", "EUR", 21],
                                         ["PB1", "ACME", "2026-05-04", 1, "NUT", 5, "1.00", "EUR", 21])))
    # by code point 'B' (66) < 'a' (97): ..PB1 holds PB1 only, as Python's `within` says
    proposal = tmp_path / "proposal.csv"
    ok(run("closeout", "propose", "--order", "..PB1", "-o", proposal))
    with open(proposal, newline="", encoding="utf-8") as f:
        assert [row["order"] for row in csv.DictReader(f)] == ["PB1"]

    trial = json.loads(ok(run("closeout", "run", "--order", "..PB1", "--close-fully", "--trial", "--format", "json")).stdout)
    assert [line["order"] for line in trial["lines"]] == ["PB1"]

    edits = write_csv(tmp_path / "edits.csv", ["order", "line", "to_receive", "to_invoice"], ["Pa1", 1, 0, ""])
    assert "not in the selection" in refusal(run("closeout", "run", "--order", "..PB1", "--edits", edits, "--trial"))
    both = json.loads(ok(run("closeout", "run", "--order", "..Pa1", "--close-fully", "--trial", "--format", "json")).stdout)
    assert [line["order"] for line in both["lines"]] == ["PB1", "Pa1"]  # the close-out's own sort, by code point too
    real = json.loads(ok(run("closeout", "run", "--order", "..Pa1", "--close-fully", "--format", "json")).stdout)
    assert [line["order"] for line in real["lines"]] == ["PB1", "Pa1"]
    shown = json.loads(ok(run("closeout", "show", str(real["closeout"]), "--format", "json")).stdout)
    assert [line["order"] for line in shown["lines"]] == ["PB1", "Pa1"]

    # the reports sort codes the same way: PB1 before Pa1
    listed = json.loads(ok(run("po", "list", "--format", "json")).stdout)
    assert [row["order"] for row in listed] == ["PB1", "Pa1"]


def test_a_table_dropped_from_books_at_this_pledgers_migration_is_not_said_to_be_older(books):
    """A table dropped behind pledger's back (its books at this pledger's migration) was said to
    be "older than this pledger; run 'pledger init' to upgrade them", but init then said "up to
    date: nothing to change" and the table stayed gone."""
    from migrations import HEAD

    books.raw("DROP TABLE closeout_lines" + (" CASCADE" if books.dialect == "postgresql" else ""))
    shown = make_url(books.url).render_as_string(hide_password=True)
    for args in (["check"], ["closeout", "list"]):
        message = refusal(books.cli(*args))
        assert message == (f"pledger: the database {shown} has no table closeout_lines, though its tables are at this "
                           f"pledger's migration {HEAD}: the table was dropped outside pledger; restore the books from a "
                           f"backup"), message
