"""`pledger db roles` on PostgreSQL: what each role may and may not do, shown by logging in as it.

Logins made for the test (`ann_test_<pid>` and friends, trust authentication) are granted
one role each and dropped afterwards. The accountant imports and closes out; the
controller reads and runs trials but cannot commit a close-out, an undo or an import; the
auditor reads, runs trials and undoes, but cannot commit a new close-out; nobody can
UPDATE, DELETE or TRUNCATE posted rows. The acting user recorded is the database login,
and a different `--user` is refused.
"""

from __future__ import annotations

import os

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from tests.fingerprint import fingerprint

pytestmark = pytest.mark.postgresql_only

PID = os.getpid()
LOGINS = {"accountant": f"ann_test_{PID}", "controller": f"carl_test_{PID}", "auditor": f"aud_test_{PID}"}

FILES = {
    "suppliers": "code,name,currency\nACME,Acme NV,EUR\n",
    "items": "code,description,stock_item\nBOLT,Bolt M8,true\n",
    "orders": "order,supplier,order_date,line,item,quantity,unit_price,vat_rate\n"
              "PO-1,ACME,2026-05-01,1,BOLT,10,3.33,21\nPO-1,ACME,2026-05-01,2,BOLT,5,1.10,21\n"
              "PO-2,ACME,2026-05-02,1,BOLT,8,2.00,21\n",
    "receipts": "receipt,date,order,line,quantity\nR1,2026-05-10,PO-1,1,4\nR2,2026-05-10,PO-2,1,3\n",
    "invoices": "invoice,supplier_invoice,date,order,line,quantity,unit_price,vat_rate\nI1,S1,2026-05-11,PO-1,2,2,1.10,21\n",
    "more_receipts": "receipt,date,order,line,quantity\nR3,2026-05-12,PO-2,1,1\n",
    "more_suppliers": "code,name,currency\nBETA,Beta BV,EUR\n",
}


@pytest.fixture
def roles(books, tmp_path):
    """The book with roles installed and one login per application role; dropped afterwards."""
    result = books.cli("db", "roles")
    assert result.exit_code == 0, result.output
    for name, login in LOGINS.items():
        books.raw(f'DROP ROLE IF EXISTS "{login}"')
        books.raw(f'CREATE ROLE "{login}" LOGIN IN ROLE pledger_{name}')
    paths = {}
    for kind, content in FILES.items():
        paths[kind] = tmp_path / f"{kind}.csv"
        paths[kind].write_text(content)
    try:
        yield paths
    finally:
        books.engine.dispose()
        for login in LOGINS.values():
            books.raw(f'DROP ROLE IF EXISTS "{login}"')


def url_as(books, role: str) -> str:
    return make_url(books.url).set(username=LOGINS[role]).render_as_string(hide_password=False)


def pledger_as(books, role: str, *args, user: str | None = None):
    """Run pledger connected as the role's login (no --user unless given)."""
    from click.testing import CliRunner

    from cli import commands  # noqa: F401
    from cli.main import cli

    head = ["--db", url_as(books, role)] + (["--user", user] if user else [])
    env = {"PLEDGER_USER": None}
    return CliRunner().invoke(cli, head + [str(a) for a in args], env=env, catch_exceptions=False)


def raw_as(books, role: str, sql: str):
    url = make_url(url_as(books, role))
    with psycopg.connect(host=url.host, port=url.port or 5432, user=url.username, dbname=url.database, autocommit=True) as conn:
        return conn.execute(sql)


def tables(books):
    engine = create_engine(books.url)
    with engine.connect() as conn:
        out = fingerprint(conn)
    engine.dispose()
    return out


def test_db_roles_runs_twice(books):
    assert books.cli("db", "roles").exit_code == 0
    again = books.cli("db", "roles")
    assert again.exit_code == 0 and "created role" not in again.output


@pytest.mark.parametrize("statement", ["CREATE ROLE {a} NOLOGIN", "GRANT {b} TO {a}"], ids=["create-role", "grant-role"])
def test_a_role_another_session_makes_meanwhile_is_no_error(books, statement):
    """Roles are the server's: `db roles` on two databases at once may both find one missing.
    The second waits for the first's row and then meets it; it goes on, the role being there."""
    import threading
    import time

    a, b = f"race_a_{PID}", f"race_b_{PID}"
    sql = statement.format(a=a, b=b)
    for name in (a, b):
        books.raw(f'DROP ROLE IF EXISTS "{name}"')
    if statement.startswith("GRANT"):
        books.raw(f'CREATE ROLE "{a}" NOLOGIN')
        books.raw(f'CREATE ROLE "{b}" NOLOGIN')
    made: list[bool] = []
    try:
        with books.engine.connect() as first:
            first.execute(text(sql))  # not committed yet
            second = threading.Thread(target=lambda: made.append(_second_makes(books, sql)))
            second.start()
            deadline = time.monotonic() + 30
            while not books.raw("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                "AND query = :q", q=sql).scalar():
                assert time.monotonic() < deadline and second.is_alive(), "the second session never waited for the first"
                time.sleep(0.05)
            first.commit()
            second.join(timeout=30)
        assert made == [False]
        if statement.startswith("GRANT"):
            assert books.raw(f"SELECT pg_has_role('{a}', '{b}', 'MEMBER')").scalar()
        else:
            assert books.raw("SELECT count(*) FROM pg_roles WHERE rolname = :a", a=a).scalar() == 1
    finally:
        books.engine.dispose()
        for name in (a, b):
            books.raw(f'DROP ROLE IF EXISTS "{name}"')


def _second_makes(books, sql: str) -> bool:
    from sqlalchemy.orm import Session

    from ledger.roles import _make_server_wide

    with Session(books.engine) as session:
        made = _make_server_wide(session, sql)
        session.commit()
        return made


def test_the_accountant_imports_and_closes_out_as_the_database_user(books, roles):
    ann = LOGINS["accountant"]
    for kind in ("suppliers", "items", "orders", "receipts", "invoices"):
        result = pledger_as(books, "accountant", "import", kind, roles[kind])
        assert result.exit_code == 0, result.output
    # who acts is the login, not a name on the command line
    refused = pledger_as(books, "accountant", "closeout", "run", "--order", "PO-1", "--close-fully", "--date", "2026-06-30",
                         user="somebody_else")
    assert refused.exit_code == 1 and f"database login {ann}" in refused.stderr, refused.output
    result = pledger_as(books, "accountant", "closeout", "run", "--order", "PO-1", "--close-fully", "--date", "2026-06-30",
                        "--format", "json", user=ann)
    assert result.exit_code == 0, result.output
    assert '"closeout": 1' in result.stdout and f'"user": "{ann}"' in result.stdout
    users = {r[0] for r in books.raw("select distinct user_name from entries")}
    assert users == {ann}
    assert [r[0] for r in books.raw("select user_name from closeouts")] == [ann]
    assert {r[0] for r in books.raw("select user_name from receipts")} == {ann}
    # an accountant changes no setting and no chart
    settings = pledger_as(books, "accountant", "settings", "set", "stock", "610000")
    assert settings.exit_code == 1 and "permission denied" in settings.stderr
    assert pledger_as(books, "accountant", "check").exit_code == 0


def _book_with_a_closeout(books, roles):
    for kind in ("suppliers", "items", "orders", "receipts", "invoices"):
        assert pledger_as(books, "accountant", "import", kind, roles[kind]).exit_code == 0
    run = pledger_as(books, "accountant", "closeout", "run", "--order", "PO-1", "--close-fully", "--date", "2026-06-30")
    assert run.exit_code == 0, run.output


def test_the_controller_reads_and_runs_trials_only(books, roles):
    _book_with_a_closeout(books, roles)
    before = tables(books)
    assert pledger_as(books, "controller", "check").exit_code == 0
    assert pledger_as(books, "controller", "report", "trial-balance", "--format", "json").exit_code == 0
    assert pledger_as(books, "controller", "po", "show", "PO-2").exit_code == 0
    trial = pledger_as(books, "controller", "closeout", "run", "--order", "PO-2", "--close-fully", "--date", "2026-06-30",
                       "--trial", "--format", "json")
    assert trial.exit_code == 0 and '"trial": true' in trial.stdout, trial.output
    undo_trial = pledger_as(books, "controller", "closeout", "undo", "--number", "1", "--date", "2026-07-01", "--trial")
    assert undo_trial.exit_code == 0, undo_trial.output
    for args in (["closeout", "run", "--order", "PO-2", "--close-fully", "--date", "2026-06-30"],
                 ["closeout", "undo", "--number", "1", "--date", "2026-07-01"]):
        real = pledger_as(books, "controller", *args)
        assert real.exit_code == 1, real.output
        assert "pledger_controller may run this as a trial only" in real.stderr, real.stderr
    for kind in ("receipts", "suppliers"):
        imported = pledger_as(books, "controller", "import", kind, roles[f"more_{kind}"])
        assert imported.exit_code == 1 and "permission denied" in imported.stderr, imported.output
    assert pledger_as(books, "controller", "period", "lock", "2026-01").exit_code == 1
    assert tables(books) == before, "the controller changed the database"


def test_the_auditor_undoes_but_closes_nothing_out(books, roles):
    _book_with_a_closeout(books, roles)
    aud = LOGINS["auditor"]
    trial = pledger_as(books, "auditor", "closeout", "run", "--order", "PO-2", "--close-fully", "--date", "2026-06-30", "--trial")
    assert trial.exit_code == 0, trial.output
    real = pledger_as(books, "auditor", "closeout", "run", "--order", "PO-2", "--close-fully", "--date", "2026-06-30")
    assert real.exit_code == 1 and "pledger_auditor may run this as a trial only" in real.stderr, real.output
    imported = pledger_as(books, "auditor", "import", "receipts", roles["more_receipts"])
    assert imported.exit_code == 1 and "permission denied" in imported.stderr, imported.output
    # an entry of the auditor's own making (the posting service, as any program may call it) is not committed
    import datetime as dt
    from decimal import Decimal

    from ledger.db import make_engine, make_sessionmaker
    from ledger.posting import EntrySpec, LineSpec, Poster

    before = tables(books)
    engine = make_engine(url_as(books, "auditor"))
    with pytest.raises(DBAPIError, match="commits an entry only as an undo of a close-out"):
        with make_sessionmaker(engine)() as s:
            Poster(s, aud).post([EntrySpec("MEM", dt.date(2026, 6, 30), [LineSpec("610000", Decimal("5000.00")),
                                                                        LineSpec("440000", credit=Decimal("5000.00"))],
                                           description="the auditor's own")])
            s.commit()
    engine.dispose()
    # nor a close-out number of its own: the counter, which an undo locks (FOR UPDATE needs UPDATE),
    # moved on without a close-out left a gap in the gapless numbers that 'pledger check' did not see
    with pytest.raises(psycopg.Error, match="pledger_auditor may run this as a trial only"):
        raw_as(books, "auditor", "UPDATE closeout_counter SET last_number = last_number + 1")
    assert tables(books) == before
    undo = pledger_as(books, "auditor", "closeout", "undo", "--number", "1", "--date", "2026-07-01")
    assert undo.exit_code == 0, undo.output
    assert [tuple(r) for r in books.raw("select number, undone_by from closeouts")] == [(1, aud)]
    assert pledger_as(books, "auditor", "check").exit_code == 0


@pytest.mark.parametrize("role", list(LOGINS))
def test_no_role_updates_or_deletes_posted_rows(books, roles, role):
    _book_with_a_closeout(books, roles)
    before = tables(books)
    for sql in ("UPDATE entries SET description = 'edited'", "DELETE FROM entry_lines", "DELETE FROM entries",
                "UPDATE entry_lines SET debit = debit + 100", "UPDATE receipts SET number = 'X'", "DELETE FROM closeout_lines",
                "TRUNCATE entry_lines", "UPDATE closeouts SET user_name = 'x'", "DELETE FROM closeouts",
                "DROP TRIGGER trg_entries_immutable ON entries", "UPDATE purchase_settings SET account_id = 1",
                "UPDATE order_lines SET quantity = 1", "UPDATE period_lock_changes SET locked = NOT locked",
                "DELETE FROM period_lock_changes", "TRUNCATE period_lock_changes"):
        if role == "accountant" and sql.startswith("UPDATE order_lines"):
            continue  # an accountant edits order lines (orders are documents it keeps)
        with pytest.raises(psycopg.Error) as refused:
            raw_as(books, role, sql)
        assert refused.value.sqlstate in ("42501", "42P01") or "must be owner" in str(refused.value), (sql, refused.value)
    assert tables(books) == before


def test_the_reference_checks_run_with_their_owners_rights_as_a_foreign_keys_do(books, roles, tmp_path):
    """Migration 0005's checks lock tables the acting role may not lock itself: an accountant,
    who may update order lines, is refused a new id for a closed-out line because a close-out
    line points at it, not for want of rights on closeout_lines."""
    _book_with_a_closeout(books, roles)
    owners = {r[0] for r in books.raw(
        "SELECT pg_get_userbyid(p.proowner)::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'public' AND p.proname LIKE 'pledger\\_%'")}
    assert owners == {"pledger_owner"}
    # a line nothing but its close-out points at (no receipt or invoice, whose foreign keys would answer first)
    orders = tmp_path / "po3.csv"
    orders.write_text("order,supplier,order_date,line,item,quantity,unit_price,vat_rate\nPO-3,ACME,2026-05-03,1,BOLT,6,2.00,21\n")
    assert pledger_as(books, "accountant", "import", "orders", orders).exit_code == 0
    run = pledger_as(books, "accountant", "closeout", "run", "--order", "PO-3", "--close-fully", "--date", "2026-06-30")
    assert run.exit_code == 0, run.output
    closed = books.raw("SELECT l.id FROM order_lines l JOIN purchase_orders o ON o.id = l.order_id WHERE o.number = 'PO-3'").scalar()
    assert books.raw("SELECT count(*) FROM closeout_lines WHERE order_line_id = :l", l=closed).scalar() == 1
    before = tables(books)
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="is still referenced from table \"closeout_lines\""):
        raw_as(books, "accountant", f"UPDATE order_lines SET id = 900001 WHERE id = {closed}")
    assert tables(books) == before


def test_write_offs_on_arrival_are_recorded_by_the_accountant_and_settled_again_by_the_auditors_undo(books, roles, tmp_path):
    """An accountant's receipt that writes goods off as they arrive records the write-off
    (`write_offs_on_arrival`); an undo that settles the line again under an older close-out
    records one too: the auditor commits it, the controller only as a trial."""
    for kind in ("suppliers", "items", "orders"):
        assert pledger_as(books, "accountant", "import", kind, roles[kind]).exit_code == 0
    for n, to_invoice in ((1, 6), (2, 3)):  # close-out 1: PO-2 to invoice 8 -> 6; close-out 2: -> 3
        edits = tmp_path / f"edits{n}.csv"
        edits.write_text(f"order,line,to_receive,to_invoice\nPO-2,1,,{to_invoice}\n")
        run = pledger_as(books, "accountant", "closeout", "run", "--edits", edits, "--date", "2026-06-30")
        assert run.exit_code == 0, run.output
    arrivals = tmp_path / "arrivals.csv"
    arrivals.write_text("receipt,date,order,line,quantity\nR9,2026-07-02,PO-2,1,8\n")
    assert pledger_as(books, "accountant", "import", "receipts", arrivals).exit_code == 0
    written = "select closeout_number, document from write_offs_on_arrival order by id"
    assert [tuple(r) for r in books.raw(written)] == [(2, "receipt R9")]
    undo = ["closeout", "undo", "--number", "2", "--date", "2026-07-03"]
    assert pledger_as(books, "controller", *undo, "--trial").exit_code == 0
    refused = pledger_as(books, "controller", *undo)
    assert refused.exit_code == 1 and "pledger_controller may run this as a trial only" in refused.stderr, refused.output
    assert [tuple(r) for r in books.raw(written)] == [(2, "receipt R9")]
    result = pledger_as(books, "auditor", *undo)
    assert result.exit_code == 0, result.output
    assert [tuple(r) for r in books.raw(written)] == [(2, "receipt R9"), (1, "undo closeout 2")]
    assert pledger_as(books, "auditor", "check").exit_code == 0


def test_the_accountant_raises_and_closes_orders_the_controller_only_tries_the_close(books, roles):
    """`po raise` (a raise recorded, append-only) and `po close --not-coming` (a close-out)
    under the roles: the accountant does both as the login; the controller's raise is
    refused by the database and its close commits only as a trial; nobody edits a raise."""
    for kind in ("suppliers", "items", "orders", "receipts"):
        assert pledger_as(books, "accountant", "import", kind, roles[kind]).exit_code == 0
    ann = LOGINS["accountant"]
    before = tables(books)
    raised = pledger_as(books, "controller", "po", "raise", "PO-2", "--line", "1=9")
    assert raised.exit_code == 1 and "permission denied" in raised.stderr, raised.output
    close = ["po", "close", "PO-2", "--not-coming", "--date", "2026-06-30"]
    assert pledger_as(books, "controller", *close, "--trial").exit_code == 0
    refused = pledger_as(books, "controller", *close)
    assert refused.exit_code == 1 and "pledger_controller may run this as a trial only" in refused.stderr, refused.output
    assert tables(books) == before
    raised = pledger_as(books, "accountant", "po", "raise", "PO-2", "--line", "1=9", "--reason", "one more came")
    assert raised.exit_code == 0, raised.output
    assert [tuple(r) for r in books.raw("select user_name, reason from order_line_raises")] == [(ann, "one more came")]
    closed = pledger_as(books, "accountant", *close)
    assert closed.exit_code == 0, closed.output
    assert "order PO-2: partly_received -> received" in closed.output
    for role in LOGINS:
        for sql in ("UPDATE order_line_raises SET reason = 'x'", "DELETE FROM order_line_raises"):
            with pytest.raises(psycopg.Error):
                raw_as(books, role, sql)
    assert pledger_as(books, "accountant", "check").exit_code == 0


def test_assume_delivered_is_the_accountants_the_trial_too(books, roles):
    """`po close --assume-delivered` posts a goods receipt, a document: only the accountant
    writes receipts, so only the accountant tries it (`--trial`, rolled back); the controller,
    whose trials are those of close-outs and undos, is refused by the database either way."""
    for kind in ("suppliers", "items", "orders"):
        assert pledger_as(books, "accountant", "import", kind, roles[kind]).exit_code == 0
    close = ["po", "close", "PO-2", "--assume-delivered", "--receipt", "R9", "--date", "2026-06-30"]
    before = tables(books)
    for args in (close + ["--trial"], close):
        refused = pledger_as(books, "controller", *args)
        assert refused.exit_code == 1 and "permission denied for table receipts" in refused.stderr, refused.output
    tried = pledger_as(books, "accountant", *close, "--trial")
    assert tried.exit_code == 0, tried.output
    assert "8 would be received" in tried.output and "(trial: nothing written)" in tried.output
    assert tables(books) == before
    closed = pledger_as(books, "accountant", *close)
    assert closed.exit_code == 0, closed.output
    assert [tuple(r) for r in books.raw("select number, user_name from receipts")] == [("R9", LOGINS["accountant"])]
    assert pledger_as(books, "accountant", "check").exit_code == 0


def test_a_privilege_the_login_lacks_is_said_with_the_role_that_has_it(books, roles):
    """The refusal was the database's own text ("permission denied for table receipts"),
    with no word of who may: now it names the role, and how an owner grants it."""
    for kind in ("suppliers", "items", "orders"):
        assert pledger_as(books, "accountant", "import", kind, roles[kind]).exit_code == 0
    before = tables(books)
    receive = pledger_as(books, "controller", "po", "receive", "PO-2", "--receipt", "R9", "--date", "2026-06-30")
    assert (receive.exit_code, receive.stderr) == (1, (
        "pledger: the database login may not do this (permission denied for table receipts): writing receipts takes "
        "pledger_accountant, reading the books any pledger role; an owner grants them with "
        "'pledger db roles --grant ROLE=LOGIN'\n"))
    setting = pledger_as(books, "accountant", "settings", "set", "rounding", "604500")
    assert setting.exit_code == 1 and "changing purchase_settings takes pledger_owner" in setting.stderr, setting.stderr
    assert tables(books) == before


def test_the_accountant_locks_periods_as_the_login_and_the_history_says_so(books, roles):
    """`period lock` records its change (migration 0014): the accountant may write the
    history, the acting user is the database login; the controller may read it only."""
    ann = LOGINS["accountant"]
    assert pledger_as(books, "accountant", "period", "lock", "2026-02").exit_code == 0
    assert pledger_as(books, "accountant", "period", "unlock", "2026-02").exit_code == 0
    assert [tuple(r) for r in books.raw("SELECT locked, user_name FROM period_lock_changes ORDER BY id")] == [(True, ann), (False, ann)]
    history = pledger_as(books, "controller", "period", "history", "--format", "csv")
    assert history.exit_code == 0 and history.stdout.count(ann) == 2, history.output
    assert pledger_as(books, "controller", "period", "lock", "2026-02").exit_code == 1
    assert pledger_as(books, "auditor", "check").exit_code == 0


def test_a_trial_role_refused_at_commit_is_told_who_may_commit(books, roles):
    """The commit-time refusal said what was wrong ("may run this as a trial only") and not
    what to do: the database's hint, naming the role that commits it, was dropped."""
    _book_with_a_closeout(books, roles)
    before = tables(books)
    refusals = {
        "controller": ["closeout", "run", "--order", "PO-2", "--close-fully", "--date", "2026-06-30"],
        "auditor": ["closeout", "run", "--order", "PO-2", "--close-fully", "--date", "2026-06-30"],
    }
    for name, args in refusals.items():
        real = pledger_as(books, name, *args)
        assert real.exit_code == 1 and real.stdout == "", real.output
        assert real.stderr == (
            f"pledger: the database refused the change: role pledger_{name} may run this as a trial only: "
            "its UPDATE on closeout_counter is not committed; nothing was changed: a real close-out or import "
            "needs pledger_accountant; an undo pledger_auditor\n"), real.stderr
    undo = pledger_as(books, "controller", "closeout", "undo", "--number", "1", "--date", "2026-07-01")
    assert undo.exit_code == 1 and undo.stderr.count("\n") == 1 and "an undo pledger_auditor" in undo.stderr, undo.stderr
    assert tables(books) == before


def test_the_auditor_commits_no_entry_of_its_own_linked_to_an_old_undo(books, roles):
    """The commit-time test asked only that the entry be listed as some close-out's undo
    entry: an auditor who posted an entry of its own and listed it under a close-out undone
    before (one row of closeout_entries, kind undo) committed it. Only an undo made in the
    same transaction may now list it."""
    import datetime as dt
    from decimal import Decimal

    from ledger.db import make_engine, make_sessionmaker
    from ledger.posting import EntrySpec, LineSpec, Poster

    _book_with_a_closeout(books, roles)
    assert pledger_as(books, "auditor", "closeout", "undo", "--number", "1", "--date", "2026-07-01").exit_code == 0
    before = tables(books)
    closeout_id = books.raw("select id from closeouts where number = 1").scalar()
    engine = make_engine(url_as(books, "auditor"))
    with pytest.raises(DBAPIError, match="commits an entry only as an undo of a close-out"):
        with make_sessionmaker(engine)() as s:
            [entry] = Poster(s, LOGINS["auditor"]).post([EntrySpec(
                "MEM", dt.date(2026, 7, 2), [LineSpec("610000", Decimal("5000.00")), LineSpec("440000", credit=Decimal("5000.00"))],
                description="the auditor's own")])
            s.execute(text("INSERT INTO closeout_entries (closeout_id, entry_id, kind) VALUES (:c, :e, 'undo')"),
                      {"c": closeout_id, "e": entry.id})
            s.commit()
    engine.dispose()
    assert tables(books) == before
    assert pledger_as(books, "auditor", "check").exit_code == 0


def test_a_login_on_books_whose_roles_were_never_installed_is_told_to_install_them(books, roles, fresh_url):
    """The roles are the server's, the grants each database's: on books where `pledger db
    roles` never ran, an owner was told "changing alembic_version takes pledger_owner" and an
    accountant "changing the schema public takes pledger_owner", roles they hold."""
    from click.testing import CliRunner

    from cli.main import cli

    assert CliRunner().invoke(cli, ["--db", fresh_url, "init"]).exit_code == 0
    for name in ("accountant", "controller"):
        url = make_url(fresh_url).set(username=LOGINS[name]).render_as_string(hide_password=False)
        for args in (["po", "list"], ["init"]):
            refused = CliRunner().invoke(cli, ["--db", url, *args], env={"PLEDGER_USER": None})
            assert refused.exit_code == 1, refused.output
            owner = make_url(fresh_url).username
            assert refused.stderr.startswith("pledger: the database login may not do this (permission denied for table ")
            assert refused.stderr.endswith(
                f"): these books' tables are {owner}'s, not pledger_owner's: 'pledger db roles' has not been run on "
                f"this database; a superuser runs it once (then after every upgrade)\n"), refused.stderr
            assert refused.stderr.count("\n") == 1


def test_db_roles_grants_a_login_whose_name_holds_a_double_quote(books):
    """`--grant` wrote the login between double quotes as it came: a name holding one (legal
    in PostgreSQL) met "syntax error at or near ..." and nothing was granted."""
    login = f'o"brien_{PID}'
    quoted = '"' + login.replace('"', '""') + '"'
    books.raw(f"DROP ROLE IF EXISTS {quoted}")
    books.raw(f"CREATE ROLE {quoted} LOGIN")
    try:
        result = books.cli("db", "roles", "--grant", f"controller={login}")
        assert result.exit_code == 0, result.output
        assert f"granted pledger_controller to {login}" in result.output
        assert books.raw("SELECT pg_has_role(:l, 'pledger_controller', 'MEMBER')", l=login).scalar()
    finally:
        books.engine.dispose()
        books.raw(f"DROP ROLE IF EXISTS {quoted}")
