"""The schema exists only through the migrations: up, down and up again on both databases."""

from decimal import Decimal

import pytest
from sqlalchemy import inspect

from ledger.db import make_engine
from migrations import runner


def test_upgrade_downgrade_upgrade(fresh_url):
    engine = make_engine(fresh_url)
    runner.upgrade(engine)
    assert runner.current_revision(engine) == runner.head_revision()
    tables = set(inspect(engine).get_table_names())
    assert {"entries", "entry_lines", "order_lines", "closeouts"} <= tables
    runner.downgrade(engine, "base")
    assert runner.current_revision(engine) is None
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    runner.upgrade(engine)
    assert runner.current_revision(engine) == runner.head_revision()
    engine.dispose()


def test_constraint_names_follow_the_naming_convention(fresh_url):
    engine = make_engine(fresh_url)
    runner.upgrade(engine)
    inspector = inspect(engine)
    uniques = {u["name"] for u in inspector.get_unique_constraints("entries")}
    assert "uq_entries_journal_id" in uniques
    # entry_lines' own are checked once a statement on PostgreSQL since 0005 (test_references)
    fks = {f["name"] for f in inspector.get_foreign_keys("receipt_lines")}
    assert "fk_receipt_lines_order_line_id_order_lines" in fks
    engine.dispose()


@pytest.mark.postgresql_only
def test_0005_replaces_eight_foreign_keys_with_checks_once_a_statement_and_gives_them_back(fresh_url):
    import importlib

    migration = importlib.import_module("migrations.versions.0005_references_per_statement")
    replaced = {migration.constraint_name(*reference) for reference in migration.REFERENCES}
    engine = make_engine(fresh_url)

    def keys_and_checks():
        inspector = inspect(engine)
        keys = {f["name"] for table in {r[0] for r in migration.REFERENCES} for f in inspector.get_foreign_keys(table)}
        with engine.connect() as connection:
            checks = {name for (name,) in connection.exec_driver_sql(
                "SELECT tgname FROM pg_trigger WHERE tgname LIKE 'trg_%%_references' OR tgname LIKE 'trg_%%_keep_referenced_%%'")}
        return keys, checks

    runner.upgrade(engine, "0004")
    keys, checks = keys_and_checks()
    assert replaced <= keys and checks == set()
    runner.upgrade(engine)
    keys, checks = keys_and_checks()
    assert keys.isdisjoint(replaced) and len(checks) == 4 + 3 * 5  # a check per table; delete, id, truncate per referenced
    runner.downgrade(engine, "0004")
    keys, checks = keys_and_checks()
    assert replaced <= keys and checks == set()
    engine.dispose()


@pytest.mark.postgresql_only
def test_order_lines_leave_room_for_updates_on_the_same_page(books):
    """0004: a receipt's state changes stay on their page (HOT: no new index entries)."""
    from sqlalchemy import text

    from purchase.documents import DocLine, DocumentPoster, ReceiptDoc
    from tests.builders import DAY, item, order, supplier

    options = books.raw("SELECT relname, reloptions FROM pg_class WHERE relname IN ('order_lines', 'purchase_orders')").all()
    assert dict(options) == {"order_lines": ["fillfactor=70"], "purchase_orders": ["fillfactor=80"]}
    with books.session() as s:
        supplier(s)
        item(s)
        order(s, "PO1", *[("BOLT", 10, "1.25")] * 600)
    with books.session() as s:
        # every second line received, in one transaction (a close-out changes about as many)
        DocumentPoster(s, "ann").post_receipts([ReceiptDoc("R1", DAY, [DocLine("PO1", n, Decimal(4)) for n in range(1, 601, 2)])])
        updated, hot = s.execute(text(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'order_lines'")).one()
    assert updated == 300
    assert hot >= 0.8 * updated  # with full pages (fillfactor 100) almost none are


def test_0008_adds_reopens_as_and_its_downgrade_leaves_the_0007_schema_and_the_orders(fresh_url):
    from sqlalchemy import text

    engine = make_engine(fresh_url)
    schema = lambda: _schema(engine)

    def orders():
        with engine.connect() as c:
            return c.execute(text("SELECT id, number, status FROM purchase_orders ORDER BY id")).all()

    runner.upgrade(engine, "0007")
    with engine.begin() as c:
        c.execute(text("INSERT INTO suppliers (id, code, name, currency, vat_number) VALUES (1, 'ACME', 'Acme', 'EUR', '')"))
        c.execute(text("INSERT INTO purchase_orders (id, number, supplier_id, order_date, reference, buyer, currency, status, "
                       "drop_shipment) VALUES (1, 'PO-1', 1, '2026-05-04', '', '', 'EUR', 'closed', false)"))
    before, kept = schema(), orders()
    runner.upgrade(engine, "0008")
    assert ("reopens_as", "VARCHAR(20)", True) in schema()["purchase_orders"][0]
    assert orders() == kept
    runner.downgrade(engine, "0007")
    assert schema() == before
    assert orders() == kept
    engine.dispose()


@pytest.mark.postgresql_only
def test_0008_lets_the_roles_that_write_statuses_write_reopens_as_before_db_roles_runs_again(fresh_url):
    """A book whose roles were made before 0008: its close-outs and undos write `reopens_as`
    as they close and reopen orders, with no `pledger db roles` after the upgrade."""
    from sqlalchemy import text

    engine = make_engine(fresh_url)
    runner.upgrade(engine, "0007")
    with engine.begin() as c:
        for name in _app_roles(c):
            c.execute(text(f"GRANT UPDATE (status) ON purchase_orders TO pledger_{name}"))  # as db roles granted it
    runner.upgrade(engine, "0008")
    with engine.connect() as c:
        assert [c.execute(text(f"SELECT has_column_privilege('pledger_{name}', 'purchase_orders', 'reopens_as', 'UPDATE')"))
                .scalar() for name in ("accountant", "auditor", "controller")] == [True, True, True]
    engine.dispose()


def test_0009_adds_the_append_only_raises_and_its_downgrade_leaves_the_0008_schema(fresh_url):
    engine = make_engine(fresh_url)
    schema = lambda: _schema(engine)  # the append-only triggers: tests/test_order_raise.py, on the head schema

    runner.upgrade(engine, "0008")
    before = schema()
    runner.upgrade(engine, "0009")
    raises = schema()["order_line_raises"]
    assert [c[0] for c in raises[0]] == sorted(["id", "order_line_id", "ordered_before", "ordered_after", "reason", "user_name",
                                                "raised_at"])
    assert any("ix_order_line_raises_order_line_id" in index for index in raises[1])
    runner.downgrade(engine, "0008")
    assert schema() == before
    runner.upgrade(engine)
    assert runner.current_revision(engine) == runner.head_revision()
    engine.dispose()


@pytest.mark.postgresql_only
def test_0009_lets_the_accountant_raise_and_every_role_read_the_raises_before_db_roles_runs_again(fresh_url):
    from sqlalchemy import text

    engine = make_engine(fresh_url)
    runner.upgrade(engine, "0008")
    with engine.begin() as c:
        _app_roles(c)
    runner.upgrade(engine, "0009")
    with engine.connect() as c:
        may = lambda name, what: c.execute(text(f"SELECT has_table_privilege('pledger_{name}', 'order_line_raises', '{what}')")).scalar()
        assert [may(n, "SELECT") for n in ("accountant", "auditor", "controller")] == [True, True, True]
        assert [may(n, "INSERT") for n in ("accountant", "auditor", "controller")] == [True, False, False]
        assert [may(n, what) for n in ("accountant",) for what in ("UPDATE", "DELETE")] == [False, False]
    engine.dispose()


def _schema(engine) -> dict:
    """Per table: its columns, indexes, foreign keys and unique constraints, as the inspector sees them."""
    inspector = inspect(engine)
    return {table: (sorted((c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)),
                    sorted(str(sorted(i.items())) for i in inspector.get_indexes(table)),
                    sorted(str(sorted(f.items())) for f in inspector.get_foreign_keys(table)),
                    sorted(str(sorted(u.items())) for u in inspector.get_unique_constraints(table)))
            for table in inspector.get_table_names()}


def _app_roles(connection) -> tuple[str, ...]:
    """pledger's three application roles, made where the server has not got them (roles are
    the server's: made once, kept); their names without the prefix."""
    names = ("accountant", "auditor", "controller")
    for name in names:
        _make_role(connection, f"pledger_{name}")
    return names


def _make_role(connection, name: str) -> None:
    """CREATE ROLE name NOLOGIN unless the server has it, or another test process makes it
    meanwhile (the roles are the server's; the suite runs in several processes)."""
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    try:
        with connection.begin_nested():
            connection.execute(text(f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{name}') "
                                    f"THEN CREATE ROLE {name} NOLOGIN; END IF; END $$"))
    except IntegrityError:  # made meanwhile: a duplicate key in pg_authid
        pass


@pytest.mark.postgresql_only
def test_0009_on_a_book_whose_roles_are_made_gives_the_raises_to_their_owner(fresh_url):
    """`pledger db roles` ran at 0008 (the owner owns every table); 0009's table is then the
    owner's too, and the accountant may write it, with no `db roles` after the upgrade."""
    from sqlalchemy import text

    from ledger.db import make_sessionmaker
    from ledger.roles import install_roles

    engine = make_engine(fresh_url)
    runner.upgrade(engine, "0008")
    with make_sessionmaker(engine)() as session:
        install_roles(session)
        session.commit()
    runner.upgrade(engine, "0009")
    with engine.connect() as c:
        owner = c.execute(text("SELECT tableowner FROM pg_tables WHERE tablename = 'order_line_raises'")).scalar()
        insert = c.execute(text("SELECT has_table_privilege('pledger_accountant', 'order_line_raises', 'INSERT')")).scalar()
    assert (owner, insert) == ("pledger_owner", True)
    engine.dispose()


# -- 0010: books that ran an earlier text of 0006 or 0007 ---------------------------------


def _as_at_0009(books, sql: str = "") -> None:
    """The book as an earlier text of 0006 or 0007 left it (`sql` undoes what the final
    text does besides), stamped 0009: the next upgrade runs 0010 (and those after it, taken
    down first)."""
    runner.downgrade(books.engine, "0010")
    for statement in filter(None, sql.split(";")):
        books.raw(statement)
    books.raw("UPDATE alembic_version SET version_num = '0009'")


def test_0010_gives_stock_issues_the_import_column_an_earlier_0007_left_out(books):
    from tests.builders import item
    from tests.test_cli_refusals import refused

    _as_at_0009(books, "ALTER TABLE stock_issues DROP COLUMN import_id")
    with books.session() as s:
        item(s, "BOLT")
    refused(books.cli("check"), 1, books.cli("check").stderr.removeprefix("pledger: ").rstrip("\n"))  # one line
    # it named import_id, then (from 0014) the table period_lock_changes such a book lacks too;
    # every command now refuses a book at an older migration before it reads anything
    assert "import_id" not in {c["name"] for c in inspect(books.engine).get_columns("stock_issues")}
    assert "the database's tables are at migration 0009, older than this pledger's" in books.cli("check").stderr
    runner.upgrade(books.engine)
    assert "import_id" in {c["name"] for c in inspect(books.engine).get_columns("stock_issues")}
    assert books.cli("check").exit_code == 0


def _boundary(books):
    return books.raw("SELECT value FROM ledger_settings WHERE key = 'write_offs_recorded_after_entry'").scalar()


def test_0010_works_out_the_write_off_boundary_an_earlier_0006_did_not_keep(books, tmp_path):
    """Entries up to the boundary may hold write-offs on arrival with no record; every one
    after it has one. Where a record exists, the boundary is the entry before the first
    document recorded; where none does, the last entry (none after the repair lacks one)."""
    from tests.builders import invoice, item, order, receive, supplier
    from tests.test_closeout import CLOSED_OUT, edits_file, run

    with books.session() as s:
        supplier(s)
        item(s, "BOLT")
        order(s, "PO-1", ("BOLT", 10, "5.00"))
        order(s, "PO-2", ("BOLT", 10, "5.00"))
        receive(s, "PO-1", 1, 4, number="R-1")
    _as_at_0009(books, "DELETE FROM ledger_settings WHERE key = 'write_offs_recorded_after_entry'")
    runner.upgrade(books.engine)
    assert _boundary(books) == str(books.raw("SELECT max(id) FROM entries").scalar())  # none recorded: all before

    run(books, "run", "--edits", edits_file(tmp_path, "PO-2,1,,0"), "--date", "2026-06-30")
    with books.session() as s:
        receive(s, "PO-2", 1, 10, number="R-2", date=CLOSED_OUT)  # written off as it arrives (dated on the close-out: not before it), recorded
        invoice(s, "PO-1", 1, 4)
    first = books.raw("SELECT entry_id FROM receipts WHERE number = 'R-2'").scalar()
    _as_at_0009(books, "DELETE FROM ledger_settings WHERE key = 'write_offs_recorded_after_entry'")
    runner.upgrade(books.engine)
    assert _boundary(books) == str(first - 1)
    assert books.cli("check").exit_code == 0

    _as_at_0009(books)  # a book that has it keeps it
    runner.upgrade(books.engine)
    assert _boundary(books) == str(first - 1)


@pytest.mark.postgresql_only
def test_0010_lets_roles_made_before_0006_read_and_the_accountant_write_the_tables_of_0006_and_0007(fresh_url):
    from sqlalchemy import text

    engine = make_engine(fresh_url)
    runner.upgrade(engine, "0005")
    with engine.begin() as c:  # what `pledger db roles` of that time left: the roles, the owner owning every table
        _app_roles(c)
        _make_role(c, "pledger_owner")
        for (table,) in c.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).all():
            c.execute(text(f'ALTER TABLE public."{table}" OWNER TO pledger_owner'))
    runner.upgrade(engine)
    with engine.connect() as c:
        for table in ("imports", "write_offs_on_arrival"):
            may = lambda name, what: c.execute(text(f"SELECT has_table_privilege('pledger_{name}', '{table}', '{what}')")).scalar()
            assert [may(n, "SELECT") for n in ("accountant", "auditor", "controller")] == [True, True, True], table
            assert [may(n, "INSERT") for n in ("accountant", "auditor", "controller")] == [True, False, False], table
            owner = c.execute(text("SELECT tableowner FROM pg_tables WHERE tablename = :t"), {"t": table}).scalar()
            assert owner == "pledger_owner", table
    engine.dispose()


def test_init_on_tables_a_newer_pledger_upgraded_is_refused_in_one_line(books):
    """A book upgraded by a newer pledger (a colleague's, on the same PostgreSQL) is at a
    revision this one does not have. `init` said "internal error (CommandError: Can't locate
    revision identified by '0099'); details in /tmp/pledger-error-....txt, please report it".
    It now says what happened and what to do, exit 1, and changes nothing."""
    from tests.test_cli_refusals import refused

    books.raw("UPDATE alembic_version SET version_num = '0099'")
    refused(books.cli("init"), 1,
            f"the database's tables are at migration 0099, which this pledger does not know (its newest is "
            f"{runner.head_revision()}): a newer pledger upgraded them; use that one (nothing was changed)")
    assert runner.current_revision(books.engine) == "0099"


def test_head_is_the_newest_script_and_revisions_are_numbered_in_order():
    """`migrations.HEAD` lets every command tell a newer pledger's book without loading the
    scripts: it must be the scripts' head, and revisions numbered 0001, 0002, ... in order."""
    import migrations
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(runner.alembic_config())
    ordered = [s.revision for s in reversed(list(scripts.walk_revisions()))]
    assert ordered == [f"{n:04d}" for n in range(1, len(ordered) + 1)]
    assert migrations.HEAD == scripts.get_current_head() == ordered[-1]


@pytest.mark.parametrize("command", [
    ("check",),
    ("po", "list"),
    ("year", "open", "2027"),
    ("closeout", "run", "--close-fully", "--trial"),
])
def test_every_command_refuses_books_a_newer_pledger_upgraded(books, command):
    """Only `init` compared the book's revision with its own: every other command read and
    wrote a newer pledger's books, without the tables, columns and rules its migrations ask
    (an old pledger's close-out on a book whose newer migrations expect more of it)."""
    from tests.test_cli_refusals import refused

    before = books.raw("SELECT count(*) FROM fiscal_years").scalar()
    books.raw("UPDATE alembic_version SET version_num = '0099'")
    refused(books.cli(*command), 1,
            f"the database's tables are at migration 0099, which this pledger does not know (its newest is "
            f"{runner.head_revision()}): a newer pledger upgraded them; use that one (nothing was changed)")
    assert books.raw("SELECT count(*) FROM fiscal_years").scalar() == before


@pytest.mark.postgresql_only
def test_0014_lets_the_accountant_record_and_every_role_read_lock_changes_before_db_roles_runs_again(fresh_url):
    """Roles made at 0013: the accountant locks periods (it may UPDATE their flag), so it
    must write their history too, with no `pledger db roles` after the upgrade."""
    from sqlalchemy import text

    engine = make_engine(fresh_url)
    runner.upgrade(engine, "0013")
    with engine.begin() as c:
        _app_roles(c)
    runner.upgrade(engine, "0014")
    with engine.connect() as c:
        may = lambda name, what: c.execute(text(f"SELECT has_table_privilege('pledger_{name}', 'period_lock_changes', '{what}')")).scalar()
        assert [may(n, "SELECT") for n in ("accountant", "auditor", "controller")] == [True, True, True]
        assert [may(n, "INSERT") for n in ("accountant", "auditor", "controller")] == [True, False, False]
        assert [may("accountant", what) for what in ("UPDATE", "DELETE", "TRUNCATE")] == [False, False, False]
    engine.dispose()


def test_0015_fills_what_each_line_was_raised_by_from_its_raises(books):
    """A book raised before 0015: each line's `raised` is the sum of its raises, so `check`
    passes on the upgraded book and finds a raise deleted after it."""
    from tests.builders import item, order, supplier

    with books.session() as s:
        supplier(s)
        item(s, "BOLT")
        order(s, "PO-1", ("BOLT", 10, "5.00"), ("BOLT", 4, "5.00"))
    assert books.cli("po", "raise", "PO-1", "--line", "1=12").exit_code == 0
    assert books.cli("po", "raise", "PO-1", "--line", "1=15").exit_code == 0
    runner.downgrade(books.engine, "0014")
    assert "raised" not in {c["name"] for c in inspect(books.engine).get_columns("order_lines")}
    runner.upgrade(books.engine)
    raised = books.raw("SELECT line_no, raised FROM order_lines ORDER BY line_no").all()
    assert [(n, int(r)) for n, r in raised] == [(1, 5_000_000), (2, 0)]  # stored millionths: 10 -> 15, and none
    assert books.cli("check").exit_code == 0
    books.raw("INSERT INTO order_line_raises (order_line_id, ordered_before, ordered_after, reason, user_name, raised_at) "
              "SELECT id, 3000000, quantity, '', 'mallory', CURRENT_TIMESTAMP FROM order_lines WHERE line_no = 2")
    result = books.cli("check")
    assert result.exit_code == 1
    assert "order PO-1 line 2: raised 0, its raises add up to 1" in result.output


def test_demo_on_an_older_pledgers_book_refuses_before_it_upgrades_the_tables(books):
    """`pledger demo` upgraded the tables of a book at an older migration, then refused it as
    not empty: a refused command had changed the book (a colleague's older pledger then
    found it "upgraded by a newer pledger"). It refuses first, and the book stays as it was."""
    from tests.builders import item, order, supplier
    from tests.test_cli_refusals import refused

    with books.session() as s:
        supplier(s)
        item(s, "BOLT")
        order(s, "PO-1", ("BOLT", 10, "5.00"))
    runner.downgrade(books.engine, "0014")
    refused(books.cli("demo"), 1, "the demo needs an empty database: give a new file, e.g. 'pledger --db demo.db demo'")
    assert runner.current_revision(books.engine) == "0014"
    assert books.raw("SELECT count(*) FROM purchase_orders").scalar() == 1


def test_0008_downgrade_keeps_a_book_whose_orders_have_lines(books):
    """On SQLite the downgrade copied purchase_orders (batch mode) to drop `reopens_as`; with
    order lines pointing at the orders, dropping the old copy broke their foreign key and the
    downgrade failed ("FOREIGN KEY constraint failed"). The column goes in place, as 0015's
    does, and the orders and their lines stay."""
    from tests.builders import item, order, receive, supplier

    with books.session() as s:
        supplier(s)
        item(s, "BOLT")
        order(s, "PO-1", ("BOLT", 10, "5.00"), ("BOLT", 4, "2.50"))
        receive(s, "PO-1", 1, 4)
    kept = lambda: books.raw("SELECT o.number, l.line_no, l.quantity, l.received FROM order_lines l "
                             "JOIN purchase_orders o ON o.id = l.order_id ORDER BY l.line_no").all()
    before = kept()
    runner.downgrade(books.engine, "0007")
    assert runner.current_revision(books.engine) == "0007"
    assert "reopens_as" not in {c["name"] for c in inspect(books.engine).get_columns("purchase_orders")}
    assert kept() == before
    runner.upgrade(books.engine)
    assert kept() == before
    assert books.cli("check").exit_code == 0


def test_0007_downgrade_keeps_a_book_whose_imports_made_its_documents(books, tmp_path):
    """On SQLite the downgrade copied each table pointing at `imports` (batch mode) to drop
    `import_id`; with order lines, receipt lines and invoice lines pointing at those tables,
    dropping the old copy broke their foreign keys and the downgrade failed ("FOREIGN KEY
    constraint failed"), rolled back. The column goes in place, as 0008's and 0015's do; the
    book, its documents and their triggers stay, and upgrading it again passes `check`."""
    from tests.test_cli_contract_db import write_csv

    def imported(kind, header, *rows):
        result = books.cli("import", kind, write_csv(tmp_path / f"{kind}.csv", header, *rows))
        assert result.exit_code == 0, result.output + result.stderr

    imported("suppliers", ["code", "name", "currency"], ["ACME", "Acme NV", "EUR"])
    imported("items", ["code", "description", "stock_item"], ["BOLT", "Bolt M8", "true"])
    imported("orders", ["order", "supplier", "order_date", "line", "item", "quantity", "unit_price"],
             ["PO-1", "ACME", "2026-06-01", "1", "BOLT", "10", "5.00"], ["PO-1", "ACME", "2026-06-01", "2", "BOLT", "4", "2.50"])
    imported("receipts", ["receipt", "date", "order", "line", "quantity"], ["R-1", "2026-06-02", "PO-1", "1", "6"])
    imported("invoices", ["invoice", "supplier_invoice", "date", "order", "line", "quantity", "unit_price", "vat_rate"],
             ["I-1", "F-1", "2026-06-03", "PO-1", "1", "4", "5.00", "21"])
    imported("issues", ["issue", "date", "item", "quantity"], ["S-1", "2026-06-04", "BOLT", "2"])
    kept = lambda: (books.raw("SELECT o.number, l.line_no, l.quantity, l.received, l.invoiced FROM order_lines l "
                              "JOIN purchase_orders o ON o.id = l.order_id ORDER BY l.line_no").all(),
                    [books.raw(f"SELECT count(*) FROM {t}").scalar()
                     for t in ("suppliers", "items", "receipts", "receipt_lines", "invoices", "invoice_lines", "stock_issues", "entries")])
    before = kept()
    assert books.raw("SELECT count(*) FROM receipts WHERE import_id IS NOT NULL").scalar() == 1
    runner.downgrade(books.engine, "0006")
    assert runner.current_revision(books.engine) == "0006"
    assert "imports" not in inspect(books.engine).get_table_names()
    for table in ("suppliers", "items", "purchase_orders", "receipts", "invoices", "stock_issues"):
        assert "import_id" not in {c["name"] for c in inspect(books.engine).get_columns(table)}
    assert kept() == before
    with pytest.raises(Exception, match="append-only|immutable|may not|refuse"):  # the documents keep their triggers
        books.raw("UPDATE receipts SET number = 'R-9'")
    runner.upgrade(books.engine)
    assert kept() == before
    result = books.cli("check")
    assert result.exit_code == 0, result.output + result.stderr
